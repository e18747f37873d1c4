//! Why this file exists: executes the stack as a dependency graph (the layers of
//! resources/registry.rs), independent steps in parallel, converging each resource (create if
//! absent, update if it differs, nothing if it matches). Because every decision starts from a read (state.rs) and a diff, a second apply
//! makes no mutating call. Order:
//!
//! ```text
//! service-linked role (ensure mode)
//!   -> cluster | execution role | ECR repository | log group                 (parallel)
//!   -> task role (its policy names the log group's ARN)
//!      | repository policy (needs the execution role ARN)                     (parallel)
//!   -> task definition (needs both roles' ARNs)
//!   -> service (needs cluster, task definition, network)
//! ```

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::output::Outputs;
use crate::progress::Progress;
use crate::resources::registry::{self, Row};
use crate::resources::REGISTRY;
use crate::resources::{Ctx, Known};
use crate::retry::{AbsorbedError, RetryPolicy};
use crate::state::{check_ownership, observe};

pub use crate::resources::StepAction;

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub retry: RetryPolicy,
    /// Progress lines (default: stderr).
    pub progress: Progress,
}

impl ApplyOptions {
    pub fn new(retry: RetryPolicy) -> ApplyOptions {
        ApplyOptions {
            retry,
            progress: Progress::default(),
        }
    }

    pub fn with_progress(mut self, progress: Progress) -> ApplyOptions {
        self.progress = progress;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub kind: String,
    pub name: String,
    pub action: StepAction,
    pub elapsed: Duration,
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Resources created or updated.
    pub changes: usize,
    /// Every error the retry loop absorbed, in order.
    pub absorbed: Vec<AbsorbedError>,
    pub outputs: Outputs,
    pub elapsed: Duration,
    /// One entry per resource, in completion order.
    pub steps: Vec<StepReport>,
}

struct Steps<'a> {
    progress: &'a Progress,
    done: Mutex<Vec<StepReport>>,
}

impl Steps<'_> {
    async fn run<T>(
        &self,
        kind: &str,
        name: &str,
        fut: impl Future<Output = Result<(T, StepAction), Error>>,
    ) -> Result<T, Error> {
        let start = Instant::now();
        match fut.await {
            Ok((v, action)) => {
                let elapsed = start.elapsed();
                self.progress.emit(kind, name, action.as_str(), elapsed);
                if let Ok(mut d) = self.done.lock() {
                    d.push(StepReport {
                        kind: kind.to_owned(),
                        name: name.to_owned(),
                        action,
                        elapsed,
                    });
                }
                Ok(v)
            }
            Err(e) => {
                self.progress
                    .emit(kind, name, &format!("failed: {e}"), start.elapsed());
                Err(e)
            }
        }
    }
}

/// The first of several parallel failures (the others are logged).
fn first_error(errors: Vec<Error>) -> Error {
    let mut errors = errors.into_iter();
    let first = errors
        .next()
        .unwrap_or_else(|| Error::Internal("no error among failed steps".into()));
    for other in errors {
        tracing::error!("also failed: {other}");
    }
    first
}

/// Converges one layer of the registry, its kinds in parallel; what they converged becomes known.
async fn converge_layer(
    ctx: Ctx<'_>,
    steps: &Steps<'_>,
    layer: &[&'static Row],
    known: &mut Known,
) -> Result<(), Error> {
    let managed = layer.iter().filter(|r| r.node.managed(ctx));
    let runs = managed.map(|row| {
        let (name, fut) = row.node.converge(ctx, known);
        async move { (row.kind(), steps.run(row.kind(), &name, fut).await) }
    });
    let done = futures::future::join_all(runs).await;
    let mut errors = Vec::new();
    for (kind, result) in done {
        match result {
            Ok(v) => known.set_erased(kind, Some(v)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(first_error(errors))
    }
}

/// Applies the stack, layer by layer (registry.rs). Refuses before any mutation if a resource
/// under our name is not ours.
pub async fn apply(ctx: Ctx<'_>, progress: &Progress) -> Result<ApplyReport, Error> {
    let start = Instant::now();
    let mut known = observe(ctx, true).await?;
    check_ownership(ctx, &known)?;
    let steps = Steps {
        progress,
        done: Mutex::new(Vec::new()),
    };
    for layer in registry::apply_layers() {
        converge_layer(ctx, &steps, &layer, &mut known).await?;
    }
    for row in REGISTRY {
        let now = row
            .node
            .after_apply(ctx, known.erased(row.kind()).cloned())
            .await?;
        known.set_erased(row.kind(), now);
    }
    let steps = steps.done.into_inner().unwrap_or_default();
    Ok(ApplyReport {
        changes: steps
            .iter()
            .filter(|s| s.action != StepAction::Unchanged)
            .count(),
        absorbed: ctx.retry.absorbed(),
        outputs: Outputs::from_observed(&known),
        elapsed: start.elapsed(),
        steps,
    })
}
