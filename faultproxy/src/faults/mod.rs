//! Fault effects, one per file, behind one small trait (Toxiproxy's "toxics").
//!
//! The proxy core knows no particular fault: a rule's effect is turned into a list of [`Fault`]s
//! by [`build`], and the core only executes the [`FaultAction`]s they return (wait, answer with
//! an AWS error in the request's protocol, or drop the connection). Adding a fault kind means
//! adding a file here and one line in `build`.

mod drop;
mod error;
mod latency;
mod throttle;

use std::fmt;
use std::time::Duration;

pub use drop::DropFault;
pub use error::ErrorFault;
pub use latency::LatencyFault;
pub use throttle::ThrottleFault;

use super::classify::RequestInfo;
use super::rules::Rule;
use super::wire::AwsError;

/// What a fault asks the proxy to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Wait, then go on with the next fault or forward the request.
    Delay(Duration),
    /// Answer with this AWS error, encoded in the request's own protocol. Nothing is forwarded.
    Respond(AwsError),
    /// Close the connection without a response, before forwarding.
    Drop,
}

/// Inputs a fault may use. `draw` is a deterministic pseudo-random number derived from the rule's
/// seed and the request's position, for faults that need randomness (latency jitter).
pub struct FaultContext<'a> {
    pub info: &'a RequestInfo,
    pub draw: u64,
}

/// One fault effect.
pub trait Fault: Send + Sync + fmt::Debug {
    /// Short name recorded in the journal: `error`, `latency`, `drop`, `throttle`.
    fn kind(&self) -> &'static str;
    fn apply(&self, cx: &FaultContext<'_>) -> FaultAction;
}

/// The faults a rule's effect consists of, in execution order (latency first, then at most one
/// terminal fault). The rule has been validated.
pub fn build(rule: &Rule) -> Vec<Box<dyn Fault>> {
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
