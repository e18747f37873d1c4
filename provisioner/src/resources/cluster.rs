//! Why this file exists: the ECS cluster `{project}-{env}-cluster`, with its Container Insights
//! setting, its capacity providers (FARGATE, FARGATE_SPOT) and its default capacity provider
//! strategy. CreateCluster is where AWS implicitly creates the service-linked role.
//!
//! A cluster just created is not yet known to the rest of ECS for a moment: DescribeClusters
//! lists it under `failures` with reason `MISSING`, PutClusterCapacityProviders answers
//! `ClusterNotFoundException`. With retries on, create reads the new cluster back until it is
//! known (Terraform's `waitClusterAvailable`, internal/service/ecs/wait.go) and converges
//! capacity providers the create answer lacks, absorbing both as propagation.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ClusterField, ClusterSetting, ClusterSettingName, Tag,
};

use futures::future::{BoxFuture, FutureExt};

use super::{diff_tags, diff_value, missing_tags, show_list, sorted, AttrDiff, Ctx};
use super::{Known, Receipt, Resource};
use crate::error::AwsError;
use crate::error::{aws, Error};
use crate::retry::{CODE_CLUSTER_NOT_FOUND, FAILURE_MISSING};

pub const KIND: &str = "ecs_cluster";
pub const STATUS_INACTIVE: &str = "INACTIVE";

/// (capacity provider, base, weight)
pub type Strategy = Vec<(String, i32, i32)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub name: String,
    pub arn: String,
    pub status: String,
    /// `enabled` / `disabled` / `enhanced`; `None` when AWS reports no setting.
    pub container_insights: Option<String>,
    pub capacity_providers: Vec<String>,
    pub default_strategy: Strategy,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub name: String,
    pub container_insights: String,
    pub capacity_providers: Vec<String>,
    pub default_strategy: Strategy,
    pub tags: BTreeMap<String, String>,
}

pub fn desired(ctx: Ctx<'_>) -> Desired {
    let c = &ctx.spec.cluster;
    Desired {
        name: ctx.names.cluster.clone(),
        container_insights: if c.container_insights {
            "enabled"
        } else {
            "disabled"
        }
        .to_owned(),
        capacity_providers: sorted(
            c.capacity_providers
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        ),
        default_strategy: c
            .default_capacity_provider_strategy
            .iter()
            .map(|s| {
                (
                    s.capacity_provider.as_str().to_owned(),
                    s.base as i32,
                    s.weight as i32,
                )
            })
            .collect(),
        tags: ctx.names.tags(ctx.spec, &ctx.names.cluster),
    }
}

fn observed_from(c: &aws_sdk_ecs::types::Cluster) -> Observed {
    Observed {
        name: c.cluster_name().unwrap_or_default().to_owned(),
        arn: c.cluster_arn().unwrap_or_default().to_owned(),
        status: c.status().unwrap_or_default().to_owned(),
        container_insights: c
            .settings()
            .iter()
            .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
            .and_then(|s| s.value().map(str::to_owned)),
        capacity_providers: sorted(c.capacity_providers().to_vec()),
        default_strategy: c
            .default_capacity_provider_strategy()
            .iter()
            .map(|s| (s.capacity_provider().to_owned(), s.base(), s.weight()))
            .collect(),
        tags: c
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
    }
}

/// DescribeClusters; an INACTIVE cluster counts as absent.
pub async fn find(ctx: Ctx<'_>, name: &str) -> Result<Option<Observed>, Error> {
    Ok(describe(ctx, name).await?)
}

async fn describe(ctx: Ctx<'_>, name: &str) -> Result<Option<Observed>, AwsError> {
    let out = ctx
        .clients
        .ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await
        .map_err(aws("DescribeClusters"))?;
    Ok(out
        .clusters()
        .iter()
        .find(|c| c.cluster_name() == Some(name) && c.status() != Some(STATUS_INACTIVE))
        .map(observed_from))
}

/// The cluster we just created, read back: absent (listed `MISSING`) is propagation lag, an
/// error with code [`FAILURE_MISSING`] the retrier absorbs after our create.
async fn read_after_create(ctx: Ctx<'_>, name: &str) -> Result<Observed, Error> {
    ctx.retry
        .call_after_create(|| async {
            describe(ctx, name).await?.ok_or_else(|| {
                AwsError::new(
                    "DescribeClusters",
                    FAILURE_MISSING,
                    &format!("cluster {name} we just created is listed under failures (MISSING)"),
                )
            })
        })
        .await
}

