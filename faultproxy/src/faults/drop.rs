//! `drop`: close the client connection without any response, before the request is forwarded
//! (so the upstream never sees it). SDKs classify this as a transient I/O error.

use super::{Fault, FaultAction, FaultContext};

#[derive(Debug)]
pub struct DropFault;

impl Fault for DropFault {
    fn kind(&self) -> &'static str {
        "drop"
    }
    fn apply(&self, _cx: &FaultContext<'_>) -> FaultAction {
        FaultAction::Drop
    }
}
