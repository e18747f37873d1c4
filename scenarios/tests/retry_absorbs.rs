//! Family 2 — the provisioner's retry loop absorbs the seed's error: same fresh-account set-up
//! as family 1, retries on. The journal shows the injected failures, then a successful
//! CreateService; the apply costs about the propagation window, not the retry deadline.

use std::time::Duration;

use provisioner::SlrMode;
use rstest::rstest;

use crate::common::*;

#[rstest]
#[case::one_second_window(1)]
#[case::two_second_window(2)]
#[tokio::test]
async fn retry_absorbs_the_delay_and_costs_the_window_not_the_deadline(#[case] window_s: u64) {
    let window = Duration::from_secs(window_s);
    let preset = format!("slr-delay={window_s}s");
    scenario_env!(env, "retry_absorbs", &[preset.as_str()]);
    let stack = env.stack(spec(&env, "retry", SlrMode::Implicit).await);
    let retry = retry_fast();
    let deadline = retry.create_service_timeout;

    let report = apply_ok(&stack, retry).await;
    println!(
        "apply converged in {:?} (window {window:?}, deadline {deadline:?}), {} error(s) absorbed",
        report.elapsed,
        report.absorbed.len()
    );

    // Journal: >= 1 injected failure on CreateService, and after the last one a 200.
    let j = journal(&env);
    let faults = injected(&j, Some("ecs"));
    assert!(!faults.is_empty(), "no injected failure:\n{}", render(&j));
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
        .find(|e| op(e) == "ecs:CreateService" && e.status == Some(200) && e.seq > last_fault);
    assert!(
        success.is_some(),
        "no successful CreateService after the faults:\n{}",
        render(&j)
    );

    // The report names every absorbed error, verbatim, one per injected failure.
    assert_eq!(report.absorbed.len(), faults.len(), "{:?}", report.absorbed);
    for a in &report.absorbed {
        assert_eq!(a.code, SLR_CODE);
        assert_eq!(a.message, SLR_MESSAGE);
    }

    // Elapsed is close to the window (the last retry lands at most one backoff cap after its
    // end), far from the deadline.
    assert!(
        report.elapsed >= window.mul_f64(0.8),
        "{:?} < window {window:?}: was the delay applied?",
        report.elapsed
    );
    assert!(
        report.elapsed < window + Duration::from_millis(2500),
        "{:?} is not close to the window {window:?}",
        report.elapsed
    );
    assert!(report.elapsed < deadline / 4);
}
