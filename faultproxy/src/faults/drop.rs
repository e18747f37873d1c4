//! `drop`: close the client connection without any response, before the request is forwarded
//! (so the upstream never sees it). SDKs classify this as a transient I/O error.

use super::{Fault, FaultAction, FaultContext, FaultKind};

/// `"drop": true` in a rule; the effect has no parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropSpec;

#[derive(Debug)]
pub struct DropFault;

pub(super) fn build(_spec: &DropSpec) -> DropFault {
    DropFault
}

impl Fault for DropFault {
    fn kind(&self) -> FaultKind {
        FaultKind::Drop
    }
    fn apply(&self, _cx: &FaultContext<'_>) -> FaultAction {
        FaultAction::Drop
    }
}
