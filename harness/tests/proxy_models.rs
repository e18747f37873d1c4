//! The AWS behaviour models against a real moto: the ECS service-linked-role lifecycle (creation
//! by CreateCluster and CreateServiceLinkedRole, visibility delay, deletion FAILED while clusters
//! live), IAM propagation to ECR policies, and isolation between accounts.

mod proxy_support;

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::ContainerDefinition;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::operation::get_role::GetRoleError;
use aws_sdk_iam::types::DeletionTaskStatusType;
use aws_types::SdkConfig;
use faultproxy::catalogue::rows::ECR_PRINCIPAL_NOT_FOUND as PRINCIPAL_NOT_FOUND;
use faultproxy::models::service_linked_role::{
    NAME_TAKEN, POLICY_ARN, ROLE_NAME, ROLE_PATH, UNABLE_TO_ASSUME,
};
use faultproxy::FaultKind;
use proxy_support::*;

const SERVICE_NAME: &str = "ecs.amazonaws.com";

async fn get_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> Result<aws_sdk_iam::types::Role, GetRoleError> {
    iam.get_role()
        .role_name(name)
        .send()
        .await
        .map(|o| o.role().cloned().expect("role in GetRole output"))
        .map_err(|e| e.into_service_error())
}

/// Asserts the role is AWS's ECS service-linked role: name, path, trust principal, policy.
async fn assert_is_ecs_service_linked_role(iam: &aws_sdk_iam::Client) {
    let role = get_role(iam, ROLE_NAME)
        .await
        .expect("AWSServiceRoleForECS exists");
    assert_eq!(role.role_name(), ROLE_NAME);
    assert_eq!(role.path(), ROLE_PATH);
    let trust = role.assume_role_policy_document().unwrap_or_default();
    assert!(
        trust.contains(SERVICE_NAME)
            || trust.contains("ecs.amazonaws.com".replace('.', "%2E").as_str()),
        "trust policy names ecs.amazonaws.com: {trust}"
    );
    let attached = iam
        .list_attached_role_policies()
        .role_name(ROLE_NAME)
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(arns, [POLICY_ARN]);
    // moto's own CreateServiceLinkedRole would have produced this wrongly named role.
    assert!(get_role(iam, "AWSServiceRoleForecs").await.is_err());
}

async fn register_task_definition(ecs: &aws_sdk_ecs::Client) {
    ecs.register_task_definition()
        .family("app")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("nginx:latest")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
}

async fn create_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
) -> Result<(), aws_sdk_ecs::operation::create_service::CreateServiceError> {
    ecs.create_service()
        .cluster(cluster)
        .service_name("web")
        .task_definition("app")
        .desired_count(0)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.into_service_error())
}

struct Clients {
    ecs: aws_sdk_ecs::Client,
    iam: aws_sdk_iam::Client,
    ecr: aws_sdk_ecr::Client,
}

fn clients(cfg: &SdkConfig) -> Clients {
    Clients {
        ecs: aws_sdk_ecs::Client::new(cfg),
        iam: aws_sdk_iam::Client::new(cfg),
        ecr: aws_sdk_ecr::Client::new(cfg),
    }
}

#[tokio::test]
async fn create_cluster_creates_the_service_linked_role_as_aws_does() {
    let proxy = proxy_with(&[]).await;
    let account = fresh_account();
    let c = clients(&sdk(&proxy, &account).await);
    assert!(matches!(
        get_role(&c.iam, ROLE_NAME).await,
        Err(GetRoleError::NoSuchEntityException(_))
    ));
    c.ecs
        .create_cluster()
        .cluster_name("first")
        .send()
        .await
        .expect("CreateCluster");
    assert_is_ecs_service_linked_role(&c.iam).await;
    // A second cluster neither fails nor recreates the role.
    c.ecs
        .create_cluster()
        .cluster_name("second")
        .send()
        .await
        .expect("second CreateCluster");
    // No delay configured: CreateService right away works.
    register_task_definition(&c.ecs).await;
    create_service(&c.ecs, "first")
        .await
        .expect("CreateService without slr-delay");
    // The role exists now, so CreateServiceLinkedRole is the duplicate error.
    let err = c
        .iam
        .create_service_linked_role()
        .aws_service_name(SERVICE_NAME)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInput"));
    assert_eq!(err.message(), Some(NAME_TAKEN));
    assert_eq!(
        proxy
            .journal_for(&account)
            .iter()
            .filter(|e| e.is_injected_failure())
            .count(),
        0
    );
}

