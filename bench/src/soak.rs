//! The proxy's soak: 256 concurrent keep-alive clients (`--soak-clients`) for 60 s
//! (`--soak-secs`) through the `faultproxy` binary (its own process, so its RSS is its own) with
//! `flaky` on, in front of the trivial upstream. Reports requests served, errors by kind (the
//! injected 500/503 answers, dropped connections, anything else), and the proxy's RSS from
//! `/proc/PID/status` at start, after the warm-up, at its highest and at the end, with the
//! journal's bounds.
//!
//! The held figure is the RSS growth over the measured window, the run's last 5 minutes (the
//! last half of a shorter run): `rss_growth_window_mib`, next to its bound
//! [`RSS_GROWTH_BOUND_MIB`]. The journal is a ring of 50,000 entries (about 0.6 KiB each, ~30
//! MiB when full) that grows until it is full; growth measured while it still fills is the ring,
//! not a leak, so the soak reads the journal's bounds when the window starts and says whether the
//! ring was full by then (`journal_full_before_window`). Only a window that starts with a full
//! ring is held to the bound (`rss_growth_met` is null otherwise, with the reason).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::http_load::{self, Conn, Template};

/// What the soak runs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub clients: usize,
    pub duration: Duration,
    /// The fault preset the proxy runs with (`flaky`: 10 % of calls get 500, 503 or a drop).
    pub preset: String,
    /// RSS sampling period.
    pub sample_every: Duration,
}

/// RSS growth allowed over the measured window, MiB.
pub const RSS_GROWTH_BOUND_MIB: f64 = 1.0;
/// The held figure's key at results.json's top level (`rss_growth_window_mib`).
pub const TOP_LEVEL_FIGURE: &str = "soak_rss_growth_window_mib";
/// The measured window: the run's last 5 minutes.
const WINDOW: Duration = Duration::from_secs(300);

/// The measured window of a run of `duration`: its last 5 minutes, or its last half.
fn window(duration: Duration) -> Duration {
    WINDOW.min(duration / 2)
}

/// One soak's figures.
#[derive(Debug, Serialize)]
pub struct Soak {
    pub clients: usize,
    pub secs: f64,
    pub preset: String,
    /// Requests that got an answer or a dropped connection, all kinds.
    pub requests: u64,
    pub ok: u64,
    pub rps: f64,
    /// `status code` for answered errors, `dropped connection`, `connect failed`, `other: ...`.
    pub errors_by_kind: BTreeMap<String, u64>,
    pub rss_start_kib: u64,
    /// After the first 10 s (or a sixth of the run): the level the journal and pools grow to.
    pub rss_after_warmup_kib: u64,
    pub rss_max_kib: u64,
    pub rss_end_kib: u64,
    /// Length of the measured window (the last 5 minutes, or the last half of a shorter run).
    pub window_s: f64,
    /// RSS at the window's start and at its end (the last sample under load).
    pub rss_window_start_kib: u64,
    pub rss_window_end_kib: u64,
    /// `(rss_window_end_kib - rss_window_start_kib) / 1024`.
    pub rss_growth_window_mib: f64,
    pub rss_growth_bound_mib: f64,
    /// `rss_growth_window_mib <= rss_growth_bound_mib`; null when the journal's ring was not
    /// full when the window started (then the growth includes the ring filling).
    pub rss_growth_met: Option<bool>,
    /// Why `rss_growth_met` is null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_growth_null_reason: Option<String>,
    /// Whether the journal had discarded entries (its ring full) when the window started.
    pub journal_full_before_window: bool,
    /// `GET /_harness/journal/stats` when the window started.
    pub journal_at_window_start: serde_json::Value,
    /// `(seconds since start, KiB)` samples.
    pub rss_timeline: Vec<(f64, u64)>,
    /// Open file descriptors of the proxy (its client and upstream connections) at the window's
    /// start and at its end: connections kept idle grow with the load's peaks, and their buffers
    /// with them.
    pub fds_window_start: usize,
    pub fds_window_end: usize,
    /// `GET /_harness/journal/stats` at the end: capacity, kept, dropped.
    pub journal: serde_json::Value,
}

impl Soak {
    /// One line: requests, errors, the RSS figures and the journal's bounds.
    pub fn summary(&self) -> String {
        format!(
            "bench: soak: {} requests ({:.0}/s), {} ok, errors {:?}; proxy RSS {} KiB at start, \
             {} after warm-up, {} max, {} at the end; over the last {:.0} s {:+.3} MiB (bound {} \
             MiB, met {:?}); open fds {} -> {}; journal {} at the window's start, {} at the end",
            self.requests,
            self.rps,
            self.ok,
            self.errors_by_kind,
            self.rss_start_kib,
            self.rss_after_warmup_kib,
            self.rss_max_kib,
            self.rss_end_kib,
            self.window_s,
            self.rss_growth_window_mib,
            self.rss_growth_bound_mib,
            self.rss_growth_met,
            self.fds_window_start,
            self.fds_window_end,
            self.journal_at_window_start,
            self.journal
        )
    }
}

