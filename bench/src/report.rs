//! results.json (flat keys as named in the issue, machine facts, targets, details) and
//! results.md (the table, then what bounds each figure).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::proxy_cost::ProxyCost;
use crate::stack::StackResults;
use crate::startup::StartTimes;
use crate::stats::round;

pub const TARGET_APPLY_MS: f64 = 500.0;
pub const TARGET_NOOP_PLAN_MS: f64 = 150.0;
pub const TARGET_OVERHEAD_RATIO: f64 = 1.5;
pub const TARGET_PROXY_RPS: f64 = 5000.0;

#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub cores: usize,
    pub rustc_version: Option<String>,
    pub moto_version: Option<String>,
    pub nginx_version: Option<String>,
    pub timestamp: String,
    pub emulator: String,
    pub proxy_workers: usize,
}

/// The headline figures. Field names are the keys of results.json.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub apply_ms: f64,
    pub noop_plan_ms: f64,
    pub destroy_ms: f64,
    pub apply_calls: usize,
    pub critical_path_calls: usize,
    pub emulator_call_ms: f64,
    /// critical_path_calls × emulator_call_ms.
    pub apply_lower_bound_ms: f64,
    pub noop_plan_calls: usize,
    pub noop_plan_critical_path_calls: usize,
    /// noop_plan_critical_path_calls × emulator_call_ms.
    pub noop_plan_lower_bound_ms: f64,
    pub destroy_calls: usize,
    pub proxy_overhead_p50_us: f64,
    pub proxy_overhead_p99_us: f64,
    pub proxy_rules_overhead_p50_us: f64,
    pub proxy_rules_overhead_p99_us: f64,
    pub nginx_overhead_p50_us: Option<f64>,
    pub nginx_overhead_p99_us: Option<f64>,
    pub direct_p50_us: f64,
    pub direct_p99_us: f64,
    pub direct_rps: f64,
    pub proxy_rps: f64,
    pub proxy_rules_rps: f64,
    pub nginx_rps: Option<f64>,
    /// CPU time our proxy spends per request at 64 connections (robust to other load).
    pub proxy_cpu_us_per_req: Option<f64>,
    pub proxy_rules_cpu_us_per_req: Option<f64>,
    pub nginx_cpu_us_per_req: Option<f64>,
    /// The same on one thread: our proxy on a current-thread runtime (as inside a
    /// `#[tokio::test]`), nginx with `worker_processes 1`.
    pub proxy_1t_overhead_p50_us: Option<f64>,
    pub proxy_1t_overhead_p99_us: Option<f64>,
    pub nginx_1w_overhead_p50_us: Option<f64>,
    pub nginx_1w_overhead_p99_us: Option<f64>,
    pub proxy_1t_rps: Option<f64>,
    pub nginx_1w_rps: Option<f64>,
    pub proxy_1t_cpu_us_per_req: Option<f64>,
    pub nginx_1w_cpu_us_per_req: Option<f64>,
    pub moto_process_start_ms: Option<f64>,
    pub moto_process_ready_ms: Option<f64>,
    pub moto_container_start_ms: Option<f64>,
    pub localstack_container_start_ms: Option<f64>,
    /// Why a figure is null.
    pub null_reasons: BTreeMap<String, String>,
    #[serde(flatten)]
    pub facts: Facts,
}

/// One checked target.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub metric: &'static str,
    pub target: String,
    pub value: Option<f64>,
    pub met: Option<bool>,
}

