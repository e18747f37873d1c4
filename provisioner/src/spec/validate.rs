//! Why this file exists: the checks a parsed stack spec must pass before anything talks to AWS
//! (names AWS accepts, Fargate's cpu/memory table, CloudWatch's retention values, a usable
//! capacity provider strategy, ...). Each section of the file has its own function; every
//! violation names its table, entry and key so that location.rs can point at the line.

use super::schema::{
    fargate_memory_for_cpu, StackSpec, FARGATE_CPU, LOG_GROUP_ARN_PLACEHOLDER, LOG_RETENTION_DAYS,
};

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

/// The violations found so far, in file order of sections.
#[derive(Default)]
struct Found(Vec<Violation>);

impl Found {
    fn bad(&mut self, table: &str, index: Option<usize>, key: &str, message: String) {
        self.0.push(Violation {
            table: table.into(),
            index,
            key: key.into(),
            message,
        });
    }
}

impl StackSpec {
    /// Checks every value; returns all violations, in file order of sections.
    pub fn violations(&self) -> Vec<Violation> {
        let mut found = Found::default();
        names_and_region(self, &mut found);
        cluster(self, &mut found);
        logs(self, &mut found);
        task_role(self, &mut found);
        task_definition(self, &mut found);
        service(self, &mut found);
        found.0
    }
}

/// `project`, `environment` (valid names, IAM length) and `region`.
fn names_and_region(spec: &StackSpec, out: &mut Found) {
    let name_re = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
    };
    if !name_re(&spec.project) {
        out.bad(
            "",
            None,
            "project",
            format!(
            "{:?} is not a valid name: use lowercase letters, digits and '-' (it becomes part of \
             ECR, IAM and ECS names)", spec.project),
        );
    }
    if !name_re(&spec.environment) {
        out.bad(
            "",
            None,
            "environment",
            format!(
                "{:?} is not a valid name: use lowercase letters, digits and '-'",
                spec.environment
            ),
        );
    }
    // IAM role names are at most 64 characters: "{project}-{env}-ecs-execution-role".
    let longest = spec.project.len() + spec.environment.len() + "--ecs-execution-role".len();
    if longest > 64 {
        out.bad(
            "",
            None,
            "environment",
            format!(
            "project + environment are too long: \"{}-{}-ecs-execution-role\" would be {longest} \
             characters, IAM allows 64", spec.project, spec.environment),
        );
    }
    let region_ok = {
        let parts: Vec<&str> = spec.region.split('-').collect();
        parts.len() >= 3
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
            && !parts[parts.len() - 1].is_empty()
    };
    if !region_ok {
        out.bad(
            "",
            None,
            "region",
            format!(
                "{:?} is not an AWS region name (like \"ap-northeast-1\")",
                spec.region
            ),
        );
    }
}

