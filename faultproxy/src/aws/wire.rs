//! AWS error documents, per protocol.
//!
//! An injected fault is only useful if the SDK on the other side parses it into the same typed
//! error AWS would produce. Each protocol has its own error shape, and this module is the only
//! place that knows them:
//! - awsJson: JSON body with `__type` and `message`, `x-amzn-ErrorType`; query-compatible
//!   services (SQS, CloudWatch) also send the awsQuery code in `x-amzn-query-error`;
//! - restJson1: the `x-amzn-ErrorType` header and a JSON body;
//! - restXml: S3's `<Error>` document, the others' `<ErrorResponse>`;
//! - awsQuery: the `ErrorResponse` XML document; EC2 its own `Response/Errors` document;
//! - rpc-v2-cbor: a CBOR map with `__type` and `message`.
//!
//! Sources: https://smithy.io/2.0/aws/protocols/ (each protocol's "Operation error
//! serialization"), https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html,
//! https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use super::cbor;
pub use super::error::AwsError;
use super::protocol::Protocol;
pub use super::service::throttling_error;
use super::table::Service;

/// Encodes `err` in the protocol of the request it answers.
pub fn error_response(
    protocol: Protocol,
    service: Option<Service>,
    err: &AwsError,
) -> Response<Full<Bytes>> {
    let request_id = new_request_id();
    // Query-compatible JSON services: the shape's name in the body, its query code in a header.
    let shape = service
        .filter(|s| s.query_compatible())
        .and_then(|s| s.error(&err.code));
    let type_name = shape.map_or(err.code.as_str(), |e| e.name);
    let json_type =
        || serde_json::json!({ "__type": type_name, "message": err.message }).to_string();
    let (content_type, body): (Cow<'static, str>, Vec<u8>) = match protocol {
        Protocol::AwsJson => {
            let v = service.and_then(Service::json_version).unwrap_or("1.1");
            (
                format!("application/x-amz-json-{v}").into(),
                json_type().into_bytes(),
            )
        }
        Protocol::RestJson | Protocol::Unknown => {
            ("application/json".into(), json_type().into_bytes())
        }
        Protocol::RpcV2Cbor => (
            "application/cbor".into(),
            cbor::text_map(&[("__type", type_name), ("message", &err.message)]),
        ),
        Protocol::RestXml if service == Some(Service::S3) => (
            "application/xml".into(),
            s3_error_xml(err, &request_id).into_bytes(),
        ),
        Protocol::Query | Protocol::RestXml => (
            "text/xml".into(),
            query_error_xml(service, err, &request_id).into_bytes(),
        ),
        Protocol::Ec2Query => (
            "text/xml;charset=UTF-8".into(),
            ec2_error_xml(err, &request_id).into_bytes(),
        ),
    };
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", v);
        if service == Some(Service::S3) {
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                h.insert("x-amz-request-id", v);
            }
        }
    }
    if matches!(protocol, Protocol::AwsJson | Protocol::RestJson) {
        if let Ok(v) = HeaderValue::from_str(type_name) {
            h.insert("x-amzn-errortype", v);
        }
    }
    if protocol == Protocol::RpcV2Cbor {
        h.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    }
    if service.is_some_and(Service::query_compatible)
        && matches!(protocol, Protocol::AwsJson | Protocol::RpcV2Cbor)
    {
        let code = shape.map_or(err.code.as_str(), |e| e.code);
        let kind = if err.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        };
        if let Ok(v) = HeaderValue::from_str(&format!("{code};{kind}")) {
            h.insert("x-amzn-query-error", v);
        }
    }
    resp
}

