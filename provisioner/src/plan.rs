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
