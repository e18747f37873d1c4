//! IAM propagation delay for ECR repository policies (preset `iam-propagation`).
//!
//! In real AWS a role created a moment ago is not yet known to other services: ECR
//! SetRepositoryPolicy naming it as principal fails with `InvalidParameterException`
//! "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'"
//! (terraform-provider-aws issue #39064). This model remembers the roles created through the proxy
//! per account and answers that error while the policy names one created less than the configured
//! delay ago.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{Model, ModelAnswer, ModelCx, ModelSettings};
use crate::classify::{form_param, RequestInfo};
use crate::wire::AwsError;

/// ECR's error text (verbatim).
pub const PRINCIPAL_NOT_FOUND: &str =
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'";

const HANDLED_BY: &str = "model:iam-propagation";

#[derive(Default)]
pub(crate) struct IamPropagationModel {
    /// Per account: `:role{path}{name}` (the ARN without partition and account) and creation time.
    recent: Mutex<HashMap<String, Vec<(String, Instant)>>>,
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
        roles.iter().any(|(suffix, at)| {
            at.elapsed() < settings.iam_propagation
                && policy.match_indices(suffix.as_str()).any(|(i, m)| {
                    // The ARN must end there (`...:role/app"`), not continue (`...:role/app-2"`).
                    policy[i + m.len()..].starts_with('"')
                })
        })
    }
}

impl Model for IamPropagationModel {
    fn wants(&self, info: &RequestInfo, settings: &ModelSettings) -> bool {
        !settings.iam_propagation.is_zero()
            && (info.is("iam", "CreateRole") || info.is("ecr", "SetRepositoryPolicy"))
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            if !cx.info.is("ecr", "SetRepositoryPolicy") {
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
                        "error",
                        AwsError::new(400, "InvalidParameterException", PRINCIPAL_NOT_FOUND),
                    )
                })
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            if status != 200 || !cx.info.is("iam", "CreateRole") {
                return;
            }
            let Some(name) = form_param(cx.body, "RoleName") else {
                return;
            };
            let path = form_param(cx.body, "Path").unwrap_or_else(|| "/".into());
            let suffix = format!(":role{path}{name}");
            let now = Instant::now();
            let window = cx.settings.iam_propagation;
            let mut map = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            let roles = map
                .entry(cx.info.account.clone().unwrap_or_default())
                .or_default();
            roles.retain(|(s, at)| at.elapsed() < window && *s != suffix);
            roles.push((suffix, now));
        }
        .boxed()
    }

    fn reset(&self) {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
