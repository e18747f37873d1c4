//! Fault effects, one per file, behind one small trait (Toxiproxy's "toxics").
//!
//! Each fault file owns its spec (the JSON a rule carries for it) and a `build(&spec)` that turns
//! the spec into a [`Fault`]. A rule's effect is a list of [`Effect`]s (see
//! `Rule::effects`); [`build`] is the one registration point that maps an effect to its fault.
//! The proxy core knows no particular fault: it runs the [`FaultAction`]s the faults return
//! (wait, answer with an AWS error in the request's protocol, or drop the connection) and
//! journals the fault's [`FaultKind`]. Adding a fault kind = one file here, one [`Effect`]
//! variant with its line in [`build`], and its field in the rule schema.

mod drop;
mod error;
mod latency;
mod throttle;

use std::fmt;
use std::time::Duration;

pub use drop::{DropFault, DropSpec};
pub use error::{ErrorFault, ErrorSpec};
pub use latency::{LatencyFault, LatencySpec};
pub use throttle::{ThrottleFault, ThrottleSpec};

use super::aws::classify::RequestInfo;
use super::aws::wire::AwsError;
use super::journal::FaultKind;

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
    /// What the journal records: `error`, `latency`, `drop`, `throttle`.
    fn kind(&self) -> FaultKind;
    fn apply(&self, cx: &FaultContext<'_>) -> FaultAction;
}

/// One effect of a rule, with its spec.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Latency(LatencySpec),
    Error(ErrorSpec),
    Throttle(ThrottleSpec),
    Drop(DropSpec),
}

impl Effect {
    /// The kind of fault the effect builds.
    pub fn kind(&self) -> FaultKind {
        match self {
            Effect::Latency(_) => FaultKind::Latency,
            Effect::Error(_) => FaultKind::Error,
            Effect::Throttle(_) => FaultKind::Throttle,
            Effect::Drop(_) => FaultKind::Drop,
        }
    }
}

/// The fault an effect stands for: the registry of fault kinds.
pub fn build(effect: &Effect) -> Box<dyn Fault> {
    match effect {
        Effect::Latency(spec) => Box::new(latency::build(spec)),
        Effect::Error(spec) => Box::new(error::build(spec)),
        Effect::Throttle(spec) => Box::new(throttle::build(spec)),
        Effect::Drop(spec) => Box::new(drop::build(spec)),
    }
}
