//! Crash and resume: the proxy lets the first k requests of an apply through and
//! drops every connection after that (rule trigger `after`), as if the machine running the apply
//! had died at that point. The apply fails; with the faults cleared, a re-apply converges with no
//! duplicate resources (one cluster, one service, one task-definition revision) and an empty plan.
//!
//! N, the number of AWS requests a full apply makes, is measured first to place the crash points.
//! It is not fixed (on a slow emulator wait loops poll more, SDK attempts time out and retry), so
//! each crash point's apply is checked against itself: it crashed (exactly k requests through,
//! the next dropped, the apply failed) or it needed no more than k (it succeeded, nothing
//! dropped). A sampled subset of 1..=N always runs; the exhaustive sweep over every k runs with
//! `SCENARIOS_EXHAUSTIVE=1`, and its absence is reported loudly.

use faultproxy::Rule;
use futures::StreamExt;
use harness::env::{test_env_or_skip, TestEnv};
use provisioner::SlrMode;
use rstest::rstest;

use crate::common::*;

const CONCURRENCY: usize = 8;

/// AWS API requests of the env's account (what rules count).
fn api_requests(env: &TestEnv) -> usize {
    journal(env).iter().filter(|e| e.service.is_some()).count()
}

/// The requests the crash rule let through, once none is in flight any more.
///
/// A request the rule let through is journaled when its answer goes back; if the apply gave up
/// on it first (a loaded emulator answered after the SDK's attempt timeout), it is journaled
/// only when the emulator answers or its connection closes (`proxy:client-gone`), which may come
/// after the apply returned. Drops are journaled at once. So after a crash: one more request
/// (the probe, dropped like every request after the k-th) takes an arrival number after all of
/// the apply's, and every number below it that the journal lacks is a request still in flight.
/// This waits until there is none, bounded by [`IN_FLIGHT_GUARD`] only so a hang fails.
async fn requests_through_after_crash(env: &TestEnv, k: usize) -> Result<usize, String> {
    let aws = Aws::new(env);
    let probe = aws.ecs.list_clusters().send().await;
    if probe.is_ok() {
        return Err(format!(
            "k={k}: a request after the crash got through (ListClusters answered)"
        ));
    }
    let deadline = tokio::time::Instant::now() + IN_FLIGHT_GUARD;
    loop {
        let entries = env.proxy.journal();
        let recorded: std::collections::HashSet<u64> = entries.iter().map(|e| e.seq).collect();
        let last_seq = recorded.iter().copied().max().unwrap_or(0);
        let in_flight = (1..=last_seq).filter(|s| !recorded.contains(s)).count();
        if in_flight == 0 {
            return Ok(entries
                .iter()
                .filter(|e| e.service.is_some() && !e.is_injected_failure())
                .count());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "k={k}: {in_flight} requests still in flight {IN_FLIGHT_GUARD:?} after the crash"
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Only a hang guard: in-flight requests end when the emulator answers or the proxy's upstream
/// deadline passes, far sooner than this.
const IN_FLIGHT_GUARD: std::time::Duration = std::time::Duration::from_secs(180);

/// What happened at one crash point.
enum Crash {
    /// The apply needed no more than k requests: it succeeded, nothing was dropped.
    NotReached,
    /// Request k+1 was dropped and the apply failed.
    Crashed,
}

/// One crash at k: the apply either needs more than k requests (then exactly k got through, the
/// next was dropped and the apply failed) or it does not (then it succeeded and nothing was
/// dropped). How many requests an apply makes is not fixed (a slow emulator makes wait loops
/// poll more often, an SDK attempt may time out), so each run is checked against itself.
async fn crash(env: &TestEnv, k: usize, spec: provisioner::StackSpec) -> Result<Crash, String> {
    let crashed = try_apply(&env.stack(spec), retry_fast()).await;
    let dropped = injected(&journal(env), None).len();
    match (crashed, dropped) {
        (Ok(_), 0) => Ok(Crash::NotReached),
        (Ok(_), _) => Err(format!(
            "k={k}: apply succeeded although {dropped} requests were dropped"
        )),
        (Err(e), 0) => Err(format!(
            "k={k}: apply failed without any dropped request: {e}"
        )),
        (Err(_), _) => match requests_through_after_crash(env, k).await? {
            passed if passed == k => Ok(Crash::Crashed),
            passed => Err(format!(
                "k={k}: {passed} requests got through before the crash, expected {k}"
            )),
        },
    }
}

/// One crash at k, then resume. Returns whether the apply crashed, or a failure description.
async fn crash_at(k: usize) -> Result<Crash, String> {
    let env = TestEnv::new().await.expect("env on the shared emulator");
    let aws = Aws::new(&env);
    let spec = spec(&env, "crash", SlrMode::Ensure).await;
    env.proxy
        .set_rules(vec![Rule::named(format!("crash-after-{k}"))
            .with_after(k as u64)
            .with_drop()])
        .expect("valid rules");
    env.proxy.clear_journal();
    let outcome = crash(&env, k, spec.clone()).await?;

    // Resume: faults cleared, fresh clients (the crashed ones' retry budget is spent).
    env.proxy.set_rules(vec![]).expect("valid rules");
    let stack = env.stack(spec);
    if let Err(e) = try_apply(&stack, retry_fast()).await {
        return Err(format!("k={k}: re-apply failed: {e}"));
    }
    let names = stack.names();
    let clusters: Vec<String> = aws
        .active_clusters()
        .await
        .into_iter()
        .filter(|a| a.ends_with(&format!("/{}", names.cluster)))
        .collect();
    let services = aws.services(&names.cluster).await;
    let revisions = aws.task_definitions(&names.task_family).await;
    if clusters.len() != 1 || services.len() != 1 || revisions.len() != 1 {
        return Err(format!(
            "k={k}: duplicates after resume: clusters {clusters:?}, services {services:?}, task definitions {revisions:?}"
        ));
    }
    match Box::pin(stack.plan()).await {
        Ok(p) if p.is_empty() => Ok(outcome),
        Ok(p) => Err(format!("k={k}: not converged after resume:\n{p}")),
        Err(e) => Err(format!("k={k}: plan after resume failed: {e}")),
    }
}

#[rstest]
#[tokio::test]
async fn crash_after_every_kth_request_then_resume_converges_without_duplicates(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    fixture_env!(env, test_env_or_skip, "crash_resume");

    // N: the AWS requests of one full apply in a fresh account.
    let stack = env.stack(spec(&env, "crash", SlrMode::Ensure).await);
    env.proxy.clear_journal();
    apply_ok(&stack, retry_fast()).await;
    let n = api_requests(&env);
    assert!(n >= 10, "a full apply made only {n} requests?");

    let ks: Vec<usize> = if exhaustive() {
        loud(&format!("crash_resume: exhaustive sweep, k = 1..={n}"));
        (1..=n).collect()
    } else {
        // Only the first request through; points spread over the apply (reads, the parallel
        // creates, policy + task definition, the service); only the last request dropped;
        // and N itself (nothing dropped: the apply succeeds, the resume is a no-op).
        let mut ks = vec![1, n / 4, n / 2, 3 * n / 4, n - 1, n];
        ks.retain(|k| (1..=n).contains(k));
        ks.sort_unstable();
        ks.dedup();
        loud(&format!(
            "crash_resume: SAMPLED sweep, k = {ks:?} of 1..={n}; set {EXHAUSTIVE_ENV}=1 for every k"
        ));
        ks
    };
    println!("full apply = {n} requests; crashing after k = {ks:?}");

    let outcomes: Vec<(usize, Result<Crash, String>)> =
        futures::stream::iter(ks.iter().map(|&k| async move { (k, crash_at(k).await) }))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
    let failures: Vec<&String> = outcomes
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} crash points failed:\n{}",
        failures.len(),
        ks.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let crashed: Vec<usize> = outcomes
        .iter()
        .filter(|(_, r)| matches!(r, Ok(Crash::Crashed)))
        .map(|(k, _)| *k)
        .collect();
    println!("crashed at k = {crashed:?}; the other points' applies needed no more requests");
    // An apply makes at least 10 requests (checked above), so a crash after the first one
    // always stops it: the sweep did crash, whatever the count of the other points.
    assert!(
        crashed.contains(&1),
        "the apply did not crash after its first request (crashed at {crashed:?})"
    );
}
