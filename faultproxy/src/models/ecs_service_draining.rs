//! Service draining (`ecs-service-draining`): a deleted ECS service drains before it is gone.
//!
//! After a successful DeleteService of service S in cluster C, DescribeServices shows S
//! `DRAINING` for a window, then `INACTIVE` (moto answers `INACTIVE` at once, or drops it: the
//! model keeps the service object DeleteService returned and answers it with the status
//! changed). Meanwhile DeleteCluster of C answers `ClusterContainsServicesException` and
//! CreateService of S in C answers `InvalidParameterException` "Creation of service was not
//! idempotent." — the destroy-then-re-apply trap (terraform-provider-aws#2283).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;

use super::ecs::{self, cluster_of, request_json, service_name};
use super::window::{Phase, ResourceKey, WindowRange, Windows};
use super::{
    model_fault, op, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ModelSpec, UpstreamAnswer,
};
use crate::aws::{facts, Operation};
use crate::classify::RequestInfo;
use crate::journal::{FaultKind, InjectedFault};

/// DeleteCluster while services drain (verbatim):
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html#API_DeleteCluster_Errors;
/// terraform-provider-aws `internal/service/ecs/cluster.go` retries it 10 min.
pub const CONTAINS_SERVICES_CODE: &str = facts::CLUSTER_CONTAINS_SERVICES_EXCEPTION;
pub const CONTAINS_SERVICES: &str = facts::CLUSTER_CONTAINS_SERVICES_MESSAGE;
/// CreateService of a name that still drains (verbatim): terraform-provider-aws#2283,
/// hashicorp/terraform#9397 (~5 min on AWS).
pub const NOT_IDEMPOTENT_CODE: &str = facts::INVALID_PARAMETER_EXCEPTION;
pub const NOT_IDEMPOTENT: &str = facts::NOT_IDEMPOTENT_MESSAGE;
/// `Service.status` values: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html
pub const DRAINING: &str = "DRAINING";
pub const INACTIVE: &str = "INACTIVE";

/// AWS drains for up to minutes (`waitServiceInactive` in terraform-provider-aws
/// `internal/service/ecs/wait.go`); the default stays within a minute.
pub const SPEC: ModelSpec = ModelSpec {
    name: "ecs-service-draining",
    rule: "model:ecs-service-draining",
    window: WindowRange::secs(10, 60),
    source:
        "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ecs/wait.go",
};

#[derive(Default)]
pub(crate) struct DrainingModel {
    /// Keyed by `cluster/service`.
    windows: Windows,
    /// The service object DeleteService answered, per `cluster/service`.
    deleted: Mutex<HashMap<ResourceKey, Value>>,
}

fn service_key(info: &RequestInfo, cluster: &str, service: &str) -> ResourceKey {
    ecs::key(info, &format!("{cluster}/{service}"))
}

/// Shows each deleted service of `deleted` (name -> (status, object)) with its status: changes
/// the status of moto's entry, or puts the kept object back in place of a `MISSING` failure.
/// Returns whether it changed anything.
pub(crate) fn show_deleted(answer: &mut Value, deleted: &HashMap<String, (&str, Value)>) -> bool {
    if !answer.get("services").is_some_and(Value::is_array) {
        return false;
    }
    let mut changed = false;
    let mut missing = Vec::new();
    if let Some(failures) = answer.get_mut("failures").and_then(Value::as_array_mut) {
        failures.retain(|f| {
            let arn = f.get("arn").and_then(Value::as_str).unwrap_or("");
            match deleted.get(service_name(arn)) {
                Some(_) => {
                    missing.push(service_name(arn).to_string());
                    false
                }
                None => true,
            }
        });
    }
    let Some(services) = answer.get_mut("services").and_then(Value::as_array_mut) else {
        return !missing.is_empty();
    };
    for s in services.iter_mut() {
        let name = s.get("serviceName").and_then(Value::as_str).unwrap_or("");
        if let Some((status, _)) = deleted.get(name) {
            s["status"] = Value::from(*status);
            changed = true;
        }
    }
    for name in missing {
        if let Some((status, kept)) = deleted.get(name.as_str()) {
            let mut kept = kept.clone();
            kept["status"] = Value::from(*status);
            services.push(kept);
            changed = true;
        }
    }
    changed
}

const ID: ModelId = ModelId::ECS_SERVICE_DRAINING;

impl DrainingModel {
    fn draining(&self, key: &ResourceKey, settings: &ModelSettings) -> bool {
        self.windows
            .is_open(key, Instant::now(), settings.lengths(ID, &SPEC))
    }

