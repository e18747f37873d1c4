//! Why this file exists: one long-lived proxy (`harness up`) serves many short runs at once
//! (`harness run` attached to it), each wanting its own fresh account with its own presets,
//! profile and seed, and a report of that account only. A run *leases* an account: the proxy
//! hands out a fresh id (from the account source the harness installs, its warm pool, or a random
//! one) and gives it a scope of its own. The scope's presets apply to that account only: its
//! behaviour-model settings replace the proxy's for its requests (models/mod.rs), its rule
//! presets become rules naming the account, seeded from the scope's own seed as an unleased
//! proxy's are from the global seed, and a leased account's requests meet no rule that does not
//! name it (rules/store.rs). Releasing the account drops its scope and its rules.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rand::Rng;
use serde::Serialize;

use crate::aws::classify::is_account_id;
use crate::models::{ModelSettings, Models};
use crate::presets::Preset;
use crate::rules::RuleStore;

/// Where leased accounts come from: returns a fresh 12-digit account id per call (the harness
/// hands out its warm pool's accounts).
pub type AccountSource = Arc<dyn Fn() -> String + Send + Sync>;

/// Ids asked of the account source before a random one is used instead.
const SOURCE_ATTEMPTS: u32 = 16;

/// moto's default account: never handed out, so nothing lands there by accident.
const MOTO_DEFAULT_ACCOUNT: &str = "123456789012";

/// One leased account and what was applied to it.
#[derive(Debug, Clone, Serialize)]
pub struct Lease {
    pub account: String,
    /// The presets applied to the account, in order (`seed=N` first within each batch).
    pub presets: Vec<String>,
    /// The account's own seed (`seed=N`): its rule presets derive their seeds from it.
    pub seed: Option<u64>,
    /// When it was leased (Unix milliseconds).
    pub leased_unix_ms: u64,
    /// Who holds it, as the client said (`harness run` gives its pid and start time, so a
    /// `harness up` can end the leases of runs that were killed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip)]
    parsed: Vec<Preset>,
}

/// Why a lease operation failed; each names what to do instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LeaseError {
    #[error("account must be a 12-digit account id, got {0:?}")]
    BadAccount(String),
    #[error("account {0} is leased already; leave out `account` to lease a fresh one")]
    Taken(String),
    #[error("account {0} is not leased; POST /_harness/accounts leases one")]
    NotLeased(String),
}

/// The leased accounts of one proxy.
#[derive(Default)]
pub(crate) struct Scopes {
    leased: Mutex<BTreeMap<String, Lease>>,
    /// Accounts leased since the proxy started (or was reset).
    total: AtomicU64,
    source: RwLock<Option<AccountSource>>,
}

