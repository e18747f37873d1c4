//! A trivial upstream that answers instantly, and a load generator on raw hyper connections.
//!
//! Requests look like an AWS SDK's ECS `ListClusters` call (POST `/`, `X-Amz-Target`, a SigV4
//! `Authorization` header with a 12-digit account as access key id, the SDK's user-agent and
//! invocation headers, a JSON body), so a proxy in between classifies them exactly as it
//! classifies real traffic. `ListClusters` is an operation no behaviour model is interested in:
//! the proxy's cost measured here is classification + rule evaluation + journal + forwarding.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1 as client_http1;
use hyper::server::conn::http1 as server_http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// The account the synthetic requests act in (not moto's default).
pub const BENCH_ACCOUNT: &str = "210987654321";
/// Their region.
pub const BENCH_REGION: &str = "ap-northeast-1";

/// What the trivial upstream answers (an empty ListClusters result).
pub const UPSTREAM_BODY: &[u8] = br#"{"clusterArns":[]}"#;

/// Starts the trivial upstream on the current runtime; it serves until the runtime ends.
pub async fn start_upstream() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the trivial upstream")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<Incoming>| async move {
                    // Read the body like a real server would.
                    let _ = req.into_body().collect().await;
                    let mut resp = Response::new(Full::new(Bytes::from_static(UPSTREAM_BODY)));
                    let h = resp.headers_mut();
                    h.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/x-amz-json-1.1"),
                    );
                    h.insert(
                        "x-amzn-requestid",
                        HeaderValue::from_static("5b0a8f43-6a3c-4c1e-9a57-0e7d3f1b2c4d"),
                    );
                    Ok::<_, Infallible>(resp)
                });
                let _ = server_http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// The head of an SDK-shaped ECS `operation` call for `account` (signature is a placeholder:
/// neither the proxy nor emulators verify it).
pub fn aws_headers(authority: &str, account: &str, region: &str, operation: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut put = |name: header::HeaderName, value: String| {
        h.insert(
            name,
            HeaderValue::from_str(&value).expect("ASCII header value"),
        );
    };
    put(header::HOST, authority.to_string());
    put(
        header::CONTENT_TYPE,
        "application/x-amz-json-1.1".to_string(),
    );
    put(
        header::HeaderName::from_static("x-amz-target"),
        format!("AmazonEC2ContainerServiceV20141113.{operation}"),
    );
    put(
        header::HeaderName::from_static("x-amz-date"),
        "20260101T000000Z".to_string(),
    );
    put(
        header::AUTHORIZATION,
        format!(
            "AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/ecs/aws4_request, \
             SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-target;x-amz-user-agent, \
             Signature={}",
            "0".repeat(64)
        ),
    );
    put(
        header::USER_AGENT,
        "aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0".to_string(),
    );
    put(
        header::HeaderName::from_static("x-amz-user-agent"),
        "aws-sdk-rust/1.3.9 ua/2.1 api/ecs/1.0.0 os/linux lang/rust/1.95.0 m/E".to_string(),
    );
    put(
        header::HeaderName::from_static("amz-sdk-invocation-id"),
        "0d6a1f8e-2b7c-4f5e-8a9d-3c4b5a6e7f80".to_string(),
    );
    put(
        header::HeaderName::from_static("amz-sdk-request"),
        "attempt=1; max=3".to_string(),
    );
    h
}

/// A request template, cloned for every request.
#[derive(Clone)]
pub struct Template {
    headers: HeaderMap,
    body: Bytes,
}

impl Template {
    /// `ListClusters` for the bench account, addressed to `addr`.
    pub fn list_clusters(addr: SocketAddr) -> Template {
        Template::new(
            aws_headers(
                &addr.to_string(),
                BENCH_ACCOUNT,
                BENCH_REGION,
                "ListClusters",
            ),
            Bytes::from_static(b"{}"),
        )
    }

    pub fn new(mut headers: HeaderMap, body: Bytes) -> Template {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        Template { headers, body }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Template {
        self.headers.insert(
            header::HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("ASCII header value"),
        );
        self
    }

    pub fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = http::Uri::from_static("/");
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// One keep-alive HTTP/1.1 connection that reconnects when the server closes it.
pub struct Conn {
    addr: SocketAddr,
    sender: Option<client_http1::SendRequest<Full<Bytes>>>,
    /// Connections opened (1 for a connection that was kept alive throughout).
    pub connects: u64,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            sender: None,
            connects: 0,
        }
    }

    async fn sender(&mut self) -> anyhow::Result<&mut client_http1::SendRequest<Full<Bytes>>> {
        let usable = match self.sender.as_mut() {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            let stream = TcpStream::connect(self.addr)
                .await
                .with_context(|| format!("connecting to {}", self.addr))?;
            stream.set_nodelay(true)?;
            let (sender, conn) = client_http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.connects += 1;
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("just set"))
    }

    /// Sends one request and reads the whole answer; returns its status and body.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<(StatusCode, Bytes)> {
        let sender = self.sender().await?;
        let result = async {
            let resp = sender.send_request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    /// Sends one request; fails unless the answer is 200.
    pub async fn call_ok(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<()> {
        let (status, body) = self.send(req).await?;
        if status != StatusCode::OK {
            bail!(
                "{} answered {status}: {}",
                self.addr,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(())
    }
}

/// Per-request latencies in microseconds of `n` sequential keep-alive requests (after `warmup`).
pub async fn latencies_us(
    addr: SocketAddr,
    template: &Template,
    warmup: usize,
    n: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut conn = Conn::new(addr);
    for _ in 0..warmup {
        conn.call_ok(template.request()).await?;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let req = template.request();
        let t = Instant::now();
        conn.call_ok(req).await?;
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok(out)
}

/// Outcome of a throughput run.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// CPU seconds the probed proxy used during the measured window.
    pub cpu_secs: Option<f64>,
}

/// `connections` keep-alive connections, each sending requests back to back; counts the answers
/// completed during `duration` (after `warmup`). Runs on the current runtime.
pub async fn throughput(
    addr: SocketAddr,
    template: &Template,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    probe: Option<&crate::cpu::Probe>,
) -> anyhow::Result<Throughput> {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (done, errors, stop, template) =
            (done.clone(), errors.clone(), stop.clone(), template.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut first_error = None;
            while !stop.load(Ordering::Relaxed) {
                match conn.call_ok(template.request()).await {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert(e);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            first_error
        }));
    }
    tokio::time::sleep(warmup).await;
    let start_done = done.load(Ordering::Relaxed);
    let start_errors = errors.load(Ordering::Relaxed);
    let cpu_start = probe.map(|p| p.cpu_secs());
    let t = Instant::now();
    tokio::time::sleep(duration).await;
    let requests = done.load(Ordering::Relaxed) - start_done;
    let elapsed = t.elapsed();
    let cpu_secs = probe.zip(cpu_start).map(|(p, s)| p.cpu_secs() - s);
    let errs = errors.load(Ordering::Relaxed) - start_errors;
    stop.store(true, Ordering::Relaxed);
    let mut first_error = None;
    for task in tasks {
        if let Ok(Some(e)) = task.await {
            first_error.get_or_insert(e);
        }
    }
    if requests == 0 {
        match first_error {
            Some(e) => return Err(e.context(format!("no request to {addr} succeeded"))),
            None => bail!("no request to {addr} completed in {duration:?}"),
        }
    }
    Ok(Throughput {
        requests,
        errors: errs,
        elapsed,
        cpu_secs,
    })
}
