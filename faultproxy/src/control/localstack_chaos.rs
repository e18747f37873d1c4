//! LocalStack's Chaos API, unchanged, on the proxy's control port, so a LocalStack user's chaos
//! scripts and the examples of LocalStack's docs run against the harness as they are.
//!
//! Source: <https://docs.localstack.cloud/aws/capabilities/chaos-engineering/chaos-api/>
//! (`localstack/localstack-docs`, `src/content/docs/aws/capabilities/chaos-engineering/chaos-api.md`):
//!
//! - `/_localstack/chaos/faults`: a JSON array of rules `{region, service, operation,
//!   probability, error: {statusCode, code}}`, every field optional; rules are evaluated in order
//!   until the first match. GET reads, POST replaces, PATCH adds, DELETE removes the rules that are
//!   exactly equal to one in the body. `[]` disables faults, `[{}]` faults every call. Defaults:
//!   `probability` 1, `statusCode` 503, `code` `ServiceUnavailable`. POST, PATCH and DELETE answer
//!   the configuration now in effect (GET's shape); a rule is returned exactly as it was sent.
//! - `/_localstack/chaos/effects`: `{"latency": ms}` (default 0) added to every call; GET reads,
//!   POST sets, both answer it.
//! - Invalid input answers 400 `{"message": "Error validating JSON schema: ..."}` and changes
//!   nothing (LocalStack's own tests of the Chaos API assert that shape, and that `description`
//!   is accepted, an unknown key is not, `statusCode` is at least 400, `probability` at most 1).
//!
//! The faulted call gets LocalStack's message `Operation failed due to a simulated fault`
//! (LocalStack blog, 2024-08-26, "Simulating outages for local cloud apps with LocalStack Chaos
//! API": `An error occurred (ServiceUnavailable) when calling the Scan operation ...: Operation
//! failed due to a simulated fault`), in the request's own protocol.
//!
//! Mapping: each LocalStack rule becomes one rule of the proxy's store named
//! `localstack-chaos:<the rule's canonical JSON>` (so `/_harness/faults` and the journal show it,
//! and removing "exactly equal" rules is removing by name); the latency effect is the rule
//! `localstack-chaos-effects:latency`. Probabilities draw from the proxy's seed like any rule.

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value};

use super::{json, ENDPOINTS};
use crate::rules::Rule;
use crate::state::Shared;

/// Name prefix of the fault rules set through this API.
const FAULT_PREFIX: &str = "localstack-chaos:";
/// Name of the latency effect's rule.
const LATENCY_RULE: &str = "localstack-chaos-effects:latency";
/// LocalStack's message for a simulated fault.
const FAULT_MESSAGE: &str = "Operation failed due to a simulated fault";

/// Serves `sub` (the path after `/_localstack/chaos/`).
pub(super) fn handle(
    shared: &Shared,
    method: &Method,
    sub: &str,
    body: &Bytes,
) -> Response<Full<Bytes>> {
    let result = match (method, sub.trim_end_matches('/')) {
        (&Method::GET, "faults") => Ok(faults_view(shared)),
        (&Method::POST, "faults") => parse_faults(body).map(|rules| {
            set_faults(shared, rules);
            faults_view(shared)
        }),
        (&Method::PATCH, "faults") => parse_faults(body).map(|rules| {
            let mut all = current_faults(shared);
            all.extend(rules);
            set_faults(shared, all);
            faults_view(shared)
        }),
        (&Method::DELETE, "faults") => parse_faults(body).map(|gone| {
            let kept = current_faults(shared)
                .into_iter()
                .filter(|r| !gone.contains(r))
                .collect();
            set_faults(shared, kept);
            faults_view(shared)
        }),
        (&Method::GET, "effects") => Ok(effects_view(shared)),
        (&Method::POST, "effects") => parse_effects(body).map(|latency| {
            set_latency(shared, latency);
            effects_view(shared)
        }),
        (_, "faults" | "effects") => {
            return message(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} not allowed on /_localstack/chaos/{sub}; endpoints: {ENDPOINTS}"),
            )
        }
        _ => {
            return message(
                StatusCode::NOT_FOUND,
                format!("no endpoint /_localstack/chaos/{sub}; endpoints: {ENDPOINTS}"),
            )
        }
    };
    match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err(e) => message(
            StatusCode::BAD_REQUEST,
            format!("Error validating JSON schema: {e}"),
        ),
    }
}

/// LocalStack's error shape.
fn message(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "message": text }))
}