impl Scopes {
    pub fn set_source(&self, source: AccountSource) {
        *self.source.write().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Lease>> {
        self.leased.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh account id no lease holds: from the source, else (or when the source keeps
    /// answering ids that cannot be used) random.
    fn fresh(&self, taken: &BTreeMap<String, Lease>) -> String {
        let source = self
            .source
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let usable = |id: &String| {
            is_account_id(id) && id != MOTO_DEFAULT_ACCOUNT && !taken.contains_key(id)
        };
        if let Some(f) = source {
            if let Some(id) = (0..SOURCE_ATTEMPTS).map(|_| f()).find(usable) {
                return id;
            }
        }
        loop {
            let id = rand::thread_rng()
                .gen_range(100_000_000_000u64..=999_999_999_999)
                .to_string();
            if usable(&id) {
                return id;
            }
        }
    }

    /// Leases `account` (or a fresh one) to `owner` and applies `presets` to it.
    pub fn lease(
        &self,
        account: Option<&str>,
        owner: Option<&str>,
        presets: &[Preset],
        rules: &RuleStore,
        models: &Models,
    ) -> Result<Lease, LeaseError> {
        let account = {
            let mut map = self.map();
            let account = match account {
                Some(a) if !is_account_id(a) => return Err(LeaseError::BadAccount(a.into())),
                Some(a) if map.contains_key(a) => return Err(LeaseError::Taken(a.into())),
                Some(a) => a.to_string(),
                None => self.fresh(&map),
            };
            let lease = Lease {
                account: account.clone(),
                presets: Vec::new(),
                seed: None,
                leased_unix_ms: unix_ms(),
                owner: owner.map(str::to_string),
                parsed: Vec::new(),
            };
            map.insert(account.clone(), lease);
            self.total.fetch_add(1, Ordering::Relaxed);
            rules.set_leased(map.keys().cloned().collect::<HashSet<_>>());
            account
        };
        models.set_leased(&account, Some(ModelSettings::default()));
        self.apply(&account, presets, rules, models)
    }

    /// Applies `presets` to leased `account` (the seed first): a seed re-seeds its rule presets,
    /// a rule preset replaces its earlier rules, a model preset switches its models.
    pub fn apply(
        &self,
        account: &str,
        presets: &[Preset],
        rules: &RuleStore,
        models: &Models,
    ) -> Result<Lease, LeaseError> {
        let mut map = self.map();
        let lease = map
            .get_mut(account)
            .ok_or_else(|| LeaseError::NotLeased(account.to_string()))?;
        let mut settings = models.leased_settings(account).unwrap_or_default();
        let (seeds, others): (Vec<&Preset>, Vec<&Preset>) =
            presets.iter().partition(|p| p.is_seed());
        for p in seeds.into_iter().chain(others) {
            lease.presets.push(p.to_string());
            lease.parsed.push(*p);
            if let Some(seed) = p.seed_value() {
                lease.seed = Some(seed);
                settings.seed = seed;
                // Its rule presets derive their seeds again, as set_global_seed does.
                for earlier in lease.parsed.iter().filter(|e| e.rule_prefix().is_some()) {
                    apply_rules(rules, account, earlier, lease.seed);
                }
            } else if p.rule_prefix().is_some() {
                apply_rules(rules, account, p, lease.seed);
            } else {
                p.apply_to_models(&mut settings);
            }
        }
        models.set_leased(account, Some(settings));
        Ok(lease.clone())
    }

    /// Ends the lease of `account`: its scope and its rules go.
    pub fn release(
        &self,
        account: &str,
        rules: &RuleStore,
        models: &Models,
    ) -> Result<Lease, LeaseError> {
        let mut map = self.map();
        let lease = map
            .remove(account)
            .ok_or_else(|| LeaseError::NotLeased(account.to_string()))?;
        rules.set_leased(map.keys().cloned().collect());
        models.set_leased(account, None);
        Ok(lease)
    }

    pub fn get(&self, account: &str) -> Option<Lease> {
        self.map().get(account).cloned()
    }

    /// The leases held now, by account.
    pub fn list(&self) -> Vec<Lease> {
        self.map().values().cloned().collect()
    }

    /// Accounts leased since the proxy started or was reset.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Forgets every lease (the proxy's reset; the rules and models are reset by their owners).
    pub fn clear(&self, rules: &RuleStore) {
        self.map().clear();
        self.total.store(0, Ordering::Relaxed);
        rules.set_leased(HashSet::new());
    }
}

/// The rules of rule preset `p`, for `account` only.
fn apply_rules(rules: &RuleStore, account: &str, p: &Preset, seed: Option<u64>) {
    if let Some(prefix) = p.rule_prefix() {
        rules.replace_prefixed_for(account, &prefix, p.rules(), seed);
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::classify::RequestInfo;
    use crate::rules::{EventLog, Rule};

    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const C: &str = "333333333333";

    fn info(account: &str, op: &str) -> RequestInfo {
        RequestInfo {
            account: Some(account.into()),
            region: Some("ap-northeast-1".into()),
            ..RequestInfo::call("ecs", op)
        }
    }

    /// The name of the rule that fires for `account`'s ListClusters, if any.
    fn fires(rules: &RuleStore, account: &str) -> Option<String> {
        let set = rules.snapshot();
        let events = EventLog::default();
        set.evaluate(
            &info(account, "ListClusters"),
            &events,
            std::time::Instant::now(),
        )
        .map(|(r, _)| r.name.clone())
    }

    fn presets(text: &str) -> Vec<Preset> {
        Preset::parse_list(text).unwrap()
    }

    #[test]
    fn a_leased_accounts_presets_apply_to_it_alone() {
        let (scopes, rules, models) = (
            Scopes::default(),
            RuleStore::new(None),
            Models::new(ModelSettings::default()),
        );
        rules.set(vec![Rule::named("everyone").with_drop()]);
        let a = scopes
            .lease(
                Some(A),
                None,
                &presets("throttle=100 seed=7"),
                &rules,
                &models,
            )
            .unwrap();
        assert_eq!((a.seed, a.presets.len()), (Some(7), 2));
        scopes
            .lease(Some(B), None, &presets("fresh-account"), &rules, &models)
            .unwrap();

        // A meets its own throttle, B nothing (the proxy-wide rule is for unleased accounts).
        assert_eq!(fires(&rules, A).as_deref(), Some("preset:throttle"));
        assert_eq!(fires(&rules, B), None);
        assert_eq!(fires(&rules, C).as_deref(), Some("everyone"));
        // B's models are on, A's and C's are the defaults.
        let describe = |acct: &str| models.interested(&info(acct, "DescribeClusters"));
        assert!(describe(B).is_some());
        assert!(describe(A).is_none() && describe(C).is_none());
        assert_eq!(models.leased_settings(A).unwrap().seed, 7);

        assert_eq!(
            scopes
                .lease(Some(A), None, &[], &rules, &models)
                .unwrap_err(),
            LeaseError::Taken(A.into())
        );
        assert_eq!(
            scopes
                .lease(Some("42"), None, &[], &rules, &models)
                .unwrap_err(),
            LeaseError::BadAccount("42".into())
        );
        assert_eq!(scopes.total(), 2);

        scopes.release(A, &rules, &models).unwrap();
        assert_eq!(
            fires(&rules, A).as_deref(),
            Some("everyone"),
            "A is unleased again"
        );
        assert!(rules
            .list()
            .iter()
            .all(|r| r.account.is_none() || r.account.as_deref() == Some(B)));
        assert_eq!(
            scopes.release(A, &rules, &models).unwrap_err(),
            LeaseError::NotLeased(A.into())
        );
        assert_eq!(scopes.list().len(), 1);
    }

    #[test]
    fn a_leased_accounts_rules_draw_as_a_fresh_proxy_with_its_seed() {
        // flaky=50 with seed 3: the same decisions in a leased account as in a proxy whose
        // global seed is 3.
        let fresh = RuleStore::new(Some(3));
        let p = presets("flaky=50")[0];
        fresh.replace_prefixed(&p.rule_prefix().unwrap(), p.rules());
        let (scopes, rules, models) = (
            Scopes::default(),
            RuleStore::new(Some(99)),
            Models::new(ModelSettings::default()),
        );
        scopes
            .lease(Some(A), None, &presets("flaky=50 seed=3"), &rules, &models)
            .unwrap();
        let decisions = |store: &RuleStore, account: &str| -> Vec<bool> {
            (0..40).map(|_| fires(store, account).is_some()).collect()
        };
        let want = decisions(&fresh, A);
        assert!(want.contains(&true) && want.contains(&false), "{want:?}");
        assert_eq!(decisions(&rules, A), want);
        // Changing the proxy's global seed leaves the leased account's draws alone.
        rules.set_global_seed(Some(5));
        scopes.release(A, &rules, &models).unwrap();
        scopes
            .lease(Some(A), None, &presets("seed=3 flaky=50"), &rules, &models)
            .unwrap();
        rules.set_global_seed(Some(6));
        assert_eq!(decisions(&rules, A), want);
    }

    #[test]
    fn fresh_accounts_come_from_the_source() {
        let (scopes, rules, models) = (
            Scopes::default(),
            RuleStore::new(None),
            Models::new(ModelSettings::default()),
        );
        let random = scopes.lease(None, None, &[], &rules, &models).unwrap();
        assert!(is_account_id(&random.account));
        scopes.set_source(Arc::new(|| C.to_string()));
        assert_eq!(
            scopes
                .lease(None, None, &[], &rules, &models)
                .unwrap()
                .account,
            C
        );
        // A source that keeps answering a leased id: a random one instead, no endless loop.
        let other = scopes.lease(None, None, &[], &rules, &models).unwrap();
        assert!(is_account_id(&other.account) && other.account != C);
    }
}
