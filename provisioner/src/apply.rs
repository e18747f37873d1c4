//! Why this file exists: executes the stack as a dependency graph, independent steps in
//! parallel, converging each resource (create if absent, update if it differs, nothing if it
//! matches). Because every decision starts from a read (state.rs) and a diff, a second apply
//! makes no mutating call. Order:
//!
//! ```text
//! service-linked role (ensure mode)
//!   -> cluster | execution role | task role | ECR repository | log group     (parallel)
//!   -> repository policy (needs the execution role ARN) | task definition    (parallel)
//!   -> service (needs cluster, task definition, network)
//! ```

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::names::SLR_NAME;
use crate::output::Outputs;
use crate::progress::Progress;
use crate::resources::task_definition::Expect;
use crate::resources::{
    cluster, ecr_repository, execution_role, log_group, service, service_linked_role,
    task_definition, task_role, Ctx,
};
use crate::retry::{AbsorbedError, RetryPolicy};
use crate::spec::SlrMode;
use crate::state::{check_ownership, observe, Observed};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAction {
    Created,
    Updated,
    Unchanged,
}

impl StepAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepAction::Created => "created",
            StepAction::Updated => "updated",
            StepAction::Unchanged => "unchanged",
        }
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

/// Converges one resource: absent -> create, differs -> update, else unchanged.
macro_rules! converge {
    ($observed:expr, $desired:expr, $diff:expr, $create:expr, $update:expr) => {{
        async {
            match $observed {
                None => Ok(($create.await?, StepAction::Created)),
                Some(o) if $diff(o, $desired).is_empty() => Ok((o.clone(), StepAction::Unchanged)),
                Some(o) => Ok(($update(o).await?, StepAction::Updated)),
            }
        }
    }};
}

/// The first of several parallel failures (the others are logged).
fn first_error<const N: usize>(errors: [Option<Error>; N]) -> Error {
    let mut errors = errors.into_iter().flatten();
    let first = errors
        .next()
        .unwrap_or_else(|| Error::Internal("no error among failed steps".into()));
    for other in errors {
        tracing::error!("also failed: {other}");
    }
    first
}

