//! Limits the proxy enforces before forwarding, without an emulator: an oversized body is
//! refused with 413 in the request's protocol and journaled.

mod support;

use std::time::Duration;

use faultproxy::MAX_REQUEST_BODY;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let proxy = proxy_without_upstream().await;
    let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
    let len = MAX_REQUEST_BODY + 1;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Logs_20140328.PutLogEvents\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut sent = 0;
    while sent < len {
        let n = chunk.len().min(len - sent);
        if s.write_all(&chunk[..n]).await.is_err() {
            break; // the proxy may answer and close before everything is sent
        }
        sent += n;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("RequestEntityTooLarge"));
    assert_eq!(proxy.journal()[0].status, Some(413));
}