/// The LocalStack rules in effect, in order, as they were sent.
fn current_faults(shared: &Shared) -> Vec<Value> {
    shared
        .rules
        .list()
        .into_iter()
        .filter_map(|r| {
            let name = r.name?;
            serde_json::from_str(name.strip_prefix(FAULT_PREFIX)?).ok()
        })
        .collect()
}

fn faults_view(shared: &Shared) -> Value {
    Value::Array(current_faults(shared))
}

/// Replaces the LocalStack rules (validated) by `rules`, keeping their place among other rules.
fn set_faults(shared: &Shared, rules: Vec<Value>) {
    let rules = rules.iter().map(to_rule).collect();
    shared.rules.replace_prefixed(FAULT_PREFIX, rules);
}

/// The proxy rule for a validated LocalStack rule.
fn to_rule(chaos: &Value) -> Rule {
    // serde_json's map is ordered by key: the same rule always gets the same name.
    let mut rule = Rule::named(format!("{FAULT_PREFIX}{chaos}"));
    let field = |k: &str| chaos.get(k).and_then(Value::as_str).map(str::to_string);
    rule.service = field("service");
    rule.region = field("region");
    rule.operation = field("operation");
    rule.probability = chaos.get("probability").and_then(Value::as_f64);
    let error = chaos.get("error");
    let status = error
        .and_then(|e| e.get("statusCode"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(503);
    let code = error
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("ServiceUnavailable");
    rule.with_error(status, code, FAULT_MESSAGE)
}

fn effects_view(shared: &Shared) -> Value {
    let latency = shared
        .rules
        .list()
        .into_iter()
        .find(|r| r.name.as_deref() == Some(LATENCY_RULE))
        .and_then(|r| r.latency.map(|l| l.ms))
        .unwrap_or(0);
    serde_json::json!({ "latency": latency })
}

fn set_latency(shared: &Shared, ms: u64) {
    let rules = if ms == 0 {
        vec![]
    } else {
        vec![Rule::named(LATENCY_RULE).with_latency(ms, 0)]
    };
    shared.rules.replace_prefixed(LATENCY_RULE, rules);
}

/// A JSON array of valid LocalStack rules (a single object is not accepted, as in LocalStack).
fn parse_faults(body: &[u8]) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not JSON ({e}); expected an array of fault rules"))?;
    let Value::Array(rules) = value else {
        return Err(format!("{} is not of type 'array'", short(&value)));
    };
    for rule in &rules {
        validate_rule(rule)?;
    }
    Ok(rules)
}

/// LocalStack's rule schema (its keys, their patterns and ranges).
fn validate_rule(rule: &Value) -> Result<(), String> {
    let Value::Object(map) = rule else {
        return Err(format!("{} is not of type 'object'", short(rule)));
    };
    only_keys(
        map,
        &[
            "region",
            "service",
            "operation",
            "probability",
            "error",
            "description",
        ],
    )?;
    pattern(map, "region", "^[a-z0-9-]+$", |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    })?;
    pattern(map, "service", "^[a-z0-9_-]+$", |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
    })?;
    pattern(map, "operation", "^[A-Za-z]+$", |c| c.is_ascii_alphabetic())?;
    // Beyond LocalStack's schema: a rule naming an operation its service lacks never fires.
    if let Some(service) = map.get("service").and_then(Value::as_str) {
        crate::rules::check_operation(service, map.get("operation").and_then(Value::as_str))?;
    }
    if let Some(d) = map.get("description") {
        if !d.is_string() {
            return Err(format!("{} is not of type 'string'", short(d)));
        }
    }
    if let Some(p) = map.get("probability") {
        let Some(x) = p.as_f64() else {
            return Err(format!("{} is not of type 'number'", short(p)));
        };
        if x < 0.0 {
            return Err(format!("{p} is less than the minimum of 0"));
        }
        if x > 1.0 {
            return Err(format!("{p} is greater than the maximum of 1"));
        }
    }
    match map.get("error") {
        None => Ok(()),
        Some(Value::Object(e)) => validate_error(e),
        Some(other) => Err(format!("{} is not of type 'object'", short(other))),
    }
}

fn validate_error(e: &Map<String, Value>) -> Result<(), String> {
    only_keys(e, &["statusCode", "code"])?;
    if let Some(s) = e.get("statusCode") {
        let Some(n) = s.as_u64() else {
            return Err(format!("{} is not of type 'integer'", short(s)));
        };
        if n < 400 {
            return Err(format!("{n} is less than the minimum of 400"));
        }
        if n > 599 {
            return Err(format!("{n} is greater than the maximum of 599"));
        }
    }
    pattern(e, "code", "^[A-Za-z0-9._-]+$", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    })
}

