//! The service-linked role lifecycle and the hand-written EC2 client, against canned answers
//! (wiremock; no emulator): create-then-wait-until-readable (AWS's name and moto's), a FAILED
//! deletion reported with its RoleUsageList, and the EC2 Query protocol (signing, XML, errors).

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::SdkConfig;
use provisioner::resources::{network, service_linked_role, Ctx};
use provisioner::{Clients, Error, Names, Retrier, RetryPolicy, StackSpec};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REGION: &str = "ap-northeast-1";

fn clients(endpoint: &str) -> Clients {
    let cfg = SdkConfig::builder()
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Clients::from_sdk_config(&cfg)
}

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
        .with_poll_interval(Duration::from_millis(5))
}

fn iam_ok(action: &str, result: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("content-type", "text/xml").set_body_string(format!(
        "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    ))
}

fn no_such_entity(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).insert_header("content-type", "text/xml").set_body_string(format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
         <Code>NoSuchEntity</Code><Message>The role with name {name} cannot be found.</Message></Error>\
         <RequestId>r</RequestId></ErrorResponse>"
    ))
}

fn role_xml(name: &str) -> String {
    format!(
        "<Role><Path>/aws-service-role/ecs.amazonaws.com/</Path><RoleName>{name}</RoleName><RoleId>AROASLR</RoleId>\
         <Arn>arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/{name}</Arn>\
         <CreateDate>2024-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument></Role>"
    )
}

async fn on(
    server: &MockServer,
    fragments: &[&str],
    response: ResponseTemplate,
    times: Option<u64>,
    priority: u8,
) {
    let mut m = Mock::given(method("POST"));
    for f in fragments {
        m = m.and(body_string_contains(*f));
    }
    let mut m = m.respond_with(response).with_priority(priority);
    if let Some(n) = times {
        m = m.up_to_n_times(n);
    }
    m.mount(server).await;
}

fn count(requests: &[wiremock::Request], fragment: &str) -> usize {
    requests
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(fragment))
        .count()
}

#[tokio::test]
async fn ensure_creates_the_role_and_waits_until_get_role_finds_it() {
    let server = MockServer::start().await;
    on(
        &server,
        &[
            "Action=CreateServiceLinkedRole&",
            "AWSServiceName=ecs.amazonaws.com",
        ],
        iam_ok("CreateServiceLinkedRole", &role_xml("AWSServiceRoleForECS")),
        None,
        5,
    )
    .await;
    // IAM read-after-write lag: the first two reads do not see it yet.
    on(
        &server,
        &["Action=GetRole&", "RoleName=AWSServiceRoleForECS"],
        no_such_entity("AWSServiceRoleForECS"),
        Some(2),
        1,
    )
    .await;
    on(
        &server,
        &["Action=GetRole&", "RoleName=AWSServiceRoleForECS"],
        iam_ok("GetRole", &role_xml("AWSServiceRoleForECS")),
        None,
        5,
    )
    .await;

    let (clients, spec) = (clients(&server.uri()), StackSpec::example());
    let names = Names::new(&spec, REGION);
    let retry = Retrier::new(fast());
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let role = service_linked_role::create(ctx)
        .await
        .expect("created and readable");
    assert_eq!(role.name, "AWSServiceRoleForECS");
    assert!(role
        .arn
        .ends_with("/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"));
    let reqs = server.received_requests().await.unwrap_or_default();
    assert_eq!(count(&reqs, "Action=CreateServiceLinkedRole&"), 1);
    assert_eq!(count(&reqs, "Action=GetRole&"), 3, "polled until found");
}

#[tokio::test]
async fn ensure_accepts_the_name_the_create_response_gives_moto_style() {
    let server = MockServer::start().await;
    on(
        &server,
        &["Action=CreateServiceLinkedRole&"],
        iam_ok("CreateServiceLinkedRole", &role_xml("AWSServiceRoleForecs")),
        None,
        5,
    )
    .await;
    on(
        &server,
        &["Action=GetRole&", "RoleName=AWSServiceRoleForECS"],
        no_such_entity("AWSServiceRoleForECS"),
        None,
        5,
    )
    .await;
    on(
        &server,
        &["Action=GetRole&", "RoleName=AWSServiceRoleForecs"],
        iam_ok("GetRole", &role_xml("AWSServiceRoleForecs")),
        None,
        5,
    )
    .await;

    let (clients, spec) = (clients(&server.uri()), StackSpec::example());
    let names = Names::new(&spec, REGION);
    let retry = Retrier::new(fast());
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let role = service_linked_role::create(ctx)
        .await
        .expect("found under the response's name");
    assert_eq!(role.name, "AWSServiceRoleForecs");
    assert_eq!(
        service_linked_role::find(ctx)
            .await
            .unwrap()
            .map(|r| r.name)
            .as_deref(),
        Some("AWSServiceRoleForecs")
    );
}

