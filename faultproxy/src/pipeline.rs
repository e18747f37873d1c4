//! The request pipeline, as small named steps: read the body → classify → inject (fault rules) →
//! models → forward (to the upstream of the request's service, see `routes`) → journal.
//!
//! It knows no particular fault or model: it executes the [`FaultAction`]s of the firing rules,
//! lets the models answer or react, and otherwise forwards to the emulator over a pooled
//! connection and streams the answer back. The request body is buffered (AWS API bodies are
//! small, and classification and models need it) up to the body limit ([`crate::limits`]). The hot path takes
//! no lock across an await and allocates only the journal entry's few strings. Every step that
//! ends the request journals it through [`Call::finish`].

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;

use super::aws::classify::{classify, RequestInfo};
use super::aws::wire::{self, AwsError};
use super::body::{whole_body, WholeBodyError};
use super::control;
use super::deadlines::ConnClock;
use super::faults::{FaultAction, FaultContext};
use super::journal::{Arrival, InjectedFault};
use super::models::{ModelAnswer, ModelCx, ModelSettings, UpstreamAnswer};
use super::rules::{info_key, RuleSet};
use super::state::Shared;
use super::upstream::{Upstream, UpstreamFlavor};

/// Upstream answers up to this size (by `Content-Length`) are buffered, larger ones streamed.
const BUFFERED_RESPONSE_LIMIT: u64 = 1024 * 1024;

/// Response body: the upstream's streamed body, or one the proxy made.
pub(crate) type ProxyBody = Either<Incoming, Full<Bytes>>;

/// What a request ends with: a response, or a closed connection.
pub(crate) type Outcome = Result<Response<ProxyBody>, DropConnection>;

/// Returned by the service to make hyper close the connection without writing a response.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a fault rule")
    }
}
impl std::error::Error for DropConnection {}

/// One classified request on its way through the steps.
struct Call {
    shared: Arc<Shared>,
    arrival: Arrival,
    info: RequestInfo,
    body: Bytes,
    /// The rules as they were when the request arrived.
    ruleset: Arc<RuleSet>,
    /// A latency fault already applied (journaled unless a later step records another).
    fault: Option<InjectedFault>,
    /// Set once the request is journaled; a `Call` dropped before (see `Drop`) journals itself.
    journaled: bool,
    /// Whether a behaviour model looks at the request (its body is read anyway): the journal
    /// then records its resource.
    models_look: bool,
}

/// Who "answered" a request whose client went away first: hyper drops the request's future when
/// the connection closes (an SDK that gave up on its deadline), so no step reaches `finish`.
/// The request still gets its journal entry, with no status.
const CLIENT_GONE: &str = "proxy:client-gone";

impl Drop for Call {
    fn drop(&mut self) {
        if !self.journaled {
            let info = std::mem::take(&mut self.info);
            let fault = self.fault.take();
            self.shared
                .record(&self.arrival, info, None, fault, Some(CLIENT_GONE), None);
        }
    }
}

impl Call {
    /// Journals the request and hands back `outcome`.
    fn finish(
        mut self,
        status: Option<u16>,
        fault: Option<InjectedFault>,
        handled_by: Option<&'static str>,
        outcome: Outcome,
    ) -> Outcome {
        self.journaled = true;
        let resource =
            self.shared
                .journal_resource(&self.info, &self.body, fault.as_ref(), self.models_look);
        let info = std::mem::take(&mut self.info);
        self.shared
            .record(&self.arrival, info, status, fault, handled_by, resource);
        outcome
    }

    /// Answers `err` in the request's protocol.
    fn error_response(&self, err: &AwsError) -> Response<Full<Bytes>> {
        wire::error_response(self.info.protocol, self.info.service, err)
    }

    /// Notes a successful call a window rule waits for.
    fn record_event_if_watched(&self, status: StatusCode) {
        let key = info_key(&self.info);
        if status.is_success() && self.ruleset.watches(key) {
            self.shared
                .events
                .record(self.info.account.as_deref(), key, Instant::now());
        }
    }

