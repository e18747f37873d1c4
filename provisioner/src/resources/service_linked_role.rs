//! Why this file exists: the ECS service-linked role `AWSServiceRoleForECS` is the seed's story.
//! CreateCluster creates it implicitly, but CreateService cannot assume it for a while. In
//! `ensure` mode we create it first and wait until IAM returns it, then build ECS. It is an
//! AWS-managed role (no ownership tag); destroy keeps it unless asked, then polls the deletion task.

use std::time::Duration;

use aws_sdk_iam::types::DeletionTaskStatusType;

use super::Ctx;
use crate::error::{aws, AwsError, Error, RoleUsage};
use crate::names::{ECS_SERVICE_PRINCIPAL, SLR_NAME, SLR_NAME_MOTO};
use crate::retry::CODE_NO_SUCH_ENTITY;

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