    fn record_deletion(&self, cx: &ModelCx<'_>, req: &Value, answer: &UpstreamAnswer) {
        let Some(service) = answer
            .json()
            .and_then(|mut v| v.get_mut("service").map(Value::take))
        else {
            return;
        };
        let cluster = cluster_of(req, "cluster");
        let name = req
            .get("service")
            .and_then(Value::as_str)
            .map(service_name)
            .unwrap_or("");
        let key = service_key(cx.info, cluster, name);
        self.windows.open(key.clone(), Instant::now());
        self.lock().insert(key, service);
    }

    fn describe(
        &self,
        cx: &ModelCx<'_>,
        req: &Value,
        answer: &mut UpstreamAnswer,
    ) -> Option<InjectedFault> {
        let cluster = cluster_of(req, "cluster");
        let now = Instant::now();
        let mut shown = HashMap::new();
        let mut any_draining = false;
        let length = cx.settings.lengths(ID, &SPEC);
        {
            let kept = self.lock();
            for id in req.get("services").and_then(Value::as_array)?.iter() {
                let name = service_name(id.as_str().unwrap_or(""));
                let key = service_key(cx.info, cluster, name);
                let Some(object) = kept.get(&key) else {
                    continue;
                };
                let status = match self.windows.phase(&key, now, &length) {
                    Phase::Open => DRAINING,
                    _ => INACTIVE,
                };
                any_draining |= status == DRAINING;
                shown.insert(name.to_string(), (status, object.clone()));
            }
        }
        if shown.is_empty() {
            return None;
        }
        let mut v = answer.json()?;
        if show_deleted(&mut v, &shown) {
            answer.set_json(&v);
        }
        any_draining.then(|| model_fault(&SPEC, FaultKind::ReadLag, None))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ResourceKey, Value>> {
        self.deleted.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Model for DrainingModel {
    fn operations(&self) -> Vec<Operation> {
        vec![
            op!(ECS, "DeleteService"),
            op!(ECS, "DescribeServices"),
            op!(ECS, "DeleteCluster"),
            op!(ECS, "CreateService"),
        ]
    }

    fn wants(&self, _info: &RequestInfo, settings: &ModelSettings) -> bool {
        settings.on(ID)
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            let req = request_json(cx.body);
            let cluster = cluster_of(&req, "cluster");
            match cx.info.operation? {
                op if op == op!(ECS, "DeleteCluster") => {
                    let prefix = format!("{cluster}/");
                    let now = Instant::now();
                    let (account, region) = (
                        cx.info.account.as_deref().unwrap_or(""),
                        ecs::region(cx.info),
                    );
                    self.windows
                        .any_open(now, cx.settings.lengths(ID, &SPEC), |k| {
                            k.account == account
                                && k.region == region
                                && k.name.starts_with(&prefix)
                        })
                        .then(|| {
                            ecs::error(cx.info, &SPEC, CONTAINS_SERVICES_CODE, CONTAINS_SERVICES)
                        })
                }
                op if op == op!(ECS, "CreateService") => {
                    let name = req.get("serviceName").and_then(Value::as_str).unwrap_or("");
                    self.draining(&service_key(cx.info, cluster, name), &cx.settings)
                        .then(|| ecs::error(cx.info, &SPEC, NOT_IDEMPOTENT_CODE, NOT_IDEMPOTENT))
                }
                _ => None,
            }
        }
        .boxed()
    }

    fn after<'a>(&'a self, _cx: &'a ModelCx<'a>, _status: u16) -> BoxFuture<'a, ()> {
        async {}.boxed()
    }

    fn on_answer(&self, cx: &ModelCx<'_>, answer: &mut UpstreamAnswer) -> Option<InjectedFault> {
        if answer.status != 200 {
            return None;
        }
        let req = request_json(cx.body);
        match cx.info.operation? {
            op if op == op!(ECS, "DeleteService") => {
                self.record_deletion(cx, &req, answer);
                None
            }
            op if op == op!(ECS, "DescribeServices") => self.describe(cx, &req, answer),
            op if op == op!(ECS, "CreateService") => {
                // A namesake created after the drain is a new service: forget the old one.
                let name = req.get("serviceName").and_then(Value::as_str).unwrap_or("");
                let key = service_key(cx.info, cluster_of(&req, "cluster"), name);
                self.lock().remove(&key);
                None
            }
            _ => None,
        }
    }

