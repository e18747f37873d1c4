//! `throttle`: answer with the throttling error of the request's own service (ECS/ECR/Logs
//! `ThrottlingException` 400, IAM/STS `Throttling` 400, EC2 `RequestLimitExceeded` 503), which
//! SDKs retry with backoff.

use super::{Fault, FaultAction, FaultContext, FaultKind};
use crate::aws::wire::throttling_error;

/// `"throttle": true` in a rule, with the rule's `message` (if any) replacing the service's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThrottleSpec {
    pub message: Option<String>,
}

#[derive(Debug)]
pub struct ThrottleFault {
    message: Option<String>,
}

impl ThrottleFault {
    pub fn new(message: Option<String>) -> Self {
        Self { message }
    }
}

pub(super) fn build(spec: &ThrottleSpec) -> ThrottleFault {
    ThrottleFault::new(spec.message.clone())
}

impl Fault for ThrottleFault {
    fn kind(&self) -> FaultKind {
        FaultKind::Throttle
    }
    fn apply(&self, cx: &FaultContext<'_>) -> FaultAction {
        let mut err = throttling_error(cx.info.service);
        if let Some(m) = &self.message {
            err.message = m.clone();
        }
        FaultAction::Respond(err)
    }
}