#[tokio::test]
async fn a_failed_deletion_is_reported_with_its_role_usage_list() {
    let server = MockServer::start().await;
    on(&server, &["Action=DeleteServiceLinkedRole&"],
        iam_ok("DeleteServiceLinkedRole", "<DeletionTaskId>task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/1</DeletionTaskId>"), None, 5).await;
    on(
        &server,
        &["Action=GetServiceLinkedRoleDeletionStatus&"],
        iam_ok(
            "GetServiceLinkedRoleDeletionStatus",
            "<Status>IN_PROGRESS</Status>",
        ),
        Some(1),
        1,
    )
    .await;
    on(&server, &["Action=GetServiceLinkedRoleDeletionStatus&"], iam_ok("GetServiceLinkedRoleDeletionStatus",
        "<Status>FAILED</Status><Reason><Reason>The role is in use by ECS clusters.</Reason><RoleUsageList><member>\
         <Region>ap-northeast-1</Region><Resources><member>arn:aws:ecs:ap-northeast-1:123456789012:cluster/other-dev-cluster</member>\
         </Resources></member></RoleUsageList></Reason>"), None, 5).await;

    let (clients, spec) = (clients(&server.uri()), StackSpec::example());
    let names = Names::new(&spec, REGION);
    let retry = Retrier::new(fast());
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let role = service_linked_role::Observed {
        name: "AWSServiceRoleForECS".into(),
        arn: "arn".into(),
    };
    let err = service_linked_role::delete(ctx, &role)
        .await
        .expect_err("FAILED");
    match &err {
        Error::SlrDeletionFailed {
            role,
            reason,
            usage,
        } => {
            assert_eq!(role, "AWSServiceRoleForECS");
            assert_eq!(reason, "The role is in use by ECS clusters.");
            assert_eq!(usage.len(), 1);
            assert_eq!(usage[0].region, "ap-northeast-1");
            assert_eq!(
                usage[0].resources,
                vec![
                    "arn:aws:ecs:ap-northeast-1:123456789012:cluster/other-dev-cluster".to_owned()
                ]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(
            "ap-northeast-1: [arn:aws:ecs:ap-northeast-1:123456789012:cluster/other-dev-cluster]"
        ),
        "{text}"
    );
}

const EC2_NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";

fn ec2_ok(xml: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml;charset=UTF-8")
        .set_body_string(xml)
}

#[tokio::test]
async fn network_comes_from_the_default_vpc_through_the_ec2_query_client() {
    let server = MockServer::start().await;
    on(&server, &["Action=DescribeVpcs&", "Version=2016-11-15", "Filter.1.Name=isDefault", "Filter.1.Value.1=true"],
        ec2_ok(format!("<DescribeVpcsResponse {EC2_NS}><requestId>r</requestId><vpcSet><item><vpcId>vpc-1</vpcId><isDefault>true</isDefault></item></vpcSet></DescribeVpcsResponse>")), None, 5).await;
    on(&server, &["Action=DescribeSubnets&", "Filter.1.Name=vpc-id", "Filter.1.Value.1=vpc-1"],
        ec2_ok(format!("<DescribeSubnetsResponse {EC2_NS}><requestId>r</requestId><subnetSet><item><subnetId>subnet-b</subnetId></item><item><subnetId>subnet-a</subnetId></item></subnetSet></DescribeSubnetsResponse>")), None, 5).await;
    on(&server, &["Action=DescribeSecurityGroups&", "Filter.2.Name=group-name", "Filter.2.Value.1=default"],
        ec2_ok(format!("<DescribeSecurityGroupsResponse {EC2_NS}><requestId>r</requestId><securityGroupInfo><item><groupId>sg-default</groupId><groupName>default</groupName><ipPermissions><item><groups><item><groupId>sg-nested</groupId></item></groups></item></ipPermissions></item></securityGroupInfo></DescribeSecurityGroupsResponse>")), None, 5).await;

    let (clients, spec) = (clients(&server.uri()), StackSpec::example());
    let names = Names::new(&spec, REGION);
    let retry = Retrier::new(fast());
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let net = network::find(ctx).await.expect("network");
    assert_eq!(net.subnets, ["subnet-a", "subnet-b"]);
    assert_eq!(net.security_groups, ["sg-default"]);
    assert_eq!(net.vpc_id.as_deref(), Some("vpc-1"));

    let reqs = server.received_requests().await.unwrap_or_default();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        let auth = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
            "{auth}"
        );
        assert!(auth.contains("/ap-northeast-1/ec2/aws4_request"), "{auth}");
        assert!(r.headers.get("x-amz-date").is_some());
    }
}

#[tokio::test]
async fn network_listed_in_the_spec_makes_no_ec2_call() {
    let server = MockServer::start().await;
    let clients = clients(&server.uri());
    let mut spec = StackSpec::example();
    spec.service.subnets = vec!["subnet-z".into()];
    spec.service.security_groups = vec!["sg-z".into()];
    let names = Names::new(&spec, REGION);
    let retry = Retrier::new(fast());
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let net = network::find(ctx).await.unwrap();
    assert_eq!(net.subnets, ["subnet-z"]);
    assert!(server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}

#[tokio::test]
async fn ec2_errors_surface_with_code_and_message() {
    let server = MockServer::start().await;
    on(&server, &["Action=DescribeVpcs&"], ResponseTemplate::new(403).set_body_string(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>\
         <Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r</RequestID></Response>"), None, 5).await;
    let clients = clients(&server.uri());
    let err = clients.ec2.default_vpc_id().await.expect_err("403");
    assert_eq!(
        err.to_string(),
        "DescribeVpcs: UnauthorizedOperation: You are not authorized to perform this operation."
    );
    assert_eq!(err.status, Some(403));
}

#[tokio::test]
async fn no_default_vpc_is_a_clear_error() {
    let server = MockServer::start().await;
    on(&server, &["Action=DescribeVpcs&"], ec2_ok(format!("<DescribeVpcsResponse {EC2_NS}><requestId>r</requestId><vpcSet/></DescribeVpcsResponse>")), None, 5).await;
    let (clients, spec) = (clients(&server.uri()), StackSpec::example());
    let names = Names::new(&spec, REGION);
    let retry = Retrier::new(fast());
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let err = network::find(ctx).await.expect_err("no default VPC");
    assert!(
        err.to_string()
            .contains("has no default VPC: set service.subnets and service.security_groups"),
        "{err}"
    );
}
