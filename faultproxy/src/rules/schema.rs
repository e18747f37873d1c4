//! The rule schema: what a fault rule says (match, trigger, effect) in its JSON form, and the
//! builders Rust callers use. Validation lives in `validate.rs`, evaluation in `matcher.rs`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::{DropSpec, Effect, ErrorSpec, LatencySpec, ThrottleSpec};
use crate::journal::FaultKind;

/// One fault rule. JSON field names are the ones shown; all are optional except that a rule needs
/// at least one effect (`error`, `throttle`, `drop`, `latency`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name; assigned (`rule-N`) when omitted. Used in the journal and by `DELETE ?name=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ecs`, `ecr`, `logs`, `iam`, `ec2`, `sts` (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Operation name, e.g. `CreateService`; a trailing `*` matches a prefix (`Create*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// 12-digit account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The resource the request names (ECS service or cluster, IAM role, S3 bucket, Lambda
    /// function, log group, ...; see `resource.rs`). An ARN matches by the name it ends with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Chance (0.0–1.0) that a matching request is hit. Omitted = always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the probability draws and the latency jitter. Omitted = the proxy's global seed
    /// (mixed with the rule name), or a random seed if there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Fire only on the first N matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// Fire on every match after the first N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Fire only within a time window after an event observed in the same account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Effect: answer with this AWS error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSpec>,
    /// Message for `error` (if it has none) and `throttle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Effect: delay (may be combined with one of the other effects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySpec>,
    /// Effect: close the connection without a response.
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop: bool,
    /// Effect: the service's own throttling error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub throttle: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A time window opened by a successful call in the same account, e.g.
/// `{"after": "ecs:CreateCluster", "duration": "20s"}` (or `"duration_ms": 20000`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// `service:Operation` whose 2xx answer opens the window (the latest one counts).
    pub after: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl Rule {
    /// A rule with a name and nothing else; add match, trigger and effect with the `with_*` and
    /// `for_*` builders.
    pub fn named(name: impl Into<String>) -> Rule {
        Rule {
            name: Some(name.into()),
            ..Rule::default()
        }
    }
    pub fn for_service(mut self, service: impl Into<String>) -> Rule {
        self.service = Some(service.into());
        self
    }
    pub fn for_operation(mut self, operation: impl Into<String>) -> Rule {
        self.operation = Some(operation.into());
        self
    }
    pub fn for_account(mut self, account: impl Into<String>) -> Rule {
        self.account = Some(account.into());
        self
    }
    pub fn for_resource(mut self, resource: impl Into<String>) -> Rule {
        self.resource = Some(resource.into());
        self
    }
    pub fn for_region(mut self, region: impl Into<String>) -> Rule {
        self.region = Some(region.into());
        self
    }
    pub fn with_probability(mut self, probability: f64, seed: Option<u64>) -> Rule {
        self.probability = Some(probability);
        self.seed = seed;
        self
    }
    pub fn with_first(mut self, n: u64) -> Rule {
        self.first = Some(n);
        self
    }
    pub fn with_after(mut self, n: u64) -> Rule {
        self.after = Some(n);
        self
    }
    /// Window after `event` (`"ecs:CreateCluster"`) succeeded in the same account.
    pub fn with_window(mut self, event: impl Into<String>, duration: Duration) -> Rule {
        self.window = Some(Window {
            after: event.into(),
            duration: None,
            duration_ms: Some(duration.as_millis() as u64),
        });
        self
    }
    pub fn with_error(
        mut self,
        status: u16,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Rule {
        self.error = Some(ErrorSpec {
            status_code: status,
            code: code.into(),
            message: Some(message.into()),
        });
        self
    }
    pub fn with_latency(mut self, ms: u64, jitter_ms: u64) -> Rule {
        self.latency = Some(LatencySpec { ms, jitter_ms });
        self
    }
    pub fn with_drop(mut self) -> Rule {
        self.drop = true;
        self
    }
    pub fn with_throttle(mut self) -> Rule {
        self.throttle = true;
        self
    }

    /// The rule's effects in execution order: latency first, then at most one terminal fault
    /// (`error`, `throttle`, `drop`). The rule's `message` fills in the error's missing one.
    pub fn effects(&self) -> Vec<Effect> {
        let mut effects = Vec::with_capacity(2);
        if let Some(l) = &self.latency {
            effects.push(Effect::Latency(l.clone()));
        }
        if let Some(e) = &self.error {
            let mut spec = e.clone();
            spec.message = spec.message.or_else(|| self.message.clone());
            effects.push(Effect::Error(spec));
        }
        if self.throttle {
            effects.push(Effect::Throttle(ThrottleSpec {
                message: self.message.clone(),
            }));
        }
        if self.drop {
            effects.push(Effect::Drop(DropSpec));
        }
        effects
    }

    /// The kind of fault the journal records for this rule (its last effect's).
    pub fn effect_kind(&self) -> FaultKind {
        self.effects()
            .last()
            .map(Effect::kind)
            .unwrap_or(FaultKind::Latency)
    }
}