/// The proxy process; killed when dropped.
struct ProxyProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_proxy(
    bin: &std::path::Path,
    upstream: SocketAddr,
    preset: &str,
) -> anyhow::Result<ProxyProcess> {
    let mut child = Command::new(bin)
        .args(["--upstream", &format!("http://{upstream}")])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--flavor",
            "other",
            "--seed",
            "1",
        ])
        .args(["--preset", preset])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().context("the proxy's stdout")?;
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .context("reading the proxy's endpoint line")?;
    let addr = first
        .trim()
        .strip_prefix("AWS_ENDPOINT_URL=http://")
        .and_then(|a| a.parse().ok());
    let Some(addr) = addr else {
        let _ = child.kill();
        bail!("the proxy printed {first:?} instead of AWS_ENDPOINT_URL=http://ADDR");
    };
    Ok(ProxyProcess { child, addr })
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line in /proc/PID/status")
}

/// How many file descriptors `pid` has open.
fn open_fds(pid: u32) -> anyhow::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("reading /proc/{pid}/fd"))?
        .count())
}

/// The error kind of one answer or failure.
fn kind(result: &anyhow::Result<(http::StatusCode, bytes::Bytes)>) -> Option<String> {
    match result {
        Ok((status, _)) if status.is_success() => None,
        Ok((status, body)) => {
            let code = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["__type"].as_str().map(str::to_string))
                .unwrap_or_else(|| "?".into());
            Some(format!("{} {code}", status.as_u16()))
        }
        Err(e) if format!("{e:#}").starts_with("connecting to") => Some("connect failed".into()),
        Err(e)
            if format!("{e:#}").contains("connection closed")
                || format!("{e:#}").contains("reset") =>
        {
            Some("dropped connection".into())
        }
        Err(e) => Some(format!(
            "other: {}",
            format!("{e:#}").chars().take(80).collect::<String>()
        )),
    }
}

/// Runs the soak on `rt` with the proxy binary `bin`.
pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    s: &Settings,
) -> anyhow::Result<Soak> {
    let upstream = rt.block_on(http_load::start_upstream())?;
    let proxy = spawn_proxy(bin, upstream, &s.preset)?;
    let pid = proxy.child.id();
    let t0 = Instant::now();
    let rss_start = rss_kib(pid)?;
    let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let template = Template::list_clusters(proxy.addr);
    let tasks: Vec<_> = (0..s.clients)
        .map(|_| {
            let (counts, stop, template, addr) =
                (counts.clone(), stop.clone(), template.clone(), proxy.addr);
            rt.spawn(async move {
                let mut conn = Conn::new(addr);
                let mut mine: BTreeMap<String, u64> = BTreeMap::new();
                while !stop.load(Ordering::Relaxed) {
                    let result = conn.send(template.request()).await;
                    let k = kind(&result).unwrap_or_else(|| "ok".into());
                    *mine.entry(k).or_default() += 1;
                }
                let mut all = counts.lock().unwrap_or_else(|e| e.into_inner());
                for (k, n) in mine {
                    *all.entry(k).or_default() += n;
                }
            })
        })
        .collect();
    let start = Instant::now();
    let sampled = sample(rt, pid, proxy.addr, s, t0, rss_start);
    stop.store(true, Ordering::Relaxed);
    let Samples {
        mut timeline,
        after_warmup,
        at_window_start,
        last,
        last_fds: fds_window_end,
    } = sampled?;
    let (rss_window_start, journal_at_window_start, fds_window_start) =
        at_window_start.unwrap_or((rss_start, serde_json::Value::Null, 0));
    let journal_full_before_window = journal_at_window_start["dropped"]
        .as_u64()
        .is_some_and(|d| d > 0);
    let growth_mib = (last as f64 - rss_window_start as f64) / 1024.0;
    let secs = start.elapsed().as_secs_f64();
    rt.block_on(async {
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
    });
    let rss_end = rss_kib(pid)?;
    timeline.push((t0.elapsed().as_secs_f64(), rss_end));
    let journal = rt.block_on(journal_stats(proxy.addr))?;
    let mut errors_by_kind = counts.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let ok = errors_by_kind.remove("ok").unwrap_or(0);
    let requests = ok + errors_by_kind.values().sum::<u64>();
    Ok(Soak {
        clients: s.clients,
        secs,
        preset: s.preset.clone(),
        requests,
        ok,
        rps: requests as f64 / secs,
        errors_by_kind,
        rss_start_kib: rss_start,
        rss_after_warmup_kib: after_warmup.unwrap_or(rss_end),
        rss_max_kib: timeline.iter().map(|t| t.1).max().unwrap_or(rss_end),
        rss_end_kib: rss_end,
        window_s: window(s.duration).as_secs_f64(),
        rss_window_start_kib: rss_window_start,
        rss_window_end_kib: last,
        rss_growth_window_mib: (growth_mib * 1000.0).round() / 1000.0,
        rss_growth_bound_mib: RSS_GROWTH_BOUND_MIB,
        rss_growth_met: journal_full_before_window.then_some(growth_mib <= RSS_GROWTH_BOUND_MIB),
        rss_growth_null_reason: (!journal_full_before_window).then(|| {
            format!(
                "the journal's ring was not full when the measured window started \
                 ({journal_at_window_start}): run longer (--soak-secs)"
            )
        }),
        journal_full_before_window,
        journal_at_window_start,
        rss_timeline: timeline,
        fds_window_start,
        fds_window_end,
        journal,
    })
}

