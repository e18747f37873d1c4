//! Why this file exists: the ECS service-linked role `AWSServiceRoleForECS` is the seed's story.
//! CreateCluster creates it implicitly, but CreateService cannot assume it for a while. In
//! `ensure` mode we create it first and wait until IAM returns it, then build ECS. It is an
//! AWS-managed role (no ownership tag); destroy keeps it unless asked, then polls the deletion task.

use std::time::Duration;

use aws_sdk_iam::types::DeletionTaskStatusType;
use futures::future::{self, BoxFuture, FutureExt};

use super::{AttrDiff, Ctx, Known, Receipt, Resource};
use crate::error::{aws, AwsError, Error, RoleUsage};
use crate::names::{ECS_SERVICE_PRINCIPAL, SLR_NAME, SLR_NAME_MOTO};
use crate::retry::CODE_NO_SUCH_ENTITY;
use crate::spec::SlrMode;

pub const KIND: &str = "service_linked_role";
/// Duplicate CreateServiceLinkedRole (a race with CreateCluster): the role exists.
pub const CODE_INVALID_INPUT: &str = "InvalidInput";
pub const MSG_ROLE_NAME_TAKEN: &str = "has been taken in this account";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub name: String,
    pub arn: String,
}

/// Outcome of a service-linked-role deletion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlrDeletion {
    pub role: String,
    pub deletion_task_id: String,
    /// SUCCEEDED (FAILED surfaces as [`Error::SlrDeletionFailed`]).
    pub status: String,
}

async fn get_role(ctx: Ctx<'_>, name: &str) -> Result<Option<Observed>, AwsError> {
    match ctx
        .clients
        .iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(aws("GetRole"))
    {
        Ok(out) => Ok(out.role().map(|r| Observed {
            name: r.role_name().to_owned(),
            arn: r.arn().to_owned(),
        })),
        Err(e) if e.code == CODE_NO_SUCH_ENTITY => Ok(None),
        Err(e) => Err(e),
    }
}

/// The role under AWS's name, or under moto's spelling.
pub async fn find(ctx: Ctx<'_>) -> Result<Option<Observed>, Error> {
    if let Some(r) = get_role(ctx, SLR_NAME).await? {
        return Ok(Some(r));
    }
    Ok(get_role(ctx, SLR_NAME_MOTO).await?)
}

/// CreateServiceLinkedRole(ecs.amazonaws.com), then wait until GetRole finds it (by AWS's name or
/// the name the response gave).
pub async fn create(ctx: Ctx<'_>) -> Result<Observed, Error> {
    let created = ctx
        .clients
        .iam
        .create_service_linked_role()
        .aws_service_name(ECS_SERVICE_PRINCIPAL)
        .send()
        .await
        .map_err(aws("CreateServiceLinkedRole"));
    let named = match created {
        Ok(out) => out.role().map(|r| r.role_name().to_owned()),
        Err(e) if e.code == CODE_INVALID_INPUT && e.message.contains(MSG_ROLE_NAME_TAKEN) => {
            tracing::info!(
                "service-linked role already exists (created concurrently): {}",
                e.message
            );
            None
        }
        Err(e) => return Err(e.into()),
    };
    wait_readable(ctx, named.as_deref()).await
}

/// Polls GetRole until the role is readable, bounded by the propagation timeout.
pub async fn wait_readable(ctx: Ctx<'_>, also_named: Option<&str>) -> Result<Observed, Error> {
    let timeout = ctx.retry.policy().propagation_timeout;
    ctx.retry
        .wait_for(
            &format!("{SLR_NAME} to be readable (GetRole)"),
            timeout,
            || async move {
                if let Some(r) = get_role(ctx, SLR_NAME).await? {
                    return Ok(Some(r));
                }
                if let Some(n) = also_named.filter(|n| *n != SLR_NAME) {
                    return Ok(get_role(ctx, n).await?);
                }
                if also_named.is_none() {
                    return Ok(get_role(ctx, SLR_NAME_MOTO).await?);
                }
                Ok(None)
            },
        )
        .await
}

