//! Fault effects, one per file, behind one small trait (Toxiproxy's "toxics").
//!
//! The proxy core knows no particular fault: a rule's effect is turned into a list of [`Fault`]s
//! by the rule store (`rules::build_faults`), and the core only executes the [`FaultAction`]s they return (wait, answer with
//! an AWS error in the request's protocol, or drop the connection). Adding a fault kind means
//! adding a file here and one line in `rules::build_faults`.

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
