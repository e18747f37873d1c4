//! The seed sweep the chaos families share (chaos.rs, cli_chaos.rs, many_accounts.rs): seeds
//! `1..=n`, each on a task of its own (a panic fails that seed, not the sweep), `at_once` in
//! flight, each in its own fresh account on the one shared emulator. Every failing seed is
//! reported with its own message; the totals of the converged ones are printed past the runner's
//! capture, so a long exhaustive run shows what it did.

use std::future::Future;
use std::time::Instant;

use futures::StreamExt;

use super::{exhaustive, loud, EXHAUSTIVE_ENV};

/// What one converged seed cost.
pub struct SeedRun {
    pub requests: usize,
    pub injected: usize,
}

/// A sweep's size: seeds and how many run at once, by default and with `SCENARIOS_EXHAUSTIVE=1`.
#[derive(Clone, Copy)]
pub struct Size {
    pub seeds: u64,
    pub at_once: usize,
}

/// The chaos sweeps' size (`chaos`, `cli_chaos`): 20 seeds, 5 at a time; with
/// `SCENARIOS_EXHAUSTIVE=1`, [`CHAOS_SEEDS_EXHAUSTIVE`].
pub const CHAOS_SEEDS: Size = Size {
    seeds: 20,
    at_once: 5,
};
pub const CHAOS_SEEDS_EXHAUSTIVE: Size = Size {
    seeds: 100,
    at_once: 5,
};

/// [`Size`] of this run: `exhaustive` when [`EXHAUSTIVE_ENV`] asks for it, else `default`.
pub fn size(default: Size, exhaustive_size: Size) -> Size {
    if exhaustive() {
        exhaustive_size
    } else {
        default
    }
}

/// Runs `seed(1..=n)` `at_once` at a time and fails naming every seed that failed. `what`
/// names the sweep in its lines (e.g. "chaos", "cli chaos"); `chaos` is the presets on.
pub async fn sweep<F, Fut>(what: &str, chaos: &[&str], default: Size, full: Size, seed: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<SeedRun, String>> + Send + 'static,
{
    let Size { seeds: n, at_once } = size(default, full);
    loud(&format!(
        "{what}: {n} seeds (1..={n}) under {chaos:?}, {at_once} at a time{}",
        if exhaustive() {
            String::new()
        } else {
            format!(
                "; set {EXHAUSTIVE_ENV}=1 for {} seeds, {} at a time",
                full.seeds, full.at_once
            )
        }
    ));
    let start = Instant::now();
    let tasks = (1..=n).map(|s| {
        let task = tokio::spawn(seed(s));
        async move {
            task.await
                .unwrap_or_else(|e| Err(format!("seed {s}: panicked: {e}")))
        }
    });
    let results: Vec<Result<SeedRun, String>> = futures::stream::iter(tasks)
        .buffer_unordered(at_once.max(1))
        .collect()
        .await;
    let (runs, failures): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let runs: Vec<SeedRun> = runs.into_iter().flatten().collect();
    let failures: Vec<String> = failures.into_iter().filter_map(Result::err).collect();
    loud(&format!(
        "{what}: {} of {n} seeds converged ({} requests, {} injected failures absorbed) in {:.1} s",
        runs.len(),
        runs.iter().map(|r| r.requests).sum::<usize>(),
        runs.iter().map(|r| r.injected).sum::<usize>(),
        start.elapsed().as_secs_f64()
    ));
    assert!(
        failures.is_empty(),
        "{} of {n} {what} seeds failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
