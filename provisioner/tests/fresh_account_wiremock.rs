//! The fresh-account models' errors against canned AWS answers (wiremock; no emulator), one test
//! per new catalogue row or wait: CreateService waits out a DRAINING namesake (and, with retries
//! off, surfaces "Creation of service was not idempotent." verbatim); a service delete waits
//! until DRAINING ends; PutRetentionPolicy absorbs OperationAbortedException right after
//! CreateLogGroup; GetRolePolicy absorbs NoSuchEntity right after our PutRolePolicy; a new
//! cluster listed MISSING is read again until known, and capacity providers its create answer
//! lacks are put absorbing "Cluster not found.".

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::SdkConfig;
use provisioner::resources::network::Network;
use provisioner::resources::task_definition::Expect;
use provisioner::resources::{cluster, iam_role, log_group, service, Ctx};
use provisioner::retry::{
    CODE_CLUSTER_NOT_FOUND, CODE_NO_SUCH_ENTITY, CODE_OPERATION_ABORTED, FAILURE_MISSING,
    MSG_CONFLICTING_OPERATION_FULL, MSG_NOT_IDEMPOTENT_FULL,
};
use provisioner::{Clients, Names, Retrier, RetryPolicy, SlrMode, StackSpec};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REGION: &str = "ap-northeast-1";
const ACCOUNT: &str = "123456789012";
const ECS: &str = "AmazonEC2ContainerServiceV20141113";
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

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_poll_interval(Duration::from_millis(5))
        .with_deadline(Duration::from_secs(20))
}

fn spec() -> StackSpec {
    let mut s = StackSpec::example();
    s.service_linked_role = SlrMode::Skip;
    s.service.subnets = vec!["subnet-aaa".into()];
    s.service.security_groups = vec!["sg-123".into()];
    s
}

fn json_response(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(body.to_string())
}

/// `target` answers `first` `times` times (priority 1), then `then` for good.
async fn sequence(
    server: &MockServer,
    target: &str,
    first: ResponseTemplate,
    times: u64,
    then: ResponseTemplate,
) {
    Mock::given(method("POST"))
        .and(header("x-amz-target", target))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", target))
        .respond_with(then)
        .with_priority(5)
        .mount(server)
        .await;
}

async fn calls(server: &MockServer, needle: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) == Some(needle)
                || String::from_utf8_lossy(&r.body).contains(needle)
        })
        .count()
}

struct World {
    server: MockServer,
    clients: Clients,
    spec: StackSpec,
    names: Names,
}

impl World {
    async fn new() -> World {
        let server = MockServer::start().await;
        let clients = Clients::from_sdk_config(&sdk_config(&server.uri()));
        let spec = spec();
        let names = Names::new(&spec, REGION);
        World {
            server,
            clients,
            spec,
            names,
        }
    }

    fn ctx<'a>(&'a self, retry: &'a Retrier) -> Ctx<'a> {
        Ctx {
            clients: &self.clients,
            spec: &self.spec,
            names: &self.names,
            retry,
        }
    }

    fn service(&self, status: &str) -> Value {
        json!({
            "serviceName": self.names.service,
            "serviceArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{}/{}", self.names.cluster, self.names.service),
            "status": status,
            "desiredCount": 0,
        })
    }

    fn desired_service(&self, ctx: Ctx<'_>) -> service::Desired {
        let network = Network {
            subnets: self.spec.service.subnets.clone(),
            security_groups: self.spec.service.security_groups.clone(),
            vpc_id: None,
        };
        let td = format!(
            "arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{}:1",
            self.names.task_family
        );
        service::desired(ctx, Expect::exact(td), &network)
    }

    /// DescribeServices: DRAINING `times` times, then INACTIVE.
    async fn draining(&self, times: u64) {
        sequence(
            &self.server,
            &format!("{ECS}.DescribeServices"),
            json_response(
                200,
                json!({"services": [self.service("DRAINING")], "failures": []}),
            ),
            times,
            json_response(
                200,
                json!({"services": [self.service("INACTIVE")], "failures": []}),
            ),
        )
        .await;
    }
}

