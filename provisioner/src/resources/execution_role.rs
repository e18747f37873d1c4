//! Why this file exists: the task execution role `{project}-{env}-ecs-execution-role` lets ECS pull
//! the image from ECR and write to CloudWatch Logs: trusted by `ecs-tasks.amazonaws.com`, with the
//! AWS managed policy `AmazonECSTaskExecutionRolePolicy` attached. ECR's repository policy names it.

use std::collections::BTreeMap;

use super::{iam_role, AttrDiff, Ctx};
use crate::error::Error;
use crate::names::{trust_policy, ECS_TASKS_PRINCIPAL};

pub const KIND: &str = "iam_role.execution";
pub use iam_role::Observed;

pub fn desired(ctx: Ctx<'_>) -> iam_role::Desired {
    iam_role::Desired {
        name: ctx.names.execution_role.clone(),
        trust: trust_policy(ECS_TASKS_PRINCIPAL),
        managed: vec![ctx.names.execution_role_policy_arn()],
        inline: BTreeMap::new(),
        tags: ctx.names.tags(ctx.spec, &ctx.names.execution_role),
    }
}

pub async fn find(ctx: Ctx<'_>) -> Result<Option<Observed>, Error> {
    iam_role::find(ctx, &ctx.names.execution_role, false).await
}

pub fn diff(o: &Observed, d: &iam_role::Desired) -> Vec<AttrDiff> {
    iam_role::diff(o, d)
}

pub async fn create(ctx: Ctx<'_>, d: &iam_role::Desired) -> Result<Observed, Error> {
    iam_role::create(ctx, d).await
}

pub async fn update(ctx: Ctx<'_>, o: &Observed, d: &iam_role::Desired) -> Result<Observed, Error> {
    iam_role::update(ctx, o, d).await
}

pub async fn delete(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    iam_role::delete(ctx, o).await
}

pub fn check_ours(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    iam_role::check_ours(ctx, KIND, o)
}
