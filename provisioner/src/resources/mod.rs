//! Why this directory exists: one file per resource kind of the stack, each implementing the same
//! verbs ([`Resource`]: kind, desired, find, diff, create attributes, create, update, delete,
//! tags) in the style of terraform-provider-aws, and one table (registry.rs) stating how the
//! kinds depend on each other. `find` paths only ever issue Describe / Get / List calls, which is
//! what makes a second `apply` free of mutating calls.
//! This file holds the registration of every kind (their `mod` lines and the `REGISTRY` table)
//! and what they share: the context, attribute diffs, tag helpers.

use std::collections::BTreeMap;

use crate::clients::Clients;
use crate::error::Error;
use crate::names::{Names, OWNERSHIP_TAG_KEY};
use crate::retry::Retrier;
use crate::spec::StackSpec;

pub mod cluster;
pub mod ecr_policy;
pub mod ecr_repository;
pub mod execution_role;
pub mod iam_role;
pub mod known;
pub mod log_group;
pub mod network;
pub mod registry;
pub mod resource;
pub mod service;
pub mod service_linked_role;
pub mod task_definition;
pub mod task_role;

pub use known::{Erased, Known};
pub use resource::{Node, Planned, Receipt, Resource, StepAction};

use registry::Dep::{LivesIn, PartOf, ReadsAtCreate, Uses};
use registry::{row, Row};

const SLR: &str = service_linked_role::KIND;
const CLUSTER: &str = cluster::KIND;
const EXEC_ROLE: &str = execution_role::KIND;
const TASK_ROLE: &str = task_role::KIND;
const REPO: &str = ecr_repository::KIND;
const LOGS: &str = log_group::KIND;
const TASK_DEF: &str = task_definition::KIND;

/// The registry: every kind, the kinds it depends on (registry.rs says what each edge means) and
/// its place within its destroy layer, in the order plan lists them (a valid apply order). A new
/// kind is its `mod` line above and one row here.
pub static REGISTRY: &[Row] = &[
    row(&service_linked_role::ServiceLinkedRole, &[], 8),
    row(&cluster::Cluster, &[(Uses, SLR)], 2),
    row(&execution_role::RESOURCE, &[(Uses, SLR)], 4),
    row(&ecr_repository::Repository, &[(Uses, SLR)], 3),
    row(&log_group::LogGroup, &[(Uses, SLR)], 6),
    // Its policy names the log group's ARN (`${log_group_arn}` in the spec).
    row(
        &task_role::RESOURCE,
        &[(Uses, SLR), (ReadsAtCreate, LOGS)],
        5,
    ),
    row(
        &ecr_policy::RepositoryPolicy,
        &[(PartOf, REPO), (ReadsAtCreate, EXEC_ROLE)],
        7,
    ),
    row(
        &task_definition::TaskDefinition,
        &[
            (ReadsAtCreate, EXEC_ROLE),
            (ReadsAtCreate, TASK_ROLE),
            (ReadsAtCreate, REPO),
        ],
        1,
    ),
    row(
        &service::Service,
        &[
            (LivesIn, CLUSTER),
            (Uses, TASK_DEF),
            (Uses, EXEC_ROLE),
            (Uses, TASK_ROLE),
            (Uses, REPO),
            (Uses, LOGS),
        ],
        0,
    ),
];

/// Everything a resource function needs.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub clients: &'a Clients,
    pub spec: &'a StackSpec,
    pub names: &'a Names,
    pub retry: &'a Retrier,
}

/// One attribute that differs: `before` is what AWS has, `after` what the spec wants.
/// `None` = absent; an `after` of [`KNOWN_AFTER_APPLY`] = decided by an earlier step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttrDiff {
    pub attribute: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

impl AttrDiff {
    pub fn new(
        attribute: &str,
        before: impl Into<Option<String>>,
        after: impl Into<Option<String>>,
    ) -> AttrDiff {
        AttrDiff {
            attribute: attribute.to_owned(),
            before: before.into(),
            after: after.into(),
        }
    }

    /// An attribute a create sets.
    pub fn set(attribute: &str, value: impl Into<String>) -> AttrDiff {
        AttrDiff::new(attribute, None, Some(value.into()))
    }
}

/// Pushes a diff when `before != after`.
pub fn diff_value<T: PartialEq + std::fmt::Debug>(
    out: &mut Vec<AttrDiff>,
    attribute: &str,
    before: &T,
    after: &T,
    show: impl Fn(&T) -> String,
) {
    if before != after {
        out.push(AttrDiff::new(
            attribute,
            Some(show(before)),
            Some(show(after)),
        ));
    }
}

/// Tag drift: desired tags missing or with another value (extra tags on the resource are left alone).
pub fn diff_tags(
    out: &mut Vec<AttrDiff>,
    observed: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) {
    for (k, v) in desired {
        if observed.get(k) != Some(v) {
            out.push(AttrDiff::new(
                &format!("tags.{k}"),
                observed.get(k).cloned(),
                Some(v.clone()),
            ));
        }
    }
}

/// Desired tags that need (re)setting.
pub fn missing_tags(
    observed: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    desired
        .iter()
        .filter(|(k, v)| observed.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Fails with [`Error::NotOurs`] when a resource under our name lacks our ownership tag.
pub fn ensure_ours(
    names: &Names,
    kind: &str,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), Error> {
    if names.is_ours(tags) {
        Ok(())
    } else {
        Err(Error::NotOurs {
            kind: kind.to_owned(),
            name: name.to_owned(),
            tag_key: OWNERSHIP_TAG_KEY.to_owned(),
            tag_value: names.stack.clone(),
        })
    }
}

pub fn show_list(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