#[tokio::test]
async fn create_service_waits_until_the_draining_namesake_is_inactive() {
    let w = World::new().await;
    w.draining(3).await;
    let create = format!("{ECS}.CreateService");
    Mock::given(method("POST"))
        .and(header("x-amz-target", create.as_str()))
        .respond_with(json_response(200, json!({"service": w.service("ACTIVE")})))
        .mount(&w.server)
        .await;
    let retry = Retrier::new(fast());
    let ctx = w.ctx(&retry);
    // Plan and apply see the DRAINING namesake as absent.
    assert!(service::find_live(ctx, &w.names.cluster, &w.names.service)
        .await
        .unwrap()
        .is_none());
    let created = service::create(ctx, &w.desired_service(ctx))
        .await
        .expect("created after the drain");
    assert_eq!(created.status, "ACTIVE");
    // Three DRAINING answers (find_live's read and two polls), then the INACTIVE one; one
    // CreateService, after them.
    assert_eq!(
        calls(&w.server, &format!("{ECS}.DescribeServices")).await,
        4
    );
    assert_eq!(calls(&w.server, &create).await, 1);
    assert!(retry.absorbed().is_empty(), "a wait, not an absorbed error");
}

#[tokio::test]
async fn with_retries_off_not_idempotent_surfaces_verbatim() {
    let w = World::new().await;
    w.draining(1000).await;
    let create = format!("{ECS}.CreateService");
    Mock::given(method("POST"))
        .and(header("x-amz-target", create.as_str()))
        .respond_with(json_response(
            400,
            json!({"__type": "InvalidParameterException", "message": MSG_NOT_IDEMPOTENT_FULL}),
        ))
        .mount(&w.server)
        .await;
    let retry = Retrier::new(RetryPolicy::disabled().with_poll_interval(Duration::from_millis(5)));
    let ctx = w.ctx(&retry);
    let err = service::create(ctx, &w.desired_service(ctx))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("CreateService: InvalidParameterException: {MSG_NOT_IDEMPOTENT_FULL}")
    );
    assert_eq!(
        calls(&w.server, &format!("{ECS}.DescribeServices")).await,
        0
    );
}

#[tokio::test]
async fn the_draining_wait_ends_at_its_deadline_with_a_clear_error() {
    let w = World::new().await;
    w.draining(100_000).await;
    let retry = Retrier::new(
        RetryPolicy::default()
            .with_poll_interval(Duration::from_millis(5))
            .with_deadline(Duration::from_millis(60)),
    );
    let ctx = w.ctx(&retry);
    let err = service::create(ctx, &w.desired_service(ctx))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("still DRAINING, to become INACTIVE"),
        "{text}"
    );
    assert!(text.contains("--retry-timeout"), "{text}");
    assert_eq!(calls(&w.server, &format!("{ECS}.CreateService")).await, 0);
}

#[tokio::test]
async fn deleting_a_service_waits_until_draining_ends() {
    let w = World::new().await;
    w.draining(4).await;
    let delete = format!("{ECS}.DeleteService");
    Mock::given(method("POST"))
        .and(header("x-amz-target", delete.as_str()))
        .respond_with(json_response(
            200,
            json!({"service": w.service("DRAINING")}),
        ))
        .mount(&w.server)
        .await;
    let retry = Retrier::new(fast());
    let ctx = w.ctx(&retry);
    let observed = service::Observed {
        name: w.names.service.clone(),
        arn: "arn:s".into(),
        status: "ACTIVE".into(),
        task_definition: None,
        desired_count: 0,
        subnets: vec![],
        security_groups: vec![],
        assign_public_ip: None,
        strategy: vec![],
        tags: Default::default(),
    };
    service::delete(ctx, &w.names.cluster, &observed)
        .await
        .expect("deleted, drained");
    assert_eq!(calls(&w.server, &delete).await, 1);
    assert_eq!(
        calls(&w.server, &format!("{ECS}.DescribeServices")).await,
        5
    );
}

