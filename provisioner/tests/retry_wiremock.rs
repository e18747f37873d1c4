//! Retry behaviour against canned AWS answers (wiremock; no emulator).
//!
//! CreateService answers the seed's error — HTTP 400, awsJson1_1
//! `{"__type":"InvalidParameterException","message":"Unable to assume the service linked role. ..."}`
//! — twice, then succeeds. With the default policy the call (and a whole `apply`) succeeds with two
//! absorbed errors; with `RetryPolicy::disabled()` the first error surfaces verbatim; past the
//! deadline the error names CreateService and carries AWS's message.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::SdkConfig;
use provisioner::resources::network::Network;
use provisioner::resources::task_definition::Expect;
use provisioner::resources::{service, Ctx};
use provisioner::{
    ApplyOptions, Clients, Names, Progress, Retrier, RetryPolicy, SlrMode, Stack, StackSpec,
};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SLR_MESSAGE: &str =
    "Unable to assume the service linked role. Please verify that the ECS service linked role exists.";
const REGION: &str = "ap-northeast-1";
const ACCOUNT: &str = "123456789012";
const ECS: &str = "AmazonEC2ContainerServiceV20141113";
const ECR: &str = "AmazonEC2ContainerRegistry_V20150921";
const LOGS: &str = "Logs_20140328";

fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// Fast backoff so the tests take milliseconds.
fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
        .with_poll_interval(Duration::from_millis(5))
}

/// The example stack, with network given (no EC2) and the service-linked role left alone.
fn spec() -> StackSpec {
    let mut s = StackSpec::example();
    s.service_linked_role = SlrMode::Skip;
    s.service.subnets = vec!["subnet-aaa".into(), "subnet-bbb".into()];
    s.service.security_groups = vec!["sg-123".into()];
    s
}

fn json_response(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(body.to_string())
}

fn slr_error() -> ResponseTemplate {
    json_response(
        400,
        json!({"__type": "InvalidParameterException", "message": SLR_MESSAGE}),
    )
}

fn service_body(names: &Names, spec: &StackSpec) -> Value {
    json!({"service": {
        "serviceName": names.service,
        "serviceArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{}/{}", names.cluster, names.service),
        "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{}", names.cluster),
        "status": "ACTIVE",
        "desiredCount": 1,
        "taskDefinition": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{}:1", names.task_family),
        "tags": ecs_tags(&names.tags(spec, &names.service)),
    }})
}

/// CreateService: the seed's error `failures` times, then success. (Before CreateService the
/// provisioner checks for a DRAINING namesake: DescribeServices answers MISSING.)
async fn mount_create_service(server: &MockServer, failures: u64, names: &Names, spec: &StackSpec) {
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{ECS}.DescribeServices").as_str(),
        ))
        .respond_with(json_response(200, json!({"services": [], "failures": [
            {"arn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{}/{}", names.cluster, names.service), "reason": "MISSING"}]})))
        .with_priority(10)
        .mount(server)
        .await;
    if failures > 0 {
        Mock::given(method("POST"))
            .and(header(
                "x-amz-target",
                format!("{ECS}.CreateService").as_str(),
            ))
            .respond_with(slr_error())
            .up_to_n_times(failures)
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{ECS}.CreateService").as_str(),
        ))
        .respond_with(json_response(200, service_body(names, spec)))
        .with_priority(5)
        .mount(server)
        .await;
}

fn desired_service(ctx: Ctx<'_>) -> service::Desired {
    let network = Network {
        subnets: ctx.spec.service.subnets.clone(),
        security_groups: ctx.spec.service.security_groups.clone(),
        vpc_id: None,
    };
    let td = format!(
        "arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{}:1",
        ctx.names.task_family
    );
    service::desired(ctx, Expect::exact(td), &network)
}

async fn create_service_calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.headers.get("x-amz-target").and_then(|v| v.to_str().ok())
                == Some(&format!("{ECS}.CreateService"))
        })
        .count()
}