    /// The upstream of the request's service (the main one unless a route names it).
    fn upstream(&self) -> &Upstream {
        self.shared.upstreams.for_info(&self.info)
    }

    fn model_cx(&self, settings: ModelSettings) -> ModelCx<'_> {
        ModelCx {
            info: &self.info,
            body: &self.body,
            upstreams: &self.shared.upstreams,
            settings,
        }
    }
}

/// One request, end to end; `peer` is the client's address (the control API checks it).
///
/// The steps off the pass-through path (the control API, the models, a new upstream connection)
/// are boxed futures: an `async fn`'s future is as large as its largest step, and hyper moves the
/// whole future when it takes it (and each step moves its sub-futures into place). Unboxed, this
/// future was 18.5 KB for a pass-through request that needs a few hundred bytes of it.
///
/// `clock` is the connection's: the upstream answer deadline is watched there.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: IpAddr,
    clock: Arc<ConnClock>,
) -> Outcome {
    if control::is_control_path(req.uri().path()) {
        // Boxed, like every step off the pass-through path: see `handle`'s doc.
        let answer = Box::pin(control::handle(&shared, req, peer)).await;
        return Ok(answer.map(Either::Right));
    }
    let arrival = shared.journal.arrive();
    let (parts, body) = req.into_parts();
    if let Some(refused) = check_head_size(&shared, &arrival, &parts) {
        return refused;
    }
    let body = match read_body(&shared, &arrival, &parts, body).await {
        Ok(body) => body,
        Err(outcome) => return outcome,
    };
    let info = classify(&parts.method, &parts.uri, &parts.headers, &body);
    let ruleset = shared.rules.snapshot();
    let mut call = Call {
        shared,
        arrival,
        info,
        body,
        ruleset,
        fault: None,
        journaled: false,
        models_look: false,
    };
    let mut call = match inject(&mut call).await {
        Some(outcome) => return call.finish_injected(outcome),
        None => call,
    };
    let model_settings = call.shared.models.interested(&call.info);
    call.models_look = model_settings.is_some();
    if let Some(settings) = model_settings {
        if let Some(answer) = Box::pin(run_models(&call, settings)).await {
            return call.finish_model(answer);
        }
    }
    forward(call, parts, model_settings, &clock).await
}

/// Step 0: a request head over the header limit answers 431 in the request's protocol (`None`:
/// within the limit, go on).
fn check_head_size(shared: &Shared, arrival: &Arrival, parts: &Parts) -> Option<Outcome> {
    let limit = shared.limits.max_header_bytes;
    let target = parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    // Request line and each `name: value\r\n`, as on the wire.
    let size = parts
        .headers
        .iter()
        .fold(target + 16, |n, (k, v)| n + k.as_str().len() + v.len() + 4);
    if size <= limit {
        return None;
    }
    let err = AwsError::new(
        431,
        "RequestHeaderSectionTooLarge",
        format!("request head of {size} bytes is larger than the proxy's limit of {limit} bytes (faultproxy --max-header-bytes)"),
    );
    Some(refuse(shared, arrival, parts, err))
}

/// Answers `err` before reading the body, in the request's protocol, and journals it.
fn refuse(shared: &Shared, arrival: &Arrival, parts: &Parts, err: AwsError) -> Outcome {
    let info = classify(&parts.method, &parts.uri, &parts.headers, b"");
    let resp = wire::error_response(info.protocol, info.service, &err);
    shared.record(arrival, info, Some(err.status), None, Some("proxy"), None);
    Ok(resp.map(Either::Right))
}

/// Step 1: buffer the body up to the body limit; too large answers 413, a client gone mid-body
/// closes the connection.
async fn read_body(
    shared: &Shared,
    arrival: &Arrival,
    parts: &Parts,
    body: Incoming,
) -> Result<Bytes, Outcome> {
    let limit = shared.limits.max_body_bytes;
    match whole_body(body, limit).await {
        Ok(body) => Ok(body),
        Err(WholeBodyError::TooLarge) => {
            let err = AwsError::new(
                413,
                "RequestEntityTooLarge",
                format!("request body larger than the proxy's limit of {limit} bytes (faultproxy --max-body-bytes)"),
            );
            Err(refuse(shared, arrival, parts, err))
        }
        // The client went away mid-body: nothing to answer.
        Err(_) => Err(Err(DropConnection)),
    }
}