#[tokio::test]
async fn put_retention_absorbs_the_conflicting_operation_after_create_log_group() {
    let w = World::new().await;
    let ok = json_response(200, json!({}));
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{LOGS}.CreateLogGroup").as_str(),
        ))
        .respond_with(ok.clone())
        .mount(&w.server)
        .await;
    let aborted = json_response(
        400,
        json!({"__type": CODE_OPERATION_ABORTED, "message": MSG_CONFLICTING_OPERATION_FULL}),
    );
    sequence(
        &w.server,
        &format!("{LOGS}.PutRetentionPolicy"),
        aborted,
        2,
        ok,
    )
    .await;
    let group = json!({"logGroups": [{"logGroupName": w.names.log_group, "retentionInDays": w.spec.logs.retention_in_days,
        "arn": format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{}:*", w.names.log_group)}]});
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{LOGS}.DescribeLogGroups").as_str(),
        ))
        .respond_with(json_response(200, group))
        .mount(&w.server)
        .await;
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{LOGS}.ListTagsForResource").as_str(),
        ))
        .respond_with(json_response(200, json!({"tags": {}})))
        .mount(&w.server)
        .await;

    let retry = Retrier::new(fast());
    let ctx = w.ctx(&retry);
    let d = log_group::desired(ctx);
    let o = log_group::create(ctx, &d).await.expect("created");
    assert_eq!(o.retention_in_days, Some(d.retention_in_days));
    let absorbed = retry.absorbed();
    assert_eq!(absorbed.len(), 2);
    assert!(absorbed
        .iter()
        .all(|a| a.operation == "PutRetentionPolicy" && a.code == CODE_OPERATION_ABORTED));

    // Retries off: the first one surfaces verbatim.
    let w = World::new().await;
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{LOGS}.CreateLogGroup").as_str(),
        ))
        .respond_with(json_response(200, json!({})))
        .mount(&w.server)
        .await;
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{LOGS}.PutRetentionPolicy").as_str(),
        ))
        .respond_with(json_response(
            400,
            json!({"__type": CODE_OPERATION_ABORTED, "message": MSG_CONFLICTING_OPERATION_FULL}),
        ))
        .mount(&w.server)
        .await;
    let retry = Retrier::new(RetryPolicy::disabled());
    let ctx = w.ctx(&retry);
    let err = log_group::create(ctx, &log_group::desired(ctx))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("PutRetentionPolicy: {CODE_OPERATION_ABORTED}: {MSG_CONFLICTING_OPERATION_FULL}")
    );
}

fn iam_xml(action: &str, result: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("content-type", "text/xml").set_body_string(format!(
        "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    ))
}

async fn iam(server: &MockServer, action: &str, result: &str) {
    Mock::given(method("POST"))
        .and(body_string_contains(format!("Action={action}&").as_str()))
        .respond_with(iam_xml(action, result))
        .with_priority(5)
        .mount(server)
        .await;
}

#[tokio::test]
async fn get_role_policy_absorbs_no_such_entity_after_our_put_role_policy() {
    let w = World::new().await;
    let role = "r";
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    let role_xml = format!(
        "<Role><Path>/</Path><RoleName>{role}</RoleName><RoleId>AROA1</RoleId><Arn>{arn}</Arn>\
         <CreateDate>2026-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument>\
         <Tags><member><Key>k</Key><Value>v</Value></member></Tags></Role>"
    );
    iam(&w.server, "CreateRole", &role_xml).await;
    iam(&w.server, "GetRole", &role_xml).await;
    iam(&w.server, "PutRolePolicy", "").await;
    iam(
        &w.server,
        "ListAttachedRolePolicies",
        "<AttachedPolicies/><IsTruncated>false</IsTruncated>",
    )
    .await;
    iam(
        &w.server,
        "ListRolePolicies",
        "<PolicyNames><member>p</member></PolicyNames><IsTruncated>false</IsTruncated>",
    )
    .await;
    let no_such = ResponseTemplate::new(404).insert_header("content-type", "text/xml").set_body_string(
        "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
         <Message>The role policy with name p cannot be found.</Message></Error><RequestId>r</RequestId></ErrorResponse>",
    );
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetRolePolicy&"))
        .respond_with(no_such)
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&w.server)
        .await;
    iam(
        &w.server,
        "GetRolePolicy",
        &format!("<RoleName>{role}</RoleName><PolicyName>p</PolicyName><PolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D</PolicyDocument>"),
    )
    .await;

    let retry = Retrier::new(fast());
    let ctx = w.ctx(&retry);
    let d = iam_role::Desired {
        name: role.into(),
        trust: json!({}),
        managed: vec![],
        inline: [("p".to_string(), json!({"Version": "2012-10-17"}))].into(),
        tags: [("k".to_string(), "v".to_string())].into(),
    };
    let o = iam_role::create(ctx, &d)
        .await
        .expect("created, policy read after the lag");
    assert!(o.inline.contains_key("p"));
    let absorbed = retry.absorbed();
    assert_eq!(absorbed.len(), 2, "{absorbed:?}");
    assert!(absorbed
        .iter()
        .all(|a| a.operation == "GetRolePolicy" && a.code == CODE_NO_SUCH_ENTITY));
    assert_eq!(calls(&w.server, "Action=GetRolePolicy&").await, 3);
}

fn cluster_json(d: &cluster::Desired, with_providers: bool) -> Value {
    let mut c = json!({
        "clusterName": d.name,
        "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{}", d.name),
        "status": "ACTIVE",
        "settings": [{"name": "containerInsights", "value": d.container_insights}],
    });
    if with_providers {
        c["capacityProviders"] = json!(d.capacity_providers);
        c["defaultCapacityProviderStrategy"] = Value::Array(
            d.default_strategy
                .iter()
                .map(|(p, b, w)| json!({"capacityProvider": p, "base": b, "weight": w}))
                .collect(),
        );
    }
    c
}

