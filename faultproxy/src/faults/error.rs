//! `error`: answer with a fixed AWS error (status, code, message) instead of forwarding.

use super::{Fault, FaultAction, FaultContext};
use crate::wire::AwsError;

#[derive(Debug)]
pub struct ErrorFault {
    error: AwsError,
}

impl ErrorFault {
    pub fn new(error: AwsError) -> Self {
        Self { error }
    }
}

impl Fault for ErrorFault {
    fn kind(&self) -> &'static str {
        "error"
    }
    fn apply(&self, _cx: &FaultContext<'_>) -> FaultAction {
        FaultAction::Respond(self.error.clone())
    }
}
