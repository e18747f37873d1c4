//! The provisioner's retry loop absorbs the seed's error: same fresh-account set-up as
//! first_apply, retries on. The journal shows the injected failures, then a successful
//! CreateService; the retry costs about the propagation window, not the retry deadline.
//!
//! The window is held open until the apply's CreateService has met it, then closes the case's
//! length after that first failure ([`apply_meeting_held_window`]): a window that starts
//! at CreateCluster and closes on its own could pass while a slow emulator answers the steps in
//! between, and then nothing is left to absorb.

use std::time::Duration;

use provisioner::SlrMode;
use rstest::rstest;

use crate::common::held::*;
use crate::common::*;

#[rstest]
#[case::one_second_window(1)]
#[case::two_second_window(2)]
#[tokio::test]
async fn retry_absorbs_the_delay_and_costs_the_window_not_the_deadline(#[case] window_s: u64) {
    let window = Duration::from_secs(window_s);
    scenario_env!(env, "retry_absorbs", &[SLR_HELD]);
    let stack = env.stack(spec(&env, "retry", SlrMode::Implicit).await);
    let retry = retry_fast();
    let deadline = retry.create_service_timeout;

    let (report, visible_ms) =
        apply_meeting_held_window(&env, window, is_slr_failure, apply_ok(&stack, retry)).await;
    println!(
        "apply converged in {:?} (window {window:?}, deadline {deadline:?}), {} error(s) absorbed",
        report.elapsed,
        report.absorbed.len()
    );

    // Journal: >= 1 injected failure on CreateService, and after the last one a 200.
    let j = journal(&env);
    let faults = injected(&j, Some("ecs"));
    assert!(!faults.is_empty(), "no injected failure:\n{}", render(&j));
    let visible_ms = visible_ms.expect("the window was closed after the first failure");
    assert!(
        faults
            .iter()
            .all(|e| op(e) == "ecs:CreateService" || op(e) == "ecs:CreateCluster"),
        "{}",
        render(&j)
    );
    let last_fault = faults.last().map(|e| e.seq).unwrap_or_default();
    let success = j
        .iter()
        .find(|e| op(e) == "ecs:CreateService" && e.status == Some(200) && e.seq > last_fault)
        .unwrap_or_else(|| {
            panic!(
                "no successful CreateService after the faults:\n{}",
                render(&j)
            )
        });

    // The report names every absorbed error, verbatim, one per injected failure.
    assert_eq!(report.absorbed.len(), faults.len(), "{:?}", report.absorbed);
    for a in &report.absorbed {
        assert_eq!(a.code, SLR_CODE);
        assert_eq!(a.message, SLR_MESSAGE);
    }

    // The cost is the window, not the deadline: the role stayed invisible `window` after the
    // first failed CreateService, and the loop kept retrying through it, so the successful
    // CreateService came after the role became visible plus at most about one backoff cap
    // (250 ms) and a little scheduling slack. Measured on the journal's clock, from the first
    // failure (the retry loop's own cost), so a slow emulator answering the steps before it does
    // not count.
    let first = faults[0];
    let first_ms = first.at_ms as f64 + first.duration_ms;
    let success_ms = success.at_ms as f64;
    let span = Duration::from_secs_f64((success_ms - first_ms).max(0.0) / 1000.0);
    println!("first failure -> CreateService succeeded: {span:?}");
    assert!(
        success_ms + 50.0 >= visible_ms,
        "CreateService succeeded at {success_ms} ms, inside the window (role visible at {visible_ms} ms)?\n{}",
        render(&j)
    );
    assert!(
        success_ms < visible_ms + 1500.0,
        "CreateService succeeded {:.0} ms after the role became visible: the loop did not keep \
         retrying through the {window:?} window (deadline {deadline:?})\n{}",
        success_ms - visible_ms,
        render(&j)
    );
    assert!(span >= window.saturating_sub(ms(50)) && span < deadline / 4);
}
