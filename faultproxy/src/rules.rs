//! Fault rules: which requests get which fault, and when.
//!
//! A rule is a match (service / operation / account / region, omitted = any), a trigger
//! (probability with a seed, the first N matches, every match after the first N, a time window
//! after an observed event in the same account — all optional, all must hold) and an effect
//! (AWS error, throttling, dropped connection, latency). Rules are evaluated in order; the first
//! rule that matches *and* whose trigger fires wins. The one exception: a rule whose only effect
//! is latency adds its delay and lets evaluation go on, so `latency` composes with `throttle` or
//! `flaky`. Rules only see AWS API calls (requests whose
//! service could be classified); anything else is forwarded untouched. The JSON form is a superset of the LocalStack
//! Chaos API's fault rule (`service`, `operation`, `region`, `probability`,
//! `error: {statusCode, code}`), so users can reuse theirs.
//!
//! Determinism: the probability draw is not a shared random stream but a hash of (rule seed,
//! service/operation, how many times this rule has matched that service/operation). The same seed
//! and the same per-operation request sequence give the same decisions even when independent
//! calls interleave differently across runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::classify::RequestInfo;
use super::faults::{DropFault, ErrorFault, Fault, LatencyFault, ThrottleFault};
use super::wire::AwsError;

/// One fault rule. JSON field names are the ones shown; all are optional except that a rule needs
/// at least one effect (`error`, `throttle`, `drop`, `latency`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name; assigned (`rule-N`) when omitted. Used in the journal and by `DELETE ?name=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ecs`, `ecr`, `logs`, `iam`, `ec2`, `sts` (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Operation name, e.g. `CreateService`; a trailing `*` matches a prefix (`Create*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// 12-digit account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Chance (0.0–1.0) that a matching request is hit. Omitted = always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the probability draws and the latency jitter. Omitted = the proxy's global seed
    /// (mixed with the rule name), or a random seed if there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Fire only on the first N matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// Fire on every match after the first N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Fire only within a time window after an event observed in the same account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Effect: answer with this AWS error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSpec>,
    /// Message for `error` (if it has none) and `throttle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Effect: delay (may be combined with one of the other effects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySpec>,
    /// Effect: close the connection without a response.
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop: bool,
    /// Effect: the service's own throttling error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub throttle: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An AWS error effect, LocalStack-compatible (`statusCode`, `code`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    #[serde(
        rename = "statusCode",
        alias = "status_code",
        alias = "status",
        default = "default_error_status"
    )]
    pub status_code: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn default_error_status() -> u16 {
    400
}

/// Added latency: `ms` plus a uniform jitter in `[-jitter_ms, +jitter_ms]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    pub ms: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jitter_ms: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// A time window opened by a successful call in the same account, e.g.
/// `{"after": "ecs:CreateCluster", "duration": "20s"}` (or `"duration_ms": 20000`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// `service:Operation` whose 2xx answer opens the window (the latest one counts).
    pub after: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl Window {
    fn parsed(&self) -> Result<(String, String, Duration), String> {
        let (svc, op) = self
            .after
            .split_once(':')
            .filter(|(s, o)| !s.is_empty() && !o.is_empty())
            .ok_or_else(|| {
                format!(
                    "window.after must be \"service:Operation\" (e.g. \"ecs:CreateCluster\"), got {:?}",
                    self.after
                )
            })?;
        let duration = match (&self.duration, self.duration_ms) {
            (Some(d), None) => humantime::parse_duration(d).map_err(|e| {
                format!("window.duration {d:?} is not a duration like \"20s\" or \"500ms\": {e}")
            })?,
            (None, Some(ms)) => Duration::from_millis(ms),
            _ => return Err("window needs exactly one of \"duration\" or \"duration_ms\"".into()),
        };
        Ok((normalize_service(svc), op.to_string(), duration))
    }
}

/// Why a rule set was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("invalid fault rules JSON at line {line} column {column}: {message} (expected a JSON array of rules, or one rule object)")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid fault rule #{index}{}: {reason}", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Invalid {
        index: usize,
        name: Option<String>,
        reason: String,
    },
}