#[tokio::test]
async fn create_service_absorbs_the_seed_error_twice_then_succeeds() {
    let server = MockServer::start().await;
    let spec = spec();
    let clients = Clients::from_sdk_config(&sdk_config(&server.uri()));
    let names = Names::new(&spec, REGION);
    mount_create_service(&server, 2, &names, &spec).await;

    let retry = Retrier::new(fast());
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let created = service::create(ctx, &desired_service(ctx))
        .await
        .expect("absorbed and succeeded");
    assert_eq!(created.name, names.service);

    let absorbed = retry.absorbed();
    assert_eq!(absorbed.len(), 2, "{absorbed:?}");
    for (i, a) in absorbed.iter().enumerate() {
        assert_eq!(a.operation, "CreateService");
        assert_eq!(a.code, "InvalidParameterException");
        assert_eq!(a.message, SLR_MESSAGE);
        assert_eq!(a.attempt, i as u32 + 1);
    }
    assert_eq!(
        create_service_calls(&server).await,
        3,
        "the SDK itself must not retry a 400"
    );
}

#[tokio::test]
async fn disabled_retry_surfaces_the_seed_error_exactly() {
    let server = MockServer::start().await;
    let spec = spec();
    let clients = Clients::from_sdk_config(&sdk_config(&server.uri()));
    let names = Names::new(&spec, REGION);
    mount_create_service(&server, 2, &names, &spec).await;

    let retry = Retrier::new(RetryPolicy::disabled());
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let err = service::create(ctx, &desired_service(ctx))
        .await
        .expect_err("no retry");
    assert_eq!(
        err.to_string(),
        "CreateService: InvalidParameterException: Unable to assume the service linked role. Please verify that the ECS service linked role exists."
    );
    assert_eq!(err.aws_code(), Some("InvalidParameterException"));
    assert_eq!(err.aws_message(), Some(SLR_MESSAGE));
    assert!(retry.absorbed().is_empty());
    assert_eq!(create_service_calls(&server).await, 1);
}

#[tokio::test]
async fn past_the_deadline_the_error_names_create_service_and_the_message() {
    let server = MockServer::start().await;
    let spec = spec();
    let clients = Clients::from_sdk_config(&sdk_config(&server.uri()));
    let names = Names::new(&spec, REGION);
    mount_create_service(&server, 1000, &names, &spec).await;

    let policy = RetryPolicy::default()
        .with_deadline(Duration::from_millis(150))
        .with_backoff(Duration::from_millis(10), Duration::from_millis(20))
        .with_poll_interval(Duration::from_millis(10));
    let retry = Retrier::new(policy);
    let ctx = Ctx {
        clients: &clients,
        spec: &spec,
        names: &names,
        retry: &retry,
    };
    let err = service::create(ctx, &desired_service(ctx))
        .await
        .expect_err("deadline");
    assert!(err.is_retry_deadline_exceeded(), "{err}");
    let text = err.to_string();
    assert!(text.starts_with("CreateService: "), "{text}");
    assert!(
        text.contains(&format!("InvalidParameterException: {SLR_MESSAGE}")),
        "{text}"
    );
    assert_eq!(err.operation(), Some("CreateService"));
    assert!(!retry.absorbed().is_empty());
    assert!(create_service_calls(&server).await >= 2);
}

// ---------------------------------------------------------------------------------------------
// A whole `apply`: every resource already exists and matches, except the service, whose
// CreateService fails twice with the seed's error. Apply must succeed, report two absorbed
// errors, and make no mutating call other than CreateService.
// ---------------------------------------------------------------------------------------------

