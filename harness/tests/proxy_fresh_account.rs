//! The fresh-account ECS models against a real moto, driven over raw HTTP: cluster
//! read-after-create, capacity-provider attachments busy, service draining, and the
//! service-linked role's drawn delay — each answer's code, message and status exactly as AWS
//! sends it, and each journaled under the model's name.

mod proxy_support;

use std::time::Duration;

use faultproxy::models::ecs_capacity_provider_attachments as attachments;
use faultproxy::models::ecs_cluster_not_found as not_found;
use faultproxy::models::ecs_service_draining as draining;
use faultproxy::models::service_linked_role::UNABLE_TO_ASSUME;
use faultproxy::models::WindowRange;
use faultproxy::{ModelSettings, ProxyHandle};
use proxy_support::*;
use serde_json::{json, Value};

/// One ECS call through the proxy: status and JSON body.
async fn ecs(proxy: &ProxyHandle, account: &str, op: &str, body: Value) -> (u16, Value) {
    let target = format!("AmazonEC2ContainerServiceV20141113.{op}");
    let auth = auth(account, REGION, "ecs");
    let (status, text) = raw(
        proxy.addr(),
        "POST",
        "/",
        &[
            ("X-Amz-Target", &target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", &auth),
        ],
        body.to_string().as_bytes(),
    )
    .await;
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{op}: not JSON ({e}): {text}"));
    (status, v)
}

/// Asserts an ECS error answer: HTTP 400, `__type` and `message`.
fn assert_ecs_error(answer: &(u16, Value), code: &str, message: &str) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(answer.1["__type"], code, "{}", answer.1);
    assert_eq!(answer.1["message"], message, "{}", answer.1);
}

/// Only `model` on, with a fixed window of `window`.
async fn proxy_with_model(model: &str, window: Duration) -> ProxyHandle {
    let proxy = proxy_with(&[]).await;
    let mut s = ModelSettings::default();
    s.set_enabled(model, true).unwrap();
    s.set_range(model, WindowRange::fixed(window)).unwrap();
    proxy.set_model_settings(s);
    proxy
}

/// `(operation, kind)` of every journaled answer of `rule` for `account`.
fn model_answers(proxy: &ProxyHandle, account: &str, rule: &str) -> Vec<(String, String)> {
    proxy
        .journal_for(account)
        .into_iter()
        .filter_map(|e| {
            let f = e.fault?;
            (f.rule == rule).then(|| (e.operation.unwrap_or_default(), f.kind.to_string()))
        })
        .collect()
}

async fn register_task_definition(proxy: &ProxyHandle, account: &str) {
    let td = json!({"family": "app", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]});
    let (status, body) = ecs(proxy, account, "RegisterTaskDefinition", td).await;
    assert_eq!(status, 200, "{body}");
}

fn service(cluster: &str) -> Value {
    json!({"cluster": cluster, "serviceName": "web", "taskDefinition": "app", "desiredCount": 0})
}

