//! LocalStack's Chaos API on the proxy's port, replaying the examples of LocalStack's docs
//! (<https://docs.localstack.cloud/aws/capabilities/chaos-engineering/chaos-api/>): the
//! S3/Lambda outage, `[]` and `[{}]`, the Kinesis `PutRecord` rule with a probability added by
//! PATCH, DELETE of exactly matching rules, the latency effect; plus an ECS rule by operation and
//! region (the first-apply failure, set the LocalStack way). A tiny local upstream stands in for
//! the emulator.

mod support;

use std::net::SocketAddr;

use faultproxy::{ProxyConfig, ProxyHandle, UpstreamFlavor};
use serde_json::{json, Value};
use support::*;

const ACCOUNT: &str = "123456789012";
const FAULTS: &str = "/_localstack/chaos/faults";
const EFFECTS: &str = "/_localstack/chaos/effects";

async fn proxy() -> ProxyHandle {
    let upstream = instant_upstream().await;
    let cfg = ProxyConfig::new(
        format!("http://{upstream}").parse().unwrap(),
        UpstreamFlavor::Other,
    );
    faultproxy::start(cfg.with_seed(7)).await.unwrap()
}

async fn chaos(addr: SocketAddr, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let (s, text) = raw(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        &body,
    )
    .await;
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An awsJson call (`X-Amz-Target: {prefix}.{operation}`) of `service` in `region`.
async fn json_call(
    addr: SocketAddr,
    service: &str,
    prefix: &str,
    operation: &str,
    region: &str,
) -> (u16, Value) {
    let headers = vec![
        ("Content-Type", "application/x-amz-json-1.1".to_string()),
        ("X-Amz-Target", format!("{prefix}.{operation}")),
        ("Authorization", authorization(ACCOUNT, region, service)),
    ];
    let (s, text) = call(addr, "POST", "/", &headers, b"{}").await;
    (s, serde_json::from_str(&text).unwrap())
}

async fn ecs(addr: SocketAddr, operation: &str, region: &str) -> (u16, Value) {
    json_call(
        addr,
        "ecs",
        "AmazonEC2ContainerServiceV20141113",
        operation,
        region,
    )
    .await
}

async fn lambda_list_functions(addr: SocketAddr, region: &str) -> u16 {
    let headers = vec![("Authorization", authorization(ACCOUNT, region, "lambda"))];
    call(addr, "GET", "/2015-03-31/functions/", &headers, b"")
        .await
        .0
}

fn assert_simulated_fault(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["__type"], code);
    assert_eq!(
        answer.1["message"], "Operation failed due to a simulated fault",
        "LocalStack's message"
    );
}

#[tokio::test]
async fn docs_outage_example_then_off_then_everything() {
    let p = proxy().await;
    let addr = p.addr();
    let outage = json!([
        {"service": "s3", "region": "us-east-1"},
        {"service": "s3", "region": "ap-south-1"},
        {"service": "lambda"}
    ]);
    assert_eq!(
        chaos(addr, "POST", FAULTS, outage.clone()).await,
        (200, outage.clone())
    );
    assert_eq!(chaos(addr, "GET", FAULTS, Value::Null).await, (200, outage));
    assert_eq!(lambda_list_functions(addr, "eu-central-1").await, 503);
    assert_eq!(ecs(addr, "ListClusters", "us-east-1").await.0, 200);

    // `[]` turns faults off.
    assert_eq!(
        chaos(addr, "POST", FAULTS, json!([])).await,
        (200, json!([]))
    );
    assert_eq!(lambda_list_functions(addr, "eu-central-1").await, 200);

    // `[{}]` faults every call, with the defaults 503 ServiceUnavailable.
    assert_eq!(
        chaos(addr, "POST", FAULTS, json!([{}])).await,
        (200, json!([{}]))
    );
    let answer = ecs(addr, "ListClusters", "eu-west-1").await;
    assert_simulated_fault(&answer, 503, "ServiceUnavailable");
    assert_eq!(lambda_list_functions(addr, "us-west-2").await, 503);
    let journal = p.journal();
    let last = journal.last().unwrap();
    assert_eq!(last.fault.as_ref().unwrap().rule, "localstack-chaos:{}");
}

#[tokio::test]
async fn kinesis_rule_with_a_probability_added_by_patch() {
    let p = proxy().await;
    let addr = p.addr();
    let base = json!([{"service": "lambda"}]);
    chaos(addr, "POST", FAULTS, base).await;
    // The docs' PATCH example.
    let kinesis = json!({
        "service": "kinesis",
        "operation": "PutRecord",
        "probability": 0.3,
        "error": {"statusCode": 400, "code": "ProvisionedThroughputExceededException"}
    });
    let (s, now) = chaos(addr, "PATCH", FAULTS, json!([kinesis.clone()])).await;
    assert_eq!((s, now), (200, json!([{"service": "lambda"}, kinesis])));
    let mut failed = 0;
    for _ in 0..200 {
        let answer = json_call(
            addr,
            "kinesis",
            "Kinesis_20131202",
            "PutRecord",
            "us-east-1",
        )
        .await;
        if answer.0 == 200 {
            continue;
        }
        assert_simulated_fault(&answer, 400, "ProvisionedThroughputExceededException");
        failed += 1;
    }
    assert!(
        (30..=90).contains(&failed),
        "about 30% of 200, got {failed}"
    );
    // Other Kinesis operations are not affected.
    let other = json_call(
        addr,
        "kinesis",
        "Kinesis_20131202",
        "ListStreams",
        "us-east-1",
    )
    .await;
    assert_eq!(other.0, 200);
}

