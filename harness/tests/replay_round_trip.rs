//! Why this file exists: a harness journal is a trail too. A run under the `fresh-account`
//! profile, then a run of the same client replaying that run's journal with every behaviour
//! model off, must give the client the same failed calls: per operation and resource, the same
//! sequence of AWS error codes, for 5 seeds. The client is the provisioner applying the tutorial's stack with
//! retries on (scaled windows), in a fresh account each time on one shared emulator.
//!
//! Model answers that rewrite a successful answer (a read lag with no error code) are not
//! failures and are not replayed; they are left out of both sides.
//!
//! Run: `cargo test -p harness --test replay_round_trip -- --nocapture`.

use std::collections::BTreeMap;
use std::time::Duration;

use faultproxy::replay::{self, ReplayBy};
use faultproxy::{JournalEntry, ModelSettings};
use harness::env::TestEnv;
use provisioner::{ApplyOptions, Progress, RetryPolicy, Stack};

/// 0.05: a 20 s window of AWS's runs in 1 s.
const TIME_SCALE: f64 = 0.05;
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// Per operation and resource, the error codes its calls got, in order.
fn failures(entries: &[JournalEntry]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries {
        let Some(code) = e.fault.as_ref().and_then(|f| f.code.clone()) else {
            continue;
        };
        let op = format!(
            "{}:{} {}",
            e.service.as_deref().unwrap_or("?"),
            e.operation.as_deref().unwrap_or("?"),
            e.resource.as_deref().unwrap_or("-")
        );
        out.entry(op).or_default().push(code);
    }
    out
}

async fn env() -> Option<TestEnv> {
    harness::env::ecs_test_env_or_skip().await
}

async fn apply(env: &TestEnv, project: &str, label: &str) -> Stack {
    let spec = env
        .spec(project)
        .await
        .unwrap_or_else(|e| panic!("{label}: default network: {e:#}"));
    let stack = env.stack(spec);
    let retry = RetryPolicy::default()
        .with_backoff(Duration::from_millis(50), Duration::from_millis(250))
        .with_deadline(Duration::from_secs(60));
    let prefix = label.to_string();
    let opts = ApplyOptions::new(retry)
        .with_progress(Progress::custom(move |e| println!("    [{prefix}] {e}")));
    if let Err(e) = Box::pin(stack.apply(&opts)).await {
        panic!("{label}: apply failed: {e}");
    }
    stack
}

#[tokio::test]
async fn a_fresh_account_runs_journal_replays_the_same_failures_to_the_same_client() {
    let mut met = 0;
    for seed in SEEDS {
        let project = format!("rt{seed}");
        // The network lookup (EC2) happens before the models are on: the harness's, not the
        // stack's (as in provisioner_fresh_account.rs).
        let Some(recorded) = env().await else { return };
        let _ = recorded.spec(&project).await;
        let mut models = ModelSettings::fresh_account();
        models.seed = seed;
        models.set_time_scale(TIME_SCALE).expect("time scale");
        let recorded = recorded.with_models(models);
        apply(&recorded, &project, &format!("seed {seed} recorded")).await;
        let journal = recorded.proxy.journal_for(&recorded.account_id);
        let want = failures(&journal);

        let Some(replaying) = env().await else { return };
        let mut off = ModelSettings::default();
        let on: Vec<&str> = off.enabled_names();
        for name in on {
            off.set_enabled(name, false).expect("a registered model");
        }
        let replaying = replaying.with_models(off);
        let text = serde_json::to_string(&journal).expect("journal JSON");
        let rules = replay::derive(&text, ReplayBy::Count, Some(&replaying.account_id))
            .unwrap_or_else(|e| panic!("seed {seed}: the journal does not replay: {e}"));
        replaying
            .proxy
            .add_rules(rules)
            .expect("the replay's rules validate");
        apply(&replaying, &project, &format!("seed {seed} replayed")).await;
        let got = failures(&replaying.proxy.journal_for(&replaying.account_id));

        println!("seed {seed}: failures per operation {want:?}");
        assert_eq!(got, want, "seed {seed}: the replay gave other failures");
        met += want.values().map(Vec::len).sum::<usize>();
    }
    assert!(
        met > 0,
        "no seed met a failure: the round trip compared nothing"
    );
}