pub fn diff(o: &Observed, d: &Desired) -> Vec<AttrDiff> {
    let mut out = Vec::new();
    let insights = o
        .container_insights
        .clone()
        .unwrap_or_else(|| "disabled".into());
    diff_value(
        &mut out,
        "container_insights",
        &insights,
        &d.container_insights,
        |s| s.clone(),
    );
    diff_value(
        &mut out,
        "capacity_providers",
        &o.capacity_providers,
        &d.capacity_providers,
        |v| show_list(v),
    );
    diff_value(
        &mut out,
        "default_capacity_provider_strategy",
        &o.default_strategy,
        &d.default_strategy,
        show_strategy,
    );
    diff_tags(&mut out, &o.tags, &d.tags);
    out
}

pub fn show_strategy(s: &Strategy) -> String {
    show_list(
        &s.iter()
            .map(|(p, b, w)| format!("{p} base={b} weight={w}"))
            .collect::<Vec<_>>(),
    )
}

pub fn strategy_items(s: &Strategy) -> Result<Vec<CapacityProviderStrategyItem>, Error> {
    s.iter()
        .map(|(p, b, w)| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(p)
                .base(*b)
                .weight(*w)
                .build()
                .map_err(|e| Error::Internal(format!("capacity provider strategy: {e}")))
        })
        .collect()
}

pub fn ecs_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn insights_setting(value: &str) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(value)
        .build()
}

pub async fn create(ctx: Ctx<'_>, d: &Desired) -> Result<Observed, Error> {
    let strategy = strategy_items(&d.default_strategy)?;
    let out = ctx
        .retry
        .call(|| async {
            ctx.clients
                .ecs
                .create_cluster()
                .cluster_name(&d.name)
                .settings(insights_setting(&d.container_insights))
                .set_capacity_providers(Some(d.capacity_providers.clone()))
                .set_default_capacity_provider_strategy(Some(strategy.clone()))
                .set_tags(Some(ecs_tags(&d.tags)))
                .send()
                .await
                .map_err(aws("CreateCluster"))
        })
        .await?;
    let created = out
        .cluster()
        .map(observed_from)
        .ok_or_else(|| Error::Internal("CreateCluster returned no cluster".into()))?;
    // With --no-retry nothing is waited out: the create answer is what we know.
    if !ctx.retry.policy().enabled {
        return Ok(created);
    }
    let read = read_after_create(ctx, &d.name).await?;
    if read.capacity_providers == d.capacity_providers
        && read.default_strategy == d.default_strategy
    {
        return Ok(read);
    }
    // An endpoint that ignored the providers on create: put them, the cluster still propagating.
    put_capacity_providers(
        ctx,
        &d.name,
        &d.capacity_providers,
        &d.default_strategy,
        true,
    )
    .await?;
    read_after_create(ctx, &d.name).await
}

pub async fn update(ctx: Ctx<'_>, o: &Observed, d: &Desired) -> Result<Observed, Error> {
    if o.container_insights.as_deref().unwrap_or("disabled") != d.container_insights {
        // UpdateCluster(settings), not UpdateClusterSettings: the same change on AWS, and the
        // only one of the two that moto implements (UpdateClusterSettings is an HTTP 500 there).
        ctx.clients
            .ecs
            .update_cluster()
            .cluster(&d.name)
            .settings(insights_setting(&d.container_insights))
            .send()
            .await
            .map_err(aws("UpdateCluster"))?;
    }
    if o.capacity_providers != d.capacity_providers || o.default_strategy != d.default_strategy {
        put_capacity_providers(
            ctx,
            &d.name,
            &d.capacity_providers,
            &d.default_strategy,
            false,
        )
        .await?;
    }
    let tags = missing_tags(&o.tags, &d.tags);
    if !tags.is_empty() {
        ctx.clients
            .ecs
            .tag_resource()
            .resource_arn(&o.arn)
            .set_tags(Some(ecs_tags(&tags)))
            .send()
            .await
            .map_err(aws("TagResource"))?;
    }
    find(ctx, &d.name)
        .await?
        .ok_or_else(|| Error::Internal(format!("cluster {} vanished during update", d.name)))
}

/// PutClusterCapacityProviders through the retrier; `after_create`: right after our
/// CreateCluster ("Cluster not found." is then propagation).
async fn put_capacity_providers(
    ctx: Ctx<'_>,
    cluster: &str,
    providers: &[String],
    strategy: &Strategy,
    after_create: bool,
) -> Result<(), Error> {
    let items = strategy_items(strategy)?;
    let put = || async {
        ctx.clients
            .ecs
            .put_cluster_capacity_providers()
            .cluster(cluster)
            .set_capacity_providers(Some(providers.to_vec()))
            .set_default_capacity_provider_strategy(Some(items.clone()))
            .send()
            .await
            .map_err(aws("PutClusterCapacityProviders"))
    };
    if after_create {
        ctx.retry.call_after_create(put).await?;
    } else {
        ctx.retry.call(put).await?;
    }
    Ok(())
}