fn ecs_tags(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

fn ecr_tags(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

fn iam_tags(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("<member><Key>{k}</Key><Value>{v}</Value></member>"))
        .collect()
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn json_op(server: &MockServer, target: String, body: Value) {
    Mock::given(method("POST"))
        .and(header("x-amz-target", target.as_str()))
        .respond_with(json_response(200, body))
        .mount(server)
        .await;
}

async fn iam_op(server: &MockServer, action: &str, role: &str, result: String) {
    let xml = format!(
        "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    );
    Mock::given(method("POST"))
        .and(body_string_contains(format!("Action={action}&").as_str()))
        .and(body_string_contains(format!("RoleName={role}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/xml")
                .set_body_string(xml),
        )
        .mount(server)
        .await;
}

async fn mount_existing_stack(server: &MockServer, spec: &StackSpec, names: &Names) {
    let arn = |svc: &str, res: &str| format!("arn:aws:{svc}:{REGION}:{ACCOUNT}:{res}");
    let role_arn = |n: &str| format!("arn:aws:iam::{ACCOUNT}:role/{n}");
    let repo_uri = format!(
        "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{}",
        names.ecr_repository
    );
    let trust = urlencode(
        &provisioner::names::trust_policy(provisioner::names::ECS_TASKS_PRINCIPAL).to_string(),
    );

    json_op(server, format!("{ECS}.DescribeClusters"), json!({"clusters": [{
        "clusterName": names.cluster, "clusterArn": arn("ecs", &format!("cluster/{}", names.cluster)), "status": "ACTIVE",
        "settings": [{"name": "containerInsights", "value": "enabled"}],
        "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 1, "weight": 100}],
        "tags": ecs_tags(&names.tags(spec, &names.cluster)),
    }], "failures": []})).await;
    json_op(server, format!("{ECS}.DescribeServices"), json!({"services": [], "failures": [
        {"arn": arn("ecs", &format!("service/{}/{}", names.cluster, names.service)), "reason": "MISSING"}]})).await;
    json_op(server, format!("{ECS}.DescribeTaskDefinition"), json!({
        "taskDefinition": {
            "taskDefinitionArn": arn("ecs", &format!("task-definition/{}:1", names.task_family)),
            "family": names.task_family, "revision": 1, "status": "ACTIVE",
            "cpu": "256", "memory": "512", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "executionRoleArn": role_arn(&names.execution_role), "taskRoleArn": role_arn(&names.task_role),
            "containerDefinitions": [{
                "name": "app", "image": format!("{repo_uri}:latest"), "essential": true,
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "APP_ENV", "value": "dev"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": names.log_group, "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"}},
            }],
        },
        "tags": ecs_tags(&names.tags(spec, &names.task_family)),
    })).await;
    json_op(server, format!("{ECR}.DescribeRepositories"), json!({"repositories": [{
        "repositoryName": names.ecr_repository, "repositoryArn": arn("ecr", &format!("repository/{}", names.ecr_repository)),
        "repositoryUri": repo_uri, "imageTagMutability": "MUTABLE", "imageScanningConfiguration": {"scanOnPush": true},
    }]})).await;
    json_op(
        server,
        format!("{ECR}.ListTagsForResource"),
        json!({"tags": ecr_tags(&names.tags(spec, &names.ecr_repository))}),
    )
    .await;
    json_op(server, format!("{ECR}.GetRepositoryPolicy"), json!({
        "registryId": ACCOUNT, "repositoryName": names.ecr_repository,
        "policyText": provisioner::resources::ecr_repository::policy_document(&role_arn(&names.execution_role)).to_string(),
    })).await;
    json_op(server, format!("{LOGS}.DescribeLogGroups"), json!({"logGroups": [{
        "logGroupName": names.log_group, "arn": arn("logs", &format!("log-group:{}:*", names.log_group)), "retentionInDays": spec.logs.retention_in_days,
    }]})).await;
    json_op(
        server,
        format!("{LOGS}.ListTagsForResource"),
        json!({"tags": names.tags(spec, &names.log_group)}),
    )
    .await;

    for (role, attached, inline) in [
        (&names.execution_role, format!("<member><PolicyName>AmazonECSTaskExecutionRolePolicy</PolicyName><PolicyArn>{}</PolicyArn></member>", names.execution_role_policy_arn()), String::new()),
        (&names.task_role, String::new(), format!("<member>{}</member>", names.task_policy)),
    ] {
        iam_op(server, "GetRole", role, format!(
            "<Role><Path>/</Path><RoleName>{role}</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>{}</Arn>\
             <CreateDate>2024-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>{trust}</AssumeRolePolicyDocument>\
             <Tags>{}</Tags></Role>", role_arn(role), iam_tags(&names.tags(spec, role)))).await;
        iam_op(server, "ListAttachedRolePolicies", role, format!("<AttachedPolicies>{attached}</AttachedPolicies><IsTruncated>false</IsTruncated>")).await;
        iam_op(server, "ListRolePolicies", role, format!("<PolicyNames>{inline}</PolicyNames><IsTruncated>false</IsTruncated>")).await;
    }
    let doc = urlencode(
        &provisioner::resources::task_role::policy_document(
            spec,
            Some(&arn("logs", &format!("log-group:{}", names.log_group))),
        )
        .to_string(),
    );
    iam_op(server, "GetRolePolicy", &names.task_role, format!(
        "<RoleName>{}</RoleName><PolicyName>{}</PolicyName><PolicyDocument>{doc}</PolicyDocument>", names.task_role, names.task_policy)).await;
}

fn operation_of(r: &wiremock::Request) -> String {
    if let Some(t) = r.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return t.rsplit('.').next().unwrap_or(t).to_owned();
    }
    form_urlencoded::parse(&r.body)
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn apply_absorbs_two_seed_errors_and_makes_no_other_mutating_call() {
    let server = MockServer::start().await;
    let spec = spec();
    let clients = Clients::from_sdk_config(&sdk_config(&server.uri()));
    let names = Names::new(&spec, REGION);
    mount_existing_stack(&server, &spec, &names).await;
    mount_create_service(&server, 2, &names, &spec).await;

    let stack = Stack::new(spec, clients);
    let plan = stack.plan().await.expect("plan");
    assert_eq!(
        plan.changes.len(),
        1,
        "only the service is missing:\n{plan}"
    );
    assert_eq!(plan.changes[0].kind, "ecs_service");

    let report = stack
        .apply(&ApplyOptions {
            retry: fast(),
            progress: Progress::silent(),
        })
        .await
        .expect("apply absorbs the seed error");
    assert_eq!(report.absorbed.len(), 2, "{:?}", report.absorbed);
    assert!(report
        .absorbed
        .iter()
        .all(|a| a.operation == "CreateService" && a.message == SLR_MESSAGE));
    assert_eq!(report.changes, 1);
    assert!(report.outputs.ecs_service_arn.is_some());

    let requests = server.received_requests().await.unwrap_or_default();
    let mutating: Vec<String> = requests
        .iter()
        .map(operation_of)
        .filter(|op| {
            !(op.starts_with("Describe") || op.starts_with("Get") || op.starts_with("List"))
        })
        .collect();
    assert_eq!(
        mutating,
        vec!["CreateService"; 3],
        "only CreateService may mutate"
    );
}

#[tokio::test]
async fn apply_with_retries_disabled_fails_with_the_exact_seed_error() {
    let server = MockServer::start().await;
    let spec = spec();
    let clients = Clients::from_sdk_config(&sdk_config(&server.uri()));
    let names = Names::new(&spec, REGION);
    mount_existing_stack(&server, &spec, &names).await;
    mount_create_service(&server, 2, &names, &spec).await;

    let stack = Stack::new(spec, clients);
    let err = stack
        .apply(&ApplyOptions {
            retry: RetryPolicy::disabled(),
            progress: Progress::silent(),
        })
        .await
        .expect_err("no retry");
    assert_eq!(
        err.to_string(),
        format!("CreateService: InvalidParameterException: {SLR_MESSAGE}")
    );
}
