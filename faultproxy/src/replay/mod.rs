//! Replay: a real run's failures, from its CloudTrail trail or a harness journal, as fault rules,
//! so a CI failure seen on AWS happens again locally, with AWS's codes and messages.
//!
//! `trail` reads the file (three formats) into calls, `scrub` keeps the caller's identity out of
//! everything kept, `derive` turns runs of failures into steps and steps into rules (`replay:N`,
//! matched by operation and resource, `rules/resource.rs`). The harness reads files (and
//! gzip) for `harness run --replay` and `harness replay show`; the control API's
//! `POST /_harness/replay` takes the same text.

mod derive;
mod scrub;
mod trail;

use std::fmt;

pub use derive::{rules, schedule, ReplayBy, Step};
pub use trail::{read, Answer, Call, Trail};

use scrub::ACCOUNT_MARK;

/// The prefix of the names of a replay's rules for `account` (`replay:ACCOUNT:`, or
/// `replay:any:` for any account): a new replay for the same account replaces the rules named so.
pub fn rule_prefix(account: Option<&str>) -> String {
    format!("replay:{}:", account.unwrap_or("any"))
}

/// Why a trail cannot be replayed: one line naming the record and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReplayError(pub String);

/// Reads `text` and derives its rules for `account` (any account when `None`).
pub fn derive(
    text: &str,
    by: ReplayBy,
    account: Option<&str>,
) -> Result<Vec<crate::Rule>, ReplayError> {
    let trail = read(text)?;
    Ok(rules(&schedule(&trail.calls, by), account))
}

impl fmt::Display for Step {
    /// `ecs:CreateService web -> 400 InvalidParameterException "Unable to ..." x2 (after 0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.operation;
        write!(f, "{}:{}", op.service().name(), op.name())?;
        write!(
            f,
            " {}",
            self.resource
                .as_deref()
                .map_or("(any resource)".into(), |r| r
                    .replace(ACCOUNT_MARK, "<account>"))
        )?;
        match &self.answer {
            Answer::Drop => write!(f, " -> connection dropped")?,
            Answer::Error {
                status,
                code,
                message,
                modelled,
            } => {
                write!(f, " -> {status} {code}")?;
                if let Some(m) = message {
                    write!(f, " {:?}", m.replace(ACCOUNT_MARK, "<account>"))?;
                }
                if !*modelled {
                    write!(
                        f,
                        " (not in {}'s error shapes: sent as written)",
                        op.service().name()
                    )?;
                }
            }
        }
        match &self.window {
            Some((trigger, d)) => write!(
                f,
                ", every call for {} after {trigger}",
                humantime::format_duration(*d)
            ),
            None if self.after == 0 => write!(f, ", {} time(s)", self.count),
            None => write!(f, ", {} time(s) after {} that pass", self.count, self.after),
        }
    }
}

#[cfg(test)]
mod tests;