/// DeleteServiceLinkedRole, then poll the deletion task to SUCCEEDED; FAILED -> error with the
/// RoleUsageList. Absent role -> `Ok(None)`.
pub async fn delete(ctx: Ctx<'_>, role: &Observed) -> Result<Option<SlrDeletion>, Error> {
    let task_id = match ctx
        .clients
        .iam
        .delete_service_linked_role()
        .role_name(&role.name)
        .send()
        .await
        .map_err(aws("DeleteServiceLinkedRole"))
    {
        Ok(out) => out.deletion_task_id().to_owned(),
        Err(e) if e.code == CODE_NO_SUCH_ENTITY => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    wait_deleted(ctx, &role.name, &task_id).await.map(Some)
}

/// Polls GetServiceLinkedRoleDeletionStatus until SUCCEEDED or FAILED (deadline: delete timeout).
pub async fn wait_deleted(ctx: Ctx<'_>, role: &str, task_id: &str) -> Result<SlrDeletion, Error> {
    let timeout = ctx
        .retry
        .policy()
        .delete_timeout
        .max(Duration::from_secs(1));
    ctx.retry
        .wait_for(
            &format!("deletion task {task_id} of {role}"),
            timeout,
            || async move {
                let out = ctx
                    .clients
                    .iam
                    .get_service_linked_role_deletion_status()
                    .deletion_task_id(task_id)
                    .send()
                    .await
                    .map_err(aws("GetServiceLinkedRoleDeletionStatus"))?;
                match out.status() {
                    DeletionTaskStatusType::Succeeded => Ok(Some(SlrDeletion {
                        role: role.to_owned(),
                        deletion_task_id: task_id.to_owned(),
                        status: "SUCCEEDED".into(),
                    })),
                    DeletionTaskStatusType::Failed => {
                        let reason = out.reason();
                        Err(Error::SlrDeletionFailed {
                            role: role.to_owned(),
                            reason: reason
                                .and_then(|r| r.reason())
                                .unwrap_or("(no reason given)")
                                .to_owned(),
                            usage: reason
                                .map(|r| {
                                    r.role_usage_list()
                                        .iter()
                                        .map(|u| RoleUsage {
                                            region: u.region().unwrap_or_default().to_owned(),
                                            resources: u.resources().to_vec(),
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        })
                    }
                    _ => Ok(None),
                }
            },
        )
        .await
}

/// The service-linked role as a [`Resource`]: converged in `ensure` mode only, never tagged
/// (AWS manages it), destroyed only when asked.
pub struct ServiceLinkedRole;

impl Resource for ServiceLinkedRole {
    type Observed = Observed;
    type Desired = ();

    fn kind(&self) -> &'static str {
        KIND
    }
    fn managed(&self, ctx: Ctx<'_>) -> bool {
        ctx.spec.service_linked_role == SlrMode::Ensure
    }
    fn destroyed_on_request_only(&self) -> bool {
        true
    }
    fn desired(&self, _ctx: Ctx<'_>, _known: &Known) {}
    fn desired_name(&self, _d: &()) -> String {
        SLR_NAME.to_owned()
    }
    /// Not looked for in `skip` mode.
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        match ctx.spec.service_linked_role {
            SlrMode::Skip => future::ready(Ok(None)).boxed(),
            SlrMode::Ensure | SlrMode::Implicit => find(ctx).boxed(),
        }
    }
    /// It exists or it does not: nothing to compare.
    fn diff(&self, _o: &Observed, _d: &()) -> Vec<AttrDiff> {
        vec![]
    }
    fn create_attributes(&self, _d: &()) -> Vec<AttrDiff> {
        vec![AttrDiff::set("aws_service_name", ECS_SERVICE_PRINCIPAL)]
    }
    fn create<'a>(&'a self, ctx: Ctx<'a>, _d: &'a ()) -> BoxFuture<'a, Result<Observed, Error>> {
        create(ctx).boxed()
    }
    /// Never called (no diff); the role stays as it is.
    fn update<'a>(
        &'a self,
        _ctx: Ctx<'a>,
        o: &'a Observed,
        _d: &'a (),
    ) -> BoxFuture<'a, Result<Observed, Error>> {
        future::ready(Ok(o.clone())).boxed()
    }
    /// The receipt is the [`SlrDeletion`] (none when the role was already gone).
    fn delete<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Observed,
    ) -> BoxFuture<'a, Result<Receipt, Error>> {
        delete(ctx, o)
            .map(|r| r.map(|d| d.map(|d| Box::new(d) as Box<dyn std::any::Any + Send>)))
            .boxed()
    }
    fn tags<'a>(&self, _o: &'a Observed) -> Option<&'a std::collections::BTreeMap<String, String>> {
        None
    }
    fn name(&self, o: &Observed) -> String {
        o.name.clone()
    }
    /// In implicit mode CreateCluster may just have created the role: read it for the outputs.
    fn after_apply<'a>(
        &'a self,
        ctx: Ctx<'a>,
        current: Option<Observed>,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        if ctx.spec.service_linked_role == SlrMode::Implicit && current.is_none() {
            find(ctx).boxed()
        } else {
            future::ready(Ok(current)).boxed()
        }
    }
    /// Looked for again (whatever the mode) when not found at the start.
    fn find_to_delete<'a>(
        &'a self,
        ctx: Ctx<'a>,
        current: Option<Observed>,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        match current {
            Some(c) => future::ready(Ok(Some(c))).boxed(),
            None => find(ctx).boxed(),
        }
    }
    fn output_names(&self) -> &'static [&'static str] {
        &["service_linked_role_arn"]
    }
    fn outputs(&self, o: &Observed) -> Vec<(&'static str, String)> {
        vec![("service_linked_role_arn", o.arn.clone())]
    }
}
