//! `start_on_threads`: the proxy served by threads of its own (one event loop each, as the
//! `faultproxy` command runs) forwards, journals, answers the control API and injects faults like
//! `start`, and its threads end with `shutdown`.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use faultproxy::{ProxyConfig, Rule, UpstreamFlavor};
use http_body_util::Full;
use support::raw;

/// An upstream answering every request `200 ok`.
async fn ok_upstream() -> SocketAddr {
    support::serve(|_req| async { hyper::Response::new(Full::new(Bytes::from_static(b"ok"))) })
        .await
}

/// Names of this process's threads serving the proxy on `port`, once there are `n` of them
/// (a new thread names itself as it starts) or after 5 s.
async fn serving_threads_when(port: u16, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let names = serving_threads(port);
        if names.len() == n || tokio::time::Instant::now() > deadline {
            return names;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn serving_threads(port: u16) -> Vec<String> {
    let prefix = format!("fproxy{port}-");
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.sort();
    names
}

const ECS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=123456789012/20240101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=00";

#[tokio::test]
async fn threads_forward_journal_inject_and_end_on_shutdown() {
    let upstream = ok_upstream().await;
    let cfg = ProxyConfig::new(
        format!("http://{upstream}").parse().unwrap(),
        UpstreamFlavor::Moto,
    );
    let proxy = faultproxy::start_on_threads(cfg, faultproxy::Limits::default(), 2)
        .await
        .unwrap();
    let port = proxy.addr().port();
    assert_eq!(
        serving_threads_when(port, 2).await,
        [format!("fproxy{port}-1"), format!("fproxy{port}-2")]
    );

    let headers = [
        ("authorization", ECS_AUTH),
        (
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.ListClusters",
        ),
    ];
    // Six connections: round-robin puts three on each thread.
    for _ in 0..6 {
        let (status, body) = raw(proxy.addr(), "POST", "/", &headers, b"{}").await;
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
    let journal = proxy.journal();
    assert_eq!(journal.len(), 6);
    assert!(journal
        .iter()
        .enumerate()
        .all(|(i, e)| e.seq == i as u64 + 1
            && e.operation.as_deref() == Some("ListClusters")
            && e.account.as_deref() == Some("123456789012")
            && e.status == Some(200)));

    // Rules set through the handle reach both threads.
    proxy
        .set_rules(vec![Rule::named("t").for_service("ecs").with_throttle()])
        .unwrap();
    for _ in 0..2 {
        let (status, body) = raw(proxy.addr(), "POST", "/", &headers, b"{}").await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("ThrottlingException"), "{body}");
    }
    // The control API is served on the threads too.
    let (status, body) = raw(proxy.addr(), "GET", "/_harness/journal", &[], b"").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ThrottlingException"), "{body}");

    let addr = proxy.addr();
    tokio::time::timeout(Duration::from_secs(10), proxy.shutdown())
        .await
        .expect("shutdown within 10 s");
    assert_eq!(serving_threads_when(port, 0).await, Vec::<String>::new());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
