//! The endpoint check before planning (preflight.rs) against canned STS answers (wiremock; no
//! emulator): it runs under the transient-retry policy of every other call, so throttling and
//! 5xx answers are tried again until STS answers; an endpoint that keeps failing is reported
//! with its last answer, never as a credentials problem; only a credential error code is
//! reported as one, at once; a non-AWS page and other AWS errors are not retried.

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::SdkConfig;
use provisioner::preflight::{check_endpoint_with, PreflightError, CREDENTIALS_HINT};
use provisioner::retry::TransientRetry;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// STS's answer to `GetCallerIdentity`.
/// Source: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
const IDENTITY: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/test</Arn><UserId>AIDATEST</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-ok</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#;

/// STS's awsQuery error document.
/// Source: https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
fn sts_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/xml")
        .set_body_string(format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
             <Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-{code}</RequestId></ErrorResponse>"
        ))
}

fn throttled() -> ResponseTemplate {
    sts_error(400, "Throttling", "Rate exceeded")
}

fn unavailable() -> ResponseTemplate {
    sts_error(
        503,
        "ServiceUnavailable",
        "Service is unavailable. Please try again later.",
    )
}

/// The production policy (attempts, codes) with a millisecond backoff.
fn fast() -> TransientRetry {
    TransientRetry::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn config(server: &MockServer) -> SdkConfig {
    SdkConfig::builder()
        .endpoint_url(server.uri())
        .region(Region::new("ap-northeast-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "123456789012",
            "test",
            None,
            None,
            "test",
        )))
        .build()
}

/// `first` for the first `times` requests, then `then` for every later one.
async fn answers(server: &MockServer, first: ResponseTemplate, times: u64, then: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetCallerIdentity"))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn throttling_and_5xx_answers_are_retried_until_sts_answers() {
    for (what, first) in [("Throttling", throttled()), ("503", unavailable())] {
        let server = MockServer::start().await;
        answers(
            &server,
            first,
            4,
            ResponseTemplate::new(200).set_body_string(IDENTITY),
        )
        .await;
        let who = check_endpoint_with(&config(&server), &fast(), Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(who.account, "123456789012");
        assert_eq!(
            requests(&server).await,
            5,
            "{what}: 4 failures, then the answer"
        );
    }
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_named_with_its_last_answer_not_the_credentials() {
    let server = MockServer::start().await;
    answers(&server, unavailable(), u64::MAX, unavailable()).await;
    let policy = fast().with_max_attempts(6);
    let err = check_endpoint_with(&config(&server), &policy, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(err, PreflightError::KeptFailing { .. }), "{err:?}");
    let line = err.to_string();
    let endpoint = server.uri();
    assert!(
        line.starts_with(&format!(
            "the AWS endpoint {endpoint} kept failing GetCallerIdentity (gave up after 6 attempts in "
        )),
        "{line}"
    );
    assert!(
        line.contains("last answer: sts GetCallerIdentity: ServiceUnavailable: Service is unavailable. Please try again later. (HTTP 503, request id r-ServiceUnavailable)"),
        "{line}"
    );
    assert!(!line.contains(CREDENTIALS_HINT), "{line}");
    assert!(!line.contains("AWS_ACCESS_KEY_ID"), "{line}");
    assert_eq!(requests(&server).await, 6);
}

#[tokio::test]
async fn credential_errors_are_reported_at_once_as_credential_errors() {
    for code in [
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "AccessDenied",
    ] {
        let server = MockServer::start().await;
        let rejected = sts_error(403, code, "no");
        answers(&server, rejected.clone(), u64::MAX, rejected).await;
        let err = check_endpoint_with(&config(&server), &fast(), Duration::from_secs(30))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PreflightError::Rejected(_)),
            "{code}: {err:?}"
        );
        assert!(err.to_string().ends_with(CREDENTIALS_HINT), "{err}");
        assert_eq!(requests(&server).await, 1, "{code} is not retried");
    }
}

#[tokio::test]
async fn other_errors_and_pages_are_not_retried_and_do_not_blame_the_credentials() {
    let cases = [
        (
            "an emulator without STS",
            sts_error(
                400,
                "InvalidAction",
                "Could not find operation GetCallerIdentity",
            ),
        ),
        (
            "a web page",
            ResponseTemplate::new(404)
                .insert_header("content-type", "text/html")
                .set_body_string("<html>not found</html>"),
        ),
    ];
    for (what, answer) in cases {
        let server = MockServer::start().await;
        answers(&server, answer.clone(), u64::MAX, answer).await;
        let err = check_endpoint_with(&config(&server), &fast(), Duration::from_secs(30))
            .await
            .unwrap_err();
        assert!(!err.to_string().contains(CREDENTIALS_HINT), "{what}: {err}");
        assert_eq!(requests(&server).await, 1, "{what} is not retried");
    }
}

#[tokio::test]
async fn a_5xx_page_from_a_load_balancer_is_retried() {
    let server = MockServer::start().await;
    answers(
        &server,
        ResponseTemplate::new(502)
            .insert_header("content-type", "text/html")
            .set_body_string("<html>502 Bad Gateway</html>"),
        2,
        ResponseTemplate::new(200).set_body_string(IDENTITY),
    )
    .await;
    let who = check_endpoint_with(&config(&server), &fast(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(who.account, "123456789012");
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn nothing_listening_and_unresolvable_hosts_fail_at_once() {
    // A port nobody listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for url in [
        format!("http://127.0.0.1:{port}"),
        "http://no-such-host.invalid:4566".to_owned(),
    ] {
        let cfg = SdkConfig::builder()
            .endpoint_url(&url)
            .region(Region::new("ap-northeast-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "123456789012",
                "test",
                None,
                None,
                "test",
            )))
            .build();
        // Retried, the check would end as `KeptFailing` after the policy's 25 attempts.
        let err = check_endpoint_with(&cfg, &fast(), Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PreflightError::Unreachable { .. }),
            "{url}: {err:?}"
        );
    }
}
