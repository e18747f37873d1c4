//! An emulator that is down, slow to accept or silent never makes a client hang: the proxy answers
//! in the caller's protocol with an error the AWS SDKs retry (503 `ServiceUnavailable` when the
//! emulator cannot be reached, 504 `RequestTimeout` when it does not answer in time), naming the
//! emulator and never a credential. A client that gives up first still leaves its journal entry.
//! No emulator needed: tiny local upstreams stand in.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use faultproxy::Limits;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "123456789012";
const SECRET_SIGNATURE: &str = "abababababababababababababababababababababababababababababababab";

fn short_deadlines() -> Limits {
    Limits {
        upstream_connect_timeout: Duration::from_millis(300),
        upstream_answer_timeout: Duration::from_millis(600),
        ..Limits::default()
    }
}

/// An upstream that accepts connections, reads what comes and never answers.
async fn silent_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

/// An upstream whose accept queue is full: new connections get no SYN-ACK, so connecting hangs
/// (Linux drops a SYN when the listener's accept queue is full).
async fn black_hole_upstream() -> (
    SocketAddr,
    Vec<tokio::net::TcpStream>,
    tokio::net::TcpListener,
) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let c = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await;
        if let Ok(Ok(c)) = c {
            fillers.push(c);
        }
    }
    (addr, fillers, listener)
}

/// An ECS (awsJson) call and an IAM (awsQuery XML) call through the proxy; both must answer with
/// `status` and `code` in their protocol within `within`, naming `upstream`.
async fn assert_both_protocols(
    proxy_addr: SocketAddr,
    upstream: SocketAddr,
    status: u16,
    code: &str,
) {
    let t = Instant::now();
    let (s, body) = call(proxy_addr, "POST", "/", &ecs_headers(ACCOUNT), b"{}").await;
    assert_eq!(s, status, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("awsJson error document");
    assert_eq!(v["__type"], code, "{body}");
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains(&upstream.to_string()),
        "names the emulator: {message}"
    );
    assert!(
        !body.contains(SECRET_SIGNATURE) && !body.contains("Credential="),
        "{body}"
    );

    let iam = vec![
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        ),
        ("Authorization", authorization(ACCOUNT, "us-east-1", "iam")),
    ];
    let (s, body) = call(
        proxy_addr,
        "POST",
        "/",
        &iam,
        b"Action=GetRole&Version=2010-05-08&RoleName=r",
    )
    .await;
    assert_eq!(s, status, "{body}");
    assert!(
        body.contains("<ErrorResponse"),
        "IAM's XML error document: {body}"
    );
    assert!(body.contains(&format!("<Code>{code}</Code>")), "{body}");
    assert!(body.contains(&upstream.to_string()), "{body}");
    assert!(!body.contains(SECRET_SIGNATURE), "{body}");
    assert!(t.elapsed() < Duration::from_secs(10), "answered, not hung");
}

#[tokio::test]
async fn unreachable_upstream_is_a_503_the_sdks_retry() {
    let upstream = refused_addr();
    let proxy = proxy_with_limits(upstream, short_deadlines()).await;
    assert_both_protocols(proxy.addr(), upstream, 503, "ServiceUnavailable").await;
    let e = proxy.journal().pop().unwrap();
    assert_eq!(e.status, Some(503));
    assert_eq!(e.handled_by.as_deref(), Some("proxy:upstream-unreachable"));
}

#[tokio::test]
async fn upstream_connect_timeout_is_a_503() {
    let (upstream, _fillers, _listener) = black_hole_upstream().await;
    let proxy = proxy_with_limits(upstream, short_deadlines()).await;
    let t = Instant::now();
    let (s, body) = call(proxy.addr(), "POST", "/", &ecs_headers(ACCOUNT), b"{}").await;
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("timed out after 300ms"), "{body}");
    assert!(body.contains(&upstream.to_string()), "{body}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[tokio::test]
async fn upstream_that_never_answers_is_a_504_request_timeout() {
    let upstream = silent_upstream().await;
    let proxy = proxy_with_limits(upstream, short_deadlines()).await;
    assert_both_protocols(proxy.addr(), upstream, 504, "RequestTimeout").await;
    let e = proxy.journal().pop().unwrap();
    assert_eq!(e.status, Some(504));
    assert_eq!(e.handled_by.as_deref(), Some("proxy:upstream-timeout"));
    // The proxy still serves: its control API answers at once.
    let (s, _) = raw(proxy.addr(), "GET", "/_harness/health", &[], b"").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_reachable_upstream_is_forwarded_as_before() {
    let upstream = instant_upstream().await;
    let proxy = proxy_with_limits(upstream, short_deadlines()).await;
    let (s, body) = call(proxy.addr(), "POST", "/", &ecs_headers(ACCOUNT), b"{}").await;
    assert_eq!((s, body.as_str()), (200, r#"{"clusterArns":[]}"#));
}

/// An SDK that gives up on its own deadline closes the connection while the proxy still waits on
/// the emulator; hyper then drops the request. It must still be journaled (no status, handled by
/// `proxy:client-gone`), or a journal would silently lose requests that reached the emulator.
#[tokio::test]
async fn a_request_whose_client_hangs_up_first_is_still_journaled() {
    // A silent upstream that says when the forwarded request reached it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let (reached, mut reached_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let reached = reached.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                    let _ = reached.send(());
                }
            });
        }
    });
    let proxy = proxy_with_limits(upstream, Limits::default()).await;
    let mut request = String::from("POST / HTTP/1.1\r\nHost: proxy\r\nContent-Length: 2\r\n");
    for (name, value) in ecs_headers(ACCOUNT) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n{}");
    let mut client = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
    client.write_all(request.as_bytes()).await.unwrap();
    // The request is in flight (forwarded, unanswered) before the client hangs up.
    tokio::time::timeout(Duration::from_secs(10), reached_rx.recv())
        .await
        .expect("the request reached the upstream within 10 s");
    assert!(proxy.journal().is_empty(), "journaled before any answer");
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(10);
    let entry = loop {
        if let Some(e) = proxy.journal().pop() {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "no journal entry 10 s after the client hung up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(entry.operation.as_deref(), Some("ListClusters"));
    assert_eq!(entry.account.as_deref(), Some(ACCOUNT));
    assert_eq!(entry.status, None);
    assert_eq!(entry.handled_by.as_deref(), Some("proxy:client-gone"));
}