/// Detaches the capacity providers, deletes the cluster, waits until it is INACTIVE or gone.
/// The caller has checked ownership.
pub async fn delete(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    if !o.capacity_providers.is_empty() || !o.default_strategy.is_empty() {
        match put_capacity_providers(ctx, &o.name, &[], &vec![], false).await {
            Err(e) if e.aws_code() == Some(CODE_CLUSTER_NOT_FOUND) => return Ok(()),
            r => r?,
        }
    }
    let deleted = ctx
        .retry
        .call(|| async {
            ctx.clients
                .ecs
                .delete_cluster()
                .cluster(&o.name)
                .send()
                .await
                .map_err(aws("DeleteCluster"))
        })
        .await;
    match deleted {
        Err(e) if e.aws_code() == Some(CODE_CLUSTER_NOT_FOUND) => return Ok(()),
        r => {
            r?;
        }
    }
    wait_inactive(ctx, &o.name).await
}

pub async fn wait_inactive(ctx: Ctx<'_>, name: &str) -> Result<(), Error> {
    let timeout = ctx.retry.policy().delete_timeout;
    ctx.retry
        .wait_for(
            &format!("cluster {name} to become INACTIVE"),
            timeout,
            || async move { Ok(find(ctx, name).await?.is_none().then_some(())) },
        )
        .await
}

/// The cluster as a [`Resource`].
pub struct Cluster;

impl Resource for Cluster {
    type Observed = Observed;
    type Desired = Desired;

    fn kind(&self) -> &'static str {
        KIND
    }
    fn desired(&self, ctx: Ctx<'_>, _known: &Known) -> Desired {
        desired(ctx)
    }
    fn desired_name(&self, d: &Desired) -> String {
        d.name.clone()
    }
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        find(ctx, &ctx.names.cluster).boxed()
    }
    fn diff(&self, o: &Observed, d: &Desired) -> Vec<AttrDiff> {
        diff(o, d)
    }
    fn create_attributes(&self, d: &Desired) -> Vec<AttrDiff> {
        vec![
            AttrDiff::set("container_insights", d.container_insights.clone()),
            AttrDiff::set("capacity_providers", show_list(&d.capacity_providers)),
            AttrDiff::set(
                "default_capacity_provider_strategy",
                show_strategy(&d.default_strategy),
            ),
        ]
    }
    fn create<'a>(
        &'a self,
        ctx: Ctx<'a>,
        d: &'a Desired,
    ) -> BoxFuture<'a, Result<Observed, Error>> {
        create(ctx, d).boxed()
    }
    fn update<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Observed,
        d: &'a Desired,
    ) -> BoxFuture<'a, Result<Observed, Error>> {
        update(ctx, o, d).boxed()
    }
    fn delete<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Observed,
    ) -> BoxFuture<'a, Result<Receipt, Error>> {
        delete(ctx, o).map(|r| r.map(|()| None)).boxed()
    }
    fn tags<'a>(&self, o: &'a Observed) -> Option<&'a BTreeMap<String, String>> {
        Some(&o.tags)
    }
    fn name(&self, o: &Observed) -> String {
        o.name.clone()
    }
    fn output_names(&self) -> &'static [&'static str] {
        &["ecs_cluster_id", "ecs_cluster_arn"]
    }
    fn outputs(&self, o: &Observed) -> Vec<(&'static str, String)> {
        // As in Terraform, a cluster's id is its ARN.
        vec![
            ("ecs_cluster_id", o.arn.clone()),
            ("ecs_cluster_arn", o.arn.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insights_providers_strategy_and_tags_are_compared() {
        let d = Desired {
            name: "c".into(),
            container_insights: "enabled".into(),
            capacity_providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
            default_strategy: vec![("FARGATE".into(), 1, 100)],
            tags: BTreeMap::from([("provisioner:stack".into(), "p-dev".into())]),
        };
        let mut o = Observed {
            name: "c".into(),
            arn: "arn:c".into(),
            status: "ACTIVE".into(),
            container_insights: Some("enabled".into()),
            capacity_providers: d.capacity_providers.clone(),
            default_strategy: d.default_strategy.clone(),
            tags: d.tags.clone(),
        };
        assert!(diff(&o, &d).is_empty());
        o.container_insights = None; // AWS reports no setting = disabled
        o.capacity_providers = vec!["FARGATE".into()];
        o.default_strategy = vec![];
        let attrs: Vec<String> = diff(&o, &d).into_iter().map(|a| a.attribute).collect();
        assert_eq!(
            attrs,
            [
                "container_insights",
                "capacity_providers",
                "default_capacity_provider_strategy"
            ]
        );
        assert_eq!(diff(&o, &d)[0].before.as_deref(), Some("disabled"));
    }
}
