//! IAM propagation delay for ECR repository policies (preset `iam-propagation`).
//!
//! In real AWS a role created a moment ago is not yet known to other services: ECR
//! SetRepositoryPolicy naming it as principal fails with `InvalidParameterException`
//! "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'"
//! (hashicorp/terraform-provider-aws#39064). This model remembers the roles created through the
//! proxy per account and answers that error while the policy names one created less than the
//! configured delay ago (a fixed `iam-propagation=D`, or, with the model on, a window drawn per
//! role creation from [`SPEC`]'s range).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;

use super::window::{ResourceKey, WindowRange};
use super::{Model, ModelAnswer, ModelCx, ModelSettings, ModelSpec};
use crate::aws::Service;
use crate::classify::{form_param, RequestInfo};
use crate::journal::FaultKind;
use crate::wire::AwsError;

/// ECR's error text (verbatim).
pub const PRINCIPAL_NOT_FOUND: &str =
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'";

const HANDLED_BY: &str = SPEC.rule;

/// IAM is eventually consistent: "changes ... take time to become visible" (principals ~10 s,
/// up to ~30 s): https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency;
/// terraform-provider-aws `internal/service/ecr/repository_policy.go` retries `propagationTimeout`.
pub const SPEC: ModelSpec = ModelSpec {
    name: "iam-propagation",
    rule: "model:iam-propagation",
    window: WindowRange::secs(2, 30),
    source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency",
};

/// A role the proxy saw created: its ARN suffix, when, and the window drawn for it.
struct Created {
    suffix: String,
    at: Instant,
    drawn: Duration,
}

#[derive(Default)]
pub(crate) struct IamPropagationModel {
    /// Per account: roles by `:role{path}{name}` (the ARN without partition and account).
    recent: Mutex<HashMap<String, Vec<Created>>>,
    /// Creations per role (feeds the draw, so a re-created role draws a new window).
    creations: Mutex<HashMap<ResourceKey, u64>>,
}

/// The window that applies now to a role created with `drawn`: the fixed preset duration when
/// set (read now), else the drawn one when the model is on.
fn window(settings: &ModelSettings, drawn: Duration) -> Duration {
    if !settings.iam_propagation.is_zero() {
        settings.scaled(settings.iam_propagation)
    } else if settings.is_enabled(SPEC.name) {
        drawn
    } else {
        Duration::ZERO
    }
}

impl IamPropagationModel {
    fn names_recent_role(
        &self,
        info: &RequestInfo,
        policy: &str,
        settings: &ModelSettings,
    ) -> bool {
        let map = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let Some(roles) = map.get(info.account.as_deref().unwrap_or("")) else {
            return false;
        };
        roles.iter().any(|c| {
            c.at.elapsed() < window(settings, c.drawn)
                && policy.match_indices(c.suffix.as_str()).any(|(i, m)| {
                    // The ARN must end there (`...:role/app"`), not continue (`...:role/app-2"`).
                    policy[i + m.len()..].starts_with('"')
                })
        })
    }
}

impl Model for IamPropagationModel {
    fn wants(&self, info: &RequestInfo, settings: &ModelSettings) -> bool {
        (!settings.iam_propagation.is_zero() || settings.is_enabled(SPEC.name))
            && (info.is(Service::IAM, "CreateRole") || info.is(Service::ECR, "SetRepositoryPolicy"))
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            if !cx.info.is(Service::ECR, "SetRepositoryPolicy") {
                return None;
            }
            let body: serde_json::Value = serde_json::from_slice(cx.body).ok()?;
            let policy = body.get("policyText")?.as_str()?;
            self.names_recent_role(cx.info, policy, &cx.settings)
                .then(|| {
                    ModelAnswer::injected(
                        cx.info,
                        HANDLED_BY,
                        HANDLED_BY,
                        FaultKind::Error,
                        AwsError::new(400, "InvalidParameterException", PRINCIPAL_NOT_FOUND),
                    )
                })
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            if status != 200 || !cx.info.is(Service::IAM, "CreateRole") {
                return;
            }
            let Some(name) = form_param(cx.body, "RoleName") else {
                return;
            };
            let path = form_param(cx.body, "Path").unwrap_or_else(|| "/".into());
            let suffix = format!(":role{path}{name}");
            let now = Instant::now();
            let settings = &cx.settings;
            let account = cx.info.account.clone().unwrap_or_default();
            let key = ResourceKey::new(&account, "", &suffix);
            let counter = {
                let mut counts = self.creations.lock().unwrap_or_else(|e| e.into_inner());
                let n = counts.entry(key.clone()).or_default();
                *n += 1;
                *n - 1
            };
            let drawn = settings.draw(&SPEC, settings.range(&SPEC), &key, counter);
            let mut map = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            let roles = map.entry(account).or_default();
            roles.retain(|c| c.at.elapsed() < window(settings, c.drawn) && c.suffix != suffix);
            roles.push(Created {
                suffix,
                at: now,
                drawn,
            });
        }
        .boxed()
    }

    fn reset(&self) {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.creations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
