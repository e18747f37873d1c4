//! Why this file exists: apply and destroy report one line per resource, with its elapsed time,
//! as they finish. The CLI prints them to stderr; library callers (tests, harness) may silence
//! them or capture them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One finished step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressEvent {
    pub kind: String,
    pub name: String,
    /// `created`, `updated`, `unchanged`, `deleted`, `not ours: skipped`, `failed: ...`
    pub status: String,
    pub elapsed: Duration,
}

impl fmt::Display for ProgressEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} ({:.1}s)",
            self.kind,
            self.name,
            self.status,
            self.elapsed.as_secs_f64()
        )
    }
}

type Sink = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Where progress lines go.
#[derive(Clone)]
pub struct Progress(Option<Sink>);

impl Progress {
    /// One line per event on stderr (the CLI's choice, and the default).
    pub fn stderr() -> Progress {
        Progress(Some(Arc::new(|e: &ProgressEvent| eprintln!("{e}"))))
    }

    pub fn silent() -> Progress {
        Progress(None)
    }

    pub fn custom(f: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(f)))
    }

    pub fn emit(&self, kind: &str, name: &str, status: &str, elapsed: Duration) {
        let e = ProgressEvent {
            kind: kind.to_owned(),
            name: name.to_owned(),
            status: status.to_owned(),
            elapsed,
        };
        tracing::info!(
            kind,
            name,
            status,
            elapsed_ms = elapsed.as_millis() as u64,
            "step finished"
        );
        if let Some(f) = &self.0 {
            f(&e);
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::stderr()
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(sink)"
        } else {
            "Progress(silent)"
        })
    }
}
