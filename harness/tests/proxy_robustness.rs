//! Hostile and odd input: garbage on the socket never takes the proxy down, unclassifiable
//! requests are forwarded and journaled as unknown, oversized bodies are refused, and the journal
//! never contains a credential, signature, session token or the Authorization header.

mod proxy_support;

use std::time::Duration;

use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use proxy_support::*;

async fn send_and_close(addr: std::net::SocketAddr, bytes: &[u8]) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return;
    };
    let _ = s.write_all(bytes).await;
    let mut buf = vec![0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(150), s.read(&mut buf)).await;
}

async fn assert_still_serving(proxy: &faultproxy::ProxyHandle) {
    let (s, _) = raw(proxy.addr(), "GET", "/_harness/health", &[], b"").await;
    assert_eq!(s, 200);
    let ecs = aws_sdk_ecs::Client::new(&sdk(proxy, &fresh_account()).await);
    ecs.list_clusters()
        .send()
        .await
        .expect("an SDK call still works");
}

#[tokio::test]
async fn garbage_and_malformed_http_do_not_crash_the_proxy() {
    let proxy = proxy_with(&[]).await;
    let addr = proxy.addr();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0x5eed);
    for _ in 0..40 {
        let len = rng.gen_range(1..2048);
        let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        send_and_close(addr, &bytes).await;
    }
    let long_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let cases: Vec<&[u8]> = vec![
        b"\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnot-hex\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a bit",
        b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Credential=\xff\xfe/x\r\nX-Amz-Target: .\r\nContent-Length: 2\r\n\r\n{}",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nAction=%\xff",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        long_header.as_bytes(),
    ];
    for c in cases {
        send_and_close(addr, c).await;
    }
    // Many half-open connections at once.
    let mut idle = Vec::new();
    for _ in 0..50 {
        if let Ok(s) = TcpStream::connect(addr).await {
            idle.push(s);
        }
    }
    assert_still_serving(&proxy).await;
    drop(idle);
    assert_still_serving(&proxy).await;
}

#[tokio::test]
async fn unknown_requests_are_forwarded_and_journaled_as_unknown() {
    let proxy = proxy_with(&["throttle=100"]).await;
    // No credential, no target, no Action: moto's own API answers, no rule applies.
    let (s, _) = raw(proxy.addr(), "GET", "/moto-api/config", &[], b"").await;
    assert_eq!(
        s, 201,
        "forwarded to moto, untouched by the throttle preset"
    );
    let e = proxy.journal().pop().unwrap();
    assert_eq!((e.service, e.operation, e.account), (None, None, None));
    assert_eq!(e.status, Some(201));
    assert!(e.fault.is_none());
}

#[tokio::test]
async fn journal_never_contains_credentials() {
    let proxy = proxy_with(&["slr-delay=1s"]).await;
    let account = fresh_account();
    let cfg = sdk(&proxy, &account).await;
    // Signed SDK requests (SigV4 with a session token), through rules, models and upstream.
    let ecs = aws_sdk_ecs::Client::new(&cfg);
    let iam = aws_sdk_iam::Client::new(&cfg);
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let _ = ecs.create_cluster().cluster_name("c2").send().await;
    let _ = iam
        .get_role()
        .role_name("AWSServiceRoleForECS")
        .send()
        .await;
    proxy
        .add_rules(vec![faultproxy::Rule::named("t")
            .for_service("iam")
            .with_throttle()])
        .expect("valid rules");
    let _ = iam.list_roles().send().await;
    // A raw request with a known signature and token headers.
    let signature = "feedfacecafebeef00112233445566778899aabbccddeeff0011223344556677";
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={account}/20240101/{REGION}/ecs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={signature}"
    );
    let (s, _) = raw(
        proxy.addr(),
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            (
                "X-Amz-Target",
                "AmazonEC2ContainerServiceV20141113.ListClusters",
            ),
            ("Authorization", &authorization),
            ("X-Amz-Security-Token", SESSION_TOKEN),
        ],
        b"{}",
    )
    .await;
    assert_eq!(s, 200);

    let (_, over_http) = raw(proxy.addr(), "GET", "/_harness/journal", &[], b"").await;
    let in_process = format!("{:?}", proxy.journal());
    let journal: Vec<faultproxy::JournalEntry> = serde_json::from_str(&over_http).unwrap();
    assert!(journal.len() >= 5, "{journal:#?}");
    assert!(journal
        .iter()
        .all(|e| e.account.as_deref() == Some(account.as_str())));
    for text in [&over_http, &in_process] {
        let lower = text.to_lowercase();
        for forbidden in [
            SECRET,
            SESSION_TOKEN,
            signature,
            "AWS4-HMAC-SHA256",
            "Credential=",
            "Signature=",
        ] {
            assert!(!text.contains(forbidden), "journal leaks {forbidden:?}");
        }
        for forbidden in [
            "authorization",
            "security-token",
            "x-amz-date",
            "signedheaders",
        ] {
            assert!(!lower.contains(forbidden), "journal leaks {forbidden:?}");
        }
    }
}