#[tokio::test]
async fn create_service_linked_role_is_answered_with_the_right_role_and_duplicate_is_invalid_input()
{
    let proxy = proxy_with(&[]).await;
    let account = fresh_account();
    let c = clients(&sdk(&proxy, &account).await);
    let out = c
        .iam
        .create_service_linked_role()
        .aws_service_name(SERVICE_NAME)
        .send()
        .await
        .expect("CreateServiceLinkedRole");
    let role = out.role().expect("role in the answer");
    assert_eq!(role.role_name(), ROLE_NAME);
    assert_eq!(role.path(), ROLE_PATH);
    assert_eq!(
        role.arn(),
        format!("arn:aws:iam::{account}:role{ROLE_PATH}{ROLE_NAME}")
    );
    assert!(!role.role_id().is_empty());
    assert_is_ecs_service_linked_role(&c.iam).await;
    let err = c
        .iam
        .create_service_linked_role()
        .aws_service_name(SERVICE_NAME)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInput"));
    assert_eq!(err.message(), Some(NAME_TAKEN));
    let last = proxy.journal_for(&account).into_iter().last().unwrap();
    assert_eq!(last.status, Some(400));
    assert_eq!(
        last.handled_by.as_deref(),
        Some("model:service-linked-role")
    );
    assert!(
        !last.is_injected_failure(),
        "a faithful AWS answer, not a fault"
    );
}

#[tokio::test]
async fn slr_delay_makes_create_service_fail_right_after_create_cluster_then_succeed() {
    let delay = Duration::from_secs(3);
    let proxy = proxy_with(&["slr-delay=3s"]).await;
    let account = fresh_account();
    let c = clients(&sdk(&proxy, &account).await);
    register_task_definition(&c.ecs).await;
    c.ecs
        .create_cluster()
        .cluster_name("app")
        .send()
        .await
        .expect("the CreateCluster that creates the role succeeds");
    let created = Instant::now();

    let err = create_service(&c.ecs, "app").await.unwrap_err();
    match &err {
        aws_sdk_ecs::operation::create_service::CreateServiceError::InvalidParameterException(
            e,
        ) => {
            assert_eq!(e.message(), Some(UNABLE_TO_ASSUME))
        }
        other => panic!("expected InvalidParameterException, got {other:?}"),
    }
    // Another CreateCluster inside the window fails the same way.
    let err = c
        .ecs
        .create_cluster()
        .cluster_name("other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ecs::error::ProvideErrorMetadata::code(&err),
        Some("InvalidParameterException")
    );
    // IAM read-after-write lag: GetRole does not see the role yet either.
    assert!(matches!(
        get_role(&c.iam, ROLE_NAME).await,
        Err(GetRoleError::NoSuchEntityException(_))
    ));

    tokio::time::sleep(delay.saturating_sub(created.elapsed()) + Duration::from_millis(100)).await;
    create_service(&c.ecs, "app")
        .await
        .expect("CreateService after the window");
    assert_is_ecs_service_linked_role(&c.iam).await;

    let failures: Vec<_> = proxy
        .journal_for(&account)
        .into_iter()
        .filter(|e| e.is_injected_failure())
        .map(|e| (e.operation.unwrap(), e.fault.unwrap().rule))
        .collect();
    assert_eq!(
        failures,
        [
            ("CreateService".to_string(), "model:slr-delay".to_string()),
            ("CreateCluster".into(), "model:slr-delay".into())
        ]
    );
}

#[tokio::test]
async fn ensure_mode_waits_for_get_role_and_never_sees_the_ecs_error() {
    let proxy = proxy_with(&["slr-delay=2s"]).await;
    let account = fresh_account();
    let c = clients(&sdk(&proxy, &account).await);
    c.iam
        .create_service_linked_role()
        .aws_service_name(SERVICE_NAME)
        .send()
        .await
        .expect("create SLR");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut not_found = 0;
    loop {
        match get_role(&c.iam, ROLE_NAME).await {
            Ok(_) => break,
            Err(GetRoleError::NoSuchEntityException(_)) if Instant::now() < deadline => {
                not_found += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("GetRole: {e:?}"),
        }
    }
    assert!(not_found > 0, "GetRole lagged behind the creation");
    register_task_definition(&c.ecs).await;
    c.ecs
        .create_cluster()
        .cluster_name("app")
        .send()
        .await
        .expect("CreateCluster");
    create_service(&c.ecs, "app").await.expect("CreateService");
    let journal = proxy.journal_for(&account);
    assert_eq!(
        journal.iter().filter(|e| e.is_injected_failure()).count(),
        0,
        "{journal:#?}"
    );
    assert_eq!(
        journal
            .iter()
            .filter(|e| e
                .fault
                .as_ref()
                .is_some_and(|f| f.kind == FaultKind::ReadLag))
            .count(),
        not_found
    );
}

#[tokio::test]
async fn deleting_the_role_fails_while_a_cluster_lives_and_succeeds_after() {
    let proxy = proxy_with(&[]).await;
    let account = fresh_account();
    let c = clients(&sdk(&proxy, &account).await);
    let cluster = c
        .ecs
        .create_cluster()
        .cluster_name("keep")
        .send()
        .await
        .unwrap();
    let cluster_arn = cluster
        .cluster()
        .unwrap()
        .cluster_arn()
        .unwrap()
        .to_string();

    let task = c
        .iam
        .delete_service_linked_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .expect("deletion task");
    let task_id = task.deletion_task_id().to_string();
    assert!(
        task_id.starts_with("task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/"),
        "{task_id}"
    );
    let status = c
        .iam
        .get_service_linked_role_deletion_status()
        .deletion_task_id(&task_id)
        .send()
        .await
        .expect("status");
    assert_eq!(status.status(), &DeletionTaskStatusType::Failed);
    let reason = status.reason().expect("failure reason");
    assert!(reason.reason().is_some_and(|r| !r.is_empty()));
    let usage = reason.role_usage_list();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].region(), Some(REGION));
    assert_eq!(usage[0].resources(), std::slice::from_ref(&cluster_arn));
    // Still FAILED when asked again (the task's outcome is final), and the role survives.
    let again = c
        .iam
        .get_service_linked_role_deletion_status()
        .deletion_task_id(&task_id)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), &DeletionTaskStatusType::Failed);
    assert!(get_role(&c.iam, ROLE_NAME).await.is_ok());
    // DeleteRole on the protected role is refused, as in AWS.
    let err = c
        .iam
        .delete_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnmodifiableEntity"));

    c.ecs
        .delete_cluster()
        .cluster(&cluster_arn)
        .send()
        .await
        .expect("delete cluster");
    let task = c
        .iam
        .delete_service_linked_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .unwrap();
    let status = c
        .iam
        .get_service_linked_role_deletion_status()
        .deletion_task_id(task.deletion_task_id())
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), &DeletionTaskStatusType::Succeeded);
    assert!(status.reason().is_none());
    assert!(matches!(
        get_role(&c.iam, ROLE_NAME).await,
        Err(GetRoleError::NoSuchEntityException(_))
    ));
    // Deleting a role that is gone: NoSuchEntity.
    let err = c
        .iam
        .delete_service_linked_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchEntity"));
}

