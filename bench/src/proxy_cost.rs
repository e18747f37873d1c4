//! Part 2: what our proxy adds to a request, side by side with nginx, against an upstream that
//! answers instantly.
//!
//! Layout (each on its own threads): the trivial upstream on a 1-thread runtime; our proxies
//! (one without rules, one with a realistic 20-rule set that matches nothing, one with every
//! behaviour model and catalogue row on: `fresh-account`) each on `workers`
//! serving threads of their own, as the `faultproxy` command runs (`start_on_threads`); nginx with `worker_processes workers`; the load generator on its own
//! 1-thread runtime. Latency: sequential keep-alive requests, interleaved in rounds over the
//! four targets so background load on the machine hits all of them alike; overhead =
//! percentile(through X) − percentile(direct). Throughput: 64 keep-alive connections.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use faultproxy::{parse_rules, Preset, ProxyConfig, ProxyHandle, UpstreamFlavor};
use serde::Serialize;

use crate::cpu::Probe;
use crate::external_proxy::{ExternalProxy, ProxyCommand};
use crate::http_load::{self, Template, BENCH_ACCOUNT};
use crate::nginx::Nginx;
use crate::stats::{percentile, round};

/// A realistic rule set (presets and scenario rules people write) none of which matches the
/// bench's `ecs:ListClusters` calls in account 210987654321 / ap-northeast-1: several match the
/// service and fail only on operation, account or region, so evaluation does real work.
pub const RULES_JSON: &str = r#"[
  {"name": "throttle-create-service", "service": "ecs", "operation": "CreateService", "probability": 0.2, "seed": 7, "throttle": true},
  {"name": "slr-window", "service": "ecs", "operation": "CreateService", "window": {"after": "ecs:CreateCluster", "duration": "20s"},
   "error": {"statusCode": 400, "code": "InvalidParameterException", "message": "Unable to assume the service linked role. Please verify that the ECS service linked role exists."}},
  {"name": "iam-getrole-lag", "service": "iam", "operation": "GetRole", "first": 2, "error": {"statusCode": 404, "code": "NoSuchEntity"}},
  {"name": "iam-create-throttle", "service": "iam", "operation": "Create*", "probability": 0.1, "throttle": true},
  {"name": "ecr-policy-principal", "service": "ecr", "operation": "SetRepositoryPolicy", "first": 1,
   "error": {"statusCode": 400, "code": "InvalidParameterException", "message": "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'"}},
  {"name": "logs-retention-slow", "service": "logs", "operation": "PutRetentionPolicy", "latency": {"ms": 200, "jitter_ms": 50}},
  {"name": "logs-throttle-other", "service": "logs", "account": "111111111111", "probability": 0.05, "throttle": true},
  {"name": "ec2-request-limit", "service": "ec2", "probability": 0.1, "throttle": true},
  {"name": "ecs-other-account-slow", "service": "ecs", "account": "111111111111", "latency": {"ms": 100}},
  {"name": "ecs-us-east-1-500", "service": "ecs", "region": "us-east-1", "error": {"statusCode": 500, "code": "ServerException"}},
  {"name": "ecs-describe-services-after", "service": "ecs", "operation": "DescribeServices", "after": 3, "error": {"statusCode": 400, "code": "ClusterNotFoundException"}},
  {"name": "ecs-register-td-throttle", "service": "ecs", "operation": "RegisterTaskDefinition", "first": 1, "throttle": true},
  {"name": "ecs-delete-cluster-busy", "service": "ecs", "operation": "DeleteCluster", "error": {"statusCode": 400, "code": "ClusterContainsServicesException"}},
  {"name": "ecs-update-service-drop", "service": "ecs", "operation": "UpdateService", "probability": 0.01, "drop": true},
  {"name": "ecr-create-500", "service": "ecr", "operation": "CreateRepository", "probability": 0.1, "error": {"statusCode": 500, "code": "ServerException"}},
  {"name": "iam-attach-throttle", "service": "iam", "operation": "AttachRolePolicy", "throttle": true},
  {"name": "sts-expired", "service": "sts", "operation": "GetCallerIdentity", "error": {"statusCode": 403, "code": "ExpiredToken"}},
  {"name": "ecs-capacity-window", "service": "ecs", "operation": "PutClusterCapacityProviders", "window": {"after": "ecs:CreateCluster", "duration_ms": 5000},
   "error": {"statusCode": 400, "code": "UpdateInProgressException"}},
  {"name": "ecs-list-other-account", "service": "ecs", "operation": "List*", "account": "222222222222", "throttle": true},
  {"name": "ecs-list-clusters-eu", "service": "ecs", "operation": "ListClusters", "region": "eu-west-1", "latency": {"ms": 50}}
]"#;