/// Parses a JSON array of rules (or a single rule object) and validates every rule.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, RuleError> {
    let trimmed = text.trim_start();
    // Parse with the shape the text announces (an untagged enum would hide the real error).
    let rules = if trimmed.starts_with('{') {
        serde_json::from_str::<Rule>(text).map(|r| vec![r])
    } else {
        serde_json::from_str::<Vec<Rule>>(text)
    };
    let rules = rules.map_err(|e| RuleError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    validate_all(&rules)?;
    Ok(rules)
}

/// Validates every rule; the error names the rule's index (1-based) and name.
pub fn validate_all(rules: &[Rule]) -> Result<(), RuleError> {
    for (i, r) in rules.iter().enumerate() {
        r.validate().map_err(|reason| RuleError::Invalid {
            index: i + 1,
            name: r.name.clone(),
            reason,
        })?;
    }
    Ok(())
}

impl Rule {
    /// A rule with a name and nothing else; add match, trigger and effect with the `with_*` and
    /// `for_*` builders.
    pub fn named(name: impl Into<String>) -> Rule {
        Rule {
            name: Some(name.into()),
            ..Rule::default()
        }
    }
    pub fn for_service(mut self, service: impl Into<String>) -> Rule {
        self.service = Some(service.into());
        self
    }
    pub fn for_operation(mut self, operation: impl Into<String>) -> Rule {
        self.operation = Some(operation.into());
        self
    }
    pub fn for_account(mut self, account: impl Into<String>) -> Rule {
        self.account = Some(account.into());
        self
    }
    pub fn for_region(mut self, region: impl Into<String>) -> Rule {
        self.region = Some(region.into());
        self
    }
    pub fn with_probability(mut self, probability: f64, seed: Option<u64>) -> Rule {
        self.probability = Some(probability);
        self.seed = seed;
        self
    }
    pub fn with_first(mut self, n: u64) -> Rule {
        self.first = Some(n);
        self
    }
    pub fn with_after(mut self, n: u64) -> Rule {
        self.after = Some(n);
        self
    }
    /// Window after `event` (`"ecs:CreateCluster"`) succeeded in the same account.
    pub fn with_window(mut self, event: impl Into<String>, duration: Duration) -> Rule {
        self.window = Some(Window {
            after: event.into(),
            duration: None,
            duration_ms: Some(duration.as_millis() as u64),
        });
        self
    }
    pub fn with_error(
        mut self,
        status: u16,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Rule {
        self.error = Some(ErrorSpec {
            status_code: status,
            code: code.into(),
            message: Some(message.into()),
        });
        self
    }
    pub fn with_latency(mut self, ms: u64, jitter_ms: u64) -> Rule {
        self.latency = Some(LatencySpec { ms, jitter_ms });
        self
    }
    pub fn with_drop(mut self) -> Rule {
        self.drop = true;
        self
    }
    pub fn with_throttle(mut self) -> Rule {
        self.throttle = true;
        self
    }

    /// Checks the rule is meaningful; the error says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) || p.is_nan() {
                return Err(format!("probability must be between 0.0 and 1.0, got {p}"));
            }
        }
        let terminal = [self.error.is_some(), self.throttle, self.drop]
            .iter()
            .filter(|b| **b)
            .count();
        if terminal > 1 {
            return Err("at most one of \"error\", \"throttle\", \"drop\" per rule".into());
        }
        if terminal == 0 && self.latency.is_none() {
            return Err(
                "a rule needs an effect: \"error\": {\"statusCode\", \"code\"}, \"throttle\": true, \"drop\": true or \"latency\": {\"ms\"}"
                    .into(),
            );
        }
        if let Some(e) = &self.error {
            if !(100..=599).contains(&e.status_code) {
                return Err(format!(
                    "error.statusCode must be an HTTP status (100-599), got {}",
                    e.status_code
                ));
            }
            if e.code.trim().is_empty() {
                return Err("error.code must not be empty".into());
            }
        }
        if let Some(w) = &self.window {
            w.parsed()?;
        }
        if let Some(a) = &self.account {
            if !super::classify::is_account_id(a) {
                return Err(format!("account must be a 12-digit account id, got {a:?}"));
            }
        }
        if let Some(n) = &self.name {
            if n.is_empty() {
                return Err("name must not be empty".into());
            }
        }
        Ok(())
    }

    /// Short description of the effect for the journal (`error`, `throttle`, `drop`, `latency`).
    pub fn effect_kind(&self) -> &'static str {
        if self.error.is_some() {
            "error"
        } else if self.throttle {
            "throttle"
        } else if self.drop {
            "drop"
        } else {
            "latency"
        }
    }
}

