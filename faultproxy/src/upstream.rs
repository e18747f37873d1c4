//! The emulator behind the proxy: a pooled HTTP/1.1 client plus the few signed-looking calls the
//! behaviour models make themselves (IAM CreateRole, ECS ListClusters, ...).
//!
//! The pool is a stack of idle keep-alive connections (hyper's connection-level client). A request
//! takes the most recently used connection that is ready for a new exchange, or opens one; the
//! connection goes back as soon as the answer's head is in and is handed out again only once that
//! exchange has finished. Unlike hyper-util's pooled client, this spawns no task and allocates no
//! pool bookkeeping per request: on a 2-core machine that was 10-15 µs of the proxy's added
//! latency per call (see the bench). With serving threads (`workers.rs`) each thread keeps its
//! own stack (a slot), so a request only borrows connections whose tasks run on its own thread.
//!
//! Calls made by the proxy carry the account both ways emulators understand: the moto header
//! `x-moto-account-id`, and an `Authorization` header whose credential scope uses the account as
//! access key id (LocalStack's convention). The signature is fake; emulators do not verify it.

use std::cell::Cell;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self as client_http1, SendRequest};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

use crate::aws::Service;
use crate::shards::ShardPlace;
use crate::upstream_error::{InvalidUpstream, UpstreamError};

/// Which emulator the upstream is; decides how the account is passed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamFlavor {
    /// moto: the proxy adds `x-moto-account-id` from the 12-digit access key id.
    #[default]
    Moto,
    /// LocalStack: the access key id already selects the account.
    LocalStack,
    /// Anything else (real AWS behind another proxy, a stub): headers passed through unchanged.
    Other,
}

impl std::str::FromStr for UpstreamFlavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "moto" => Ok(UpstreamFlavor::Moto),
            "localstack" => Ok(UpstreamFlavor::LocalStack),
            "other" => Ok(UpstreamFlavor::Other),
            _ => Err(format!(
                "unknown upstream flavor {s:?}: expected moto, localstack or other"
            )),
        }
    }
}

impl UpstreamFlavor {
    /// `moto`, `localstack` or `other` (the journal's `upstream` label).
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamFlavor::Moto => "moto",
            UpstreamFlavor::LocalStack => "localstack",
            UpstreamFlavor::Other => "other",
        }
    }
}

impl std::fmt::Display for UpstreamFlavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Timeout of the calls the models make themselves.
const MODEL_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle upstream connections kept at most per slot (more are closed when they come back).
const POOL_MAX_IDLE: usize = 256;
/// An idle connection not taken again for this long is closed. A request takes the most recently
/// used ready connection, so after a peak of concurrent requests the connections opened for it
/// sit unused; each holds its buffers (~64 KiB with the proxy's allocator), so without a limit a
/// long run at a steady load grows with every new peak (the bench's soak: +1.25 MiB over 5
/// minutes at 256 clients, the open connections rising with it). Closing them keeps the pool at
/// what the last seconds needed.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

thread_local! {
    /// The pool slot of this thread: its serving thread's index (1..=N), 0 on other threads.
    static POOL_SLOT: Cell<usize> = const { Cell::new(0) };
}

/// Makes this thread use pool slot `slot` (serving threads call it once at start).
pub(crate) fn set_pool_slot(slot: usize) {
    POOL_SLOT.with(|s| s.set(slot));
}

/// Idle connections with the time each came back.
type IdleStack = Mutex<Vec<(SendRequest<Full<Bytes>>, Instant)>>;

pub(crate) struct Upstream {
    /// Idle keep-alive connections per slot, most recently used last. Slot 0 serves every
    /// thread that is not a serving thread; a serving thread's slot is only ever locked by it.
    idle: Vec<IdleStack>,
    /// `host:port` to connect to.
    connect_to: String,
    scheme: Scheme,
    authority: Authority,
    /// Path prefix of the upstream URL without trailing slash ("" for the root).
    base_path: String,
    pub host_header: HeaderValue,
    pub flavor: UpstreamFlavor,
    /// Deadline of opening a connection (`Limits::upstream_connect_timeout`).
    connect_timeout: Duration,
    /// `http://host:port/path` without user info, for error messages.
    display: String,
    /// Its place among the main upstream's shards, when that is sharded (`shards.rs`).
    pub shard: Option<ShardPlace>,
    /// Who the shard is (`Shard::about`), for error messages.
    about: String,
}

