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

    // The cost is the window, not the deadline: from the moment CreateCluster created the role
    // to the successful CreateService, the proxy's clock shows the window plus at most about
    // one backoff cap (250 ms) and a little scheduling slack. Measured on the journal, so a slow
    // first read of the account (emulator warm-up) does not count.
    let cluster = j
        .iter()
        .find(|e| op(e) == "ecs:CreateCluster" && e.status == Some(200))
        .expect("a successful CreateCluster");
    let created_ms = cluster.at_ms as f64 + cluster.duration_ms;
    let span = Duration::from_secs_f64(
        (success.map(|e| e.at_ms as f64).unwrap_or_default() - created_ms).max(0.0) / 1000.0,
    );
    println!("role created -> CreateService succeeded: {span:?}");
    assert!(
        span + Duration::from_millis(50) >= window,
        "CreateService succeeded {span:?} after the role was created, inside the {window:?} window?"
    );
    assert!(
        span < window + Duration::from_millis(1500),
        "{span:?} from role creation to success is not close to the window {window:?}"
    );
    assert!(report.elapsed < deadline / 4);
}
