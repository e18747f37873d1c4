//! Why this file exists: the provisioner keeps no state file. Every resource is found by a name
//! derived from the spec, and proven ours by the ownership tag. Both rules live here, once.

use std::collections::BTreeMap;

use crate::spec::StackSpec;

/// The ownership tag key; its value is `{project}-{env}`.
pub const OWNERSHIP_TAG_KEY: &str = "provisioner:stack";
/// The ECS service-linked role's name in AWS.
pub const SLR_NAME: &str = "AWSServiceRoleForECS";
/// moto's (wrong) name for it; accepted when found.
pub const SLR_NAME_MOTO: &str = "AWSServiceRoleForecs";
pub const ECS_SERVICE_PRINCIPAL: &str = "ecs.amazonaws.com";
pub const ECS_TASKS_PRINCIPAL: &str = "ecs-tasks.amazonaws.com";
/// Managed policy attached to the execution role (partition inserted at runtime).
pub const EXECUTION_ROLE_POLICY_PATH: &str = "policy/service-role/AmazonECSTaskExecutionRolePolicy";

/// Deterministic names of the stack's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `{project}-{env}`: the ownership tag's value.
    pub stack: String,
    pub environment: String,
    pub cluster: String,
    pub execution_role: String,
    pub task_role: String,
    pub task_policy: String,
    pub ecr_repository: String,
    pub log_group: String,
    pub task_family: String,
    pub service: String,
    pub container: String,
    /// `aws`, `aws-cn` or `aws-us-gov`, from the region.
    pub partition: String,
}

impl Names {
    pub fn new(spec: &StackSpec, region: &str) -> Names {
        let stack = format!("{}-{}", spec.project, spec.environment);
        Names {
            cluster: format!("{stack}-cluster"),
            execution_role: format!("{stack}-ecs-execution-role"),
            task_role: format!("{stack}-ecs-task-role"),
            task_policy: format!("{stack}-ecs-task-policy"),
            ecr_repository: format!("{stack}-app"),
            log_group: format!("/ecs/{stack}"),
            task_family: spec
                .task_definition
                .family
                .clone()
                .unwrap_or_else(|| format!("{stack}-app")),
            service: spec
                .service
                .name
                .clone()
                .unwrap_or_else(|| format!("{stack}-service")),
            container: spec.task_definition.container_name.clone(),
            partition: partition(region).to_owned(),
            environment: spec.environment.clone(),
            stack,
        }
    }

    /// Tags for a resource called `name`: Name, Environment, the ownership tag, then the spec's
    /// extra tags (which cannot override the first three).
    pub fn tags(&self, spec: &StackSpec, name: &str) -> BTreeMap<String, String> {
        let mut t: BTreeMap<String, String> = spec.tags.clone();
        t.insert("Name".into(), name.into());
        t.insert("Environment".into(), self.environment.clone());
        t.insert(OWNERSHIP_TAG_KEY.into(), self.stack.clone());
        t
    }

    /// Whether observed tags carry our ownership tag.
    pub fn is_ours(&self, tags: &BTreeMap<String, String>) -> bool {
        tags.get(OWNERSHIP_TAG_KEY) == Some(&self.stack)
    }

    pub fn execution_role_policy_arn(&self) -> String {
        format!(
            "arn:{}:iam::aws:{EXECUTION_ROLE_POLICY_PATH}",
            self.partition
        )
    }
}

pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Trust policy letting `service` assume a role.
pub fn trust_policy(service: &str) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// Canonical form of an IAM policy document for comparison: single strings become one-element
/// arrays, arrays of strings are sorted, the document is decoded if URL-encoded (IAM returns it so).
pub fn normalize_policy(doc: &str) -> Option<serde_json::Value> {
    let decoded: String = if doc.trim_start().starts_with('{') {
        doc.to_owned()
    } else {
        form_urlencoded::parse(format!("x={doc}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let v: serde_json::Value = serde_json::from_str(&decoded).ok()?;
    Some(canonical(v, None))
}

fn canonical(v: serde_json::Value, key: Option<&str>) -> serde_json::Value {
    use serde_json::Value;
    const LISTY: &[&str] = &[
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Service",
        "AWS",
        "Federated",
    ];
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let c = canonical(v, Some(&k));
                    (k, c)
                })
                .collect(),
        ),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.into_iter().map(|x| canonical(x, None)).collect();
            if items.iter().all(Value::is_string) {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            Value::Array(items)
        }
        Value::String(s) if key.is_some_and(|k| LISTY.contains(&k)) => {
            Value::Array(vec![Value::String(s)])
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tutorial_names() {
        let n = Names::new(&StackSpec::example(), "ap-northeast-1");
        assert_eq!(n.cluster, "my-project-dev-cluster");
        assert_eq!(n.execution_role, "my-project-dev-ecs-execution-role");
        assert_eq!(n.task_role, "my-project-dev-ecs-task-role");
        assert_eq!(n.task_policy, "my-project-dev-ecs-task-policy");
        assert_eq!(n.ecr_repository, "my-project-dev-app");
        assert_eq!(n.log_group, "/ecs/my-project-dev");
        assert_eq!(n.task_family, "my-project-dev-app");
        assert_eq!(n.service, "my-project-dev-service");
        assert_eq!(
            n.execution_role_policy_arn(),
            "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
        );
        let t = n.tags(&StackSpec::example(), &n.cluster);
        assert_eq!(t["provisioner:stack"], "my-project-dev");
        assert_eq!(t["Name"], "my-project-dev-cluster");
        assert_eq!(t["Environment"], "dev");
        assert!(n.is_ours(&t));
    }

    #[test]
    fn policies_compare_canonically() {
        let a = normalize_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["*"]}]}"#,
        );
        let b = normalize_policy("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22s3%3AGetObject%22%5D%2C%22Resource%22%3A%22%2A%22%7D%5D%7D");
        assert!(a.is_some());
        assert_eq!(a, b);
    }
}
