//! Why this file exists: one EC2 Query request is a form-encoded POST (`Action=...&Version=...`)
//! signed with SigV4 for the `ec2` service. Building and signing it is pure (no IO), so it lives
//! apart from the client that sends it and retries ([`super::Ec2Client`]).

use std::time::SystemTime;

use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::body::SdkBody;

use super::EC2_API_VERSION;
use crate::error::{AwsError, CallInfo};

/// Content type of every EC2 Query request.
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// SigV4 signing name of EC2.
const SIGNING_NAME: &str = "ec2";

/// A client-side failure (nothing was sent) of `operation`.
pub(super) fn construction_failure(operation: &str, message: String) -> AwsError {
    failure(operation, "ConstructionFailure", message)
}

/// An [`AwsError`] of our own making (no HTTP status).
pub(super) fn failure(operation: &str, code: &str, message: String) -> AwsError {
    AwsError {
        operation: operation.to_owned(),
        code: code.to_owned(),
        message,
        status: None,
        call: CallInfo::boxed(Some("ec2".to_owned()), None),
    }
}

/// `Action=action&Version=2016-11-15&params...`, form-encoded.
pub(super) fn form_body(action: &str, params: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("Action", action)
        .append_pair("Version", EC2_API_VERSION);
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The POST of `body` to `url`, signed for `region` with `identity`, ready for the connector.
pub(super) fn signed_request(
    action: &str,
    url: &str,
    body: String,
    region: &str,
    identity: &Identity,
) -> Result<aws_smithy_runtime_api::http::Request, AwsError> {
    let fail = |m: String| construction_failure(action, m);
    let uri: http::Uri = url
        .parse()
        .map_err(|e| fail(format!("bad EC2 endpoint {url}: {e}")))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let mut req = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("host", &host)
        .header("content-type", CONTENT_TYPE)
        .header("content-length", body.len().to_string())
        .body(body.clone())
        .map_err(|e| fail(e.to_string()))?;
    sign(&mut req, url, &host, &body, region, identity)
        .map_err(|e| fail(format!("signing: {e}")))?;
    let req = req.map(SdkBody::from);
    aws_smithy_runtime_api::http::Request::try_from(req).map_err(|e| fail(e.to_string()))
}

/// Adds SigV4 headers (`authorization`, `x-amz-date`, ...) to `req`.
fn sign(
    req: &mut http::Request<String>,
    url: &str,
    host: &str,
    body: &str,
    region: &str,
    identity: &Identity,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url,
        [("host", host), ("content-type", CONTENT_TYPE)].into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[test]
    fn form_body_carries_action_version_and_params() {
        let body = form_body(
            "DescribeVpcs",
            &[("Filter.1.Name".into(), "is default".into())],
        );
        assert_eq!(
            body,
            "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=is+default"
        );
    }

    #[test]
    fn signed_request_names_the_access_key_and_region() {
        let identity: Identity = Credentials::new("123456789012", "test", None, None, "t").into();
        let req = signed_request(
            "DescribeVpcs",
            "http://127.0.0.1:5000/",
            form_body("DescribeVpcs", &[]),
            "ap-northeast-1",
            &identity,
        )
        .unwrap();
        let auth = req.headers().get("authorization").unwrap();
        assert!(
            auth.contains("Credential=123456789012/")
                && auth.contains("/ap-northeast-1/ec2/aws4_request"),
            "{auth}"
        );
        assert_eq!(req.headers().get("host"), Some("127.0.0.1:5000"));
    }

    #[test]
    fn bad_endpoints_are_construction_failures() {
        let identity: Identity = Credentials::new("a", "b", None, None, "t").into();
        let err =
            signed_request("DescribeVpcs", "not a url", String::new(), "r", &identity).unwrap_err();
        assert_eq!(err.code, "ConstructionFailure");
    }
}
