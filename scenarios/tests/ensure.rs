//! Family 3 — the seed's recommended fix: `ensure` creates the service-linked role first and
//! waits until IAM returns it, then builds ECS. With the same visibility delay as families 1
//! and 2, no ECS call ever fails, so it works with the retry loop on or off.

use provisioner::SlrMode;
use rstest::rstest;

use crate::common::*;

#[rstest]
#[tokio::test]
async fn ensure_creates_the_role_first_and_ecs_never_fails(#[values(true, false)] retry: bool) {
    scenario_env!(env, "ensure", &["slr-delay=1s"]);
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "ensure", SlrMode::Ensure).await);

    let report = apply_ok(&stack, if retry { retry_fast() } else { retry_off() }).await;

    let j = journal(&env);
    let ecs_faults = injected(&j, Some("ecs"));
    assert!(
        ecs_faults.is_empty(),
        "ECS saw injected failures:\n{}",
        render(&j)
    );
    assert!(report.absorbed.is_empty(), "{:?}", report.absorbed);

    // The role was created by us, first, before any ECS mutation.
    let slr = j
        .iter()
        .find(|e| op(e) == "iam:CreateServiceLinkedRole")
        .expect("CreateServiceLinkedRole was called");
    let first_ecs_write = j
        .iter()
        .find(|e| e.service.as_deref() == Some("ecs") && e.is_mutating())
        .expect("an ECS mutation");
    assert!(slr.seq < first_ecs_write.seq, "{}", render(&j));
    assert_eq!(
        aws.role_path(SLR_ROLE).await.as_deref(),
        Some("/aws-service-role/ecs.amazonaws.com/")
    );
    assert!(report.outputs.ecs_service_arn.is_some());
}
