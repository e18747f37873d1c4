//! AWS behaviour models: what real AWS does that the emulators do not.
//!
//! A model watches classified requests of one account and may answer a request itself (an
//! eventual-consistency error, or an API the emulator gets wrong) or act after the upstream
//! answered (create the ECS service-linked role when CreateCluster succeeded). Models keep state
//! per account, are switched on and tuned by [`ModelSettings`] (presets change them), and declare
//! the operations they watch ([`Model::operations`]): [`Models`] indexes them by operation, so a
//! request no model watches costs one array load. Behaviours that differ only in data are
//! catalogue rows (`crate::catalogue`), run by one engine per kind and registered here beside
//! the models written as code.

pub mod ecs;
pub mod ecs_capacity_provider_attachments;
pub mod ecs_cluster_not_found;
pub mod ecs_service_draining;
pub mod iam_read_after_write;
pub mod logs_conflicting_operation;
pub mod service_linked_role;
pub mod settings;
pub mod slr_deletion_status;
#[cfg(test)]
pub(crate) mod test_support;
pub mod window;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::Response;
use http_body_util::Full;

use super::aws::{Operation, Service};
use super::classify::RequestInfo;
use super::journal::{FaultKind, InjectedFault};
use super::routes::Upstreams;
use super::upstream::Upstream;
use super::wire::{self, AwsError};

pub use settings::{ModelId, ModelSettings, ModelSettingsError, Toggle};
pub use window::{ResourceKey, WindowRange};

/// What a windowed model is: its name (presets, journal), its default window range and where
/// the behaviour and the range come from.
#[derive(Debug, PartialEq, serde::Serialize)]
pub struct ModelSpec {
    /// `ecs-cluster-not-found`: the name presets and settings use.
    pub name: &'static str,
    /// `model:<name>`: the journal's `rule` for the model's answers.
    pub rule: &'static str,
    /// AWS's typical window (every default is at most 60 s).
    pub window: WindowRange,
    /// Where behaviour and range are documented (AWS docs URL, terraform-provider-aws file).
    pub source: &'static str,
}

/// The code models' ids: their places in [`REGISTRY`] (a const assertion checks each).
impl ModelId {
    pub const SLR_DELAY: ModelId = ModelId(0);
    pub const ECS_CLUSTER_NOT_FOUND: ModelId = ModelId(1);
    pub const ECS_CAPACITY_PROVIDER_ATTACHMENTS: ModelId = ModelId(2);
    pub const ECS_SERVICE_DRAINING: ModelId = ModelId(3);
    pub const IAM_READ_AFTER_WRITE: ModelId = ModelId(4);
    pub const SLR_DELETION_STATUS: ModelId = ModelId(5);
    pub const LOGS_CONFLICTING_OPERATION: ModelId = ModelId(6);
    /// The first catalogue row's id (the rows follow the code models).
    pub const FIRST_ROW: ModelId = ModelId(REGISTRY.len() as u8);
}

/// A windowed model's entry in the registry: its id, its spec and how to build it.
pub(crate) struct Registration {
    pub id: ModelId,
    pub spec: &'static ModelSpec,
    build: fn() -> Box<dyn Model>,
}

const fn register<M: Model + Default + 'static>(
    id: ModelId,
    spec: &'static ModelSpec,
) -> Registration {
    fn build<M: Model + Default + 'static>() -> Box<dyn Model> {
        Box::new(M::default())
    }
    Registration {
        id,
        spec,
        build: build::<M>,
    }
}

/// Every model written as code, in the order they see requests (the first `before` answer
/// wins); the catalogue's engines follow. A new code model is one file, one id and one line here.
pub(crate) const REGISTRY: &[Registration] = &[
    register::<service_linked_role::ServiceLinkedRoleModel>(
        ModelId::SLR_DELAY,
        &service_linked_role::SPEC,
    ),
    register::<ecs_cluster_not_found::ClusterNotFoundModel>(
        ModelId::ECS_CLUSTER_NOT_FOUND,
        &ecs_cluster_not_found::SPEC,
    ),
    register::<ecs_capacity_provider_attachments::AttachmentsModel>(
        ModelId::ECS_CAPACITY_PROVIDER_ATTACHMENTS,
        &ecs_capacity_provider_attachments::SPEC,
    ),
    register::<ecs_service_draining::DrainingModel>(
        ModelId::ECS_SERVICE_DRAINING,
        &ecs_service_draining::SPEC,
    ),
    register::<iam_read_after_write::IamReadAfterWriteModel>(
        ModelId::IAM_READ_AFTER_WRITE,
        &iam_read_after_write::SPEC,
    ),
    register::<slr_deletion_status::SlrDeletionModel>(
        ModelId::SLR_DELETION_STATUS,
        &slr_deletion_status::SPEC,
    ),
    register::<logs_conflicting_operation::ConflictingOperationModel>(
        ModelId::LOGS_CONFLICTING_OPERATION,
        &logs_conflicting_operation::SPEC,
    ),
];