/// A fault that ended the request, to journal.
struct Injected {
    status: Option<u16>,
    fault: InjectedFault,
    outcome: Outcome,
}

impl Call {
    fn finish_injected(self, injected: Injected) -> Outcome {
        let Injected {
            status,
            fault,
            outcome,
        } = injected;
        self.finish(status, Some(fault), None, outcome)
    }
}

/// Step 2: fault rules. The first firing rule wins; latency-only rules add their delay and let
/// evaluation go on. Returns the injected answer, or `None` to go on.
async fn inject(call: &mut Call) -> Option<Injected> {
    let ruleset = call.ruleset.clone();
    let mut next = 0;
    while let Some((index, rule, draw)) = ruleset.evaluate_from(
        next,
        &call.info,
        &call.body,
        &call.shared.events,
        call.arrival.instant,
    ) {
        next = index + 1;
        let cx = FaultContext {
            info: &call.info,
            draw,
        };
        for f in &rule.faults {
            let fault = |code, message| InjectedFault {
                rule: rule.name.clone(),
                kind: f.kind(),
                code,
                message,
            };
            match f.apply(&cx) {
                FaultAction::Delay(d) => tokio::time::sleep(d).await,
                FaultAction::Respond(err) => {
                    let resp = call.error_response(&err);
                    return Some(Injected {
                        status: Some(err.status),
                        fault: fault(Some(err.code), Some(err.message)),
                        outcome: Ok(resp.map(Either::Right)),
                    });
                }
                FaultAction::Drop => {
                    return Some(Injected {
                        status: None,
                        fault: fault(None, None),
                        outcome: Err(DropConnection),
                    })
                }
            }
        }
        if call.fault.is_none() {
            call.fault = rule.faults.last().map(|f| InjectedFault {
                rule: rule.name.clone(),
                kind: f.kind(),
                code: None,
                message: None,
            });
        }
    }
    None
}

/// Step 3: behaviour models may answer themselves (`None`: forward).
async fn run_models(call: &Call, settings: ModelSettings) -> Option<ModelAnswer> {
    let answer = call.shared.models.before(&call.model_cx(settings)).await?;
    call.record_event_if_watched(answer.response.status());
    Some(answer)
}

impl Call {
    fn finish_model(self, answer: ModelAnswer) -> Outcome {
        let status = answer.response.status().as_u16();
        let fault = answer.fault.or_else(|| self.fault.clone());
        let outcome = Ok(answer.response.map(Either::Right));
        self.finish(Some(status), fault, Some(answer.handled_by), outcome)
    }
}

