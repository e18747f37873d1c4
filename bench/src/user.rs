//! Part 1b: the apply as a user runs it. The in-process figure of part 1 looks the default VPC up
//! before its clock starts, so moto has already built that account's EC2 backend; a user's first
//! `provisioner apply` in a new account pays for every backend moto builds on the account's first
//! call to each service. Per repetition, in one fresh account behind its own proxy:
//!
//! 1. **cold**: the provisioner CLI binary, first thing the account ever sees (`cold_account_apply_ms`);
//! 2. the stack destroyed, then the CLI apply and the in-process apply again in that now-warm
//!    account (alternating which goes first), each followed by a destroy: their difference is the
//!    CLI's own cost (process start, config load, SDK set-up) for the same account state
//!    (`cli_overhead_ms`). Both use the same spec (examples/stack.toml: the service's subnets are
//!    looked up by the provisioner, as a user's would be).
//!
//! For each apply the proxy journal gives the time with no call outstanding (`idle`). Then, in
//! accounts of their own, the same CLI apply in an account handed out as `harness up` hands it
//! out (pooled.rs: `pooled_account_apply_ms`, the figure the cold/warm goal holds).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use harness::emulator::Emulator;
use harness::env::TestEnv;
use provisioner::{Clients, Stack, StackSpec};
use serde::Serialize;

use crate::cli_apply::{cli_apply, destroy, inprocess_apply, measured};
use crate::pooled::{self, PooledResults};
use crate::stats::{median, round};

/// One repetition, in one account.
#[derive(Debug, Clone, Serialize)]
pub struct UserRep {
    pub account: String,
    pub cold_cli_apply_ms: f64,
    pub cold_cli_idle_ms: f64,
    pub cold_cli_calls: usize,
    pub warm_cli_apply_ms: f64,
    pub warm_cli_idle_ms: f64,
    pub warm_inprocess_apply_ms: f64,
    pub warm_inprocess_idle_ms: f64,
    /// Whether the CLI apply ran before the in-process one in the warm account.
    pub cli_first: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserResults {
    pub provisioner_bin: String,
    pub reps: Vec<UserRep>,
    /// Medians over the repetitions.
    pub cold_account_apply_ms: f64,
    pub cold_account_idle_ms: f64,
    pub warm_cli_apply_ms: f64,
    pub warm_inprocess_apply_ms: f64,
    /// Median over repetitions of (warm CLI apply − warm in-process apply), same account.
    pub cli_overhead_ms: f64,
    /// The same CLI apply in an account handed out as `harness up` does (pooled.rs).
    pub pooled: PooledResults,
}

async fn one_rep(
    emulator: Arc<dyn Emulator>,
    bin: &Path,
    config: &Path,
    cli_first: bool,
) -> anyhow::Result<UserRep> {
    let env = TestEnv::on(emulator, &[]).await?;
    let mut spec = StackSpec::example();
    spec.region = env.region.clone();
    let stack = Stack::new(spec, Clients::from_sdk_config(&env.sdk_config()));

    env.proxy.clear_journal();
    let t = Instant::now();
    cli_apply(bin, config, &env)
        .await
        .context("cold CLI apply")?;
    let cold = measured(&env, t);
    destroy(&stack).await?;

    let mut warm_cli = None;
    let mut warm_in = None;
    for cli_turn in [cli_first, !cli_first] {
        env.proxy.clear_journal();
        let t = Instant::now();
        if cli_turn {
            cli_apply(bin, config, &env)
                .await
                .context("warm CLI apply")?;
            warm_cli = Some(measured(&env, t));
        } else {
            inprocess_apply(&stack).await?;
            warm_in = Some(measured(&env, t));
        }
        destroy(&stack).await?;
    }
    let (Some(warm_cli), Some(warm_in)) = (warm_cli, warm_in) else {
        bail!("internal: a warm apply was not measured");
    };
    let rep = UserRep {
        account: env.account_id.clone(),
        cold_cli_apply_ms: round(cold.ms, 1),
        cold_cli_idle_ms: round(cold.idle_ms, 1),
        cold_cli_calls: cold.calls,
        warm_cli_apply_ms: round(warm_cli.ms, 1),
        warm_cli_idle_ms: round(warm_cli.idle_ms, 1),
        warm_inprocess_apply_ms: round(warm_in.ms, 1),
        warm_inprocess_idle_ms: round(warm_in.idle_ms, 1),
        cli_first,
    };
    env.proxy.clone().shutdown().await;
    Ok(rep)
}

pub async fn run(
    emulator: Arc<dyn Emulator>,
    bin: &Path,
    config: &Path,
    reps: usize,
) -> anyhow::Result<UserResults> {
    let mut all = Vec::new();
    for i in 0..reps.max(1) {
        let r = one_rep(emulator.clone(), bin, config, i % 2 == 0)
            .await
            .with_context(|| format!("user-facing repetition {}", i + 1))?;
        eprintln!(
            "bench: user rep {:>2}: cold CLI apply {:>6.1} ms (idle {:.1}), warm CLI {:>6.1} ms, warm in-process {:>6.1} ms",
            i + 1,
            r.cold_cli_apply_ms,
            r.cold_cli_idle_ms,
            r.warm_cli_apply_ms,
            r.warm_inprocess_apply_ms
        );
        all.push(r);
    }
    let pooled = pooled::run(emulator, bin, config, reps).await?;
    let col = |f: &dyn Fn(&UserRep) -> f64| -> f64 {
        round(
            median(&all.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN),
            1,
        )
    };
    Ok(UserResults {
        provisioner_bin: bin.display().to_string(),
        cold_account_apply_ms: col(&|r| r.cold_cli_apply_ms),
        cold_account_idle_ms: col(&|r| r.cold_cli_idle_ms),
        warm_cli_apply_ms: col(&|r| r.warm_cli_apply_ms),
        warm_inprocess_apply_ms: col(&|r| r.warm_inprocess_apply_ms),
        cli_overhead_ms: col(&|r| r.warm_cli_apply_ms - r.warm_inprocess_apply_ms),
        reps: all,
        pooled,
    })
}
