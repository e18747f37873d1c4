//! Why this file exists: the report of what the retry loop absorbed. Every absorbed error is
//! recorded in order (operation, code, message, attempt, time waited) and handed back in
//! `ApplyReport::absorbed` / `DestroyReport::absorbed`, so a caller sees what was retried.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One error the retry loop absorbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsorbedError {
    pub operation: String,
    pub code: String,
    pub message: String,
    /// Which attempt failed (1 = the first call).
    pub attempt: u32,
    /// Time since the first attempt of this call when the error was absorbed.
    pub waited: Duration,
}

/// The shared, ordered record of absorbed errors (cheap to clone).
#[derive(Debug, Clone, Default)]
pub(super) struct AbsorbedLog(Arc<Mutex<Vec<AbsorbedError>>>);

impl AbsorbedLog {
    pub(super) fn push(&self, e: AbsorbedError) {
        if let Ok(mut v) = self.0.lock() {
            v.push(e);
        }
    }

    /// Everything recorded so far, in order.
    pub(super) fn snapshot(&self) -> Vec<AbsorbedError> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}
