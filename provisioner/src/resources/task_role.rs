//! Why this file exists: the task role `{project}-{env}-ecs-task-role` is what the application's
//! code runs as: trusted by `ecs-tasks.amazonaws.com`, with the inline policy
//! `{project}-{env}-ecs-task-policy` built from the spec's `[[task_role.statements]]`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{iam_role, AttrDiff, Ctx};
use crate::error::Error;
use crate::names::{trust_policy, ECS_TASKS_PRINCIPAL};
use crate::spec::{Effect, StackSpec};

pub const KIND: &str = "iam_role.task";
pub use iam_role::Observed;

/// The inline policy document from the spec.
pub fn policy_document(spec: &StackSpec) -> Value {
    let statements: Vec<Value> = spec
        .task_role
        .statements
        .iter()
        .map(|s| {
            let mut v = json!({
                "Effect": match s.effect { Effect::Allow => "Allow", Effect::Deny => "Deny" },
                "Action": s.actions,
                "Resource": s.resources,
            });
            if let Some(sid) = &s.sid {
                v["Sid"] = json!(sid);
            }
            v
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

pub fn desired(ctx: Ctx<'_>) -> iam_role::Desired {
    iam_role::Desired {
        name: ctx.names.task_role.clone(),
        trust: trust_policy(ECS_TASKS_PRINCIPAL),
        managed: vec![],
        inline: BTreeMap::from([(ctx.names.task_policy.clone(), policy_document(ctx.spec))]),
        tags: ctx.names.tags(ctx.spec, &ctx.names.task_role),
    }
}

pub async fn find(ctx: Ctx<'_>) -> Result<Option<Observed>, Error> {
    iam_role::find(ctx, &ctx.names.task_role, false).await
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
