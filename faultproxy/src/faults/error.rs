//! `error`: answer with a fixed AWS error (status, code, message) instead of forwarding.

use serde::{Deserialize, Serialize};

use super::{Fault, FaultAction, FaultContext, FaultKind};
use crate::aws::wire::AwsError;

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

#[derive(Debug)]
pub struct ErrorFault {
    error: AwsError,
}

impl ErrorFault {
    pub fn new(error: AwsError) -> Self {
        Self { error }
    }
}

/// The fault of `spec`; without a message it says `Injected fault: CODE`.
pub(super) fn build(spec: &ErrorSpec) -> ErrorFault {
    let message = spec
        .message
        .clone()
        .unwrap_or_else(|| format!("Injected fault: {}", spec.code));
    ErrorFault::new(AwsError::new(spec.status_code, spec.code.clone(), message))
}

impl Fault for ErrorFault {
    fn kind(&self) -> FaultKind {
        FaultKind::Error
    }
    fn apply(&self, _cx: &FaultContext<'_>) -> FaultAction {
        FaultAction::Respond(self.error.clone())
    }
}