/// Step 4: forward to the upstream, let the models react to its answer, and stream it back.
async fn forward(
    call: Call,
    parts: Parts,
    model_settings: Option<ModelSettings>,
    clock: &ConnClock,
) -> Outcome {
    let Some(upstream_req) = upstream_request(&call, parts) else {
        let err = AwsError::new(400, "InvalidRequest", "request target cannot be forwarded");
        let resp = call.error_response(&err);
        let fault = call.fault.clone();
        return call.finish(Some(400), fault, Some("proxy"), Ok(resp.map(Either::Right)));
    };
    let timeout = call.shared.limits.upstream_answer_timeout;
    // One deadline for the whole exchange (head, then body), watched by the connection's watcher
    // (`deadlines.rs`): no timer of its own per request.
    let deadline = clock.answer_deadline(timeout);
    let sent = deadline.before(call.upstream().send(upstream_req)).await;
    let mut resp = match sent {
        Some(Ok(resp)) => resp,
        Some(Err(e)) => return upstream_unreachable(call, e),
        None => return upstream_timed_out(call, timeout),
    };
    let status = resp.status();
    if let Some(settings) = model_settings {
        let cx = call.model_cx(settings);
        Box::pin(call.shared.models.after(&cx, status.as_u16())).await;
    }
    call.record_event_if_watched(status);
    strip_headers(resp.headers_mut(), is_hop_by_hop);
    let answered = match model_settings {
        Some(settings) => {
            let rewrite = Box::pin(rewrite_by_models(&call, settings, resp));
            let rewritten = deadline.before(rewrite).await;
            rewritten.map(|r| r.map_err(WholeBodyError::Read))
        }
        None => deadline
            .before(buffer_small(resp))
            .await
            .map(|r| r.map(|r| (r, None))),
    };
    let Some(answered) = answered else {
        return upstream_timed_out(call, timeout);
    };
    match answered {
        Ok((resp, model_fault)) => {
            let status = resp.status().as_u16();
            let fault = model_fault.or_else(|| call.fault.clone());
            call.finish(Some(status), fault, None, Ok(resp))
        }
        Err(e) => {
            tracing::warn!(error = %e, "upstream answer broke off");
            let fault = call.fault.clone();
            let handled_by = Some("proxy:upstream-broke-off");
            call.finish(None, fault, handled_by, Err(DropConnection))
        }
    }
}

/// The request as the upstream gets it: its URI, no hop-by-hop headers, its `Host`, the body's
/// length, and the account for moto. `None` when the target cannot be forwarded.
fn upstream_request(call: &Call, mut parts: Parts) -> Option<Request<Full<Bytes>>> {
    let upstream = call.upstream();
    parts.uri = upstream.target_for(parts.uri.path_and_query()).ok()?;
    parts.version = Version::HTTP_11;
    // `Expect` goes too: the proxy has read the body already.
    strip_headers(&mut parts.headers, |n| {
        is_hop_by_hop(n) || n == header::EXPECT
    });
    parts
        .headers
        .insert(header::HOST, upstream.host_header.clone());
    // The body as read; a client's own Content-Length that already says so stays (an SDK request
    // has one: replacing it cost a formatted value and a hashed insert per request).
    let length = call.body.len();
    let declared = parts.headers.get(header::CONTENT_LENGTH);
    if declared.and_then(|v| v.to_str().ok()?.parse::<usize>().ok()) != Some(length) {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if upstream.flavor == UpstreamFlavor::Moto {
        if let Some(v) = call.info.account.as_deref().and_then(moto_account_header) {
            parts.headers.insert(X_MOTO_ACCOUNT_ID.clone(), v);
        }
    }
    Some(Request::from_parts(parts, Full::new(call.body.clone())))
}

/// Small answers (every AWS control-plane call) are read whole before answering: hyper then
/// writes head and body at once, and each request saves the hand-over of the body from the
/// upstream connection's task (see the bench). Others stream.
async fn buffer_small(
    resp: Response<Incoming>,
) -> Result<Response<ProxyBody>, WholeBodyError<hyper::Error>> {
    let small = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n <= BUFFERED_RESPONSE_LIMIT);
    if !small {
        return Ok(resp.map(Either::Left));
    }
    let (head, body) = resp.into_parts();
    // Within its Content-Length (hyper reads no more), so within the limit.
    let bytes = whole_body(body, BUFFERED_RESPONSE_LIMIT as usize).await?;
    Ok(Response::from_parts(head, Either::Right(Full::new(bytes))))
}

/// The models interested in the request read the whole answer and may rewrite it; returns it
/// with the fault a model reported.
async fn rewrite_by_models(
    call: &Call,
    settings: ModelSettings,
    resp: Response<Incoming>,
) -> Result<(Response<ProxyBody>, Option<InjectedFault>), hyper::Error> {
    let (mut head, body) = resp.into_parts();
    let mut answer = UpstreamAnswer {
        status: head.status.as_u16(),
        body: body.collect().await?.to_bytes(),
    };
    let before = answer.body.clone();
    let fault = call
        .shared
        .models
        .on_answer(&call.model_cx(settings), &mut answer);
    if answer.body != before {
        head.headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(answer.body.len()));
    }
    if let Ok(status) = StatusCode::from_u16(answer.status) {
        head.status = status;
    }
    let resp = Response::from_parts(head, Either::Right(Full::new(answer.body)));
    Ok((resp, fault))
}

