//! LocalStack in a container (`HARNESS_BACKEND=localstack`), for real: lifecycle, and the IAM
//! and CloudWatch Logs calls the scenarios make, through the fault proxy, in fresh accounts.
//!
//! Without `LOCALSTACK_AUTH_TOKEN` this is LocalStack's free edition, which serves no ECS or
//! ECR: the endpoint says so (`serves_ecs == false`, read from LocalStack's own health
//! document), an ECS call answers HTTP 501 naming the licence, and ECS tests skip loudly with
//! that reason (or fail with `HARNESS_REQUIRE_ECS=1`), never a silent pass.
//!
//! Needs a Docker engine and a LocalStack image (`localstack/localstack:4.13`, or the locally
//! built `harness-localstack:4.13.1` from `scripts/build-images.sh localstack`;
//! `HARNESS_LOCALSTACK_IMAGE` overrides). Without them: loud skip, or a failure with
//! `HARNESS_REQUIRE_DOCKER=1`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use harness::emulator::container::{DockerApi, REMOVE_TIMEOUT};
use harness::emulator::localstack_container::{self, LocalStackContainer};
use harness::emulator::{readiness, Backend, Emulator, EmulatorError};
use harness::env::{skip_or_fail, TestEnv};

async fn start_or_skip() -> Option<LocalStackContainer> {
    match LocalStackContainer::start().await {
        Ok(l) => Some(l),
        Err(e @ EmulatorError::Unavailable { .. }) => {
            skip_or_fail(e);
            None
        }
        Err(e) => panic!("LocalStack container failed to start: {e}"),
    }
}

fn has_token() -> bool {
    std::env::var(localstack_container::TOKEN_ENV).is_ok_and(|t| !t.trim().is_empty())
}

