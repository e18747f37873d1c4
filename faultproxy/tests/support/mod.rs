//! Helpers of faultproxy's own integration tests: a proxy with no emulator behind it (for
//! everything that answers before forwarding: the control API, faults, limits) and a raw
//! HTTP/1.1 client. Tests that need an emulator live in harness/tests/ (it starts moto).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

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
