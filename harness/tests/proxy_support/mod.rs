//! Shared helpers of the proxy integration tests: one moto process per test binary, a proxy per
//! test, fresh accounts, SDK configs and a raw HTTP client for the control API.
//!
//! moto comes from `harness::emulator` (one process per test binary, killed when it exits).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::SdkConfig;
use faultproxy::{Preset, ProxyConfig, ProxyHandle, UpstreamFlavor};
use harness::emulator::moto_process::{MotoOptions, MotoProcess};
use harness::emulator::Emulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const REGION: &str = "ap-northeast-1";
/// Secret key and session token given to the SDK; must never show up in the journal.
pub const SECRET: &str = "wJalrXUtnFEMI-SECRET-K7MDENG-bPxRfiCY";
pub const SESSION_TOKEN: &str = "FwoGZXIvYXdzEXAMPLE-SESSION-TOKEN-zz";

/// The moto process of this test binary, started on first use through the emulator module
/// (which kills it when the process exits). The proxy tests need moto specifically (LocalStack's
/// free edition serves no ECS), so they do not follow `HARNESS_BACKEND`; and one process, not
/// `HARNESS_MOTO_SHARDS` of them: each test points its proxy at this one URL.
pub async fn moto_url() -> url::Url {
    static MOTO: tokio::sync::OnceCell<Arc<dyn Emulator>> = tokio::sync::OnceCell::const_new();
    MOTO.get_or_init(|| async {
        let options = MotoOptions::from_env()
            .await
            .unwrap_or_else(|e| panic!("moto is required by the proxy tests: {e}"));
        let moto = MotoProcess::start(&options)
            .await
            .unwrap_or_else(|e| panic!("moto is required by the proxy tests: {e}"));
        Arc::new(moto) as Arc<dyn Emulator>
    })
    .await
    .endpoint()
    .url
    .clone()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// A fresh random 12-digit account id.
pub fn fresh_account() -> String {
    format!(
        "{:012}",
        rand::random::<u64>() % 900_000_000_000 + 100_000_000_000
    )
}

/// A proxy in front of the shared moto with these presets.
pub async fn proxy_with(presets: &[&str]) -> ProxyHandle {
    let mut cfg = ProxyConfig::new(moto_url().await, UpstreamFlavor::Moto);
    cfg.presets = presets.iter().map(|p| Preset::parse(p).unwrap()).collect();
    faultproxy::start(cfg).await.expect("proxy starts")
}

/// A proxy whose upstream does not exist (for faults that answer before forwarding).
pub async fn proxy_without_upstream() -> ProxyHandle {
    let cfg = ProxyConfig::new(
        format!("http://127.0.0.1:{}", free_port()).parse().unwrap(),
        UpstreamFlavor::Moto,
    );
    faultproxy::start(cfg).await.expect("proxy starts")
}

/// SDK config for `account` through `proxy`, no SDK retries (each call is one request).
pub async fn sdk(proxy: &ProxyHandle, account: &str) -> SdkConfig {
    sdk_with_retries(proxy, account, RetryConfig::disabled()).await
}

pub async fn sdk_with_retries(proxy: &ProxyHandle, account: &str, retry: RetryConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(proxy.url())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            account,
            SECRET,
            Some(SESSION_TOKEN.into()),
            None,
            "proxy-tests",
        ))
        .retry_config(retry)
        .load()
        .await
}

/// Standard retries with 3 attempts and millisecond backoff (fast tests).
pub fn fast_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
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

/// A fake SigV4 Authorization header for `account` and `service`.
pub fn auth(account: &str, region: &str, service: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={account}/20240101/{region}/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
}

/// Journal summaries (`ecs:CreateCluster -> 200`) of one account.
pub fn summaries(proxy: &ProxyHandle, account: &str) -> Vec<String> {
    proxy
        .journal_for(account)
        .iter()
        .map(|e| e.summary())
        .collect()
}
