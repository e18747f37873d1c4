//! The proxy as a server under hostile input, emulator-free (a tiny local upstream): a slowloris
//! client is cut after the header read timeout while others are served; oversized heads and
//! chunked bodies get AWS-shaped 431 / 413; random bytes, truncated requests and an HTTP/2 preface
//! are answered or closed without harm; the journal is bounded and says how much it dropped; the
//! control API answers loopback clients only unless told, and never echoes a credential.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use faultproxy::{ControlAccess, Limits, ProxyConfig, UpstreamFlavor};
use rand::{Rng, SeedableRng};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ACCOUNT: &str = "123456789012";

async fn assert_serves_aws_calls(addr: SocketAddr) {
    let (s, body) = call(addr, "POST", "/", &ecs_headers(ACCOUNT), b"{}").await;
    assert_eq!((s, body.as_str()), (200, r#"{"clusterArns":[]}"#));
}

/// A whole HTTP/1.1 request on a new connection; returns the raw answer (head and body).
async fn exchange(addr: SocketAddr, request: &str) -> String {
    let out = send_bytes(addr, request.as_bytes(), Duration::from_secs(10)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn slowloris_is_cut_after_the_header_read_timeout_and_others_are_served() {
    let upstream = instant_upstream().await;
    let limits = Limits {
        header_read_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let proxy = proxy_with_limits(upstream, limits).await;
    let addr = proxy.addr();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let t = Instant::now();
    let trickle = async {
        // One header byte every 200 ms, never the blank line that ends the head.
        for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            .iter()
            .cycle()
        {
            if slow.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if t.elapsed() > Duration::from_secs(15) {
                break;
            }
        }
    };
    let others = async {
        // While the slow client trickles, normal clients are answered.
        for _ in 0..3 {
            assert_serves_aws_calls(addr).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::join!(trickle, others);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the slow connection was not cut: still open after {:?}",
        t.elapsed()
    );
    // The connection is closed: reading ends (after an optional error answer).
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the cut connection reads to its end");
    assert_serves_aws_calls(addr).await;
}

/// An upstream answering 200 `{"clusterArns":[]}` after `delay`.
async fn slow_upstream(delay: Duration) -> SocketAddr {
    serve(move |_req| async move {
        tokio::time::sleep(delay).await;
        let body = bytes::Bytes::from_static(br#"{"clusterArns":[]}"#);
        http::Response::new(http_body_util::Full::new(body))
    })
    .await
}

/// One keep-alive ListClusters exchange on `s`; the answer's status, or `None` when the proxy
/// closed the connection.
async fn keep_alive_call(s: &mut TcpStream) -> Option<u16> {
    let mut req = String::from("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n");
    for (k, v) in ecs_headers(ACCOUNT) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n{}");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("an answer or a close within 10 s")
            .ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if text.ends_with(r#"{"clusterArns":[]}"#) {
            return text.get(9..12).and_then(|s| s.parse().ok());
        }
    }
}

#[tokio::test]
async fn the_header_read_timeout_runs_only_while_a_connection_waits_for_a_head() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    // An answer slower than the timeout: the request is being served, not read.
    let proxy = proxy_with_limits(
        slow_upstream(Duration::from_millis(1500)).await,
        limits.clone(),
    )
    .await;
    let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(
        keep_alive_call(&mut s).await,
        Some(200),
        "a slow answer is not cut"
    );
    // Requests every 600 ms on one connection for longer than the timeout: the time runs from
    // the end of the previous answer, not from the connection's start.
    let proxy = proxy_with_limits(instant_upstream().await, limits).await;
    let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
    for i in 0..4 {
        assert_eq!(keep_alive_call(&mut s).await, Some(200), "request {i}");
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    // Idle longer than the timeout: the proxy closes the connection (as hyper's own timeout did).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0))),
        "the idle connection is closed: {read:?}"
    );
}

#[tokio::test]
async fn oversized_heads_get_an_aws_shaped_431() {
    let upstream = instant_upstream().await;
    let limits = Limits {
        max_header_bytes: 4096,
        ..Limits::default()
    };
    let proxy = proxy_with_limits(upstream, limits).await;
    let addr = proxy.addr();
    let mut headers = ecs_headers(ACCOUNT);
    headers.push(("X-Padding", "p".repeat(6000)));
    let (s, body) = call(addr, "POST", "/", &headers, b"{}").await;
    assert_eq!(s, 431, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["__type"], "RequestHeaderSectionTooLarge");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("limit of 4096 bytes"),
        "{body}"
    );
    assert_eq!(proxy.journal().pop().unwrap().status, Some(431));
    // A head far beyond hyper's read buffer is refused by hyper itself (a bare 431) or closed.
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(2 << 20)
    );
    let answer = exchange(addr, &huge).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert_serves_aws_calls(addr).await;
}

#[tokio::test]
async fn oversized_chunked_bodies_get_an_aws_shaped_413() {
    let upstream = instant_upstream().await;
    let limits = Limits {
        max_body_bytes: 64 * 1024,
        ..Limits::default()
    };
    let proxy = proxy_with_limits(upstream, limits).await;
    let addr = proxy.addr();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        authorization(ACCOUNT, "ap-northeast-1", "ecs")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("2000\r\n{}\r\n", "x".repeat(0x2000));
    for _ in 0..64 {
        if s.write_all(chunk.as_bytes()).await.is_err() {
            break; // answered and closed before the end: fine
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("RequestEntityTooLarge"), "{text}");
    assert!(text.contains("limit of 65536 bytes"), "{text}");
    assert_serves_aws_calls(addr).await;
}

#[tokio::test]
async fn random_bytes_truncated_requests_and_http2_are_answered_or_closed() {
    let upstream = instant_upstream().await;
    let proxy = proxy_with_limits(upstream, Limits::default()).await;
    let addr = proxy.addr();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5107_105e);
    for _ in 0..100 {
        let len = rng.gen_range(1..4096);
        let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        send_bytes(addr, &bytes, Duration::from_millis(100)).await;
    }
    let h2 = send_bytes(
        addr,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        Duration::from_secs(5),
    )
    .await;
    let h2 = String::from_utf8_lossy(&h2);
    assert!(h2.is_empty() || h2.starts_with("HTTP/1.1 "), "{h2}");
    for truncated in [
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a bit",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnot hex\r\n",
        "GET / HTTP/1.1\r\nHost",
        "GET / HTTP/9.9\r\n\r\n",
    ] {
        // The client goes away (or sends nonsense); the proxy must not wait for it forever.
        send_bytes(addr, truncated.as_bytes(), Duration::from_millis(200)).await;
    }
    assert_serves_aws_calls(addr).await;
}

#[tokio::test]
async fn the_journal_is_bounded_and_counts_what_it_dropped() {
    let upstream = instant_upstream().await;
    let limits = Limits {
        journal_capacity: 5,
        ..Limits::default()
    };
    let proxy = proxy_with_limits(upstream, limits).await;
    let addr = proxy.addr();
    for _ in 0..12 {
        assert_serves_aws_calls(addr).await;
    }
    let answer = exchange(
        addr,
        &format!("GET /_harness/journal HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("x-harness-journal-dropped: 7\r\n"),
        "{answer}"
    );
    assert!(
        lower.contains("x-harness-journal-capacity: 5\r\n"),
        "{answer}"
    );
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let entries: Vec<faultproxy::JournalEntry> = serde_json::from_str(body).unwrap();
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [8, 9, 10, 11, 12], "the newest five");
    let (s, stats) = raw(addr, "GET", "/_harness/journal/stats", &[], b"").await;
    assert_eq!(s, 200);
    let stats: faultproxy::JournalStats = serde_json::from_str(&stats).unwrap();
    assert_eq!((stats.capacity, stats.kept, stats.dropped), (5, 5, 7));
    assert_eq!(proxy.journal_stats(), stats);
}

/// This machine's address on its default route (not loopback).
fn non_loopback_ip() -> IpAddr {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    // No packet is sent: connecting a UDP socket only picks the route and source address.
    s.connect("192.0.2.1:9")
        .expect("this test needs a non-loopback IPv4 address (a default route)");
    let ip = s.local_addr().unwrap().ip();
    assert!(!ip.is_loopback(), "no non-loopback address: {ip}");
    ip
}

async fn proxy_on_all_interfaces(
    upstream: SocketAddr,
    access: ControlAccess,
) -> faultproxy::ProxyHandle {
    let mut cfg = ProxyConfig::new(
        format!("http://{upstream}").parse().unwrap(),
        UpstreamFlavor::Other,
    );
    cfg.listen = "0.0.0.0:0".parse().unwrap();
    let limits = Limits {
        control_access: access,
        ..Limits::default()
    };
    faultproxy::start_with_limits(cfg, limits).await.unwrap()
}

#[tokio::test]
async fn the_control_api_answers_loopback_clients_only_unless_told() {
    let upstream = instant_upstream().await;
    let proxy = proxy_on_all_interfaces(upstream, ControlAccess::Loopback).await;
    let port = proxy.addr().port();
    let remote = SocketAddr::new(non_loopback_ip(), port);
    let local = SocketAddr::from(([127, 0, 0, 1], port));
    for path in [
        "/_harness/faults",
        "/_harness/journal",
        "/_localstack/chaos/faults",
    ] {
        let (s, body) = raw(remote, "GET", path, &[], b"").await;
        assert_eq!(s, 403, "{path}: {body}");
        assert!(body.contains("--control-api any"), "{body}");
        let (s, _) = raw(local, "GET", path, &[], b"").await;
        assert_eq!(s, 200, "{path} from loopback");
    }
    let (s, _) = raw(
        remote,
        "POST",
        "/_harness/faults",
        &[],
        b"[{\"drop\": true}]",
    )
    .await;
    assert_eq!(s, 403);
    assert!(proxy.rules().is_empty(), "a refused call changes nothing");
    // AWS calls from anywhere are still proxied.
    assert_serves_aws_calls(remote).await;

    let open = proxy_on_all_interfaces(upstream, ControlAccess::Any).await;
    let remote = SocketAddr::new(non_loopback_ip(), open.addr().port());
    let (s, _) = raw(remote, "GET", "/_harness/faults", &[], b"").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn control_answers_never_echo_credentials() {
    let proxy = proxy_without_upstream().await;
    let addr = proxy.addr();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261203/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature={secret}"
    );
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Amz-Security-Token", token),
    ];
    for (method, path, body) in [
        ("GET", "/_harness/nope", &b""[..]),
        ("PUT", "/_harness/journal", b""),
        ("POST", "/_harness/faults", b"{not json"),
        ("POST", "/_harness/presets", b"no-such-preset"),
        ("POST", "/_localstack/chaos/faults", b"[{\"foo\": 1}]"),
        ("GET", "/_localstack/chaos/nope", b""),
    ] {
        let (s, answer) = raw(addr, method, path, &headers, body).await;
        assert!(s >= 400, "{method} {path}: {s}");
        for forbidden in [secret, token, "AKIAIOSFODNN7EXAMPLE", "Signature="] {
            assert!(
                !answer.contains(forbidden),
                "{method} {path} echoed {forbidden}: {answer}"
            );
        }
    }
}