#[derive(Debug, Clone)]
pub struct Settings {
    pub workers: usize,
    pub rounds: usize,
    pub requests_per_round: usize,
    pub connections: usize,
    pub throughput_duration: Duration,
    /// Other proxy builds measured alongside (`--compare-proxy`).
    pub compare: Vec<ProxyCommand>,
}

/// Latency distribution of one target, in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_us: f64,
    pub p99_us: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Target {
    pub name: String,
    pub latency: Latency,
    pub rps: f64,
    pub errors: u64,
    /// CPU time of the proxy (for `direct`: of the upstream) per request at 64 connections.
    pub cpu_us_per_req: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProxyCost {
    pub direct: Target,
    pub proxy: Target,
    pub proxy_rules: Target,
    /// The proxy with the `fresh-account` preset: every model and catalogue row on (none of
    /// them watches the bench's `ecs:ListClusters`, so this is what a row costs a request it
    /// does not name).
    pub proxy_models: Target,
    pub nginx: Option<Target>,
    pub nginx_error: Option<String>,
    /// Our proxy on a single-threaded runtime (as inside a `#[tokio::test]`), no rules.
    pub proxy_1t: Option<Target>,
    /// nginx with `worker_processes 1`.
    pub nginx_1w: Option<Target>,
    /// The `--compare-proxy` builds, each its own process (CPU: the whole process).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compared: Vec<Target>,
    pub rules: usize,
    pub workers: usize,
    pub connections: usize,
}

impl ProxyCost {
    /// The `--compare-proxy` builds' figures, one line each on stderr.
    pub fn print_compared(&self) {
        for t in &self.compared {
            eprintln!(
                "bench: compared {}: overhead p50/p99 us {:?}, rps {}, cpu us/req {:?}",
                t.name,
                self.overhead(t),
                t.rps,
                t.cpu_us_per_req
            );
        }
    }

    /// The proxy with every model and row on, beside the plain one, on stderr.
    pub fn print_models(&self) {
        eprintln!(
            "bench: every model and row on: overhead p50/p99 us {:?}, rps {}, cpu us/req {:?} (proxy without: {:?})",
            self.overhead(&self.proxy_models),
            self.proxy_models.rps,
            self.proxy_models.cpu_us_per_req,
            self.proxy.cpu_us_per_req,
        );
    }

    pub fn overhead(&self, t: &Target) -> (f64, f64) {
        (
            round(t.latency.p50_us - self.direct.latency.p50_us, 1),
            round(t.latency.p99_us - self.direct.latency.p99_us, 1),
        )
    }
}

fn runtime(threads: usize, name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()?)
}