const _: () = {
    assert!(REGISTRY.len() + crate::CATALOGUE_ROWS <= settings::MAX_MODELS);
    let mut i = 0;
    while i < REGISTRY.len() {
        assert!(
            REGISTRY[i].id.index() == i,
            "a code model's id is its registry place"
        );
        i += 1;
    }
};

/// The operation `$op` of service `$service` (a [`Service`] constant's name), resolved from the
/// generated table the first time this line runs and then one load: models compare operation
/// handles per request, never names. A name the table lacks panics at that first run, which
/// the model's tests reach.
macro_rules! op {
    ($service:ident, $op:literal) => {{
        static OP: std::sync::LazyLock<$crate::aws::Operation> = std::sync::LazyLock::new(|| {
            $crate::aws::Service::$service
                .operation($op)
                .unwrap_or_else(|| panic!("{} has no operation {}", stringify!($service), $op))
        });
        *OP
    }};
}
pub(crate) use op;

/// The spec of the model or catalogue row called `name`.
pub fn spec(name: &str) -> Option<&'static ModelSpec> {
    all_specs().find(|s| s.name == name)
}

/// Every code model's spec, in registry order (the models written as code, without the
/// catalogue's rows).
pub fn specs() -> impl Iterator<Item = &'static ModelSpec> {
    REGISTRY.iter().map(|r| r.spec)
}

/// The models the seed's ECS stack (scenarios/, `harness repro`) meets under `fresh-account`:
/// every code model and the one catalogue row it reaches (`iam-propagation`, its ECR repository
/// policy naming the task execution role). The other rows concern services the stack does not
/// use; reports and scenarios that expect "every model met" by that stack read this list.
pub fn seed_stack_specs() -> impl Iterator<Item = &'static ModelSpec> {
    specs().chain(spec(SEED_STACK_ROW))
}

/// The catalogue row the seed's stack meets.
const SEED_STACK_ROW: &str = "iam-propagation";

/// Every model's and catalogue row's spec: the code models in registry order, then the rows.
/// Settings index models in this order; `--model`, presets and help texts take any of them.
pub fn all_specs() -> impl Iterator<Item = &'static ModelSpec> {
    crate::all_model_specs()
}

/// The settings index of the model or row called `name` (configuration only).
fn spec_index(name: &str) -> Option<usize> {
    all_specs().position(|s| s.name == name)
}

/// What a model needs to look at a request.
pub(crate) struct ModelCx<'a> {
    pub info: &'a RequestInfo,
    pub body: &'a [u8],
    /// The proxy's upstreams; a model calls a service through [`ModelCx::upstream_for`].
    pub upstreams: &'a Upstreams,
    pub settings: ModelSettings,
}

impl<'a> ModelCx<'a> {
    /// The upstream that serves `service` in the request's account (its route's, else the
    /// account's shard of the main one): a model's own IAM call goes where the client's IAM
    /// calls go.
    pub fn upstream_for(&self, service: Service) -> &'a Upstream {
        self.upstreams
            .for_service(service, self.info.account.as_deref())
    }
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
        kind: FaultKind,
        err: AwsError,
    ) -> ModelAnswer {
        let fault = InjectedFault {
            rule: rule.to_string(),
            kind,
            code: Some(err.code.clone()),
            message: Some(err.message.clone()),
        };
        ModelAnswer {
            response: wire::error_response(info.protocol, info.service, &err),
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
            wire::error_response(info.protocol, info.service, &err),
            handled_by,
        )
    }
}

/// The upstream's answer, buffered, as [`Model::on_answer`] may read and rewrite it.
pub(crate) struct UpstreamAnswer {
    pub status: u16,
    pub body: Bytes,
}

impl UpstreamAnswer {
    /// The body as JSON, when it is JSON (awsJson answers).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Replaces the body with `value`.
    pub fn set_json(&mut self, value: &serde_json::Value) {
        // Serialising a `Value` cannot fail.
        self.body = Bytes::from(serde_json::to_vec(value).unwrap_or_default());
    }
}

