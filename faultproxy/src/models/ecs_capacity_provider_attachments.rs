//! Capacity-provider attachments busy (`ecs-capacity-provider-attachments`): after a cluster's
//! capacity providers change, AWS updates the cluster's attachments for a while.
//!
//! After a successful CreateCluster with `capacityProviders`, or PutClusterCapacityProviders, of
//! cluster C: for a window DescribeClusters (with `include` `ATTACHMENTS`) shows C with
//! `attachmentsStatus` `UPDATE_IN_PROGRESS`, afterwards `UPDATE_COMPLETE` (moto reports no
//! `attachmentsStatus` at all: the model adds it, as AWS sends it); PutClusterCapacityProviders or
//! DeleteCluster of C inside the window answer `UpdateInProgressException`.

use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;

use super::ecs::{self, cluster_of, request_json};
use super::window::{Phase, WindowRange, Windows};
use super::{
    model_fault, op, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ModelSpec, UpstreamAnswer,
};
use crate::aws::{facts, Operation};
use crate::classify::RequestInfo;
use crate::journal::{FaultKind, InjectedFault};

/// ECS's error while attachments update (verbatim):
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html#API_PutClusterCapacityProviders_Errors;
/// terraform-provider-aws `internal/service/ecs/cluster_capacity_providers.go` retries it 10 min.
pub const UPDATE_IN_PROGRESS_CODE: &str = facts::UPDATE_IN_PROGRESS_EXCEPTION;
pub const UPDATE_IN_PROGRESS_MESSAGE: &str = facts::CLUSTER_BUSY_MESSAGE;
/// `Cluster.attachmentsStatus` values:
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Cluster.html
pub const UPDATE_IN_PROGRESS: &str = "UPDATE_IN_PROGRESS";
pub const UPDATE_COMPLETE: &str = "UPDATE_COMPLETE";

/// Attachments settle within seconds to half a minute (terraform-provider-aws waits for
/// `UPDATE_COMPLETE` after PutClusterCapacityProviders in `internal/service/ecs/wait.go`).
pub const SPEC: ModelSpec = ModelSpec {
    name: "ecs-capacity-provider-attachments",
    rule: "model:ecs-capacity-provider-attachments",
    window: WindowRange::secs(5, 30),
    source: "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ecs/cluster_capacity_providers.go",
};

#[derive(Default)]
pub(crate) struct AttachmentsModel {
    windows: Windows,
}

/// Does this request open a window when it succeeds?
fn opens_window(info: &RequestInfo, req: &Value) -> bool {
    match info.operation {
        Some(op) if op == op!(ECS, "PutClusterCapacityProviders") => true,
        Some(op) if op == op!(ECS, "CreateCluster") => req
            .get("capacityProviders")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty()),
        _ => false,
    }
}

const ID: ModelId = ModelId::ECS_CAPACITY_PROVIDER_ATTACHMENTS;

fn includes_attachments(req: &Value) -> bool {
    req.get("include")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("ATTACHMENTS")))
}

/// Sets `attachmentsStatus` of each described cluster from `phase`: in progress inside the
/// window, complete after it (or when it has capacity providers the proxy never saw change).
/// Returns (whether it set any, whether any was shown in progress).
pub(crate) fn set_attachments_status(
    answer: &mut Value,
    phase: impl Fn(&str) -> Phase,
) -> (bool, bool) {
    let Some(clusters) = answer.get_mut("clusters").and_then(Value::as_array_mut) else {
        return (false, false);
    };
    let (mut set, mut busy) = (false, false);
    for c in clusters {
        let name = c.get("clusterName").and_then(Value::as_str).unwrap_or("");
        let has_providers = c
            .get("capacityProviders")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let status = match phase(name) {
            Phase::Open => UPDATE_IN_PROGRESS,
            Phase::Closed => UPDATE_COMPLETE,
            Phase::Untouched if has_providers => UPDATE_COMPLETE,
            Phase::Untouched => continue,
        };
        busy |= status == UPDATE_IN_PROGRESS;
        set = true;
        c["attachmentsStatus"] = Value::from(status);
    }
    (set, busy)
}

impl Model for AttachmentsModel {
    fn operations(&self) -> Vec<Operation> {
        vec![
            op!(ECS, "CreateCluster"),
            op!(ECS, "PutClusterCapacityProviders"),
            op!(ECS, "DeleteCluster"),
            op!(ECS, "DescribeClusters"),
        ]
    }

