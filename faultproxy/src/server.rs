//! The proxy core: accept HTTP/1.1 connections, run each request through rules, models and the
//! upstream, journal it.
//!
//! It knows no particular fault or model: it executes the [`FaultAction`]s of the first firing
//! rule, lets the models answer or react, and otherwise forwards to the emulator over a pooled
//! connection and streams the answer back. The request body is buffered (AWS API bodies are
//! small, and classification and models need it) up to [`MAX_REQUEST_BODY`]. The hot path takes
//! no lock across an await and allocates only the journal entry's few strings.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::classify::classify;
use super::control;
use super::faults::{FaultAction, FaultContext};
use super::journal::InjectedFault;
use super::models::ModelCx;
use super::rules::info_key;
use super::state::Shared;
use super::upstream::UpstreamFlavor;
use super::wire::{self, AwsError};

/// Largest request body the proxy buffers (AWS API calls are far below; ECR layer parts fit).
pub const MAX_REQUEST_BODY: usize = 32 * 1024 * 1024;

/// Upstream answers up to this size (by `Content-Length`) are buffered, larger ones streamed.
const BUFFERED_RESPONSE_LIMIT: u64 = 1024 * 1024;

/// Response body: the upstream's streamed body, or one the proxy made.
pub(crate) type ProxyBody = Either<Incoming, Full<Bytes>>;

/// Returned by the service to make hyper close the connection without writing a response.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a fault rule")
    }
}
impl std::error::Error for DropConnection {}

/// Accepts connections until `shutdown` changes; each connection also stops then.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Typically EMFILE; back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(shared.clone(), req));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                res = conn => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}

/// One request, end to end.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, DropConnection> {
    if req.uri().path().starts_with(control::PREFIX) {
        return Ok(control::handle(&shared, req).await.map(Either::Right));
    }
    let arrival = shared.journal.arrive();
    let (mut parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            let info = classify(&parts.method, &parts.uri, &parts.headers, b"");
            let err = AwsError::new(
                413,
                "RequestEntityTooLarge",
                format!("request body larger than the proxy's limit of {MAX_REQUEST_BODY} bytes"),
            );
            let resp = wire::error_response(info.protocol, info.service.as_deref(), &err);
            shared.record(&arrival, info, Some(413), None, Some("proxy"));
            return Ok(resp.map(Either::Right));
        }
        // The client went away mid-body: nothing to answer.
        Err(_) => return Err(DropConnection),
    };
    let info = classify(&parts.method, &parts.uri, &parts.headers, &body);

    // 1. Fault rules: the first firing rule wins; latency-only rules add their delay and let
    //    evaluation go on.
    let ruleset = shared.rules.snapshot();
    let mut fault = None;
    let mut next = 0;
    while let Some((index, rule, draw)) =
        ruleset.evaluate_from(next, &info, &shared.events, arrival.instant)
    {
        next = index + 1;
        let cx = FaultContext { info: &info, draw };
        for f in &rule.faults {
            match f.apply(&cx) {
                FaultAction::Delay(d) => tokio::time::sleep(d).await,
                FaultAction::Respond(err) => {
                    let resp = wire::error_response(info.protocol, info.service.as_deref(), &err);
                    let injected = InjectedFault {
                        rule: rule.name.clone(),
                        kind: f.kind().as_str().to_string(),
                        code: Some(err.code),
                    };
                    shared.record(&arrival, info, Some(err.status), Some(injected), None);
                    return Ok(resp.map(Either::Right));
                }
                FaultAction::Drop => {
                    let injected = InjectedFault {
                        rule: rule.name.clone(),
                        kind: f.kind().as_str().to_string(),
                        code: None,
                    };
                    shared.record(&arrival, info, None, Some(injected), None);
                    return Err(DropConnection);
                }
            }
        }
        if fault.is_none() {
            fault = rule.faults.last().map(|f| InjectedFault {
                rule: rule.name.clone(),
                kind: f.kind().as_str().to_string(),
                code: None,
            });
        }
    }

    // 2. Behaviour models may answer themselves.
    let model_settings = shared.models.interested(&info);
    if let Some(settings) = model_settings {
        let cx = ModelCx {
            info: &info,
            body: &body,
            upstream: &shared.upstream,
            settings,
        };
        if let Some(answer) = shared.models.before(&cx).await {
            let status = answer.response.status().as_u16();
            if answer.response.status().is_success() && ruleset.watches(info_key(&info)) {
                shared.events.record(
                    info.account.as_deref(),
                    info_key(&info),
                    std::time::Instant::now(),
                );
            }
            let fault = answer.fault.or(fault);
            shared.record(&arrival, info, Some(status), fault, Some(answer.handled_by));
            return Ok(answer.response.map(Either::Right));
        }
    }

    // 3. Forward.
    let uri = match shared.upstream.uri_for(parts.uri.path_and_query()) {
        Ok(u) => u,
        Err(_) => {
            let err = AwsError::new(400, "InvalidRequest", "request target cannot be forwarded");
            let resp = wire::error_response(info.protocol, info.service.as_deref(), &err);
            shared.record(&arrival, info, Some(400), fault, Some("proxy"));
            return Ok(resp.map(Either::Right));
        }
    };
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::EXPECT);
    parts
        .headers
        .insert(header::HOST, shared.upstream.host_header.clone());
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    if shared.upstream.flavor == UpstreamFlavor::Moto {
        if let Some(acct) = info.account.as_deref() {
            if let Ok(v) = HeaderValue::from_str(acct) {
                parts.headers.insert("x-moto-account-id", v);
            }
        }
    }
    let upstream_req = Request::from_parts(parts, Full::new(body.clone()));
    match shared.upstream.send(upstream_req).await {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            if let Some(settings) = model_settings {
                let cx = ModelCx {
                    info: &info,
                    body: &body,
                    upstream: &shared.upstream,
                    settings,
                };
                shared.models.after(&cx, status).await;
            }
            if resp.status().is_success() && ruleset.watches(info_key(&info)) {
                shared.events.record(
                    info.account.as_deref(),
                    info_key(&info),
                    std::time::Instant::now(),
                );
            }
            strip_hop_by_hop(resp.headers_mut());
            // Small answers (every AWS control-plane call) are read whole before answering:
            // hyper then writes head and body at once, and each request saves the hand-over of
            // the body from the upstream connection's task (see the bench). Others stream.
            let small = resp
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .is_some_and(|n| n <= BUFFERED_RESPONSE_LIMIT);
            let resp = if small {
                let (head, body) = resp.into_parts();
                match body.collect().await {
                    Ok(b) => Response::from_parts(head, Either::Right(Full::new(b.to_bytes()))),
                    Err(e) => {
                        tracing::warn!(error = %e, "upstream answer broke off");
                        shared.record(
                            &arrival,
                            info,
                            None,
                            fault,
                            Some("proxy:upstream-broke-off"),
                        );
                        return Err(DropConnection);
                    }
                }
            } else {
                resp.map(Either::Left)
            };
            shared.record(&arrival, info, Some(status), fault, None);
            Ok(resp)
        }
        Err(e) => {
            tracing::warn!(error = %e, "upstream request failed");
            let err = AwsError::new(
                502,
                "ServiceUnavailable",
                "harness proxy: the emulator behind the proxy did not answer",
            );
            let mut resp = wire::error_response(info.protocol, info.service.as_deref(), &err);
            *resp.status_mut() = StatusCode::BAD_GATEWAY;
            shared.record(
                &arrival,
                info,
                Some(502),
                fault,
                Some("proxy:upstream-unreachable"),
            );
            Ok(resp.map(Either::Right))
        }
    }
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
