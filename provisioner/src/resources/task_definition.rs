//! Why this file exists: the task definition family `{project}-{env}-app` (overridable): Fargate,
//! awsvpc, the spec's cpu/memory, both roles, one container whose image defaults to the stack's
//! ECR repository and whose logs go to the stack's log group. Task definitions are immutable:
//! a change registers a new revision (and the service then moves to it).

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, NetworkMode,
    PortMapping, TaskDefinitionField, TaskDefinitionStatus, TransportProtocol,
};

use futures::future::{BoxFuture, FutureExt};

use super::cluster::ecs_tags;
use super::{diff_tags, missing_tags, AttrDiff, Ctx, KNOWN_AFTER_APPLY};
use super::{ecr_repository, execution_role, task_role, Known, Receipt, Resource};
use crate::error::{aws, Error};

pub const KIND: &str = "ecs_task_definition";

/// A value that is known exactly, or — before its producer exists — only by the suffix a
/// deterministic name gives it (e.g. `:role/{name}`), or not at all (decided by an earlier step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Exact(String),
    Suffix(String),
    /// Never matches: the value will change during apply.
    Unknown,
}

impl Expect {
    pub fn exact(v: impl Into<String>) -> Expect {
        Expect::Exact(v.into())
    }
    pub fn suffix(s: impl Into<String>) -> Expect {
        Expect::Suffix(s.into())
    }
    pub fn exact_value(&self) -> Option<&str> {
        match self {
            Expect::Exact(v) => Some(v),
            _ => None,
        }
    }
    pub fn matches(&self, observed: Option<&str>) -> bool {
        match (self, observed) {
            (Expect::Exact(e), Some(o)) => e == o,
            (Expect::Suffix(s), Some(o)) => o.ends_with(s.as_str()),
            _ => false,
        }
    }
    pub fn show(&self) -> String {
        self.exact_value()
            .map(str::to_owned)
            .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub image: Option<String>,
    pub port: Option<i32>,
    pub log_driver: Option<String>,
    pub log_options: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    pub network_mode: Option<String>,
    pub requires_compatibilities: Vec<String>,
    pub container: Option<Container>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub family: String,
    pub cpu: String,
    pub memory: String,
    pub execution_role: Expect,
    pub task_role: Expect,
    pub container_name: String,
    pub image: Expect,
    pub port: i32,
    pub log_options: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// Desired state; ARNs/URL not yet known are matched by their deterministic suffix.
pub fn desired(
    ctx: Ctx<'_>,
    execution_role_arn: Option<&str>,
    task_role_arn: Option<&str>,
    ecr_uri: Option<&str>,
) -> Desired {
    let n = ctx.names;
    let td = &ctx.spec.task_definition;
    let role = |arn: Option<&str>, name: &str| match arn {
        Some(a) => Expect::exact(a),
        None => Expect::suffix(format!(":role/{name}")),
    };
    let image = match (&td.image, ecr_uri) {
        (Some(i), _) => Expect::exact(i.clone()),
        (None, Some(uri)) => Expect::exact(format!("{uri}:latest")),
        (None, None) => Expect::suffix(format!("/{}:latest", n.ecr_repository)),
    };
    Desired {
        family: n.task_family.clone(),
        cpu: td.cpu.to_string(),
        memory: td.memory.to_string(),
        execution_role: role(execution_role_arn, &n.execution_role),
        task_role: role(task_role_arn, &n.task_role),
        container_name: n.container.clone(),
        image,
        port: td.container_port as i32,
        log_options: BTreeMap::from([
            ("awslogs-group".to_owned(), n.log_group.clone()),
            ("awslogs-region".to_owned(), ctx.clients.region.clone()),
            (
                "awslogs-stream-prefix".to_owned(),
                td.log_stream_prefix.clone(),
            ),
        ]),
        environment: td.environment.clone(),
        tags: n.tags(ctx.spec, &n.task_family),
    }
}

fn observed_from(
    td: &aws_sdk_ecs::types::TaskDefinition,
    tags: &[aws_sdk_ecs::types::Tag],
) -> Observed {
    Observed {
        arn: td.task_definition_arn().unwrap_or_default().to_owned(),
        family: td.family().unwrap_or_default().to_owned(),
        revision: td.revision(),
        cpu: td.cpu().map(str::to_owned),
        memory: td.memory().map(str::to_owned),
        execution_role_arn: td.execution_role_arn().map(str::to_owned),
        task_role_arn: td.task_role_arn().map(str::to_owned),
        network_mode: td.network_mode().map(|m| m.as_str().to_owned()),
        requires_compatibilities: td
            .requires_compatibilities()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        container: td.container_definitions().first().map(|c| Container {
            name: c.name().unwrap_or_default().to_owned(),
            image: c.image().map(str::to_owned),
            port: c.port_mappings().first().and_then(|p| p.container_port()),
            log_driver: c
                .log_configuration()
                .map(|l| l.log_driver().as_str().to_owned()),
            log_options: c
                .log_configuration()
                .and_then(|l| l.options())
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            environment: c
                .environment()
                .iter()
                .filter_map(|kv| {
                    Some((
                        kv.name()?.to_owned(),
                        kv.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect(),
        }),
        tags: tags
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
    }
}

async fn describe(ctx: Ctx<'_>, family_or_arn: &str) -> Result<Option<Observed>, Error> {
    match ctx
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(family_or_arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(aws("DescribeTaskDefinition"))
    {
        Ok(out) => Ok(out
            .task_definition()
            .filter(|td| td.status() != Some(&TaskDefinitionStatus::Inactive))
            .map(|td| observed_from(td, out.tags()))),
        // AWS: ClientException "Unable to describe task definition."; emulators vary.
        Err(e) if e.code == "ClientException" || e.code.contains("NotFound") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The latest ACTIVE revision of the family.
pub async fn find(ctx: Ctx<'_>, family: &str) -> Result<Option<Observed>, Error> {
    describe(ctx, family).await
}

pub fn diff(o: &Observed, d: &Desired) -> Vec<AttrDiff> {
    let mut out = Vec::new();
    let mut cmp = |attr: &str, before: Option<&str>, after: &str| {
        if before != Some(after) {
            out.push(AttrDiff::new(
                attr,
                before.map(str::to_owned),
                Some(after.to_owned()),
            ));
        }
    };
    cmp("cpu", o.cpu.as_deref(), &d.cpu);
    cmp("memory", o.memory.as_deref(), &d.memory);
    cmp("network_mode", o.network_mode.as_deref(), "awsvpc");
    if !o.requires_compatibilities.iter().any(|c| c == "FARGATE") {
        out.push(AttrDiff::new(
            "requires_compatibilities",
            Some(o.requires_compatibilities.join(",")),
            Some("FARGATE".into()),
        ));
    }
    for (attr, have, want) in [
        (
            "execution_role_arn",
            &o.execution_role_arn,
            &d.execution_role,
        ),
        ("task_role_arn", &o.task_role_arn, &d.task_role),
    ] {
        if !want.matches(have.as_deref()) {
            out.push(AttrDiff::new(attr, have.clone(), Some(want.show())));
        }
    }
    match &o.container {
        None => out.push(AttrDiff::new(
            "container",
            None,
            Some(d.container_name.clone()),
        )),
        Some(c) => {
            if c.name != d.container_name {
                out.push(AttrDiff::new(
                    "container.name",
                    Some(c.name.clone()),
                    Some(d.container_name.clone()),
                ));
            }
            if !d.image.matches(c.image.as_deref()) {
                out.push(AttrDiff::new(
                    "container.image",
                    c.image.clone(),
                    Some(d.image.show()),
                ));
            }
            if c.port != Some(d.port) {
                out.push(AttrDiff::new(
                    "container.port",
                    c.port.map(|p| p.to_string()),
                    Some(d.port.to_string()),
                ));
            }
            if c.log_driver.as_deref() != Some("awslogs") {
                out.push(AttrDiff::new(
                    "container.log_driver",
                    c.log_driver.clone(),
                    Some("awslogs".into()),
                ));
            }
            for (k, v) in &d.log_options {
                if c.log_options.get(k) != Some(v) {
                    out.push(AttrDiff::new(
                        &format!("container.log_options.{k}"),
                        c.log_options.get(k).cloned(),
                        Some(v.clone()),
                    ));
                }
            }
            if c.environment != d.environment {
                let show = |m: &BTreeMap<String, String>| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                out.push(AttrDiff::new(
                    "container.environment",
                    Some(show(&c.environment)),
                    Some(show(&d.environment)),
                ));
            }
        }
    }
    diff_tags(&mut out, &o.tags, &d.tags);
    out
}

/// Whether the only differences are tags (then TagResource suffices, no new revision).
pub fn only_tags(diffs: &[AttrDiff]) -> bool {
    diffs.iter().all(|d| d.attribute.starts_with("tags."))
}

/// RegisterTaskDefinition (create, or a new revision). All Expect values must be exact here.
pub async fn register(ctx: Ctx<'_>, d: &Desired) -> Result<Observed, Error> {
    let need = |e: &Expect, what: &str| {
        e.exact_value().map(str::to_owned).ok_or_else(|| {
            Error::Internal(format!("task definition: {what} unknown at register time"))
        })
    };
    let exec = need(&d.execution_role, "execution role ARN")?;
    let task = need(&d.task_role, "task role ARN")?;
    let image = need(&d.image, "image")?;
    let mut log = LogConfiguration::builder().log_driver(LogDriver::Awslogs);
    for (k, v) in &d.log_options {
        log = log.options(k, v);
    }
    let log = log
        .build()
        .map_err(|e| Error::Internal(format!("log configuration: {e}")))?;
    let container = ContainerDefinition::builder()
        .name(&d.container_name)
        .image(image)
        .essential(true)
        .port_mappings(
            PortMapping::builder()
                .container_port(d.port)
                .protocol(TransportProtocol::Tcp)
                .build(),
        )
        .log_configuration(log)
        .set_environment(Some(
            d.environment
                .iter()
                .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
                .collect(),
        ))
        .build();
    let out = ctx
        .clients
        .ecs
        .register_task_definition()
        .family(&d.family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu(&d.cpu)
        .memory(&d.memory)
        .execution_role_arn(exec)
        .task_role_arn(task)
        .container_definitions(container)
        .set_tags(Some(ecs_tags(&d.tags)))
        .send()
        .await
        .map_err(aws("RegisterTaskDefinition"))?;
    let td = out.task_definition().ok_or_else(|| {
        Error::Internal("RegisterTaskDefinition returned no task definition".into())
    })?;
    Ok(observed_from(td, out.tags()))
}

/// Converges an existing revision: tags only -> TagResource; anything else -> new revision.
pub async fn update(ctx: Ctx<'_>, o: &Observed, d: &Desired) -> Result<Observed, Error> {
    let diffs = diff(o, d);
    if only_tags(&diffs) {
        let tags = missing_tags(&o.tags, &d.tags);
        ctx.clients
            .ecs
            .tag_resource()
            .resource_arn(&o.arn)
            .set_tags(Some(ecs_tags(&tags)))
            .send()
            .await
            .map_err(aws("TagResource"))?;
        let mut o = o.clone();
        o.tags.extend(tags);
        return Ok(o);
    }
    register(ctx, d).await
}

/// All ACTIVE revisions of the family (ARNs).
pub async fn list_active(ctx: Ctx<'_>, family: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ctx
            .clients
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(aws("ListTaskDefinitions"))?;
        out.extend(
            page.task_definition_arns()
                .iter()
                .filter(|a| a.contains(&format!(":task-definition/{family}:")))
                .cloned(),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// Every ACTIVE revision with its tags (for destroy's ownership check).
pub async fn find_all(ctx: Ctx<'_>, family: &str) -> Result<Vec<Observed>, Error> {
    let mut out = Vec::new();
    for arn in list_active(ctx, family).await? {
        if let Some(o) = describe(ctx, &arn).await? {
            out.push(o);
        }
    }
    Ok(out)
}

pub async fn delete(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    match ctx
        .clients
        .ecs
        .deregister_task_definition()
        .task_definition(&o.arn)
        .send()
        .await
        .map_err(aws("DeregisterTaskDefinition"))
    {
        Err(e) if e.code == "ClientException" && e.message.contains("INACTIVE") => Ok(()),
        r => r.map(|_| ()).map_err(Error::from),
    }
}

/// The task definition family as a [`Resource`]: a change other than tags is a new revision.
pub struct TaskDefinition;

impl Resource for TaskDefinition {
    type Observed = Observed;
    type Desired = Desired;

    fn kind(&self) -> &'static str {
        KIND
    }
    /// The roles' ARNs and the repository's URI as known (by suffix when not yet).
    fn desired(&self, ctx: Ctx<'_>, known: &Known) -> Desired {
        desired(
            ctx,
            known.get(&execution_role::RESOURCE).map(|r| r.arn.as_str()),
            known.get(&task_role::RESOURCE).map(|r| r.arn.as_str()),
            known
                .get(&ecr_repository::Repository)
                .map(|r| r.uri.as_str()),
        )
    }
    fn desired_name(&self, d: &Desired) -> String {
        d.family.clone()
    }
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        find(ctx, &ctx.names.task_family).boxed()
    }
    /// Every ACTIVE revision (destroy deregisters them all).
    fn find_all<'a>(&'a self, ctx: Ctx<'a>) -> BoxFuture<'a, Result<Option<Vec<Observed>>, Error>> {
        find_all(ctx, &ctx.names.task_family)
            .map(|r| r.map(Some))
            .boxed()
    }
    fn diff(&self, o: &Observed, d: &Desired) -> Vec<AttrDiff> {
        diff(o, d)
    }
    fn create_attributes(&self, d: &Desired) -> Vec<AttrDiff> {
        vec![
            AttrDiff::set("cpu", d.cpu.clone()),
            AttrDiff::set("memory", d.memory.clone()),
            AttrDiff::set("image", d.image.show()),
            AttrDiff::set("execution_role_arn", d.execution_role.show()),
            AttrDiff::set("task_role_arn", d.task_role.show()),
        ]
    }
    fn update_name(&self, o: &Observed, d: &Desired, diffs: &[AttrDiff]) -> String {
        if only_tags(diffs) {
            format!("{}:{}", o.family, o.revision)
        } else {
            format!("{} (new revision)", d.family)
        }
    }
    fn replaces(&self, diffs: &[AttrDiff]) -> bool {
        !only_tags(diffs)
    }
    fn create<'a>(
        &'a self,
        ctx: Ctx<'a>,
        d: &'a Desired,
    ) -> BoxFuture<'a, Result<Observed, Error>> {
        register(ctx, d).boxed()
    }
    fn update<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Observed,
        d: &'a Desired,
    ) -> BoxFuture<'a, Result<Observed, Error>> {
        update(ctx, o, d).boxed()
    }
    fn delete<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Observed,
    ) -> BoxFuture<'a, Result<Receipt, Error>> {
        delete(ctx, o).map(|r| r.map(|()| None)).boxed()
    }
    fn tags<'a>(&self, o: &'a Observed) -> Option<&'a BTreeMap<String, String>> {
        Some(&o.tags)
    }
    fn name(&self, o: &Observed) -> String {
        format!("{}:{}", o.family, o.revision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_matches_exact_suffix_or_nothing() {
        let arn = "arn:aws:iam::123456789012:role/p-dev-ecs-task-role";
        assert!(Expect::exact(arn).matches(Some(arn)));
        assert!(!Expect::exact(arn).matches(Some("arn:aws:iam::1:role/other")));
        assert!(Expect::suffix(":role/p-dev-ecs-task-role").matches(Some(arn)));
        assert!(!Expect::suffix(":role/p-dev-ecs-task-role").matches(None));
        assert!(!Expect::Unknown.matches(Some(arn)));
        assert_eq!(Expect::Unknown.show(), KNOWN_AFTER_APPLY);
    }

    #[test]
    fn only_tags_is_not_a_new_revision() {
        let t = AttrDiff::new("tags.Name", None, Some("x".into()));
        let m = AttrDiff::new("memory", Some("512".into()), Some("1024".into()));
        assert!(only_tags(std::slice::from_ref(&t)));
        assert!(!only_tags(&[t, m]));
    }
}
