//! Why this file exists: turns "what the account has" (state.rs) and "what the spec wants" into
//! an ordered list of changes — `+` create, `~` update (with the attribute diff), `-` delete —
//! printable as text with a Terraform-like summary line, or as JSON. Computing a plan is pure:
//! no AWS call happens here.

use std::fmt;

use serde::Serialize;

use crate::error::Error;
use crate::resources::registry::{self, Row};
use crate::resources::{AttrDiff, Ctx, Erased, KNOWN_AFTER_APPLY};
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

/// What apply would do, given what exists, in apply order. Refuses (NotOurs) when a resource
/// under our name lacks our ownership tag. Needs `observed.network` for the service. What a
/// change creates or replaces is unknown to the kinds planned after it ("known after apply").
pub fn compute(ctx: Ctx<'_>, o: &Observed) -> Result<Plan, Error> {
    check_ownership(ctx, o)?;
    let mut known = o.clone();
    let mut changes = Vec::new();
    for row in registry::apply_layers().into_iter().flatten() {
        if !row.node.managed(ctx) {
            continue;
        }
        let Some(p) = row.node.plan(ctx, &known) else {
            continue;
        };
        if p.unknown_after {
            known.set_erased(row.kind(), None);
        }
        let action = if p.create {
            Action::Create
        } else {
            Action::Update
        };
        changes.push(Change::new(action, row.kind(), &p.name, p.attributes));
    }
    Ok(Plan { changes })
}

/// What destroy would delete (reverse order); resources that are not ours are left out.
/// `all`: every instance of the kinds that have more than one (state::find_all);
/// `on_request`: also the kinds destroyed only when asked (the service-linked role).
pub fn compute_destroy(
    ctx: Ctx<'_>,
    o: &Observed,
    all: &[(&'static str, Vec<Erased>)],
    on_request: bool,
) -> Plan {
    let mut changes = Vec::new();
    for row in registry::destroy_layers().into_iter().flatten() {
        if row.node.destroyed_on_request_only() && !on_request {
            continue;
        }
        for target in targets(row, o, all) {
            let Some((name, tags)) = row.node.identity(&target) else {
                continue;
            };
            if tags.is_none_or(|t| ctx.names.is_ours(t)) {
                changes.push(Change::new(Action::Delete, row.kind(), &name, vec![]));
            }
        }
    }
    Plan { changes }
}

/// The instances of `row` destroy deletes: all of them when listed, else the one found.
pub fn targets(row: &Row, o: &Observed, all: &[(&'static str, Vec<Erased>)]) -> Vec<Erased> {
    match all.iter().find(|(k, _)| *k == row.kind()) {
        Some((_, list)) => list.clone(),
        None => o.erased(row.kind()).cloned().into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::Clients;
    use crate::names::Names;
    use crate::resources::cluster::{self, Cluster};
    use crate::resources::ecr_policy::RepositoryPolicy;
    use crate::resources::ecr_repository::{self, Repository};
    use crate::resources::log_group::{self, LogGroup};
    use crate::resources::network::Network;
    use crate::resources::service::{self, Service};
    use crate::resources::service_linked_role::{self, ServiceLinkedRole};
    use crate::resources::task_definition::{self as td, Expect, TaskDefinition};
    use crate::resources::{execution_role, iam_role, task_role};
    use crate::retry::{Retrier, RetryPolicy};
    use crate::spec::SlrMode;
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
        let mut o = Observed::default();
        o.set(
            &ServiceLinkedRole,
            service_linked_role::Observed {
                name: "AWSServiceRoleForECS".into(),
                arn: "arn:slr".into(),
            },
        );
        o.set(
            &Cluster,
            cluster::Observed {
                name: dc.name.clone(),
                arn: "arn:cluster".into(),
                status: "ACTIVE".into(),
                container_insights: Some(dc.container_insights.clone()),
                capacity_providers: dc.capacity_providers.clone(),
                default_strategy: dc.default_strategy.clone(),
                tags: dc.tags.clone(),
            },
        );
        o.set(
            &execution_role::RESOURCE,
            role(execution_role::desired(ctx)),
        );
        o.set(
            &task_role::RESOURCE,
            role(task_role::desired(ctx, Some("arn:logs"))),
        );
        o.set(
            &Repository,
            ecr_repository::Observed {
                name: de.name.clone(),
                arn: "arn:ecr".into(),
                uri: uri.clone(),
                scan_on_push: de.scan_on_push,
                tag_mutability: de.tag_mutability.clone(),
                tags: de.tags.clone(),
            },
        );
        if let Some(p) = crate::names::normalize_policy(
            &ecr_repository::policy_document(&role_arn(&n.execution_role)).to_string(),
        ) {
            o.set(&RepositoryPolicy, p);
        }
        o.set(
            &LogGroup,
            log_group::Observed {
                name: dl.name.clone(),
                arn: "arn:logs".into(),
                retention_in_days: Some(dl.retention_in_days),
                tags: dl.tags.clone(),
            },
        );
        o.set(
            &TaskDefinition,
            td::Observed {
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
            },
        );
        o.set(
            &Service,
            service::Observed {
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
            },
        );
        o.network = Some(network);
        o
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
            let o = Observed::with_network(converged(ctx).network);
            let plan = compute(ctx, &o).unwrap();
            let kinds: Vec<&str> = plan.changes.iter().map(|c| c.kind.as_str()).collect();
            assert_eq!(
                kinds,
                [
                    "service_linked_role",
                    "ecs_cluster",
                    "iam_role.execution",
                    "ecr_repository",
                    "cloudwatch_log_group",
                    "iam_role.task",
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
            let c = o.get_mut(&Cluster).unwrap();
            c.container_insights = Some("disabled".into());
            c.tags.remove("Environment");
            o.get_mut(&LogGroup).unwrap().retention_in_days = Some(7);
            o.get_mut(&Service).unwrap().desired_count = 3;
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
            assert!(text.contains("~ retention_in_days = 7 -> 14"), "{text}");
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
            o.get_mut(&TaskDefinition).unwrap().memory = Some("1024".into());
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
            o.get_mut(&TaskDefinition).unwrap().tags.remove("Name");
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
            o.get_mut(&Repository).unwrap().tags =
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
                o.remove(&ServiceLinkedRole);
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
            o.get_mut(&LogGroup).unwrap().tags.clear();
            let tds = vec![(td::KIND, vec![o.erased(td::KIND).unwrap().clone()])];
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
