//! Why this file exists: the stack's resource kinds and their dependency edges are stated once,
//! in the table `REGISTRY` (resources/mod.rs, next to the kinds' `mod` lines). This file says
//! what an edge means and walks the table: apply goes forward in parallel layers (a layer starts
//! when the one before it is done), destroy backward; plan lists changes in apply order.
//!
//! ```text
//! apply:   service-linked role -> cluster | execution role | ECR repository | log group
//!          -> task role (its policy names the log group) | repository policy
//!          -> task definition -> service
//! destroy: service -> task definitions | cluster | ECR repository | roles | log group
//!          -> service-linked role (only when asked)
//! ```
//!
//! Adding a resource kind touches four files: the kind's own file here (a unit struct
//! implementing [`Resource`](super::Resource); its name derived from `names.stack`, its tags from
//! `names.tags`), its `mod` line and row in `REGISTRY` (resources/mod.rs), its spec keys
//! (spec/schema.rs) and their checks (spec/validate.rs). plan, apply, destroy, state and output
//! pick it up from the table; its outputs land in `Outputs::extra`. (Tried with an ECR lifecycle
//! policy kind: 1 new file, 3 edited, 14 lines outside the new file, every test unchanged.)

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

    fn layer_of(layers: &[Vec<&'static Row>], kind: &str) -> Option<usize> {
        layers
            .iter()
            .position(|l| l.iter().any(|r| r.kind() == kind))
    }

    /// Properties, not a list: a new kind must not have to edit this test. (The exact orders of
    /// the example stack are asserted by plan.rs's tests.)
    #[test]
    fn apply_layers_put_every_kind_after_what_it_depends_on() {
        let layers = apply_layers();
        assert_eq!(layers.iter().map(Vec::len).sum::<usize>(), REGISTRY.len());
        for r in REGISTRY {
            for (_, k) in r.deps {
                assert!(
                    layer_of(&layers, k) < layer_of(&layers, r.kind()),
                    "{} / {k}",
                    r.kind()
                );
            }
        }
        // The service-linked role first, alone; the service last, alone.
        assert_eq!(
            kinds(layers.clone()).first(),
            Some(&vec!["service_linked_role"])
        );
        assert_eq!(kinds(layers).last(), Some(&vec!["ecs_service"]));
    }

    #[test]
    fn destroy_layers_reverse_the_use_edges_and_leave_parts_to_their_parent() {
        let layers = destroy_layers();
        for r in REGISTRY {
            let me = layer_of(&layers, r.kind());
            assert_eq!(me.is_none(), r.part_of().is_some(), "{}", r.kind());
            for (d, k) in r.deps {
                if matches!(d, Uses | LivesIn) {
                    assert!(me < layer_of(&layers, k), "{} before {k}", r.kind());
                }
            }
        }
        // The service first, the service-linked role last.
        assert_eq!(kinds(layers.clone()).first(), Some(&vec!["ecs_service"]));
        assert_eq!(
            kinds(layers.clone()).last(),
            Some(&vec!["service_linked_role"])
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
