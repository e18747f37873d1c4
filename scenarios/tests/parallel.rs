//! Parallel: many stacks, each in its own account, on one emulator at once. They
//! all converge, see only themselves (same names in every account), and destroy cleanly. The
//! accounts alternate between `ensure` and `implicit` under a 1 s service-linked-role delay, so
//! the waits and the retry loop usually run concurrently too. That part is printed, not asserted:
//! on a loaded machine a stack can reach CreateService after its window has closed (first_apply,
//! retry_absorbs and ensure hold the window open to prove the waits themselves).

use futures::future::join_all;
use harness::env::{test_env_or_skip, TestEnv};
use provisioner::SlrMode;
use rstest::rstest;

use crate::common::*;

const STACKS: usize = 8;

async fn one(i: usize) -> Result<(), String> {
    let env = TestEnv::with_presets(&["slr-delay=1s"])
        .await
        .map_err(|e| format!("env {i}: {e:#}"))?;
    let aws = Aws::new(&env);
    let mode = if i % 2 == 0 {
        SlrMode::Ensure
    } else {
        SlrMode::Implicit
    };
    // The same project everywhere: accounts, not names, keep the stacks apart.
    let stack = env.stack(spec(&env, "shared-name", mode).await);
    let report = try_apply(&stack, retry_fast()).await.map_err(|e| {
        format!(
            "stack {i} ({mode:?}, account {}): apply: {e}",
            env.account_id
        )
    })?;
    println!(
        "stack {i} ({mode:?}): applied in {:?}, {} error(s) absorbed",
        report.elapsed,
        report.absorbed.len()
    );
    let clusters = aws.active_clusters().await;
    if clusters != vec![report.outputs.ecs_cluster_arn.clone().unwrap_or_default()] {
        return Err(format!(
            "stack {i}: account {} sees clusters {clusters:?}",
            env.account_id
        ));
    }
    if !Box::pin(stack.plan())
        .await
        .map_err(|e| format!("stack {i}: plan: {e}"))?
        .is_empty()
    {
        return Err(format!("stack {i}: plan not empty after apply"));
    }
    try_destroy(&stack, false)
        .await
        .map_err(|e| format!("stack {i}: destroy: {e}"))?;
    let left = aws.leftovers(stack.names()).await;
    if !left.is_empty() {
        return Err(format!("stack {i}: left after destroy: {left:?}"));
    }
    Ok(())
}

#[rstest]
#[tokio::test]
async fn eight_stacks_in_eight_accounts_converge_at_once(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    // The fixture proves the backend is usable (or skips loudly); the stacks get their own envs.
    fixture_env!(env, test_env_or_skip, "parallel");
    drop(env);
    let results = join_all((0..STACKS).map(one)).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} of {STACKS} stacks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