/// One behaviour model.
pub(crate) trait Model: Send + Sync {
    /// Every operation the model may act on (asked once, to index the models by operation).
    fn operations(&self) -> Vec<Operation>;
    /// Cheap and synchronous, for a request of one of [`Model::operations`]: is the model (or
    /// one of its rows watching this operation) on?
    fn wants(&self, info: &RequestInfo, settings: &ModelSettings) -> bool;
    /// Before forwarding: answer instead of the upstream, or `None` to forward.
    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>>;
    /// After the upstream (or another model) answered with `status`, before the client sees it.
    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()>;
    /// After `after`, with the upstream's answer buffered: the model may record state from it
    /// (open a window when a create succeeded) and rewrite it (report a cluster `MISSING`).
    /// Returns the fault to journal when it changed what the client sees.
    fn on_answer(&self, _cx: &ModelCx<'_>, _answer: &mut UpstreamAnswer) -> Option<InjectedFault> {
        None
    }
    /// Forget all per-account state.
    fn reset(&self);
}

/// The journal entry of a model's answer: `rule` = `model:<name>`. `kind` is `error` for a
/// failure the client sees, `read-lag` for a read that shows a not-yet-settled state.
pub(crate) fn model_fault(spec: &ModelSpec, kind: FaultKind, code: Option<&str>) -> InjectedFault {
    InjectedFault {
        rule: spec.rule.to_string(),
        kind,
        code: code.map(str::to_string),
        message: None,
    }
}

/// All models, with their shared settings.
pub(crate) struct Models {
    settings: RwLock<ModelSettings>,
    /// The settings of leased accounts (scopes.rs), which replace `settings` for their requests.
    leased: RwLock<HashMap<String, ModelSettings>>,
    /// Whether `leased` has any entry: the hot path of a proxy nobody leased from skips its lock.
    any_leased: AtomicBool,
    models: Vec<Box<dyn Model>>,
    /// Per operation (by index): a bit per model in `models` that watches it.
    watching: Vec<u16>,
}

impl Models {
    pub fn new(settings: ModelSettings) -> Models {
        let models: Vec<Box<dyn Model>> = REGISTRY
            .iter()
            .map(|r| (r.build)())
            .chain(crate::catalogue_engines(ModelId::FIRST_ROW))
            .collect();
        assert!(models.len() <= 16, "a u16 holds a bit per model");
        let mut watching = vec![0u16; Operation::count()];
        for (i, m) in models.iter().enumerate() {
            for op in m.operations() {
                watching[op.index()] |= 1 << i;
            }
        }
        Models {
            settings: RwLock::new(settings),
            leased: RwLock::new(HashMap::new()),
            any_leased: AtomicBool::new(false),
            models,
            watching,
        }
    }

