//! Part 1c: how long past the service-linked role's visibility window the provisioner keeps
//! waiting, in real time (the provisioner's waits are not scaled by the proxy's `time-scale`, so
//! a scaled window would measure a different wait). Per window (default 5 s and 20 s), each in a
//! fresh account behind a proxy with `slr-delay=WINDOW`:
//!
//! - **ensure** (the default mode; `harness repro` act 3): the `service_linked_role` step's
//!   elapsed time (CreateServiceLinkedRole, then GetRole until it answers) minus the window:
//!   `slr_wait_overshoot_ms`.
//! - **implicit, retries on** (`harness repro` act 2): from the role's creation (the end of the
//!   successful ECS CreateCluster, which creates it) to the arrival of the CreateService that
//!   succeeded, minus the window: `retry_overshoot_ms`. The whole apply minus the window (what
//!   act 2 prints; it also counts the stack's other steps) is `retry_apply_minus_window_ms`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use faultproxy::JournalEntry;
use harness::emulator::Emulator;
use harness::env::TestEnv;
use provisioner::resources::service_linked_role::KIND as SLR_STEP;
use provisioner::{ApplyOptions, Clients, Progress, RetryPolicy, SlrMode, Stack};
use serde::Serialize;

use crate::stats::round;

/// One window's measurements.
#[derive(Debug, Clone, Serialize)]
pub struct WindowRun {
    /// The window as given, e.g. `5s`.
    pub window: String,
    pub window_ms: f64,
    /// ensure: the whole apply, and its service-linked-role step.
    pub ensure_apply_ms: f64,
    pub ensure_slr_step_ms: f64,
    pub slr_wait_overshoot_ms: f64,
    /// implicit + retries: the whole apply, errors absorbed, overshoots.
    pub retry_apply_ms: f64,
    pub retry_absorbed: usize,
    pub retry_overshoot_ms: f64,
    pub retry_apply_minus_window_ms: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A fresh account behind a proxy with `slr-delay=window`, and the example stack in `mode`.
async fn stage(
    emulator: Arc<dyn Emulator>,
    window: Duration,
    mode: SlrMode,
) -> anyhow::Result<(TestEnv, Stack)> {
    let preset = format!("slr-delay={}ms", window.as_millis());
    let env = TestEnv::on(emulator, &[preset.as_str()]).await?;
    let mut spec = env.spec("bench-wait").await.context("default VPC lookup")?;
    spec.service_linked_role = mode;
    // The provisioner as a user runs it: its own SDK settings, its default retry policy.
    let stack = Stack::new(spec, Clients::from_sdk_config(&env.sdk_config()));
    Ok((env, stack))
}

/// ms from the end of the successful ECS CreateCluster (which creates the role) to the arrival of
/// the first successful ECS CreateService, minus the window. `None` when either call is missing.
pub fn retry_overshoot_ms(journal: &[JournalEntry], window_ms: f64) -> Option<f64> {
    let ok = |e: &&JournalEntry, op: &str| {
        e.service.as_deref() == Some("ecs")
            && e.operation.as_deref() == Some(op)
            && e.status == Some(200)
            && e.fault.is_none()
    };
    let created = journal.iter().find(|e| ok(e, "CreateCluster"))?;
    let created_end = created.at_ms as f64 + created.duration_ms;
    let service = journal
        .iter()
        .find(|e| ok(e, "CreateService") && e.seq > created.seq)?;
    Some(service.at_ms as f64 - created_end - window_ms)
}

async fn one_window(emulator: Arc<dyn Emulator>, window: Duration) -> anyhow::Result<WindowRun> {
    let label = humantime::format_duration(window).to_string();
    let window_ms = ms(window);
    let apply_opts = ApplyOptions::new(RetryPolicy::default()).with_progress(Progress::silent());

    let (env, stack) = stage(emulator.clone(), window, SlrMode::Ensure).await?;
    let t = Instant::now();
    let report = Box::pin(stack.apply(&apply_opts))
        .await
        .context("ensure-mode apply")?;
    let ensure_apply_ms = ms(t.elapsed());
    let step = report
        .steps
        .iter()
        .find(|s| s.kind == SLR_STEP)
        .with_context(|| format!("the ensure-mode apply reported no {SLR_STEP} step"))?;
    let ensure_slr_step_ms = ms(step.elapsed);
    env.proxy.clone().shutdown().await;

    let (env, stack) = stage(emulator, window, SlrMode::Implicit).await?;
    env.proxy.clear_journal();
    let t = Instant::now();
    let report = Box::pin(stack.apply(&apply_opts))
        .await
        .context("implicit-mode apply with retries")?;
    let retry_apply_ms = ms(t.elapsed());
    let journal = env.proxy.journal_for(&env.account_id);
    let Some(retry_overshoot) = retry_overshoot_ms(&journal, window_ms) else {
        bail!("the implicit-mode apply's journal has no successful ecs:CreateCluster then ecs:CreateService");
    };
    if report.absorbed.is_empty() {
        bail!(
            "slr-delay={label}: the implicit-mode apply absorbed no error: the delay did not hit"
        );
    }
    env.proxy.clone().shutdown().await;

    Ok(WindowRun {
        window: label,
        window_ms,
        ensure_apply_ms: round(ensure_apply_ms, 1),
        ensure_slr_step_ms: round(ensure_slr_step_ms, 1),
        slr_wait_overshoot_ms: round(ensure_slr_step_ms - window_ms, 1),
        retry_apply_ms: round(retry_apply_ms, 1),
        retry_absorbed: report.absorbed.len(),
        retry_overshoot_ms: round(retry_overshoot, 1),
        retry_apply_minus_window_ms: round(retry_apply_ms - window_ms, 1),
    })
}

pub async fn run(
    emulator: Arc<dyn Emulator>,
    windows: &[Duration],
) -> anyhow::Result<Vec<WindowRun>> {
    let mut out = Vec::new();
    for &w in windows {
        let r = one_window(emulator.clone(), w)
            .await
            .with_context(|| format!("slr-delay={}", humantime::format_duration(w)))?;
        eprintln!(
            "bench: slr-delay={}: ensure wait {:.0} ms (overshoot {:.0} ms); implicit+retry apply {:.0} ms, {} absorbed (overshoot {:.0} ms)",
            r.window,
            r.ensure_slr_step_ms,
            r.slr_wait_overshoot_ms,
            r.retry_apply_ms,
            r.retry_absorbed,
            r.retry_overshoot_ms
        );
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, at_ms: u64, op: &str, status: u16, dur: f64) -> JournalEntry {
        serde_json::from_value(serde_json::json!({
            "seq": seq, "at_ms": at_ms, "account": "111122223333", "region": "ap-northeast-1",
            "service": "ecs", "operation": op, "status": status, "fault": null, "duration_ms": dur
        }))
        .expect("journal entry JSON")
    }

    #[test]
    fn overshoot_runs_from_the_cluster_answer_to_the_successful_create_service() {
        let journal = vec![
            entry(1, 100, "CreateCluster", 200, 20.0),
            entry(2, 130, "CreateService", 400, 2.0),
            entry(3, 5_300, "CreateService", 200, 10.0),
        ];
        // Role created at 120 ms; window 5000 ms ends at 5120; success arrived at 5300.
        assert_eq!(retry_overshoot_ms(&journal, 5_000.0), Some(180.0));
    }

    #[test]
    fn missing_calls_give_none() {
        let journal = vec![entry(1, 100, "CreateCluster", 200, 20.0)];
        assert_eq!(retry_overshoot_ms(&journal, 5_000.0), None);
        assert_eq!(retry_overshoot_ms(&[], 5_000.0), None);
    }
}
