//! The control API, served on the proxy's own listener under `/_harness/`, so any tool (curl,
//! a Python test, docker-compose users) can drive the proxy the way Rust tests do in-process.
//!
//! | method | path | |
//! |---|---|---|
//! | GET | `/_harness/faults` | the rules, in order (JSON array) |
//! | POST | `/_harness/faults` | replace the rules with a JSON array (`[]` clears) |
//! | PATCH | `/_harness/faults` | append rules |
//! | DELETE | `/_harness/faults[?name=N]` | remove all rules, or those named N |
//! | POST | `/_harness/replay[?by=count\|time][&account=A]` | replace the `replay:*` rules by those of a CloudTrail log file, `lookup-events` output or journal (the body, JSON; not gzipped) |
//! | GET | `/_harness/journal[?account=A]` | the journal (JSON array; headers `x-harness-journal-dropped`, `x-harness-journal-capacity`) |
//! | GET | `/_harness/journal/stats` | `{"capacity", "kept", "dropped"}` |
//! | POST | `/_harness/reset` | back to the start-up state |
//! | GET | `/_harness/presets` | model settings, seed, accepted preset forms |
//! | POST | `/_harness/presets` | apply presets (body `slr-delay=5s`, several separated by spaces, commas or lines) |
//! | GET | `/_harness/health` | `{"status":"ok"}` |
//! | GET, POST, DELETE | `/_harness/accounts...` | leased accounts with presets of their own ([`accounts`]) |
//!
//! LocalStack's Chaos API (`/_localstack/chaos/faults`, `/_localstack/chaos/effects`) is served
//! next to it, unchanged ([`localstack_chaos`]).
//!
//! Bad input answers 400 with `{"error": "..."}` naming what is wrong. Only loopback clients may
//! use it unless the proxy was started with `ControlAccess::Any` (`--control-api any`); others
//! get 403.

mod accounts;
mod localstack_chaos;

use bytes::Bytes;
use std::net::IpAddr;

use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Serialize;

use super::presets::{accepted_forms, Preset};
use super::replay::{self, ReplayBy};
use super::rules::parse_rules;
use super::state::Shared;

pub(crate) const PREFIX: &str = "/_harness/";
/// LocalStack's Chaos API paths.
const CHAOS_PREFIX: &str = "/_localstack/chaos/";
const MAX_CONTROL_BODY: usize = 1024 * 1024;

const ENDPOINTS: &str = "GET|POST|PATCH|DELETE /_harness/faults, POST /_harness/replay[?by=count|time&account=A], GET /_harness/journal[?account=], GET /_harness/journal/stats, POST /_harness/reset, GET|POST /_harness/presets, GET /_harness/health, GET|POST /_harness/accounts, GET|DELETE /_harness/accounts/A, POST /_harness/accounts/A/presets, GET|POST|PATCH|DELETE /_localstack/chaos/faults, GET|POST /_localstack/chaos/effects";

/// Whether a request is for the control API rather than for the emulator.
pub(crate) fn is_control_path(path: &str) -> bool {
    path.starts_with(PREFIX) || path.starts_with(CHAOS_PREFIX)
}

pub(crate) async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
    peer: IpAddr,
) -> Response<Full<Bytes>> {
    if !shared.limits.control_access.allows(peer) {
        return error(
            StatusCode::FORBIDDEN,
            format!("the control API answers loopback clients only, not {peer}; start faultproxy with --control-api any (env HARNESS_CONTROL_API=any) to open it to every client that reaches the listener"),
        );
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_CONTROL_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("control request body over {MAX_CONTROL_BODY} bytes or unreadable"),
            )
        }
    };
    if let Some(sub) = parts.uri.path().strip_prefix(CHAOS_PREFIX) {
        return localstack_chaos::handle(shared, &parts.method, sub, &body);
    }
    harness(shared, &parts, &body)
}

