//! Why this file exists: the shape of the stack spec (`stack.toml`): one struct per table, the
//! closed sets of values as enums, every default in one place, and the AWS tables the values are
//! checked against (Fargate cpu/memory, CloudWatch retention days).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// CloudWatch Logs' accepted `retentionInDays` values.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Fargate's valid (cpu, memory) combinations: cpu units -> allowed MiB.
pub fn fargate_memory_for_cpu(cpu: u32) -> Option<Vec<u32>> {
    let r = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).collect::<Vec<_>>();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => r(1024, 4096, 1024),
        1024 => r(2048, 8192, 1024),
        2048 => r(4096, 16384, 1024),
        4096 => r(8192, 30720, 1024),
        8192 => r(16384, 61440, 4096),
        16384 => r(32768, 122880, 8192),
        _ => return None,
    })
}
pub const FARGATE_CPU: &[u32] = &[256, 512, 1024, 2048, 4096, 8192, 16384];

/// What to do about the ECS service-linked role `AWSServiceRoleForECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlrMode {
    /// Create it first if absent and wait until it is readable, then build ECS (the fix).
    #[default]
    Ensure,
    /// Leave it to CreateCluster (the seed's failing path; relies on the retry loop).
    Implicit,
    /// Never look at it.
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CapacityProvider {
    #[serde(rename = "FARGATE")]
    Fargate,
    #[serde(rename = "FARGATE_SPOT")]
    FargateSpot,
}

impl CapacityProvider {
    pub fn as_str(&self) -> &'static str {
        match self {
            CapacityProvider::Fargate => "FARGATE",
            CapacityProvider::FargateSpot => "FARGATE_SPOT",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TagMutability {
    #[default]
    #[serde(rename = "MUTABLE")]
    Mutable,
    #[serde(rename = "IMMUTABLE")]
    Immutable,
}

impl TagMutability {
    pub fn as_str(&self) -> &'static str {
        match self {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Effect {
    #[default]
    Allow,
    Deny,
}

/// The whole stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackSpec {
    pub project: String,
    pub environment: String,
    /// Used when neither `--region` nor `AWS_REGION` is given.
    pub region: String,
    #[serde(default)]
    pub service_linked_role: SlrMode,
    /// Extra tags on every resource (Name, Environment and the ownership tag are always set).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub logs: LogsSpec,
    #[serde(default)]
    pub ecr: EcrSpec,
    #[serde(default)]
    pub task_role: TaskRoleSpec,
    #[serde(default)]
    pub task_definition: TaskDefinitionSpec,
    #[serde(default)]
    pub service: ServiceSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    #[serde(default = "yes")]
    pub container_insights: bool,
    #[serde(default = "default_capacity_providers")]
    pub capacity_providers: Vec<CapacityProvider>,
    #[serde(default = "default_strategy")]
    pub default_capacity_provider_strategy: Vec<StrategyItem>,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            container_insights: true,
            capacity_providers: default_capacity_providers(),
            default_capacity_provider_strategy: default_strategy(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyItem {
    pub capacity_provider: CapacityProvider,
    #[serde(default)]
    pub base: u32,
    #[serde(default = "one")]
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsSpec {
    #[serde(default = "default_retention")]
    pub retention_in_days: u32,
}

impl Default for LogsSpec {
    fn default() -> Self {
        LogsSpec {
            retention_in_days: default_retention(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcrSpec {
    #[serde(default = "yes")]
    pub scan_on_push: bool,
    #[serde(default)]
    pub image_tag_mutability: TagMutability,
    /// Delete the repository on destroy even when it holds images.
    #[serde(default)]
    pub force_delete: bool,
}

impl Default for EcrSpec {
    fn default() -> Self {
        EcrSpec {
            scan_on_push: true,
            image_tag_mutability: TagMutability::Mutable,
            force_delete: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRoleSpec {
    /// The statements of the task role's inline policy (`{project}-{env}-ecs-task-policy`).
    #[serde(default = "default_statements")]
    pub statements: Vec<PolicyStatement>,
}

impl Default for TaskRoleSpec {
    fn default() -> Self {
        TaskRoleSpec {
            statements: default_statements(),
        }
    }
}

/// In `task_role.statements[].resources`: the stack's log group's ARN (`${log_group_arn}:*`
/// names its log streams), filled in by the provisioner once the log group exists.
pub const LOG_GROUP_ARN_PLACEHOLDER: &str = "${log_group_arn}";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyStatement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default)]
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDefinitionSpec {
    /// Default `{project}-{env}-app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default = "default_cpu")]
    pub cpu: u32,
    #[serde(default = "default_memory")]
    pub memory: u32,
    #[serde(default = "default_container_name")]
    pub container_name: String,
    /// Default: the stack's ECR repository, tag `latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default = "default_port")]
    pub container_port: u16,
    #[serde(default = "default_stream_prefix")]
    pub log_stream_prefix: String,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

impl Default for TaskDefinitionSpec {
    fn default() -> Self {
        TaskDefinitionSpec {
            family: None,
            cpu: default_cpu(),
            memory: default_memory(),
            container_name: default_container_name(),
            image: None,
            container_port: default_port(),
            log_stream_prefix: default_stream_prefix(),
            environment: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Default `{project}-{env}-service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "one")]
    pub desired_count: u32,
    #[serde(default = "yes")]
    pub assign_public_ip: bool,
    /// Empty = the default VPC's subnets.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Empty = the default VPC's default security group.
    #[serde(default)]
    pub security_groups: Vec<String>,
}

impl Default for ServiceSpec {
    fn default() -> Self {
        ServiceSpec {
            name: None,
            desired_count: 1,
            assign_public_ip: true,
            subnets: vec![],
            security_groups: vec![],
        }
    }
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn default_capacity_providers() -> Vec<CapacityProvider> {
    vec![CapacityProvider::Fargate, CapacityProvider::FargateSpot]
}
fn default_strategy() -> Vec<StrategyItem> {
    vec![StrategyItem {
        capacity_provider: CapacityProvider::Fargate,
        base: 1,
        weight: 100,
    }]
}
fn default_retention() -> u32 {
    30
}
fn default_statements() -> Vec<PolicyStatement> {
    vec![PolicyStatement {
        sid: Some("AppLogs".into()),
        effect: Effect::Allow,
        actions: vec!["logs:CreateLogStream".into(), "logs:PutLogEvents".into()],
        resources: vec!["*".into()],
    }]
}
fn default_cpu() -> u32 {
    256
}
fn default_memory() -> u32 {
    512
}
fn default_container_name() -> String {
    "app".into()
}
fn default_port() -> u16 {
    80
}
fn default_stream_prefix() -> String {
    "ecs".into()
}
