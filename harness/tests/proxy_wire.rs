//! Every fault effect, as an AWS SDK for Rust client sees it: injected errors must parse into the
//! same typed errors real AWS produces, throttling must be classified (and retried) as
//! throttling, dropped connections as transient I/O errors.

mod proxy_support;

use std::time::{Duration, Instant};

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::operation::create_service::CreateServiceError;
use faultproxy::models::service_linked_role::UNABLE_TO_ASSUME;
use faultproxy::{FaultKind, Rule};
use proxy_support::*;

#[tokio::test]
async fn ecs_create_service_gets_typed_invalid_parameter_exception_with_exact_message() {
    let proxy = proxy_without_upstream().await;
    proxy
        .set_rules(vec![Rule::named("slr")
            .for_service("ecs")
            .for_operation("CreateService")
            .with_error(400, "InvalidParameterException", UNABLE_TO_ASSUME)])
        .expect("valid rules");
    let account = fresh_account();
    let ecs = aws_sdk_ecs::Client::new(&sdk(&proxy, &account).await);
    let err = ecs
        .create_service()
        .cluster("c")
        .service_name("s")
        .send()
        .await
        .expect_err("rule answers with an error");
    match err.into_service_error() {
        CreateServiceError::InvalidParameterException(e) => {
            assert_eq!(e.message(), Some(UNABLE_TO_ASSUME));
        }
        other => panic!("expected InvalidParameterException, got {other:?}"),
    }
    let journal = proxy.journal();
    assert_eq!(journal.len(), 1);
    let e = &journal[0];
    assert_eq!(e.account.as_deref(), Some(account.as_str()));
    assert_eq!(
        (e.service.as_deref(), e.operation.as_deref()),
        (Some("ecs"), Some("CreateService"))
    );
    assert_eq!(e.status, Some(400));
    assert!(e.is_injected_failure() && e.is_mutating());
    let fault = e.fault.as_ref().unwrap();
    assert_eq!(
        (fault.rule.as_str(), fault.kind, fault.code.as_deref()),
        ("slr", FaultKind::Error, Some("InvalidParameterException"))
    );
}

#[tokio::test]
async fn iam_throttling_xml_is_seen_and_retried_as_throttling() {
    let proxy = proxy_without_upstream().await;
    proxy
        .set_rules(vec![Rule::named("iam-throttle")
            .for_service("iam")
            .with_throttle()])
        .expect("valid rules");
    let account = fresh_account();
    let iam = aws_sdk_iam::Client::new(&sdk_with_retries(&proxy, &account, fast_retries()).await);
    let err = iam.list_roles().send().await.expect_err("throttled");
    assert_eq!(err.code(), Some("Throttling"));
    assert_eq!(err.message(), Some("Rate exceeded"));
    // A 400 is retried by the SDK only when it classifies the code as throttling: 3 attempts.
    let j = proxy.journal();
    assert_eq!(j.len(), 3, "{j:#?}");
    assert!(j.iter().all(|e| e.status == Some(400)
        && e.fault.as_ref().unwrap().code.as_deref() == Some("Throttling")));

    // Control: a non-throttling 400 (IAM's InvalidInput) is not retried.
    proxy
        .set_rules(vec![Rule::named("invalid").for_service("iam").with_error(
            400,
            "InvalidInput",
            "nope",
        )])
        .expect("valid rules");
    proxy.clear_journal();
    let err = iam.list_roles().send().await.expect_err("error");
    assert_eq!(err.code(), Some("InvalidInput"));
    assert_eq!(err.message(), Some("nope"));
    assert_eq!(proxy.journal().len(), 1);
}

#[tokio::test]
async fn ecs_throttling_exception_and_5xx_are_retried() {
    let proxy = proxy_without_upstream().await;
    let account = fresh_account();
    let ecs = aws_sdk_ecs::Client::new(&sdk_with_retries(&proxy, &account, fast_retries()).await);

    proxy
        .set_rules(vec![Rule::named("t").for_service("ecs").with_throttle()])
        .expect("valid rules");
    let err = ecs.list_clusters().send().await.expect_err("throttled");
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(proxy.journal().len(), 3);

    proxy
        .set_rules(vec![Rule::named("5xx").with_error(
            503,
            "ServiceUnavailable",
            "try later",
        )])
        .expect("valid rules");
    proxy.clear_journal();
    let err = ecs.list_clusters().send().await.expect_err("unavailable");
    assert_eq!(err.code(), Some("ServiceUnavailable"));
    assert_eq!(proxy.journal().len(), 3);
}

