//! Classification: who is calling what.
//!
//! Every decision the proxy makes — which rule matches, which behaviour model reacts, which
//! upstream serves the call, what the journal records — needs the request's account, region,
//! service, operation and wire protocol. The service comes from the SigV4 credential scope
//! (`Credential=AKID/date/region/service/aws4_request`, or a presigned URL's), the operation from
//! the protocol's own carrier: the `X-Amz-Target` header (awsJson), the rpc-v2-cbor path
//! `/service/{target}/operation/{op}`, the form's `Action` (awsQuery / EC2 query), or, for REST
//! services, the method, path, query and headers routed over the operation table (S3 both
//! path-style and virtual-hosted). Where one signing name covers several services (`s3` and
//! `s3control`, `execute-api`), the one whose route matches the most literal path segments wins.
//! Anything that fits none of them is still forwarded; it is simply journaled as unknown.
//! Malformed input yields `None`s, never a panic.

mod scope;
#[cfg(test)]
mod tests;

use http::header::HeaderName;
use http::{HeaderMap, Method, Uri};

pub use super::protocol::Protocol;
use super::table::{Labels, Operation, Service};
pub use scope::is_account_id;
pub(crate) use scope::scope_from_authorization;
#[cfg(test)]
use scope::CredentialScope;

/// What the proxy knows about one request. Holds no credential: the access key id is kept only
/// when it is a 12-digit account number (the convention all backends share).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// 12-digit account id taken from the access key id of the credential scope.
    pub account: Option<String>,
    pub region: Option<String>,
    /// The service, when the table knows it.
    pub service: Option<Service>,
    /// The operation, when the service has one by that name.
    pub operation: Option<Operation>,
    pub protocol: Protocol,
    /// The URI labels of a REST request (`Bucket`, `Key`, `FunctionName`, ...).
    pub labels: Labels,
}

impl RequestInfo {
    /// A request of `operation` (tests and models build these).
    pub fn of(operation: Operation) -> RequestInfo {
        RequestInfo {
            service: Some(operation.service()),
            operation: Some(operation),
            protocol: operation.service().protocol(),
            ..RequestInfo::default()
        }
    }

    /// A request of the operation `operation` of the service called `service` (names as in a
    /// rule; unknown names stay `None`).
    pub fn call(service: &str, operation: &str) -> RequestInfo {
        let service = Service::from_name(service);
        RequestInfo {
            service,
            operation: service.and_then(|s| s.operation(operation)),
            protocol: service.map_or(Protocol::Unknown, Service::protocol),
            ..RequestInfo::default()
        }
    }

    /// True when the service is `service` and the operation is called `operation`.
    pub fn is(&self, service: Service, operation: &str) -> bool {
        self.service == Some(service) && self.operation_name() == Some(operation)
    }

    /// The service's name (`ecs`), as journaled.
    pub fn service_name(&self) -> Option<&'static str> {
        self.service.map(Service::name)
    }

    /// The operation's name as AWS spells it (`CreateCluster`).
    pub fn operation_name(&self) -> Option<&'static str> {
        self.operation.map(Operation::name)
    }

    /// The value of a REST URI label (`Bucket`, `FunctionName`).
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name)
    }
}

/// The `X-Amz-Target` header's name, parsed once rather than on every look-up.
static X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// Classifies a request from its head and (buffered) body. Allocates only the strings it
/// returns (the hot path of every proxied request).
pub fn classify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> RequestInfo {
    let mut info = RequestInfo::default();
    let presigned;
    let scope = match headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| scope_from_authorization(v.as_bytes()))
    {
        Some(scope) => Some(scope),
        None => {
            presigned = uri.query().and_then(scope::presigned_credential);
            presigned.as_deref().and_then(scope::parse_scope)
        }
    };
    let mut scoped: &[Service] = &[];
    if let Some(scope) = &scope {
        if is_account_id(scope.access_key) {
            info.account = Some(scope.access_key.to_string());
        }
        info.region = non_empty(scope.region);
        scoped = Service::for_scope(scope.service);
    }

    if let Some(target) = headers.get(&X_AMZ_TARGET).and_then(|v| v.to_str().ok()) {
        info.protocol = Protocol::AwsJson;
        if let Some((prefix, op)) = target.rsplit_once('.') {
            by_target(&mut info, scoped, prefix, op);
        } else {
            info.service = scoped.first().copied();
        }
        return info;
    }
    let path = uri.path();
    if let Some((prefix, op)) = path
        .strip_prefix("/service/")
        .and_then(|rest| rest.split_once("/operation/"))
    {
        info.protocol = Protocol::RpcV2Cbor;
        by_target(&mut info, scoped, prefix, op);
        return info;
    }
    if let Some((action, version)) = query_action(method, uri, headers, body) {
        by_action(&mut info, scoped, &action, version.as_deref());
        return info;
    }
    by_route(&mut info, scoped, method, uri, headers);
    info
}

