//! What rule triggers remember: the event log (latest success of each watched `service:Operation`
//! per account, for time windows) and each rule's match counters (for `first`, `after` and the
//! per-operation draw).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::draw::EventKey;

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

/// How often a rule matched, in all and per `service:Operation`.
#[derive(Default)]
pub(crate) struct Counters {
    matches: u64,
    per_operation: HashMap<EventKey, u64>,
}

impl Counters {
    /// Counts one match of `op_key`; returns (matches in all, matches of this operation).
    pub fn count(&mut self, op_key: EventKey) -> (u64, u64) {
        self.matches += 1;
        let slot = self.per_operation.entry(op_key).or_insert(0);
        *slot += 1;
        (self.matches, *slot)
    }
}
