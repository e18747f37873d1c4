//! Why this file exists: the ECS service `{project}-{env}-service` (overridable) runs the task
//! definition on FARGATE through the cluster's capacity provider strategy, in awsvpc mode with
//! the resolved subnets and security groups. CreateService is where the seed's first-apply
//! failure happens; it goes through the retry catalogue. Delete = scale to 0, DeleteService,
//! wait INACTIVE.
//!
//! A deleted service stays `DRAINING` for a while before it is `INACTIVE`
//! (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html; Terraform's
//! `waitServiceInactive`, internal/service/ecs/wait.go). Meanwhile a CreateService of the same
//! name answers "Creation of service was not idempotent." (terraform-provider-aws#2283), so
//! plan and apply count a DRAINING namesake as absent, and create waits (retries on) until it is
//! INACTIVE before calling CreateService.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration, ServiceField};
use futures::future::{BoxFuture, FutureExt};

use super::cluster::{ecs_tags, show_strategy, strategy_items, Strategy};
use super::network::Network;
use super::task_definition::{Expect, TaskDefinition};
use super::{diff_tags, diff_value, missing_tags, show_list, sorted, AttrDiff, Ctx};
use super::{Known, Receipt, Resource};
use crate::error::{aws, Error};
use crate::retry::CODE_CLUSTER_NOT_FOUND;

pub const KIND: &str = "ecs_service";
pub const STATUS_INACTIVE: &str = "INACTIVE";
pub const STATUS_DRAINING: &str = "DRAINING";
pub const CODE_SERVICE_NOT_FOUND: &str = "ServiceNotFoundException";
pub const CODE_SERVICE_NOT_ACTIVE: &str = "ServiceNotActiveException";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub task_definition: Option<String>,
    pub desired_count: i32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<String>,
    pub strategy: Strategy,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub name: String,
    pub cluster: String,
    pub task_definition: Expect,
    pub desired_count: i32,
    pub network: Network,
    pub assign_public_ip: String,
    pub strategy: Strategy,
    pub tags: BTreeMap<String, String>,
}

/// `task_definition`: the revision the service must run ([`Expect::Unknown`] when apply will
/// register a new one).
pub fn desired(ctx: Ctx<'_>, task_definition: Expect, network: &Network) -> Desired {
    let n = ctx.names;
    Desired {
        name: n.service.clone(),
        cluster: n.cluster.clone(),
        task_definition,
        desired_count: ctx.spec.service.desired_count as i32,
        network: network.clone(),
        assign_public_ip: if ctx.spec.service.assign_public_ip {
            "ENABLED"
        } else {
            "DISABLED"
        }
        .to_owned(),
        strategy: super::cluster::desired(ctx).default_strategy,
        tags: n.tags(ctx.spec, &n.service),
    }
}

