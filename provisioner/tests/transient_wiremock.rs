//! The transient-retry policy (retry/transient.rs) against canned answers (wiremock; no
//! emulator): the hand-written EC2 client survives a run of throttles and 5xx answers, gives up
//! at the policy's bound (attempts, or the operation deadline) with AWS's code and a message
//! naming the bound, and never retries a non-transient error; an SDK client built with the same
//! settings survives the same run of throttles (one policy for every client).

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use provisioner::clients::{ClientSettings, ClientsBuilder};
use provisioner::ec2::{Ec2Client, Ec2Settings};
use provisioner::retry::{TransientRetry, TRANSIENT_MAX_ATTEMPTS};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REGION: &str = "ap-northeast-1";
const EC2_NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";

/// The production policy (25 attempts) with a millisecond backoff.
fn fast() -> TransientRetry {
    TransientRetry::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn ec2(server: &MockServer, transient: TransientRetry, deadline: Duration) -> Ec2Client {
    let credentials = Credentials::new("AKIDTEST", "secret", None, None, "test");
    Ec2Client::new(
        Some(server.uri()),
        Some(REGION.into()),
        Some(SharedCredentialsProvider::new(credentials)),
        Ec2Settings {
            request_timeout: Duration::from_secs(5),
            operation_timeout: deadline,
            transient,
        },
    )
}

/// EC2's error document (`<Response><Errors><Error>`) with `status`.
fn ec2_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_string(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>\
         <Message>{message}</Message></Error></Errors><RequestID>r</RequestID></Response>"
    ))
}

fn throttled() -> ResponseTemplate {
    ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.")
}

fn vpcs_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(format!(
        "<DescribeVpcsResponse {EC2_NS}><requestId>r</requestId><vpcSet><item><vpcId>vpc-1</vpcId>\
         <isDefault>true</isDefault></item></vpcSet></DescribeVpcsResponse>"
    ))
}

