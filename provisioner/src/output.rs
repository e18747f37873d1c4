//! Why this file exists: the tutorial's outputs, under the tutorial's names, plus the service ARN
//! and the service-linked role ARN — computed from what exists, printed as `key = "value"` lines
//! or JSON (`output --json`). A missing resource gives `null`.

use serde::Serialize;

use crate::state::Observed;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outputs {
    pub ecs_cluster_id: Option<String>,
    pub ecs_cluster_arn: Option<String>,
    pub ecs_execution_role_arn: Option<String>,
    pub ecs_task_role_arn: Option<String>,
    pub ecr_repository_url: Option<String>,
    pub ecr_repository_arn: Option<String>,
    pub cloudwatch_log_group_name: Option<String>,
    pub cloudwatch_log_group_arn: Option<String>,
    pub ecs_service_arn: Option<String>,
    pub service_linked_role_arn: Option<String>,
}

impl Outputs {
    pub fn from_observed(o: &Observed) -> Outputs {
        Outputs {
            // As in Terraform, a cluster's id is its ARN.
            ecs_cluster_id: o.cluster.as_ref().map(|c| c.arn.clone()),
            ecs_cluster_arn: o.cluster.as_ref().map(|c| c.arn.clone()),
            ecs_execution_role_arn: o.execution_role.as_ref().map(|r| r.arn.clone()),
            ecs_task_role_arn: o.task_role.as_ref().map(|r| r.arn.clone()),
            ecr_repository_url: o.ecr.as_ref().map(|r| r.uri.clone()),
            ecr_repository_arn: o.ecr.as_ref().map(|r| r.arn.clone()),
            cloudwatch_log_group_name: o.log_group.as_ref().map(|l| l.name.clone()),
            cloudwatch_log_group_arn: o.log_group.as_ref().map(|l| l.arn.clone()),
            ecs_service_arn: o.service.as_ref().map(|s| s.arn.clone()),
            service_linked_role_arn: o.slr.as_ref().map(|s| s.arn.clone()),
        }
    }

    /// (name, value) pairs in alphabetical order.
    pub fn entries(&self) -> Vec<(&'static str, Option<&str>)> {
        let mut v = vec![
            (
                "cloudwatch_log_group_arn",
                self.cloudwatch_log_group_arn.as_deref(),
            ),
            (
                "cloudwatch_log_group_name",
                self.cloudwatch_log_group_name.as_deref(),
            ),
            ("ecr_repository_arn", self.ecr_repository_arn.as_deref()),
            ("ecr_repository_url", self.ecr_repository_url.as_deref()),
            ("ecs_cluster_arn", self.ecs_cluster_arn.as_deref()),
            ("ecs_cluster_id", self.ecs_cluster_id.as_deref()),
            (
                "ecs_execution_role_arn",
                self.ecs_execution_role_arn.as_deref(),
            ),
            ("ecs_service_arn", self.ecs_service_arn.as_deref()),
            ("ecs_task_role_arn", self.ecs_task_role_arn.as_deref()),
            (
                "service_linked_role_arn",
                self.service_linked_role_arn.as_deref(),
            ),
        ];
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// `key = "value"` lines (`key = null` when absent).
    pub fn render_text(&self) -> String {
        self.entries()
            .into_iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k} = {v:?}"),
                None => format!("{k} = null"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_every_key_even_when_absent() {
        let j = Outputs::default().to_json();
        for k in [
            "ecs_cluster_id",
            "ecs_cluster_arn",
            "ecs_execution_role_arn",
            "ecs_task_role_arn",
            "ecr_repository_url",
            "ecr_repository_arn",
            "cloudwatch_log_group_name",
            "cloudwatch_log_group_arn",
            "ecs_service_arn",
            "service_linked_role_arn",
        ] {
            assert!(j.get(k).is_some(), "{k}");
        }
        assert!(Outputs::default()
            .render_text()
            .contains("ecs_cluster_arn = null"));
    }
}