#[tokio::test]
async fn a_new_cluster_is_not_found_for_a_window() {
    let window = Duration::from_millis(800);
    let proxy = proxy_with_model(not_found::SPEC.name, window).await;
    let account = fresh_account();
    register_task_definition(&proxy, &account).await;
    let (status, _) = ecs(
        &proxy,
        &account,
        "CreateCluster",
        json!({"clusterName": "app"}),
    )
    .await;
    assert_eq!(status, 200);

    let create = ecs(&proxy, &account, "CreateService", service("app")).await;
    assert_ecs_error(
        &create,
        not_found::CLUSTER_NOT_FOUND_CODE,
        not_found::CLUSTER_NOT_FOUND,
    );
    let put = json!({"cluster": "app", "capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": []});
    let put_answer = ecs(&proxy, &account, "PutClusterCapacityProviders", put).await;
    assert_ecs_error(
        &put_answer,
        not_found::CLUSTER_NOT_FOUND_CODE,
        not_found::CLUSTER_NOT_FOUND,
    );
    let (status, described) = ecs(
        &proxy,
        &account,
        "DescribeClusters",
        json!({"clusters": ["app"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(described["clusters"], json!([]), "{described}");
    assert_eq!(
        described["failures"],
        json!([{"arn": format!("arn:aws:ecs:{REGION}:{account}:cluster/app"), "reason": not_found::MISSING}])
    );

    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let (status, described) = ecs(
        &proxy,
        &account,
        "DescribeClusters",
        json!({"clusters": ["app"]}),
    )
    .await;
    assert_eq!(
        (status, described["clusters"][0]["clusterName"].as_str()),
        (200, Some("app"))
    );
    let (status, body) = ecs(&proxy, &account, "CreateService", service("app")).await;
    assert_eq!(status, 200, "the window is over: {body}");
    let rows = model_answers(&proxy, &account, not_found::SPEC.rule);
    let expect = [
        ("CreateService", "error"),
        ("PutClusterCapacityProviders", "error"),
        ("DescribeClusters", "read-lag"),
    ];
    assert_eq!(rows, expect.map(|(o, k)| (o.to_string(), k.to_string())));
}

#[tokio::test]
async fn capacity_provider_attachments_are_busy_then_complete() {
    let window = Duration::from_millis(800);
    let proxy = proxy_with_model(attachments::SPEC.name, window).await;
    let account = fresh_account();
    let create = json!({"clusterName": "app", "capacityProviders": ["FARGATE"],
        "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]});
    let (status, _) = ecs(&proxy, &account, "CreateCluster", create).await;
    assert_eq!(status, 200);
    let describe = json!({"clusters": ["app"], "include": ["ATTACHMENTS"]});
    let (_, d) = ecs(&proxy, &account, "DescribeClusters", describe.clone()).await;
    assert_eq!(
        d["clusters"][0]["attachmentsStatus"],
        attachments::UPDATE_IN_PROGRESS,
        "{d}"
    );
    let busy = ecs(&proxy, &account, "DeleteCluster", json!({"cluster": "app"})).await;
    assert_ecs_error(
        &busy,
        attachments::UPDATE_IN_PROGRESS_CODE,
        attachments::UPDATE_IN_PROGRESS_MESSAGE,
    );
    let put = json!({"cluster": "app", "capacityProviders": ["FARGATE_SPOT"], "defaultCapacityProviderStrategy": []});
    let busy = ecs(&proxy, &account, "PutClusterCapacityProviders", put).await;
    assert_ecs_error(
        &busy,
        attachments::UPDATE_IN_PROGRESS_CODE,
        attachments::UPDATE_IN_PROGRESS_MESSAGE,
    );

    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let (_, d) = ecs(&proxy, &account, "DescribeClusters", describe).await;
    assert_eq!(
        d["clusters"][0]["attachmentsStatus"],
        attachments::UPDATE_COMPLETE,
        "{d}"
    );
    let (status, body) = ecs(&proxy, &account, "DeleteCluster", json!({"cluster": "app"})).await;
    assert_eq!(status, 200, "{body}");
    let kinds: Vec<String> = model_answers(&proxy, &account, attachments::SPEC.rule)
        .into_iter()
        .map(|(op, kind)| format!("{op} {kind}"))
        .collect();
    assert_eq!(
        kinds,
        [
            "DescribeClusters read-lag",
            "DeleteCluster error",
            "PutClusterCapacityProviders error"
        ]
    );
}

#[tokio::test]
async fn a_deleted_service_drains_before_its_cluster_can_go_or_its_name_return() {
    let window = Duration::from_millis(800);
    let proxy = proxy_with_model(draining::SPEC.name, window).await;
    let account = fresh_account();
    register_task_definition(&proxy, &account).await;
    ecs(
        &proxy,
        &account,
        "CreateCluster",
        json!({"clusterName": "app"}),
    )
    .await;
    let (status, _) = ecs(&proxy, &account, "CreateService", service("app")).await;
    assert_eq!(status, 200);
    let delete = json!({"cluster": "app", "service": "web", "force": true});
    let (status, deleted) = ecs(&proxy, &account, "DeleteService", delete).await;
    assert_eq!(status, 200, "{deleted}");

    let describe = json!({"cluster": "app", "services": ["web"]});
    let (_, d) = ecs(&proxy, &account, "DescribeServices", describe.clone()).await;
    assert_eq!(d["services"][0]["status"], draining::DRAINING, "{d}");
    assert_eq!(
        d["services"][0]["serviceArn"],
        deleted["service"]["serviceArn"]
    );
    let refused = ecs(&proxy, &account, "DeleteCluster", json!({"cluster": "app"})).await;
    assert_ecs_error(
        &refused,
        draining::CONTAINS_SERVICES_CODE,
        draining::CONTAINS_SERVICES,
    );
    let again = ecs(&proxy, &account, "CreateService", service("app")).await;
    assert_ecs_error(
        &again,
        draining::NOT_IDEMPOTENT_CODE,
        draining::NOT_IDEMPOTENT,
    );

    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let (_, d) = ecs(&proxy, &account, "DescribeServices", describe.clone()).await;
    assert_eq!(d["services"][0]["status"], draining::INACTIVE, "{d}");
    let (status, body) = ecs(&proxy, &account, "CreateService", service("app")).await;
    assert_eq!(status, 200, "re-create after the drain: {body}");
    let (_, d) = ecs(&proxy, &account, "DescribeServices", describe).await;
    assert_eq!(
        d["services"][0]["status"], "ACTIVE",
        "the new service is moto's: {d}"
    );
    let ops: Vec<String> = model_answers(&proxy, &account, draining::SPEC.rule)
        .into_iter()
        .map(|(op, kind)| format!("{op} {kind}"))
        .collect();
    assert_eq!(
        ops,
        [
            "DescribeServices read-lag",
            "DeleteCluster error",
            "CreateService error"
        ]
    );
}

#[tokio::test]
async fn fresh_account_draws_the_service_linked_role_delay_and_scales_it() {
    let proxy = proxy_with(&[]).await;
    let mut s = ModelSettings::fresh_account();
    // 2-20 s at 0.1: 0.2-2 s.
    s.set_time_scale(0.1).unwrap();
    s.seed = 7;
    proxy.set_model_settings(s);
    let account = fresh_account();
    register_task_definition(&proxy, &account).await;
    let (status, _) = ecs(
        &proxy,
        &account,
        "CreateCluster",
        json!({"clusterName": "app"}),
    )
    .await;
    assert_eq!(status, 200);
    // The service-linked role's model comes first: its error wins over the cluster's.
    let first = ecs(&proxy, &account, "CreateService", service("app")).await;
    assert_ecs_error(&first, "InvalidParameterException", UNABLE_TO_ASSUME);
    // The role's window is over within 2 s (20 s scaled), the cluster's within 1 s.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = ecs(&proxy, &account, "CreateService", service("app")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !model_answers(&proxy, &account, "model:slr-delay").is_empty(),
        "{:?}",
        summaries(&proxy, &account)
    );
}

#[tokio::test]
async fn the_fresh_account_profile_is_a_preset_of_the_cli_and_the_control_api() {
    let proxy = proxy_with(&["fresh-account", "time-scale=0.05", "seed=5"]).await;
    let all: Vec<&str> = faultproxy::models::all_specs().map(|s| s.name).collect();
    let s = proxy.model_settings();
    assert_eq!(s.enabled_names(), all);
    assert_eq!((s.time_scale(), s.seed), (0.05, 5));

    // Over the control API: a per-model switch, then bad input named with the allowed values.
    let post = |body: &'static str| {
        raw(
            proxy.addr(),
            "POST",
            "/_harness/presets",
            &[],
            body.as_bytes(),
        )
    };
    let (status, view) = post("model=ecs-service-draining:off").await;
    assert_eq!(status, 200, "{view}");
    let view: Value = serde_json::from_str(&view).unwrap();
    let on = view["models"]["models"].as_array().unwrap();
    assert!(!on.contains(&json!("ecs-service-draining")), "{view}");
    assert_eq!(view["models"]["time_scale"], 0.05);
    let (status, body) = post("time-scale=0").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("greater than 0"), "{body}");
    let (status, body) = post("model=chaos-monkey:on").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("unknown model") && body.contains("ecs-cluster-not-found"),
        "{body}"
    );

    // Reset restores the start-up profile.
    proxy.reset();
    assert_eq!(proxy.model_settings().enabled_names(), all);
}
