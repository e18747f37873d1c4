//! Part 1b, the pooled account: the apply a user of `harness up` (and of a `harness run` attached
//! to it) gets. It hands out a fresh account warmed by the harness's pool warm-up
//! (`harness::pool::warm`, the same read-only calls the background pool makes) and nothing else;
//! this file does exactly that, then times the provisioner CLI binary's apply in it
//! (`pooled_account_apply_ms`). The stack and the ECS service-linked role are destroyed and the
//! CLI applies again in the same, now fully warm account, making the same calls (it creates the
//! role again): the warm figure is measured the same way (CLI vs CLI, same account, same calls),
//! so `pooled_to_warm_ratio` holds only what the pool's warm-up left cold. (Kept, the role would
//! spare the warm apply CreateServiceLinkedRole and the GetRole polls: not the same work.)
//!
//! Which calls those are comes from the proxy journal: per `service:Operation`, the pooled
//! apply's time in calls minus the warm apply's (`extra_call_ms`, largest first).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use harness::emulator::Emulator;
use harness::env::TestEnv;
use provisioner::{Clients, Stack, StackSpec};
use serde::Serialize;

use crate::cli_apply::{cli_apply, destroy, destroy_all, measured, Measured};
use crate::critical::Call;
use crate::stats::{median, round};

/// How many of the slowest extra calls the results keep.
const EXTRA_CALLS_KEPT: usize = 8;

/// One repetition, in one pooled account.
#[derive(Debug, Clone, Serialize)]
pub struct PooledRep {
    pub account: String,
    /// The pool's warm-up of this account (before any clock of an apply starts).
    pub warm_up_ms: f64,
    pub pooled_cli_apply_ms: f64,
    pub pooled_cli_idle_ms: f64,
    pub pooled_cli_calls: usize,
    pub warm_cli_apply_ms: f64,
    pub warm_cli_idle_ms: f64,
    pub warm_cli_calls: usize,
    /// Per `service:Operation`: time in calls of the pooled apply minus the warm apply's.
    pub extra_call_ms: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PooledResults {
    pub reps: Vec<PooledRep>,
    /// Medians over the repetitions.
    pub pooled_account_apply_ms: f64,
    pub pooled_account_idle_ms: f64,
    /// The CLI's apply in the same account after a destroy (everything warm).
    pub warm_cli_apply_ms: f64,
    /// Median over repetitions of pooled / warm (same account, both CLI).
    pub pooled_to_warm_ratio: f64,
    pub warm_up_ms: f64,
    /// Median extra time per call kind, the largest first (what the warm-up still leaves cold).
    pub extra_call_ms: Vec<(String, f64)>,
}

/// Time in calls per `service:Operation` of one apply.
fn per_label(env: &TestEnv) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for e in env.proxy.journal_for(&env.account_id) {
        let c = Call::from_entry(&e);
        *m.entry(c.label).or_insert(0.0) += c.end_ms - c.start_ms;
    }
    m
}

/// `a − b` per label (a label missing on one side counts as 0 there).
fn minus(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for k in a.keys().chain(b.keys()) {
        let d = a.get(k).copied().unwrap_or(0.0) - b.get(k).copied().unwrap_or(0.0);
        out.insert(k.clone(), round(d, 1));
    }
    out
}

/// One CLI apply in `env`'s account, timed, with its time in calls per kind.
async fn timed_cli(
    bin: &Path,
    config: &Path,
    env: &TestEnv,
    what: &'static str,
) -> anyhow::Result<(Measured, BTreeMap<String, f64>)> {
    env.proxy.clear_journal();
    let t = Instant::now();
    cli_apply(bin, config, env).await.context(what)?;
    Ok((measured(env, t), per_label(env)))
}

async fn one_rep(
    emulator: Arc<dyn Emulator>,
    bin: &Path,
    config: &Path,
) -> anyhow::Result<PooledRep> {
    let endpoint = emulator.endpoint().clone();
    let env = TestEnv::on(emulator, &[]).await?;
    // Exactly what `harness up` does with the account it hands out (launch/mod.rs, pool.rs).
    let t = Instant::now();
    harness::pool::warm(&endpoint, &env.region, &env.account_id).await;
    let warm_up_ms = t.elapsed().as_secs_f64() * 1000.0;

    let mut spec = StackSpec::example();
    spec.region = env.region.clone();
    let stack = Stack::new(spec, Clients::from_sdk_config(&env.sdk_config()));

    let (pooled, pooled_calls) = timed_cli(bin, config, &env, "pooled-account CLI apply").await?;
    // The service-linked role goes too, so the warm apply creates it again, as the first did.
    destroy_all(&stack).await?;
    let (warm, warm_calls) =
        timed_cli(bin, config, &env, "warm CLI apply (pooled account)").await?;
    destroy(&stack).await?;
    env.proxy.clone().shutdown().await;
    Ok(PooledRep {
        account: env.account_id.clone(),
        warm_up_ms: round(warm_up_ms, 1),
        pooled_cli_apply_ms: round(pooled.ms, 1),
        pooled_cli_idle_ms: round(pooled.idle_ms, 1),
        pooled_cli_calls: pooled.calls,
        warm_cli_apply_ms: round(warm.ms, 1),
        warm_cli_idle_ms: round(warm.idle_ms, 1),
        warm_cli_calls: warm.calls,
        extra_call_ms: minus(&pooled_calls, &warm_calls),
    })
}

