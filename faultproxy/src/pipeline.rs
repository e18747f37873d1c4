//! The request pipeline, as small named steps: read the body → classify → inject (fault rules) →
//! models → forward → journal.
//!
//! It knows no particular fault or model: it executes the [`FaultAction`]s of the firing rules,
//! lets the models answer or react, and otherwise forwards to the emulator over a pooled
//! connection and streams the answer back. The request body is buffered (AWS API bodies are
//! small, and classification and models need it) up to [`MAX_REQUEST_BODY`]. The hot path takes
//! no lock across an await and allocates only the journal entry's few strings. Every step that
//! ends the request journals it through [`Call::finish`].

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::aws::classify::{classify, RequestInfo};
use super::aws::wire::{self, AwsError};
use super::control;
use super::faults::{FaultAction, FaultContext};
use super::journal::{Arrival, InjectedFault};
use super::models::{ModelAnswer, ModelCx, ModelSettings, UpstreamAnswer};
use super::rules::{info_key, RuleSet};
use super::state::Shared;
use super::upstream::UpstreamFlavor;

/// Largest request body the proxy buffers (AWS API calls are far below; ECR layer parts fit).
pub const MAX_REQUEST_BODY: usize = 32 * 1024 * 1024;

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
}

impl Call {
    /// Journals the request and hands back `outcome`.
    fn finish(
        self,
        status: Option<u16>,
        fault: Option<InjectedFault>,
        handled_by: Option<&str>,
        outcome: Outcome,
    ) -> Outcome {
        self.shared
            .record(&self.arrival, self.info, status, fault, handled_by);
        outcome
    }

    /// Answers `err` in the request's protocol.
    fn error_response(&self, err: &AwsError) -> Response<Full<Bytes>> {
        wire::error_response(self.info.protocol, self.info.service.as_deref(), err)
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

    fn model_cx(&self, settings: ModelSettings) -> ModelCx<'_> {
        ModelCx {
            info: &self.info,
            body: &self.body,
            upstream: &self.shared.upstream,
            settings,
        }
    }
}

/// One request, end to end.
pub(crate) async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Outcome {
    if req.uri().path().starts_with(control::PREFIX) {
        return Ok(control::handle(&shared, req).await.map(Either::Right));
    }
    let arrival = shared.journal.arrive();
    let (parts, body) = req.into_parts();
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
    };
    let call = match inject(&mut call).await {
        Some(outcome) => return call.finish_injected(outcome),
        None => call,
    };
    let model_settings = call.shared.models.interested(&call.info);
    if let Some(settings) = model_settings {
        if let Some(answer) = run_models(&call, settings).await {
            return call.finish_model(answer);
        }
    }
    forward(call, parts, model_settings).await
}

/// Step 1: buffer the body up to [`MAX_REQUEST_BODY`]; too large answers 413, a client gone
/// mid-body closes the connection.
async fn read_body(
    shared: &Shared,
    arrival: &Arrival,
    parts: &Parts,
    body: Incoming,
) -> Result<Bytes, Outcome> {
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => {
            let info = classify(&parts.method, &parts.uri, &parts.headers, b"");
            let err = AwsError::new(
                413,
                "RequestEntityTooLarge",
                format!("request body larger than the proxy's limit of {MAX_REQUEST_BODY} bytes"),
            );
            let resp = wire::error_response(info.protocol, info.service.as_deref(), &err);
            shared.record(arrival, info, Some(413), None, Some("proxy"));
            Err(Ok(resp.map(Either::Right)))
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
    while let Some((index, rule, draw)) =
        ruleset.evaluate_from(next, &call.info, &call.shared.events, call.arrival.instant)
    {
        next = index + 1;
        let cx = FaultContext {
            info: &call.info,
            draw,
        };
        for f in &rule.faults {
            let fault = |code| InjectedFault {
                rule: rule.name.clone(),
                kind: f.kind(),
                code,
            };
            match f.apply(&cx) {
                FaultAction::Delay(d) => tokio::time::sleep(d).await,
                FaultAction::Respond(err) => {
                    let resp = call.error_response(&err);
                    return Some(Injected {
                        status: Some(err.status),
                        fault: fault(Some(err.code)),
                        outcome: Ok(resp.map(Either::Right)),
                    });
                }
                FaultAction::Drop => {
                    return Some(Injected {
                        status: None,
                        fault: fault(None),
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
async fn forward(call: Call, parts: Parts, model_settings: Option<ModelSettings>) -> Outcome {
    let Some(upstream_req) = upstream_request(&call, parts) else {
        let err = AwsError::new(400, "InvalidRequest", "request target cannot be forwarded");
        let resp = call.error_response(&err);
        let fault = call.fault.clone();
        return call.finish(Some(400), fault, Some("proxy"), Ok(resp.map(Either::Right)));
    };
    let mut resp = match call.shared.upstream.send(upstream_req).await {
        Ok(resp) => resp,
        Err(e) => return upstream_unreachable(call, e),
    };
    let status = resp.status();
    if let Some(settings) = model_settings {
        call.shared
            .models
            .after(&call.model_cx(settings), status.as_u16())
            .await;
    }
    call.record_event_if_watched(status);
    strip_hop_by_hop(resp.headers_mut());
    let answered = match model_settings {
        Some(settings) => rewrite_by_models(&call, settings, resp).await,
        None => buffer_small(resp).await.map(|r| (r, None)),
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
    let upstream = &call.shared.upstream;
    parts.uri = upstream.uri_for(parts.uri.path_and_query()).ok()?;
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::EXPECT);
    parts
        .headers
        .insert(header::HOST, upstream.host_header.clone());
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(call.body.len()));
    if upstream.flavor == UpstreamFlavor::Moto {
        if let Some(acct) = call.info.account.as_deref() {
            if let Ok(v) = HeaderValue::from_str(acct) {
                parts.headers.insert("x-moto-account-id", v);
            }
        }
    }
    Some(Request::from_parts(parts, Full::new(call.body.clone())))
}

/// Small answers (every AWS control-plane call) are read whole before answering: hyper then
/// writes head and body at once, and each request saves the hand-over of the body from the
/// upstream connection's task (see the bench). Others stream.
async fn buffer_small(resp: Response<Incoming>) -> Result<Response<ProxyBody>, hyper::Error> {
    let small = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n <= BUFFERED_RESPONSE_LIMIT);
    if !small {
        return Ok(resp.map(Either::Left));
    }
    let (head, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
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

/// The upstream did not answer: 502 in the request's protocol.
fn upstream_unreachable(call: Call, e: impl std::fmt::Display) -> Outcome {
    tracing::warn!(error = %e, "upstream request failed");
    let err = AwsError::new(
        502,
        "ServiceUnavailable",
        "harness proxy: the emulator behind the proxy did not answer",
    );
    let mut resp = call.error_response(&err);
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    let fault = call.fault.clone();
    let handled_by = Some("proxy:upstream-unreachable");
    call.finish(Some(502), fault, handled_by, Ok(resp.map(Either::Right)))
}

/// Connection-level headers that must not be forwarded (RFC 9110 §7.6.1).
fn strip_hop_by_hop(h: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        h.remove(name);
    }
    h.remove("keep-alive");
    h.remove("proxy-connection");
}
