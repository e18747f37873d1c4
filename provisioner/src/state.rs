//! Why this file exists: there is no state file. "What exists" is read from the account on every
//! run, by deterministic names, with Describe/Get/List calls only. plan, apply, destroy and
//! output all start from this one read.

use serde_json::Value;

use crate::error::Error;
use crate::resources::network::Network;
use crate::resources::{
    cluster, ecr_repository, execution_role, log_group, network, service, service_linked_role,
    task_definition, task_role, Ctx,
};
use crate::spec::SlrMode;

/// Everything found under the stack's names.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub slr: Option<service_linked_role::Observed>,
    pub cluster: Option<cluster::Observed>,
    pub execution_role: Option<execution_role::Observed>,
    pub task_role: Option<task_role::Observed>,
    pub ecr: Option<ecr_repository::Observed>,
    /// Normalized repository policy.
    pub ecr_policy: Option<Value>,
    pub log_group: Option<log_group::Observed>,
    /// Latest ACTIVE revision of the family.
    pub task_definition: Option<task_definition::Observed>,
    pub service: Option<service::Observed>,
    /// Resolved when asked for (plan/apply).
    pub network: Option<Network>,
}

/// Reads the account. `with_network`: also resolve subnets/security groups (EC2 only when the
/// spec does not list them).
pub async fn observe(ctx: Ctx<'_>, with_network: bool) -> Result<Observed, Error> {
    let n = ctx.names;
    let slr = async {
        match ctx.spec.service_linked_role {
            SlrMode::Skip => Ok(None),
            SlrMode::Ensure | SlrMode::Implicit => service_linked_role::find(ctx).await,
        }
    };
    let ecr = async {
        match ecr_repository::find(ctx, &n.ecr_repository, false).await? {
            Some(r) => {
                let policy = ecr_repository::find_policy(ctx, &r.name).await?;
                Ok::<_, Error>((Some(r), policy))
            }
            None => Ok((None, None)),
        }
    };
    let net = async {
        if with_network {
            network::find(ctx).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (
        slr,
        cluster,
        execution_role,
        task_role,
        (ecr, ecr_policy),
        log_group,
        task_definition,
        service,
        network,
    ) = futures::try_join!(
        slr,
        cluster::find(ctx, &n.cluster),
        execution_role::find(ctx),
        task_role::find(ctx),
        ecr,
        log_group::find(ctx, &n.log_group),
        task_definition::find(ctx, &n.task_family),
        service::find(ctx, &n.cluster, &n.service),
        net,
    )?;
    Ok(Observed {
        slr,
        cluster,
        execution_role,
        task_role,
        ecr,
        ecr_policy,
        log_group,
        task_definition,
        service,
        network,
    })
}

/// Fails on the first resource under our name that lacks our ownership tag (apply/plan refuse
/// to touch it).
pub fn check_ownership(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    if let Some(c) = &o.cluster {
        cluster::check_ours(ctx, c)?;
    }
    if let Some(r) = &o.execution_role {
        execution_role::check_ours(ctx, r)?;
    }
    if let Some(r) = &o.task_role {
        task_role::check_ours(ctx, r)?;
    }
    if let Some(r) = &o.ecr {
        ecr_repository::check_ours(ctx, r)?;
    }
    if let Some(l) = &o.log_group {
        log_group::check_ours(ctx, l)?;
    }
    if let Some(t) = &o.task_definition {
        task_definition::check_ours(ctx, t)?;
    }
    if let Some(s) = &o.service {
        service::check_ours(ctx, s)?;
    }
    Ok(())
}
