//! Part 3c, `moto_shards_speedup`: what several moto processes (`HARNESS_MOTO_SHARDS`, default
//! one per core) give a harness serving many accounts at once, against one process, in the same
//! run. The load is the bench's many-accounts apply: `ACCOUNTS` applies of the example stack at
//! once, each in a fresh account with a fault proxy of its own (as the scenario suite's tests
//! are), the accounts drawn over the shards in turn (as the warm-account pool does). Each batch
//! runs on a moto server started for it (after one untimed apply per process, which pays its
//! lazy imports); the figure is the median batch wall time with the default count over the
//! median with one process. The two alternate (default first, then one first), so both meet
//! the same machine load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::future::try_join_all;
use harness::accounts::fresh_account_id_on_shard;
use harness::emulator::moto_process::MotoOptions;
use harness::emulator::moto_shards::{shard_count, MotoShards};
use harness::emulator::Emulator;
use harness::env::TestEnv;
use provisioner::{ApplyOptions, Clients, Progress, RetryPolicy, Stack, StackSpec};
use serde::Serialize;

use crate::stats::{median, round};

/// The default shard count's batch time over one process's: the bound on a 2-core machine.
pub const GOAL_MOTO_SHARDS_SPEEDUP: f64 = 0.75;

/// Applies at once per batch.
const ACCOUNTS: usize = 16;

/// Batches per shard count.
const ROUNDS: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct ShardsRun {
    /// The default count (`HARNESS_MOTO_SHARDS`, else one per core).
    pub shards: usize,
    pub accounts_per_batch: usize,
    pub load: &'static str,
    /// Batch wall times, in the order run: (shards, ms).
    pub batches_ms: Vec<(usize, f64)>,
    pub sharded_batch_ms: f64,
    pub one_process_batch_ms: f64,
    pub moto_shards_speedup: f64,
}

/// Runs the part on a runtime of its own.
pub fn part(cores: usize) -> anyhow::Result<ShardsRun> {
    let shards = shard_count()?;
    if shards < 2 {
        anyhow::bail!(
            "not run: the default is one moto process here ({cores} core(s), or \
             HARNESS_MOTO_SHARDS=1): nothing to compare"
        );
    }
    eprintln!(
        "bench: part 3c: {ACCOUNTS} applies at once on {shards} moto processes vs 1, {ROUNDS} rounds"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("bench-shards")
        .enable_all()
        .build()?;
    let result = rt.block_on(measure(shards));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

async fn measure(shards: usize) -> anyhow::Result<ShardsRun> {
    let options = MotoOptions::from_env().await?;
    let mut batches_ms = Vec::new();
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 {
            [shards, 1]
        } else {
            [1, shards]
        };
        for count in order {
            let ms = batch(&options, count).await?;
            eprintln!("bench: shards: {count} process(es): {ACCOUNTS} applies in {ms:.0} ms");
            batches_ms.push((count, round_ms(ms)));
        }
    }
    let med = |n: usize| {
        let of: Vec<f64> = batches_ms
            .iter()
            .filter(|(c, _)| *c == n)
            .map(|(_, ms)| *ms)
            .collect();
        median(&of).unwrap_or(f64::NAN)
    };
    let (sharded, one) = (med(shards), med(1));
    Ok(ShardsRun {
        shards,
        accounts_per_batch: ACCOUNTS,
        load:
            "16 applies of the example stack at once, each in a fresh account through its own proxy",
        batches_ms,
        sharded_batch_ms: round_ms(sharded),
        one_process_batch_ms: round_ms(one),
        moto_shards_speedup: round(sharded / one, 2),
    })
}

fn round_ms(ms: f64) -> f64 {
    round(ms, 0)
}

/// One batch on a server of `count` moto processes started for it: the wall time of
/// [`ACCOUNTS`] applies at once.
async fn batch(options: &MotoOptions, count: usize) -> anyhow::Result<f64> {
    let moto: Arc<dyn Emulator> = Arc::new(
        MotoShards::start(options, count)
            .await
            .with_context(|| format!("starting {count} moto process(es)"))?,
    );
    // One untimed apply per process: moto imports a service's code on its first call.
    try_join_all((0..count).map(|shard| apply(moto.clone(), shard, count))).await?;
    let started = Instant::now();
    try_join_all((0..ACCOUNTS).map(|i| apply(moto.clone(), i % count, count))).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let _ = tokio::task::spawn_blocking(move || drop(moto)).await;
    Ok(ms)
}

/// The example stack applied in a fresh account on shard `shard` of `count`.
async fn apply(moto: Arc<dyn Emulator>, shard: usize, count: usize) -> anyhow::Result<()> {
    let mut env = TestEnv::on(moto, &[]).await?;
    env.account_id = fresh_account_id_on_shard(shard, count);
    let net = env.network().await.context("default network")?;
    let mut spec = StackSpec::example();
    spec.region = env.region.clone();
    spec.service.subnets = net.subnets.clone();
    spec.service.security_groups = net.security_groups.clone();
    let stack = Stack::new(spec, Clients::from_sdk_config(&env.sdk_config()));
    stack
        .apply(&ApplyOptions::new(RetryPolicy::default()).with_progress(Progress::silent()))
        .await
        .with_context(|| format!("apply in {}", env.account_id))?;
    env.proxy.clone().shutdown().await;
    Ok(())
}
