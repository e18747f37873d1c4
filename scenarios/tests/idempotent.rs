//! Idempotent apply: after a converging apply, the plan is empty, a second apply
//! makes no mutating AWS call (checked in the proxy's journal, not the provisioner's report),
//! and the outputs are identical.

use harness::env::{test_env_or_skip, TestEnv};
use provisioner::SlrMode;
use rstest::rstest;

use crate::common::*;

#[rstest]
#[tokio::test]
async fn second_apply_changes_nothing_and_makes_no_mutating_call(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
    #[values(SlrMode::Ensure, SlrMode::Implicit)] mode: SlrMode,
) {
    fixture_env!(env, test_env_or_skip, "idempotent");
    let stack = env.stack(spec(&env, "idem", mode).await);

    let first = apply_ok(&stack, retry_fast()).await;
    assert!(first.changes > 0);

    let planned = plan(&stack).await;
    assert!(planned.is_empty(), "second plan is not empty:\n{planned}");

    env.proxy.clear_journal();
    let second = apply_ok(&stack, retry_fast()).await;
    let j = journal(&env);
    let writes: Vec<_> = j.iter().filter(|e| e.is_mutating()).collect();
    assert!(
        writes.is_empty(),
        "the second apply made mutating calls:\n{}",
        render(&j)
    );
    assert!(!j.is_empty(), "the second apply read nothing?");
    assert_eq!(second.changes, 0, "{:?}", second.steps);

    assert_eq!(first.outputs, second.outputs);
    assert_eq!(outputs(&stack).await, first.outputs);
}