#[tokio::test]
async fn iam_propagation_delays_ecr_policies_naming_a_new_role() {
    let proxy = proxy_with(&["iam-propagation=2s"]).await;
    let account = fresh_account();
    let c = clients(&sdk(&proxy, &account).await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = c
        .iam
        .create_role()
        .role_name("app-task")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let created = Instant::now();
    let role_arn = role.role().unwrap().arn().to_string();
    c.ecr
        .create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    let policy = |principal: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"pull","Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":["ecr:BatchGetImage"]}}]}}"#
        )
    };
    let err = c
        .ecr
        .set_repository_policy()
        .repository_name("app")
        .policy_text(policy(&role_arn))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    match err {
        aws_sdk_ecr::operation::set_repository_policy::SetRepositoryPolicyError::InvalidParameterException(e) => {
            assert_eq!(e.message(), Some(PRINCIPAL_NOT_FOUND))
        }
        other => panic!("expected InvalidParameterException, got {other:?}"),
    }
    // A policy naming an older principal is not affected.
    c.ecr
        .set_repository_policy()
        .repository_name("app")
        .policy_text(policy(&format!("arn:aws:iam::{account}:root")))
        .send()
        .await
        .expect("policy without the new role");
    tokio::time::sleep(
        Duration::from_secs(2).saturating_sub(created.elapsed()) + Duration::from_millis(100),
    )
    .await;
    c.ecr
        .set_repository_policy()
        .repository_name("app")
        .policy_text(policy(&role_arn))
        .send()
        .await
        .expect("after propagation");
}

#[tokio::test]
async fn accounts_are_isolated() {
    let proxy = proxy_with(&["slr-delay=30s"]).await;
    let (a, b) = (fresh_account(), fresh_account());
    let ca = clients(&sdk(&proxy, &a).await);
    let cb = clients(&sdk(&proxy, &b).await);
    ca.ecs
        .create_cluster()
        .cluster_name("a")
        .send()
        .await
        .unwrap();
    // The role (and its delay) exist in A only.
    let err = ca
        .ecs
        .create_cluster()
        .cluster_name("a2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ecs::error::ProvideErrorMetadata::code(&err),
        Some("InvalidParameterException")
    );
    assert!(matches!(
        get_role(&cb.iam, ROLE_NAME).await,
        Err(GetRoleError::NoSuchEntityException(_))
    ));
    let b_clusters = cb.ecs.list_clusters().send().await.unwrap();
    assert!(
        b_clusters.cluster_arns().is_empty(),
        "A's cluster is invisible to B"
    );
    cb.iam
        .create_service_linked_role()
        .aws_service_name(SERVICE_NAME)
        .send()
        .await
        .expect("B has no role yet: not 'taken'");
    assert!(proxy
        .journal_for(&b)
        .iter()
        .all(|e| e.account.as_deref() == Some(b.as_str())));
    assert!(proxy
        .journal_for(&b)
        .iter()
        .all(|e| !e.is_injected_failure()));
}

#[tokio::test]
async fn slr_model_can_be_switched_off() {
    let proxy = proxy_with(&["slr-model=off"]).await;
    let account = fresh_account();
    let c = clients(&sdk(&proxy, &account).await);
    c.ecs
        .create_cluster()
        .cluster_name("x")
        .send()
        .await
        .unwrap();
    assert!(matches!(
        get_role(&c.iam, ROLE_NAME).await,
        Err(GetRoleError::NoSuchEntityException(_))
    ));
    assert!(!proxy.model_settings().service_linked_role);
}
