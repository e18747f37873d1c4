//! Helpers of faultproxy's own integration tests: a proxy with no emulator behind it (for
//! everything that answers before forwarding: the control API, faults, limits) and a raw
//! HTTP/1.1 client. Tests that need an emulator live in harness/tests/ (it starts moto).
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use faultproxy::{ProxyConfig, ProxyHandle, UpstreamFlavor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// A proxy whose upstream does not exist (for faults that answer before forwarding).
pub async fn proxy_without_upstream() -> ProxyHandle {
    let cfg = ProxyConfig::new(
        format!("http://127.0.0.1:{}", free_port()).parse().unwrap(),
        UpstreamFlavor::Moto,
    );
    faultproxy::start(cfg).await.expect("proxy starts")
}

/// A raw HTTP/1.1 exchange (`Connection: close`); returns status and body.
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .expect("response within 30 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A proxy in front of `upstream` with these limits.
pub async fn proxy_with_limits(upstream: SocketAddr, limits: faultproxy::Limits) -> ProxyHandle {
    let cfg = ProxyConfig::new(
        format!("http://{upstream}").parse().unwrap(),
        UpstreamFlavor::Other,
    );
    faultproxy::start_with_limits(cfg, limits)
        .await
        .expect("proxy starts")
}

/// A free loopback address nobody listens on (connections are refused).
pub fn refused_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// A local HTTP/1.1 server answering every request with `answer(request)` (the emulator the
/// tests put behind the proxy); serves until the runtime ends.
pub async fn serve<F, Fut>(answer: F) -> SocketAddr
where
    F: Fn(http::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let answered = answer(req);
                    async move { Ok::<_, Infallible>(answered.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// A tiny upstream answering every request with 200 and an awsJson body
/// `{"clusterArns":[]}`; serves until the runtime ends.
pub async fn instant_upstream() -> SocketAddr {
    serve(|req: http::Request<hyper::body::Incoming>| async move {
        let _ = req.into_body().collect().await;
        let mut resp = http::Response::new(Full::new(Bytes::from_static(br#"{"clusterArns":[]}"#)));
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        resp
    })
    .await
}

/// The headers of an SDK-shaped ECS (awsJson) `ListClusters` call in `account`.
pub fn ecs_headers(account: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/x-amz-json-1.1".into()),
        (
            "X-Amz-Target",
            "AmazonEC2ContainerServiceV20141113.ListClusters".into(),
        ),
        (
            "Authorization",
            authorization(account, "ap-northeast-1", "ecs"),
        ),
    ]
}

/// A SigV4-looking Authorization header (the proxy reads only the credential scope).
pub fn authorization(account: &str, region: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={account}/20261203/{region}/{service}/aws4_request, SignedHeaders=host, Signature={}",
        "ab".repeat(32)
    )
}

/// `raw` with owned header values.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    raw(addr, method, path, &h, body).await
}

/// Writes `bytes` on a new connection and reads until the proxy closes it or `wait` passes;
/// returns what came back.
pub async fn send_bytes(addr: SocketAddr, bytes: &[u8], wait: Duration) -> Vec<u8> {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return Vec::new();
    };
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    out
}
