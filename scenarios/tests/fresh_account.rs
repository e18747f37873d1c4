//! Family 11 — a fresh account, modelled (issue 12): the proxy's behaviour models, one at a time
//! and all together.
//!
//! (a) Per model, retries off: the model's exact AWS error (operation, code, message verbatim,
//!     HTTP status) surfaces through the provisioner, and the journal names the model as the
//!     one that answered. Each case drives what its model needs: the first apply, the destroy
//!     right after it, or a bystander (a service or cluster the provisioner does not own).
//!
//! Windows are fixed per case and long (20 s at time scale 1) where the test only needs to be
//! inside them: the error comes back at once, nothing waits the window out.

use std::time::Duration;

use faultproxy::FaultKind;
use provisioner::{Error, Names, SlrMode, Stack};
use rstest::rstest;

use crate::common::fresh::*;
use crate::common::*;

/// A window the provisioner's calls land in however loaded the machine is (never waited out).
const WIDE: Duration = Duration::from_secs(20);

/// What a case does to meet its model.
#[derive(Debug, Clone, Copy)]
enum Drive {
    /// The first apply (retries off) meets the model.
    FirstApply,
    /// The first apply succeeds; the destroy right after it (retries off) meets the model.
    DestroyRightAfterApply,
    /// A colleague's service in our cluster was deleted a moment before our destroy and still
    /// drains when destroy deletes the cluster (our own service's drain is short).
    DestroyWhileABystanderServiceDrains,
}

/// The AWS error a case expects, as AWS sends it.
struct Expected {
    /// The operation(s) that may meet the model first (parallel steps race).
    operations: &'static [&'static str],
    code: &'static str,
    /// Every message the model may answer, given the stack's names.
    messages: fn(&Names) -> Vec<String>,
    status: u16,
}

/// ECS, the seed's error: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
fn slr_not_assumable(_: &Names) -> Vec<String> {
    vec![SLR_MESSAGE.to_owned()]
}

/// ECR, terraform-provider-aws#39064.
fn principal_not_found(_: &Names) -> Vec<String> {
    vec![
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'"
            .into(),
    ]
}

/// ECS ClusterNotFoundException: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html#API_CreateService_Errors
fn cluster_not_found(_: &Names) -> Vec<String> {
    vec!["Cluster not found.".into()]
}

/// ECS UpdateInProgressException: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html#API_PutClusterCapacityProviders_Errors
fn attachments_busy(_: &Names) -> Vec<String> {
    vec!["The specified cluster is in a busy state. Cluster attachments must be in UPDATE_COMPLETE or UPDATE_FAILED state before they can be updated.".into()]
}

/// ECS ClusterContainsServicesException: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html#API_DeleteCluster_Errors
fn contains_services(_: &Names) -> Vec<String> {
    vec!["The Cluster cannot be deleted while Services are active.".into()]
}

/// CloudWatch Logs OperationAbortedException: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html#API_PutRetentionPolicy_Errors
fn operation_aborted(_: &Names) -> Vec<String> {
    vec![
        "A conflicting operation is currently in progress against this resource. Please try again."
            .into(),
    ]
}

#[rstest]
#[case::slr_delay("slr-delay", SlrMode::Implicit, Drive::FirstApply, Expected {
    operations: &["CreateService"], code: SLR_CODE, messages: slr_not_assumable, status: 400 })]
#[case::iam_propagation("iam-propagation", SlrMode::Ensure, Drive::FirstApply, Expected {
    operations: &["SetRepositoryPolicy"], code: "InvalidParameterException",
    messages: principal_not_found, status: 400 })]
#[case::ecs_cluster_not_found("ecs-cluster-not-found", SlrMode::Ensure, Drive::FirstApply, Expected {
    operations: &["CreateService", "PutClusterCapacityProviders"], code: "ClusterNotFoundException",
    messages: cluster_not_found, status: 400 })]
#[case::ecs_capacity_provider_attachments("ecs-capacity-provider-attachments", SlrMode::Ensure,
    Drive::DestroyRightAfterApply, Expected {
    operations: &["PutClusterCapacityProviders", "DeleteCluster"], code: "UpdateInProgressException",
    messages: attachments_busy, status: 400 })]
#[case::ecs_service_draining("ecs-service-draining", SlrMode::Ensure,
    Drive::DestroyWhileABystanderServiceDrains, Expected {
    operations: &["DeleteCluster"], code: "ClusterContainsServicesException",
    messages: contains_services, status: 400 })]
#[case::logs_conflicting_operation("logs-conflicting-operation", SlrMode::Ensure, Drive::FirstApply,
    Expected { operations: &["PutRetentionPolicy", "TagResource"], code: "OperationAbortedException",
    messages: operation_aborted, status: 400 })]