/// CreateCluster answers the cluster (with providers or not); DescribeClusters lists it MISSING
/// `missing` times, then without providers `bare` times, then as desired.
async fn mount_cluster(
    w: &World,
    d: &cluster::Desired,
    created_with: bool,
    missing: u64,
    bare: u64,
) {
    let target = format!("{ECS}.DescribeClusters");
    let arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{}", d.name);
    for (priority, times, body) in [
        (
            1,
            missing,
            json!({"clusters": [], "failures": [{"arn": arn, "reason": FAILURE_MISSING}]}),
        ),
        (
            2,
            bare,
            json!({"clusters": [cluster_json(d, false)], "failures": []}),
        ),
    ] {
        if times > 0 {
            Mock::given(method("POST"))
                .and(header("x-amz-target", target.as_str()))
                .respond_with(json_response(200, body))
                .up_to_n_times(times)
                .with_priority(priority)
                .mount(&w.server)
                .await;
        }
    }
    Mock::given(method("POST"))
        .and(header("x-amz-target", target.as_str()))
        .respond_with(json_response(
            200,
            json!({"clusters": [cluster_json(d, true)], "failures": []}),
        ))
        .with_priority(5)
        .mount(&w.server)
        .await;
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("{ECS}.CreateCluster").as_str(),
        ))
        .respond_with(json_response(
            200,
            json!({"cluster": cluster_json(d, created_with)}),
        ))
        .mount(&w.server)
        .await;
}

#[tokio::test]
async fn a_new_cluster_listed_missing_is_read_again_until_known() {
    let w = World::new().await;
    let retry = Retrier::new(fast());
    let ctx = w.ctx(&retry);
    let d = cluster::desired(ctx);
    mount_cluster(&w, &d, true, 2, 0).await;
    let o = cluster::create(ctx, &d).await.expect("created and known");
    assert_eq!(o.capacity_providers, d.capacity_providers);
    let absorbed = retry.absorbed();
    assert_eq!(absorbed.len(), 2, "{absorbed:?}");
    assert!(absorbed
        .iter()
        .all(|a| a.operation == "DescribeClusters" && a.code == FAILURE_MISSING));
    assert_eq!(
        calls(&w.server, &format!("{ECS}.DescribeClusters")).await,
        3
    );
    assert_eq!(
        calls(&w.server, &format!("{ECS}.PutClusterCapacityProviders")).await,
        0
    );

    // Retries off: the create answer, no read-back.
    let w = World::new().await;
    let retry = Retrier::new(RetryPolicy::disabled());
    let ctx = w.ctx(&retry);
    mount_cluster(&w, &d, true, 1000, 0).await;
    cluster::create(ctx, &d).await.expect("the create answer");
    assert_eq!(
        calls(&w.server, &format!("{ECS}.DescribeClusters")).await,
        0
    );
}

#[tokio::test]
async fn providers_missing_after_create_are_put_absorbing_cluster_not_found() {
    let w = World::new().await;
    let retry = Retrier::new(fast());
    let ctx = w.ctx(&retry);
    let d = cluster::desired(ctx);
    mount_cluster(&w, &d, false, 0, 1).await;
    sequence(
        &w.server,
        &format!("{ECS}.PutClusterCapacityProviders"),
        json_response(
            400,
            json!({"__type": CODE_CLUSTER_NOT_FOUND, "message": "Cluster not found."}),
        ),
        2,
        json_response(200, json!({"cluster": cluster_json(&d, true)})),
    )
    .await;
    let o = cluster::create(ctx, &d)
        .await
        .expect("created, providers put");
    assert_eq!(o.capacity_providers, d.capacity_providers);
    assert_eq!(o.default_strategy, d.default_strategy);
    let absorbed = retry.absorbed();
    assert_eq!(absorbed.len(), 2, "{absorbed:?}");
    assert!(absorbed
        .iter()
        .all(|a| a.operation == "PutClusterCapacityProviders" && a.code == CODE_CLUSTER_NOT_FOUND));
    assert_eq!(
        calls(&w.server, &format!("{ECS}.PutClusterCapacityProviders")).await,
        3
    );
}