/// Applies the stack. Refuses before any mutation if a resource under our name is not ours.
pub async fn apply(ctx: Ctx<'_>, progress: &Progress) -> Result<ApplyReport, Error> {
    let start = Instant::now();
    let n = ctx.names;
    let o = observe(ctx, true).await?;
    check_ownership(ctx, &o)?;
    let steps = Steps {
        progress,
        done: Mutex::new(Vec::new()),
    };

    // 0. The service-linked role, first (ensure mode).
    let mut slr = o.slr.clone();
    if ctx.spec.service_linked_role == SlrMode::Ensure {
        let found = slr.clone();
        slr = Some(
            steps
                .run(service_linked_role::KIND, SLR_NAME, async {
                    match found {
                        Some(s) => Ok((s, StepAction::Unchanged)),
                        None => Ok((service_linked_role::create(ctx).await?, StepAction::Created)),
                    }
                })
                .await?,
        );
    }

    // 1. Independent resources, in parallel.
    let d_cluster = cluster::desired(ctx);
    let d_exec = execution_role::desired(ctx);
    let d_task = task_role::desired(ctx);
    let d_ecr = ecr_repository::desired(ctx);
    let d_logs = log_group::desired(ctx);
    let (cl, er, tr, ecr, lg) = futures::join!(
        steps.run(
            cluster::KIND,
            &n.cluster,
            converge!(
                &o.cluster,
                &d_cluster,
                cluster::diff,
                cluster::create(ctx, &d_cluster),
                |c| cluster::update(ctx, c, &d_cluster)
            )
        ),
        steps.run(
            execution_role::KIND,
            &n.execution_role,
            converge!(
                &o.execution_role,
                &d_exec,
                execution_role::diff,
                execution_role::create(ctx, &d_exec),
                |r| execution_role::update(ctx, r, &d_exec)
            )
        ),
        steps.run(
            task_role::KIND,
            &n.task_role,
            converge!(
                &o.task_role,
                &d_task,
                task_role::diff,
                task_role::create(ctx, &d_task),
                |r| task_role::update(ctx, r, &d_task)
            )
        ),
        steps.run(
            ecr_repository::KIND,
            &n.ecr_repository,
            converge!(
                &o.ecr,
                &d_ecr,
                ecr_repository::diff,
                ecr_repository::create(ctx, &d_ecr),
                |r| ecr_repository::update(ctx, r, &d_ecr)
            )
        ),
        steps.run(
            log_group::KIND,
            &n.log_group,
            converge!(
                &o.log_group,
                &d_logs,
                log_group::diff,
                log_group::create(ctx, &d_logs),
                |l| log_group::update(ctx, l, &d_logs)
            )
        ),
    );
    if cl.is_err() || er.is_err() || tr.is_err() || ecr.is_err() || lg.is_err() {
        return Err(first_error([
            cl.err(),
            er.err(),
            tr.err(),
            ecr.err(),
            lg.err(),
        ]));
    }
    let (cl, er, tr, ecr, lg) = (cl?, er?, tr?, ecr?, lg?);

    // 2. Repository policy and task definition, in parallel.
    let policy = ecr_repository::policy_document(&er.arn);
    let old_policy = if o.ecr.is_some() {
        o.ecr_policy.clone()
    } else {
        None
    };
    let d_td = task_definition::desired(ctx, Some(&er.arn), Some(&tr.arn), Some(&ecr.uri));
    let (pol, td) = futures::join!(
        steps.run(ecr_repository::POLICY_KIND, &n.ecr_repository, async {
            let diffs = ecr_repository::diff_policy(old_policy.as_ref(), &policy);
            if diffs.is_empty() {
                return Ok(((), StepAction::Unchanged));
            }
            ecr_repository::put_policy(ctx, &ecr.name, &policy).await?;
            Ok((
                (),
                if old_policy.is_none() {
                    StepAction::Created
                } else {
                    StepAction::Updated
                },
            ))
        }),
        steps.run(
            task_definition::KIND,
            &n.task_family,
            converge!(
                &o.task_definition,
                &d_td,
                task_definition::diff,
                task_definition::register(ctx, &d_td),
                |t| task_definition::update(ctx, t, &d_td)
            )
        ),
    );
    if pol.is_err() || td.is_err() {
        return Err(first_error([pol.err(), td.err()]));
    }
    let td = td?;

    // 3. The service.
    let network = o.network.clone().unwrap_or_default();
    let d_svc = service::desired(ctx, Expect::exact(td.arn.clone()), &network);
    let svc = steps
        .run(
            service::KIND,
            &n.service,
            converge!(
                &o.service,
                &d_svc,
                service::diff,
                service::create(ctx, &d_svc),
                |s| service::update(ctx, s, &d_svc)
            ),
        )
        .await?;

    // In implicit mode CreateCluster may just have created the role: read it for the outputs.
    if ctx.spec.service_linked_role == SlrMode::Implicit && slr.is_none() {
        slr = service_linked_role::find(ctx).await?;
    }
    let now = Observed {
        slr,
        cluster: Some(cl),
        execution_role: Some(er),
        task_role: Some(tr),
        ecr: Some(ecr),
        ecr_policy: None,
        log_group: Some(lg),
        task_definition: Some(td),
        service: Some(svc),
        network: Some(network),
    };
    let steps = steps.done.into_inner().unwrap_or_default();
    Ok(ApplyReport {
        changes: steps
            .iter()
            .filter(|s| s.action != StepAction::Unchanged)
            .count(),
        absorbed: ctx.retry.absorbed(),
        outputs: Outputs::from_observed(&now),
        elapsed: start.elapsed(),
        steps,
    })
}
