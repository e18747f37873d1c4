//! The rule store: the ordered, immutable [`RuleSet`] snapshot requests evaluate, and the
//! [`RuleStore`] that replaces it on set / add / remove / preset changes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use super::draw::EventKey;
use super::events::EventLog;
use super::matcher::ActiveRule;
use super::schema::Rule;
use crate::aws::classify::RequestInfo;

/// The accounts leased with rules and models of their own (scopes.rs).
pub(crate) type Leased = Arc<HashSet<String>>;

/// An immutable, ordered snapshot of the active rules.
#[derive(Default)]
pub(crate) struct RuleSet {
    pub rules: Vec<Arc<ActiveRule>>,
    watched: Vec<EventKey>,
    /// A leased account's requests meet only the rules naming it: a rule without `account`
    /// applies to every account that is not leased, so what one `harness run` sets up never
    /// reaches another's account.
    leased: Leased,
}

impl RuleSet {
    fn from_rules(rules: Vec<Arc<ActiveRule>>, leased: Leased) -> RuleSet {
        let mut watched: Vec<EventKey> =
            rules.iter().filter_map(|r| r.window.map(|w| w.0)).collect();
        watched.sort_unstable();
        watched.dedup();
        RuleSet {
            rules,
            watched,
            leased,
        }
    }

    /// Whether `info`'s account is leased (then only rules naming it apply).
    fn is_leased(&self, info: &RequestInfo) -> bool {
        !self.leased.is_empty()
            && info
                .account
                .as_ref()
                .is_some_and(|a| self.leased.contains(a))
    }

    /// The first rule at index `from` or later that matches and fires, with its index and draw.
    /// The server calls it again after a latency-only rule (those compose with later rules).
    pub fn evaluate_from(
        &self,
        from: usize,
        info: &RequestInfo,
        body: &[u8],
        events: &EventLog,
        now: Instant,
    ) -> Option<(usize, &ActiveRule, u64)> {
        let leased = self.is_leased(info);
        self.rules
            .iter()
            .enumerate()
            .skip(from)
            .filter(|(_, r)| (!leased || r.rule.account.is_some()) && r.matches(info, body))
            .find_map(|(i, r)| r.fires(info, events, now).map(|d| (i, &**r, d)))
    }

    /// The first rule that matches and fires, with its draw.
    #[cfg(test)]
    pub fn evaluate(
        &self,
        info: &RequestInfo,
        events: &EventLog,
        now: Instant,
    ) -> Option<(&ActiveRule, u64)> {
        self.evaluate_from(0, info, b"", events, now)
            .map(|(_, r, d)| (r, d))
    }

    /// Whether a window rule waits for this event (so the server records it).
    pub fn watches(&self, key: EventKey) -> bool {
        !self.watched.is_empty() && self.watched.contains(&key)
    }
}

/// The mutable holder of the rule set; readers take a cheap snapshot.
pub(crate) struct RuleStore {
    current: RwLock<Arc<RuleSet>>,
    next_id: AtomicU64,
    global_seed: Mutex<Option<u64>>,
    leased: Mutex<Leased>,
}

impl RuleStore {
    pub fn new(global_seed: Option<u64>) -> RuleStore {
        RuleStore {
            current: RwLock::new(Arc::new(RuleSet::default())),
            next_id: AtomicU64::new(1),
            global_seed: Mutex::new(global_seed),
            leased: Mutex::new(Leased::default()),
        }
    }

    pub fn snapshot(&self) -> Arc<RuleSet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the global seed. Rules without their own seed re-derive theirs from it and restart
    /// their counters, so the order "presets, then seed" gives the same decisions as "seed, then
    /// presets".
    pub fn set_global_seed(&self, seed: Option<u64>) {
        *self.global_seed.lock().unwrap_or_else(|e| e.into_inner()) = seed;
        // A leased account's rules derive their seeds from the account's own seed.
        let leased = self
            .leased
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.update(|old| {
            old.iter()
                .map(|r| {
                    let own = r.rule.account.as_ref().is_some_and(|a| leased.contains(a));
                    match r.rule.seed {
                        Some(_) => r.clone(),
                        None if own => r.clone(),
                        None => Arc::new(ActiveRule::new(r.rule.clone(), r.name.clone(), seed)),
                    }
                })
                .collect()
        });
    }

