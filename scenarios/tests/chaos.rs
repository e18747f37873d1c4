//! Family 7 — chaos: 20 % throttling plus 20 % flaky answers (500, 503, dropped connections),
//! seeded. Apply converges, destroy leaves nothing, and the same seed gives the same journal.
//!
//! What "the same journal" can mean here: apply runs independent steps concurrently (the five
//! first-level resources, then policy + task definition), so the global arrival order of
//! requests differs from run to run and a plain `Vec<(operation, fault)>` comparison would be
//! flaky for reasons that have nothing to do with the faults. The proxy draws each probability
//! from a hash of (seed, service/operation, how many times that rule has seen that operation),
//! not from one shared random stream, so what is reproducible is, per operation, the ordered
//! sequence of fault decisions its requests received. That is what we compare, for apply and
//! for destroy separately. (It holds because, with the emulator answering at once, the number of
//! requests per operation is itself deterministic: no wait loop polls more than once.)

use std::collections::BTreeMap;

use faultproxy::{JournalEntry, Preset};
use harness::env::{test_env_or_skip, TestEnv};
use provisioner::SlrMode;
use rstest::rstest;

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

fn diff(a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) -> String {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("  {k}: {:?} vs {:?}", a.get(k), b.get(k)))
        .collect::<Vec<_>>()
        .join("\n")
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

    for (what, x, y) in [
        ("apply", &a.apply, &b.apply),
        ("destroy", &a.destroy, &b.destroy),
    ] {
        let (dx, dy) = (decisions_per_operation(x), decisions_per_operation(y));
        assert!(
            dx == dy,
            "same seed, different {what} journals (per operation):\n{}\nrun 1:\n{}\nrun 2:\n{}",
            diff(&dx, &dy),
            render(x),
            render(y)
        );
    }
}