fn only_keys(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "Additional properties are not allowed ({k:?} was unexpected); allowed: {}",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

/// A string field, when present, must be non-empty and made of `ok` characters.
fn pattern(
    map: &Map<String, Value>,
    key: &str,
    shown: &str,
    ok: impl Fn(char) -> bool,
) -> Result<(), String> {
    match map.get(key) {
        None => Ok(()),
        Some(Value::String(s)) if !s.is_empty() && s.chars().all(ok) => Ok(()),
        Some(Value::String(s)) => Err(format!("{key}: {s:?} does not match {shown:?}")),
        Some(other) => Err(format!("{key}: {} is not of type 'string'", short(other))),
    }
}

/// `{"latency": ms}`, a whole number of milliseconds (0 turns it off).
fn parse_effects(body: &[u8]) -> Result<u64, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not JSON ({e}); expected {{\"latency\": ms}}"))?;
    let Value::Object(map) = value else {
        return Err(format!("{} is not of type 'object'", short(&value)));
    };
    only_keys(&map, &["latency"])?;
    match map.get("latency") {
        None => Ok(0),
        Some(v) => v.as_u64().ok_or_else(|| {
            format!(
                "latency: {} is not a whole number of milliseconds >= 0",
                short(v)
            )
        }),
    }
}

/// A value for an error message, cut to a readable length.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_localstacks_schema() {
        for ok in [
            "[]",
            "[{}]",
            r#"[{"region": "placeholder", "service": "acm-pca"}]"#,
            r#"[{"service": "cognito_identity", "operation": "GetId", "probability": 0.0}]"#,
            r#"[{"service": "s3", "operation": "GetBucketPolicy"}]"#,
            r#"[{"error": {}}, {"error": {"statusCode": 400, "code": "BrainFry"}}]"#,
            r#"[{"description": "An empty rule that causes a global outage"}]"#,
        ] {
            parse_faults(ok.as_bytes()).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, says) in [
            (
                r#"[{"region": "s3", "foo": "bar"}]"#,
                "\"foo\" was unexpected",
            ),
            (r#"[{"region": "us*"}]"#, "does not match"),
            (r#"[{"region": ""}]"#, "does not match"),
            (r#"[{"operation": "Put42Items"}]"#, "does not match"),
            (
                r#"[{"service": "cognito_identity", "operation": "DoSomething"}]"#,
                "service cognito-identity has no operation \"DoSomething\"; did you mean",
            ),
            (r#"[{"service": "lamda"}]"#, "did you mean \"lambda\""),
            (
                r#"[{"probability": 1.1}]"#,
                "1.1 is greater than the maximum of 1",
            ),
            (r#"[{"error": {"blah": 814}}]"#, "\"blah\" was unexpected"),
            (
                r#"[{"error": {"statusCode": 300}}]"#,
                "300 is less than the minimum of 400",
            ),
            (r#"[{"error": {"code": ""}}]"#, "does not match"),
            (r#"{"service": "ecs"}"#, "is not of type 'array'"),
            ("[{", "not JSON"),
        ] {
            let e = parse_faults(bad.as_bytes()).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn defaults_are_503_service_unavailable_always() {
        let r = to_rule(&serde_json::json!({}));
        let e = r.error.as_ref().unwrap();
        assert_eq!(
            (e.status_code, e.code.as_str()),
            (503, "ServiceUnavailable")
        );
        assert_eq!(e.message.as_deref(), Some(FAULT_MESSAGE));
        assert_eq!(r.probability, None);
        assert!(r.validate().is_ok());
        let r = to_rule(
            &serde_json::json!({"service": "kinesis", "operation": "PutRecord",
            "probability": 0.3, "error": {"statusCode": 400, "code": "ProvisionedThroughputExceededException"}}),
        );
        assert_eq!(r.probability, Some(0.3));
        assert_eq!(r.error.unwrap().status_code, 400);
        assert_eq!(r.name.unwrap(), "localstack-chaos:{\"error\":{\"code\":\"ProvisionedThroughputExceededException\",\"statusCode\":400},\"operation\":\"PutRecord\",\"probability\":0.3,\"service\":\"kinesis\"}");
    }

    #[test]
    fn effects_take_a_latency_in_ms() {
        assert_eq!(parse_effects(br#"{"latency": 5000}"#).unwrap(), 5000);
        assert_eq!(parse_effects(b"{}").unwrap(), 0);
        assert!(parse_effects(br#"{"latency": -1}"#)
            .unwrap_err()
            .contains("latency"));
        assert!(parse_effects(br#"{"jitter": 1}"#)
            .unwrap_err()
            .contains("\"jitter\" was unexpected"));
    }
}
