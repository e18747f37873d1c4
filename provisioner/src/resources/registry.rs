//! Why this file exists: the stack's resource kinds and their dependency edges are stated once,
//! in the table `REGISTRY` (resources/mod.rs, next to the kinds' `mod` lines). This file says
//! what an edge means and walks the table: apply goes forward in parallel layers (a layer starts
//! when the one before it is done), destroy backward; plan lists changes in apply order.
//!
//! ```text
//! apply:   service-linked role -> cluster | execution role | task role | ECR repository | log group
//!          -> repository policy | task definition -> service
//! destroy: service -> task definitions | cluster | ECR repository | roles | log group
//!          -> service-linked role (only when asked)
//! ```

use super::resource::Node;
use super::REGISTRY;

/// How one kind depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dep {
    /// Uses it while it exists: created after it, deleted before it.
    Uses,
    /// Lives inside it: created after it, deleted before it, and a child that is not ours keeps
    /// the parent (deleting it would fail or take someone else's resource with it).
    LivesIn,
    /// Reads one of its values (an ARN, a URI) when created: created after it; deletion order is
    /// free (AWS lets a role or repository go while a task definition still names it).
    ReadsAtCreate,
    /// Part of it: read only when it exists, created after it, deleted with it.
    PartOf,
}

use Dep::{LivesIn, PartOf, ReadsAtCreate, Uses};

/// One kind: its verbs, what it depends on, and where destroy lists it within its layer.
pub struct Row {
    pub node: &'static dyn Node,
    pub deps: &'static [(Dep, &'static str)],
    pub destroy_rank: u8,
}

/// A row of the table (kept to one line each).
pub const fn row(
    node: &'static dyn Node,
    deps: &'static [(Dep, &'static str)],
    destroy_rank: u8,
) -> Row {
    Row {
        node,
        deps,
        destroy_rank,
    }
}

impl Row {
    pub fn kind(&self) -> &'static str {
        self.node.kind()
    }

    /// The kind this one is part of, if any.
    pub fn part_of(&self) -> Option<&'static str> {
        self.deps
            .iter()
            .find(|(d, _)| *d == PartOf)
            .map(|(_, k)| *k)
    }

    /// Kinds living in this one (their foreign instances keep it).
    pub fn children(&self) -> impl Iterator<Item = &'static Row> + '_ {
        REGISTRY
            .iter()
            .filter(|r| r.deps.contains(&(LivesIn, self.kind())))
    }
}

fn index(kind: &str) -> Option<usize> {
    REGISTRY.iter().position(|r| r.kind() == kind)
}

/// Longest-path layers: `layer[i] = 1 + max(layer[j])` over the edges `ordered(i) -> j`.
fn layers(before: impl Fn(usize, usize) -> bool) -> Vec<Vec<&'static Row>> {
    let n = REGISTRY.len();
    let mut layer = vec![0usize; n];
    // n rounds are enough for any acyclic table (a cycle is a test failure below).
    for _ in 0..n {
        for i in 0..n {
            for j in 0..n {
                if before(j, i) {
                    layer[i] = layer[i].max(layer[j] + 1);
                }
            }
        }
    }
    let depth = layer.iter().max().map_or(0, |m| m + 1);
    (0..depth)
        .map(|l| {
            (0..n)
                .filter(|i| layer[*i] == l)
                .map(|i| &REGISTRY[i])
                .collect()
        })
        .collect()
}

fn depends(i: usize, j: usize, kinds: &[Dep]) -> bool {
    REGISTRY[i]
        .deps
        .iter()
        .any(|(d, k)| kinds.contains(d) && index(k) == Some(j))
}

/// Apply order: a kind's layer comes after the layers of everything it depends on.
pub fn apply_layers() -> Vec<Vec<&'static Row>> {
    layers(|j, i| depends(i, j, &[Uses, LivesIn, ReadsAtCreate, PartOf]))
}

/// Destroy order: what uses (or lives in) a kind is deleted in an earlier layer. Kinds that are
/// part of another are deleted with it and left out. Within a layer: by `destroy_rank`.
pub fn destroy_layers() -> Vec<Vec<&'static Row>> {
    layers(|j, i| depends(j, i, &[Uses, LivesIn]))
        .into_iter()
        .map(|mut l| {
            l.retain(|r| r.part_of().is_none());
            l.sort_by_key(|r| r.destroy_rank);
            l
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(layers: Vec<Vec<&'static Row>>) -> Vec<Vec<&'static str>> {
        layers
            .into_iter()
            .map(|l| l.into_iter().map(Row::kind).collect())
            .collect()
    }

    #[test]
    fn every_edge_names_a_registered_kind_and_kinds_are_unique() {
        for (i, r) in REGISTRY.iter().enumerate() {
            assert_eq!(index(r.kind()), Some(i), "{} twice", r.kind());
            for (_, k) in r.deps {
                assert!(index(k).is_some(), "{} depends on unknown {k}", r.kind());
            }
        }
    }

    #[test]
    fn apply_layers_follow_the_edges_in_table_order() {
        assert_eq!(
            kinds(apply_layers()),
            vec![
                vec!["service_linked_role"],
                vec![
                    "ecs_cluster",
                    "iam_role.execution",
                    "iam_role.task",
                    "ecr_repository",
                    "cloudwatch_log_group"
                ],
                vec!["ecr_repository_policy", "ecs_task_definition"],
                vec!["ecs_service"],
            ]
        );
    }

    #[test]
    fn destroy_layers_reverse_the_use_edges() {
        assert_eq!(
            kinds(destroy_layers()),
            vec![
                vec!["ecs_service"],
                vec![
                    "ecs_task_definition",
                    "ecs_cluster",
                    "ecr_repository",
                    "iam_role.execution",
                    "iam_role.task",
                    "cloudwatch_log_group"
                ],
                vec!["service_linked_role"],
            ]
        );
    }

    #[test]
    fn the_table_is_acyclic() {
        // A cycle would make some layer grow with every round; the table order is a valid
        // apply order, so every edge must point backwards in it.
        for (i, r) in REGISTRY.iter().enumerate() {
            for (_, k) in r.deps {
                assert!(index(k) < Some(i), "{} depends on the later {k}", r.kind());
            }
        }
    }
}
