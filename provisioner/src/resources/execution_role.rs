//! Why this file exists: the task execution role `{project}-{env}-ecs-execution-role` lets ECS pull
//! the image from ECR and write to CloudWatch Logs: trusted by `ecs-tasks.amazonaws.com`, with the
//! AWS managed policy `AmazonECSTaskExecutionRolePolicy` attached. ECR's repository policy names it.
//! A thin kind over iam_role.rs: only its name and policies are its own.

use std::collections::BTreeMap;

use super::iam_role::{self, IamRole, RoleKind};
use super::known::Known;
use super::Ctx;
use crate::names::{trust_policy, ECS_TASKS_PRINCIPAL};

pub const KIND: &str = "iam_role.execution";
pub use iam_role::Observed;

/// The execution role's kind.
pub struct Execution;

/// The execution role as a resource.
pub const RESOURCE: IamRole<Execution> = IamRole::new();

impl RoleKind for Execution {
    const KIND: &'static str = KIND;
    const OUTPUT: &'static str = "ecs_execution_role_arn";
    fn name(ctx: Ctx<'_>) -> String {
        ctx.names.execution_role.clone()
    }
    fn desired(ctx: Ctx<'_>, _known: &Known) -> iam_role::Desired {
        desired(ctx)
    }
}

pub fn desired(ctx: Ctx<'_>) -> iam_role::Desired {
    iam_role::Desired {
        name: ctx.names.execution_role.clone(),
        trust: trust_policy(ECS_TASKS_PRINCIPAL),
        managed: vec![ctx.names.execution_role_policy_arn()],
        inline: BTreeMap::new(),
        tags: ctx.names.tags(ctx.spec, &ctx.names.execution_role),
    }
}
