//! Why this file exists: every emulator backend fails through one error type, so callers
//! (`TestEnv`, `harness up`) can tell "this backend cannot run on this machine" (a loud skip,
//! [`EmulatorError::Unavailable`]) from "it should have worked and did not" (a failure that
//! names the log file to read).
//!
//! The error is `Clone` because [`super::shared`] caches the outcome of the one start attempt
//! per test process and hands the same error to every test that asks.

use std::path::PathBuf;
use std::time::Duration;

/// Why an emulator could not be provided.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EmulatorError {
    /// The backend cannot run here (no Docker engine, LocalStack without a token, ...).
    /// Tests skip loudly on this, unless `HARNESS_REQUIRE_DOCKER=1`.
    #[error("backend {backend} is unavailable: {reason}")]
    Unavailable {
        backend: &'static str,
        reason: String,
    },

    /// A setting is wrong (unknown `HARNESS_BACKEND`, malformed URL, missing executable, ...).
    #[error("configuration error: {0}")]
    Config(String),

    /// Installing the pinned moto into its virtual environment failed. `fix` says what to do.
    #[error("could not install {requirement} into {venv}: {reason}. Fix: {fix}{}", log_suffix(.log))]
    Bootstrap {
        requirement: String,
        venv: PathBuf,
        reason: String,
        fix: String,
        log: Option<PathBuf>,
    },

    /// The emulator process could not be started, or exited before it was ready.
    #[error("{backend} failed to start: {reason} (log: {})", .log.display())]
    Start {
        backend: &'static str,
        reason: String,
        log: PathBuf,
    },

    /// The emulator did not answer HTTP within the readiness deadline.
    #[error(
        "{backend} was not ready at {url} after {} (deadline; raise it with HARNESS_READY_TIMEOUT): {last_error} (log: {})",
        secs(*.waited), .log.display()
    )]
    NotReady {
        backend: &'static str,
        url: String,
        waited: Duration,
        last_error: String,
        log: PathBuf,
    },

    /// An external endpoint did not answer within the deadline.
    #[error("endpoint {url} is unreachable after {}: {last_error}", secs(*.waited))]
    Unreachable {
        url: String,
        waited: Duration,
        last_error: String,
    },

    /// A local I/O operation failed (creating the log directory, spawning, ...).
    #[error("{context}: {message}")]
    Io { context: String, message: String },
}

/// `10.0s`: a deadline as a user reads it (not `Debug`'s `10.001511156s`).
fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn log_suffix(log: &Option<PathBuf>) -> String {
    match log {
        Some(p) => format!(" (log: {})", p.display()),
        None => String::new(),
    }
}

impl EmulatorError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, err: std::io::Error) -> EmulatorError {
        EmulatorError::Io {
            context: context.into(),
            message: err.to_string(),
        }
    }

    /// The same error for shard `number` of `count` (several moto processes, `moto_shards.rs`):
    /// a start or readiness failure says which one; one shard of one says nothing more.
    pub fn in_shard(self, number: usize, count: usize) -> EmulatorError {
        if count <= 1 {
            return self;
        }
        let which = format!("shard {number} of {count}: ");
        match self {
            EmulatorError::Start {
                backend,
                reason,
                log,
            } => EmulatorError::Start {
                backend,
                reason: format!("{which}{reason}"),
                log,
            },
            EmulatorError::NotReady {
                backend,
                url,
                waited,
                last_error,
                log,
            } => EmulatorError::NotReady {
                backend,
                url,
                waited,
                last_error: format!("{which}{last_error}"),
                log,
            },
            other => other,
        }
    }

    /// True when the backend cannot run here and a test may skip (loudly).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, EmulatorError::Unavailable { .. })
    }

    /// The log file that explains the failure, if there is one.
    pub fn log_path(&self) -> Option<&std::path::Path> {
        match self {
            EmulatorError::Start { log, .. } | EmulatorError::NotReady { log, .. } => Some(log),
            EmulatorError::Bootstrap { log, .. } => log.as_deref(),
            _ => None,
        }
    }
}
