//! Why this file exists: plan, apply, destroy and output all work from "what is known of each
//! resource kind": found in the account (state.rs), planned (plan.rs: what a replacement makes
//! unknown is dropped) or converged (apply.rs). One map, keyed by kind, typed on the way out, so
//! a resource's `desired` can read the ARN of another without any code naming both. The map
//! holds erased values; the typed access through a [`super::Resource`] is in resource.rs, beside
//! the trait, so this file does not depend on the trait whose methods take it.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::network::Network;

/// A resource's observed value with its type erased (its kind says which type).
pub type Erased = Arc<dyn Any + Send + Sync>;

/// What is known, by kind. Absent = does not exist (or: not known yet).
#[derive(Debug, Clone, Default)]
pub struct Known {
    by_kind: BTreeMap<&'static str, Erased>,
    /// The subnets/security groups the service runs in (a read-only lookup, resolved for
    /// plan/apply only).
    pub network: Option<Network>,
}

impl Known {
    /// Nothing found yet, in this network.
    pub fn with_network(network: Option<Network>) -> Known {
        Known {
            by_kind: BTreeMap::new(),
            network,
        }
    }

    pub fn erased(&self, kind: &str) -> Option<&Erased> {
        self.by_kind.get(kind)
    }

    pub fn erased_mut(&mut self, kind: &str) -> Option<&mut Erased> {
        self.by_kind.get_mut(kind)
    }

    pub fn set_erased(&mut self, kind: &'static str, value: Option<Erased>) {
        match value {
            Some(v) => self.by_kind.insert(kind, v),
            None => self.by_kind.remove(kind),
        };
    }
}
