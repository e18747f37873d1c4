//! Cluster read-after-create (`ecs-cluster-not-found`): a cluster AWS just created is not yet
//! known to the rest of ECS.
//!
//! For a window after a successful CreateCluster of cluster C, CreateService and
//! PutClusterCapacityProviders naming C answer `ClusterNotFoundException` "Cluster not found."
//! (HTTP 400), and DescribeClusters reports C under `failures` with reason `MISSING` instead of
//! under `clusters`. moto knows the cluster at once.

use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;

use super::ecs::{self, cluster_of, request_json};
use super::window::{WindowRange, Windows};
use super::{
    model_fault, op, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ModelSpec, UpstreamAnswer,
};
use crate::aws::{facts, Operation};
use crate::classify::RequestInfo;
use crate::journal::{FaultKind, InjectedFault};

/// ECS's error for a cluster it does not know (verbatim, `__type` `ClusterNotFoundException`):
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html#API_CreateService_Errors;
/// terraform-provider-aws `internal/service/ecs/service.go` (`retryServiceCreate` retries it).
pub const CLUSTER_NOT_FOUND_CODE: &str = facts::CLUSTER_NOT_FOUND_EXCEPTION;
pub const CLUSTER_NOT_FOUND: &str = facts::CLUSTER_NOT_FOUND_MESSAGE;
/// DescribeClusters' failure reason for an unknown cluster:
/// https://docs.aws.amazon.com/AmazonECS/latest/userguide/api_failures_messages.html
pub const MISSING: &str = "MISSING";

/// A new cluster is unknown to CreateService for about a second, sometimes several:
/// terraform-provider-aws#11701 (ECS eventual consistency after CreateCluster) and the ECS API's
/// eventual consistency note (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html).
pub const SPEC: ModelSpec = ModelSpec {
    name: "ecs-cluster-not-found",
    rule: "model:ecs-cluster-not-found",
    window: WindowRange::secs(1, 10),
    source: "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ecs/service.go",
};

#[derive(Default)]
pub(crate) struct ClusterNotFoundModel {
    windows: Windows,
}

/// Moves the clusters `hidden` says are not yet visible from `clusters` to `failures` as
/// `MISSING` (with the ARN as AWS builds it); returns whether it moved any.
pub(crate) fn hide_clusters(
    answer: &mut Value,
    hidden: impl Fn(&str) -> bool,
    arn: impl Fn(&str) -> String,
) -> bool {
    let Some(clusters) = answer.get_mut("clusters").and_then(Value::as_array_mut) else {
        return false;
    };
    let mut moved = Vec::new();
    clusters.retain(|c| {
        let name = c.get("clusterName").and_then(Value::as_str).unwrap_or("");
        let hide = hidden(name);
        if hide {
            moved.push(serde_json::json!({ "arn": arn(name), "reason": MISSING }));
        }
        !hide
    });
    if moved.is_empty() {
        return false;
    }
    match answer.get_mut("failures").and_then(Value::as_array_mut) {
        Some(failures) => failures.extend(moved),
        None => answer["failures"] = Value::Array(moved),
    }
    true
}

const ID: ModelId = ModelId::ECS_CLUSTER_NOT_FOUND;

impl Model for ClusterNotFoundModel {
    fn operations(&self) -> Vec<Operation> {
        vec![
            op!(ECS, "CreateCluster"),
            op!(ECS, "CreateService"),
            op!(ECS, "PutClusterCapacityProviders"),
            op!(ECS, "DescribeClusters"),
        ]
    }