#[tokio::test]
async fn ecs_rule_by_operation_and_region() {
    let p = proxy().await;
    let addr = p.addr();
    let rule = json!([{
        "service": "ecs",
        "operation": "CreateService",
        "region": "ap-northeast-1",
        "error": {"statusCode": 400, "code": "InvalidParameterException"}
    }]);
    assert_eq!(chaos(addr, "POST", FAULTS, rule.clone()).await, (200, rule));
    let hit = ecs(addr, "CreateService", "ap-northeast-1").await;
    assert_simulated_fault(&hit, 400, "InvalidParameterException");
    assert_eq!(
        ecs(addr, "CreateService", "us-east-1").await.0,
        200,
        "other region"
    );
    assert_eq!(
        ecs(addr, "CreateCluster", "ap-northeast-1").await.0,
        200,
        "other operation"
    );
    // The rule is one of the proxy's rules, visible on its own control API too.
    let (s, body) = raw(addr, "GET", "/_harness/faults", &[], b"").await;
    assert_eq!(s, 200);
    assert!(body.contains("localstack-chaos:"), "{body}");
}

#[tokio::test]
async fn delete_removes_exactly_matching_rules_and_bad_input_changes_nothing() {
    let p = proxy().await;
    let addr = p.addr();
    let config = json!([
        {"service": "lambda"},
        {"service": "lambda", "region": "us-east-1"},
        {"service": "kms", "region": "us-east-2", "description": "kept"},
        {"service": "lambda"}
    ]);
    chaos(addr, "POST", FAULTS, config).await;
    let (s, now) = chaos(addr, "DELETE", FAULTS, json!([{"service": "lambda"}])).await;
    let kept = json!([
        {"service": "lambda", "region": "us-east-1"},
        {"service": "kms", "region": "us-east-2", "description": "kept"}
    ]);
    assert_eq!((s, now), (200, kept.clone()));
    assert_eq!(lambda_list_functions(addr, "eu-west-1").await, 200);
    assert_eq!(lambda_list_functions(addr, "us-east-1").await, 503);

    for bad in [
        json!([{"service": "sns", "invalid-key": "x"}]),
        json!([{"region": "us*"}]),
        json!([{"probability": 1.1}]),
        json!([{"error": {"statusCode": 300}}]),
        json!({"service": "ecs"}),
    ] {
        for method in ["POST", "PATCH", "DELETE"] {
            let (s, answer) = chaos(addr, method, FAULTS, bad.clone()).await;
            assert_eq!(s, 400, "{method} {bad}: {answer}");
            let message = answer["message"].as_str().unwrap();
            assert!(
                message.starts_with("Error validating JSON schema: "),
                "{message}"
            );
        }
    }
    assert_eq!(chaos(addr, "GET", FAULTS, Value::Null).await, (200, kept));
}

#[tokio::test]
async fn latency_effect() {
    let p = proxy().await;
    let addr = p.addr();
    assert_eq!(
        chaos(addr, "GET", EFFECTS, Value::Null).await,
        (200, json!({"latency": 0}))
    );
    let set = chaos(addr, "POST", EFFECTS, json!({"latency": 50})).await;
    assert_eq!(set, (200, json!({"latency": 50})));
    assert_eq!(
        chaos(addr, "GET", EFFECTS, Value::Null).await,
        (200, json!({"latency": 50}))
    );
    assert_eq!(ecs(addr, "ListClusters", "us-east-1").await.0, 200);
    let e = p.journal().pop().unwrap();
    let fault = e.fault.unwrap();
    assert_eq!(
        (fault.rule.as_str(), fault.kind),
        (
            "localstack-chaos-effects:latency",
            faultproxy::FaultKind::Latency
        )
    );
    assert_eq!(e.status, Some(200));
    // Faults and effects are independent: replacing the faults keeps the latency.
    chaos(addr, "POST", FAULTS, json!([])).await;
    assert_eq!(
        chaos(addr, "GET", EFFECTS, Value::Null).await.1,
        json!({"latency": 50})
    );
    let (s, answer) = chaos(addr, "POST", EFFECTS, json!({"latency": "slow"})).await;
    assert_eq!(s, 400, "{answer}");
    assert_eq!(
        chaos(addr, "POST", EFFECTS, json!({"latency": 0})).await.1,
        json!({"latency": 0})
    );
    assert!(p.rules().is_empty(), "latency 0 removes the effect");
}
