//! Why this file exists: the stack is described in a TOML file (`--config`, default
//! `stack.toml`; the tutorial's stack ships as `examples/stack.toml`). This module parses it into
//! [`StackSpec`] and validates it. Every error names the file, the line, the key and — where the
//! set is closed — the allowed values, so a typo is fixed without reading the source.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

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

/// The tutorial stack, identical to `examples/stack.toml`.
pub const EXAMPLE_TOML: &str = include_str!("../../examples/stack.toml");

impl StackSpec {
    /// Reads and validates a stack file.
    pub fn load(path: &Path) -> Result<StackSpec, SpecError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            origin: origin.clone(),
            line: None,
            key: None,
            message: format!(
                "cannot read the stack spec: {e}. Pass --config PATH, or start from the example: \
                 cp examples/stack.toml stack.toml"
            ),
        })?;
        StackSpec::from_toml_str(&text, &origin)
    }

    /// Parses and validates TOML text; `origin` names it in errors (a path, or e.g. `<inline>`).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<StackSpec, SpecError> {
        let spec: StackSpec =
            toml::from_str(text).map_err(|e| SpecError::from_toml(e, text, origin))?;
        if let Some(v) = spec.violations().into_iter().next() {
            return Err(SpecError {
                origin: origin.to_owned(),
                line: locate(text, &v.table, v.index, &v.key),
                key: Some(v.path()),
                message: v.message,
            });
        }
        Ok(spec)
    }

    /// The tutorial's stack: `my-project` / `dev` / `ap-northeast-1` (same as examples/stack.toml).
    pub fn example() -> StackSpec {
        match StackSpec::from_toml_str(EXAMPLE_TOML, "examples/stack.toml") {
            Ok(s) => s,
            // Guarded by a unit test; a broken example is a build-time bug.
            Err(e) => panic!("examples/stack.toml is invalid: {e}"),
        }
    }

    /// Checks every value; returns all violations, in file order of sections.
    pub fn violations(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut bad = |table: &str, index: Option<usize>, key: &str, message: String| {
            out.push(Violation {
                table: table.into(),
                index,
                key: key.into(),
                message,
            })
        };
        let name_re = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        };
        if !name_re(&self.project) {
            bad("", None, "project", format!(
                "{:?} is not a valid name: use lowercase letters, digits and '-' (it becomes part of \
                 ECR, IAM and ECS names)", self.project));
        }
        if !name_re(&self.environment) {
            bad(
                "",
                None,
                "environment",
                format!(
                    "{:?} is not a valid name: use lowercase letters, digits and '-'",
                    self.environment
                ),
            );
        }
        // IAM role names are at most 64 characters: "{project}-{env}-ecs-execution-role".
        let longest = self.project.len() + self.environment.len() + "--ecs-execution-role".len();
        if longest > 64 {
            bad("", None, "environment", format!(
                "project + environment are too long: \"{}-{}-ecs-execution-role\" would be {longest} \
                 characters, IAM allows 64", self.project, self.environment));
        }
        let region_ok = {
            let parts: Vec<&str> = self.region.split('-').collect();
            parts.len() >= 3
                && parts[..parts.len() - 1]
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
                && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
                && !parts[parts.len() - 1].is_empty()
        };
        if !region_ok {
            bad(
                "",
                None,
                "region",
                format!(
                    "{:?} is not an AWS region name (like \"ap-northeast-1\")",
                    self.region
                ),
            );
        }

        // [cluster]
        let cps = &self.cluster.capacity_providers;
        for (i, cp) in cps.iter().enumerate() {
            if cps[..i].contains(cp) {
                bad(
                    "cluster",
                    None,
                    "capacity_providers",
                    format!(
                        "{} is listed twice; allowed values: FARGATE, FARGATE_SPOT",
                        cp.as_str()
                    ),
                );
            }
        }
        let strat = &self.cluster.default_capacity_provider_strategy;
        let t = "cluster.default_capacity_provider_strategy";
        for (i, item) in strat.iter().enumerate() {
            if !cps.contains(&item.capacity_provider) {
                bad(
                    t,
                    Some(i),
                    "capacity_provider",
                    format!(
                        "{} is not in cluster.capacity_providers; allowed values: {}",
                        item.capacity_provider.as_str(),
                        cps.iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            if item.weight > 1000 {
                bad(
                    t,
                    Some(i),
                    "weight",
                    format!("{} is out of range; allowed values: 0..=1000", item.weight),
                );
            }
            if item.base > 100_000 {
                bad(
                    t,
                    Some(i),
                    "base",
                    format!("{} is out of range; allowed values: 0..=100000", item.base),
                );
            }
            if item.base > 0 && strat.iter().take(i).any(|o| o.base > 0) {
                bad(
                    t,
                    Some(i),
                    "base",
                    "only one capacity provider in a strategy can have a base".into(),
                );
            }
        }
        if !strat.is_empty() && strat.iter().all(|s| s.weight == 0) {
            bad(
                t,
                Some(0),
                "weight",
                "at least one capacity provider needs a weight above 0".into(),
            );
        }
        if strat.is_empty() {
            bad("cluster", None, "default_capacity_provider_strategy",
                "must not be empty: the service is placed through it (e.g. FARGATE base 1 weight 100)".into());
        }

        // [logs]
        if !LOG_RETENTION_DAYS.contains(&self.logs.retention_in_days) {
            bad(
                "logs",
                None,
                "retention_in_days",
                format!(
                    "{} is not a retention CloudWatch Logs accepts; allowed values: {}",
                    self.logs.retention_in_days,
                    LOG_RETENTION_DAYS
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }

        // [task_role]
        if self.task_role.statements.is_empty() {
            bad(
                "task_role",
                None,
                "statements",
                "the task role's inline policy needs at least one statement".into(),
            );
        }
        for (i, s) in self.task_role.statements.iter().enumerate() {
            if s.actions.is_empty()
                || s.actions
                    .iter()
                    .any(|a| a.is_empty() || !(a == "*" || a.contains(':')))
            {
                bad("task_role.statements", Some(i), "actions",
                    "each action must look like \"service:Action\" (or \"*\") and the list must not be empty".into());
            }
            if s.resources.is_empty()
                || s.resources
                    .iter()
                    .any(|r| !(r == "*" || r.starts_with("arn:")))
            {
                bad(
                    "task_role.statements",
                    Some(i),
                    "resources",
                    "each resource must be \"*\" or an ARN, and the list must not be empty".into(),
                );
            }
        }

        // [task_definition]
        let td = &self.task_definition;
        match fargate_memory_for_cpu(td.cpu) {
            None => bad(
                "task_definition",
                None,
                "cpu",
                format!(
                    "{} is not a Fargate cpu value; allowed values: {}",
                    td.cpu,
                    FARGATE_CPU
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(mem) if !mem.contains(&td.memory) => bad(
                "task_definition",
                None,
                "memory",
                format!(
                    "{} MiB is not valid with cpu = {} on Fargate; allowed values: {}",
                    td.memory,
                    td.cpu,
                    mem.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(_) => {}
        }
        if let Some(f) = &td.family {
            if f.is_empty()
                || f.len() > 255
                || !f
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bad(
                    "task_definition",
                    None,
                    "family",
                    "must be 1-255 letters, digits, '-' or '_'".into(),
                );
            }
        }
        if td.container_name.is_empty()
            || !td
                .container_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bad(
                "task_definition",
                None,
                "container_name",
                "must be letters, digits, '-' or '_'".into(),
            );
        }
        if td.container_port == 0 {
            bad(
                "task_definition",
                None,
                "container_port",
                "must be 1..=65535".into(),
            );
        }
        if matches!(&td.image, Some(i) if i.trim().is_empty()) {
            bad(
                "task_definition",
                None,
                "image",
                "must not be empty (omit it to use the stack's ECR repository)".into(),
            );
        }

        // [service]
        if let Some(n) = &self.service.name {
            if n.is_empty()
                || n.len() > 255
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bad(
                    "service",
                    None,
                    "name",
                    "must be 1-255 letters, digits, '-' or '_'".into(),
                );
            }
        }
        if self
            .service
            .subnets
            .iter()
            .any(|s| !s.starts_with("subnet-"))
        {
            bad("service", None, "subnets", "each entry must be a subnet id (\"subnet-...\"); leave the list empty for the default VPC's subnets".into());
        }
        if self
            .service
            .security_groups
            .iter()
            .any(|s| !s.starts_with("sg-"))
        {
            bad("service", None, "security_groups", "each entry must be a security group id (\"sg-...\"); leave the list empty for the default VPC's default group".into());
        }
        out
    }
}

/// One invalid value found after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Dotted table path (`""` = top level).
    pub table: String,
    /// Entry of an array of tables.
    pub index: Option<usize>,
    pub key: String,
    pub message: String,
}

impl Violation {
    pub fn path(&self) -> String {
        match (self.table.is_empty(), self.index) {
            (true, _) => self.key.clone(),
            (false, Some(i)) => format!("{}[{i}].{}", self.table, self.key),
            (false, None) => format!("{}.{}", self.table, self.key),
        }
    }
}

/// A stack spec that cannot be used: where, which key, what is wrong, what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path, when known.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(l) = self.line {
            write!(f, ", line {l}")?;
        }
        if let Some(k) = &self.key {
            write!(f, ": `{k}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SpecError {}

impl SpecError {
    fn from_toml(e: toml::de::Error, text: &str, origin: &str) -> SpecError {
        let raw = e.message().trim().to_owned();
        let (line, line_text) = match e.span() {
            Some(span) => {
                let start = span.start.min(text.len());
                let line = text[..start].matches('\n').count() + 1;
                (
                    Some(line),
                    text.lines().nth(line - 1).unwrap_or("").to_owned(),
                )
            }
            None => (None, String::new()),
        };
        let table = line.map(|l| table_at(text, l)).unwrap_or_default();
        let qualify = |k: &str| {
            if table.is_empty() {
                k.to_owned()
            } else {
                format!("{table}.{k}")
            }
        };
        let allowed = expected_names(&raw);

        if let Some(rest) = raw.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or("").to_owned();
            let section = if table.is_empty() {
                "at the top level".to_owned()
            } else {
                format!("in [{table}]")
            };
            let message = if allowed.is_empty() {
                format!("unknown key `{name}` {section}; this table takes no keys")
            } else {
                format!(
                    "unknown key `{name}` {section}; allowed keys: {}",
                    allowed.join(", ")
                )
            };
            return SpecError {
                origin: origin.into(),
                line,
                key: Some(qualify(&name)),
                message,
            };
        }
        if let Some(rest) = raw.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or("").to_owned();
            return SpecError {
                origin: origin.into(),
                line: None,
                key: Some(name.clone()),
                message: format!("missing required key `{name}`"),
            };
        }
        // A value error: the key is what stands left of '=' on the offending line.
        let key = line_text
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_owned())
            .filter(|k| !k.is_empty() && !k.starts_with('['))
            .map(|k| qualify(&k));
        let message = if let Some(rest) = raw.strip_prefix("unknown variant `") {
            let value = rest.split('`').next().unwrap_or("");
            format!(
                "invalid value \"{value}\"; allowed values: {}",
                allowed.join(", ")
            )
        } else {
            raw.replace('\n', " ")
        };
        SpecError {
            origin: origin.into(),
            line,
            key,
            message,
        }
    }
}

/// The backticked names after "expected" in a serde message.
fn expected_names(msg: &str) -> Vec<String> {
    let Some((_, after)) = msg.split_once("expected") else {
        return vec![];
    };
    after
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The `[table]` / `[[table]]` header in force at 1-based `line`.
fn table_at(text: &str, line: usize) -> String {
    let mut current = String::new();
    for l in text.lines().take(line) {
        if let Some(h) = header(l) {
            current = h;
        }
    }
    current
}

fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let t = t.split('#').next().unwrap_or("").trim();
    if t.starts_with("[[") && t.ends_with("]]") {
        Some(t[2..t.len() - 2].trim().to_owned())
    } else if t.starts_with('[') && t.ends_with(']') {
        Some(t[1..t.len() - 1].trim().to_owned())
    } else {
        None
    }
}

/// 1-based line where `key` is set inside `table` (`index`-th `[[table]]` for arrays of tables).
/// Falls back to the table's header line, then to `None`.
fn locate(text: &str, table: &str, index: Option<usize>, key: &str) -> Option<usize> {
    let mut current = String::new();
    let mut seen_of_table: usize = 0;
    let mut header_line = None;
    let in_target = |cur: &str, seen: usize| cur == table && index.is_none_or(|i| seen == i + 1);
    for (n, l) in text.lines().enumerate() {
        if let Some(h) = header(l) {
            current = h;
            if current == table {
                seen_of_table += 1;
                if index.is_none_or(|i| seen_of_table == i + 1) {
                    header_line = Some(n + 1);
                }
            }
            continue;
        }
        let t = l.trim_start();
        let key_matches = |k: &str| {
            t.strip_prefix(k)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        };
        if in_target(&current, seen_of_table) && key_matches(key) {
            return Some(n + 1);
        }
        // Dotted key at the top level, e.g. `logs.retention_in_days = 30`.
        if current.is_empty()
            && !table.is_empty()
            && index.is_none()
            && key_matches(&format!("{table}.{key}"))
        {
            return Some(n + 1);
        }
    }
    header_line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StackSpec, SpecError> {
        StackSpec::from_toml_str(text, "stack.toml")
    }

    const MINIMAL: &str = "project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n";

    #[test]
    fn example_parses_and_matches_the_tutorial() {
        let s = StackSpec::example();
        assert_eq!(s.project, "my-project");
        assert_eq!(s.environment, "dev");
        assert_eq!(s.region, "ap-northeast-1");
        assert_eq!(s.service_linked_role, SlrMode::Ensure);
        assert_eq!(
            s.cluster.capacity_providers,
            vec![CapacityProvider::Fargate, CapacityProvider::FargateSpot]
        );
        assert_eq!(
            s.cluster.default_capacity_provider_strategy,
            vec![StrategyItem {
                capacity_provider: CapacityProvider::Fargate,
                base: 1,
                weight: 100
            }]
        );
        assert!(s.service.subnets.is_empty() && s.service.security_groups.is_empty());
    }

    #[test]
    fn minimal_gets_defaults() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.logs.retention_in_days, 30);
        assert_eq!(s.task_definition.cpu, 256);
        assert!(s.cluster.container_insights);
    }

    #[test]
    fn unknown_key_names_key_line_and_allowed_keys() {
        let text = format!("{MINIMAL}\n[logs]\nretention_in_days = 30\nretention = 7\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert_eq!(e.key.as_deref(), Some("logs.retention"), "{e}");
        let s = e.to_string();
        assert!(s.contains("unknown key `retention`"), "{s}");
        assert!(s.contains("retention_in_days"), "{s}");
        assert!(s.starts_with("stack.toml, line 7"), "{s}");
    }

    #[test]
    fn unknown_top_level_key() {
        let e = parse(&format!("{MINIMAL}regoin = \"x\"\n")).unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(
            e.to_string()
                .contains("unknown key `regoin` at the top level"),
            "{e}"
        );
        assert!(e.to_string().contains("region"), "{e}");
    }

    #[test]
    fn bad_retention_lists_allowed_values() {
        let text = format!("{MINIMAL}[logs]\n# comment\nretention_in_days = 31\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert_eq!(e.key.as_deref(), Some("logs.retention_in_days"));
        let s = e.to_string();
        assert!(s.contains("31 is not a retention"), "{s}");
        assert!(s.contains("1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"), "{s}");
    }

    #[test]
    fn bad_slr_mode_lists_allowed_values() {
        let text = MINIMAL.replace("region", "service_linked_role = \"always\"\nregion");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(e.key.as_deref(), Some("service_linked_role"));
        assert!(
            e.to_string()
                .contains("allowed values: ensure, implicit, skip"),
            "{e}"
        );
    }

    #[test]
    fn bad_tag_mutability_lists_allowed_values() {
        let e = parse(&format!(
            "{MINIMAL}[ecr]\nimage_tag_mutability = \"mutable\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, Some(5));
        assert_eq!(e.key.as_deref(), Some("ecr.image_tag_mutability"));
        assert!(
            e.to_string().contains("allowed values: MUTABLE, IMMUTABLE"),
            "{e}"
        );
    }

    #[test]
    fn fargate_combination_is_checked() {
        let e = parse(&format!(
            "{MINIMAL}[task_definition]\ncpu = 256\nmemory = 4096\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, Some(6));
        assert_eq!(e.key.as_deref(), Some("task_definition.memory"));
        assert!(
            e.to_string().contains("allowed values: 512, 1024, 2048"),
            "{e}"
        );
        let e = parse(&format!("{MINIMAL}[task_definition]\ncpu = 300\n")).unwrap_err();
        assert!(
            e.to_string().contains("allowed values: 256, 512, 1024"),
            "{e}"
        );
        assert!(parse(&format!(
            "{MINIMAL}[task_definition]\ncpu = 1024\nmemory = 3072\n"
        ))
        .is_ok());
    }

    #[test]
    fn strategy_entry_must_be_a_listed_provider() {
        let text = format!(
            "{MINIMAL}[cluster]\ncapacity_providers = [\"FARGATE\"]\n\n[[cluster.default_capacity_provider_strategy]]\ncapacity_provider = \"FARGATE\"\nweight = 1\n\n[[cluster.default_capacity_provider_strategy]]\ncapacity_provider = \"FARGATE_SPOT\"\nweight = 1\n"
        );
        let e = parse(&text).unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("cluster.default_capacity_provider_strategy[1].capacity_provider")
        );
        assert_eq!(e.line, Some(12), "{e}");
    }

    #[test]
    fn missing_required_key() {
        let e = parse("project = \"p\"\nregion = \"ap-northeast-1\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("environment"));
        assert!(
            e.to_string().contains("missing required key `environment`"),
            "{e}"
        );
    }

    #[test]
    fn missing_file_names_file_and_fix() {
        let e = StackSpec::load(Path::new("/nonexistent/stack.toml")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("/nonexistent/stack.toml"), "{s}");
        assert!(s.contains("--config"), "{s}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = parse(&format!("{MINIMAL}[logs\n")).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
    }

    #[test]
    fn project_must_be_a_valid_name() {
        let e = parse(&MINIMAL.replace("\"p\"", "\"My_Project\"")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("project"));
        assert_eq!(e.line, Some(1));
    }
}
