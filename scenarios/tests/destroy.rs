//! Clean destroy, checked through the AWS API (the SDK directly, not the
//! provisioner's own view): everything of the stack is gone, a second destroy is fine, the
//! service-linked role is kept. Deleting the service-linked role while another stack's cluster
//! lives in the account ends FAILED with the usage list (region + cluster ARN) surfaced; once
//! that cluster is gone, it succeeds.

use harness::env::{test_env_or_skip, TestEnv};
use provisioner::{Error, SlrMode};
use rstest::rstest;

use crate::common::*;

#[rstest]
#[tokio::test]
async fn destroy_removes_everything_twice_and_keeps_the_service_linked_role(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    fixture_env!(env, test_env_or_skip, "destroy");
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "gone", SlrMode::Ensure).await);
    let names = stack.names().clone();
    apply_ok(&stack, retry_fast()).await;
    assert!(
        aws.leftovers(&names).await.len() >= 7,
        "apply left too little to check"
    );

    let report = destroy_ok(&stack, false).await;
    println!("destroyed: {:?}", report.deleted);
    assert!(report.not_ours.is_empty(), "{:?}", report.not_ours);
    assert!(report.slr.is_none());
    let left = aws.leftovers(&names).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
    assert!(aws.active_clusters().await.is_empty());

    // Twice is fine, and deletes nothing more.
    let again = destroy_ok(&stack, false).await;
    assert!(again.deleted.is_empty(), "{:?}", again.deleted);

    // The service-linked role is kept.
    assert!(
        aws.role_arn(SLR_ROLE).await.is_some(),
        "destroy deleted {SLR_ROLE}"
    );
}

#[rstest]
#[tokio::test]
async fn deleting_the_service_linked_role_fails_while_another_cluster_lives(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    fixture_env!(env, test_env_or_skip, "destroy_slr");
    let aws = Aws::new(&env);
    let a = env.stack(spec(&env, "alpha", SlrMode::Ensure).await);
    let b = env.stack(spec(&env, "beta", SlrMode::Ensure).await);
    apply_ok(&a, retry_fast()).await;
    let b_out = apply_ok(&b, retry_fast()).await.outputs;
    let b_cluster = b_out.ecs_cluster_arn.clone().expect("beta's cluster ARN");

    let err = try_destroy(&a, true)
        .await
        .expect_err("the role is still used by beta's cluster");
    println!("as expected: {err}");
    let Error::SlrDeletionFailed { role, usage, .. } = &err else {
        panic!("expected a FAILED deletion, got: {err}");
    };
    assert_eq!(role, SLR_ROLE);
    let here = usage
        .iter()
        .find(|u| u.region == env.region)
        .unwrap_or_else(|| panic!("no usage in {}: {usage:?}", env.region));
    assert!(here.resources.contains(&b_cluster), "{usage:?}");
    let text = err.to_string();
    assert!(
        text.contains("FAILED") && text.contains(&b_cluster) && text.contains(&env.region),
        "{text}"
    );
    // alpha itself is gone; the role stays.
    let left = aws.leftovers(a.names()).await;
    assert!(left.is_empty(), "alpha left: {left:?}");
    assert!(aws.role_arn(SLR_ROLE).await.is_some());

    // Once beta's cluster is gone, the deletion succeeds.
    destroy_ok(&b, false).await;
    let report = destroy_ok(&a, true).await;
    let slr = report
        .slr
        .expect("the service-linked role deletion is reported");
    assert_eq!(slr.status, "SUCCEEDED");
    assert!(
        aws.role_arn(SLR_ROLE).await.is_none(),
        "{SLR_ROLE} survived"
    );
    assert!(aws.active_clusters().await.is_empty());
}