    fn wants(&self, _info: &RequestInfo, settings: &ModelSettings) -> bool {
        settings.on(ID)
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            let op = cx.info.operation?;
            if op != op!(ECS, "PutClusterCapacityProviders") && op != op!(ECS, "DeleteCluster") {
                return None;
            }
            let req = request_json(cx.body);
            let key = ecs::key(cx.info, cluster_of(&req, "cluster"));
            let length = cx.settings.lengths(ID, &SPEC);
            self.windows.is_open(&key, Instant::now(), length).then(|| {
                ecs::error(
                    cx.info,
                    &SPEC,
                    UPDATE_IN_PROGRESS_CODE,
                    UPDATE_IN_PROGRESS_MESSAGE,
                )
            })
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            let req = request_json(cx.body);
            if status != 200 || !opens_window(cx.info, &req) {
                return;
            }
            let field = if cx.info.operation == Some(op!(ECS, "CreateCluster")) {
                "clusterName"
            } else {
                "cluster"
            };
            self.windows
                .open(ecs::key(cx.info, cluster_of(&req, field)), Instant::now());
        }
        .boxed()
    }

    fn on_answer(&self, cx: &ModelCx<'_>, answer: &mut UpstreamAnswer) -> Option<InjectedFault> {
        if answer.status != 200
            || cx.info.operation != Some(op!(ECS, "DescribeClusters"))
            || !includes_attachments(&request_json(cx.body))
        {
            return None;
        }
        let mut v = answer.json()?;
        let now = Instant::now();
        let length = cx.settings.lengths(ID, &SPEC);
        let (set, busy) = set_attachments_status(&mut v, |name| {
            self.windows.phase(&ecs::key(cx.info, name), now, &length)
        });
        if set {
            answer.set_json(&v);
        }
        busy.then(|| model_fault(&SPEC, FaultKind::ReadLag, None))
    }

    fn reset(&self) {
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::Drive;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn status_per_phase() {
        let mut v = json!({"clusters": [
            {"clusterName": "busy"},
            {"clusterName": "settled"},
            {"clusterName": "plain"},
            {"clusterName": "fargate", "capacityProviders": ["FARGATE"]}
        ]});
        let (set, busy) = set_attachments_status(&mut v, |n| match n {
            "busy" => Phase::Open,
            "settled" => Phase::Closed,
            _ => Phase::Untouched,
        });
        assert!(set && busy);
        let statuses: Vec<Option<&str>> = v["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.get("attachmentsStatus").and_then(Value::as_str))
            .collect();
        assert_eq!(
            statuses,
            [
                Some(UPDATE_IN_PROGRESS),
                Some(UPDATE_COMPLETE),
                None,
                Some(UPDATE_COMPLETE)
            ]
        );
    }

    #[tokio::test]
    async fn busy_for_a_window_after_capacity_providers_change() {
        let m = AttachmentsModel::default();
        let mut settings = ModelSettings::fresh_account();
        settings
            .set_range(SPEC.name, WindowRange::fixed(Duration::from_millis(300)))
            .unwrap();
        let d = Drive::new(&m, settings);
        // Without capacity providers CreateCluster opens no window.
        d.answered(
            "CreateCluster",
            json!({"clusterName": "plain"}),
            200,
            json!({}),
        )
        .await;
        assert!(d
            .before("DeleteCluster", json!({"cluster": "plain"}))
            .await
            .is_none());
        let create = json!({"clusterName": "app", "capacityProviders": ["FARGATE"]});
        d.answered("CreateCluster", create, 200, json!({})).await;
        for op in ["PutClusterCapacityProviders", "DeleteCluster"] {
            let (status, body, fault) = d
                .before(op, json!({"cluster": "app", "capacityProviders": []}))
                .await
                .unwrap_or_else(|| panic!("{op} is refused while busy"));
            assert_eq!(status, 400);
            assert_eq!(body["__type"], UPDATE_IN_PROGRESS_CODE);
            assert_eq!(body["message"], UPDATE_IN_PROGRESS_MESSAGE);
            assert_eq!(fault.rule, SPEC.rule);
        }
        let described =
            json!({"clusters": [{"clusterName": "app", "capacityProviders": ["FARGATE"]}]});
        let with = json!({"clusters": ["app"], "include": ["ATTACHMENTS"]});
        let (v, fault) = d
            .answered("DescribeClusters", with.clone(), 200, described.clone())
            .await;
        assert_eq!(v["clusters"][0]["attachmentsStatus"], UPDATE_IN_PROGRESS);
        assert_eq!(fault.unwrap().kind, FaultKind::ReadLag);
        // Without ATTACHMENTS the answer is moto's.
        let (v, _) = d
            .answered(
                "DescribeClusters",
                json!({"clusters": ["app"]}),
                200,
                described.clone(),
            )
            .await;
        assert_eq!(v, described);

        tokio::time::sleep(Duration::from_millis(350)).await;
        let (v, fault) = d.answered("DescribeClusters", with, 200, described).await;
        assert_eq!(v["clusters"][0]["attachmentsStatus"], UPDATE_COMPLETE);
        assert!(fault.is_none());
        assert!(d
            .before("DeleteCluster", json!({"cluster": "app"}))
            .await
            .is_none());
        // A successful PutClusterCapacityProviders makes it busy again.
        d.answered(
            "PutClusterCapacityProviders",
            json!({"cluster": "app"}),
            200,
            json!({}),
        )
        .await;
        assert!(d
            .before("DeleteCluster", json!({"cluster": "app"}))
            .await
            .is_some());
    }
}