/// `[cluster]`: capacity providers and the default strategy.
fn cluster(spec: &StackSpec, out: &mut Found) {
    let cps = &spec.cluster.capacity_providers;
    for (i, cp) in cps.iter().enumerate() {
        if cps[..i].contains(cp) {
            out.bad(
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
    let strat = &spec.cluster.default_capacity_provider_strategy;
    let t = "cluster.default_capacity_provider_strategy";
    for (i, item) in strat.iter().enumerate() {
        if !cps.contains(&item.capacity_provider) {
            out.bad(
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
            out.bad(
                t,
                Some(i),
                "weight",
                format!("{} is out of range; allowed values: 0..=1000", item.weight),
            );
        }
        if item.base > 100_000 {
            out.bad(
                t,
                Some(i),
                "base",
                format!("{} is out of range; allowed values: 0..=100000", item.base),
            );
        }
        if item.base > 0 && strat.iter().take(i).any(|o| o.base > 0) {
            out.bad(
                t,
                Some(i),
                "base",
                "only one capacity provider in a strategy can have a base".into(),
            );
        }
    }
    if !strat.is_empty() && strat.iter().all(|s| s.weight == 0) {
        out.bad(
            t,
            Some(0),
            "weight",
            "at least one capacity provider needs a weight above 0".into(),
        );
    }
    if strat.is_empty() {
        out.bad(
            "cluster",
            None,
            "default_capacity_provider_strategy",
            "must not be empty: the service is placed through it (e.g. FARGATE base 1 weight 100)"
                .into(),
        );
    }
}

/// `[logs]`: a retention CloudWatch Logs accepts.
fn logs(spec: &StackSpec, out: &mut Found) {
    if !LOG_RETENTION_DAYS.contains(&spec.logs.retention_in_days) {
        out.bad(
            "logs",
            None,
            "retention_in_days",
            format!(
                "{} is not a retention CloudWatch Logs accepts; allowed values: {}",
                spec.logs.retention_in_days,
                LOG_RETENTION_DAYS
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// `[task_role]`: the inline policy's statements.
fn task_role(spec: &StackSpec, out: &mut Found) {
    if spec.task_role.statements.is_empty() {
        out.bad(
            "task_role",
            None,
            "statements",
            "the task role's inline policy needs at least one statement".into(),
        );
    }
    for (i, s) in spec.task_role.statements.iter().enumerate() {
        if s.actions.is_empty()
            || s.actions
                .iter()
                .any(|a| a.is_empty() || !(a == "*" || a.contains(':')))
        {
            out.bad("task_role.statements", Some(i), "actions",
                "each action must look like \"service:Action\" (or \"*\") and the list must not be empty".into());
        }
        if s.resources.is_empty()
            || s.resources.iter().any(|r| {
                !(r == "*" || r.starts_with("arn:") || r.starts_with(LOG_GROUP_ARN_PLACEHOLDER))
            })
        {
            out.bad(
                "task_role.statements",
                Some(i),
                "resources",
                format!("each resource must be \"*\", an ARN or {LOG_GROUP_ARN_PLACEHOLDER} (the stack's log group, `{LOG_GROUP_ARN_PLACEHOLDER}:*` its streams), and the list must not be empty"),
            );
        }
    }
}

/// `[task_definition]`: Fargate cpu/memory, family, container.
fn task_definition(spec: &StackSpec, out: &mut Found) {
    let td = &spec.task_definition;
    match fargate_memory_for_cpu(td.cpu) {
        None => out.bad(
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
        Some(mem) if !mem.contains(&td.memory) => out.bad(
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
            out.bad(
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
        out.bad(
            "task_definition",
            None,
            "container_name",
            "must be letters, digits, '-' or '_'".into(),
        );
    }
    if td.container_port == 0 {
        out.bad(
            "task_definition",
            None,
            "container_port",
            "must be 1..=65535".into(),
        );
    }
    if matches!(&td.image, Some(i) if i.trim().is_empty()) {
        out.bad(
            "task_definition",
            None,
            "image",
            "must not be empty (omit it to use the stack's ECR repository)".into(),
        );
    }
}

/// `[service]`: name, subnets, security groups.
fn service(spec: &StackSpec, out: &mut Found) {
    if let Some(n) = &spec.service.name {
        if n.is_empty()
            || n.len() > 255
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            out.bad(
                "service",
                None,
                "name",
                "must be 1-255 letters, digits, '-' or '_'".into(),
            );
        }
    }
    if spec
        .service
        .subnets
        .iter()
        .any(|s| !s.starts_with("subnet-"))
    {
        out.bad("service", None, "subnets", "each entry must be a subnet id (\"subnet-...\"); leave the list empty for the default VPC's subnets".into());
    }
    if spec
        .service
        .security_groups
        .iter()
        .any(|s| !s.starts_with("sg-"))
    {
        out.bad("service", None, "security_groups", "each entry must be a security group id (\"sg-...\"); leave the list empty for the default VPC's default group".into());
    }
}