/// `response` for the first `times` requests whose body contains `fragment` (all when `None`);
/// a lower `priority` wins.
async fn on(
    server: &MockServer,
    fragment: &str,
    response: ResponseTemplate,
    times: Option<u64>,
    priority: u8,
) {
    let m = Mock::given(method("POST"))
        .and(body_string_contains(fragment))
        .respond_with(response)
        .with_priority(priority);
    match times {
        Some(n) => m.up_to_n_times(n),
        None => m,
    }
    .mount(server)
    .await;
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn ec2_survives_a_run_of_throttles_and_5xx_answers() {
    let server = MockServer::start().await;
    // 24 failures (the policy makes 25 attempts): throttles, 503s, 500s, a bare 502.
    let failures = [
        (8, throttled()),
        (
            8,
            ec2_error(
                503,
                "ServiceUnavailable",
                "The service is unavailable. Please try again shortly.",
            ),
        ),
        (
            6,
            ec2_error(
                500,
                "InternalError",
                "An internal error has occurred. Retry your request.",
            ),
        ),
        (2, ResponseTemplate::new(502).set_body_string("bad gateway")),
    ];
    for (priority, (n, answer)) in failures.into_iter().enumerate() {
        on(
            &server,
            "Action=DescribeVpcs&",
            answer,
            Some(n),
            priority as u8 + 1,
        )
        .await;
    }
    on(&server, "Action=DescribeVpcs&", vpcs_ok(), None, 10).await;

    let vpc = ec2(&server, fast(), Duration::from_secs(60))
        .default_vpc_id()
        .await
        .expect("the 25th attempt succeeds");
    assert_eq!(vpc.as_deref(), Some("vpc-1"));
    assert_eq!(requests(&server).await, 25);
}

#[tokio::test]
async fn ec2_gives_up_after_the_attempts_with_awss_code_and_the_bound_named() {
    let server = MockServer::start().await;
    on(
        &server,
        "Action=DescribeSecurityGroups&",
        throttled(),
        None,
        1,
    )
    .await;
    let err = ec2(&server, fast(), Duration::from_secs(60))
        .default_security_group("vpc-1")
        .await
        .expect_err("always throttled");
    assert_eq!(requests(&server).await, TRANSIENT_MAX_ATTEMPTS as usize);
    assert_eq!(
        (err.code.as_str(), err.status),
        ("RequestLimitExceeded", Some(503))
    );
    let line = err.to_string();
    assert!(
        line.starts_with(
            "DescribeSecurityGroups: RequestLimitExceeded: Request limit exceeded. \
             (transient error: gave up after 25 attempts in "
        ) && line.ends_with(" s, at the policy's bound of attempts)"),
        "{line}"
    );
}

#[tokio::test]
async fn ec2_gives_up_at_the_operation_deadline() {
    let server = MockServer::start().await;
    on(
        &server,
        "Action=DescribeVpcs&",
        ec2_error(503, "Unavailable", "The server is overloaded."),
        None,
        1,
    )
    .await;
    let slow = TransientRetry::default()
        .with_backoff(Duration::from_millis(50), Duration::from_millis(50));
    let err = ec2(&server, slow, Duration::from_millis(400))
        .default_vpc_id()
        .await
        .expect_err("always unavailable");
    let n = requests(&server).await;
    assert!(
        (1..TRANSIENT_MAX_ATTEMPTS as usize).contains(&n),
        "{n} requests"
    );
    // The loop ends at the deadline in one of two documented ways: before a pause that would
    // pass it (the last error, Unavailable), or, when the machine is slow enough that an attempt
    // is still running at the deadline, by cutting that attempt off (TimeoutError). With full
    // jitter either can come first; both must name the deadline as the bound.
    match err.code.as_str() {
        "Unavailable" => assert!(
            err.message.starts_with("The server is overloaded."),
            "{}",
            err.message
        ),
        "TimeoutError" => assert!(
            err.message
                .starts_with("no answer within the operation deadline of 400ms"),
            "{}",
            err.message
        ),
        other => panic!("{other}: {}", err.message),
    }
    assert!(
        err.message
            .ends_with(" s, at the policy's bound of the operation deadline)"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn ec2_does_not_retry_what_is_not_transient() {
    let server = MockServer::start().await;
    on(
        &server,
        "Action=DescribeVpcs&",
        ec2_error(
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
        ),
        None,
        1,
    )
    .await;
    let err = ec2(&server, fast(), Duration::from_secs(60))
        .default_vpc_id()
        .await
        .expect_err("401");
    assert_eq!(
        err.to_string(),
        "DescribeVpcs: AuthFailure: AWS was not able to validate the provided access credentials"
    );
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn sdk_and_ec2_clients_share_the_policy_and_survive_the_same_throttles() {
    let server = MockServer::start().await;
    let ecs_throttled = ResponseTemplate::new(400)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#);
    let ecs_ok = ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(r#"{"clusterArns":[]}"#);
    // ECS's JSON body names no Action: everything that is not EC2's Query body is ECS.
    Mock::given(method("POST"))
        .and(wiremock::matchers::header(
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.ListClusters",
        ))
        .respond_with(ecs_throttled)
        .up_to_n_times(20)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::header(
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.ListClusters",
        ))
        .respond_with(ecs_ok)
        .with_priority(2)
        .mount(&server)
        .await;
    on(&server, "Action=DescribeVpcs&", throttled(), Some(20), 1).await;
    on(&server, "Action=DescribeVpcs&", vpcs_ok(), None, 2).await;

    let settings = ClientSettings {
        transient: fast(),
        retry_partition: Some("transient-wiremock".into()),
        ..ClientSettings::default()
    };
    let clients = ClientsBuilder::new(REGION)
        .endpoint_url(server.uri())
        .account("123456789012", "test")
        .settings(settings.clone())
        .build();
    assert_eq!(clients.ec2.settings().transient, settings.transient);
    let listed = clients
        .ecs
        .list_clusters()
        .send()
        .await
        .expect("ListClusters after 20 throttles");
    assert!(listed.cluster_arns().is_empty());
    let vpc = clients
        .ec2
        .default_vpc_id()
        .await
        .expect("DescribeVpcs after 20 throttles");
    assert_eq!(vpc.as_deref(), Some("vpc-1"));
    assert_eq!(requests(&server).await, 42);
}
