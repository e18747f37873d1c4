//! Why this file exists: deletes the stack in reverse dependency order (the destroy layers of
//! resources/registry.rs, each in parallel), waiting where AWS is
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
use crate::plan::{self, Plan};
use crate::progress::Progress;
use crate::resources::registry::{self, Row};
use crate::resources::service_linked_role::SlrDeletion;
use crate::resources::REGISTRY;
use crate::resources::{Ctx, Erased, Known, Receipt};
use crate::retry::{AbsorbedError, RetryPolicy};
use crate::state::{find_all, observe};

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

/// Deletes every instance of `row` that destroy finds (one after the other), keeping a parent
/// whose child was not ours. Returns the receipts of the deletions.
async fn delete_row(
    ctx: Ctx<'_>,
    rec: &Record<'_>,
    row: &'static Row,
    targets: Vec<Erased>,
    foreign: &Mutex<Vec<(&'static str, String)>>,
) -> Result<Vec<Receipt>, Error> {
    let n = ctx.names;
    let held_by = foreign.lock().map(|f| f.clone()).unwrap_or_default();
    let held_by = row
        .children()
        .find_map(|c| held_by.iter().find(|(k, _)| *k == c.kind()).map(|f| (c, f)));
    let mut receipts = Vec::new();
    for target in &targets {
        let Some((name, tags)) = row.node.identity(target) else {
            continue;
        };
        let ours = tags.is_none_or(|t| n.is_ours(t));
        if let (Some((child, (_, child_name))), true) = (held_by, ours) {
            let why = format!(
                "it still holds {} {child_name}, which is not ours",
                child.node.noun()
            );
            rec.keep(row.kind(), &name, &why);
            continue;
        }
        if !ours {
            if let Ok(mut f) = foreign.lock() {
                f.push((row.kind(), name.clone()));
            }
        }
        let mut receipt = None;
        rec.delete(row.kind(), &name, ours, async {
            receipt = row.node.delete(ctx, target).await?;
            Ok(())
        })
        .await?;
        receipts.push(receipt);
    }
    Ok(receipts)
}

/// What destroy deletes of `row`: every instance listed, else the one found (read again for
/// the kinds that ask for it).
async fn destroy_targets(
    ctx: Ctx<'_>,
    row: &'static Row,
    o: &Known,
    all: &[(&'static str, Vec<Erased>)],
) -> Result<Vec<Erased>, Error> {
    if all.iter().any(|(k, _)| *k == row.kind()) {
        return Ok(plan::targets(row, o, all));
    }
    let found = row
        .node
        .find_to_delete(ctx, o.erased(row.kind()).cloned())
        .await?;
    Ok(found.into_iter().collect())
}

/// The rows destroy walks, layer by layer (the service-linked role only when asked).
fn layers(opts: &DestroyOptions) -> Vec<Vec<&'static Row>> {
    registry::destroy_layers()
        .into_iter()
        .map(|l| {
            l.into_iter()
                .filter(|r| opts.delete_service_linked_role || !r.node.destroyed_on_request_only())
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// What destroy would delete (read-only calls only).
pub async fn plan(ctx: Ctx<'_>, on_request: bool) -> Result<Plan, Error> {
    let (mut observed, all) = futures::try_join!(observe(ctx, false), find_all(ctx))?;
    if on_request {
        for row in REGISTRY
            .iter()
            .filter(|r| r.node.destroyed_on_request_only())
        {
            let found = row
                .node
                .find_to_delete(ctx, observed.erased(row.kind()).cloned())
                .await?;
            observed.set_erased(row.kind(), found);
        }
    }
    Ok(plan::compute_destroy(ctx, &observed, &all, on_request))
}

pub async fn destroy(ctx: Ctx<'_>, opts: &DestroyOptions) -> Result<DestroyReport, Error> {
    let start = Instant::now();
    let (o, all) = futures::try_join!(observe(ctx, false), find_all(ctx))?;
    let rec = Record {
        progress: &opts.progress,
        deleted: Mutex::default(),
        not_ours: Mutex::default(),
        kept: Mutex::default(),
    };
    let foreign = Mutex::new(Vec::new());
    let mut receipts = Vec::new();
    for layer in layers(opts) {
        let runs = layer.iter().map(|row| async {
            let targets = destroy_targets(ctx, row, &o, &all).await?;
            delete_row(ctx, &rec, row, targets, &foreign).await
        });
        let mut errors = Vec::new();
        for result in futures::future::join_all(runs).await {
            match result {
                Ok(r) => receipts.extend(r.into_iter().flatten()),
                Err(e) => errors.push(e),
            }
        }
        let mut errors = errors.into_iter();
        if let Some(first) = errors.next() {
            for other in errors {
                tracing::error!("also failed: {other}");
            }
            return Err(first);
        }
    }
    Ok(DestroyReport {
        deleted: rec.deleted.into_inner().unwrap_or_default(),
        not_ours: rec.not_ours.into_inner().unwrap_or_default(),
        kept: rec.kept.into_inner().unwrap_or_default(),
        slr: receipts
            .into_iter()
            .find_map(|r| r.downcast::<SlrDeletion>().ok().map(|d| *d)),
        absorbed: ctx.retry.absorbed(),
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_credential_types::Credentials;
    use aws_types::region::Region;
    use aws_types::SdkConfig;

    use super::*;
    use crate::clients::Clients;
    use crate::names::{Names, OWNERSHIP_TAG_KEY};
    use crate::resources::{cluster, service};
    use crate::retry::Retrier;
    use crate::spec::StackSpec;

    fn row(kind: &str) -> &'static Row {
        REGISTRY.iter().find(|r| r.kind() == kind).unwrap()
    }

    /// No AWS call happens: the service is skipped (not ours), the cluster kept.
    #[tokio::test]
    async fn a_cluster_holding_a_service_that_is_not_ours_is_kept() {
        let cfg = SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:9")
            .region(Region::new("ap-northeast-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "a", "b", None, None, "t",
            )))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let clients = Clients::from_sdk_config(&cfg);
        let spec = StackSpec::example();
        let names = Names::new(&spec, "ap-northeast-1");
        let retry = Retrier::new(RetryPolicy::default());
        let ctx = Ctx {
            clients: &clients,
            spec: &spec,
            names: &names,
            retry: &retry,
        };
        let progress = Progress::silent();
        let rec = Record {
            progress: &progress,
            deleted: Mutex::default(),
            not_ours: Mutex::default(),
            kept: Mutex::default(),
        };
        let foreign = Mutex::new(Vec::new());
        let svc = service::Observed {
            name: "s".into(),
            arn: "arn:s".into(),
            status: "ACTIVE".into(),
            task_definition: None,
            desired_count: 1,
            subnets: vec![],
            security_groups: vec![],
            assign_public_ip: None,
            strategy: vec![],
            tags: BTreeMap::new(),
        };
        let cl = cluster::Observed {
            name: "c".into(),
            arn: "arn:c".into(),
            status: "ACTIVE".into(),
            container_insights: None,
            capacity_providers: vec![],
            default_strategy: vec![],
            tags: BTreeMap::from([(OWNERSHIP_TAG_KEY.into(), names.stack.clone())]),
        };
        let svc_row = row(service::KIND);
        delete_row(ctx, &rec, svc_row, vec![Arc::new(svc)], &foreign)
            .await
            .unwrap();
        let cluster_row = row(cluster::KIND);
        delete_row(ctx, &rec, cluster_row, vec![Arc::new(cl)], &foreign)
            .await
            .unwrap();
        assert_eq!(rec.not_ours.into_inner().unwrap(), ["ecs_service s"]);
        assert_eq!(
            rec.kept.into_inner().unwrap(),
            ["ecs_cluster c (it still holds service s, which is not ours)"]
        );
        assert!(rec.deleted.into_inner().unwrap().is_empty());
    }
}
