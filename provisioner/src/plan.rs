//! Why this file exists: turns "what the account has" (state.rs) and "what the spec wants" into
//! an ordered list of changes — `+` create, `~` update (with the attribute diff), `-` delete —
//! printable as text with a Terraform-like summary line, or as JSON. Computing a plan is pure:
//! no AWS call happens here.

use std::fmt;

use serde::Serialize;

use crate::error::Error;
use crate::names::{ECS_SERVICE_PRINCIPAL, SLR_NAME};
use crate::resources::task_definition::Expect;
use crate::resources::{
    cluster, ecr_repository, execution_role, log_group, service, service_linked_role, show_list,
    task_definition, task_role, AttrDiff, Ctx, KNOWN_AFTER_APPLY,
};
use crate::spec::SlrMode;
use crate::state::{check_ownership, Observed};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn symbol(&self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        }
    }
}

/// One resource to create, update or delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    /// Resource kind, e.g. `ecs_cluster`.
    pub kind: String,
    pub name: String,
    /// For creates: the attributes set (before = None). For updates: what differs.
    pub attributes: Vec<AttrDiff>,
}

impl Change {
    pub fn new(action: Action, kind: &str, name: &str, attributes: Vec<AttrDiff>) -> Change {
        Change {
            action,
            kind: kind.to_owned(),
            name: name.to_owned(),
            attributes,
        }
    }
}

/// Ordered changes (apply order for create/update, destroy order for delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// (to add, to change, to destroy)
    pub fn counts(&self) -> (usize, usize, usize) {
        let c = |a: Action| self.changes.iter().filter(|x| x.action == a).count();
        (c(Action::Create), c(Action::Update), c(Action::Delete))
    }

    pub fn summary(&self) -> String {
        let (a, c, d) = self.counts();
        format!("Plan: {a} to add, {c} to change, {d} to destroy.")
    }

    pub fn to_json(&self) -> serde_json::Value {
        let (add, change, destroy) = self.counts();
        serde_json::json!({
            "changes": self.changes,
            "summary": { "add": add, "change": change, "destroy": destroy },
        })
    }
}

/// Strings quoted; numbers, booleans, lists and JSON documents as they are.
fn quote(v: &Option<String>) -> String {
    match v {
        None => "(none)".to_owned(),
        Some(s) if s == KNOWN_AFTER_APPLY => s.clone(),
        Some(s)
            if s.starts_with('[')
                || s.starts_with('{')
                || s == "true"
                || s == "false"
                || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())) =>
        {
            s.clone()
        }
        Some(s) => format!("{s:?}"),
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            writeln!(f, "No changes.")?;
        }
        for c in &self.changes {
            writeln!(f, "  {} {} {}", c.action.symbol(), c.kind, c.name)?;
            for a in &c.attributes {
                match c.action {
                    Action::Create => writeln!(f, "      + {} = {}", a.attribute, quote(&a.after))?,
                    Action::Update => writeln!(
                        f,
                        "      ~ {} = {} -> {}",
                        a.attribute,
                        quote(&a.before),
                        quote(&a.after)
                    )?,
                    Action::Delete => {
                        writeln!(f, "      - {} = {}", a.attribute, quote(&a.before))?
                    }
                }
            }
        }
        write!(f, "{}", self.summary())
    }
}

fn set(attr: &str, v: impl Into<String>) -> AttrDiff {
    AttrDiff::new(attr, None, Some(v.into()))
}

fn push(
    changes: &mut Vec<Change>,
    kind: &str,
    name: &str,
    create: Option<Vec<AttrDiff>>,
    diffs: Vec<AttrDiff>,
) {
    match create {
        Some(attrs) => changes.push(Change::new(Action::Create, kind, name, attrs)),
        None if !diffs.is_empty() => changes.push(Change::new(Action::Update, kind, name, diffs)),
        None => {}
    }
}