    pub fn global_seed(&self) -> Option<u64> {
        *self.global_seed.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn activate(&self, rules: Vec<Rule>) -> Vec<Arc<ActiveRule>> {
        self.activate_seeded(rules, self.global_seed())
    }

    /// Activates `rules`; those without a seed derive theirs from `seed`.
    fn activate_seeded(&self, rules: Vec<Rule>, seed: Option<u64>) -> Vec<Arc<ActiveRule>> {
        rules
            .into_iter()
            .map(|r| {
                let name = r.name.clone().unwrap_or_else(|| {
                    format!("rule-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
                });
                Arc::new(ActiveRule::new(r, name, seed))
            })
            .collect()
    }

    fn update(&self, f: impl FnOnce(&[Arc<ActiveRule>]) -> Vec<Arc<ActiveRule>>) {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let next = f(&guard.rules);
        let leased = self
            .leased
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        *guard = Arc::new(RuleSet::from_rules(next, leased));
    }

    /// Sets the leased accounts (see [`RuleSet`]); rules naming an account no longer leased are
    /// removed.
    pub fn set_leased(&self, leased: HashSet<String>) {
        let leased = Arc::new(leased);
        let before = std::mem::replace(
            &mut *self.leased.lock().unwrap_or_else(|e| e.into_inner()),
            leased.clone(),
        );
        self.update(|old| {
            old.iter()
                .filter(|r| match &r.rule.account {
                    Some(a) if before.contains(a) => leased.contains(a),
                    _ => true,
                })
                .cloned()
                .collect()
        });
    }

    /// Replaces the rules of leased account `account` whose names start with `prefix` by
    /// `rules` (each gets `account`; those without a seed derive theirs from `seed`, the
    /// account's own seed, as an unleased proxy's rules derive theirs from the global seed).
    pub fn replace_prefixed_for(
        &self,
        account: &str,
        prefix: &str,
        rules: Vec<Rule>,
        seed: Option<u64>,
    ) {
        let rules = rules
            .into_iter()
            .map(|mut r| {
                r.account = Some(account.to_string());
                r
            })
            .collect();
        let new = self.activate_seeded(rules, seed);
        self.update(|old| {
            let mine = |r: &ActiveRule| {
                r.name.starts_with(prefix) && r.rule.account.as_deref() == Some(account)
            };
            let pos = old.iter().position(|r| mine(r));
            let mut kept: Vec<_> = old.iter().filter(|r| !mine(r)).cloned().collect();
            let at = pos.unwrap_or(kept.len()).min(kept.len());
            kept.splice(at..at, new);
            kept
        });
    }

    /// Replaces all rules (validated by the caller).
    pub fn set(&self, rules: Vec<Rule>) {
        let new = self.activate(rules);
        self.update(|_| new);
    }

    /// Appends rules; existing rules keep their counters.
    pub fn add(&self, rules: Vec<Rule>) {
        let new = self.activate(rules);
        self.update(|old| old.iter().cloned().chain(new).collect());
    }

    /// Removes the rules with this name, or all rules. Returns how many were removed.
    pub fn remove(&self, name: Option<&str>) -> usize {
        let mut removed = 0;
        self.update(|old| {
            let kept: Vec<_> = old
                .iter()
                .filter(|r| name.is_some_and(|n| r.name != n))
                .cloned()
                .collect();
            removed = old.len() - kept.len();
            kept
        });
        removed
    }

    /// Replaces the rules whose names start with `prefix` by `rules`, keeping their position
    /// (appended when there were none). Presets use it so that applying one twice does not stack.
    /// Leased accounts' rules are left alone ([`RuleStore::replace_prefixed_for`] is theirs).
    pub fn replace_prefixed(&self, prefix: &str, rules: Vec<Rule>) {
        let new = self.activate(rules);
        let leased = self
            .leased
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.update(|old| {
            let theirs = |r: &ActiveRule| {
                r.name.starts_with(prefix)
                    && !r.rule.account.as_ref().is_some_and(|a| leased.contains(a))
            };
            let pos = old.iter().position(|r| theirs(r));
            let mut kept: Vec<_> = old.iter().filter(|r| !theirs(r)).cloned().collect();
            let at = pos.unwrap_or(kept.len()).min(kept.len());
            kept.splice(at..at, new);
            kept
        });
    }

    pub fn list(&self) -> Vec<Rule> {
        self.snapshot()
            .rules
            .iter()
            .map(|r| r.rule.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::draw::event_key;
    use std::time::Duration;

    fn info(service: &str, op: &str, account: &str) -> RequestInfo {
        RequestInfo {
            account: Some(account.into()),
            region: Some("ap-northeast-1".into()),
            ..RequestInfo::call(service, op)
        }
    }

    const A: &str = "111111111111";

    #[test]
    fn first_match_wins_and_order_matters() {
        let store = RuleStore::new(Some(1));
        store.set(vec![
            Rule::named("ecs-only").for_service("ECS").with_throttle(),
            Rule::named("all").with_drop(),
        ]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        assert_eq!(
            set.evaluate(&info("ecs", "ListClusters", A), &ev, now)
                .unwrap()
                .0
                .name,
            "ecs-only"
        );
        assert_eq!(
            set.evaluate(&info("iam", "GetRole", A), &ev, now)
                .unwrap()
                .0
                .name,
            "all"
        );
    }

    #[test]
    fn rules_naming_a_twin_operation_match_its_request() {
        // docdb's CreateDBCluster is rds's request (same signing name, Action and Version).
        let store = RuleStore::new(Some(1));
        store.set(vec![
            Rule::named("docdb-op")
                .for_service("docdb")
                .for_operation("CreateDBCluster")
                .with_throttle(),
            Rule::named("docdb-any").for_service("docdb").with_drop(),
        ]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        let req = info("rds", "CreateDBCluster", A);
        assert_eq!(set.evaluate(&req, &ev, now).unwrap().0.name, "docdb-op");
        let req = info("rds", "DescribeDBClusters", A);
        assert_eq!(set.evaluate(&req, &ev, now).unwrap().0.name, "docdb-any");
        assert!(set
            .evaluate(&info("rds", "CreateDBProxy", A), &ev, now)
            .is_none());
    }

    #[test]
    fn latency_only_rules_let_evaluation_go_on() {
        let store = RuleStore::new(Some(3));
        store.set(vec![
            Rule::named("slow").with_latency(5, 0),
            Rule::named("cut").for_service("ecs").with_drop(),
        ]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        let req = info("ecs", "ListClusters", A);
        let (i, r, _) = set.evaluate_from(0, &req, b"", &ev, now).unwrap();
        assert_eq!((i, r.name.as_str()), (0, "slow"));
        let (i, r, _) = set.evaluate_from(i + 1, &req, b"", &ev, now).unwrap();
        assert_eq!((i, r.name.as_str()), (1, "cut"));
        assert!(set.evaluate_from(2, &req, b"", &ev, now).is_none());
    }

    #[test]
    fn first_and_after_counters() {
        let store = RuleStore::new(None);
        store.set(vec![
            Rule::named("first2")
                .for_operation("Create*")
                .with_first(2)
                .with_throttle(),
            Rule::named("after3").with_after(3).with_drop(),
        ]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        let hits: Vec<Option<String>> = (0..6)
            .map(|_| {
                set.evaluate(&info("ecs", "CreateCluster", A), &ev, now)
                    .map(|h| h.0.name.clone())
            })
            .collect();
        // Matches 1-2 hit first2; from then on first2 no longer fires and after3 counts its own
        // matches (3rd, 4th, 5th, 6th request are its matches 1..4): fires on its 4th match.
        assert_eq!(
            hits,
            vec![
                Some("first2".into()),
                Some("first2".into()),
                None,
                None,
                None,
                Some("after3".into())
            ]
        );
    }

    #[test]
    fn window_after_event_same_account_only() {
        let store = RuleStore::new(None);
        store.set(vec![Rule::named("w")
            .for_operation("CreateService")
            .with_window("ecs:CreateCluster", Duration::from_secs(10))
            .with_error(400, "X", "y")]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let t0 = Instant::now();
        let key = event_key("ecs", "CreateCluster");
        assert!(set.watches(key));
        assert!(!set.watches(event_key("ecs", "CreateService")));
        assert!(set
            .evaluate(&info("ecs", "CreateService", A), &ev, t0)
            .is_none());
        ev.record(Some(A), key, t0);
        assert!(set
            .evaluate(
                &info("ecs", "CreateService", A),
                &ev,
                t0 + Duration::from_secs(5)
            )
            .is_some());
        assert!(set
            .evaluate(&info("ecs", "CreateService", "222222222222"), &ev, t0)
            .is_none());
        assert!(set
            .evaluate(
                &info("ecs", "CreateService", A),
                &ev,
                t0 + Duration::from_secs(11)
            )
            .is_none());
    }

    #[test]
    fn seeded_probability_is_reproducible_and_interleaving_independent() {
        let run = |seed: u64, interleave: bool| {
            let store = RuleStore::new(None);
            store.set(vec![Rule::named("p")
                .with_probability(0.3, Some(seed))
                .with_throttle()]);
            let set = store.snapshot();
            let ev = EventLog::default();
            let now = Instant::now();
            let mut ecs = Vec::new();
            let mut iam = Vec::new();
            for i in 0..200 {
                if interleave && i % 3 == 0 {
                    iam.push(set.evaluate(&info("iam", "GetRole", A), &ev, now).is_some());
                }
                ecs.push(
                    set.evaluate(&info("ecs", "ListClusters", A), &ev, now)
                        .is_some(),
                );
                if !interleave && i % 3 == 0 {
                    iam.push(set.evaluate(&info("iam", "GetRole", A), &ev, now).is_some());
                }
            }
            (ecs, iam)
        };
        let (a, ai) = run(42, false);
        let (b, bi) = run(42, true);
        assert_eq!(a, b);
        assert_eq!(ai, bi);
        let hits = a.iter().filter(|h| **h).count();
        assert!((35..=85).contains(&hits), "~30% of 200, got {hits}");
        let (c, _) = run(43, false);
        assert_ne!(a, c);
    }

    #[test]
    fn seed_applies_to_rules_added_before_it() {
        let decisions = |seed_first: bool| {
            let store = RuleStore::new(None);
            let rule = Rule::named("p").with_probability(0.5, None).with_throttle();
            if seed_first {
                store.set_global_seed(Some(11));
                store.set(vec![rule]);
            } else {
                store.set(vec![rule]);
                store.set_global_seed(Some(11));
            }
            let set = store.snapshot();
            let ev = EventLog::default();
            (0..64)
                .map(|_| {
                    set.evaluate(&info("ecs", "ListClusters", A), &ev, Instant::now())
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(decisions(true), decisions(false));
    }

    #[test]
    fn store_remove_and_replace() {
        let store = RuleStore::new(None);
        store.set(vec![
            Rule::named("a").with_drop(),
            Rule::default().with_drop(),
        ]);
        let names: Vec<_> = store.list().into_iter().map(|r| r.name.unwrap()).collect();
        assert_eq!(names[0], "a");
        assert!(names[1].starts_with("rule-"));
        store.replace_prefixed("preset:x", vec![Rule::named("preset:x").with_throttle()]);
        store.replace_prefixed("preset:x", vec![Rule::named("preset:x").with_drop()]);
        assert_eq!(store.list().len(), 3);
        assert_eq!(store.remove(Some("a")), 1);
        assert_eq!(store.remove(None), 2);
        assert!(store.list().is_empty());
    }

    #[test]
    fn account_filter_and_unknown_service() {
        let store = RuleStore::new(None);
        store.set(vec![Rule::named("acct")
            .for_account(A)
            .for_service("iam")
            .with_drop()]);
        let set = store.snapshot();
        let ev = EventLog::default();
        let now = Instant::now();
        assert!(set.evaluate(&info("iam", "GetRole", A), &ev, now).is_some());
        assert!(set
            .evaluate(&info("iam", "GetRole", "999999999999"), &ev, now)
            .is_none());
        assert!(set.evaluate(&RequestInfo::default(), &ev, now).is_none());
    }
}
