//! Chaos: 20 % throttling plus 20 % flaky answers (500, 503, dropped connections),
//! seeded. Over many seeds (20 by default, 100 with `SCENARIOS_EXHAUSTIVE=1`), each in a fresh
//! account on the one shared emulator, a few at a time: apply converges (the provisioner's own
//! EC2 lookups included), the plan after it is empty, destroy leaves nothing (read by name and by
//! listing the account: common/chaos.rs); a failing seed is named with its error and the end of
//! its journal. And the same seed gives the same journal.
//! The transient-retry policy runs with its production codes and attempts and a millisecond
//! backoff (the harness's test client settings), so the family stays fast.
//!
//! What "the same journal" can mean here: apply runs independent steps concurrently (the five
//! first-level resources, then policy + task definition), so the global arrival order of
//! requests differs from run to run and a plain `Vec<(operation, fault)>` comparison would be
//! flaky for reasons that have nothing to do with the faults. The proxy draws each probability
//! from a hash of (seed, service/operation, how many times that rule has seen that operation),
//! not from one shared random stream, so what is reproducible is, per operation, the ordered
//! sequence of fault decisions its requests received: the i-th request of an operation gets the
//! same decision in both runs. The rules count from when they are set, through apply and then
//! destroy, so the sequence compared is the operation's whole one, apply's requests then
//! destroy's. How many requests an operation gets is not fixed (on a slow emulator a wait loop
//! polls more often, an SDK attempt times out and is retried), so the two runs are compared
//! over each operation's common prefix.

use std::collections::BTreeMap;

use faultproxy::{JournalEntry, Preset};
use harness::env::{test_env_or_skip, TestEnv};
use provisioner::SlrMode;
use rstest::rstest;

use crate::common::chaos::library_seed;
use crate::common::sweep::{sweep, CHAOS_SEEDS, CHAOS_SEEDS_EXHAUSTIVE};
use crate::common::*;

const SEED: u64 = 20_260_101;
const CHAOS: [&str; 2] = ["throttle=20", "flaky=20"];

struct Run {
    apply: Vec<JournalEntry>,
    destroy: Vec<JournalEntry>,
}

async fn chaos_run(env: TestEnv, label: &str) -> Run {
    announce(&env, label);
    let aws = Aws::new(&env);
    // Network lookups happen before the chaos starts (they are the harness's, not the stack's).
    let stack = env.stack(spec(&env, "chaos", SlrMode::Ensure).await);
    let names = stack.names().clone();
    env.proxy.apply_preset(&Preset::seed(SEED)); // before the rules: they derive their seeds from it
    for p in CHAOS {
        env.proxy.apply_preset(&Preset::parse(p).expect("preset"));
    }
    env.proxy.clear_journal();

    let report = apply_ok(&stack, retry_fast()).await;
    let apply = journal(&env);
    env.proxy.clear_journal();
    assert!(report.outputs.ecs_service_arn.is_some());
    destroy_ok(&stack, false).await;
    let destroy = journal(&env);

    // Checked without chaos: nothing of the stack is left.
    env.proxy.set_rules(vec![]).expect("valid rules");
    let left = aws.leftovers(&names).await;
    assert!(left.is_empty(), "{label}: left after destroy: {left:?}");
    println!(
        "{label}: apply {} requests ({} injected failures), destroy {} requests ({} injected)",
        apply.len(),
        injected(&apply, None).len(),
        destroy.len(),
        injected(&destroy, None).len()
    );
    Run { apply, destroy }
}

/// Operations whose decisions differ within the requests both runs made, with both sequences.
fn diff(a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) -> String {
    a.iter()
        .filter_map(|(k, x)| Some((k, x, b.get(k)?)))
        .filter(|(_, x, y)| {
            let n = x.len().min(y.len());
            x[..n] != y[..n]
        })
        .map(|(k, x, y)| format!("  {k}: {x:?} vs {y:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Decisions both runs made (per operation, the shorter sequence), and how many were faults.
fn compared(
    a: &BTreeMap<String, Vec<String>>,
    b: &BTreeMap<String, Vec<String>>,
) -> (usize, usize) {
    a.iter()
        .filter_map(|(k, x)| Some((x, b.get(k)?)))
        .map(|(x, y)| {
            let n = x.len().min(y.len());
            (n, x[..n].iter().filter(|d| d.as_str() != "-").count())
        })
        .fold((0, 0), |(n, f), (dn, df)| (n + dn, f + df))
}

#[rstest]
#[tokio::test]
async fn seeded_chaos_converges_destroys_cleanly_and_replays_identically(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    fixture_env!(first, test_env_or_skip, "chaos");
    let second = TestEnv::new()
        .await
        .expect("a second env on the same emulator");
    let (a, b) = tokio::join!(
        Box::pin(chaos_run(first, "chaos run 1")),
        Box::pin(chaos_run(second, "chaos run 2"))
    );

    let faults = injected(&a.apply, None).len() + injected(&a.destroy, None).len();
    assert!(
        faults >= 5,
        "chaos injected only {faults} failures:\n{}",
        render(&a.apply)
    );

    let whole = |r: &Run| [r.apply.as_slice(), r.destroy.as_slice()].concat();
    let (x, y) = (whole(&a), whole(&b));
    let (dx, dy) = (decisions_per_operation(&x), decisions_per_operation(&y));
    let (decisions, faults_compared) = compared(&dx, &dy);
    let differ = diff(&dx, &dy);
    assert!(
        differ.is_empty(),
        "same seed, different journals (per operation, apply then destroy):\n{differ}\nrun 1:\n{}\nrun 2:\n{}",
        render(&x),
        render(&y)
    );
    assert!(
        faults_compared > 0,
        "the two runs share {decisions} decisions and none of them is a fault: nothing replayed"
    );
}

#[rstest]
#[tokio::test]
async fn every_seed_converges_plans_empty_and_destroys_cleanly(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    fixture_env!(_probe, test_env_or_skip, "chaos sweep");
    sweep("chaos", &CHAOS, CHAOS_SEEDS, CHAOS_SEEDS_EXHAUSTIVE, |s| {
        library_seed(s, &CHAOS)
    })
    .await;
}
