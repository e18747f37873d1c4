//! Why this file exists: plan, apply, destroy and output all work from "what is known of each
//! resource kind": found in the account (state.rs), planned (plan.rs: what a replacement makes
//! unknown is dropped) or converged (apply.rs). One map, keyed by kind, typed on the way out, so
//! a resource's `desired` can read the ARN of another without any code naming both.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::network::Network;
use super::Resource;

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

    /// The value of `r`'s kind, typed.
    pub fn get<R: Resource>(&self, r: &R) -> Option<&R::Observed> {
        self.by_kind.get(r.kind())?.downcast_ref()
    }

    pub fn set<R: Resource>(&mut self, r: &R, value: R::Observed) {
        self.by_kind.insert(r.kind(), Arc::new(value));
    }

    pub fn remove<R: Resource>(&mut self, r: &R) {
        self.by_kind.remove(r.kind());
    }

    /// Mutable access (tests that model drift).
    pub fn get_mut<R: Resource>(&mut self, r: &R) -> Option<&mut R::Observed> {
        let kind = r.kind();
        let value = self
            .by_kind
            .get(kind)?
            .downcast_ref::<R::Observed>()?
            .clone();
        self.by_kind.insert(kind, Arc::new(value));
        Arc::get_mut(self.by_kind.get_mut(kind)?)?.downcast_mut()
    }

    pub fn erased(&self, kind: &str) -> Option<&Erased> {
        self.by_kind.get(kind)
    }

    pub fn set_erased(&mut self, kind: &'static str, value: Option<Erased>) {
        match value {
            Some(v) => self.by_kind.insert(kind, v),
            None => self.by_kind.remove(kind),
        };
    }
}
