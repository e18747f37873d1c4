//! The `localstack+moto` backend, for real: one endpoint whose proxy sends IAM, STS
//! and CloudWatch Logs to a LocalStack container and ECS to a moto process; the journal names
//! the upstream of every request; one account id is the same account on both (LocalStack reads
//! it from the access key id, moto from the `x-moto-account-id` the proxy adds); the
//! service-linked-role model creates its role on the IAM upstream (LocalStack); and a LocalStack
//! that cannot start is a loud error naming the fix, never a silent run on moto alone.
//!
//! Needs a Docker engine and the LocalStack image (`bash scripts/build-images.sh localstack`,
//! `HARNESS_LOCALSTACK_IMAGE=harness-localstack:4.13.1`). Without them: loud skip, or a failure
//! with `HARNESS_REQUIRE_DOCKER=1`.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use aws_credential_types::Credentials;
use harness::emulator::localstack_moto::LocalStackMoto;
use harness::emulator::{Backend, Emulator, EmulatorError};
use harness::env::{skip_or_fail, TestEnv, DEFAULT_REGION, TEST_SECRET_KEY};

const ROLE: &str = "routes-dev-ecs-task-execution";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

async fn start_or_skip() -> Option<LocalStackMoto> {
    match LocalStackMoto::start(None).await {
        Ok(b) => Some(b),
        Err(e @ EmulatorError::Unavailable { .. }) => {
            skip_or_fail(e);
            None
        }
        Err(e) => panic!("the localstack+moto backend failed to start: {e}"),
    }
}

/// IAM `GetRole` straight to moto (not through the proxy) in `account`: the HTTP status.
async fn moto_get_role_status(moto: &str, account: &str, role: &str) -> u16 {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000"
    );
    let body = format!("Action=GetRole&RoleName={role}&Version=2010-05-08");
    let request = http::Request::post(moto)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-amz-date", "20260101T000000Z")
        .header("x-moto-account-id", account)
        .header("authorization", auth)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.expect("GetRole on moto");
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}

/// An IAM client straight to LocalStack (not through the proxy) for `account`.
fn localstack_iam(url: &str, account: &str) -> aws_sdk_iam::Client {
    let cfg = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_sdk_iam::config::Region::new(DEFAULT_REGION))
        .credentials_provider(Credentials::new(
            account,
            TEST_SECRET_KEY,
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_iam::Client::from_conf(cfg)
}

#[tokio::test]
async fn iam_sts_logs_go_to_localstack_ecs_to_moto_in_one_account() {
    let Some(backend) = start_or_skip().await else {
        return;
    };
    eprintln!("{}", backend.describe());
    assert_eq!(backend.backend(), Backend::LocalStackMoto);
    let endpoint = backend.endpoint().clone();
    let moto_url = backend.moto().endpoint().base_url();
    let localstack_url = backend.localstack().endpoint().base_url();
    assert_eq!(endpoint.base_url(), moto_url);
    assert!(endpoint.serves_ecs);
    let emulator: Arc<dyn Emulator> = Arc::new(backend);
    let env = TestEnv::on(emulator.clone(), &[])
        .await
        .expect("proxy in front of both");
    let cfg = env.sdk_config();
    let account = env.account_id.clone();

    let iam = aws_sdk_iam::Client::new(&cfg);
    let role = iam
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("CreateRole through the proxy");
    let arn = role.role().unwrap().arn().to_string();
    assert!(
        arn.starts_with(&format!("arn:aws:iam::{account}:role/")),
        "{arn}"
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&cfg);
    logs.create_log_group()
        .log_group_name("/ecs/routes-dev")
        .send()
        .await
        .expect("CreateLogGroup through the proxy");
    let ecs = aws_sdk_ecs::Client::new(&cfg);
    let cluster = ecs
        .create_cluster()
        .cluster_name("routes-dev-cluster")
        .send()
        .await
        .expect("CreateCluster through the proxy");
    let cluster_arn = cluster
        .cluster()
        .unwrap()
        .cluster_arn()
        .unwrap()
        .to_string();
    assert!(
        cluster_arn.contains(&format!(":{account}:cluster/")),
        "{cluster_arn}"
    );

    // The journal names where each request went.
    let journal = env.proxy.journal_for(&account);
    let upstreams = |service: &str| -> Vec<String> {
        journal
            .iter()
            .filter(|e| e.service.as_deref() == Some(service))
            .map(|e| e.upstream.clone())
            .collect()
    };
    assert_eq!(upstreams("iam"), ["localstack"], "{journal:#?}");
    assert_eq!(upstreams("logs"), ["localstack"], "{journal:#?}");
    assert_eq!(upstreams("ecs"), ["moto"], "{journal:#?}");

    // The role lives in LocalStack, in this account (the access key id), and not in moto.
    let direct = localstack_iam(&localstack_url, &account);
    let got = direct.get_role().role_name(ROLE).send().await;
    assert!(got.is_ok(), "LocalStack does not hold {ROLE}: {got:?}");
    let other = localstack_iam(&localstack_url, &harness::accounts::fresh_account_id());
    assert!(other.get_role().role_name(ROLE).send().await.is_err());
    let moto_of_account = endpoint.url_for_account(&account);
    assert_eq!(
        moto_get_role_status(&moto_of_account, &account, ROLE).await,
        404
    );

    // The service-linked-role model answered CreateCluster by creating AWSServiceRoleForECS on
    // the IAM upstream: LocalStack, in this account.
    let start = Instant::now();
    loop {
        let found = direct
            .get_role()
            .role_name("AWSServiceRoleForECS")
            .send()
            .await;
        if let Ok(out) = found {
            let arn = out.role().unwrap().arn().to_string();
            assert!(
                arn.contains(&format!(
                    "::{account}:role/aws-service-role/ecs.amazonaws.com/"
                )),
                "{arn}"
            );
            let attached = direct
                .list_attached_role_policies()
                .role_name("AWSServiceRoleForECS")
                .send()
                .await
                .expect("ListAttachedRolePolicies on LocalStack");
            let names: Vec<_> = attached
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_name())
                .collect();
            assert_eq!(names, ["AmazonECSServiceRolePolicy"]);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the model did not create AWSServiceRoleForECS on LocalStack: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Dropping the last reference removes the container (the exit hook too, should that fail).
    drop(env);
    drop(emulator);
}

/// `harness up --backend localstack+moto` with a LocalStack image that does not exist: exits
/// non-zero with one line naming the backend, LocalStack and the command that builds the image,
/// and never prints an endpoint (no fall-back to moto alone).
#[test]
fn a_missing_localstack_is_a_loud_error_not_a_fallback_to_moto() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "localstack+moto",
        ])
        .env("HARNESS_LOCALSTACK_IMAGE", "harness-localstack:no-such-tag")
        .env_remove("LOCALSTACK_AUTH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("harness binary");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(240) {
            let _ = child.kill();
            panic!("harness up did not give up on a missing LocalStack image within 240 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("AWS_ENDPOINT_URL"), "{stdout}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    for needle in [
        "localstack+moto",
        "LocalStack",
        "scripts/build-images.sh localstack",
    ] {
        assert!(error.contains(needle), "{needle:?} missing from: {error}");
    }
}