/// One awsJson1_1 call with a SigV4-shaped Authorization header naming `account` (LocalStack
/// takes the account from the access key id and does not verify signatures).
async fn json_call(
    endpoint: &str,
    account: &str,
    service: &str,
    target: &str,
    body: &str,
) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={account}/20260101/ap-northeast-1/{service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000"
    );
    let request = http::Request::post(endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .header("x-amz-date", "20260101T000000Z")
        .header("authorization", auth)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.expect("HTTP call");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn localstack_lifecycle_iam_and_logs() {
    let Some(localstack) = start_or_skip().await else {
        return;
    };
    let id = localstack.container().id().to_string();
    eprintln!("{}", localstack.describe());
    assert_eq!(localstack.backend(), Backend::LocalStack);
    let endpoint = localstack.endpoint().clone();
    assert_eq!(endpoint.url.host_str(), Some("127.0.0.1"));
    assert_ne!(endpoint.url.port(), Some(localstack_container::PORT));
    let (status, health) = readiness::get_text_within(
        &format!("{}/_localstack/health", endpoint.base_url()),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(
        health.contains("\"iam\"") && health.contains("\"logs\""),
        "{health}"
    );
    if !has_token() {
        assert!(
            !endpoint.serves_ecs,
            "the free edition serves no ECS: {health}"
        );
        assert_eq!(
            localstack.no_ecs_reason(),
            Some(localstack_container::NO_ECS_REASON)
        );
    }

    let emulator: Arc<dyn Emulator> = Arc::new(localstack);
    let a = TestEnv::on(emulator.clone(), &[])
        .await
        .expect("proxy in front of LocalStack");
    let b = TestEnv::on(emulator.clone(), &[])
        .await
        .expect("second proxy");

    // IAM: the roles the provisioner creates, per account.
    let iam_a = aws_sdk_iam::Client::new(&a.sdk_config());
    let iam_b = aws_sdk_iam::Client::new(&b.sdk_config());
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam_a
        .create_role()
        .role_name("my-project-dev-ecs-task-execution")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("CreateRole on LocalStack");
    let arn = role.role().unwrap().arn().to_string();
    assert!(
        arn.starts_with(&format!("arn:aws:iam::{}:role/", a.account_id)),
        "{arn}"
    );
    iam_a
        .attach_role_policy()
        .role_name("my-project-dev-ecs-task-execution")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
        .send()
        .await
        .expect("AttachRolePolicy");
    let err = iam_b
        .get_role()
        .role_name("my-project-dev-ecs-task-execution")
        .send()
        .await
        .expect_err("account B must not see account A's role");
    assert!(format!("{err:?}").contains("NoSuchEntity"), "{err:?}");

    // The ECS service-linked role: LocalStack's IAM names it correctly and refuses a duplicate.
    let slr = iam_a
        .create_service_linked_role()
        .aws_service_name("ecs.amazonaws.com")
        .send()
        .await
        .expect("CreateServiceLinkedRole");
    assert_eq!(slr.role().unwrap().role_name(), "AWSServiceRoleForECS");
    let dup = iam_a
        .create_service_linked_role()
        .aws_service_name("ecs.amazonaws.com")
        .send()
        .await
        .expect_err("second CreateServiceLinkedRole");
    assert!(format!("{dup:?}").contains("InvalidInput"), "{dup:?}");

    // CloudWatch Logs through the proxy: create, set retention, describe; other account empty.
    let proxy = a.endpoint_url();
    let (status, body) = json_call(
        &proxy,
        &a.account_id,
        "logs",
        "Logs_20140328.CreateLogGroup",
        r#"{"logGroupName":"/ecs/my-project-dev"}"#,
    )
    .await;
    assert_eq!(status, 200, "CreateLogGroup: {body}");
    let (status, body) = json_call(
        &proxy,
        &a.account_id,
        "logs",
        "Logs_20140328.PutRetentionPolicy",
        r#"{"logGroupName":"/ecs/my-project-dev","retentionInDays":30}"#,
    )
    .await;
    assert_eq!(status, 200, "PutRetentionPolicy: {body}");
    let (status, body) = json_call(
        &proxy,
        &a.account_id,
        "logs",
        "Logs_20140328.DescribeLogGroups",
        r#"{"logGroupNamePrefix":"/ecs/my-project"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let groups = doc["logGroups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{body}");
    assert_eq!(groups[0]["retentionInDays"], 30, "{body}");
    assert!(
        groups[0]["arn"].as_str().unwrap().contains(&a.account_id),
        "{body}"
    );
    let (status, body) = json_call(
        &b.endpoint_url(),
        &b.account_id,
        "logs",
        "Logs_20140328.DescribeLogGroups",
        r#"{"logGroupNamePrefix":"/ecs/my-project"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.replace(' ', ""), r#"{"logGroups":[]}"#);

    // The proxy saw the calls, classified per service and account.
    let journal = a.proxy.journal();
    for op in [
        "CreateRole",
        "CreateServiceLinkedRole",
        "CreateLogGroup",
        "DescribeLogGroups",
    ] {
        assert!(
            journal.iter().any(|e| e.operation.as_deref() == Some(op)
                && e.account.as_deref() == Some(a.account_id.as_str())),
            "{op} missing from the journal: {journal:?}"
        );
    }

    drop(a);
    drop(b);
    drop(emulator);
    // Dropped inside the test's runtime, the container is removed in the background.
    let api = DockerApi::from_env().unwrap();
    let started = Instant::now();
    let mut state = api.container_state(&id).unwrap();
    while state.is_some() && started.elapsed() < REMOVE_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(100)).await;
        state = api.container_state(&id).unwrap();
    }
    assert_eq!(state, None, "LocalStack container removed on drop");
}

/// ECS on LocalStack: with a token it is served; without one, the free edition answers HTTP 501
/// naming the licence, and the ECS part skips loudly with that reason.
#[tokio::test]
async fn ecs_needs_a_licence_and_skips_loudly_without_one() {
    let Some(localstack) = start_or_skip().await else {
        return;
    };
    let emulator: Arc<dyn Emulator> = Arc::new(localstack);
    let env = TestEnv::on(emulator.clone(), &[]).await.expect("proxy");
    if !env.emulator.endpoint().serves_ecs {
        // Prove the reason rather than assume it: ECS is refused for licence reasons.
        let (status, body) = json_call(
            &format!("{}/", emulator.endpoint().base_url()),
            &env.account_id,
            "ecs",
            "AmazonEC2ContainerServiceV20141113.ListClusters",
            "{}",
        )
        .await;
        assert_eq!(status, 501, "{body}");
        assert!(
            body.contains("InternalFailure") && body.contains("license plan"),
            "{body}"
        );
        let reason = env.require_ecs().expect_err("no ECS here");
        assert!(reason.contains("LOCALSTACK_AUTH_TOKEN"), "{reason}");
    }
    harness::require_ecs!(env);
    // Reached only where ECS is served (a LocalStack licence): the call the scenarios start with.
    let ecs = aws_sdk_ecs::Client::new(&env.sdk_config());
    let clusters = ecs.list_clusters().send().await.expect("ListClusters");
    assert!(clusters.cluster_arns().is_empty());
}
