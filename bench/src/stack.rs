//! Part 1: apply / no-op plan / destroy of the example stack against the emulator, through the
//! fault proxy with no faults, each repetition in a fresh account; calls per apply and their
//! critical path from the proxy journal; the emulator's own per-call latency.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use bytes::Bytes;
use faultproxy::JournalEntry;
use harness::emulator::Emulator;
use harness::env::TestEnv;
use provisioner::{ApplyOptions, Clients, DestroyOptions, Progress, RetryPolicy, Stack, StackSpec};
use serde::Serialize;

use crate::critical::{busy_ms, longest_chain, Call};
use crate::http_load::{aws_headers, Conn, Template};
use crate::stats::{median, round};

/// Measurements of one repetition.
#[derive(Debug, Clone, Serialize)]
pub struct Rep {
    pub account: String,
    pub apply_ms: f64,
    pub apply_calls: usize,
    pub critical_path_calls: usize,
    /// Sum of the proxy-side durations of the calls on the critical path.
    pub critical_path_sum_ms: f64,
    /// Time with at least one call in flight at the proxy.
    pub busy_ms: f64,
    pub absorbed_errors: usize,
    pub noop_plan_ms: f64,
    pub noop_plan_calls: usize,
    pub noop_plan_critical_path_calls: usize,
    pub destroy_ms: f64,
    pub destroy_calls: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackResults {
    /// The first apply in this emulator process (not counted: moto imports its service modules lazily).
    pub warmup_apply_ms: f64,
    pub reps: Vec<Rep>,
    pub apply_ms: f64,
    pub apply_calls: usize,
    pub critical_path_calls: usize,
    pub critical_path_sum_ms: f64,
    /// Median time of an apply with at least one call in flight at the proxy; the rest of
    /// `apply_ms` is spent with no call outstanding (SDK, provisioner, scheduling).
    pub apply_busy_ms: f64,
    /// The critical path of the median apply, `service:Operation` in order.
    pub critical_path: Vec<String>,
    pub noop_plan_ms: f64,
    pub noop_plan_calls: usize,
    pub noop_plan_critical_path_calls: usize,
    pub destroy_ms: f64,
    pub destroy_calls: usize,
    /// Median proxy-side duration per operation over all applies, ms.
    pub apply_call_ms_by_operation: BTreeMap<String, f64>,
    /// Median proxy-side duration of all apply calls, ms.
    pub apply_call_median_ms: f64,
    pub emulator_call_ms: f64,
    pub emulator_call_via_proxy_ms: f64,
    /// ListClusters per second direct to the emulator: one connection, then 8 in parallel.
    /// Equal figures mean the emulator answers one call at a time.
    pub emulator_calls_per_sec_1: f64,
    pub emulator_calls_per_sec_8: f64,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

struct OneRep {
    rep: Rep,
    chain: Vec<String>,
    apply_journal: Vec<JournalEntry>,
}

async fn one_rep(emulator: Arc<dyn Emulator>, base: &StackSpec) -> anyhow::Result<OneRep> {
    let env = TestEnv::on(emulator, &[]).await?;
    let net = env
        .network()
        .await
        .context("default network of the fresh account")?;
    let mut spec = base.clone();
    spec.region = env.region.clone();
    spec.service.subnets = net.subnets.clone();
    spec.service.security_groups = net.security_groups.clone();
    let stack = Stack::new(spec, Clients::from_sdk_config(&env.sdk_config()));

    env.proxy.clear_journal();
    let t = Instant::now();
    let report = stack
        .apply(&ApplyOptions::new(RetryPolicy::default()).with_progress(Progress::silent()))
        .await
        .context("apply")?;
    let apply_ms = ms(t);
    let apply_journal = env.proxy.journal();
    if let Some(e) = apply_journal.iter().find(|e| e.fault.is_some()) {
        bail!("the proxy injected a fault during a no-fault apply: {e:?}");
    }
    let apply_calls_seen: Vec<Call> = apply_journal.iter().map(Call::from_entry).collect();
    let chain = longest_chain(&apply_calls_seen);
    let busy = busy_ms(&apply_calls_seen);

    env.proxy.clear_journal();
    let t = Instant::now();
    let plan = stack.plan().await.context("plan after apply")?;
    let noop_plan_ms = ms(t);
    if !plan.is_empty() {
        bail!(
            "plan right after apply is not empty (apply did not converge):\n{}",
            plan.summary()
        );
    }
    let plan_journal = env.proxy.journal();
    let plan_chain = longest_chain(
        &plan_journal
            .iter()
            .map(Call::from_entry)
            .collect::<Vec<_>>(),
    );

    env.proxy.clear_journal();
    let t = Instant::now();
    stack
        .destroy(&DestroyOptions {
            delete_service_linked_role: false,
            retry: RetryPolicy::default(),
            progress: Progress::silent(),
        })
        .await
        .context("destroy")?;
    let destroy_ms = ms(t);
    let destroy_calls = env.proxy.journal().len();

    let rep = Rep {
        account: env.account_id.clone(),
        apply_ms: round(apply_ms, 1),
        apply_calls: apply_journal.len(),
        critical_path_calls: chain.len(),
        critical_path_sum_ms: round(chain.iter().map(|c| c.end_ms - c.start_ms).sum(), 1),
        busy_ms: round(busy, 1),
        absorbed_errors: report.absorbed.len(),
        noop_plan_ms: round(noop_plan_ms, 1),
        noop_plan_calls: plan_journal.len(),
        noop_plan_critical_path_calls: plan_chain.len(),
        destroy_ms: round(destroy_ms, 1),
        destroy_calls,
    };
    env.proxy.clone().shutdown().await;
    Ok(OneRep {
        rep,
        chain: chain.into_iter().map(|c| c.label).collect(),
        apply_journal,
    })
}

/// Median latency (ms) of `n` sequential ECS ListClusters calls to `addr` (moto, or the proxy in
/// front of it) in a fresh account.
pub async fn list_clusters_ms(
    addr: std::net::SocketAddr,
    account: &str,
    n: usize,
) -> anyhow::Result<f64> {
    let template = Template::new(
        aws_headers(&addr.to_string(), account, "ap-northeast-1", "ListClusters"),
        Bytes::from_static(b"{}"),
    )
    .with_header("x-moto-account-id", account);
    let mut conn = Conn::new(addr);
    for _ in 0..10 {
        conn.call_ok(template.request()).await?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let req = template.request();
        let t = Instant::now();
        conn.call_ok(req).await?;
        samples.push(ms(t));
    }
    Ok(median(&samples).unwrap_or(f64::NAN))
}

/// ListClusters per second with `parallel` connections, `per_conn` calls each.
pub async fn list_clusters_rate(
    addr: std::net::SocketAddr,
    account: &str,
    parallel: usize,
    per_conn: usize,
) -> anyhow::Result<f64> {
    let template = Template::new(
        aws_headers(&addr.to_string(), account, "ap-northeast-1", "ListClusters"),
        Bytes::from_static(b"{}"),
    )
    .with_header("x-moto-account-id", account);
    let mut conns = Vec::new();
    for _ in 0..parallel {
        let mut c = Conn::new(addr);
        c.call_ok(template.request()).await?;
        conns.push(c);
    }
    let t = Instant::now();
    let mut tasks = Vec::new();
    for mut c in conns {
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_conn {
                c.call_ok(template.request()).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok((parallel * per_conn) as f64 / t.elapsed().as_secs_f64())
}

fn socket_addr(url: &url::Url) -> anyhow::Result<std::net::SocketAddr> {
    url.socket_addrs(|| None)?
        .into_iter()
        .next()
        .with_context(|| format!("{url} has no socket address"))
}

pub async fn run(emulator: Arc<dyn Emulator>, reps: usize) -> anyhow::Result<StackResults> {
    let base = StackSpec::example();

    let warm = one_rep(emulator.clone(), &base)
        .await
        .context("warm-up repetition")?;
    eprintln!(
        "bench: warm-up apply {:.0} ms ({} calls), plan {:.0} ms, destroy {:.0} ms",
        warm.rep.apply_ms, warm.rep.apply_calls, warm.rep.noop_plan_ms, warm.rep.destroy_ms
    );
    let mut all = Vec::new();
    for i in 0..reps {
        let r = one_rep(emulator.clone(), &base)
            .await
            .with_context(|| format!("repetition {}", i + 1))?;
        eprintln!(
            "bench: rep {:>2}: apply {:>6.1} ms ({} calls, critical path {}), plan {:>5.1} ms ({} calls), destroy {:>6.1} ms ({} calls)",
            i + 1,
            r.rep.apply_ms,
            r.rep.apply_calls,
            r.rep.critical_path_calls,
            r.rep.noop_plan_ms,
            r.rep.noop_plan_calls,
            r.rep.destroy_ms,
            r.rep.destroy_calls
        );
        all.push(r);
    }

    // Emulator per-call latency: direct, and through a proxy.
    let moto = socket_addr(&emulator.endpoint().url)?;
    let probe_env = TestEnv::on(emulator.clone(), &[]).await?;
    let emulator_call_ms = list_clusters_ms(moto, &probe_env.account_id, 200).await?;
    let emulator_call_via_proxy_ms =
        list_clusters_ms(probe_env.proxy.addr(), &probe_env.account_id, 200).await?;
    let emulator_calls_per_sec_1 = list_clusters_rate(moto, &probe_env.account_id, 1, 200).await?;
    let emulator_calls_per_sec_8 = list_clusters_rate(moto, &probe_env.account_id, 8, 25).await?;
    probe_env.proxy.clone().shutdown().await;

    let col = |f: &dyn Fn(&Rep) -> f64| -> f64 {
        median(&all.iter().map(|r| f(&r.rep)).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    let apply_ms = col(&|r| r.apply_ms);
    // The critical path shown is the one of the repetition closest to the median apply.
    let median_rep = all
        .iter()
        .min_by(|a, b| {
            (a.rep.apply_ms - apply_ms)
                .abs()
                .total_cmp(&(b.rep.apply_ms - apply_ms).abs())
        })
        .context("no repetition")?;
    let mut by_op: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut all_calls = Vec::new();
    for r in &all {
        for e in &r.apply_journal {
            let label = format!(
                "{}:{}",
                e.service.as_deref().unwrap_or("?"),
                e.operation.as_deref().unwrap_or("?")
            );
            by_op.entry(label).or_default().push(e.duration_ms);
            all_calls.push(e.duration_ms);
        }
    }
    Ok(StackResults {
        warmup_apply_ms: warm.rep.apply_ms,
        apply_ms: round(apply_ms, 1),
        apply_calls: col(&|r| r.apply_calls as f64).round() as usize,
        critical_path_calls: col(&|r| r.critical_path_calls as f64).round() as usize,
        critical_path_sum_ms: round(col(&|r| r.critical_path_sum_ms), 1),
        apply_busy_ms: round(col(&|r| r.busy_ms), 1),
        critical_path: median_rep.chain.clone(),
        noop_plan_ms: round(col(&|r| r.noop_plan_ms), 1),
        noop_plan_calls: col(&|r| r.noop_plan_calls as f64).round() as usize,
        noop_plan_critical_path_calls: col(&|r| r.noop_plan_critical_path_calls as f64).round()
            as usize,
        destroy_ms: round(col(&|r| r.destroy_ms), 1),
        destroy_calls: col(&|r| r.destroy_calls as f64).round() as usize,
        apply_call_ms_by_operation: by_op
            .into_iter()
            .map(|(k, v)| (k, round(median(&v).unwrap_or(f64::NAN), 2)))
            .collect(),
        apply_call_median_ms: round(median(&all_calls).unwrap_or(f64::NAN), 2),
        emulator_call_ms: round(emulator_call_ms, 2),
        emulator_call_via_proxy_ms: round(emulator_call_via_proxy_ms, 2),
        emulator_calls_per_sec_1: round(emulator_calls_per_sec_1, 0),
        emulator_calls_per_sec_8: round(emulator_calls_per_sec_8, 0),
        reps: all.into_iter().map(|r| r.rep).collect(),
    })
}