    /// The models watching this request's operation, in registry order.
    fn watching<'a>(&'a self, info: &RequestInfo) -> impl Iterator<Item = &'a dyn Model> + 'a {
        let bits = info
            .operation
            .and_then(|op| self.watching.get(op.index()))
            .copied()
            .unwrap_or(0);
        self.models
            .iter()
            .enumerate()
            .filter(move |(i, _)| bits & (1 << i) != 0)
            .map(|(_, m)| m.as_ref())
    }

    pub fn settings(&self) -> ModelSettings {
        *self.settings.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn update_settings(&self, f: impl FnOnce(&mut ModelSettings)) {
        f(&mut self.settings.write().unwrap_or_else(|e| e.into_inner()));
    }

    /// The settings of leased account `account`, if it is leased.
    pub fn leased_settings(&self, account: &str) -> Option<ModelSettings> {
        let leased = self.leased.read().unwrap_or_else(|e| e.into_inner());
        leased.get(account).copied()
    }

    /// Sets (`Some`) or forgets (`None`) the settings of leased account `account`.
    pub fn set_leased(&self, account: &str, settings: Option<ModelSettings>) {
        let mut leased = self.leased.write().unwrap_or_else(|e| e.into_inner());
        match settings {
            Some(s) => leased.insert(account.to_string(), s),
            None => leased.remove(account),
        };
        self.any_leased.store(!leased.is_empty(), Ordering::Release);
    }

    /// The settings that apply to this request (its leased account's, else the proxy's) when
    /// some model wants it (the hot-path check). The settings are copied only when some model is
    /// interested.
    pub fn interested(&self, info: &RequestInfo) -> Option<ModelSettings> {
        let op = info.operation?;
        if self.watching.get(op.index()).copied().unwrap_or(0) == 0 {
            return None;
        }
        let wanted = |settings: &ModelSettings| {
            self.watching(info)
                .any(|m| m.wants(info, settings))
                .then_some(*settings)
        };
        if self.any_leased.load(Ordering::Acquire) {
            if let Some(account) = &info.account {
                let leased = self.leased.read().unwrap_or_else(|e| e.into_inner());
                if let Some(settings) = leased.get(account) {
                    return wanted(settings);
                }
            }
        }
        wanted(&self.settings.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub async fn before(&self, cx: &ModelCx<'_>) -> Option<ModelAnswer> {
        for m in self.watching(cx.info) {
            if m.wants(cx.info, &cx.settings) {
                if let Some(a) = m.before(cx).await {
                    return Some(a);
                }
            }
        }
        None
    }

    pub async fn after(&self, cx: &ModelCx<'_>, status: u16) {
        for m in self.watching(cx.info) {
            if m.wants(cx.info, &cx.settings) {
                m.after(cx, status).await;
            }
        }
    }

    /// Every interested model sees (and may rewrite) the upstream's answer in turn; returns the
    /// first fault one of them reported.
    pub fn on_answer(
        &self,
        cx: &ModelCx<'_>,
        answer: &mut UpstreamAnswer,
    ) -> Option<InjectedFault> {
        let mut fault = None;
        for m in self.watching(cx.info) {
            if m.wants(cx.info, &cx.settings) {
                let f = m.on_answer(cx, answer);
                fault = fault.or(f);
            }
        }
        fault
    }

    /// Back to `settings` with no state; leased accounts' settings are forgotten too.
    pub fn reset(&self, settings: ModelSettings) {
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = settings;
        self.leased
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.any_leased.store(false, Ordering::Release);
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
    fn registry_names_rules_and_windows() {
        let mut names = std::collections::HashSet::new();
        for s in specs() {
            assert!(names.insert(s.name), "duplicate model {}", s.name);
            assert_eq!(s.rule, format!("model:{}", s.name));
            assert!(s.window.min <= s.window.max, "{}", s.name);
            assert!(
                s.window.max <= std::time::Duration::from_secs(60),
                "{}: every default window is at most 60 s",
                s.name
            );
            assert!(s.source.starts_with("https://"), "{}", s.name);
            assert_eq!(spec(s.name).map(|x| x.name), Some(s.name));
        }
        assert!(spec("nope").is_none());
    }

    #[tokio::test]
    async fn models_rewrite_answers_of_the_registry_in_turn() {
        let models = Models::new(ModelSettings::fresh_account());
        let upstream = test_support::upstream();
        let info = test_support::ecs("CreateCluster");
        let body = br#"{"clusterName":"app"}"#;
        let settings = models
            .interested(&info)
            .expect("a model wants CreateCluster");
        let cx = ModelCx {
            info: &info,
            body,
            upstreams: &upstream,
            settings,
        };
        // No emulator behind: the service-linked-role model's upstream calls fail and are logged.
        models.after(&cx, 200).await;
        let info = test_support::ecs("DescribeClusters");
        let cx = ModelCx { info: &info, ..cx };
        let mut answer = UpstreamAnswer {
            status: 200,
            body: Bytes::from_static(br#"{"clusters":[{"clusterName":"app"}],"failures":[]}"#),
        };
        let fault = models.on_answer(&cx, &mut answer).expect("rewritten");
        assert_eq!(fault.rule, "model:ecs-cluster-not-found");
        assert_eq!(answer.json().unwrap()["failures"][0]["reason"], "MISSING");
        models.reset(ModelSettings::default());
        assert!(
            models.interested(&info).is_none(),
            "all windowed models off again"
        );
    }

    #[test]
    fn upstream_answer_json_round_trip() {
        let mut a = UpstreamAnswer {
            status: 200,
            body: Bytes::from_static(br#"{"clusters":[]}"#),
        };
        let mut v = a.json().unwrap();
        v["failures"] = serde_json::json!([]);
        a.set_json(&v);
        assert_eq!(a.json().unwrap()["failures"], serde_json::json!([]));
        a.body = Bytes::from_static(b"<xml/>");
        assert!(a.json().is_none());
    }
}