/// A successful awsQuery (IAM) response: `<{Op}Response><{Op}Result>{inner}</..><ResponseMetadata>`.
pub fn query_success_response(operation: &str, result_inner_xml: &str) -> Response<Full<Bytes>> {
    let request_id = new_request_id();
    let ns = Service::IAM.query_namespace().unwrap_or(DEFAULT_QUERY_NS);
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

fn query_error_xml(service: Option<Service>, err: &AwsError, request_id: &str) -> String {
    let ns = service
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

/// S3's error document: `<Error>` at the root, no namespace.
fn s3_error_xml(err: &AwsError, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
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
        let err = throttling_error(Some(Service::EC2));
        let resp = error_response(Protocol::Ec2Query, Some(Service::EC2), &err);
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
        let resp = error_response(Protocol::Query, Some(Service::IAM), &err);
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
        let resp = error_response(Protocol::AwsJson, Some(Service::ECS), &err);
        assert_eq!(
            resp.headers()["x-amzn-errortype"],
            "InvalidParameterException"
        );
        assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1");
        let v: serde_json::Value = serde_json::from_str(&body_of(resp).await).unwrap();
        assert_eq!(v["__type"], "InvalidParameterException");
        assert_eq!(v["message"], "say \"hi\"");
    }

    #[tokio::test]
    async fn s3_rest_xml_error() {
        let err = AwsError::new(
            404,
            "NoSuchBucketPolicy",
            "The bucket policy does not exist",
        );
        let resp = error_response(Protocol::RestXml, Some(Service::S3), &err);
        assert_eq!(resp.status(), 404);
        assert_eq!(resp.headers()["content-type"], "application/xml");
        assert!(resp.headers().contains_key("x-amz-request-id"));
        let body = body_of(resp).await;
        assert!(body.contains("\n<Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not exist</Message><RequestId>"), "{body}");
    }

    #[tokio::test]
    async fn rest_json_error() {
        let err = throttling_error(Some(Service::LAMBDA));
        let resp = error_response(Protocol::RestJson, Some(Service::LAMBDA), &err);
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers()["x-amzn-errortype"],
            "TooManyRequestsException"
        );
        assert_eq!(resp.headers()["content-type"], "application/json");
        let v: serde_json::Value = serde_json::from_str(&body_of(resp).await).unwrap();
        assert_eq!(v["message"], "Rate exceeded");
    }

    #[tokio::test]
    async fn query_compatible_json_error() {
        // CloudWatch's model: shape DashboardInvalidInputError, awsQuery code InvalidParameterInput.
        let err = AwsError::new(400, "InvalidParameterInput", "bad dashboard");
        let resp = error_response(Protocol::AwsJson, Some(Service::CLOUDWATCH), &err);
        assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.0");
        assert_eq!(
            resp.headers()["x-amzn-query-error"],
            "InvalidParameterInput;Sender"
        );
        assert_eq!(
            resp.headers()["x-amzn-errortype"],
            "DashboardInvalidInputError"
        );
        let v: serde_json::Value = serde_json::from_str(&body_of(resp).await).unwrap();
        assert_eq!(v["__type"], "DashboardInvalidInputError");
        let err = AwsError::new(400, "QueueDoesNotExist", "no queue");
        let resp = error_response(Protocol::AwsJson, Some(Service::SQS), &err);
        assert_eq!(
            resp.headers()["x-amzn-query-error"],
            "QueueDoesNotExist;Sender"
        );
    }

    #[tokio::test]
    async fn rpc_v2_cbor_error() {
        let err = AwsError::new(400, "ResourceNotFound", "x");
        let resp = error_response(Protocol::RpcV2Cbor, Some(Service::ECS), &err);
        assert_eq!(resp.headers()["smithy-protocol"], "rpc-v2-cbor");
        assert_eq!(resp.headers()["content-type"], "application/cbor");
        assert!(!resp.headers().contains_key("x-amzn-query-error"));
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let mut want = vec![0xa2, 0x66];
        want.extend_from_slice(b"__type");
        want.push(0x70);
        want.extend_from_slice(b"ResourceNotFound");
        want.push(0x67);
        want.extend_from_slice(b"message");
        want.extend_from_slice(&[0x61, b'x']);
        assert_eq!(body.as_ref(), want.as_slice());
    }

    #[test]
    fn request_ids_look_like_uuids() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
