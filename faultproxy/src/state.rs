//! The proxy's shared state: the upstreams (per service), the rules and their event log, the journal, the
//! behaviour models and the leased accounts. The request pipeline (`server`), the control API (`control`) and the
//! in-process handle (`lib.rs`) all import it; none of them imports another for it.

use std::sync::atomic::{AtomicBool, Ordering};

use super::aws::classify::RequestInfo;
use super::aws::Operation;
use super::journal::{Arrival, InjectedFault, Journal, JournalEntry, Kept};
use super::limits::Limits;
use super::models::{ModelSettings, Models};
use super::presets::Preset;
use super::routes::Upstreams;
use super::rules::{resource, EventLog, RuleStore};
use super::scopes::Scopes;
use super::upstream::UpstreamFlavor;

/// Everything a request handler needs; shared by all connections and the handle.
pub(crate) struct Shared {
    pub upstreams: Upstreams,
    pub rules: RuleStore,
    pub events: EventLog,
    pub journal: Journal,
    pub models: Models,
    /// Accounts leased with presets of their own.
    pub scopes: Scopes,
    /// Limits and deadlines, fixed at start.
    pub limits: Limits,
    /// Presets given at start; `reset` restores them.
    initial_presets: Vec<Preset>,
    /// Per operation (by index): whether a request of it got a failure since the start or the
    /// last reset; the journal then reads the resource of each of its requests.
    faulted_ops: Vec<AtomicBool>,
}

impl Shared {
    pub fn new(upstreams: Upstreams, initial_presets: Vec<Preset>, limits: Limits) -> Shared {
        let shared = Shared {
            upstreams,
            rules: RuleStore::new(None),
            events: EventLog::default(),
            journal: Journal::new(limits.journal_capacity),
            models: Models::new(ModelSettings::default()),
            scopes: Scopes::default(),
            limits,
            initial_presets,
            faulted_ops: (0..Operation::count())
                .map(|_| AtomicBool::new(false))
                .collect(),
        };
        shared.reset();
        shared
    }

    /// The main upstream's flavor.
    pub fn flavor(&self) -> UpstreamFlavor {
        self.upstreams.main().flavor
    }

    pub fn apply_preset(&self, preset: &Preset) {
        if let Some(seed) = preset.seed_value() {
            self.rules.set_global_seed(Some(seed));
            // The models' window draws follow the same seed.
            self.models.update_settings(|s| s.seed = seed);
        } else if let Some(prefix) = preset.rule_prefix() {
            self.rules.replace_prefixed(&prefix, preset.rules());
        } else {
            self.models.update_settings(|s| preset.apply_to_models(s));
        }
    }

    /// Applies several presets, the seed first (so rule presets in the same batch derive from it).
    pub fn apply_presets(&self, presets: &[Preset]) {
        let (seeds, others): (Vec<&Preset>, Vec<&Preset>) =
            presets.iter().partition(|p| p.is_seed());
        for p in seeds.into_iter().chain(others) {
            self.apply_preset(p);
        }
    }

    /// Back to the state right after start: journal, rules, counters, events, model state and
    /// leased accounts cleared, then the start-up presets applied again (seed first).
    pub fn reset(&self) {
        self.scopes.clear(&self.rules);
        self.rules.remove(None);
        self.rules.set_global_seed(None);
        self.events.clear();
        self.journal.clear();
        self.faulted_ops
            .iter()
            .for_each(|f| f.store(false, Ordering::Relaxed));
        self.models.reset(ModelSettings::default());
        self.apply_presets(&self.initial_presets);
    }

    /// The resource the journal records for a request: read when the request got a failure (an
    /// error code or a dropped connection), for every request of an operation that got one, and
    /// for requests a behaviour model looks at (`models_look`: the models read their bodies
    /// anyway), so a replay of the journal knows where each call of a failing operation stands.
    /// Other requests skip reading their body for it.
    pub fn journal_resource(
        &self,
        info: &RequestInfo,
        body: &[u8],
        fault: Option<&InjectedFault>,
        models_look: bool,
    ) -> Option<String> {
        let slot = &self.faulted_ops[info.operation?.index()];
        let failed = fault.is_some_and(|f| f.kind.is_failure() || f.code.is_some());
        if failed {
            slot.store(true, Ordering::Relaxed);
        } else if !models_look && !slot.load(Ordering::Relaxed) {
            return None;
        }
        resource::from_request(info, body)
    }

    pub(crate) fn record(
        &self,
        arrival: &Arrival,
        info: RequestInfo,
        status: Option<u16>,
        fault: Option<InjectedFault>,
        handled_by: Option<&'static str>,
        resource: Option<String>,
    ) {
        let to = self.upstreams.for_info(&info);
        let (upstream, shard) = (to.flavor.as_str(), to.shard.map(|place| place.number));
        let entry = JournalEntry {
            seq: arrival.seq,
            at_ms: arrival.at_ms,
            account: info.account,
            region: info.region,
            service: info.service.map(|s| s.name().to_string()),
            operation: info.operation.map(|o| o.name().to_string()),
            status,
            fault,
            resource,
            // Kept as constants (see `Kept`).
            handled_by: None,
            upstream: String::new(),
            shard,
            // Microsecond resolution keeps the JSON short (through u64: a u128 to f64 conversion
            // is a software routine).
            duration_ms: arrival.instant.elapsed().as_micros() as u64 as f64 / 1000.0,
        };
        self.journal.push(Kept {
            entry,
            handled_by,
            upstream,
        });
    }
}
