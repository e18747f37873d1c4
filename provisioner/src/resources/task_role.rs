//! Why this file exists: the task role `{project}-{env}-ecs-task-role` is what the application's
//! code runs as: trusted by `ecs-tasks.amazonaws.com`, with the inline policy
//! `{project}-{env}-ecs-task-policy` built from the spec's `[[task_role.statements]]`.
//! A thin kind over iam_role.rs: only its name and policies are its own.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::iam_role::{self, IamRole, RoleKind};
use super::Ctx;
use crate::names::{trust_policy, ECS_TASKS_PRINCIPAL};
use crate::spec::{Effect, StackSpec};

pub const KIND: &str = "iam_role.task";
pub use iam_role::Observed;

/// The task role's kind.
pub struct Task;

/// The task role as a resource.
pub const RESOURCE: IamRole<Task> = IamRole::new();

impl RoleKind for Task {
    const KIND: &'static str = KIND;
    const OUTPUT: &'static str = "ecs_task_role_arn";
    fn name(ctx: Ctx<'_>) -> String {
        ctx.names.task_role.clone()
    }
    fn desired(ctx: Ctx<'_>) -> iam_role::Desired {
        desired(ctx)
    }
}

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