/// Canonical service names; accepts a few aliases users type.
pub(crate) fn normalize_service(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "cloudwatchlogs" | "cloudwatch-logs" | "cloudwatch_logs" => "logs".into(),
        _ => lower,
    }
}

/// Identifies a `service:Operation` pair without allocating (FNV-1a).
pub(crate) type EventKey = u64;

pub(crate) fn event_key(service: &str, operation: &str) -> EventKey {
    let mut h = Fnv::new();
    for b in service.bytes() {
        h.write(b.to_ascii_lowercase());
    }
    h.write(b':');
    for b in operation.bytes() {
        h.write(b);
    }
    h.finish()
}

pub(crate) fn info_key(info: &RequestInfo) -> EventKey {
    event_key(
        info.service.as_deref().unwrap_or(""),
        info.operation.as_deref().unwrap_or(""),
    )
}

struct Fnv(u64);
impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, b: u8) {
        self.0 ^= b as u64;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) fn fnv_str(s: &str) -> u64 {
    let mut h = Fnv::new();
    s.bytes().for_each(|b| h.write(b));
    h.finish()
}

/// SplitMix64: a fast, well-mixed function from a 64-bit input to a 64-bit output.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Latest time each watched event succeeded, per account.
#[derive(Default)]
pub(crate) struct EventLog {
    inner: Mutex<HashMap<String, Vec<(EventKey, Instant)>>>,
}

impl EventLog {
    pub fn record(&self, account: Option<&str>, key: EventKey, at: Instant) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let list = map.entry(account.unwrap_or("").to_string()).or_default();
        match list.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = at,
            None => list.push((key, at)),
        }
    }
    pub fn last(&self, account: Option<&str>, key: EventKey) -> Option<Instant> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(account.unwrap_or(""))?
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, t)| *t)
    }
    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A rule ready to evaluate: its faults built, its seed resolved, its counters.
pub(crate) struct ActiveRule {
    pub rule: Rule,
    pub name: String,
    service: Option<String>,
    seed: u64,
    window: Option<(EventKey, Duration)>,
    pub faults: Vec<Box<dyn Fault>>,
    counters: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    matches: u64,
    per_operation: HashMap<EventKey, u64>,
}

impl ActiveRule {
    fn new(mut rule: Rule, name: String, global_seed: Option<u64>) -> ActiveRule {
        rule.name = Some(name.clone());
        let seed = match (rule.seed, global_seed) {
            (Some(s), _) => s,
            (None, Some(g)) => splitmix64(g ^ fnv_str(&name)),
            (None, None) => rand::random(),
        };
        let window = rule
            .window
            .as_ref()
            .and_then(|w| w.parsed().ok())
            .map(|(s, o, d)| (event_key(&s, &o), d));
        ActiveRule {
            service: rule.service.as_deref().map(normalize_service),
            faults: build_faults(&rule),
            rule,
            name,
            seed,
            window,
            counters: Mutex::new(Counters::default()),
        }
    }

    fn matches(&self, info: &RequestInfo) -> bool {
        fn eq(want: &Option<String>, got: &Option<String>) -> bool {
            match want {
                None => true,
                Some(w) => got.as_deref() == Some(w.as_str()),
            }
        }
        // Rules apply to AWS API calls only: health checks and emulator APIs pass untouched.
        if info.service.is_none() {
            return false;
        }
        if let Some(svc) = &self.service {
            if info.service.as_deref() != Some(svc.as_str()) {
                return false;
            }
        }
        if let Some(op) = &self.rule.operation {
            let Some(got) = info.operation.as_deref() else {
                return false;
            };
            let ok = match op.strip_suffix('*') {
                Some(prefix) => got.starts_with(prefix),
                None => got == op,
            };
            if !ok {
                return false;
            }
        }
        eq(&self.rule.account, &info.account) && eq(&self.rule.region, &info.region)
    }