#[tokio::test]
async fn with_retries_off_the_models_exact_error_surfaces_verbatim(
    #[case] model: &str,
    #[case] mode: SlrMode,
    #[case] drive: Drive,
    #[case] expected: Expected,
) {
    scenario_env!(env, model);
    let env = env.with_models(only_model(model, WIDE));
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "fresh", mode).await);

    let err = match drive {
        Drive::FirstApply => try_apply(&stack, retry_off()).await.map(|_| ()),
        Drive::DestroyRightAfterApply => {
            apply_ok(&stack, retry_off()).await;
            destroy_without_retry(&stack, false).await.map(|_| ())
        }
        Drive::DestroyWhileABystanderServiceDrains => {
            apply_ok(&stack, retry_off()).await;
            drain_a_bystander(&env, &aws, &stack).await;
            destroy_without_retry(&stack, false).await.map(|_| ())
        }
    }
    .expect_err("the model's error must stop the provisioner when retries are off");
    println!("[{model}] {drive:?} failed as AWS fails: {err}");
    let j = journal(&env);
    let aws_err = err
        .aws_error()
        .unwrap_or_else(|| panic!("not an AWS error: {err}\n{}", render(&j)));
    assert!(
        expected.operations.contains(&aws_err.operation.as_str()),
        "{err}: expected one of {:?}",
        expected.operations
    );
    assert_eq!(aws_err.code, expected.code, "{err}");
    let messages = (expected.messages)(stack.names());
    assert!(
        messages.contains(&aws_err.message),
        "{err}: message not verbatim, expected one of {messages:?}"
    );
    assert_eq!(aws_err.status, Some(expected.status), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: {}: {}",
            aws_err.operation, aws_err.code, aws_err.message
        ),
        "the provisioner prints AWS's error as sent"
    );
    assert!(!err.is_retry_deadline_exceeded(), "retries were off: {err}");

    // The journal: that very answer came from the model, nothing else injected anything.
    let from_model = answered_by(&j, model);
    assert!(
        from_model.iter().any(|e| {
            e.operation.as_deref() == Some(aws_err.operation.as_str())
                && e.status == Some(expected.status)
                && e.fault.as_ref().and_then(|f| f.code.as_deref()) == Some(expected.code)
        }),
        "no {} answer of model {model} in the journal:\n{}",
        aws_err.operation,
        render(&j)
    );
    let others = fired_models(&j)
        .into_iter()
        .filter(|m| m != model)
        .collect::<Vec<_>>();
    assert!(others.is_empty(), "other models answered: {others:?}");
}

/// The service-linked role's deletion task (slr-deletion-status) runs over a window
/// (`NOT_STARTED`, `IN_PROGRESS`) and ends `FAILED` with the usage list while a cluster uses
/// the role: destroy with `--delete-service-linked-role`, retries off, reports AWS's reason and
/// the bystander cluster, after waiting the task out (a wait, not a retry).
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLinkedRoleDeletionStatus.html
#[rstest]
#[tokio::test]
async fn with_retries_off_the_slr_deletion_task_fails_with_its_usage_list() {
    let model = "slr-deletion-status";
    scenario_env!(env, model);
    // 2 s: long enough that the provisioner polls through NOT_STARTED/IN_PROGRESS, short enough
    // to be waited out.
    let env = env.with_models(only_model(model, Duration::from_secs(2)));
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "fresh", SlrMode::Ensure).await);
    apply_ok(&stack, retry_off()).await;
    let bystander = aws.create_bystander_cluster("bystander").await;

    let err = destroy_without_retry(&stack, true)
        .await
        .expect_err("the role is in use by the bystander cluster");
    println!("[{model}] destroy --delete-service-linked-role: {err}");
    let Error::SlrDeletionFailed {
        role,
        reason,
        usage,
    } = &err
    else {
        panic!("expected the deletion task to end FAILED, got: {err}");
    };
    assert_eq!(role, SLR_ROLE);
    assert!(
        reason.contains("in use") && reason.contains(SLR_ROLE),
        "AWS's reason names the role and its use: {reason}"
    );
    let here = usage
        .iter()
        .find(|u| u.region == env.region)
        .unwrap_or_else(|| panic!("no usage in {}: {usage:?}", env.region));
    assert_eq!(here.resources, vec![bystander.clone()], "{usage:?}");

    let j = journal(&env);
    let lagging = answered_by(&j, model);
    assert!(
        !lagging.is_empty()
            && lagging.iter().all(|e| {
                e.operation.as_deref() == Some("GetServiceLinkedRoleDeletionStatus")
                    && e.fault.as_ref().map(|f| f.kind) == Some(FaultKind::ReadLag)
            }),
        "the task must be seen unfinished (NOT_STARTED/IN_PROGRESS) first:\n{}",
        render(&j)
    );
    assert_eq!(aws.leftovers(stack.names()).await, Vec::<String>::new());
    assert!(aws.role_arn(SLR_ROLE).await.is_some(), "the role is kept");
    aws.delete_bystander_cluster("bystander").await;
}

/// Destroy with the retry loop off (its waits still run), as `provisioner destroy` with
/// `--no-retry` would.
async fn destroy_without_retry(stack: &Stack, delete_slr: bool) -> Result<(), Error> {
    let opts = provisioner::DestroyOptions {
        delete_service_linked_role: delete_slr,
        retry: retry_off(),
        progress: progress(),
    };
    Box::pin(stack.destroy(&opts)).await.map(|_| ())
}

/// A colleague's service `bystander` in our cluster, deleted now: it drains for [`WIDE`]. Our
/// own service's drain, opened later by our destroy, is made short (0.5 s), so destroy waits it
/// out and reaches DeleteCluster while the bystander still drains. Windows keep the length they
/// were drawn with when opened, so changing the range in between affects only later ones.
async fn drain_a_bystander(env: &harness::env::TestEnv, aws: &Aws, stack: &Stack) {
    let cluster = &stack.names().cluster;
    let task_definition = aws
        .task_definitions(&stack.names().task_family)
        .await
        .pop()
        .expect("the stack's task definition");
    aws.create_bystander_service(env, cluster, "bystander", &task_definition)
        .await;
    aws.delete_bystander_service(cluster, "bystander").await;
    env.proxy.set_model_settings(only_model(
        "ecs-service-draining",
        Duration::from_millis(500),
    ));
}