impl Results {
    pub fn new(facts: Facts, s: &StackResults, p: &ProxyCost, st: &StartTimes) -> Results {
        let (po50, po99) = p.overhead(&p.proxy);
        let (pr50, pr99) = p.overhead(&p.proxy_rules);
        let nginx = p.nginx.as_ref().map(|n| p.overhead(n));
        let mut null_reasons = BTreeMap::new();
        if p.nginx.is_none() {
            let why = p
                .nginx_error
                .clone()
                .unwrap_or_else(|| "nginx not run".into());
            for k in [
                "nginx_overhead_p50_us",
                "nginx_overhead_p99_us",
                "nginx_rps",
            ] {
                null_reasons.insert(k.to_string(), why.clone());
            }
        }
        for (key, t) in [
            ("moto_process_start_ms", &st.moto_process),
            ("moto_process_ready_ms", &st.moto_process_ready),
            ("moto_container_start_ms", &st.moto_container),
            ("localstack_container_start_ms", &st.localstack_container),
        ] {
            if let Some(r) = &t.reason {
                null_reasons.insert(key.to_string(), r.clone());
            }
        }
        Results {
            apply_ms: s.apply_ms,
            noop_plan_ms: s.noop_plan_ms,
            destroy_ms: s.destroy_ms,
            apply_calls: s.apply_calls,
            critical_path_calls: s.critical_path_calls,
            emulator_call_ms: s.emulator_call_ms,
            apply_lower_bound_ms: round(s.critical_path_calls as f64 * s.emulator_call_ms, 1),
            noop_plan_calls: s.noop_plan_calls,
            noop_plan_critical_path_calls: s.noop_plan_critical_path_calls,
            noop_plan_lower_bound_ms: round(
                s.noop_plan_critical_path_calls as f64 * s.emulator_call_ms,
                1,
            ),
            destroy_calls: s.destroy_calls,
            proxy_overhead_p50_us: po50,
            proxy_overhead_p99_us: po99,
            proxy_rules_overhead_p50_us: pr50,
            proxy_rules_overhead_p99_us: pr99,
            nginx_overhead_p50_us: nginx.map(|n| n.0),
            nginx_overhead_p99_us: nginx.map(|n| n.1),
            direct_p50_us: p.direct.latency.p50_us,
            direct_p99_us: p.direct.latency.p99_us,
            direct_rps: p.direct.rps,
            proxy_rps: p.proxy.rps,
            proxy_rules_rps: p.proxy_rules.rps,
            nginx_rps: p.nginx.as_ref().map(|n| n.rps),
            proxy_cpu_us_per_req: p.proxy.cpu_us_per_req,
            proxy_rules_cpu_us_per_req: p.proxy_rules.cpu_us_per_req,
            nginx_cpu_us_per_req: p.nginx.as_ref().and_then(|n| n.cpu_us_per_req),
            proxy_1t_overhead_p50_us: p.proxy_1t.as_ref().map(|t| p.overhead(t).0),
            proxy_1t_overhead_p99_us: p.proxy_1t.as_ref().map(|t| p.overhead(t).1),
            nginx_1w_overhead_p50_us: p.nginx_1w.as_ref().map(|t| p.overhead(t).0),
            nginx_1w_overhead_p99_us: p.nginx_1w.as_ref().map(|t| p.overhead(t).1),
            proxy_1t_rps: p.proxy_1t.as_ref().map(|t| t.rps),
            nginx_1w_rps: p.nginx_1w.as_ref().map(|t| t.rps),
            proxy_1t_cpu_us_per_req: p.proxy_1t.as_ref().and_then(|t| t.cpu_us_per_req),
            nginx_1w_cpu_us_per_req: p.nginx_1w.as_ref().and_then(|t| t.cpu_us_per_req),
            moto_process_start_ms: st.moto_process.median_ms,
            moto_process_ready_ms: st.moto_process_ready.median_ms,
            moto_container_start_ms: st.moto_container.median_ms,
            localstack_container_start_ms: st.localstack_container.median_ms,
            null_reasons,
            facts,
        }
    }

    pub fn checks(&self) -> Vec<Check> {
        let ratio_target = self
            .nginx_overhead_p50_us
            .map(|n| n * TARGET_OVERHEAD_RATIO);
        vec![
            Check {
                metric: "apply_ms",
                target: format!("<= {TARGET_APPLY_MS}"),
                value: Some(self.apply_ms),
                met: Some(self.apply_ms <= TARGET_APPLY_MS),
            },
            Check {
                metric: "noop_plan_ms",
                target: format!("<= {TARGET_NOOP_PLAN_MS}"),
                value: Some(self.noop_plan_ms),
                met: Some(self.noop_plan_ms <= TARGET_NOOP_PLAN_MS),
            },
            Check {
                metric: "proxy_overhead_p50_us",
                target: match ratio_target {
                    Some(t) => format!("<= 1.5 x nginx = {t:.1}"),
                    None => "<= 1.5 x nginx (nginx not measured)".into(),
                },
                value: Some(self.proxy_overhead_p50_us),
                met: ratio_target.map(|t| self.proxy_overhead_p50_us <= t),
            },
            Check {
                metric: "proxy_rps",
                target: format!(">= {TARGET_PROXY_RPS}"),
                value: Some(self.proxy_rps),
                met: Some(self.proxy_rps >= TARGET_PROXY_RPS),
            },
        ]
    }

