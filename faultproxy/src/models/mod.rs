//! AWS behaviour models: what real AWS does that the emulators do not.
//!
//! A model watches classified requests of one account and may answer a request itself (an
//! eventual-consistency error, or an API the emulator gets wrong) or act after the upstream
//! answered (create the ECS service-linked role when CreateCluster succeeded). Models keep state
//! per account, are switched on and tuned by [`ModelSettings`] (presets change them), and are
//! called only for the few operations they declare interest in, so the hot path pays one cheap
//! check per request.

pub mod iam_propagation;
pub mod service_linked_role;

use std::sync::RwLock;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::Response;
use http_body_util::Full;
use serde::{Serialize, Serializer};

use super::classify::RequestInfo;
use super::journal::InjectedFault;
use super::upstream::Upstream;
use super::wire::{self, AwsError};

/// Switches and delays of the behaviour models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ModelSettings {
    /// Service-linked-role lifecycle (creation by CreateCluster, CreateServiceLinkedRole,
    /// deletion FAILED while clusters live). On by default.
    pub service_linked_role: bool,
    /// How long a freshly created `AWSServiceRoleForECS` stays invisible to ECS and IAM GetRole
    /// (`slr-delay`). Zero = visible at once.
    #[serde(serialize_with = "ser_duration")]
    pub slr_delay: Duration,
    /// How long a freshly created role is "not found" as an ECR policy principal
    /// (`iam-propagation`). Zero = off.
    #[serde(serialize_with = "ser_duration")]
    pub iam_propagation: Duration,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            service_linked_role: true,
            slr_delay: Duration::ZERO,
            iam_propagation: Duration::ZERO,
        }
    }
}

fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// What a model needs to look at a request.
pub(crate) struct ModelCx<'a> {
    pub info: &'a RequestInfo,
    pub body: &'a [u8],
    pub upstream: &'a Upstream,
    pub settings: ModelSettings,
}

/// A model's own answer to a request.
pub(crate) struct ModelAnswer {
    pub response: Response<Full<Bytes>>,
    /// Set when the answer is an injected failure (e.g. the visibility-delay error).
    pub fault: Option<InjectedFault>,
    pub handled_by: &'static str,
}

impl ModelAnswer {
    /// An AWS error in the request's protocol, journaled as an injected fault of `rule` with
    /// `kind` (`error`, or `read-lag` for an eventual-consistency "not found yet" answer).
    pub fn injected(
        info: &RequestInfo,
        handled_by: &'static str,
        rule: &str,
        kind: &str,
        err: AwsError,
    ) -> ModelAnswer {
        let fault = InjectedFault {
            rule: rule.to_string(),
            kind: kind.into(),
            code: Some(err.code.clone()),
        };
        ModelAnswer {
            response: wire::error_response(info.protocol, info.service.as_deref(), &err),
            fault: Some(fault),
            handled_by,
        }
    }

    /// A regular AWS answer (success or a faithful AWS error) produced by the model.
    pub fn answered(response: Response<Full<Bytes>>, handled_by: &'static str) -> ModelAnswer {
        ModelAnswer {
            response,
            fault: None,
            handled_by,
        }
    }

    /// A faithful AWS error (not an injected fault) answered by the model.
    pub fn aws_error(info: &RequestInfo, handled_by: &'static str, err: AwsError) -> ModelAnswer {
        Self::answered(
            wire::error_response(info.protocol, info.service.as_deref(), &err),
            handled_by,
        )
    }
}

/// One behaviour model.
pub(crate) trait Model: Send + Sync {
    /// Cheap and synchronous: does this request concern the model at all?
    fn wants(&self, info: &RequestInfo, settings: &ModelSettings) -> bool;
    /// Before forwarding: answer instead of the upstream, or `None` to forward.
    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>>;
    /// After the upstream (or another model) answered with `status`, before the client sees it.
    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()>;
    /// Forget all per-account state.
    fn reset(&self);
}

/// All models, with their shared settings.
pub(crate) struct Models {
    settings: RwLock<ModelSettings>,
    models: Vec<Box<dyn Model>>,
}

impl Models {
    pub fn new(settings: ModelSettings) -> Models {
        Models {
            settings: RwLock::new(settings),
            models: vec![
                Box::new(service_linked_role::ServiceLinkedRoleModel::default()),
                Box::new(iam_propagation::IamPropagationModel::default()),
            ],
        }
    }

    pub fn settings(&self) -> ModelSettings {
        *self.settings.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn update_settings(&self, f: impl FnOnce(&mut ModelSettings)) {
        f(&mut self.settings.write().unwrap_or_else(|e| e.into_inner()));
    }

    /// The current settings when some model wants this request (the hot-path check).
    pub fn interested(&self, info: &RequestInfo) -> Option<ModelSettings> {
        info.operation.as_ref()?;
        let settings = self.settings();
        self.models
            .iter()
            .any(|m| m.wants(info, &settings))
            .then_some(settings)
    }

    pub async fn before(&self, cx: &ModelCx<'_>) -> Option<ModelAnswer> {
        for m in &self.models {
            if m.wants(cx.info, &cx.settings) {
                if let Some(a) = m.before(cx).await {
                    return Some(a);
                }
            }
        }
        None
    }

    pub async fn after(&self, cx: &ModelCx<'_>, status: u16) {
        for m in &self.models {
            if m.wants(cx.info, &cx.settings) {
                m.after(cx, status).await;
            }
        }
    }

    pub fn reset(&self, settings: ModelSettings) {
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = settings;
        for m in &self.models {
            m.reset();
        }
    }
}

/// The text of the first `<tag>...</tag>` element's content in an XML document.
pub(crate) fn xml_element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_element_extraction() {
        let xml = "<A><Role><RoleName>x</RoleName><Arn>arn</Arn></Role></A>";
        assert_eq!(
            xml_element(xml, "Role"),
            Some("<RoleName>x</RoleName><Arn>arn</Arn>")
        );
        assert_eq!(xml_element(xml, "Arn"), Some("arn"));
        assert_eq!(xml_element(xml, "Nope"), None);
        assert_eq!(xml_element("<Role>unterminated", "Role"), None);
    }

    #[test]
    fn settings_serialize_readably() {
        let s = ModelSettings {
            slr_delay: Duration::from_secs(20),
            ..ModelSettings::default()
        };
        let v = serde_json::to_value(s).unwrap();
        assert_eq!(v["slr_delay"], "20s");
        assert_eq!(v["iam_propagation"], "0s");
        assert_eq!(v["service_linked_role"], true);
    }
}