/// What the sampler saw while the load ran.
struct Samples {
    /// `(seconds since t0, KiB)`, starting with the RSS at `t0`.
    timeline: Vec<(f64, u64)>,
    /// The first sample after the warm-up.
    after_warmup: Option<u64>,
    /// RSS, the journal's bounds and the open descriptors when the measured window started.
    at_window_start: Option<(u64, serde_json::Value, usize)>,
    /// The last sample under load, and the open descriptors then.
    last: u64,
    last_fds: usize,
}

/// Samples the proxy's RSS every `sample_every` for `duration`, one sample exactly at the
/// measured window's start, with the journal's bounds read then.
fn sample(
    rt: &tokio::runtime::Runtime,
    pid: u32,
    addr: SocketAddr,
    s: &Settings,
    t0: Instant,
    rss_start: u64,
) -> anyhow::Result<Samples> {
    let warmup = (s.duration / 6).min(Duration::from_secs(10));
    let window_from = s.duration - window(s.duration);
    let mut out = Samples {
        timeline: vec![(0.0, rss_start)],
        after_warmup: None,
        at_window_start: None,
        last: rss_start,
        last_fds: 0,
    };
    let start = Instant::now();
    while start.elapsed() < s.duration {
        let until_window = window_from.saturating_sub(start.elapsed());
        let next = if out.at_window_start.is_none() && !until_window.is_zero() {
            s.sample_every.min(until_window)
        } else {
            s.sample_every
        };
        std::thread::sleep(next.min(s.duration.saturating_sub(start.elapsed())));
        let rss = rss_kib(pid)?;
        out.timeline.push((t0.elapsed().as_secs_f64(), rss));
        out.last = rss;
        out.last_fds = open_fds(pid)?;
        if out.after_warmup.is_none() && start.elapsed() >= warmup {
            out.after_warmup = Some(rss);
        }
        if out.at_window_start.is_none() && start.elapsed() >= window_from {
            let journal = rt.block_on(journal_stats(addr))?;
            out.at_window_start = Some((rss, journal, open_fds(pid)?));
        }
    }
    Ok(out)
}

async fn journal_stats(addr: SocketAddr) -> anyhow::Result<serde_json::Value> {
    let mut conn = Conn::new(addr);
    let req = http::Request::get("/_harness/journal/stats")
        .header(http::header::HOST, addr.to_string())
        .body(http_body_util::Full::new(bytes::Bytes::new()))?;
    let (status, body) = conn.send(req).await?;
    if !status.is_success() {
        bail!("GET /_harness/journal/stats answered {status}");
    }
    Ok(serde_json::from_slice(&body)?)
}

/// Writes the soak into `results.json` under `details.soak`, keeping what is there.
pub fn merge_into_results(path: &std::path::Path, soak: &Soak) -> anyhow::Result<()> {
    let mut doc: serde_json::Value = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not JSON; move it away to start a new one",
                path.display()
            )
        })?,
        Err(_) => serde_json::json!({}),
    };
    let Some(root) = doc.as_object_mut() else {
        bail!("{} is not a JSON object", path.display());
    };
    let details = root
        .entry("details")
        .or_insert_with(|| serde_json::json!({}));
    let Some(details) = details.as_object_mut() else {
        bail!("{}: `details` is not an object", path.display());
    };
    details.insert("soak".into(), serde_json::to_value(soak)?);
    root.insert(
        TOP_LEVEL_FIGURE.into(),
        serde_json::json!(soak.rss_growth_window_mib),
    );
    std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_last_five_minutes_or_the_last_half() {
        assert_eq!(window(Duration::from_secs(600)), Duration::from_secs(300));
        assert_eq!(window(Duration::from_secs(60)), Duration::from_secs(30));
    }

    #[test]
    fn error_kinds() {
        let ok = Ok((http::StatusCode::OK, bytes::Bytes::new()));
        assert_eq!(kind(&ok), None);
        let e = Ok((
            http::StatusCode::SERVICE_UNAVAILABLE,
            bytes::Bytes::from_static(br#"{"__type":"ServiceUnavailable","message":"m"}"#),
        ));
        assert_eq!(kind(&e).unwrap(), "503 ServiceUnavailable");
        let c = Err(anyhow::anyhow!("refused").context("connecting to 127.0.0.1:1"));
        assert_eq!(kind(&c).unwrap(), "connect failed");
    }
}
