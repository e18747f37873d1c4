//! Why this file exists: after the wrapped command ends, its user wants to know what the fresh
//! account did to it: how many calls went to which service (and to which emulator when the
//! proxy routes services to several), which of them got an injected fault
//! or a behaviour model's answer (grouped by operation and error code, with counts and the rule
//! or model), and where the whole journal is. This file builds that summary from the proxy's
//! journal; it prints nothing on stdout (that is the command's).

use std::collections::BTreeMap;

use faultproxy::JournalEntry;

use crate::reports::behaviours::answer;

/// One row of the faults table: an (operation, answer, rule or model) and how often.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answered {
    pub count: usize,
    /// The HTTP statuses the command saw, in first-seen order.
    pub statuses: Vec<u16>,
}

/// The summary of one run's journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Requests per service (`?` when the proxy could not classify it).
    pub by_service: BTreeMap<String, usize>,
    /// Requests per upstream the proxy routed them to (`moto`, `localstack`; journal.rs).
    pub by_upstream: BTreeMap<String, usize>,
    /// Keyed by (`service:Operation`, answer, rule or model).
    pub answered: BTreeMap<(String, String, String), Answered>,
}

impl Summary {
    pub fn of(journal: &[JournalEntry]) -> Summary {
        let mut s = Summary::default();
        for e in journal {
            let service = e.service.clone().unwrap_or_else(|| "?".into());
            *s.by_service.entry(service).or_default() += 1;
            if !e.upstream.is_empty() {
                *s.by_upstream.entry(e.upstream.clone()).or_default() += 1;
            }
            let Some((answer, by)) = answer(e) else {
                continue;
            };
            let op = format!(
                "{}:{}",
                e.service.as_deref().unwrap_or("?"),
                e.operation.as_deref().unwrap_or("?")
            );
            let row = s.answered.entry((op, answer, by)).or_default();
            row.count += 1;
            if let Some(status) = e.status {
                if !row.statuses.contains(&status) {
                    row.statuses.push(status);
                }
            }
        }
        s
    }

    pub fn requests(&self) -> usize {
        self.by_service.values().sum()
    }

    /// The report's lines (without the `harness: ` prefix).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let services: Vec<String> = self
            .by_service
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        out.push(if services.is_empty() {
            "requests: none reached the endpoint".to_string()
        } else {
            format!("requests: {} ({})", self.requests(), services.join(", "))
        });
        if self.by_upstream.len() > 1 {
            let upstreams: Vec<String> = self
                .by_upstream
                .iter()
                .map(|(u, n)| format!("{u} {n}"))
                .collect();
            out.push(format!("routed to: {}", upstreams.join(", ")));
        }
        if self.answered.is_empty() {
            out.push("injected faults and model answers: none".into());
            return out;
        }
        out.push("injected faults and model answers:".into());
        let w_op = width(self.answered.keys().map(|k| &k.0), "operation");
        let w_answer = width(self.answered.keys().map(|k| &k.1), "answer");
        out.push(format!(
            "  {:<w_op$}  {:<w_answer$}  count  HTTP  rule/model",
            "operation", "answer"
        ));
        for ((op, answer, by), row) in &self.answered {
            let statuses: Vec<String> = row.statuses.iter().map(u16::to_string).collect();
            let statuses = if statuses.is_empty() {
                "-".to_string()
            } else {
                statuses.join(",")
            };
            out.push(format!(
                "  {op:<w_op$}  {answer:<w_answer$}  {:>5}  {statuses:<4}  {by}",
                row.count
            ));
        }
        out
    }
}

fn width<'a>(items: impl Iterator<Item = &'a String>, header: &str) -> usize {
    items.map(String::len).max().unwrap_or(0).max(header.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultproxy::{FaultKind, InjectedFault};

    fn entry(service: &str, op: &str, status: u16) -> JournalEntry {
        JournalEntry {
            seq: 1,
            at_ms: 0,
            account: Some("111122223333".into()),
            region: Some("ap-northeast-1".into()),
            service: Some(service.into()),
            operation: Some(op.into()),
            status: Some(status),
            fault: None,
            resource: None,
            handled_by: None,
            upstream: "moto".into(),
            shard: None,
            duration_ms: 1.0,
        }
    }

    fn faulted(op: &str, code: &str, rule: &str) -> JournalEntry {
        JournalEntry {
            fault: Some(InjectedFault {
                rule: rule.into(),
                kind: FaultKind::Error,
                code: Some(code.into()),
                message: None,
            }),
            handled_by: Some("model:service-linked-role".into()),
            ..entry("ecs", op, 400)
        }
    }

    #[test]
    fn groups_by_operation_answer_and_rule() {
        let journal = vec![
            entry("ecs", "CreateCluster", 200),
            faulted(
                "CreateService",
                "InvalidParameterException",
                "model:slr-delay",
            ),
            faulted(
                "CreateService",
                "InvalidParameterException",
                "model:slr-delay",
            ),
            JournalEntry {
                handled_by: Some("model:service-linked-role".into()),
                upstream: "localstack".into(),
                ..entry("iam", "CreateServiceLinkedRole", 200)
            },
            JournalEntry {
                fault: Some(InjectedFault {
                    rule: "preset:flaky".into(),
                    kind: FaultKind::Drop,
                    code: None,
                    message: None,
                }),
                status: None,
                ..entry("iam", "GetRole", 200)
            },
        ];
        let s = Summary::of(&journal);
        assert_eq!(s.requests(), 5);
        assert_eq!(s.by_service["ecs"], 3);
        assert_eq!(s.by_service["iam"], 2);
        let key = |op: &str, a: &str, r: &str| (op.to_string(), a.to_string(), r.to_string());
        assert_eq!(
            s.answered[&key(
                "ecs:CreateService",
                "InvalidParameterException",
                "model:slr-delay"
            )],
            Answered {
                count: 2,
                statuses: vec![400]
            }
        );
        assert_eq!(
            s.answered[&key(
                "iam:CreateServiceLinkedRole",
                "answered by model",
                "model:service-linked-role"
            )]
                .count,
            1
        );
        assert_eq!(
            s.answered[&key("iam:GetRole", "drop", "preset:flaky")].statuses,
            Vec::<u16>::new()
        );
        assert_eq!(s.answered.len(), 3);

        let text = s.lines().join("\n");
        assert!(
            text.starts_with("requests: 5 (ecs 3, iam 2)\nrouted to: localstack 1, moto 4\n"),
            "{text}"
        );
        assert!(
            text.contains("ecs:CreateService            InvalidParameterException      2  400   model:slr-delay"),
            "{text}"
        );
        assert!(text.contains("iam:GetRole"), "{text}");
    }

    #[test]
    fn one_upstream_is_not_reported() {
        let text = Summary::of(&[entry("ecs", "ListClusters", 200)])
            .lines()
            .join("\n");
        assert!(!text.contains("routed to"), "{text}");
    }

    #[test]
    fn an_empty_journal_says_so() {
        let text = Summary::of(&[]).lines().join("\n");
        assert_eq!(
            text,
            "requests: none reached the endpoint\ninjected faults and model answers: none"
        );
    }
}