impl Upstream {
    pub fn new(url: &url::Url, flavor: UpstreamFlavor) -> Result<Upstream, InvalidUpstream> {
        let invalid = |reason: &str| InvalidUpstream {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if url.scheme() != "http" {
            return Err(invalid(
                "not supported: only http:// upstreams (local emulators) are",
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| invalid("the URL has no host"))?;
        let authority: Authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
        .parse()
        .map_err(|_| invalid("the URL has an invalid host"))?;
        let connect_to = format!("{host}:{}", url.port_or_known_default().unwrap_or(80));
        let host_header = HeaderValue::from_str(authority.as_str())
            .map_err(|_| invalid("the host is not a valid Host header"))?;
        let display = format!("http://{authority}{}", url.path().trim_end_matches('/'));
        Ok(Upstream {
            idle: vec![Mutex::new(Vec::new())],
            connect_timeout: crate::limits::UPSTREAM_CONNECT_TIMEOUT,
            display,
            connect_to,
            scheme: Scheme::HTTP,
            host_header,
            authority,
            base_path: url.path().trim_end_matches('/').to_string(),
            flavor,
            shard: None,
            about: String::new(),
        })
    }

    /// The same upstream as shard `number` of `count` (1-based), described by `about`.
    pub fn in_shard(mut self, number: usize, count: usize, about: &str) -> Upstream {
        self.shard = Some(ShardPlace {
            number: u16::try_from(number).unwrap_or(u16::MAX),
            count: u16::try_from(count).unwrap_or(u16::MAX),
        });
        self.about = about.to_string();
        self
    }

    /// For error messages: [`Upstream::display`], and for a shard which one it is
    /// (`http://127.0.0.1:5001 (moto shard 2 of 2: pid 4242, log ...)`).
    pub fn describe(&self) -> String {
        match self.shard {
            None => self.display.clone(),
            Some(place) => {
                let about = if self.about.is_empty() {
                    String::new()
                } else {
                    format!(": {}", self.about)
                };
                format!(
                    "{} ({} shard {} of {}{about})",
                    self.display, self.flavor, place.number, place.count
                )
            }
        }
    }

    /// The same upstream with another connect deadline.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Upstream {
        self.connect_timeout = timeout;
        self
    }

    /// `http://host:port` (and path prefix), never with user info: for messages.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// One idle stack for each of `threads` serving threads besides the shared one.
    pub fn with_serving_threads(mut self, threads: usize) -> Upstream {
        self.idle = (0..=threads).map(|_| Mutex::new(Vec::new())).collect();
        self
    }

    /// This thread's idle stack.
    fn idle_stack(&self) -> &IdleStack {
        let slot = POOL_SLOT.with(Cell::get);
        &self.idle[slot % self.idle.len()]
    }

    /// The upstream URI for a client request's path and query.
    pub fn uri_for(&self, pq: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let pq = pq.map(PathAndQuery::as_str).unwrap_or("/");
        let builder = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone());
        if self.base_path.is_empty() {
            builder.path_and_query(pq).build()
        } else {
            builder
                .path_and_query(format!("{}{pq}", self.base_path))
                .build()
        }
    }

    /// The target a forwarded request gets: origin form (`/path?query`, the way [`Upstream::send`]
    /// sends it) when the upstream URL has no base path, which saves building an absolute URI per
    /// request; otherwise [`Upstream::uri_for`].
    pub fn target_for(&self, pq: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        match pq {
            Some(pq) if self.base_path.is_empty() => Ok(Uri::from(pq.clone())),
            _ => self.uri_for(pq),
        }
    }

    /// Sends `req` (built with [`Upstream::uri_for`]; it goes out in origin form) on a pooled
    /// connection. A request a stale pooled connection could not send at all is sent again on a
    /// new connection.
    pub async fn send(
        &self,
        mut req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        if req.uri().scheme().is_some() {
            let origin = req
                .uri()
                .path_and_query()
                .map(|pq| Uri::from(pq.clone()))
                .unwrap_or_else(|| Uri::from_static("/"));
            *req.uri_mut() = origin;
        }
        if !req.headers().contains_key(http::header::HOST) {
            req.headers_mut()
                .insert(http::header::HOST, self.host_header.clone());
        }
        if let Some(mut sender) = self.checkout() {
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    self.checkin(sender);
                    return Ok(resp);
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) => {
                        tracing::debug!(error = %e.error(), "pooled upstream connection closed; reconnecting");
                        req = unsent;
                    }
                    None => return Err(e.into_error().into()),
                },
            }
        }
        // Boxed: opening a connection is rare, and its future would make every send's larger.
        Box::pin(self.send_on_new_connection(req)).await
    }

    async fn send_on_new_connection(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let mut sender = self.connect().await?;
        let resp = sender.send_request(req).await?;
        self.checkin(sender);
        Ok(resp)
    }

    /// The most recently used idle connection that is ready for a new exchange; closed ones and
    /// ones idle longer than [`POOL_IDLE_TIMEOUT`] are dropped on the way.
    fn checkout(&self) -> Option<SendRequest<Full<Bytes>>> {
        let now = Instant::now();
        let mut idle = self.idle_stack().lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|(s, since)| !s.is_closed() && now.duration_since(*since) < POOL_IDLE_TIMEOUT);
        let at = idle.iter().rposition(|(s, _)| s.is_ready())?;
        Some(idle.swap_remove(at).0)
    }

    fn checkin(&self, sender: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle_stack().lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < POOL_MAX_IDLE {
            idle.push((sender, Instant::now()));
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, UpstreamError> {
        let connect = tokio::net::TcpStream::connect(&self.connect_to);
        let stream = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| UpstreamError::Timeout {
                what: format!("connecting to {}", self.connect_to),
                after: self.connect_timeout,
            })?
            .map_err(|source| UpstreamError::Connect {
                addr: self.connect_to.clone(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = client_http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// An IAM query call on behalf of `account`; returns status and body.
    pub async fn iam(
        &self,
        account: Option<&str>,
        params: &[(&str, &str)],
    ) -> Result<(u16, String), UpstreamError> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.append_pair("Version", Service::IAM.query_version().unwrap_or_default());
            form.finish()
        };
        let action = params
            .iter()
            .find(|(k, _)| *k == "Action")
            .map(|(_, v)| *v)
            .unwrap_or("?");
        self.call(
            account,
            "us-east-1",
            Service::IAM.name(),
            None,
            "application/x-www-form-urlencoded; charset=utf-8",
            body,
        )
        .await
        .map_err(|e| e.within(format!("upstream IAM {action}")))
    }

    /// An ECS (awsJson1_1) call on behalf of `account`; returns status and body.
    pub async fn ecs(
        &self,
        account: Option<&str>,
        region: &str,
        operation: &str,
        body: serde_json::Value,
    ) -> Result<(u16, String), UpstreamError> {
        let prefix = Service::ECS.target_prefix().unwrap_or_default();
        let target = format!("{prefix}.{operation}");
        self.call(
            account,
            region,
            Service::ECS.name(),
            Some(&target),
            "application/x-amz-json-1.1",
            body.to_string(),
        )
        .await
        .map_err(|e| e.within(format!("upstream ECS {operation} in {region}")))
    }

    async fn call(
        &self,
        account: Option<&str>,
        region: &str,
        service: &str,
        target: Option<&str>,
        content_type: &str,
        body: String,
    ) -> Result<(u16, String), UpstreamError> {
        let stamp = amz_date(SystemTime::now());
        let access_key = account.unwrap_or("test");
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/{}/{region}/{service}/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={}",
            &stamp[..8],
            "0".repeat(64)
        );
        let mut req = Request::post(self.uri_for(Some(&PathAndQuery::from_static("/")))?)
            .header(http::header::HOST, self.host_header.clone())
            .header(http::header::CONTENT_TYPE, content_type)
            .header("x-amz-date", &stamp)
            .header(http::header::AUTHORIZATION, auth)
            .body(Full::new(Bytes::from(body)))?;
        if let Some(t) = target {
            req.headers_mut()
                .insert("x-amz-target", HeaderValue::from_str(t)?);
        }
        if let (UpstreamFlavor::Moto, Some(acct)) = (self.flavor, account) {
            req.headers_mut()
                .insert("x-moto-account-id", HeaderValue::from_str(acct)?);
        }
        let fut = async {
            let resp = self.send(req).await?;
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect().await?.to_bytes();
            Ok::<_, UpstreamError>((status, String::from_utf8_lossy(&bytes).into_owned()))
        };
        tokio::time::timeout(MODEL_CALL_TIMEOUT, fut)
            .await
            .map_err(|_| UpstreamError::Timeout {
                what: format!("{service} call"),
                after: MODEL_CALL_TIMEOUT,
            })?
    }
}

/// `YYYYMMDDTHHMMSSZ`.
fn amz_date(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace(['-', ':'], "")
}

/// Guesses the flavor of an upstream: moto answers `/moto-api/config`, LocalStack
/// `/_localstack/health`. Unreachable or neither → `Other`.
pub async fn detect_flavor(url: &url::Url) -> UpstreamFlavor {
    let Ok(up) = Upstream::new(url, UpstreamFlavor::Other) else {
        return UpstreamFlavor::Other;
    };
    for (path, flavor) in [
        ("/moto-api/config", UpstreamFlavor::Moto),
        ("/_localstack/health", UpstreamFlavor::LocalStack),
    ] {
        let Ok(uri) = up.uri_for(Some(&PathAndQuery::from_static(path))) else {
            continue;
        };
        let Ok(req) = Request::get(uri)
            .header(http::header::HOST, up.host_header.clone())
            .body(Full::new(Bytes::new()))
        else {
            continue;
        };
        if let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_secs(3), up.send(req)).await {
            if resp.status().is_success() {
                return flavor;
            }
        }
    }
    UpstreamFlavor::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A server answering 200 "ok" (with `Connection: close` when `close`); counts connections.
    async fn counting_server(close: bool) -> (url::Url, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let conns = Arc::new(AtomicUsize::new(0));
        let counter = conns.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| async move {
                        let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")));
                        if close {
                            resp.headers_mut().insert(
                                http::header::CONNECTION,
                                HeaderValue::from_static("close"),
                            );
                        }
                        Ok::<_, std::convert::Infallible>(resp)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        (url, conns)
    }

    async fn get_ok(up: &Upstream) {
        let req = Request::get(up.uri_for(Some(&PathAndQuery::from_static("/x"))).unwrap())
            .header(http::header::HOST, up.host_header.clone())
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = up.send(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            &resp.into_body().collect().await.unwrap().to_bytes()[..],
            b"ok"
        );
    }

    #[tokio::test]
    async fn pool_reuses_keep_alive_connections() {
        let (url, conns) = counting_server(false).await;
        let up = Upstream::new(&url, UpstreamFlavor::Other).unwrap();
        for _ in 0..5 {
            get_ok(&up).await;
        }
        assert_eq!(conns.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn pool_reconnects_when_the_upstream_closes() {
        let (url, conns) = counting_server(true).await;
        let up = Upstream::new(&url, UpstreamFlavor::Other).unwrap();
        for _ in 0..3 {
            // Right after the answer: the closed connection may still be in the pool.
            get_ok(&up).await;
        }
        assert_eq!(conns.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn uri_building_keeps_base_path() {
        let up = Upstream::new(
            &"http://127.0.0.1:5000".parse().unwrap(),
            UpstreamFlavor::Moto,
        )
        .unwrap();
        let pq = PathAndQuery::from_static("/a?b=c");
        assert_eq!(
            up.uri_for(Some(&pq)).unwrap().to_string(),
            "http://127.0.0.1:5000/a?b=c"
        );
        let up = Upstream::new(&"http://h/base/".parse().unwrap(), UpstreamFlavor::Other).unwrap();
        assert_eq!(
            up.uri_for(Some(&pq)).unwrap().to_string(),
            "http://h/base/a?b=c"
        );
        assert!(Upstream::new(&"https://h".parse().unwrap(), UpstreamFlavor::Other).is_err());
    }

    #[test]
    fn amz_date_format() {
        let d = amz_date(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 + 3_661));
        assert_eq!(d, "19700102T010101Z");
    }

    #[test]
    fn flavor_parsing() {
        assert_eq!(
            "LocalStack".parse::<UpstreamFlavor>().unwrap(),
            UpstreamFlavor::LocalStack
        );
        assert!("x"
            .parse::<UpstreamFlavor>()
            .unwrap_err()
            .contains("moto, localstack or other"));
    }
}