    /// Counts the match and decides whether the trigger fires. Returns the draw for the faults.
    fn fires(&self, info: &RequestInfo, events: &EventLog, now: Instant) -> Option<u64> {
        let op_key = info_key(info);
        let (n, nth_of_op) = {
            let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
            c.matches += 1;
            let n = c.matches;
            let slot = c.per_operation.entry(op_key).or_insert(0);
            *slot += 1;
            (n, *slot)
        };
        let draw = splitmix64(
            self.seed ^ splitmix64(op_key ^ nth_of_op.wrapping_mul(0xA24B_AED4_963E_E407)),
        );
        if self.rule.first.is_some_and(|first| n > first) {
            return None;
        }
        if self.rule.after.is_some_and(|after| n <= after) {
            return None;
        }
        if let Some((key, dur)) = self.window {
            let open = events
                .last(info.account.as_deref(), key)
                .is_some_and(|t| now.saturating_duration_since(t) < dur);
            if !open {
                return None;
            }
        }
        if let Some(p) = self.rule.probability {
            let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
            if unit >= p {
                return None;
            }
        }
        Some(splitmix64(draw))
    }
}

/// An immutable, ordered snapshot of the active rules.
#[derive(Default)]
pub(crate) struct RuleSet {
    pub rules: Vec<Arc<ActiveRule>>,
    watched: Vec<EventKey>,
}

impl RuleSet {
    fn from_rules(rules: Vec<Arc<ActiveRule>>) -> RuleSet {
        let mut watched: Vec<EventKey> =
            rules.iter().filter_map(|r| r.window.map(|w| w.0)).collect();
        watched.sort_unstable();
        watched.dedup();
        RuleSet { rules, watched }
    }

    /// The first rule at index `from` or later that matches and fires, with its index and draw.
    /// The server calls it again after a latency-only rule (those compose with later rules).
    pub fn evaluate_from(
        &self,
        from: usize,
        info: &RequestInfo,
        events: &EventLog,
        now: Instant,
    ) -> Option<(usize, &ActiveRule, u64)> {
        self.rules
            .iter()
            .enumerate()
            .skip(from)
            .filter(|(_, r)| r.matches(info))
            .find_map(|(i, r)| r.fires(info, events, now).map(|d| (i, &**r, d)))
    }

    /// The first rule that matches and fires, with its draw.
    #[cfg(test)]
    pub fn evaluate(
        &self,
        info: &RequestInfo,
        events: &EventLog,
        now: Instant,
    ) -> Option<(&ActiveRule, u64)> {
        self.evaluate_from(0, info, events, now)
            .map(|(_, r, d)| (r, d))
    }

    /// Whether a window rule waits for this event (so the server records it).
    pub fn watches(&self, key: EventKey) -> bool {
        !self.watched.is_empty() && self.watched.contains(&key)
    }
}

/// The mutable holder of the rule set; readers take a cheap snapshot.
pub(crate) struct RuleStore {
    current: RwLock<Arc<RuleSet>>,
    next_id: AtomicU64,
    global_seed: Mutex<Option<u64>>,
}

impl RuleStore {
    pub fn new(global_seed: Option<u64>) -> RuleStore {
        RuleStore {
            current: RwLock::new(Arc::new(RuleSet::default())),
            next_id: AtomicU64::new(1),
            global_seed: Mutex::new(global_seed),
        }
    }

    pub fn snapshot(&self) -> Arc<RuleSet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the global seed. Rules without their own seed re-derive theirs from it and restart
    /// their counters, so the order "presets, then seed" gives the same decisions as "seed, then
    /// presets".
    pub fn set_global_seed(&self, seed: Option<u64>) {
        *self.global_seed.lock().unwrap_or_else(|e| e.into_inner()) = seed;
        self.update(|old| {
            old.iter()
                .map(|r| match r.rule.seed {
                    Some(_) => r.clone(),
                    None => Arc::new(ActiveRule::new(r.rule.clone(), r.name.clone(), seed)),
                })
                .collect()
        });
    }

