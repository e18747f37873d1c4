//! Fuzz-style: 10,000 generated requests, valid and malformed mixed, from a seeded deterministic
//! generator over 50 concurrent connections streams, thrown at one proxy (tiny local upstream).
//! Every valid request must be answered correctly, every malformed one answered (`HTTP/1.1 ...`)
//! or closed, none may hang; afterwards the proxy still serves a valid request.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use faultproxy::Limits;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self as client, SendRequest};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TASKS: u64 = 50;
const PER_TASK: u64 = 200;
const ACCOUNT: &str = "123456789012";
const OK_BODY: &str = r#"{"clusterArns":[]}"#;

/// One malformed request: garbage, broken framing, odd heads (with a valid-looking start so that
/// the parser gets past the first bytes as often as not).
fn malformed(rng: &mut StdRng) -> Vec<u8> {
    let auth = authorization(ACCOUNT, "ap-northeast-1", "ecs");
    match rng.gen_range(0..12) {
        0 => (0..rng.gen_range(1..2048)).map(|_| rng.gen()).collect(),
        1 => b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        2 => format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{{",
            rng.gen_range(2..10_000)
        )
        .into_bytes(),
        3 => b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nnope\r\n"
            .to_vec(),
        4 => format!(
            "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
            "%".repeat(rng.gen_range(1..300))
        )
        .into_bytes(),
        5 => b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n".to_vec(),
        6 => b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde".to_vec(),
        7 => {
            let mut v =
                format!("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nX-Amz-Target: ")
                    .into_bytes();
            v.extend((0..rng.gen_range(1..64)).map(|_| rng.gen_range(0x80..=0xffu8)));
            v.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\n{}");
            v
        }
        8 => format!(
            "{} / HTTP/1.1\r\nHost: x\r\n\r\n",
            "X".repeat(rng.gen_range(1..100))
        )
        .into_bytes(),
        9 => format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "b".repeat(rng.gen_range(60_000..80_000))
        )
        .into_bytes(),
        10 => {
            let head = format!("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters\r\nContent-Length: 2\r\n\r\n{{}}");
            let cut = rng.gen_range(1..head.len());
            head.as_bytes()[..cut].to_vec()
        }
        _ => {
            // A valid request followed by garbage on the same connection (pipelined).
            let mut v = format!("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters\r\nContent-Length: 2\r\n\r\n{{}}").into_bytes();
            v.extend((0..rng.gen_range(1..512)).map(|_| rng.gen::<u8>()));
            v
        }
    }
}

/// Sends a malformed request on its own connection, half-closes, and reads the answer. Returns
/// false when the proxy neither answered nor closed in time.
async fn throw(addr: SocketAddr, bytes: &[u8]) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let _ = s.write_all(bytes).await;
    let _ = s.shutdown().await;
    let mut out = Vec::new();
    match tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await {
        Err(_) => false,
        Ok(_) => {
            assert!(
                out.is_empty() || out.starts_with(b"HTTP/1.1 "),
                "not an HTTP answer: {:?}",
                String::from_utf8_lossy(&out[..out.len().min(120)])
            );
            true
        }
    }
}

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = client::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    sender
}

/// A valid ECS call on a keep-alive connection; must get the upstream's answer.
async fn valid(addr: SocketAddr, sender: &mut SendRequest<Full<Bytes>>) {
    if sender.ready().await.is_err() {
        *sender = connect(addr).await;
    }
    let mut req = http::Request::post("/")
        .header("host", addr.to_string())
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    for (k, v) in ecs_headers(ACCOUNT) {
        req.headers_mut().insert(k, v.parse().unwrap());
    }
    let resp = tokio::time::timeout(Duration::from_secs(20), sender.send_request(req))
        .await
        .expect("a valid request is answered in time")
        .expect("a valid request is answered");
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], OK_BODY.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_generated_requests_then_a_valid_one() {
    let upstream = instant_upstream().await;
    let limits = Limits {
        header_read_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let proxy = proxy_with_limits(upstream, limits).await;
    let addr = proxy.addr();
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let counts = counts.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0xf022_0000 + task);
            let mut sender = connect(addr).await;
            for _ in 0..PER_TASK {
                if rng.gen_bool(0.5) {
                    valid(addr, &mut sender).await;
                    counts[0].fetch_add(1, Ordering::Relaxed);
                } else if throw(addr, &malformed(&mut rng)).await {
                    counts[1].fetch_add(1, Ordering::Relaxed);
                } else {
                    counts[2].fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("a generator task panicked");
    }
    let [valid_n, malformed_n, hung] = [0, 1, 2].map(|i| counts[i].load(Ordering::Relaxed));
    eprintln!("fuzz: {valid_n} valid, {malformed_n} malformed answered or closed, {hung} hung");
    assert_eq!(valid_n + malformed_n + hung, TASKS * PER_TASK);
    assert!(valid_n + malformed_n >= 10_000);
    assert_eq!(hung, 0, "malformed requests left hanging");
    let mut sender = connect(addr).await;
    valid(addr, &mut sender).await;
    let (s, _) = raw(addr, "GET", "/_harness/health", &[], b"").await;
    assert_eq!(s, 200);
}
