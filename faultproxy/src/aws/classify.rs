//! Classification: who is calling what.
//!
//! Every decision the proxy makes — which rule matches, which behaviour model reacts, which moto
//! account serves the call, what the journal records — needs the request's account, region,
//! service, operation and wire protocol. They come from the SigV4 credential scope
//! (`Credential=AKID/date/region/service/aws4_request`), the `X-Amz-Target` header (awsJson) or the
//! form `Action` parameter (awsQuery / EC2 query). Anything that fits none of them is still
//! forwarded; it is simply journaled as unknown. Malformed input yields `None`s, never a panic.

use http::header::HeaderName;
use http::{HeaderMap, Method, Uri};

pub use super::service::Protocol;
use super::service::Service;

/// What the proxy knows about one request. Holds no credential: the access key id is kept only
/// when it is a 12-digit account number (the convention all backends share).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// 12-digit account id taken from the access key id of the credential scope.
    pub account: Option<String>,
    pub region: Option<String>,
    /// Lower-case service name: `ecs`, `ecr`, `logs`, `iam`, `ec2`, `sts`, or the signing name.
    pub service: Option<String>,
    /// Operation name as AWS spells it, e.g. `CreateCluster`.
    pub operation: Option<String>,
    pub protocol: Protocol,
}

impl RequestInfo {
    /// The service, when it is one the proxy knows.
    pub fn known_service(&self) -> Option<Service> {
        self.service.as_deref().and_then(Service::from_name)
    }

    /// True when service and operation equal the given ones.
    pub fn is(&self, service: &str, operation: &str) -> bool {
        self.service.as_deref() == Some(service) && self.operation.as_deref() == Some(operation)
    }
}

/// The `X-Amz-Target` header's name, parsed once rather than on every look-up.
static X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// Classifies a request from its head and (buffered) body. Allocates only the strings it
/// returns (the hot path of every proxied request).
pub fn classify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> RequestInfo {
    let mut info = RequestInfo::default();
    let target = headers.get(&X_AMZ_TARGET).and_then(|v| v.to_str().ok());
    let target = target.map(|t| match t.rsplit_once('.') {
        Some((prefix, op)) => (Service::from_target_prefix(prefix), Some(op)),
        None => (None, None),
    });
    // A known X-Amz-Target prefix names the service; the scope's is then not needed.
    let target_service = target.and_then(|(svc, _)| svc);

    let presigned;
    let scope = match headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| scope_from_authorization(v.as_bytes()))
    {
        Some(scope) => Some(scope),
        None => {
            presigned = uri.query().and_then(presigned_credential);
            presigned.as_deref().and_then(parse_scope)
        }
    };
    if let Some(scope) = &scope {
        if is_account_id(scope.access_key) {
            info.account = Some(scope.access_key.to_string());
        }
        info.region = non_empty(scope.region);
        if target_service.is_none() {
            info.service = non_empty(scope.service).map(|s| s.to_ascii_lowercase());
        }
    }

    if let Some((svc, op)) = target {
        info.protocol = Protocol::AwsJson;
        if let Some(svc) = svc {
            info.service = Some(svc.name().to_string());
        }
        if let Some(op) = op.filter(|op| is_operation_name(op)) {
            info.operation = Some(op.to_string());
        }
        return info;
    }

    let is_form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let form_source: Option<&[u8]> = if is_form && method == Method::POST {
        Some(body)
    } else if method == Method::GET {
        uri.query().map(str::as_bytes)
    } else {
        None
    };
    if let Some(form) = form_source {
        let mut action = None;
        let mut version = None;
        for (k, v) in form_urlencoded::parse(form) {
            match &*k {
                "Action" if action.is_none() => action = Some(v.into_owned()),
                "Version" if version.is_none() => version = Some(v.into_owned()),
                _ => {}
            }
            if action.is_some() && version.is_some() {
                break;
            }
        }
        if let Some(action) = action.filter(|a| is_operation_name(a)) {
            if info.service.is_none() {
                info.service = version
                    .as_deref()
                    .and_then(Service::from_query_version)
                    .map(|s| s.name().to_string());
            }
            info.protocol = match info.known_service().map(Service::protocol) {
                Some(Protocol::Ec2Query) => Protocol::Ec2Query,
                _ => Protocol::Query,
            };
            info.operation = Some(action);
        }
    }
    info
}