    pub fn global_seed(&self) -> Option<u64> {
        *self.global_seed.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn activate(&self, rules: Vec<Rule>) -> Vec<Arc<ActiveRule>> {
        let seed = self.global_seed();
        rules
            .into_iter()
            .map(|r| {
                let name = r.name.clone().unwrap_or_else(|| {
                    format!("rule-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
                });
                Arc::new(ActiveRule::new(r, name, seed))
            })
            .collect()
    }

    fn update(&self, f: impl FnOnce(&[Arc<ActiveRule>]) -> Vec<Arc<ActiveRule>>) {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let next = f(&guard.rules);
        *guard = Arc::new(RuleSet::from_rules(next));
    }

    /// Replaces all rules (validated by the caller).
    pub fn set(&self, rules: Vec<Rule>) {
        let new = self.activate(rules);
        self.update(|_| new);
    }

    /// Appends rules; existing rules keep their counters.
    pub fn add(&self, rules: Vec<Rule>) {
        let new = self.activate(rules);
        self.update(|old| old.iter().cloned().chain(new).collect());
    }

    /// Removes the rules with this name, or all rules. Returns how many were removed.
    pub fn remove(&self, name: Option<&str>) -> usize {
        let mut removed = 0;
        self.update(|old| {
            let kept: Vec<_> = old
                .iter()
                .filter(|r| name.is_some_and(|n| r.name != n))
                .cloned()
                .collect();
            removed = old.len() - kept.len();
            kept
        });
        removed
    }

    /// Replaces the rules whose names start with `prefix` by `rules`, keeping their position
    /// (appended when there were none). Presets use it so that applying one twice does not stack.
    pub fn replace_prefixed(&self, prefix: &str, rules: Vec<Rule>) {
        let new = self.activate(rules);
        self.update(|old| {
            let pos = old.iter().position(|r| r.name.starts_with(prefix));
            let mut kept: Vec<_> = old
                .iter()
                .filter(|r| !r.name.starts_with(prefix))
                .cloned()
                .collect();
            let at = pos.unwrap_or(kept.len()).min(kept.len());
            kept.splice(at..at, new);
            kept
        });
    }

    pub fn list(&self) -> Vec<Rule> {
        self.snapshot()
            .rules
            .iter()
            .map(|r| r.rule.clone())
            .collect()
    }
}

/// The faults a rule's effect consists of, in execution order (latency first, then at most one
/// terminal fault). The rule has been validated.
fn build_faults(rule: &Rule) -> Vec<Box<dyn Fault>> {
    let mut faults: Vec<Box<dyn Fault>> = Vec::with_capacity(2);
    if let Some(l) = &rule.latency {
        faults.push(Box::new(LatencyFault::new(l.ms, l.jitter_ms)));
    }
    if let Some(e) = &rule.error {
        let message = e
            .message
            .clone()
            .or_else(|| rule.message.clone())
            .unwrap_or_else(|| format!("Injected fault: {}", e.code));
        faults.push(Box::new(ErrorFault::new(AwsError::new(
            e.status_code,
            e.code.clone(),
            message,
        ))));
    }
    if rule.throttle {
        faults.push(Box::new(ThrottleFault::new(rule.message.clone())));
    }
    if rule.drop {
        faults.push(Box::new(DropFault));
    }
    faults
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(service: &str, op: &str, account: &str) -> RequestInfo {
        RequestInfo {
            account: Some(account.into()),
            region: Some("ap-northeast-1".into()),
            service: Some(service.into()),
            operation: Some(op.into()),
            ..RequestInfo::default()
        }
    }

    const A: &str = "111111111111";

    #[test]
    fn localstack_chaos_form_parses() {
        let rules = parse_rules(
            r#"[{"service": "ecs", "operation": "CreateService", "region": "ap-northeast-1",
                 "probability": 0.5, "error": {"statusCode": 503, "code": "ServiceUnavailable"}}]"#,
        )
        .unwrap();
        assert_eq!(rules[0].error.as_ref().unwrap().status_code, 503);
        assert_eq!(rules[0].probability, Some(0.5));
        // A single object is accepted too.
        let one = parse_rules(r#"{"name": "x", "throttle": true}"#).unwrap();
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn bad_json_and_bad_rules_have_clear_errors() {
        let e = parse_rules("[{\"service\": ").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = parse_rules(r#"[{"servce": "ecs", "drop": true}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `servce`"), "{e}");
        let e = parse_rules(r#"[{"name": "n", "service": "ecs"}]"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rule #1 (n)") && e.contains("needs an effect"),
            "{e}"
        );
        let e = parse_rules(r#"[{"drop": true, "throttle": true}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most one"), "{e}");
        let e = parse_rules(r#"[{"drop": true, "probability": 2}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("probability"), "{e}");
        let e = parse_rules(
            r#"[{"drop": true, "window": {"after": "CreateCluster", "duration": "1s"}}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("service:Operation"), "{e}");
        let e =
            parse_rules(r#"[{"drop": true, "window": {"after": "ecs:X", "duration": "soon"}}]"#)
                .unwrap_err()
                .to_string();
        assert!(e.contains("not a duration"), "{e}");
    }

    #[test]
    fn json_round_trip() {
        let r = Rule::named("w")
            .for_service("ecs")
            .for_operation("CreateService")
            .with_window("ecs:CreateCluster", Duration::from_secs(20))
            .with_error(400, "InvalidParameterException", "m");
        let text = serde_json::to_string(&vec![r.clone()]).unwrap();
        assert_eq!(parse_rules(&text).unwrap(), vec![r]);
    }

    #[test]
    fn first_match_wins_and_order_matters() {
        let store = RuleStore::new(Some(1));
        store.set(vec![
            Rule::named("ecs-only").for_service("ECS").with_throttle(),
            Rule::named("all").with_drop(),
        ]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        assert_eq!(
            set.evaluate(&info("ecs", "ListClusters", A), &ev, now)
                .unwrap()
                .0
                .name,
            "ecs-only"
        );
        assert_eq!(
            set.evaluate(&info("iam", "GetRole", A), &ev, now)
                .unwrap()
                .0
                .name,
            "all"
        );
    }

    #[test]
    fn latency_only_rules_let_evaluation_go_on() {
        let store = RuleStore::new(Some(3));
        store.set(vec![
            Rule::named("slow").with_latency(5, 0),
            Rule::named("cut").for_service("ecs").with_drop(),
        ]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        let req = info("ecs", "ListClusters", A);
        let (i, r, _) = set.evaluate_from(0, &req, &ev, now).unwrap();
        assert_eq!((i, r.name.as_str()), (0, "slow"));
        let (i, r, _) = set.evaluate_from(i + 1, &req, &ev, now).unwrap();
        assert_eq!((i, r.name.as_str()), (1, "cut"));
        assert!(set.evaluate_from(2, &req, &ev, now).is_none());
    }

    #[test]
    fn first_and_after_counters() {
        let store = RuleStore::new(None);
        store.set(vec![
            Rule::named("first2")
                .for_operation("Create*")
                .with_first(2)
                .with_throttle(),
            Rule::named("after3").with_after(3).with_drop(),
        ]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        let hits: Vec<Option<String>> = (0..6)
            .map(|_| {
                set.evaluate(&info("ecs", "CreateCluster", A), &ev, now)
                    .map(|h| h.0.name.clone())
            })
            .collect();
        // Matches 1-2 hit first2; from then on first2 no longer fires and after3 counts its own
        // matches (3rd, 4th, 5th, 6th request are its matches 1..4): fires on its 4th match.
        assert_eq!(
            hits,
            vec![
                Some("first2".into()),
                Some("first2".into()),
                None,
                None,
                None,
                Some("after3".into())
            ]
        );
    }

    #[test]
    fn window_after_event_same_account_only() {
        let store = RuleStore::new(None);
        store.set(vec![Rule::named("w")
            .for_operation("CreateService")
            .with_window("ecs:CreateCluster", Duration::from_secs(10))
            .with_error(400, "X", "y")]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let t0 = Instant::now();
        let key = event_key("ecs", "CreateCluster");
        assert!(set.watches(key));
        assert!(!set.watches(event_key("ecs", "CreateService")));
        assert!(set
            .evaluate(&info("ecs", "CreateService", A), &ev, t0)
            .is_none());
        ev.record(Some(A), key, t0);
        assert!(set
            .evaluate(
                &info("ecs", "CreateService", A),
                &ev,
                t0 + Duration::from_secs(5)
            )
            .is_some());
        assert!(set
            .evaluate(&info("ecs", "CreateService", "222222222222"), &ev, t0)
            .is_none());
        assert!(set
            .evaluate(
                &info("ecs", "CreateService", A),
                &ev,
                t0 + Duration::from_secs(11)
            )
            .is_none());
    }

    #[test]
    fn seeded_probability_is_reproducible_and_interleaving_independent() {
        let run = |seed: u64, interleave: bool| {
            let store = RuleStore::new(None);
            store.set(vec![Rule::named("p")
                .with_probability(0.3, Some(seed))
                .with_throttle()]);
            let set = store.snapshot();
            let ev = EventLog::default();
            let now = Instant::now();
            let mut ecs = Vec::new();
            let mut iam = Vec::new();
            for i in 0..200 {
                if interleave && i % 3 == 0 {
                    iam.push(set.evaluate(&info("iam", "GetRole", A), &ev, now).is_some());
                }
                ecs.push(
                    set.evaluate(&info("ecs", "ListClusters", A), &ev, now)
                        .is_some(),
                );
                if !interleave && i % 3 == 0 {
                    iam.push(set.evaluate(&info("iam", "GetRole", A), &ev, now).is_some());
                }
            }
            (ecs, iam)
        };
        let (a, ai) = run(42, false);
        let (b, bi) = run(42, true);
        assert_eq!(a, b);
        assert_eq!(ai, bi);
        let hits = a.iter().filter(|h| **h).count();
        assert!((35..=85).contains(&hits), "~30% of 200, got {hits}");
        let (c, _) = run(43, false);
        assert_ne!(a, c);
    }

    #[test]
    fn seed_applies_to_rules_added_before_it() {
        let decisions = |seed_first: bool| {
            let store = RuleStore::new(None);
            let rule = Rule::named("p").with_probability(0.5, None).with_throttle();
            if seed_first {
                store.set_global_seed(Some(11));
                store.set(vec![rule]);
            } else {
                store.set(vec![rule]);
                store.set_global_seed(Some(11));
            }
            let set = store.snapshot();
            let ev = EventLog::default();
            (0..64)
                .map(|_| {
                    set.evaluate(&info("ecs", "ListClusters", A), &ev, Instant::now())
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(decisions(true), decisions(false));
    }

    #[test]
    fn store_remove_and_replace() {
        let store = RuleStore::new(None);
        store.set(vec![
            Rule::named("a").with_drop(),
            Rule::default().with_drop(),
        ]);
        let names: Vec<_> = store.list().into_iter().map(|r| r.name.unwrap()).collect();
        assert_eq!(names[0], "a");
        assert!(names[1].starts_with("rule-"));
        store.replace_prefixed("preset:x", vec![Rule::named("preset:x").with_throttle()]);
        store.replace_prefixed("preset:x", vec![Rule::named("preset:x").with_drop()]);
        assert_eq!(store.list().len(), 3);
        assert_eq!(store.remove(Some("a")), 1);
        assert_eq!(store.remove(None), 2);
        assert!(store.list().is_empty());
    }

    #[test]
    fn account_filter_and_unknown_service() {
        let store = RuleStore::new(None);
        store.set(vec![Rule::named("acct")
            .for_account(A)
            .for_service("iam")
            .with_drop()]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        assert!(set.evaluate(&info("iam", "GetRole", A), &ev, now).is_some());
        assert!(set
            .evaluate(&info("iam", "GetRole", "999999999999"), &ev, now)
            .is_none());
        assert!(set.evaluate(&RequestInfo::default(), &ev, now).is_none());
    }
}
