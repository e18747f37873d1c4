//! Why this file exists: the task role `{project}-{env}-ecs-task-role` is what the application's
//! code runs as: trusted by `ecs-tasks.amazonaws.com`, with the inline policy
//! `{project}-{env}-ecs-task-policy` built from the spec's `[[task_role.statements]]`, where
//! the resource `${log_group_arn}` (and e.g. `${log_group_arn}:*`, its streams) stands for the
//! stack's log group's ARN, as the seed tutorial's policy names it (Terraform:
//! `aws_cloudwatch_log_group.x.arn` and `"${...arn}:*"`). The role is therefore created after
//! the log group (a `ReadsAtCreate` edge in the registry); before the log group exists the plan
//! shows the ARN as `(known after apply)`.
//! A thin kind over iam_role.rs: only its name and policies are its own.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::iam_role::{self, IamRole, RoleKind};
use super::known::Known;
use super::{log_group, Ctx, KNOWN_AFTER_APPLY};
use crate::names::{trust_policy, ECS_TASKS_PRINCIPAL};
use crate::spec::{Effect, StackSpec, LOG_GROUP_ARN_PLACEHOLDER};

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
    fn desired(ctx: Ctx<'_>, known: &Known) -> iam_role::Desired {
        desired(ctx, known.get(&log_group::LogGroup).map(|g| g.arn.as_str()))
    }
}

/// The inline policy document from the spec, `${log_group_arn}` replaced by `log_group_arn`
/// (`None`: not known yet, shown as `(known after apply)`).
pub fn policy_document(spec: &StackSpec, log_group_arn: Option<&str>) -> Value {
    let arn = log_group_arn.unwrap_or(KNOWN_AFTER_APPLY);
    let statements: Vec<Value> = spec
        .task_role
        .statements
        .iter()
        .map(|s| {
            let mut v = json!({
                "Effect": match s.effect { Effect::Allow => "Allow", Effect::Deny => "Deny" },
                "Action": s.actions,
                "Resource": s
                    .resources
                    .iter()
                    .map(|r| r.replace(LOG_GROUP_ARN_PLACEHOLDER, arn))
                    .collect::<Vec<_>>(),
            });
            if let Some(sid) = &s.sid {
                v["Sid"] = json!(sid);
            }
            v
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The role as the spec wants it, given the log group's ARN when known.
pub fn desired(ctx: Ctx<'_>, log_group_arn: Option<&str>) -> iam_role::Desired {
    iam_role::Desired {
        name: ctx.names.task_role.clone(),
        trust: trust_policy(ECS_TASKS_PRINCIPAL),
        managed: vec![],
        inline: BTreeMap::from([(
            ctx.names.task_policy.clone(),
            policy_document(ctx.spec, log_group_arn),
        )]),
        tags: ctx.names.tags(ctx.spec, &ctx.names.task_role),
    }
}