    /// The results.json document: the flat keys, the user-facing keys (`user`, flattened in
    /// beside them), the targets, then the details.
    pub fn to_json(
        &self,
        s: &StackResults,
        p: &ProxyCost,
        st: &StartTimes,
        user: &impl Serialize,
        more_details: &serde_json::Value,
    ) -> serde_json::Result<String> {
        #[derive(Serialize)]
        struct Details<'a> {
            stack: &'a StackResults,
            proxy: &'a ProxyCost,
            startup: &'a StartTimes,
            #[serde(flatten)]
            more: &'a serde_json::Value,
        }
        #[derive(Serialize)]
        struct Doc<'a, U: Serialize> {
            #[serde(flatten)]
            results: &'a Results,
            #[serde(flatten)]
            user: &'a U,
            targets: Vec<Check>,
            details: Details<'a>,
        }
        serde_json::to_string_pretty(&Doc {
            results: self,
            user,
            targets: self.checks(),
            details: Details {
                stack: s,
                proxy: p,
                startup: st,
                more: more_details,
            },
        })
    }

    pub fn markdown(&self, s: &StackResults, p: &ProxyCost) -> String {
        let checks = self.checks();
        let status = |metric: &str| {
            checks
                .iter()
                .find(|c| c.metric == metric)
                .map(|c| match c.met {
                    Some(true) => format!("{} ✅", c.target),
                    Some(false) => format!("{} ❌", c.target),
                    None => c.target.clone(),
                })
                .unwrap_or_default()
        };
        let f = self;
        let mut rows = self.stack_rows(&status);
        rows.extend(self.proxy_rows(&status));
        rows.extend(self.one_thread_rows());
        rows.extend(self.startup_rows());
        for r in &mut rows {
            if r.1 == "null" {
                let key = r.0.split(' ').next().unwrap_or_default();
                if let Some(why) = f.null_reasons.get(key) {
                    r.2 = format!("null: {}", truncate(why, 140));
                }
            }
        }
        let mut md = String::new();
        let _ = writeln!(md, "# Bench results\n");
        let _ = writeln!(
            md,
            "{} cores · {} · moto {} · nginx {} · proxy/nginx workers {} · {}\n",
            f.facts.cores,
            f.facts.rustc_version.as_deref().unwrap_or("rustc ?"),
            f.facts.moto_version.as_deref().unwrap_or("?"),
            f.facts.nginx_version.as_deref().unwrap_or("?"),
            f.facts.proxy_workers,
            f.facts.timestamp
        );
        let _ = writeln!(md, "| metric | value | target / note |");
        let _ = writeln!(md, "|---|---:|---|");
        for (k, v, t) in rows {
            let _ = writeln!(md, "| {k} | {v} | {t} |");
        }
        md.push_str(&bounds(f, s, p));
        md
    }

    /// Rows of the markdown table: apply / plan / destroy figures and their call counts.
    fn stack_rows(&self, status: &dyn Fn(&str) -> String) -> Vec<Row> {
        let f = self;
        vec![
            (
                "apply_ms".into(),
                format!("{:.1}", f.apply_ms),
                status("apply_ms"),
            ),
            (
                "noop_plan_ms".into(),
                format!("{:.1}", f.noop_plan_ms),
                status("noop_plan_ms"),
            ),
            (
                "destroy_ms".into(),
                format!("{:.1}", f.destroy_ms),
                String::new(),
            ),
            (
                "apply_calls".into(),
                f.apply_calls.to_string(),
                String::new(),
            ),
            (
                "critical_path_calls".into(),
                f.critical_path_calls.to_string(),
                String::new(),
            ),
            (
                "emulator_call_ms".into(),
                format!("{:.2}", f.emulator_call_ms),
                String::new(),
            ),
            (
                "apply_lower_bound_ms (critical_path_calls × emulator_call_ms)".into(),
                format!("{:.1}", f.apply_lower_bound_ms),
                String::new(),
            ),
            (
                "noop_plan_calls / critical path".into(),
                format!(
                    "{} / {}",
                    f.noop_plan_calls, f.noop_plan_critical_path_calls
                ),
                String::new(),
            ),
            (
                "destroy_calls".into(),
                f.destroy_calls.to_string(),
                String::new(),
            ),
        ]
    }

    /// Rows of the markdown table: the proxy next to nginx: latency, throughput, CPU.
    fn proxy_rows(&self, status: &dyn Fn(&str) -> String) -> Vec<Row> {
        let f = self;
        vec![
            (
                "direct_p50_us / p99".into(),
                format!("{:.1} / {:.1}", f.direct_p50_us, f.direct_p99_us),
                String::new(),
            ),
            (
                "proxy_overhead_p50_us".into(),
                format!("{:.1}", f.proxy_overhead_p50_us),
                format!(
                    "{} — {}",
                    status("proxy_overhead_p50_us"),
                    ratio_note(Some(f.proxy_overhead_p50_us), f.nginx_overhead_p50_us)
                ),
            ),
            (
                "proxy_overhead_p99_us".into(),
                format!("{:.1}", f.proxy_overhead_p99_us),
                String::new(),
            ),
            (
                "proxy_rules_overhead_p50_us".into(),
                format!("{:.1}", f.proxy_rules_overhead_p50_us),
                String::new(),
            ),
            (
                "proxy_rules_overhead_p99_us".into(),
                format!("{:.1}", f.proxy_rules_overhead_p99_us),
                String::new(),
            ),
            (
                "nginx_overhead_p50_us".into(),
                opt(f.nginx_overhead_p50_us, 1),
                String::new(),
            ),
            (
                "nginx_overhead_p99_us".into(),
                opt(f.nginx_overhead_p99_us, 1),
                String::new(),
            ),
            (
                "direct_rps".into(),
                format!("{:.0}", f.direct_rps),
                String::new(),
            ),
            (
                "proxy_rps".into(),
                format!("{:.0}", f.proxy_rps),
                status("proxy_rps"),
            ),
            (
                "proxy_rules_rps".into(),
                format!("{:.0}", f.proxy_rules_rps),
                String::new(),
            ),
            ("nginx_rps".into(), opt(f.nginx_rps, 0), String::new()),
            (
                "proxy / proxy_rules / nginx CPU µs per request".into(),
                format!(
                    "{} / {} / {}",
                    opt(f.proxy_cpu_us_per_req, 1),
                    opt(f.proxy_rules_cpu_us_per_req, 1),
                    opt(f.nginx_cpu_us_per_req, 1)
                ),
                String::new(),
            ),
        ]
    }

    /// Rows of the markdown table: the one-thread proxy next to one-worker nginx.
    fn one_thread_rows(&self) -> Vec<Row> {
        let f = self;
        vec![
            (
                "1 thread: proxy_1t / nginx_1w overhead p50 µs".into(),
                format!(
                    "{} / {}",
                    opt(f.proxy_1t_overhead_p50_us, 1),
                    opt(f.nginx_1w_overhead_p50_us, 1)
                ),
                ratio_note(f.proxy_1t_overhead_p50_us, f.nginx_1w_overhead_p50_us),
            ),
            (
                "1 thread: proxy_1t / nginx_1w overhead p99 µs".into(),
                format!(
                    "{} / {}",
                    opt(f.proxy_1t_overhead_p99_us, 1),
                    opt(f.nginx_1w_overhead_p99_us, 1)
                ),
                String::new(),
            ),
            (
                "1 thread: proxy_1t / nginx_1w req/s".into(),
                format!("{} / {}", opt(f.proxy_1t_rps, 0), opt(f.nginx_1w_rps, 0)),
                String::new(),
            ),
            (
                "1 thread: proxy_1t / nginx_1w CPU µs per request".into(),
                format!(
                    "{} / {}",
                    opt(f.proxy_1t_cpu_us_per_req, 1),
                    opt(f.nginx_1w_cpu_us_per_req, 1)
                ),
                String::new(),
            ),
        ]
    }

    /// Rows of the markdown table: emulator start-up times.
    fn startup_rows(&self) -> Vec<Row> {
        let f = self;
        vec![
            (
                "moto_process_start_ms".into(),
                opt(f.moto_process_start_ms, 0),
                String::new(),
            ),
            (
                "moto_process_ready_ms (spawn → ready + warm-up)".into(),
                opt(f.moto_process_ready_ms, 0),
                String::new(),
            ),
            (
                "moto_container_start_ms".into(),
                opt(f.moto_container_start_ms, 0),
                String::new(),
            ),
            (
                "localstack_container_start_ms".into(),
                opt(f.localstack_container_start_ms, 0),
                String::new(),
            ),
        ]
    }
}