    fn wants(&self, _info: &RequestInfo, settings: &ModelSettings) -> bool {
        settings.on(ID)
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            let op = cx.info.operation?;
            if op != op!(ECS, "CreateService") && op != op!(ECS, "PutClusterCapacityProviders") {
                return None;
            }
            let req = request_json(cx.body);
            let key = ecs::key(cx.info, cluster_of(&req, "cluster"));
            self.windows
                .is_open(&key, Instant::now(), cx.settings.lengths(ID, &SPEC))
                .then(|| ecs::error(cx.info, &SPEC, CLUSTER_NOT_FOUND_CODE, CLUSTER_NOT_FOUND))
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            if status != 200 || cx.info.operation != Some(op!(ECS, "CreateCluster")) {
                return;
            }
            let req = request_json(cx.body);
            let cluster = cluster_of(&req, "clusterName");
            self.windows
                .open(ecs::key(cx.info, cluster), Instant::now());
        }
        .boxed()
    }

    fn on_answer(&self, cx: &ModelCx<'_>, answer: &mut UpstreamAnswer) -> Option<InjectedFault> {
        if answer.status != 200 || cx.info.operation != Some(op!(ECS, "DescribeClusters")) {
            return None;
        }
        let mut v = answer.json()?;
        let now = Instant::now();
        let length = cx.settings.lengths(ID, &SPEC);
        let hidden = |name: &str| self.windows.is_open(&ecs::key(cx.info, name), now, &length);
        if !hide_clusters(&mut v, hidden, |name| ecs::cluster_arn(cx.info, name)) {
            return None;
        }
        answer.set_json(&v);
        Some(model_fault(&SPEC, FaultKind::ReadLag, None))
    }

    fn reset(&self) {
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hidden_clusters_move_to_failures_as_missing() {
        let mut v = json!({
            "clusters": [{"clusterName": "new"}, {"clusterName": "old"}],
            "failures": [{"arn": "arn:aws:ecs:r:1:cluster/gone", "reason": "MISSING"}]
        });
        let moved = hide_clusters(
            &mut v,
            |n| n == "new",
            |n| format!("arn:aws:ecs:r:1:cluster/{n}"),
        );
        assert!(moved);
        assert_eq!(v["clusters"], json!([{"clusterName": "old"}]));
        assert_eq!(
            v["failures"],
            json!([
                {"arn": "arn:aws:ecs:r:1:cluster/gone", "reason": "MISSING"},
                {"arn": "arn:aws:ecs:r:1:cluster/new", "reason": "MISSING"}
            ])
        );
        let mut v = json!({"clusters": [{"clusterName": "new"}]});
        assert!(hide_clusters(&mut v, |_| true, |n| n.to_string()));
        assert_eq!(v["failures"], json!([{"arn": "new", "reason": "MISSING"}]));
        let mut v = json!({"clusters": [{"clusterName": "old"}]});
        assert!(!hide_clusters(&mut v, |_| false, |n| n.to_string()));
        assert!(v.get("failures").is_none());
        assert!(!hide_clusters(
            &mut json!({"x": 1}),
            |_| true,
            |n| n.to_string()
        ));
    }

    #[tokio::test]
    async fn create_service_fails_and_describe_reports_missing_inside_the_window_only() {
        use crate::models::test_support::Drive;
        let m = ClusterNotFoundModel::default();
        let mut settings = ModelSettings::fresh_account();
        settings
            .set_range(
                SPEC.name,
                WindowRange::fixed(std::time::Duration::from_millis(300)),
            )
            .unwrap();
        let d = Drive::new(&m, settings);
        let create = json!({"cluster": "app", "serviceName": "web"});
        assert!(
            d.before("CreateService", create.clone()).await.is_none(),
            "no window before CreateCluster"
        );
        // A failed CreateCluster opens no window.
        d.answered(
            "CreateCluster",
            json!({"clusterName": "app"}),
            400,
            json!({}),
        )
        .await;
        assert!(d.before("CreateService", create.clone()).await.is_none());
        d.answered(
            "CreateCluster",
            json!({"clusterName": "app"}),
            200,
            json!({}),
        )
        .await;

        let (status, body, fault) = d.before("CreateService", create.clone()).await.unwrap();
        assert_eq!(status, 400);
        assert_eq!(body["__type"], CLUSTER_NOT_FOUND_CODE);
        assert_eq!(body["message"], CLUSTER_NOT_FOUND);
        assert_eq!(
            (fault.rule.as_str(), fault.kind.as_str()),
            ("model:ecs-cluster-not-found", "error")
        );
        let by_arn = json!({"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/app", "capacityProviders": []});
        let (_, body, _) = d
            .before("PutClusterCapacityProviders", by_arn)
            .await
            .unwrap();
        assert_eq!(body["__type"], CLUSTER_NOT_FOUND_CODE);
        assert!(
            d.before("CreateService", json!({"cluster": "other"}))
                .await
                .is_none(),
            "per cluster"
        );

        let described =
            json!({"clusters": [{"clusterName": "app", "status": "ACTIVE"}], "failures": []});
        let (v, fault) = d
            .answered(
                "DescribeClusters",
                json!({"clusters": ["app"]}),
                200,
                described.clone(),
            )
            .await;
        assert_eq!(v["clusters"], json!([]));
        assert_eq!(
            v["failures"],
            json!([{"arn": "arn:aws:ecs:us-east-1:123456789012:cluster/app", "reason": "MISSING"}])
        );
        assert_eq!(fault.unwrap().kind, FaultKind::ReadLag);

        tokio::time::sleep(std::time::Duration::from_millis(350)).await;
        assert!(
            d.before("CreateService", create).await.is_none(),
            "window over"
        );
        let (v, fault) = d
            .answered(
                "DescribeClusters",
                json!({"clusters": ["app"]}),
                200,
                described.clone(),
            )
            .await;
        assert_eq!(v, described);
        assert!(fault.is_none());
    }

    #[test]
    fn wants_only_its_operations_when_on() {
        let m = ClusterNotFoundModel::default();
        let info = |op: &str| RequestInfo {
            ..RequestInfo::call("ecs", op)
        };
        let off = ModelSettings::default();
        let on = ModelSettings::fresh_account();
        assert!(!m.wants(&info("CreateService"), &off));
        assert!(m.wants(&info("CreateService"), &on));
        let watched = |op: &str| m.operations().contains(&info(op).operation.unwrap());
        assert!(watched("DescribeClusters") && watched("CreateService"));
        assert!(!watched("ListClusters"));
    }
}
