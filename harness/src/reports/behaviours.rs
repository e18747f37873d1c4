//! Why this file exists: a CI report has to tell "the command survived a behaviour" from "the
//! command never met it". So every behaviour that was on during a run (each behaviour model the
//! proxy's settings had on, each fault rule it held) is listed with what it did to the command:
//! the journal entries it answered, grouped by operation and answer. A behaviour that answered
//! nothing was quiet ("never triggered"). The terminal report, the JUnit file and the Markdown
//! summary all read this one list.

use std::collections::BTreeMap;

use faultproxy::models as proxy_models;
use faultproxy::{JournalEntry, ModelSettings, Rule};

/// The journal's name of the always-on service-linked-role lifecycle (its `handled_by`).
pub const SERVICE_LINKED_ROLE: &str = "model:service-linked-role";

/// One (operation, answer) a behaviour gave the command, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Met {
    pub count: usize,
    /// The HTTP statuses the command saw, in first-seen order.
    pub statuses: Vec<u16>,
}

/// A behaviour model or fault rule and what it answered during the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    /// As the journal names it: `model:slr-delay`, `preset:flaky-500`, a rule's own name.
    pub id: String,
    /// Keyed by (`service:Operation`, answer): the error code, the fault kind, or
    /// `answered by model`.
    pub met: BTreeMap<(String, String), Met>,
}

/// How a behaviour fared, given how the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It answered the command, and the command exited 0.
    Passed,
    /// It answered the command, and the command failed.
    Failed,
    /// It was on and never answered anything.
    NeverTriggered,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::NeverTriggered => "never triggered",
        }
    }
}

impl Behaviour {
    /// How many journal entries it answered.
    pub fn count(&self) -> usize {
        self.met.values().map(|m| m.count).sum()
    }

    pub fn verdict(&self, command_ok: bool) -> Verdict {
        match (self.count(), command_ok) {
            (0, _) => Verdict::NeverTriggered,
            (_, true) => Verdict::Passed,
            (_, false) => Verdict::Failed,
        }
    }

    /// `ecs:CreateService InvalidParameterException x2 (HTTP 400)`, one per (operation, answer).
    pub fn met_lines(&self) -> Vec<String> {
        self.met
            .iter()
            .map(|((op, answer), m)| {
                let statuses: Vec<String> = m.statuses.iter().map(u16::to_string).collect();
                let http = if statuses.is_empty() {
                    "no response".to_string()
                } else {
                    format!("HTTP {}", statuses.join(","))
                };
                format!("{op} {answer} x{} ({http})", m.count)
            })
            .collect()
    }
}

/// Up to this many catalogue rows on are listed one by one.
const LISTED_ROWS: usize = 3;

/// The behaviours a proxy with these settings and rules has on, by their journal names: the
/// service-linked-role lifecycle, each windowed model on (or given a fixed window), each rule.
pub fn on_ids(settings: &ModelSettings, rules: &[Rule]) -> Vec<String> {
    let mut ids = Vec::new();
    if settings.service_linked_role {
        ids.push(SERVICE_LINKED_ROLE.to_string());
    }
    // The whole catalogue on (`fresh-account`) lists the models the seed's stack can meet;
    // its other rows are listed when they answered. Rows switched on one by one are listed.
    let rows_on = faultproxy::catalogue::specs()
        .filter(|spec| settings.is_enabled(spec.name))
        .count();
    let listed: Vec<&proxy_models::ModelSpec> = if rows_on <= LISTED_ROWS {
        proxy_models::all_specs().collect()
    } else {
        proxy_models::seed_stack_specs().collect()
    };
    for spec in listed {
        if settings.is_enabled(spec.name) {
            ids.push(spec.rule.to_string());
        }
    }
    ids.extend(rules.iter().filter_map(|r| r.name.clone()));
    ids
}

/// The (answer, rule or model) of an entry the proxy did not simply forward: an injected fault
/// (its code, or its kind for a throttle without code, a drop, a latency, a read lag) or a
/// model's own answer (`answered by model`). `None` for a plain forwarded call.
pub fn answer(e: &JournalEntry) -> Option<(String, String)> {
    if let Some(f) = &e.fault {
        let answer = match &f.code {
            Some(code) => code.clone(),
            None => f.kind.to_string(),
        };
        return Some((answer, f.rule.clone()));
    }
    e.handled_by
        .as_ref()
        .map(|by| ("answered by model".to_string(), by.clone()))
}