    fn reset(&self) {
        self.windows.clear();
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::Drive;
    use serde_json::json;
    use std::time::Duration;

    fn web(status: &str) -> Value {
        json!({"serviceName": "web", "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/app/web", "status": status, "desiredCount": 0})
    }

    #[test]
    fn deleted_services_shown_with_their_status() {
        let deleted = HashMap::from([("web".to_string(), (DRAINING, web("ACTIVE")))]);
        // moto lists it INACTIVE: the status changes.
        let mut v = json!({"services": [web("INACTIVE"), {"serviceName": "api", "status": "ACTIVE"}], "failures": []});
        assert!(show_deleted(&mut v, &deleted));
        assert_eq!(v["services"][0]["status"], DRAINING);
        assert_eq!(v["services"][1]["status"], "ACTIVE");
        // moto dropped it: the kept object comes back in place of the failure.
        let mut v = json!({"services": [], "failures": [{"arn": "arn:aws:ecs:us-east-1:123456789012:service/app/web", "reason": "MISSING"}]});
        assert!(show_deleted(&mut v, &deleted));
        assert_eq!(v["failures"], json!([]));
        assert_eq!(v["services"][0]["status"], DRAINING);
        assert_eq!(v["services"][0]["desiredCount"], 0);
        let mut v = json!({"services": [{"serviceName": "api"}]});
        assert!(!show_deleted(&mut v, &deleted));
        assert!(!show_deleted(&mut json!({"x": 1}), &deleted));
    }

    #[tokio::test]
    async fn a_deleted_service_drains_then_is_inactive() {
        let m = DrainingModel::default();
        let mut settings = ModelSettings::fresh_account();
        settings
            .set_range(SPEC.name, WindowRange::fixed(Duration::from_millis(300)))
            .unwrap();
        let d = Drive::new(&m, settings);
        let create = json!({"cluster": "app", "serviceName": "web"});
        assert!(d.before("CreateService", create.clone()).await.is_none());
        assert!(d
            .before("DeleteCluster", json!({"cluster": "app"}))
            .await
            .is_none());
        let del = json!({"cluster": "app", "service": "web", "force": true});
        d.answered(
            "DeleteService",
            del,
            200,
            json!({"service": web("INACTIVE")}),
        )
        .await;

        let (status, body, fault) = d
            .before(
                "DeleteCluster",
                json!({"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/app"}),
            )
            .await
            .expect("DeleteCluster refused while web drains");
        assert_eq!(status, 400);
        assert_eq!(body["__type"], CONTAINS_SERVICES_CODE);
        assert_eq!(body["message"], CONTAINS_SERVICES);
        assert_eq!(
            (fault.rule.as_str(), fault.kind.as_str()),
            (SPEC.rule, "error")
        );
        assert!(d
            .before("DeleteCluster", json!({"cluster": "other"}))
            .await
            .is_none());
        let (_, body, _) = d.before("CreateService", create.clone()).await.unwrap();
        assert_eq!(body["__type"], NOT_IDEMPOTENT_CODE);
        assert_eq!(body["message"], NOT_IDEMPOTENT);
        assert!(d
            .before(
                "CreateService",
                json!({"cluster": "app", "serviceName": "api"})
            )
            .await
            .is_none());

        let describe = json!({"cluster": "app", "services": ["web"]});
        let moto = json!({"services": [web("INACTIVE")], "failures": []});
        let (v, fault) = d
            .answered("DescribeServices", describe.clone(), 200, moto.clone())
            .await;
        assert_eq!(v["services"][0]["status"], DRAINING);
        assert_eq!(fault.unwrap().kind, FaultKind::ReadLag);

        tokio::time::sleep(Duration::from_millis(350)).await;
        let (v, fault) = d
            .answered("DescribeServices", describe.clone(), 200, moto.clone())
            .await;
        assert_eq!(v["services"][0]["status"], INACTIVE);
        assert!(fault.is_none());
        assert!(d
            .before("DeleteCluster", json!({"cluster": "app"}))
            .await
            .is_none());
        assert!(d.before("CreateService", create.clone()).await.is_none());
        // The re-created service is moto's own again.
        d.answered(
            "CreateService",
            create,
            200,
            json!({"service": web("ACTIVE")}),
        )
        .await;
        let moto = json!({"services": [web("ACTIVE")], "failures": []});
        let (v, _) = d
            .answered("DescribeServices", describe, 200, moto.clone())
            .await;
        assert_eq!(v, moto);
    }
}