/// Our proxy on a current-thread runtime of its own thread (how it runs inside `#[tokio::test]`).
struct OwnThreadProxy {
    handle: ProxyHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Thread name of [`OwnThreadProxy`] (not a prefix of the multi-thread proxy's names).
const ONE_THREAD_NAME: &str = "bench-1t-proxy";

impl OwnThreadProxy {
    fn start(cfg: ProxyConfig) -> anyhow::Result<OwnThreadProxy> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(ONE_THREAD_NAME.into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(anyhow::Error::from(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match faultproxy::start(cfg).await {
                        Ok(h) => {
                            let _ = tx.send(Ok(h.clone()));
                            let _ = stop_rx.await;
                            h.shutdown().await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.into()));
                        }
                    }
                });
            })?;
        let handle = rx
            .recv()
            .context("the single-threaded proxy's thread died")??;
        Ok(OwnThreadProxy {
            handle,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for OwnThreadProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What part 2 measures, each with the threads or processes whose CPU it counts: the upstream
/// directly, the proxy without and with rules, nginx, and the one-thread proxy and one-worker nginx.
/// `BENCH_TARGETS=proxy,nginx` (a profiling aid) keeps only those (direct is always kept).
fn targets(
    upstream: SocketAddr,
    [plain, ruled, models, one_thread]: [SocketAddr; 4],
    nginx_proc: Option<&Nginx>,
    nginx_1w: Option<&Nginx>,
    compared: &[(String, &ExternalProxy)],
) -> Vec<(String, SocketAddr, Probe)> {
    // The serving threads of each proxy (`fproxy<port>-<i>`); the accept loops on the
    // `bench-proxy` runtime cost nothing per request on keep-alive connections.
    let threads_of = |addr: SocketAddr| Probe::Threads(format!("fproxy{}-", addr.port()));
    let mut targets: Vec<(String, SocketAddr, Probe)> = vec![
        (
            "direct".into(),
            upstream,
            Probe::Threads("bench-upstream".into()),
        ),
        ("proxy".into(), plain, threads_of(plain)),
        ("proxy_rules".into(), ruled, threads_of(ruled)),
        ("proxy_models".into(), models, threads_of(models)),
    ];
    if let Some(n) = nginx_proc {
        targets.push(("nginx".into(), n.addr, Probe::ProcessTree(n.pid())));
    }
    targets.push((
        "proxy_1t".into(),
        one_thread,
        Probe::Threads(ONE_THREAD_NAME.into()),
    ));
    if let Some(n) = nginx_1w {
        targets.push(("nginx_1w".into(), n.addr, Probe::ProcessTree(n.pid())));
    }
    for (name, p) in compared {
        targets.push((name.clone(), p.addr, Probe::ProcessTree(p.pid())));
    }

    if let Ok(only) = std::env::var("BENCH_TARGETS") {
        let keep: Vec<&str> = only.split(',').map(str::trim).collect();
        targets.retain(|(name, _, _)| name == "direct" || keep.contains(&name.as_str()));
    }
    targets
}

/// Runs part 2. `nginx` is the executable (or why there is none).
pub fn run(
    settings: Settings,
    nginx: Result<&Path, String>,
    nginx_dir: &Path,
) -> anyhow::Result<ProxyCost> {
    let upstream_rt = runtime(1, "bench-upstream")?;
    let upstream = upstream_rt.block_on(http_load::start_upstream())?;
    let upstream_url: url::Url = format!("http://{upstream}").parse()?;

    let proxy_rt = runtime(settings.workers, "bench-proxy")?;
    let w = settings.workers;
    let plain = proxy_rt.block_on(start_proxy(&upstream_url, w, None))?;
    let ruled = proxy_rt.block_on(start_proxy(&upstream_url, w, None))?;
    let models = proxy_rt.block_on(start_proxy(&upstream_url, w, Some("fresh-account")))?;
    let one_thread = OwnThreadProxy::start(ProxyConfig::new(upstream_url, UpstreamFlavor::Moto))?;
    let rules = parse_rules(RULES_JSON).context("the bench's rule set")?;
    let rule_count = rules.len();
    ruled.set_rules(rules)?;

    let (nginx_proc, nginx_1w, nginx_error) = match nginx {
        Ok(exe) => match (
            Nginx::start(exe, nginx_dir, upstream, settings.workers),
            Nginx::start(exe, &nginx_dir.join("one-worker"), upstream, 1),
        ) {
            (Ok(n), Ok(n1)) => (Some(n), Some(n1), None),
            (Err(e), _) | (_, Err(e)) => (None, None, Some(format!("{e:#}"))),
        },
        Err(why) => (None, None, Some(why)),
    };

    let compared = settings
        .compare
        .iter()
        .map(|c| Ok((c.name.clone(), ExternalProxy::start(c, upstream)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let compared_refs: Vec<(String, &ExternalProxy)> =
        compared.iter().map(|(n, p)| (n.clone(), p)).collect();

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let targets = targets(
        upstream,
        [
            plain.addr(),
            ruled.addr(),
            models.addr(),
            one_thread.handle.addr(),
        ],
        nginx_proc.as_ref(),
        nginx_1w.as_ref(),
        &compared_refs,
    );
    let result = client_rt.block_on(measure(&settings, &targets));
    for (name, proxy, what) in [
        ("proxy", &plain, "proxy"),
        ("proxy_rules", &ruled, "proxy with rules"),
        ("proxy_models", &models, "proxy with every model and row on"),
        ("proxy_1t", &one_thread.handle, "single-threaded proxy"),
    ] {
        if targets.iter().any(|t| t.0 == name) {
            check_classification(proxy, what)?;
        }
    }

    drop(nginx_proc);
    drop(nginx_1w);
    drop(compared_refs);
    drop(compared);
    drop(one_thread);
    proxy_rt.block_on(async {
        plain.shutdown().await;
        ruled.shutdown().await;
        models.shutdown().await;
    });
    proxy_rt.shutdown_timeout(Duration::from_secs(1));
    upstream_rt.shutdown_timeout(Duration::from_secs(1));

    let mut measured = result?;
    let take = |name: &str, m: &mut Vec<Target>| {
        m.iter().position(|t| t.name == name).map(|i| m.remove(i))
    };
    Ok(ProxyCost {
        direct: take("direct", &mut measured).context("direct measured")?,
        proxy: take("proxy", &mut measured).unwrap_or_default(),
        proxy_rules: take("proxy_rules", &mut measured).unwrap_or_default(),
        proxy_models: take("proxy_models", &mut measured).unwrap_or_default(),
        nginx: take("nginx", &mut measured),
        nginx_error,
        proxy_1t: take("proxy_1t", &mut measured),
        nginx_1w: take("nginx_1w", &mut measured),
        compared: measured,
        rules: rule_count,
        workers: settings.workers,
        connections: settings.connections,
    })
}

/// A proxy as the `faultproxy` command serves (one event loop per worker thread), with `preset`
/// (`fresh-account`: every behaviour model and catalogue row on).
async fn start_proxy(
    upstream: &url::Url,
    workers: usize,
    preset: Option<&str>,
) -> anyhow::Result<ProxyHandle> {
    let mut cfg = ProxyConfig::new(upstream.clone(), UpstreamFlavor::Moto);
    if let Some(p) = preset {
        cfg.presets
            .push(Preset::parse(p).context("the bench's preset")?);
    }
    Ok(faultproxy::start_on_threads(cfg, faultproxy::Limits::default(), workers).await?)
}

/// The proxy must have classified the calls (account, service, operation) and injected nothing.
fn check_classification(p: &ProxyHandle, what: &str) -> anyhow::Result<()> {
    let journal = p.journal();
    let Some(last) = journal.last() else {
        bail!("{what}: the journal is empty after the load");
    };
    if last.account.as_deref() != Some(BENCH_ACCOUNT)
        || last.service.as_deref() != Some("ecs")
        || last.operation.as_deref() != Some("ListClusters")
    {
        bail!(
            "{what}: requests were not classified as ecs:ListClusters in {BENCH_ACCOUNT}: {last:?}"
        );
    }
    if let Some(f) = journal.iter().find(|e| e.fault.is_some()) {
        bail!(
            "{what}: a rule fired on the bench's requests, the rule set must match nothing: {f:?}"
        );
    }
    Ok(())
}

async fn measure(
    settings: &Settings,
    targets: &[(String, SocketAddr, Probe)],
) -> anyhow::Result<Vec<Target>> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    // Warm every path (connection pools, nginx upstream keep-alive, allocator).
    for (name, addr, _) in targets {
        http_load::latencies_us(*addr, &Template::list_clusters(*addr), 500, 0)
            .await
            .with_context(|| format!("warming up {name} ({addr})"))?;
    }
    for _ in 0..settings.rounds {
        for (i, (name, addr, _)) in targets.iter().enumerate() {
            let s = http_load::latencies_us(
                *addr,
                &Template::list_clusters(*addr),
                50,
                settings.requests_per_round,
            )
            .await
            .with_context(|| format!("latency through {name} ({addr})"))?;
            samples[i].extend(s);
        }
    }
    let mut out = Vec::new();
    for (i, (name, _, _)) in targets.iter().enumerate() {
        out.push(Target {
            name: name.clone(),
            latency: Latency {
                samples: samples[i].len(),
                p50_us: round(percentile(&samples[i], 50.0).unwrap_or(f64::NAN), 1),
                p99_us: round(percentile(&samples[i], 99.0).unwrap_or(f64::NAN), 1),
            },
            rps: 0.0,
            errors: 0,
            cpu_us_per_req: None,
        });
    }
    // Throughput: two interleaved passes, summed.
    let mut totals = vec![(0u64, 0u64, Duration::ZERO, 0f64); targets.len()];
    for _ in 0..2 {
        for (i, (name, addr, probe)) in targets.iter().enumerate() {
            let t = http_load::throughput(
                *addr,
                &Template::list_clusters(*addr),
                settings.connections,
                Duration::from_millis(300),
                settings.throughput_duration,
                Some(probe),
            )
            .await
            .with_context(|| format!("throughput through {name} ({addr})"))?;
            totals[i].0 += t.requests;
            totals[i].1 += t.errors;
            totals[i].2 += t.elapsed;
            totals[i].3 += t.cpu_secs.unwrap_or(0.0);
        }
    }
    for (i, t) in out.iter_mut().enumerate() {
        t.rps = round(totals[i].0 as f64 / totals[i].2.as_secs_f64(), 0);
        t.errors = totals[i].1;
        t.cpu_us_per_req =
            (totals[i].0 > 0).then(|| round(totals[i].3 * 1e6 / totals[i].0 as f64, 2));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_set_is_valid_and_has_twenty_rules() {
        let rules = parse_rules(RULES_JSON).unwrap();
        assert_eq!(rules.len(), 20);
    }
}
