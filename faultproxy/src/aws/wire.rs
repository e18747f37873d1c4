//! AWS error documents, per protocol.
//!
//! An injected fault is only useful if the SDK on the other side parses it into the same typed
//! error AWS would produce. Each protocol has its own error shape: awsJson uses a JSON body with
//! `__type` plus the `x-amzn-ErrorType` header, IAM/STS use the awsQuery `ErrorResponse` XML
//! document, EC2 uses its own `Response/Errors` XML. Throttling codes and statuses also differ per
//! service. This module is the only place that knows those shapes.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

pub use super::error::AwsError;
use super::service::{Protocol, Service};

/// The throttling error each service answers: ECS/ECR/Logs `ThrottlingException` 400, IAM/STS
/// `Throttling` 400, EC2 `RequestLimitExceeded` 503 (unknown services: `ThrottlingException`).
pub fn throttling_error(service: Option<&str>) -> AwsError {
    service
        .and_then(Service::from_name)
        .unwrap_or(Service::Ecs)
        .throttling_error()
}

/// Encodes `err` in the protocol of the request it answers.
pub fn error_response(
    protocol: Protocol,
    service: Option<&str>,
    err: &AwsError,
) -> Response<Full<Bytes>> {
    let request_id = new_request_id();
    let (content_type, body) = match protocol {
        Protocol::AwsJson | Protocol::Unknown => {
            let body = serde_json::json!({ "__type": err.code, "message": err.message });
            let ct = if protocol == Protocol::AwsJson {
                "application/x-amz-json-1.1"
            } else {
                "application/json"
            };
            (ct, body.to_string())
        }
        Protocol::Query => ("text/xml", query_error_xml(service, err, &request_id)),
        Protocol::Ec2Query => ("text/xml;charset=UTF-8", ec2_error_xml(err, &request_id)),
    };
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if protocol == Protocol::AwsJson {
        if let Ok(v) = HeaderValue::from_str(&err.code) {
            h.insert("x-amzn-errortype", v);
        }
    }
    resp
}

/// A successful awsQuery (IAM) response: `<{Op}Response><{Op}Result>{inner}</..><ResponseMetadata>`.
pub fn query_success_response(operation: &str, result_inner_xml: &str) -> Response<Full<Bytes>> {
    let request_id = new_request_id();
    let ns = Service::Iam.query_namespace().unwrap_or(DEFAULT_QUERY_NS);
    let body = format!(
        "<{operation}Response xmlns=\"{ns}\"><{operation}Result>{result_inner_xml}</{operation}Result><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    );
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// Namespace of awsQuery documents of services that have none of their own (IAM's).
const DEFAULT_QUERY_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

fn query_error_xml(service: Option<&str>, err: &AwsError, request_id: &str) -> String {
    let ns = service
        .and_then(Service::from_name)
        .and_then(Service::query_namespace)
        .unwrap_or(DEFAULT_QUERY_NS);
    let kind = if err.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        xml_escape(&err.code),
        xml_escape(&err.message)
    )
}

fn ec2_error_xml(err: &AwsError, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>",
        xml_escape(&err.code),
        xml_escape(&err.message)
    )
}

/// Escapes the five XML special characters.
pub fn xml_escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['<', '>', '&', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A random request id in UUID form, like AWS's.
pub fn new_request_id() -> String {
    let v: u128 = rand::random();
    let h = format!("{v:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(resp: Response<Full<Bytes>>) -> String {
        let b = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn ec2_error_shape() {
        let err = throttling_error(Some("ec2"));
        let resp = error_response(Protocol::Ec2Query, Some("ec2"), &err);
        assert_eq!(resp.status(), 503);
        let body = body_of(resp).await;
        assert!(body.starts_with("<?xml"));
        let doc = body.split_once('\n').unwrap().1;
        assert!(doc.starts_with("<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>"));
        assert!(doc.ends_with("</RequestID></Response>"));
        // Well-formed XML, with the code where an EC2 parser looks for it.
        let mut reader = quick_xml::Reader::from_str(doc);
        let mut path = Vec::new();
        let mut code = None;
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Start(e) => {
                    path.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap())
                }
                quick_xml::events::Event::End(_) => {
                    path.pop();
                }
                quick_xml::events::Event::Text(t)
                    if path == ["Response", "Errors", "Error", "Code"] =>
                {
                    code = Some(t.unescape().unwrap().into_owned());
                }
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(code.as_deref(), Some("RequestLimitExceeded"));
    }

    #[tokio::test]
    async fn iam_error_shape_and_escaping() {
        let err = AwsError::new(500, "InternalFailure", "a <b> & 'c'");
        let resp = error_response(Protocol::Query, Some("iam"), &err);
        assert_eq!(resp.status(), 500);
        assert!(resp.headers().contains_key("x-amzn-requestid"));
        let body = body_of(resp).await;
        assert!(body.starts_with(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>a &lt;b&gt; &amp; &apos;c&apos;</Message></Error><RequestId>"
        ));
    }

    #[tokio::test]
    async fn json_error_shape() {
        let err = AwsError::new(400, "InvalidParameterException", "say \"hi\"");
        let resp = error_response(Protocol::AwsJson, Some("ecs"), &err);
        assert_eq!(
            resp.headers()["x-amzn-errortype"],
            "InvalidParameterException"
        );
        assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1");
        let v: serde_json::Value = serde_json::from_str(&body_of(resp).await).unwrap();
        assert_eq!(v["__type"], "InvalidParameterException");
        assert_eq!(v["message"], "say \"hi\"");
    }

    #[test]
    fn throttling_per_service() {
        assert_eq!(throttling_error(Some("ecs")).code, "ThrottlingException");
        assert_eq!(throttling_error(Some("logs")).status, 400);
        assert_eq!(throttling_error(Some("iam")).code, "Throttling");
        assert_eq!(throttling_error(Some("ec2")).status, 503);
    }

    #[test]
    fn request_ids_look_like_uuids() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