/// awsJson and rpc-v2-cbor: the target prefix names the service (the scope decides between
/// services sharing one), the rest the operation.
fn by_target(info: &mut RequestInfo, scoped: &[Service], prefix: &str, op: &str) {
    let candidates = Service::for_target_prefix(prefix);
    let service = candidates
        .iter()
        .copied()
        .filter(|s| scoped.is_empty() || scoped.contains(s))
        .find(|s| s.operation(op).is_some())
        .or_else(|| candidates.first().copied())
        .or_else(|| scoped.first().copied());
    info.service = service;
    if is_operation_name(op) {
        info.operation = service.and_then(|s| s.operation(op));
    }
}

/// The form's `Action` and `Version` (POST form body, or a GET's query).
fn query_action(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<(String, Option<String>)> {
    let is_form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let form: &[u8] = if is_form && method == Method::POST {
        body
    } else if method == Method::GET {
        uri.query()?.as_bytes()
    } else {
        return None;
    };
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
    Some((action.filter(|a| is_operation_name(a))?, version))
}

/// awsQuery / EC2 query: the scope (or, unsigned, the API version) names the service.
fn by_action(info: &mut RequestInfo, scoped: &[Service], action: &str, version: Option<&str>) {
    let by_version = version.map_or(&[][..], Service::for_query_version);
    let fits = |s: &Service| version.is_none_or(|v| s.query_version() == Some(v));
    let service = if scoped.is_empty() {
        by_version
            .iter()
            .find(|s| s.operation(action).is_some())
            .or(by_version.first())
            .copied()
    } else {
        scoped
            .iter()
            .filter(|s| fits(s))
            .find(|s| s.operation(action).is_some())
            .or_else(|| scoped.iter().find(|s| s.operation(action).is_some()))
            .or(scoped.first())
            .copied()
    };
    info.service = service;
    info.protocol = match service.map(Service::protocol) {
        Some(Protocol::Ec2Query) => Protocol::Ec2Query,
        _ => Protocol::Query,
    };
    info.operation = service.and_then(|s| s.operation(action));
}

/// REST: the services of the scope, each routed; the most literal match wins.
fn by_route(
    info: &mut RequestInfo,
    scoped: &[Service],
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) {
    let Some(&first) = scoped.first() else {
        return;
    };
    info.service = Some(first);
    info.protocol = first.protocol();
    let query = uri.query().unwrap_or("");
    let has_header = |name: &str| headers.contains_key(name);
    let virtual_path = (first == Service::S3)
        .then(|| virtual_host_bucket(uri, headers))
        .flatten()
        .map(|bucket| format!("/{bucket}{}", uri.path()));
    let mut best: Option<(Service, Operation, Labels, usize)> = None;
    for &s in scoped {
        // A virtual-hosted S3 request's bucket is in the host; an S3 operation on no bucket
        // (`/WriteGetObjectResponse`, sent to a host prefix) is tried on the path as it is.
        let virtual_first = virtual_path.as_deref().filter(|_| s == Service::S3);
        for path in virtual_first.into_iter().chain([uri.path()]) {
            if let Some((op, labels, literals)) = s.route(method.as_str(), path, query, &has_header)
            {
                if best.as_ref().is_none_or(|b| literals > b.3) {
                    best = Some((s, op, labels, literals));
                }
            }
        }
    }
    if let Some((s, op, labels, _)) = best {
        info.service = Some(s);
        info.protocol = s.protocol();
        info.operation = Some(op);
        info.labels = labels;
    }
}

/// The bucket of an S3 virtual-hosted-style request: `bucket.s3.us-east-1.amazonaws.com`,
/// `bucket.s3.localhost.localstack.cloud`, `bucket.localhost` (what the SDKs make of a custom
/// endpoint `http://localhost:4566`). An IP address, `localhost` or `s3.*` host is path style.
fn virtual_host_bucket<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))?;
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    if host.starts_with('[') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    for base in [".localhost.localstack.cloud", ".localhost"] {
        if let Some(rest) = host.strip_suffix(base) {
            let bucket = rest.strip_suffix(".s3").unwrap_or(rest);
            return (!bucket.is_empty() && bucket != "s3").then_some(bucket);
        }
    }
    let at = host.find(".s3.").or_else(|| host.find(".s3-"))?;
    Some(&host[..at])
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
