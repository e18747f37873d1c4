//! Why this file exists: deletes the stack in reverse dependency order, waiting where AWS is
//! asynchronous, and never deletes what is not ours (a resource under our name without the
//! ownership tag is reported, not touched). Order:
//!
//! ```text
//! service (scale to 0, delete, wait INACTIVE)
//!   -> cluster (detach capacity providers, delete) | task definitions (deregister) |
//!      ECR repository | execution role | task role | log group                  (parallel)
//!   -> service-linked role (only with --delete-service-linked-role; deletion task polled)
//! ```
//! Destroying nothing succeeds.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::progress::Progress;
use crate::resources::service_linked_role::SlrDeletion;
use crate::resources::{
    cluster, ecr_repository, execution_role, log_group, service, service_linked_role,
    task_definition, task_role, Ctx,
};
use crate::retry::{AbsorbedError, RetryPolicy};
use crate::state::observe;

#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    /// Also delete `AWSServiceRoleForECS` (fails, with its usage list, while any cluster exists
    /// in the account).
    pub delete_service_linked_role: bool,
    pub retry: RetryPolicy,
    pub progress: Progress,
}

/// What a destroy did. Entries read `"<kind> <name>"`.
#[derive(Debug, Clone, Default)]
pub struct DestroyReport {
    pub deleted: Vec<String>,
    /// Found under our name without our ownership tag: left alone.
    pub not_ours: Vec<String>,
    /// Ours, but kept for a reason given in the entry (e.g. a cluster holding a foreign service).
    pub kept: Vec<String>,
    pub slr: Option<SlrDeletion>,
    pub absorbed: Vec<AbsorbedError>,
    pub elapsed: Duration,
}

struct Record<'a> {
    progress: &'a Progress,
    deleted: Mutex<Vec<String>>,
    not_ours: Mutex<Vec<String>>,
    kept: Mutex<Vec<String>>,
}

impl Record<'_> {
    fn push(list: &Mutex<Vec<String>>, entry: String) {
        if let Ok(mut l) = list.lock() {
            l.push(entry);
        }
    }

    /// Deletes when ours, reports otherwise.
    async fn delete<F>(&self, kind: &str, name: &str, ours: bool, fut: F) -> Result<(), Error>
    where
        F: std::future::Future<Output = Result<(), Error>>,
    {
        let start = Instant::now();
        let label = format!("{kind} {name}");
        if !ours {
            self.progress.emit(
                kind,
                name,
                "not ours (no ownership tag): skipped",
                start.elapsed(),
            );
            Self::push(&self.not_ours, label);
            return Ok(());
        }
        match fut.await {
            Ok(()) => {
                self.progress.emit(kind, name, "deleted", start.elapsed());
                Self::push(&self.deleted, label);
                Ok(())
            }
            Err(e) => {
                self.progress
                    .emit(kind, name, &format!("failed: {e}"), start.elapsed());
                Err(e)
            }
        }
    }

    fn keep(&self, kind: &str, name: &str, why: &str) {
        self.progress
            .emit(kind, name, &format!("kept: {why}"), Duration::ZERO);
        Self::push(&self.kept, format!("{kind} {name} ({why})"));
    }
}

pub async fn destroy(ctx: Ctx<'_>, opts: &DestroyOptions) -> Result<DestroyReport, Error> {
    let start = Instant::now();
    let n = ctx.names;
    let (o, tds) = futures::try_join!(
        observe(ctx, false),
        task_definition::find_all(ctx, &n.task_family)
    )?;
    let rec = Record {
        progress: &opts.progress,
        deleted: Mutex::default(),
        not_ours: Mutex::default(),
        kept: Mutex::default(),
    };

    // 1. The service.
    let mut foreign_service = None;
    if let Some(s) = &o.service {
        let ours = n.is_ours(&s.tags);
        if !ours {
            foreign_service = Some(s.name.clone());
        }
        rec.delete(
            service::KIND,
            &s.name,
            ours,
            service::delete(ctx, &n.cluster, s),
        )
        .await?;
    }

    // 2. Everything else the service used, in parallel.
    let cluster_f = async {
        let Some(c) = &o.cluster else { return Ok(()) };
        match &foreign_service {
            Some(svc) if n.is_ours(&c.tags) => {
                rec.keep(
                    cluster::KIND,
                    &c.name,
                    &format!("it still holds service {svc}, which is not ours"),
                );
                Ok(())
            }
            _ => {
                rec.delete(
                    cluster::KIND,
                    &c.name,
                    n.is_ours(&c.tags),
                    cluster::delete(ctx, c),
                )
                .await
            }
        }
    };
    let tds_f = async {
        for t in &tds {
            let name = format!("{}:{}", t.family, t.revision);
            rec.delete(
                task_definition::KIND,
                &name,
                n.is_ours(&t.tags),
                task_definition::delete(ctx, t),
            )
            .await?;
        }
        Ok::<(), Error>(())
    };
    let ecr_f = async {
        let Some(r) = &o.ecr else { return Ok(()) };
        rec.delete(
            ecr_repository::KIND,
            &r.name,
            n.is_ours(&r.tags),
            ecr_repository::delete(ctx, r),
        )
        .await
    };
    let exec_f = async {
        let Some(r) = &o.execution_role else {
            return Ok(());
        };
        rec.delete(
            execution_role::KIND,
            &r.name,
            n.is_ours(&r.tags),
            execution_role::delete(ctx, r),
        )
        .await
    };
    let task_f = async {
        let Some(r) = &o.task_role else { return Ok(()) };
        rec.delete(
            task_role::KIND,
            &r.name,
            n.is_ours(&r.tags),
            task_role::delete(ctx, r),
        )
        .await
    };
    let logs_f = async {
        let Some(l) = &o.log_group else { return Ok(()) };
        rec.delete(
            log_group::KIND,
            &l.name,
            n.is_ours(&l.tags),
            log_group::delete(ctx, l),
        )
        .await
    };
    let results = futures::join!(cluster_f, tds_f, ecr_f, exec_f, task_f, logs_f);
    let mut errors = [
        results.0.err(),
        results.1.err(),
        results.2.err(),
        results.3.err(),
        results.4.err(),
        results.5.err(),
    ]
    .into_iter()
    .flatten();
    if let Some(first) = errors.next() {
        for other in errors {
            tracing::error!("also failed: {other}");
        }
        return Err(first);
    }

    // 3. The service-linked role, only when asked.
    let mut slr = None;
    if opts.delete_service_linked_role {
        let found = match &o.slr {
            Some(s) => Some(s.clone()),
            None => service_linked_role::find(ctx).await?,
        };
        if let Some(role) = found {
            let t = Instant::now();
            match service_linked_role::delete(ctx, &role).await {
                Ok(d) => {
                    opts.progress.emit(
                        service_linked_role::KIND,
                        &role.name,
                        "deleted",
                        t.elapsed(),
                    );
                    Record::push(
                        &rec.deleted,
                        format!("{} {}", service_linked_role::KIND, role.name),
                    );
                    slr = d;
                }
                Err(e) => {
                    opts.progress.emit(
                        service_linked_role::KIND,
                        &role.name,
                        &format!("failed: {e}"),
                        t.elapsed(),
                    );
                    return Err(e);
                }
            }
        }
    }

    Ok(DestroyReport {
        deleted: rec.deleted.into_inner().unwrap_or_default(),
        not_ours: rec.not_ours.into_inner().unwrap_or_default(),
        kept: rec.kept.into_inner().unwrap_or_default(),
        slr,
        absorbed: ctx.retry.absorbed(),
        elapsed: start.elapsed(),
    })
}
