//! Shared helpers of the proxy integration tests: one moto process per test binary, a proxy per
//! test, fresh accounts, SDK configs and a raw HTTP client for the control API.
//!
//! moto is started here (not through `harness::emulator`, which is developed in parallel) by a
//! tiny `sh` wrapper that kills moto as soon as the test process exits (its stdin pipe closes),
//! so no server outlives the tests even though the shared instance lives in a static.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::SdkConfig;
use harness::proxy::{self, Preset, ProxyConfig, ProxyHandle, UpstreamFlavor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const REGION: &str = "ap-northeast-1";
/// Secret key and session token given to the SDK; must never show up in the journal.
pub const SECRET: &str = "wJalrXUtnFEMI-SECRET-K7MDENG-bPxRfiCY";
pub const SESSION_TOKEN: &str = "FwoGZXIvYXdzEXAMPLE-SESSION-TOKEN-zz";

const MOTO_START_DEADLINE: Duration = Duration::from_secs(60);

pub struct Moto {
    pub url: String,
    _child: Child,
    _stdin: Mutex<ChildStdin>,
}

/// The moto server of this test binary (started on first use).
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| start_moto().expect("moto_server must be on PATH for the proxy tests"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

fn start_moto() -> Result<Moto, String> {
    let mut last_err = String::new();
    for _ in 0..3 {
        let port = free_port();
        let script = format!(
            "moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; read _unused; kill $pid 2>/dev/null; wait $pid 2>/dev/null"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot spawn sh: {e}"))?;
        let stdin = child.stdin.take().unwrap();
        let deadline = Instant::now() + MOTO_START_DEADLINE;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                last_err = format!("moto_server exited early ({status})");
                break;
            }
            if http_get_ok(port, "/moto-api/config") {
                return Ok(Moto {
                    url: format!("http://127.0.0.1:{port}"),
                    _child: child,
                    _stdin: Mutex::new(stdin),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if last_err.is_empty() {
            last_err =
                format!("moto_server not ready on port {port} within {MOTO_START_DEADLINE:?}");
        }
        // Closing the pipe makes the wrapper kill moto and exit.
        drop(stdin);
        let _ = child.wait();
    }
    Err(last_err)
}

fn http_get_ok(port: u16, path: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    // moto answers /moto-api/config with 201.
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf[9] == b'2')
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
    let mut cfg = ProxyConfig::new(moto().url.parse().unwrap(), UpstreamFlavor::Moto);
    cfg.presets = presets.iter().map(|p| Preset::parse(p).unwrap()).collect();
    proxy::start(cfg).await.expect("proxy starts")
}

/// A proxy whose upstream does not exist (for faults that answer before forwarding).
pub async fn proxy_without_upstream() -> ProxyHandle {
    let cfg = ProxyConfig::new(
        format!("http://127.0.0.1:{}", free_port()).parse().unwrap(),
        UpstreamFlavor::Moto,
    );
    proxy::start(cfg).await.expect("proxy starts")
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
