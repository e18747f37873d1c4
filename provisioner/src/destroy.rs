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
//!
//! A resource that reads without our ownership tag is read once more before destroy leaves it
//! alone, and a tag seen in either read makes it ours ([`read_for_destroy`]): a backend can
//! answer one read without a field the resource has (moto 5.2.5 keeps ECS's `include=TAGS`
//! choice in one setting shared by the requests it serves at once, so a concurrent
//! DescribeClusters without `include` strips another's tags), and a destroy that took such an
//! answer at its word would skip the cluster and the service as not ours and report success.
//! Tags do not appear by mistake, so the second read can only turn "not ours" into "ours".

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
use crate::state::{find_all, observe, Observed};

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

/// The kinds whose value in `o` carries tags without our ownership tag.
fn read_as_not_ours(ctx: Ctx<'_>, o: &Observed) -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|row| {
            o.erased(row.kind())
                .and_then(|v| row.node.identity(v))
                .and_then(|(_, tags)| tags)
                .is_some_and(|tags| !ctx.names.is_ours(tags))
        })
        .map(|row| row.kind())
        .collect()
}

/// Takes from `again` every value of `kinds` that reads as ours there.
fn prefer_ours(ctx: Ctx<'_>, o: &mut Observed, again: &Observed, kinds: &[&'static str]) {
    for row in REGISTRY.iter().filter(|r| kinds.contains(&r.kind())) {
        let Some(value) = again.erased(row.kind()) else {
            continue;
        };
        let ours = row
            .node
            .identity(value)
            .and_then(|(_, tags)| tags)
            .is_some_and(|tags| ctx.names.is_ours(tags));
        if ours {
            tracing::warn!(
                kind = row.kind(),
                "read without our ownership tag, then with it: treated as ours"
            );
            o.set_erased(row.kind(), Some(value.clone()));
        }
    }
}

/// The read destroy starts from; what reads as not ours is read once more (see the file's
/// comment).
async fn read_for_destroy(
    ctx: Ctx<'_>,
) -> Result<(Observed, Vec<(&'static str, Vec<Erased>)>), Error> {
    let (mut o, all) = futures::try_join!(observe(ctx, false), find_all(ctx))?;
    let doubtful = read_as_not_ours(ctx, &o);
    if !doubtful.is_empty() {
        let again = observe(ctx, false).await?;
        prefer_ours(ctx, &mut o, &again, &doubtful);
    }
    Ok((o, all))
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
    let (mut observed, all) = read_for_destroy(ctx).await?;
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
    let (o, all) = read_for_destroy(ctx).await?;
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

    fn cluster_tagged(names: &Names, tags: BTreeMap<String, String>) -> cluster::Observed {
        cluster::Observed {
            name: names.cluster.clone(),
            arn: "arn:c".into(),
            status: "ACTIVE".into(),
            container_insights: None,
            capacity_providers: vec![],
            default_strategy: vec![],
            tags,
        }
    }

    /// What a [`Ctx`] borrows, for tests that make no AWS call (the endpoint is a closed port).
    struct Offline {
        clients: Clients,
        spec: StackSpec,
        names: Names,
        retry: Retrier,
    }

    impl Offline {
        fn new() -> Offline {
            let cfg = SdkConfig::builder()
                .endpoint_url("http://127.0.0.1:9")
                .region(Region::new("ap-northeast-1"))
                .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                    "a", "b", None, None, "t",
                )))
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build();
            let spec = StackSpec::example();
            Offline {
                clients: Clients::from_sdk_config(&cfg),
                names: Names::new(&spec, "ap-northeast-1"),
                spec,
                retry: Retrier::new(RetryPolicy::default()),
            }
        }

        fn ctx(&self) -> Ctx<'_> {
            Ctx {
                clients: &self.clients,
                spec: &self.spec,
                names: &self.names,
                retry: &self.retry,
            }
        }
    }

    /// A cluster read without its tags, then with ours, is ours; one that reads as someone
    /// else's twice stays theirs. Pure: no AWS call.
    #[test]
    fn a_second_read_with_our_tag_makes_a_resource_ours() {
        let offline = Offline::new();
        let (ctx, names) = (offline.ctx(), &offline.names);
        let ours = BTreeMap::from([(OWNERSHIP_TAG_KEY.into(), names.stack.clone())]);
        let theirs = BTreeMap::from([(OWNERSHIP_TAG_KEY.into(), "someone-else".into())]);
        let observed = |tags: BTreeMap<String, String>| {
            let mut o = Observed::default();
            o.set_erased(cluster::KIND, Some(Arc::new(cluster_tagged(names, tags))));
            o
        };
        let is_ours = |o: &Observed| read_as_not_ours(ctx, o).is_empty();

        let mut first = observed(BTreeMap::new());
        let doubtful = read_as_not_ours(ctx, &first);
        assert_eq!(doubtful, [cluster::KIND]);
        prefer_ours(ctx, &mut first, &observed(ours.clone()), &doubtful);
        assert!(is_ours(&first), "the second read's tag counts");

        let mut foreign = observed(theirs.clone());
        prefer_ours(ctx, &mut foreign, &observed(theirs), &[cluster::KIND]);
        assert!(
            !is_ours(&foreign),
            "read twice as someone else's: left alone"
        );

        let mut gone = observed(BTreeMap::new());
        prefer_ours(ctx, &mut gone, &Observed::default(), &[cluster::KIND]);
        assert!(
            !is_ours(&gone),
            "absent from the second read: the first read stands"
        );
    }

    /// No AWS call happens: the service is skipped (not ours), the cluster kept.
    #[tokio::test]
    async fn a_cluster_holding_a_service_that_is_not_ours_is_kept() {
        let offline = Offline::new();
        let (ctx, names) = (offline.ctx(), &offline.names);
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
