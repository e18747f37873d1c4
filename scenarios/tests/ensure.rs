//! The seed's recommended fix: `ensure` creates the service-linked role first and
//! waits until IAM returns it, then builds ECS. With the same visibility delay as first_apply
//! and retry_absorbs, no ECS call ever fails, so it works with the retry loop on or off.
//!
//! The window is held open until the wait has met it (a GetRole answered `NoSuchEntity`), then
//! closes 1 s after that ([`apply_meeting_held_window`]): a window closing on its own could pass
//! while a slow emulator answers CreateServiceLinkedRole, and then there would be nothing to wait
//! for and nothing proven.

use std::time::Duration;

use provisioner::SlrMode;
use rstest::rstest;

use crate::common::held::*;
use crate::common::*;

#[rstest]
#[tokio::test]
async fn ensure_creates_the_role_first_and_ecs_never_fails(#[values(true, false)] retry: bool) {
    scenario_env!(env, "ensure", &[SLR_HELD]);
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "ensure", SlrMode::Ensure).await);

    let retry = if retry { retry_fast() } else { retry_off() };
    let (report, visible_ms) = apply_meeting_held_window(
        &env,
        Duration::from_secs(1),
        is_slr_read_lag,
        apply_ok(&stack, retry),
    )
    .await;

    let j = journal(&env);
    // The wait met the window: the role was unreadable at least once, then readable.
    let visible_ms = visible_ms.unwrap_or_else(|| {
        panic!(
            "no GetRole met the service-linked role's window:\n{}",
            render(&j)
        )
    });
    let lags = j.iter().filter(|e| is_slr_read_lag(e)).count();
    assert!(lags >= 1, "{}", render(&j));
    println!(
        "ensure waited through {lags} NoSuchEntity answer(s); role visible at {visible_ms:.0} ms"
    );
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