/// The `/_harness/` endpoints.
fn harness(shared: &Shared, parts: &http::request::Parts, body: &Bytes) -> Response<Full<Bytes>> {
    let path = parts.uri.path()[PREFIX.len()..]
        .trim_end_matches('/')
        .to_string();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let text = || std::str::from_utf8(body).map_err(|_| "request body is not UTF-8".to_string());

    match (&parts.method, path.as_str()) {
        (&Method::GET, "faults") => json(StatusCode::OK, &shared.rules.list()),
        (&Method::POST, "faults") | (&Method::PUT, "faults") | (&Method::PATCH, "faults") => {
            let rules = match text().and_then(|t| parse_rules(t).map_err(|e| e.to_string())) {
                Ok(r) => r,
                Err(e) => return error(StatusCode::BAD_REQUEST, e),
            };
            if parts.method == Method::PATCH {
                shared.rules.add(rules);
            } else {
                shared.rules.set(rules);
            }
            json(StatusCode::OK, &shared.rules.list())
        }
        (&Method::DELETE, "faults") => {
            let removed = shared.rules.remove(param("name").as_deref());
            json(StatusCode::OK, &serde_json::json!({ "removed": removed }))
        }
        (&Method::POST, "replay") => replay(shared, param("by"), param("account"), body),
        (&Method::GET, "journal") => journal(shared, param("account").as_deref()),
        (&Method::GET, "journal/stats") => json(StatusCode::OK, &shared.journal.stats()),
        (&Method::DELETE, "journal") => {
            shared.journal.clear();
            json(StatusCode::OK, &serde_json::json!({ "cleared": true }))
        }
        (&Method::POST, "reset") => {
            shared.reset();
            json(StatusCode::OK, &serde_json::json!({ "reset": true }))
        }
        (&Method::GET, "presets") => json(StatusCode::OK, &presets_view(shared)),
        (&Method::POST, "presets") => {
            let presets =
                match text().and_then(|t| Preset::parse_list(t).map_err(|e| e.to_string())) {
                    Ok(p) if !p.is_empty() => p,
                    Ok(_) => {
                        return error(
                            StatusCode::BAD_REQUEST,
                            format!(
                                "no preset in the body. Accepted presets: {}",
                                accepted_forms()
                            ),
                        )
                    }
                    Err(e) => return error(StatusCode::BAD_REQUEST, e),
                };
            // The seed first, so that rule presets in the same request derive from it.
            shared.apply_presets(&presets);
            json(StatusCode::OK, &presets_view(shared))
        }
        (&Method::GET, "health") => json(StatusCode::OK, &serde_json::json!({ "status": "ok" })),
        (method, p) if p == "accounts" || p.starts_with("accounts/") => {
            accounts::handle(shared, method, p, param("account"), param("owner"), text())
        }
        (_, "faults" | "replay" | "journal" | "journal/stats" | "reset" | "presets" | "health") => {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{} not allowed on {PREFIX}{path}; endpoints: {ENDPOINTS}",
                    parts.method
                ),
            )
        }
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no control endpoint {PREFIX}{path}; endpoints: {ENDPOINTS}"),
        ),
    }
}

/// `POST /_harness/replay`: the body's trail as rules, replacing the replay rules of the account.
fn replay(
    shared: &Shared,
    by: Option<String>,
    account: Option<String>,
    body: &Bytes,
) -> Response<Full<Bytes>> {
    let derived = by
        .map_or(Ok(ReplayBy::Count), |b| ReplayBy::parse(&b))
        .and_then(|by| {
            if body.starts_with(&[0x1f, 0x8b]) {
                return Err("the body is gzipped: send the decompressed JSON (gzip -dc FILE | curl --data-binary @- ...)".into());
            }
            let text = std::str::from_utf8(body).map_err(|_| "request body is not UTF-8")?;
            replay::derive(text, by, account.as_deref()).map_err(|e| e.to_string())
        });
    match derived {
        Ok(rules) => {
            let prefix = replay::rule_prefix(account.as_deref());
            shared.rules.replace_prefixed(&prefix, rules);
            json(StatusCode::OK, &shared.rules.list())
        }
        Err(e) => error(StatusCode::BAD_REQUEST, format!("replay: {e}")),
    }
}

/// The journal as a JSON array (the shape its readers parse), its bounds in headers.
fn journal(shared: &Shared, account: Option<&str>) -> Response<Full<Bytes>> {
    let stats = shared.journal.stats();
    let mut resp = json(StatusCode::OK, &shared.journal.entries(account));
    let h = resp.headers_mut();
    h.insert(
        "x-harness-journal-dropped",
        HeaderValue::from(stats.dropped),
    );
    h.insert(
        "x-harness-journal-capacity",
        HeaderValue::from(stats.capacity),
    );
    resp
}

#[derive(Serialize)]
struct PresetsView {
    models: super::models::ModelSettings,
    seed: Option<u64>,
    flavor: super::upstream::UpstreamFlavor,
    /// Per-service routes (`SERVICES=URL@FLAVOR`), empty when everything goes to the upstream.
    routes: Vec<String>,
    /// The main upstream's processes, when it is several (accounts are spread over them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    shards: Vec<String>,
    rules: Vec<String>,
    accepted: &'static str,
}

fn presets_view(shared: &Shared) -> PresetsView {
    PresetsView {
        models: shared.models.settings(),
        seed: shared.rules.global_seed(),
        flavor: shared.flavor(),
        routes: shared.upstreams.routes().to_vec(),
        shards: Some(shared.upstreams.shard_urls())
            .filter(|urls| urls.len() > 1)
            .unwrap_or_default(),
        rules: shared
            .rules
            .list()
            .into_iter()
            .filter_map(|r| r.name)
            .collect(),
        accepted: accepted_forms(),
    }
}

fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "error": message.into() }))
}
