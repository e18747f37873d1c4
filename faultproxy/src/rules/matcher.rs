//! A rule ready to evaluate ([`ActiveRule`]): its seed resolved, its faults built, its counters;
//! whether it matches a request and whether its trigger fires.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::draw::{draw, event_key, fnv_str, info_key, splitmix64, unit, EventKey};
use super::events::{Counters, EventLog};
use super::resource;
use super::schema::Rule;
use crate::aws::classify::RequestInfo;
use crate::aws::{Operation, Service};
use crate::faults::{self, Fault};

/// A rule ready to evaluate: its faults built, its seed resolved, its counters.
pub(crate) struct ActiveRule {
    pub rule: Rule,
    pub name: String,
    service: Option<Service>,
    /// The rule's exact operation, when it names one of its service's (no wildcard).
    operation: Option<Operation>,
    seed: u64,
    pub(super) window: Option<(EventKey, Duration)>,
    pub faults: Vec<Box<dyn Fault>>,
    /// The rule's resource, reduced to its name as requests' are.
    resource: Option<String>,
    counters: Mutex<Counters>,
}

impl ActiveRule {
    pub(super) fn new(mut rule: Rule, name: String, global_seed: Option<u64>) -> ActiveRule {
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
        // Validation has checked the names against the table.
        let service = rule.service.as_deref().and_then(Service::from_name);
        // A request of a twin operation (the same request as another service's, see
        // `Operation::canonical`) is classified as the group's canonical operation.
        let operation = service
            .zip(rule.operation.as_deref())
            .and_then(|(s, op)| s.operation(op))
            .map(Operation::canonical);
        let resource = rule
            .resource
            .as_deref()
            .map(|r| resource::resource_name(r).to_string());
        ActiveRule {
            resource,
            service,
            operation,
            faults: rule.effects().iter().map(faults::build).collect(),
            rule,
            name,
            seed,
            window,
            counters: Mutex::new(Counters::default()),
        }
    }

    pub(super) fn matches(&self, info: &RequestInfo, body: &[u8]) -> bool {
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
        if self.operation.is_some() {
            if info.operation != self.operation {
                return false;
            }
        } else if let Some(svc) = self.service {
            let twin_of_svc = || {
                info.operation
                    .is_some_and(|op| op.twins().iter().any(|t| t.service() == svc))
            };
            if info.service != Some(svc) && !twin_of_svc() {
                return false;
            }
        }
        if let (None, Some(op)) = (self.operation, &self.rule.operation) {
            let Some(got) = info.operation_name() else {
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
        if !(eq(&self.rule.account, &info.account) && eq(&self.rule.region, &info.region)) {
            return false;
        }
        // Read last: the only part of the match that looks into the body.
        match &self.resource {
            None => true,
            Some(want) => resource::from_request(info, body).as_deref() == Some(want.as_str()),
        }
    }

    /// Counts the match and decides whether the trigger fires. Returns the draw for the faults.
    pub(super) fn fires(&self, info: &RequestInfo, events: &EventLog, now: Instant) -> Option<u64> {
        let op_key = info_key(info);
        let (n, nth_of_op) = self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .count(op_key);
        let draw = draw(self.seed, op_key, nth_of_op);
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
            if unit(draw) >= p {
                return None;
            }
        }
        Some(splitmix64(draw))
    }
}