/// The parts of a SigV4 credential scope the proxy uses, borrowed from the request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CredentialScope<'a> {
    pub access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecs/aws4_request, ...` (the
/// header's bytes: only the credential itself has to be text).
pub(crate) fn scope_from_authorization(value: &[u8]) -> Option<CredentialScope<'_>> {
    const KEY: &[u8] = b"Credential=";
    // The SDKs put the credential right after the algorithm; anything else is searched for.
    let rest = match value.strip_prefix(b"AWS4-HMAC-SHA256 Credential=".as_slice()) {
        Some(rest) => rest,
        None => {
            let at = value.windows(KEY.len()).position(|w| w == KEY)?;
            &value[at + KEY.len()..]
        }
    };
    let end = rest
        .iter()
        .position(|&b| b == b',' || b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let credential = &rest[..end];
    if !credential.iter().all(u8::is_ascii_graphic) {
        return None;
    }
    parse_scope(std::str::from_utf8(credential).ok()?)
}

/// The decoded `X-Amz-Credential` of a presigned URL's query.
fn presigned_credential(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "X-Amz-Credential")
        .map(|(_, v)| v.into_owned())
}

/// `AKID/date/region/service/aws4_request`: exactly five `/`-separated parts (one byte scan, no
/// searcher per part).
fn parse_scope(credential: &str) -> Option<CredentialScope<'_>> {
    let mut cuts = [0usize; 4];
    let mut n = 0;
    for (i, &b) in credential.as_bytes().iter().enumerate() {
        if b == b'/' {
            *cuts.get_mut(n)? = i;
            n += 1;
        }
    }
    if n != 4 || &credential[cuts[3] + 1..] != "aws4_request" {
        return None;
    }
    Some(CredentialScope {
        access_key: &credential[..cuts[0]],
        region: &credential[cuts[1] + 1..cuts[2]],
        service: &credential[cuts[2] + 1..cuts[3]],
    })
}

/// A 12-digit account number.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_operation_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// First value of a form (query protocol) parameter, for the behaviour models.
pub(crate) fn form_param(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const AUTH_ECS: &str = "AWS4-HMAC-SHA256 Credential=123456789012/20240101/ap-northeast-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef";

    #[test]
    fn awsjson_ecs_request() {
        let h = headers(&[
            ("authorization", AUTH_ECS),
            (
                "x-amz-target",
                "AmazonEC2ContainerServiceV20141113.CreateCluster",
            ),
        ]);
        let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"{}");
        assert_eq!(info.account.as_deref(), Some("123456789012"));
        assert_eq!(info.region.as_deref(), Some("ap-northeast-1"));
        assert_eq!(info.service.as_deref(), Some("ecs"));
        assert_eq!(info.operation.as_deref(), Some("CreateCluster"));
        assert_eq!(info.protocol, Protocol::AwsJson);
    }

    #[test]
    fn ecr_and_logs_targets_map_to_services_without_scope() {
        let h = headers(&[(
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.SetRepositoryPolicy",
        )]);
        let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"");
        assert_eq!(info.service.as_deref(), Some("ecr"));
        assert_eq!(info.operation.as_deref(), Some("SetRepositoryPolicy"));
        assert_eq!(info.account, None);
        let h = headers(&[("x-amz-target", "Logs_20140328.CreateLogGroup")]);
        let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"");
        assert_eq!(info.service.as_deref(), Some("logs"));
    }

    #[test]
    fn query_protocols() {
        let h = headers(&[
            ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=210987654321/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
            ),
        ]);
        let info = classify(
            &Method::POST,
            &"/".parse().unwrap(),
            &h,
            b"Action=GetRole&Version=2010-05-08&RoleName=x",
        );
        assert_eq!(info.service.as_deref(), Some("iam"));
        assert_eq!(info.operation.as_deref(), Some("GetRole"));
        assert_eq!(info.protocol, Protocol::Query);
        assert_eq!(info.account.as_deref(), Some("210987654321"));

        let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let info = classify(
            &Method::POST,
            &"/".parse().unwrap(),
            &h,
            b"Action=DescribeVpcs&Version=2016-11-15",
        );
        assert_eq!(info.service.as_deref(), Some("ec2"));
        assert_eq!(info.protocol, Protocol::Ec2Query);
    }

    #[test]
    fn non_numeric_access_key_is_not_an_account() {
        let h = headers(&[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/sts/aws4_request, Signature=1",
        )]);
        let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"");
        assert_eq!(info.account, None);
        assert_eq!(info.service.as_deref(), Some("sts"));
        assert_eq!(info.operation, None);
    }

    #[test]
    fn malformed_inputs_do_not_panic() {
        for auth in [
            "",
            "Credential=",
            "Credential=a/b",
            "Credential=////",
            "Credential=1/2/3/4/aws4_request/extra",
            "AWS4-HMAC-SHA256 Credential=\u{7f}",
        ] {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(auth) {
                h.insert("authorization", v);
            }
            h.insert("x-amz-target", HeaderValue::from_static("..."));
            let _ = classify(
                &Method::POST,
                &"/".parse().unwrap(),
                &h,
                &[0xff, 0xfe, b'=', b'&'],
            );
        }
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let info = classify(
            &Method::POST,
            &"/".parse().unwrap(),
            &h,
            &[0xff, b'%', b'=', 0x00],
        );
        assert_eq!(info.operation, None);
        let info = classify(
            &Method::POST,
            &"/".parse().unwrap(),
            &h,
            b"Action=Drop%20Table&Version=x",
        );
        assert_eq!(info.operation, None, "operation names are alphanumeric");
    }

    #[test]
    fn scope_parsing() {
        assert_eq!(
            scope_from_authorization(AUTH_ECS.as_bytes()),
            Some(CredentialScope {
                access_key: "123456789012",
                region: "ap-northeast-1",
                service: "ecs"
            })
        );
        let q = "X-Amz-Credential=123456789012%2F20240101%2Fus-east-1%2Fec2%2Faws4_request&Action=DescribeVpcs";
        let info = classify(
            &Method::GET,
            &format!("/?{q}").parse().unwrap(),
            &HeaderMap::new(),
            b"",
        );
        assert_eq!(info.service.as_deref(), Some("ec2"));
        assert_eq!(info.operation.as_deref(), Some("DescribeVpcs"));
        assert_eq!(info.account.as_deref(), Some("123456789012"));
    }
}
