//! The control API's leased accounts (scopes.rs): how a `harness run` attached to a running
//! `harness up` gets a fresh account of its own, sets its presets, reads what the account did and
//! gives it back.
//!
//! | method | path | |
//! |---|---|---|
//! | GET | `/_harness/accounts` | `{"leased": [lease...], "leased_total": N}` |
//! | POST | `/_harness/accounts[?account=A][&owner=O]` | lease A (or a fresh account) to O with the presets of the body (may be empty); answers the lease |
//! | GET | `/_harness/accounts/A` | the lease and the rules naming A |
//! | POST | `/_harness/accounts/A/presets` | apply more presets to A alone |
//! | DELETE | `/_harness/accounts/A` | end the lease: A's presets and rules go |
//!
//! A lease is `{"account", "presets", "seed", "leased_unix_ms", "owner"}`. The journal of one account is
//! `GET /_harness/journal?account=A`.

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

use super::{error, json, ENDPOINTS, PREFIX};
use crate::presets::Preset;
use crate::rules::Rule;
use crate::scopes::{Lease, LeaseError};
use crate::state::Shared;

/// A lease with the rules that name its account.
#[derive(Serialize)]
struct LeaseView {
    #[serde(flatten)]
    lease: Lease,
    rules: Vec<Rule>,
}

fn view(shared: &Shared, lease: Lease) -> LeaseView {
    let rules = shared
        .rules
        .list()
        .into_iter()
        .filter(|r| r.account.as_deref() == Some(lease.account.as_str()))
        .collect();
    LeaseView { lease, rules }
}

fn lease_error(e: LeaseError) -> Response<Full<Bytes>> {
    let status = match e {
        LeaseError::BadAccount(_) => StatusCode::BAD_REQUEST,
        LeaseError::Taken(_) => StatusCode::CONFLICT,
        LeaseError::NotLeased(_) => StatusCode::NOT_FOUND,
    };
    error(status, e.to_string())
}

/// `path` is what follows `/_harness/` (`accounts`, `accounts/A`, `accounts/A/presets`);
/// `account` and `owner` the `?account=` and `?owner=` parameters; `text` the body as UTF-8.
pub(super) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    account: Option<String>,
    owner: Option<String>,
    text: Result<&str, String>,
) -> Response<Full<Bytes>> {
    let presets = || {
        text.clone()
            .and_then(|t| Preset::parse_list(t).map_err(|e| e.to_string()))
    };
    let rest: Vec<&str> = path.split('/').skip(1).collect();
    match (method, rest.as_slice()) {
        (&Method::GET, []) => json(
            StatusCode::OK,
            &serde_json::json!({
                "leased": shared.scopes.list(),
                "leased_total": shared.scopes.total(),
            }),
        ),
        (&Method::POST, []) => match presets() {
            Ok(p) => {
                match shared.scopes.lease(
                    account.as_deref(),
                    owner.as_deref(),
                    &p,
                    &shared.rules,
                    &shared.models,
                ) {
                    Ok(lease) => json(StatusCode::CREATED, &view(shared, lease)),
                    Err(e) => lease_error(e),
                }
            }
            Err(e) => error(StatusCode::BAD_REQUEST, e),
        },
        (&Method::GET, [a]) => match shared.scopes.get(a) {
            Some(lease) => json(StatusCode::OK, &view(shared, lease)),
            None => lease_error(LeaseError::NotLeased(a.to_string())),
        },
        (&Method::DELETE, [a]) => match shared.scopes.release(a, &shared.rules, &shared.models) {
            Ok(lease) => json(StatusCode::OK, &lease),
            Err(e) => lease_error(e),
        },
        (&Method::POST, [a, "presets"]) => match presets() {
            Ok(p) if p.is_empty() => error(
                StatusCode::BAD_REQUEST,
                "no preset in the body (e.g. `throttle=20 seed=7`)",
            ),
            Ok(p) => match shared.scopes.apply(a, &p, &shared.rules, &shared.models) {
                Ok(lease) => json(StatusCode::OK, &view(shared, lease)),
                Err(e) => lease_error(e),
            },
            Err(e) => error(StatusCode::BAD_REQUEST, e),
        },
        (_, [] | [_] | [_, "presets"]) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} not allowed on {PREFIX}{path}; endpoints: {ENDPOINTS}"),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no control endpoint {PREFIX}{path}; endpoints: {ENDPOINTS}"),
        ),
    }
}