/// The upstream could not be reached (refused, unresolvable, connect deadline passed, connection
/// broken before an answer): 503 `ServiceUnavailable` in the request's protocol, a status the AWS
/// SDKs retry (standard retry mode, "transient errors": HTTP 500, 502, 503, 504 and the codes
/// `RequestTimeout`, `RequestTimeoutException`, `PriorRequestNotComplete`;
/// <https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html>).
fn upstream_unreachable(call: Call, e: impl std::fmt::Display) -> Outcome {
    tracing::warn!(error = %e, "upstream request failed");
    let message = format!(
        "faultproxy: the emulator at {} did not answer ({e}); is it running?",
        call.upstream().describe()
    );
    let err = AwsError::new(503, "ServiceUnavailable", message);
    proxy_answer(call, &err, "proxy:upstream-unreachable")
}

/// The upstream took longer than the answer deadline: 504 `RequestTimeout` (a transient error by
/// code and by status for the AWS SDKs, same source as above).
fn upstream_timed_out(call: Call, after: Duration) -> Outcome {
    tracing::warn!(?after, "upstream answer timed out");
    let message = format!(
        "faultproxy: the emulator at {} did not answer within {} (faultproxy --upstream-timeout)",
        call.upstream().describe(),
        humantime::format_duration(after)
    );
    let err = AwsError::new(504, "RequestTimeout", message);
    proxy_answer(call, &err, "proxy:upstream-timeout")
}

fn proxy_answer(call: Call, err: &AwsError, handled_by: &'static str) -> Outcome {
    let resp = call.error_response(err);
    let fault = call.fault.clone();
    let status = Some(err.status);
    call.finish(status, fault, Some(handled_by), Ok(resp.map(Either::Right)))
}

/// Removes the headers `strip` picks: the connection-level ones that must not be forwarded
/// ([`is_hop_by_hop`]), and for a request also `Expect`. One pass over the names finds them (AWS
/// requests carry none; an upstream's answer typically `Connection`), and only the names present
/// are removed: no hashed look-up per name.
fn strip_headers(h: &mut HeaderMap, strip: impl Fn(&HeaderName) -> bool) {
    while let Some(name) = h.keys().find(|n| strip(n)).cloned() {
        h.remove(&name);
    }
}

/// Connection-level headers (RFC 9110 §7.6.1).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-authorization"
            | "proxy-authenticate"
            | "keep-alive"
            | "proxy-connection"
    )
}

/// moto serves the account this header names (see `upstream_request`); parsed once, not per
/// request.
static X_MOTO_ACCOUNT_ID: HeaderName = HeaderName::from_static("x-moto-account-id");

/// The `x-moto-account-id` value for `account`: the one this thread built last when it is for
/// the same account (a run's calls come from few accounts, mostly one after another), else a new
/// one. A shared value costs a reference count, a new one a copy and an allocation per request.
fn moto_account_header(account: &str) -> Option<HeaderValue> {
    thread_local! {
        static LAST: RefCell<Option<HeaderValue>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some(v) = last.as_ref().filter(|v| v.as_bytes() == account.as_bytes()) {
            return Some(v.clone());
        }
        let v = HeaderValue::from_str(account).ok()?;
        *last = Some(v.clone());
        Some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_moto_account_header_is_the_account_asked_for() {
        for account in [
            "123456789012",
            "123456789012",
            "210987654321",
            "123456789012",
        ] {
            let v = moto_account_header(account).unwrap();
            assert_eq!(v.as_bytes(), account.as_bytes());
        }
        assert!(moto_account_header("bad\nvalue").is_none());
        assert_eq!(moto_account_header("123456789012").unwrap(), "123456789012");
    }
}
