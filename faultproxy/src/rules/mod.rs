//! Fault rules: which requests get which fault, and when.
//!
//! A rule is a match (service / operation / account / region / resource, omitted = any), a trigger
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
//!
//! Inside: `schema` (the JSON form and builders), `validate`, `matcher` (an active rule's match
//! and trigger), `resource` (the resource a call names), `draw` (deterministic hashes), `events` (event log and counters), `store`.

mod draw;
mod events;
mod matcher;
pub mod resource;
mod schema;
mod store;
mod validate;

pub use crate::faults::{ErrorSpec, LatencySpec};
#[cfg(test)]
pub(crate) use draw::event_key as event_key_of;
pub(crate) use draw::info_key;
pub(crate) use events::EventLog;
pub use schema::{Rule, Window};
pub(crate) use store::{RuleSet, RuleStore};
pub(crate) use validate::check_operation;
pub use validate::{parse_rules, validate_all, RuleError};