#[tokio::test]
async fn iam_5xx_is_a_receiver_fault_and_retried() {
    let proxy = proxy_without_upstream().await;
    proxy
        .set_rules(vec![Rule::named("boom").for_service("iam").with_error(
            500,
            "ServiceFailure",
            "internal <boom> & co",
        )])
        .expect("valid rules");
    let iam =
        aws_sdk_iam::Client::new(&sdk_with_retries(&proxy, &fresh_account(), fast_retries()).await);
    let err = iam.get_role().role_name("r").send().await.expect_err("500");
    assert_eq!(err.code(), Some("ServiceFailure"));
    assert_eq!(
        err.message(),
        Some("internal <boom> & co"),
        "message XML-escaped and unescaped again"
    );
    assert_eq!(proxy.journal().len(), 3);
}

#[tokio::test]
async fn dropped_connection_is_a_transient_io_error() {
    let proxy = proxy_without_upstream().await;
    proxy
        .set_rules(vec![Rule::named("cut").for_service("ecs").with_drop()])
        .expect("valid rules");
    let ecs =
        aws_sdk_ecs::Client::new(&sdk_with_retries(&proxy, &fresh_account(), fast_retries()).await);
    let err = ecs.list_clusters().send().await.expect_err("dropped");
    assert!(
        matches!(err, SdkError::DispatchFailure(_)),
        "expected a dispatch (I/O) failure, got {err:?}"
    );
    let j = proxy.journal();
    assert_eq!(j.len(), 3, "SDK retries transient I/O errors: {j:#?}");
    assert!(j.iter().all(|e| e.status.is_none()
        && e.fault.as_ref().unwrap().kind == FaultKind::Drop
        && e.is_injected_failure()));
}

#[tokio::test]
async fn ec2_query_errors_use_the_ec2_document() {
    let proxy = proxy_without_upstream().await;
    proxy
        .set_rules(vec![Rule::named("ec2").for_service("ec2").with_throttle()])
        .expect("valid rules");
    let account = fresh_account();
    let (status, body) = raw(
        proxy.addr(),
        "POST",
        "/",
        &[
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("Authorization", &auth(&account, REGION, "ec2")),
        ],
        b"Action=DescribeVpcs&Version=2016-11-15",
    )
    .await;
    assert_eq!(status, 503);
    assert!(body.contains("<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>"), "{body}");
    let e = &proxy.journal()[0];
    assert_eq!(
        (e.service.as_deref(), e.operation.as_deref(), e.status),
        (Some("ec2"), Some("DescribeVpcs"), Some(503))
    );
}

#[tokio::test]
async fn latency_delays_then_forwards() {
    let proxy = proxy_with(&[]).await;
    proxy
        .set_rules(vec![Rule::named("slow")
            .for_service("ecs")
            .with_latency(250, 0)])
        .expect("valid rules");
    let ecs = aws_sdk_ecs::Client::new(&sdk(&proxy, &fresh_account()).await);
    let t = Instant::now();
    ecs.list_clusters()
        .send()
        .await
        .expect("forwarded after the delay");
    assert!(t.elapsed() >= Duration::from_millis(250));
    let e = &proxy.journal()[0];
    assert_eq!(e.status, Some(200));
    assert_eq!(e.fault.as_ref().unwrap().kind, FaultKind::Latency);
    assert!(!e.is_injected_failure());
    assert!(e.duration_ms >= 250.0);
}

#[tokio::test]
async fn localstack_chaos_rule_posted_over_http_reaches_the_sdk() {
    let proxy = proxy_without_upstream().await;
    let rules = r#"[{"service": "ecs", "operation": "CreateService", "region": "ap-northeast-1", "probability": 1.0,
                    "error": {"statusCode": 400, "code": "InvalidParameterException"}}]"#;
    let (status, _) = raw(
        proxy.addr(),
        "POST",
        "/_harness/faults",
        &[("Content-Type", "application/json")],
        rules.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let ecs = aws_sdk_ecs::Client::new(&sdk(&proxy, &fresh_account()).await);
    let err = ecs
        .create_service()
        .cluster("c")
        .service_name("s")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        err.into_service_error(),
        CreateServiceError::InvalidParameterException(_)
    ));
}