/// What apply would do, given what exists. Refuses (NotOurs) when a resource under our name
/// lacks our ownership tag. Needs `observed.network` for the service.
pub fn compute(ctx: Ctx<'_>, o: &Observed) -> Result<Plan, Error> {
    check_ownership(ctx, o)?;
    let n = ctx.names;
    let mut changes = Vec::new();

    if ctx.spec.service_linked_role == SlrMode::Ensure && o.slr.is_none() {
        changes.push(Change::new(
            Action::Create,
            service_linked_role::KIND,
            SLR_NAME,
            vec![set("aws_service_name", ECS_SERVICE_PRINCIPAL)],
        ));
    }

    let d = cluster::desired(ctx);
    match &o.cluster {
        None => push(
            &mut changes,
            cluster::KIND,
            &d.name,
            Some(vec![
                set("container_insights", d.container_insights.clone()),
                set("capacity_providers", show_list(&d.capacity_providers)),
                set(
                    "default_capacity_provider_strategy",
                    cluster::show_strategy(&d.default_strategy),
                ),
            ]),
            vec![],
        ),
        Some(c) => push(
            &mut changes,
            cluster::KIND,
            &d.name,
            None,
            cluster::diff(c, &d),
        ),
    }

    for (kind, desired, observed) in [
        (
            execution_role::KIND,
            execution_role::desired(ctx),
            &o.execution_role,
        ),
        (task_role::KIND, task_role::desired(ctx), &o.task_role),
    ] {
        match observed {
            None => {
                let mut attrs = vec![set("assume_role_policy", desired.trust.to_string())];
                if !desired.managed.is_empty() {
                    attrs.push(set("managed_policy_arns", show_list(&desired.managed)));
                }
                for (p, doc) in &desired.inline {
                    attrs.push(set(&format!("inline_policy.{p}"), doc.to_string()));
                }
                push(&mut changes, kind, &desired.name, Some(attrs), vec![]);
            }
            Some(r) => push(
                &mut changes,
                kind,
                &desired.name,
                None,
                execution_role::diff(r, &desired),
            ),
        }
    }

    let d = ecr_repository::desired(ctx);
    match &o.ecr {
        None => push(
            &mut changes,
            ecr_repository::KIND,
            &d.name,
            Some(vec![
                set("scan_on_push", d.scan_on_push.to_string()),
                set("image_tag_mutability", d.tag_mutability.clone()),
            ]),
            vec![],
        ),
        Some(r) => push(
            &mut changes,
            ecr_repository::KIND,
            &d.name,
            None,
            ecr_repository::diff(r, &d),
        ),
    }

    let d = log_group::desired(ctx);
    match &o.log_group {
        None => push(
            &mut changes,
            log_group::KIND,
            &d.name,
            Some(vec![set(
                "retention_in_days",
                d.retention_in_days.to_string(),
            )]),
            vec![],
        ),
        Some(l) => push(
            &mut changes,
            log_group::KIND,
            &d.name,
            None,
            log_group::diff(l, &d),
        ),
    }

    // Repository policy: needs the execution role's ARN.
    let exec_arn = o.execution_role.as_ref().map(|r| r.arn.as_str());
    match (&o.ecr, &o.ecr_policy, exec_arn) {
        (None, _, _) | (Some(_), None, _) => push(
            &mut changes,
            ecr_repository::POLICY_KIND,
            &n.ecr_repository,
            Some(vec![set(
                "policy",
                exec_arn
                    .map(|a| ecr_repository::policy_document(a).to_string())
                    .unwrap_or_else(|| KNOWN_AFTER_APPLY.into()),
            )]),
            vec![],
        ),
        (Some(_), Some(p), Some(arn)) => push(
            &mut changes,
            ecr_repository::POLICY_KIND,
            &n.ecr_repository,
            None,
            ecr_repository::diff_policy(Some(p), &ecr_repository::policy_document(arn)),
        ),
        (Some(_), Some(p), None) => push(
            &mut changes,
            ecr_repository::POLICY_KIND,
            &n.ecr_repository,
            None,
            vec![AttrDiff::new(
                "policy",
                Some(p.to_string()),
                Some(KNOWN_AFTER_APPLY.into()),
            )],
        ),
    }

    // Task definition: compared with what the roles/repository are (or will be named).
    let d = task_definition::desired(
        ctx,
        exec_arn,
        o.task_role.as_ref().map(|r| r.arn.as_str()),
        o.ecr.as_ref().map(|r| r.uri.as_str()),
    );
    let td_stays = match &o.task_definition {
        None => {
            push(
                &mut changes,
                task_definition::KIND,
                &d.family,
                Some(vec![
                    set("cpu", d.cpu.clone()),
                    set("memory", d.memory.clone()),
                    set("image", d.image.show()),
                    set("execution_role_arn", d.execution_role.show()),
                    set("task_role_arn", d.task_role.show()),
                ]),
                vec![],
            );
            None
        }
        Some(t) => {
            let diffs = task_definition::diff(t, &d);
            let stays = task_definition::only_tags(&diffs);
            let name = if stays {
                format!("{}:{}", t.family, t.revision)
            } else {
                format!("{} (new revision)", d.family)
            };
            push(&mut changes, task_definition::KIND, &name, None, diffs);
            stays.then(|| t.arn.clone())
        }
    };

    let network = o.network.clone().unwrap_or_default();
    let td = td_stays.map(Expect::exact).unwrap_or(Expect::Unknown);
    let d = service::desired(ctx, td, &network);
    match &o.service {
        None => push(
            &mut changes,
            service::KIND,
            &d.name,
            Some(vec![
                set("cluster", d.cluster.clone()),
                set("task_definition", d.task_definition.show()),
                set("desired_count", d.desired_count.to_string()),
                set(
                    "capacity_provider_strategy",
                    cluster::show_strategy(&d.strategy),
                ),
                set("network.subnets", show_list(&d.network.subnets)),
                set(
                    "network.security_groups",
                    show_list(&d.network.security_groups),
                ),
                set("network.assign_public_ip", d.assign_public_ip.clone()),
            ]),
            vec![],
        ),
        Some(s) => push(
            &mut changes,
            service::KIND,
            &d.name,
            None,
            service::diff(s, &d),
        ),
    }

    Ok(Plan { changes })
}

