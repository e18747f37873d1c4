//! Why this file exists: the tutorial's outputs, under the tutorial's names, plus the service ARN
//! and the service-linked role ARN — computed from what exists, printed as `key = "value"` lines
//! or JSON (`output --json`). A missing resource gives `null`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::resources::REGISTRY;
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
    /// Outputs of kinds added after the tutorial's, by name (`None` = the resource is absent).
    #[serde(flatten)]
    pub extra: BTreeMap<&'static str, Option<String>>,
}

impl Outputs {
    /// Each kind's outputs, from what is known of it.
    pub fn from_observed(o: &Observed) -> Outputs {
        let mut values: BTreeMap<&'static str, Option<String>> = BTreeMap::new();
        for row in REGISTRY {
            let found: BTreeMap<_, _> = o
                .erased(row.kind())
                .map(|v| row.node.outputs(v).into_iter().collect())
                .unwrap_or_default();
            for name in row.node.output_names() {
                values.insert(name, found.get(name).cloned());
            }
        }
        let mut take = |k: &str| values.remove(k).flatten();
        Outputs {
            ecs_cluster_id: take("ecs_cluster_id"),
            ecs_cluster_arn: take("ecs_cluster_arn"),
            ecs_execution_role_arn: take("ecs_execution_role_arn"),
            ecs_task_role_arn: take("ecs_task_role_arn"),
            ecr_repository_url: take("ecr_repository_url"),
            ecr_repository_arn: take("ecr_repository_arn"),
            cloudwatch_log_group_name: take("cloudwatch_log_group_name"),
            cloudwatch_log_group_arn: take("cloudwatch_log_group_arn"),
            ecs_service_arn: take("ecs_service_arn"),
            service_linked_role_arn: take("service_linked_role_arn"),
            extra: values,
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
        v.extend(self.extra.iter().map(|(k, v)| (*k, v.as_deref())));
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