pub async fn run(
    emulator: Arc<dyn Emulator>,
    bin: &Path,
    config: &Path,
    reps: usize,
) -> anyhow::Result<PooledResults> {
    let mut all = Vec::new();
    for i in 0..reps.max(1) {
        let r = one_rep(emulator.clone(), bin, config)
            .await
            .with_context(|| format!("pooled-account repetition {}", i + 1))?;
        eprintln!(
            "bench: pooled rep {:>2}: warm-up {:>6.1} ms, pooled CLI apply {:>6.1} ms (idle {:.1}, {} calls), then warm CLI {:>6.1} ms ({} calls)",
            i + 1,
            r.warm_up_ms,
            r.pooled_cli_apply_ms,
            r.pooled_cli_idle_ms,
            r.pooled_cli_calls,
            r.warm_cli_apply_ms,
            r.warm_cli_calls,
        );
        all.push(r);
    }
    Ok(summarise(all))
}

fn summarise(all: Vec<PooledRep>) -> PooledResults {
    let col = |f: &dyn Fn(&PooledRep) -> f64| -> f64 {
        round(
            median(&all.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN),
            2,
        )
    };
    let mut labels: Vec<String> = all
        .iter()
        .flat_map(|r| r.extra_call_ms.keys().cloned())
        .collect();
    labels.sort();
    labels.dedup();
    let mut extra: Vec<(String, f64)> = labels
        .into_iter()
        .map(|l| {
            let v = col(&|r| r.extra_call_ms.get(&l).copied().unwrap_or(0.0));
            (l, round(v, 1))
        })
        .collect();
    extra.sort_by(|a, b| b.1.total_cmp(&a.1));
    extra.truncate(EXTRA_CALLS_KEPT);
    PooledResults {
        pooled_account_apply_ms: round(col(&|r| r.pooled_cli_apply_ms), 1),
        pooled_account_idle_ms: round(col(&|r| r.pooled_cli_idle_ms), 1),
        warm_cli_apply_ms: round(col(&|r| r.warm_cli_apply_ms), 1),
        pooled_to_warm_ratio: col(&|r| r.pooled_cli_apply_ms / r.warm_cli_apply_ms),
        warm_up_ms: round(col(&|r| r.warm_up_ms), 1),
        extra_call_ms: extra,
        reps: all,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(pooled: f64, warm: f64, extra: &[(&str, f64)]) -> PooledRep {
        PooledRep {
            account: "000000000001".into(),
            warm_up_ms: 10.0,
            pooled_cli_apply_ms: pooled,
            pooled_cli_idle_ms: 1.0,
            pooled_cli_calls: 40,
            warm_cli_apply_ms: warm,
            warm_cli_idle_ms: 1.0,
            warm_cli_calls: 40,
            extra_call_ms: extra.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn minus_counts_a_missing_label_as_zero() {
        let a: BTreeMap<String, f64> = [("iam:GetRole".into(), 30.0), ("ecs:X".into(), 5.0)].into();
        let b: BTreeMap<String, f64> = [("iam:GetRole".into(), 10.0), ("ec2:Y".into(), 2.0)].into();
        let d = minus(&a, &b);
        assert_eq!(d["iam:GetRole"], 20.0);
        assert_eq!(d["ecs:X"], 5.0);
        assert_eq!(d["ec2:Y"], -2.0);
    }

    #[test]
    fn summary_takes_medians_and_sorts_the_extra_calls() {
        let s = summarise(vec![
            rep(300.0, 200.0, &[("iam:GetRole", 50.0), ("ec2:Y", 1.0)]),
            rep(220.0, 200.0, &[("iam:GetRole", 40.0)]),
            rep(260.0, 200.0, &[("iam:GetRole", 60.0), ("ec2:Y", 90.0)]),
        ]);
        assert_eq!(s.pooled_account_apply_ms, 260.0);
        assert_eq!(s.pooled_to_warm_ratio, 1.3);
        assert_eq!(s.extra_call_ms[0], ("iam:GetRole".to_string(), 50.0));
        assert_eq!(s.extra_call_ms[1], ("ec2:Y".to_string(), 1.0));
    }
}