fn observed_from(s: &aws_sdk_ecs::types::Service) -> Observed {
    let vpc = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    Observed {
        name: s.service_name().unwrap_or_default().to_owned(),
        arn: s.service_arn().unwrap_or_default().to_owned(),
        status: s.status().unwrap_or_default().to_owned(),
        task_definition: s.task_definition().map(str::to_owned),
        desired_count: s.desired_count(),
        subnets: sorted(vpc.map(|v| v.subnets().to_vec()).unwrap_or_default()),
        security_groups: sorted(
            vpc.map(|v| v.security_groups().to_vec())
                .unwrap_or_default(),
        ),
        assign_public_ip: vpc
            .and_then(|v| v.assign_public_ip())
            .map(|a| a.as_str().to_owned()),
        strategy: s
            .capacity_provider_strategy()
            .iter()
            .map(|i| (i.capacity_provider().to_owned(), i.base(), i.weight()))
            .collect(),
        tags: s
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

/// DescribeServices; INACTIVE (deleted) or a missing cluster count as absent.
pub async fn find(ctx: Ctx<'_>, cluster: &str, name: &str) -> Result<Option<Observed>, Error> {
    let out = match ctx
        .clients
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(ServiceField::Tags)
        .send()
        .await
        .map_err(aws("DescribeServices"))
    {
        Ok(o) => o,
        Err(e) if e.code == CODE_CLUSTER_NOT_FOUND => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(out
        .services()
        .iter()
        .find(|s| s.service_name() == Some(name) && s.status() != Some(STATUS_INACTIVE))
        .map(observed_from))
}

pub fn diff(o: &Observed, d: &Desired) -> Vec<AttrDiff> {
    let mut out = Vec::new();
    if !d.task_definition.matches(o.task_definition.as_deref()) {
        out.push(AttrDiff::new(
            "task_definition",
            o.task_definition.clone(),
            Some(d.task_definition.show()),
        ));
    }
    diff_value(
        &mut out,
        "desired_count",
        &o.desired_count,
        &d.desired_count,
        |v| v.to_string(),
    );
    diff_value(
        &mut out,
        "network.subnets",
        &o.subnets,
        &d.network.subnets,
        |v| show_list(v),
    );
    diff_value(
        &mut out,
        "network.security_groups",
        &o.security_groups,
        &d.network.security_groups,
        |v| show_list(v),
    );
    diff_value(
        &mut out,
        "network.assign_public_ip",
        &o.assign_public_ip,
        &Some(d.assign_public_ip.clone()),
        |v| v.clone().unwrap_or_else(|| "DISABLED".into()),
    );
    // We always create the service with a strategy and AWS always reports it; an empty list
    // means the endpoint does not report it (moto drops it), so it is not drift.
    if !o.strategy.is_empty() {
        diff_value(
            &mut out,
            "capacity_provider_strategy",
            &o.strategy,
            &d.strategy,
            show_strategy,
        );
    }
    diff_tags(&mut out, &o.tags, &d.tags);
    out
}

fn network_configuration(d: &Desired) -> Result<NetworkConfiguration, Error> {
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(d.network.subnets.clone()))
        .set_security_groups(Some(d.network.security_groups.clone()))
        .assign_public_ip(AssignPublicIp::from(d.assign_public_ip.as_str()))
        .build()
        .map_err(|e| Error::Internal(format!("awsvpc configuration: {e}")))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

fn exact_td(d: &Desired) -> Result<String, Error> {
    d.task_definition
        .exact_value()
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::Internal("service: task definition ARN unknown at create time".into())
        })
}

/// What plan and apply see: like [`find`], a DRAINING service (deleted moments ago) is absent.
pub async fn find_live(ctx: Ctx<'_>, cluster: &str, name: &str) -> Result<Option<Observed>, Error> {
    Ok(find(ctx, cluster, name)
        .await?
        .filter(|s| s.status != STATUS_DRAINING))
}

/// Waits until no namesake of the service is DRAINING (INACTIVE or gone), bounded by the delete
/// timeout. Only with retries on: with `--no-retry` CreateService's "not idempotent" surfaces
/// verbatim.
pub async fn wait_not_draining(ctx: Ctx<'_>, cluster: &str, name: &str) -> Result<(), Error> {
    if !ctx.retry.policy().enabled {
        return Ok(());
    }
    let timeout = ctx.retry.policy().delete_timeout;
    ctx.retry
        .wait_for(
            &format!(
                "service {name}, deleted moments ago and still DRAINING, to become INACTIVE \
                 (ECS refuses to create its namesake before: \"Creation of service was not \
                 idempotent.\"); raise --retry-timeout or apply again later"
            ),
            timeout,
            || async move {
                let s = find(ctx, cluster, name).await?;
                let draining = s.is_some_and(|s| s.status == STATUS_DRAINING);
                if draining {
                    tracing::info!(service = name, "waiting for the DRAINING namesake");
                }
                Ok((!draining).then_some(()))
            },
        )
        .await
}

/// CreateService through the retry catalogue (the seed's failure lives here), after any
/// DRAINING namesake is INACTIVE.
pub async fn create(ctx: Ctx<'_>, d: &Desired) -> Result<Observed, Error> {
    wait_not_draining(ctx, &d.cluster, &d.name).await?;
    let td = exact_td(d)?;
    let network = network_configuration(d)?;
    let strategy = strategy_items(&d.strategy)?;
    let out = ctx
        .retry
        .call(|| async {
            ctx.clients
                .ecs
                .create_service()
                .cluster(&d.cluster)
                .service_name(&d.name)
                .task_definition(&td)
                .desired_count(d.desired_count)
                .set_capacity_provider_strategy(Some(strategy.clone()))
                .network_configuration(network.clone())
                .set_tags(Some(ecs_tags(&d.tags)))
                .send()
                .await
                .map_err(aws("CreateService"))
        })
        .await?;
    out.service()
        .map(observed_from)
        .ok_or_else(|| Error::Internal("CreateService returned no service".into()))
}

pub async fn update(ctx: Ctx<'_>, o: &Observed, d: &Desired) -> Result<Observed, Error> {
    let diffs = diff(o, d);
    if diffs.iter().any(|x| !x.attribute.starts_with("tags.")) {
        let strategy_changed = !o.strategy.is_empty() && o.strategy != d.strategy;
        let mut req = ctx
            .clients
            .ecs
            .update_service()
            .cluster(&d.cluster)
            .service(&d.name)
            .task_definition(exact_td(d)?)
            .desired_count(d.desired_count)
            .network_configuration(network_configuration(d)?);
        if strategy_changed {
            req = req
                .set_capacity_provider_strategy(Some(strategy_items(&d.strategy)?))
                .force_new_deployment(true);
        }
        req.send().await.map_err(aws("UpdateService"))?;
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
    find(ctx, &d.cluster, &d.name)
        .await?
        .ok_or_else(|| Error::Internal(format!("service {} vanished during update", d.name)))
}

/// Scale to 0, DeleteService (absorbing "deployments are active"), wait INACTIVE.
pub async fn delete(ctx: Ctx<'_>, cluster: &str, o: &Observed) -> Result<(), Error> {
    let gone = |code: Option<&str>| {
        matches!(
            code,
            Some(CODE_SERVICE_NOT_FOUND)
                | Some(CODE_SERVICE_NOT_ACTIVE)
                | Some(CODE_CLUSTER_NOT_FOUND)
        )
    };
    if o.status == "ACTIVE" {
        if o.desired_count > 0 {
            match ctx
                .clients
                .ecs
                .update_service()
                .cluster(cluster)
                .service(&o.name)
                .desired_count(0)
                .send()
                .await
                .map_err(aws("UpdateService"))
            {
                Err(e) if gone(Some(&e.code)) => return Ok(()),
                r => {
                    r?;
                }
            }
        }
        let r = ctx
            .retry
            .call(|| async {
                ctx.clients
                    .ecs
                    .delete_service()
                    .cluster(cluster)
                    .service(&o.name)
                    .send()
                    .await
                    .map_err(aws("DeleteService"))
            })
            .await;
        match r {
            Err(e) if gone(e.aws_code()) => return Ok(()),
            r => {
                r?;
            }
        }
    }
    wait_inactive(ctx, cluster, &o.name).await
}

pub async fn wait_inactive(ctx: Ctx<'_>, cluster: &str, name: &str) -> Result<(), Error> {
    let timeout = ctx.retry.policy().delete_timeout;
    ctx.retry
        .wait_for(
            &format!("service {name} to become INACTIVE"),
            timeout,
            || async move { Ok(find(ctx, cluster, name).await?.is_none().then_some(())) },
        )
        .await
}

/// The service as a [`Resource`].
pub struct Service;

impl Resource for Service {
    type Observed = Observed;
    type Desired = Desired;

    fn kind(&self) -> &'static str {
        KIND
    }
    fn noun(&self) -> &'static str {
        "service"
    }
    /// Runs the known task definition revision ([`Expect::Unknown`] until it is known).
    fn desired(&self, ctx: Ctx<'_>, known: &Known) -> Desired {
        let td = known
            .get(&TaskDefinition)
            .map(|t| Expect::exact(t.arn.clone()))
            .unwrap_or(Expect::Unknown);
        desired(ctx, td, &known.network.clone().unwrap_or_default())
    }
    fn desired_name(&self, d: &Desired) -> String {
        d.name.clone()
    }
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        find_live(ctx, &ctx.names.cluster, &ctx.names.service).boxed()
    }
    fn diff(&self, o: &Observed, d: &Desired) -> Vec<AttrDiff> {
        diff(o, d)
    }
    fn create_attributes(&self, d: &Desired) -> Vec<AttrDiff> {
        vec![
            AttrDiff::set("cluster", d.cluster.clone()),
            AttrDiff::set("task_definition", d.task_definition.show()),
            AttrDiff::set("desired_count", d.desired_count.to_string()),
            AttrDiff::set("capacity_provider_strategy", show_strategy(&d.strategy)),
            AttrDiff::set("network.subnets", show_list(&d.network.subnets)),
            AttrDiff::set(
                "network.security_groups",
                show_list(&d.network.security_groups),
            ),
            AttrDiff::set("network.assign_public_ip", d.assign_public_ip.clone()),
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
        delete(ctx, &ctx.names.cluster, o)
            .map(|r| r.map(|()| None))
            .boxed()
    }
    fn tags<'a>(&self, o: &'a Observed) -> Option<&'a BTreeMap<String, String>> {
        Some(&o.tags)
    }
    fn name(&self, o: &Observed) -> String {
        o.name.clone()
    }
    fn output_names(&self) -> &'static [&'static str] {
        &["ecs_service_arn"]
    }
    fn outputs(&self, o: &Observed) -> Vec<(&'static str, String)> {
        vec![("ecs_service_arn", o.arn.clone())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Desired {
        Desired {
            name: "s".into(),
            cluster: "c".into(),
            task_definition: Expect::exact("arn:td:1"),
            desired_count: 1,
            network: Network {
                subnets: vec!["subnet-1".into()],
                security_groups: vec!["sg-1".into()],
                vpc_id: None,
            },
            assign_public_ip: "ENABLED".into(),
            strategy: vec![("FARGATE".into(), 1, 100)],
            tags: BTreeMap::new(),
        }
    }

    fn observed() -> Observed {
        Observed {
            name: "s".into(),
            arn: "arn:s".into(),
            status: "ACTIVE".into(),
            task_definition: Some("arn:td:1".into()),
            desired_count: 1,
            subnets: vec!["subnet-1".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: Some("ENABLED".into()),
            strategy: vec![("FARGATE".into(), 1, 100)],
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn converged_service_has_no_diff() {
        assert!(diff(&observed(), &desired()).is_empty());
    }

    #[test]
    fn network_and_strategy_drift() {
        let mut o = observed();
        o.security_groups = vec!["sg-2".into()];
        o.strategy = vec![("FARGATE_SPOT".into(), 0, 1)];
        o.assign_public_ip = None;
        let attrs: Vec<String> = diff(&o, &desired())
            .into_iter()
            .map(|a| a.attribute)
            .collect();
        assert_eq!(
            attrs,
            [
                "network.security_groups",
                "network.assign_public_ip",
                "capacity_provider_strategy"
            ]
        );
    }

    #[test]
    fn an_unreported_strategy_is_not_drift() {
        let mut o = observed();
        o.strategy.clear();
        assert!(diff(&o, &desired()).is_empty());
    }
}
