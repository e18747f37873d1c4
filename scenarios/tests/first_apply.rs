//! The seed's failure, reproduced: in a fresh account, with the service-linked role
//! left to CreateCluster (`implicit`) and the provisioner's retry loop off, the first apply fails
//! at CreateService with AWS's exact error; once the role has become visible, a second apply
//! passes (the seed's "run it twice" workaround).
//!
//! The role's window is held open until the first apply has failed, then given the seed's 2 s
//! from the role's creation ([`SLR_HELD`]): a window closing on its own could pass while a slow
//! emulator answers the steps before CreateService, and then the first apply would not fail.

use std::time::Duration;

use provisioner::SlrMode;
use rstest::rstest;

use crate::common::held::*;
use crate::common::*;

#[rstest]
#[tokio::test]
async fn first_apply_without_retry_fails_with_the_exact_message_then_the_second_passes() {
    scenario_env!(env, "first_apply", &[SLR_HELD]);
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "seed", SlrMode::Implicit).await);

    let err = try_apply(&stack, retry_off())
        .await
        .expect_err("the first apply in a fresh account must fail while the role is invisible");
    println!("first apply failed as in the seed: {err}");
    assert_eq!(err.operation(), Some("CreateService"), "{err}");
    assert_eq!(err.aws_code(), Some(SLR_CODE), "{err}");
    assert_eq!(err.aws_message(), Some(SLR_MESSAGE), "{err}");
    assert_eq!(
        err.to_string(),
        format!("CreateService: {SLR_CODE}: {SLR_MESSAGE}")
    );

    // The journal agrees: exactly one injected failure, the model's, on CreateService, after a
    // successful CreateCluster (which created the role).
    let j = journal(&env);
    let faults = injected(&j, Some("ecs"));
    assert_eq!(faults.len(), 1, "{}", render(&j));
    assert_eq!(faults[0].operation.as_deref(), Some("CreateService"));
    assert_eq!(
        faults[0].fault.as_ref().and_then(|f| f.code.as_deref()),
        Some(SLR_CODE)
    );
    assert!(j
        .iter()
        .any(|e| op(e) == "ecs:CreateCluster" && e.status == Some(200) && e.seq < faults[0].seq));

    // "Run it twice": once the role is visible (2 s after its creation, or at once when that
    // has passed), the same apply passes, with nothing to absorb. The deadline only bounds a
    // role that never shows up; a loaded emulator may take seconds to answer each GetRole.
    set_slr_delay(&env, Duration::from_secs(2));
    wait_slr_visible(&aws, Duration::from_secs(30)).await;
    let report = apply_ok(&stack, retry_off()).await;
    assert!(report.absorbed.is_empty(), "{:?}", report.absorbed);
    assert!(report.outputs.ecs_service_arn.is_some());
    assert!(report.outputs.service_linked_role_arn.is_some());
    assert_eq!(aws.services(&stack.names().cluster).await.len(), 1);
    assert!(plan(&stack).await.is_empty());
}
