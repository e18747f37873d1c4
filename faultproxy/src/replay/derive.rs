//! From a trail's calls to its schedule: every run of failed calls of one operation on one
//! resource, with the same answer, becomes one [`Step`], and each step one rule.
//!
//! By count (the default), a step fails the same number of calls as the trail shows, at the same
//! place in the sequence of that operation's calls on that resource (`after`/`first` count the
//! matches a rule sees; an earlier step's rule takes the calls it fails, so a later step counts
//! from there). By time, a step fails every such call from its trigger (the last successful
//! create/put/... before the first failure) for as long as the trail took from that trigger to
//! the call's first success (to its last failure plus a second, CloudTrail's resolution, when it
//! never succeeded).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::scrub::ACCOUNT_MARK;
use super::trail::{Answer, Call};
use crate::aws::Operation;
use crate::faults::ErrorSpec;
use crate::journal::is_mutating_operation;
use crate::rules::Rule;

/// How a replay reproduces each run of failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayBy {
    /// The same number of failed calls (`--replay-by count`).
    #[default]
    Count,
    /// For the same time after the trigger call (`--replay-by time`).
    Time,
}

impl ReplayBy {
    pub fn parse(text: &str) -> Result<ReplayBy, String> {
        match text {
            "count" => Ok(ReplayBy::Count),
            "time" => Ok(ReplayBy::Time),
            other => Err(format!("--replay-by takes count or time, not {other:?}")),
        }
    }
}

/// One run of failures to reproduce.
#[derive(Clone, Debug)]
pub struct Step {
    pub operation: Operation,
    pub resource: Option<String>,
    pub answer: Answer,
    /// Calls of the operation on the resource this step's rule lets through first.
    pub after: u64,
    /// Calls it fails.
    pub count: u64,
    /// By time: the trigger (`service:Operation`) and how long after it calls fail.
    pub window: Option<(String, Duration)>,
}

/// The steps of `calls` (oldest first).
pub fn schedule(calls: &[Call], by: ReplayBy) -> Vec<Step> {
    #[derive(Default)]
    struct Seen {
        position: u64,
        failed_before: u64,
        open: Option<usize>,
    }
    let mut seen: HashMap<(Operation, Option<&str>), Seen> = HashMap::new();
    let mut steps: Vec<Step> = Vec::new();
    // Per step: the index of its first failed call, and of the call that ended it.
    let mut spans: Vec<(usize, Option<usize>, usize)> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let s = seen
            .entry((call.operation, call.resource.as_deref()))
            .or_default();
        s.position += 1;
        match &call.failure {
            None => {
                if let Some(open) = s.open.take() {
                    spans[open].1 = Some(i);
                }
            }
            Some(answer) => {
                match s.open {
                    Some(open) if steps[open].answer == *answer => {
                        steps[open].count += 1;
                        spans[open].2 = i;
                    }
                    _ => {
                        if let Some(open) = s.open {
                            spans[open].1 = Some(i);
                        }
                        s.open = Some(steps.len());
                        steps.push(Step {
                            operation: call.operation,
                            resource: call.resource.clone(),
                            answer: answer.clone(),
                            after: s.position - 1 - s.failed_before,
                            count: 1,
                            window: None,
                        });
                        spans.push((i, None, i));
                    }
                }
                s.failed_before += 1;
            }
        }
    }
    if by == ReplayBy::Time {
        for (step, &(first, ended, last)) in steps.iter_mut().zip(&spans) {
            step.window = window(calls, first, ended, last);
        }
    }
    steps
}

/// The trigger before `calls[first]` and the window's length.
fn window(
    calls: &[Call],
    first: usize,
    ended: Option<usize>,
    last: usize,
) -> Option<(String, Duration)> {
    let failing = &calls[first];
    let trigger = calls[..first].iter().rev().find(|c| {
        c.failure.is_none()
            && is_mutating_operation(c.operation.name())
            && (c.operation, c.resource.as_deref())
                != (failing.operation, failing.resource.as_deref())
    })?;
    let end = match ended {
        Some(e) if calls[e].failure.is_none() => calls[e].at_ms,
        _ => calls[last].at_ms + 1000,
    };
    let ms = (end - trigger.at_ms).max(1000) as u64;
    Some((
        format!(
            "{}:{}",
            trigger.operation.service().name(),
            trigger.operation.name()
        ),
        Duration::from_millis(ms),
    ))
}

/// The rules of `steps`, named `replay:ACCOUNT:N` (`replay:any:N`), for `account` (any account when `None`); account ids
/// the trail's text held become `account` (`000000000000` when `None`).
pub fn rules(steps: &[Step], account: Option<&str>) -> Vec<Rule> {
    let fill = |s: &str| s.replace(ACCOUNT_MARK, account.unwrap_or("000000000000"));
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let op = step.operation;
            let mut rule = Rule::named(format!("{}{}", super::rule_prefix(account), i + 1))
                .for_service(op.service().name())
                .for_operation(op.name());
            if let Some(r) = &step.resource {
                rule = rule.for_resource(fill(r));
            }
            if let Some(a) = account {
                rule = rule.for_account(a);
            }
            rule = match &step.window {
                Some((trigger, duration)) => rule.with_window(trigger.clone(), *duration),
                None => {
                    let mut r = rule.with_first(step.after + step.count);
                    if step.after > 0 {
                        r = r.with_after(step.after);
                    }
                    r
                }
            };
            match &step.answer {
                Answer::Drop => rule.with_drop(),
                Answer::Error {
                    status,
                    code,
                    message,
                    ..
                } => {
                    rule.error = Some(ErrorSpec {
                        status_code: *status,
                        code: code.clone(),
                        message: message.as_deref().map(fill),
                    });
                    rule
                }
            }
        })
        .collect()
}
