//! What the emulator receives for a forwarded request: the body as the proxy read it, with a
//! `Content-Length` that matches it (a chunked request's is computed, an SDK's own is kept), and
//! no connection-level headers or `Expect`.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use faultproxy::Limits;
use support::*;

const ACCOUNT: &str = "123456789012";

/// An upstream answering, as its body, the request headers the proxy must get right and the
/// body it got: `cl=..;te=..;expect=..;connection=..;body=..`.
async fn echo_upstream() -> SocketAddr {
    serve(|req: http::Request<hyper::body::Incoming>| async move {
        use http_body_util::BodyExt;
        let h = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        let head = format!(
            "cl={};te={};expect={};connection={}",
            h("content-length"),
            h("transfer-encoding"),
            h("expect"),
            h("connection")
        );
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let text = format!("{head};body={}", String::from_utf8_lossy(&body));
        http::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)))
    })
    .await
}

/// `head` and `body` sent raw on a new connection (closed by the request's `Connection:
/// close`); the answer's body.
async fn answer_body(addr: SocketAddr, head: &str, body: &[u8]) -> String {
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(body);
    let out = send_bytes(addr, &bytes, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    // hyper answers `Expect: 100-continue` first when the body is read.
    let text = match text.strip_prefix("HTTP/1.1 100 Continue\r\n\r\n") {
        Some(rest) => rest.to_string(),
        None => text,
    };
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[tokio::test]
async fn the_upstream_gets_the_body_with_a_matching_content_length_and_no_hop_by_hop_headers() {
    let proxy = proxy_with_limits(echo_upstream().await, Limits::default()).await;
    let addr = proxy.addr();
    let auth = authorization(ACCOUNT, "ap-northeast-1", "ecs");
    let target = "X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters";

    // An SDK request: its own Content-Length is passed on.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{target}\r\nAuthorization: {auth}\r\nContent-Length: 2\r\n\r\n"
    );
    assert_eq!(
        answer_body(addr, &head, b"{}").await,
        "cl=2;te=-;expect=-;connection=-;body={}"
    );

    // Chunked, with Expect: the upstream gets the joined body and its length instead.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{target}\r\nAuthorization: {auth}\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let chunks = b"3\r\n{\"a\r\n6\r\n\":\"b\"}\r\n0\r\n\r\n";
    assert_eq!(
        answer_body(addr, &head, chunks).await,
        r#"cl=9;te=-;expect=-;connection=-;body={"a":"b"}"#
    );
}