/// What destroy would delete (reverse order); resources that are not ours are left out.
pub fn compute_destroy(
    ctx: Ctx<'_>,
    o: &Observed,
    task_definitions: &[task_definition::Observed],
    delete_slr: bool,
) -> Plan {
    let n = ctx.names;
    let mut changes = Vec::new();
    let mut del = |kind: &str, name: &str, ours: bool| {
        if ours {
            changes.push(Change::new(Action::Delete, kind, name, vec![]));
        }
    };
    if let Some(s) = &o.service {
        del(service::KIND, &s.name, n.is_ours(&s.tags));
    }
    for t in task_definitions {
        del(
            task_definition::KIND,
            &format!("{}:{}", t.family, t.revision),
            n.is_ours(&t.tags),
        );
    }
    if let Some(c) = &o.cluster {
        del(cluster::KIND, &c.name, n.is_ours(&c.tags));
    }
    if let Some(r) = &o.ecr {
        del(ecr_repository::KIND, &r.name, n.is_ours(&r.tags));
    }
    if let Some(r) = &o.execution_role {
        del(execution_role::KIND, &r.name, n.is_ours(&r.tags));
    }
    if let Some(r) = &o.task_role {
        del(task_role::KIND, &r.name, n.is_ours(&r.tags));
    }
    if let Some(l) = &o.log_group {
        del(log_group::KIND, &l.name, n.is_ours(&l.tags));
    }
    if delete_slr {
        if let Some(s) = &o.slr {
            del(service_linked_role::KIND, &s.name, true);
        }
    }
    Plan { changes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::Clients;
    use crate::names::Names;
    use crate::resources::network::Network;
    use crate::resources::{iam_role, task_definition as td};
    use crate::retry::{Retrier, RetryPolicy};
    use crate::spec::StackSpec;
    use crate::state::Observed;
    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_credential_types::Credentials;
    use aws_types::region::Region;
    use aws_types::SdkConfig;
    use std::collections::BTreeMap;

    const REGION: &str = "ap-northeast-1";

    fn clients() -> Clients {
        let cfg = SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:9")
            .region(Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "a", "b", None, None, "t",
            )))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Clients::from_sdk_config(&cfg)
    }

    /// An account in which the example stack exists exactly as specified.
    fn converged(ctx: Ctx<'_>) -> Observed {
        let n = ctx.names;
        let role_arn = |name: &str| format!("arn:aws:iam::123456789012:role/{name}");
        let role = |d: iam_role::Desired| iam_role::Observed {
            arn: role_arn(&d.name),
            name: d.name.clone(),
            trust: crate::names::normalize_policy(&d.trust.to_string()),
            tags: d.tags.clone(),
            attached: d.managed.clone(),
            inline: d
                .inline
                .iter()
                .map(|(k, v)| (k.clone(), crate::names::normalize_policy(&v.to_string())))
                .collect(),
        };
        let dc = cluster::desired(ctx);
        let de = ecr_repository::desired(ctx);
        let dl = log_group::desired(ctx);
        let uri = format!(
            "123456789012.dkr.ecr.{REGION}.amazonaws.com/{}",
            n.ecr_repository
        );
        let dtd = td::desired(
            ctx,
            Some(&role_arn(&n.execution_role)),
            Some(&role_arn(&n.task_role)),
            Some(&uri),
        );
        let td_arn = format!(
            "arn:aws:ecs:{REGION}:123456789012:task-definition/{}:1",
            n.task_family
        );
        let network = Network {
            subnets: vec!["subnet-1".into()],
            security_groups: vec!["sg-1".into()],
            vpc_id: None,
        };
        let ds = service::desired(ctx, Expect::exact(td_arn.clone()), &network);
        Observed {
            slr: Some(service_linked_role::Observed {
                name: "AWSServiceRoleForECS".into(),
                arn: "arn:slr".into(),
            }),
            cluster: Some(cluster::Observed {
                name: dc.name.clone(),
                arn: "arn:cluster".into(),
                status: "ACTIVE".into(),
                container_insights: Some(dc.container_insights.clone()),
                capacity_providers: dc.capacity_providers.clone(),
                default_strategy: dc.default_strategy.clone(),
                tags: dc.tags.clone(),
            }),
            execution_role: Some(role(execution_role::desired(ctx))),
            task_role: Some(role(task_role::desired(ctx))),
            ecr: Some(ecr_repository::Observed {
                name: de.name.clone(),
                arn: "arn:ecr".into(),
                uri: uri.clone(),
                scan_on_push: de.scan_on_push,
                tag_mutability: de.tag_mutability.clone(),
                tags: de.tags.clone(),
            }),
            ecr_policy: crate::names::normalize_policy(
                &ecr_repository::policy_document(&role_arn(&n.execution_role)).to_string(),
            ),
            log_group: Some(log_group::Observed {
                name: dl.name.clone(),
                arn: "arn:logs".into(),
                retention_in_days: Some(dl.retention_in_days),
                tags: dl.tags.clone(),
            }),
            task_definition: Some(td::Observed {
                arn: td_arn.clone(),
                family: dtd.family.clone(),
                revision: 1,
                cpu: Some(dtd.cpu.clone()),
                memory: Some(dtd.memory.clone()),
                execution_role_arn: dtd.execution_role.exact_value().map(str::to_owned),
                task_role_arn: dtd.task_role.exact_value().map(str::to_owned),
                network_mode: Some("awsvpc".into()),
                requires_compatibilities: vec!["FARGATE".into()],
                container: Some(td::Container {
                    name: dtd.container_name.clone(),
                    image: dtd.image.exact_value().map(str::to_owned),
                    port: Some(dtd.port),
                    log_driver: Some("awslogs".into()),
                    log_options: dtd.log_options.clone(),
                    environment: dtd.environment.clone(),
                }),
                tags: dtd.tags.clone(),
            }),
            service: Some(service::Observed {
                name: ds.name.clone(),
                arn: "arn:service".into(),
                status: "ACTIVE".into(),
                task_definition: Some(td_arn),
                desired_count: ds.desired_count,
                subnets: network.subnets.clone(),
                security_groups: network.security_groups.clone(),
                assign_public_ip: Some(ds.assign_public_ip.clone()),
                strategy: ds.strategy.clone(),
                tags: ds.tags.clone(),
            }),
            network: Some(network),
        }
    }

    fn with_ctx(spec: StackSpec, f: impl FnOnce(Ctx<'_>)) {
        let clients = clients();
        let names = Names::new(&spec, REGION);
        let retry = Retrier::new(RetryPolicy::default());
        f(Ctx {
            clients: &clients,
            spec: &spec,
            names: &names,
            retry: &retry,
        });
    }

    #[test]
    fn converged_stack_plans_nothing() {
        with_ctx(StackSpec::example(), |ctx| {
            let plan = compute(ctx, &converged(ctx)).unwrap();
            assert!(plan.is_empty(), "{plan}");
            assert_eq!(
                plan.to_string(),
                "No changes.\nPlan: 0 to add, 0 to change, 0 to destroy."
            );
        });
    }

    #[test]
    fn empty_account_plans_every_resource_in_apply_order() {
        with_ctx(StackSpec::example(), |ctx| {
            let o = Observed {
                network: converged(ctx).network,
                ..Observed::default()
            };
            let plan = compute(ctx, &o).unwrap();
            let kinds: Vec<&str> = plan.changes.iter().map(|c| c.kind.as_str()).collect();
            assert_eq!(
                kinds,
                [
                    "service_linked_role",
                    "ecs_cluster",
                    "iam_role.execution",
                    "iam_role.task",
                    "ecr_repository",
                    "cloudwatch_log_group",
                    "ecr_repository_policy",
                    "ecs_task_definition",
                    "ecs_service"
                ]
            );
            assert!(plan.changes.iter().all(|c| c.action == Action::Create));
            assert_eq!(plan.counts(), (9, 0, 0));
            let text = plan.to_string();
            assert!(text.contains("  + ecs_cluster my-project-dev-cluster\n      + container_insights = \"enabled\""), "{text}");
            assert!(
                text.contains("+ execution_role_arn = (known after apply)"),
                "{text}"
            );
            assert!(
                text.ends_with("Plan: 9 to add, 0 to change, 0 to destroy."),
                "{text}"
            );
        });
    }

    #[test]
    fn drift_is_an_update_with_attribute_diffs() {
        with_ctx(StackSpec::example(), |ctx| {
            let mut o = converged(ctx);
            let c = o.cluster.as_mut().unwrap();
            c.container_insights = Some("disabled".into());
            c.tags.remove("Environment");
            o.log_group.as_mut().unwrap().retention_in_days = Some(7);
            o.service.as_mut().unwrap().desired_count = 3;
            let plan = compute(ctx, &o).unwrap();
            assert_eq!(plan.counts(), (0, 3, 0), "{plan}");
            let cluster = &plan.changes[0];
            assert_eq!(cluster.kind, "ecs_cluster");
            assert_eq!(
                cluster.attributes,
                vec![
                    AttrDiff::new(
                        "container_insights",
                        Some("disabled".into()),
                        Some("enabled".into())
                    ),
                    AttrDiff::new("tags.Environment", None, Some("dev".into())),
                ]
            );
            let text = plan.to_string();
            assert!(text.contains("  ~ ecs_cluster my-project-dev-cluster\n      ~ container_insights = \"disabled\" -> \"enabled\""), "{text}");
            assert!(text.contains("~ retention_in_days = 7 -> 30"), "{text}");
            assert!(text.contains("~ desired_count = 3 -> 1"), "{text}");
            assert!(text.ends_with("Plan: 0 to add, 3 to change, 0 to destroy."));
            let j = plan.to_json();
            assert_eq!(j["summary"]["change"], 3);
            assert_eq!(j["changes"][0]["action"], "update");
            assert_eq!(
                j["changes"][0]["attributes"][0]["attribute"],
                "container_insights"
            );
        });
    }

    #[test]
    fn task_definition_change_moves_the_service_to_a_new_revision() {
        with_ctx(StackSpec::example(), |ctx| {
            let mut o = converged(ctx);
            o.task_definition.as_mut().unwrap().memory = Some("1024".into());
            let plan = compute(ctx, &o).unwrap();
            assert_eq!(plan.counts(), (0, 2, 0), "{plan}");
            assert_eq!(plan.changes[0].name, "my-project-dev-app (new revision)");
            assert_eq!(plan.changes[1].kind, "ecs_service");
            assert_eq!(plan.changes[1].attributes[0].attribute, "task_definition");
            assert_eq!(
                plan.changes[1].attributes[0].after.as_deref(),
                Some(KNOWN_AFTER_APPLY)
            );
        });
    }

    #[test]
    fn only_tag_drift_on_a_task_definition_keeps_the_revision() {
        with_ctx(StackSpec::example(), |ctx| {
            let mut o = converged(ctx);
            o.task_definition.as_mut().unwrap().tags.remove("Name");
            // still ours (ownership tag present), only a tag differs
            let plan = compute(ctx, &o).unwrap();
            assert_eq!(plan.counts(), (0, 1, 0), "{plan}");
            assert_eq!(plan.changes[0].name, "my-project-dev-app:1");
        });
    }

    #[test]
    fn a_resource_without_the_ownership_tag_is_a_conflict() {
        with_ctx(StackSpec::example(), |ctx| {
            let mut o = converged(ctx);
            o.ecr.as_mut().unwrap().tags =
                BTreeMap::from([("Name".into(), "my-project-dev-app".into())]);
            let err = compute(ctx, &o).unwrap_err();
            assert!(err.is_not_ours());
            let s = err.to_string();
            assert!(s.contains("ecr_repository my-project-dev-app"), "{s}");
            assert!(s.contains("provisioner:stack=my-project-dev"), "{s}");
        });
    }

    #[test]
    fn ensure_mode_plans_the_service_linked_role_other_modes_do_not() {
        for (mode, expected) in [
            (SlrMode::Ensure, 1),
            (SlrMode::Implicit, 0),
            (SlrMode::Skip, 0),
        ] {
            let mut spec = StackSpec::example();
            spec.service_linked_role = mode;
            with_ctx(spec, |ctx| {
                let mut o = converged(ctx);
                o.slr = None;
                assert_eq!(
                    compute(ctx, &o).unwrap().changes.len(),
                    expected,
                    "{mode:?}"
                );
            });
        }
    }

    #[test]
    fn destroy_plan_is_reverse_order_and_skips_what_is_not_ours() {
        with_ctx(StackSpec::example(), |ctx| {
            let mut o = converged(ctx);
            o.log_group.as_mut().unwrap().tags.clear();
            let tds = vec![o.task_definition.clone().unwrap()];
            let plan = compute_destroy(ctx, &o, &tds, false);
            let kinds: Vec<&str> = plan.changes.iter().map(|c| c.kind.as_str()).collect();
            assert_eq!(
                kinds,
                [
                    "ecs_service",
                    "ecs_task_definition",
                    "ecs_cluster",
                    "ecr_repository",
                    "iam_role.execution",
                    "iam_role.task"
                ]
            );
            assert!(plan
                .to_string()
                .contains("  - ecs_service my-project-dev-service"));
            assert_eq!(plan.summary(), "Plan: 0 to add, 0 to change, 6 to destroy.");
            assert_eq!(
                compute_destroy(ctx, &o, &tds, true)
                    .changes
                    .last()
                    .unwrap()
                    .kind,
                "service_linked_role"
            );
        });
    }
}