/// One markdown row: metric, value, target or note.
type Row = (String, String, String);

/// A figure that may be missing (`null` in results.json).
fn opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) => format!("{x:.digits$}"),
        None => "null".into(),
    }
}

fn ratio_note(ours: Option<f64>, nginx: Option<f64>) -> String {
    match (ours, nginx) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2} × nginx", a / b),
        _ => String::new(),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// The "what bounds each figure" section, from the measured details.
fn bounds(f: &Results, s: &StackResults, p: &ProxyCost) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "\n## What bounds each figure\n");
    let _ = writeln!(
        md,
        "- **apply** ({} calls): critical path of {} calls (longest chain of calls each sent after the previous \
         one was answered, from the proxy journal): `{}`. Lower bound {} × {:.2} ms (ListClusters direct to moto) \
         = {:.1} ms; the same calls as measured at the proxy sum to {:.1} ms (moto's writes cost more than \
         ListClusters; median apply call {:.2} ms). Through the proxy a ListClusters takes {:.2} ms. \
         At least one call was in flight during {:.1} ms of the apply; the other {:.1} ms had none outstanding \
         (SDK, provisioner, scheduling). moto answers about one call at a time (one Python process, the GIL: \
         {:.0} ListClusters/s on one connection, {:.0}/s on 8), so parallel calls queue and the serialized bound \
         {} calls × {:.2} ms = {:.1} ms is the tighter one.",
        f.apply_calls,
        f.critical_path_calls,
        s.critical_path.join(" → "),
        f.critical_path_calls,
        f.emulator_call_ms,
        f.apply_lower_bound_ms,
        s.critical_path_sum_ms,
        s.apply_call_median_ms,
        s.emulator_call_via_proxy_ms,
        s.apply_busy_ms,
        f.apply_ms - s.apply_busy_ms,
        s.emulator_calls_per_sec_1,
        s.emulator_calls_per_sec_8,
        f.apply_calls,
        f.emulator_call_ms,
        f.apply_calls as f64 * f.emulator_call_ms,
    );
    let mut slow: Vec<(&String, &f64)> = s.apply_call_ms_by_operation.iter().collect();
    slow.sort_by(|a, b| b.1.total_cmp(a.1));
    let slow: Vec<String> = slow
        .iter()
        .take(6)
        .map(|(k, v)| format!("{k} {v:.1} ms"))
        .collect();
    let _ = writeln!(
        md,
        "  Slowest apply calls (median at the proxy): {}.",
        slow.join(", ")
    );
    let _ = writeln!(
        md,
        "- **no-op plan** ({} read calls, critical path {}): lower bound {:.1} ms; serialized (moto answers one \
         call at a time) {} × {:.2} = {:.1} ms.",
        f.noop_plan_calls,
        f.noop_plan_critical_path_calls,
        f.noop_plan_lower_bound_ms,
        f.noop_plan_calls,
        f.emulator_call_ms,
        f.noop_plan_calls as f64 * f.emulator_call_ms
    );
    let _ = writeln!(
        md,
        "- **destroy** ({} calls): deletes in dependency order (service before cluster) and waits for the service and cluster to go INACTIVE.",
        f.destroy_calls
    );
    let _ = writeln!(
        md,
        "- **proxy cost**: instant upstream answers in {:.1} µs p50 direct (client + loopback + hyper server). Our proxy \
         adds {:.1} µs p50 / {:.1} µs p99 ({:.1} / {:.1} with {} rules), nginx {}. Throughput at {} connections on {} \
         cores is bounded by the CPU the client, the proxy and the upstream share: direct {:.0} req/s, proxy {:.0}, \
         proxy+rules {:.0}, nginx {}.",
        f.direct_p50_us,
        f.proxy_overhead_p50_us,
        f.proxy_overhead_p99_us,
        f.proxy_rules_overhead_p50_us,
        f.proxy_rules_overhead_p99_us,
        p.rules,
        match (f.nginx_overhead_p50_us, f.nginx_overhead_p99_us) {
            (Some(a), Some(b)) => format!("{a:.1} µs p50 / {b:.1} µs p99"),
            _ => "not measured".into(),
        },
        p.connections,
        f.facts.cores,
        f.direct_rps,
        f.proxy_rps,
        f.proxy_rules_rps,
        f.nginx_rps.map(|r| format!("{r:.0}")).unwrap_or_else(|| "not measured".into()),
    );
    let _ = writeln!(
        md,
        "- **start-up**: Python importing moto and werkzeug binding (readiness polled every 50 ms), then the \
         harness's warm-up calls (one cheap call per service, so the first test does not pay moto's lazy imports); \
         `moto_process_start_ms` is `emulator::start(Backend::Moto)` (also locates moto), `moto_process_ready_ms` \
         is the process start alone. Containers add container creation; LocalStack's readiness is its health \
         endpoint (no ECS/ECR without a token, so no warm-up)."
    );
    md
}