/// Every behaviour in `on` (in that order, duplicates once) with what it met in `journal`, then
/// any other rule or model that answered (a rule added through the control API mid-run).
pub fn of(on: &[String], journal: &[JournalEntry]) -> Vec<Behaviour> {
    let mut list: Vec<Behaviour> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut slot = |list: &mut Vec<Behaviour>, id: &str| -> usize {
        *index.entry(id.to_string()).or_insert_with(|| {
            list.push(Behaviour {
                id: id.to_string(),
                met: BTreeMap::new(),
            });
            list.len() - 1
        })
    };
    for id in on {
        slot(&mut list, id);
    }
    for e in journal {
        let Some((answer, by)) = answer(e) else {
            continue;
        };
        let i = slot(&mut list, &by);
        let op = format!(
            "{}:{}",
            e.service.as_deref().unwrap_or("?"),
            e.operation.as_deref().unwrap_or("?")
        );
        let met = list[i].met.entry((op, answer)).or_default();
        met.count += 1;
        if let Some(status) = e.status {
            if !met.statuses.contains(&status) {
                met.statuses.push(status);
            }
        }
    }
    list
}

/// The ids of the behaviours that never triggered.
pub fn quiet(list: &[Behaviour]) -> Vec<&str> {
    list.iter()
        .filter(|b| b.count() == 0)
        .map(|b| b.id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultproxy::{FaultKind, InjectedFault};

    fn entry(op: &str, status: u16, fault: Option<(&str, &str)>) -> JournalEntry {
        JournalEntry {
            seq: 1,
            at_ms: 0,
            account: None,
            region: None,
            service: Some("ecs".into()),
            operation: Some(op.into()),
            status: Some(status),
            fault: fault.map(|(rule, code)| InjectedFault {
                rule: rule.into(),
                kind: FaultKind::Error,
                code: Some(code.into()),
                message: None,
            }),
            resource: None,
            handled_by: None,
            upstream: "moto".into(),
            shard: None,
            duration_ms: 1.0,
        }
    }

    #[test]
    fn fresh_account_turns_every_model_on_and_rules_count_too() {
        let ids = on_ids(
            &ModelSettings::fresh_account(),
            &[Rule::named("preset:throttle")],
        );
        assert_eq!(ids[0], SERVICE_LINKED_ROLE);
        for spec in proxy_models::seed_stack_specs() {
            assert!(ids.iter().any(|i| i == spec.rule), "{} missing", spec.rule);
        }
        let mut one_row = ModelSettings::default();
        one_row.set_enabled("sts-assume-role", true).unwrap();
        assert!(on_ids(&one_row, &[]).contains(&"model:sts-assume-role".to_string()));
        assert_eq!(ids.last().map(String::as_str), Some("preset:throttle"));
        assert_eq!(
            on_ids(&ModelSettings::default(), &[]),
            vec![SERVICE_LINKED_ROLE.to_string()]
        );
    }

    #[test]
    fn fired_and_quiet_behaviours_and_their_verdicts() {
        let on = vec!["model:slr-delay".to_string(), "model:quiet".to_string()];
        let journal = vec![
            entry("CreateCluster", 200, None),
            entry(
                "CreateService",
                400,
                Some(("model:slr-delay", "InvalidParameterException")),
            ),
            entry(
                "CreateService",
                400,
                Some(("model:slr-delay", "InvalidParameterException")),
            ),
            entry("ListServices", 500, Some(("mine", "InternalFailure"))),
        ];
        let list = of(&on, &journal);
        let ids: Vec<&str> = list.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["model:slr-delay", "model:quiet", "mine"]);
        assert_eq!(list[0].count(), 2);
        assert_eq!(
            list[0].met_lines(),
            ["ecs:CreateService InvalidParameterException x2 (HTTP 400)"]
        );
        assert_eq!(list[0].verdict(true), Verdict::Passed);
        assert_eq!(list[0].verdict(false), Verdict::Failed);
        assert_eq!(list[1].verdict(false), Verdict::NeverTriggered);
        assert_eq!(quiet(&list), ["model:quiet"]);
    }
}
