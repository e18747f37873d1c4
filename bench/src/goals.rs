//! The figures of what the user sees and the goals they are held to, each ratio next
//! to its bound. Whether a goal is met is computed from this run's measurements, never assumed;
//! a figure that was not measured gives `met: null` and a reason in `null_reasons`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::harness_run::{RunCost, GOAL_RUN_ATTACH_MS, GOAL_RUN_COLD_MS};
use crate::proxy_cost::ProxyCost;
use crate::report::Results;
use crate::shards::{ShardsRun, GOAL_MOTO_SHARDS_SPEEDUP};
use crate::stack::StackResults;
use crate::stats::{median, round};
use crate::suite::SuiteRun;
use crate::user::UserResults;
use crate::waits::WindowRun;

/// Apply in a fresh account as the harness hands it out (pooled, CLI) over the apply in a warm
/// account (CLI, same account after a destroy): `pooled_to_warm_ratio`.
pub const GOAL_COLD_TO_WARM: f64 = 1.2;
/// Longest wait past the service-linked role's window, ensure mode and retries alike.
pub const GOAL_OVERSHOOT_MS: f64 = 500.0;
/// Proxy CPU per request over nginx's, same load, same run.
pub const GOAL_PROXY_CPU_RATIO: f64 = 1.0;
/// Proxy CPU per request with every behaviour model and catalogue row on over the same proxy
/// with none, same load, same run: a row must cost a request it does not name (almost) nothing.
pub const GOAL_MODELS_CPU_RATIO: f64 = 1.1;
/// The scenario suite's wall time bound (seconds): a suite a developer runs on every change.
pub const GOAL_SUITE_S: f64 = 30.0;

/// One goal: the figure, its value, the bound, and whether this run met it.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub figure: &'static str,
    pub value: Option<f64>,
    /// `<=` or `<`.
    pub relation: &'static str,
    pub bound: f64,
    pub met: Option<bool>,
}

impl Goal {
    fn new(figure: &'static str, value: Option<f64>, relation: &'static str, bound: f64) -> Goal {
        let met = value.map(|v| {
            if relation == "<" {
                v < bound
            } else {
                v <= bound
            }
        });
        Goal {
            figure,
            value,
            relation,
            bound,
            met,
        }
    }
}

/// The user-facing figures; flattened into results.json's top level.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserFacing {
    /// CLI apply in an account nobody touched (information: the harness hands out pooled ones).
    pub cold_account_apply_ms: Option<f64>,
    /// CLI apply in an account handed out as `harness up` does (pool warm-up, nothing else).
    pub pooled_account_apply_ms: Option<f64>,
    /// Pooled CLI apply over the CLI apply in that same account once warm (the goal's figure).
    pub pooled_to_warm_ratio: Option<f64>,
    /// `apply_ms` itself: in-process, fresh account whose default VPC was looked up first.
    pub warm_account_apply_ms: f64,
    pub cold_to_warm_ratio: Option<f64>,
    pub cli_overhead_ms: Option<f64>,
    /// Median time of the warm in-process apply with no call outstanding at the proxy.
    pub idle_ms: f64,
    /// The same for the cold CLI apply (includes process start before the first call).
    pub cold_account_idle_ms: Option<f64>,
    /// Keyed by window (`5s`, `20s`).
    pub slr_wait_overshoot_ms: BTreeMap<String, f64>,
    pub retry_overshoot_ms: BTreeMap<String, f64>,
    pub retry_apply_minus_window_ms: BTreeMap<String, f64>,
    pub suite_test_s: Option<f64>,
    pub proxy_cpu_ratio_to_nginx: Option<f64>,
    /// [`GOAL_MODELS_CPU_RATIO`]'s figure.
    pub proxy_models_cpu_ratio: Option<f64>,
    /// `harness run -- true` with a `harness up` running, median (harness_run.rs).
    pub run_attach_ms: Option<f64>,
    /// `harness run -- true` from nothing, median.
    pub run_cold_ms: Option<f64>,
    /// Many applies at once on the default moto processes over the same on one (shards.rs).
    pub moto_shards_speedup: Option<f64>,
    pub goals: Vec<Goal>,
    /// Why a figure is null; merged into results.json's `null_reasons`.
    #[serde(skip)]
    pub null_reasons: BTreeMap<String, String>,
}

/// A figure with `d` decimals, `null` when not measured.
fn opt(v: Option<f64>, d: usize) -> String {
    match v {
        Some(x) => format!("{x:.d$}"),
        None => "null".into(),
    }
}

/// A figure per window, `5s: 120, 20s: 300`.
fn map(m: &BTreeMap<String, f64>) -> String {
    if m.is_empty() {
        return "null".to_string();
    }
    m.iter()
        .map(|(k, v)| format!("{k}: {v:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn max_of(m: &BTreeMap<String, f64>) -> Option<f64> {
    m.values().copied().reduce(f64::max)
}

/// Everything a part may have failed to measure comes in as `Err(reason)`.
pub struct Inputs<'a> {
    pub stack: &'a StackResults,
    pub results: &'a Results,
    pub proxy: &'a ProxyCost,
    pub user: Result<&'a UserResults, String>,
    pub waits: Result<&'a [WindowRun], String>,
    pub suite: Result<&'a SuiteRun, String>,
    pub run: Result<&'a RunCost, String>,
    pub shards: Result<&'a ShardsRun, String>,
}

impl UserFacing {
    pub fn new(i: Inputs<'_>) -> UserFacing {
        let mut f = UserFacing {
            warm_account_apply_ms: i.stack.apply_ms,
            idle_ms: round(
                median(
                    &i.stack
                        .reps
                        .iter()
                        .map(|r| (r.apply_ms - r.busy_ms).max(0.0))
                        .collect::<Vec<_>>(),
                )
                .unwrap_or(f64::NAN),
                1,
            ),
            ..UserFacing::default()
        };
        f.take_user(i.user);
        match i.waits {
            Ok(runs) => {
                for r in runs {
                    let w = r.window.clone();
                    f.slr_wait_overshoot_ms
                        .insert(w.clone(), r.slr_wait_overshoot_ms);
                    f.retry_overshoot_ms.insert(w.clone(), r.retry_overshoot_ms);
                    f.retry_apply_minus_window_ms
                        .insert(w, r.retry_apply_minus_window_ms);
                }
            }
            Err(why) => {
                for k in ["slr_wait_overshoot_ms", "retry_overshoot_ms"] {
                    f.null_reasons.insert(k.into(), why.clone());
                }
            }
        }
        match i.suite {
            Ok(s) => f.suite_test_s = Some(s.suite_test_s),
            Err(why) => {
                f.null_reasons.insert("suite_test_s".into(), why);
            }
        }
        match i.run {
            Ok(r) => {
                f.run_attach_ms = Some(r.run_attach_ms);
                f.run_cold_ms = Some(r.run_cold_ms);
            }
            Err(why) => {
                for k in ["run_attach_ms", "run_cold_ms"] {
                    f.null_reasons.insert(k.into(), why.clone());
                }
            }
        }
        match i.shards {
            Ok(s) => f.moto_shards_speedup = Some(s.moto_shards_speedup),
            Err(why) => {
                f.null_reasons.insert("moto_shards_speedup".into(), why);
            }
        }
        f.proxy_cpu_ratio_to_nginx = match (
            i.results.proxy_cpu_us_per_req,
            i.results.nginx_cpu_us_per_req,
        ) {
            (Some(p), Some(n)) if n > 0.0 => Some(round(p / n, 2)),
            _ => {
                f.null_reasons.insert(
                    "proxy_cpu_ratio_to_nginx".into(),
                    "proxy or nginx CPU per request not measured".into(),
                );
                None
            }
        };
        f.proxy_models_cpu_ratio = match (
            i.proxy.proxy_models.cpu_us_per_req,
            i.proxy.proxy.cpu_us_per_req,
        ) {
            (Some(m), Some(p)) if p > 0.0 => Some(round(m / p, 2)),
            _ => {
                f.null_reasons.insert(
                    "proxy_models_cpu_ratio".into(),
                    "proxy CPU per request with or without models not measured".into(),
                );
                None
            }
        };
        f.goals = f.goals();
        f
    }

    /// Each goal with this run's value.
    fn goals(&self) -> Vec<Goal> {
        let f = self;
        vec![
            Goal::new(
                "pooled_to_warm_ratio",
                f.pooled_to_warm_ratio,
                "<=",
                GOAL_COLD_TO_WARM,
            ),
            Goal::new(
                "slr_wait_overshoot_ms (max over windows)",
                max_of(&f.slr_wait_overshoot_ms),
                "<=",
                GOAL_OVERSHOOT_MS,
            ),
            Goal::new(
                "retry_overshoot_ms (max over windows)",
                max_of(&f.retry_overshoot_ms),
                "<=",
                GOAL_OVERSHOOT_MS,
            ),
            Goal::new(
                "proxy_cpu_ratio_to_nginx",
                f.proxy_cpu_ratio_to_nginx,
                "<=",
                GOAL_PROXY_CPU_RATIO,
            ),
            Goal::new(
                "proxy_models_cpu_ratio",
                f.proxy_models_cpu_ratio,
                "<=",
                GOAL_MODELS_CPU_RATIO,
            ),
            Goal::new("suite_test_s", f.suite_test_s, "<", GOAL_SUITE_S),
            Goal::new("run_attach_ms", f.run_attach_ms, "<=", GOAL_RUN_ATTACH_MS),
            Goal::new("run_cold_ms", f.run_cold_ms, "<=", GOAL_RUN_COLD_MS),
            Goal::new(
                "moto_shards_speedup",
                f.moto_shards_speedup,
                "<=",
                GOAL_MOTO_SHARDS_SPEEDUP,
            ),
        ]
    }

    /// The CLI figures of user.rs and pooled.rs, or why they are null.
    fn take_user(&mut self, user: Result<&UserResults, String>) {
        match user {
            Ok(u) => {
                self.cold_account_apply_ms = Some(u.cold_account_apply_ms);
                self.cold_account_idle_ms = Some(u.cold_account_idle_ms);
                self.cli_overhead_ms = Some(u.cli_overhead_ms);
                self.pooled_account_apply_ms = Some(u.pooled.pooled_account_apply_ms);
                self.pooled_to_warm_ratio = Some(u.pooled.pooled_to_warm_ratio);
                self.cold_to_warm_ratio = (self.warm_account_apply_ms > 0.0)
                    .then(|| round(u.cold_account_apply_ms / self.warm_account_apply_ms, 2));
            }
            Err(why) => {
                for k in [
                    "cold_account_apply_ms",
                    "cold_account_idle_ms",
                    "cli_overhead_ms",
                    "cold_to_warm_ratio",
                    "pooled_account_apply_ms",
                    "pooled_to_warm_ratio",
                ] {
                    self.null_reasons.insert(k.into(), why.clone());
                }
            }
        }
    }

    /// The "what the user sees" section of results.md: figures, then goals with their bounds.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "\n## What the user sees\n");
        let _ = writeln!(md, "| figure | value |");
        let _ = writeln!(md, "|---|---:|");
        let rows = [
            (
                "cold_account_apply_ms (CLI, untouched account)",
                opt(self.cold_account_apply_ms, 1),
            ),
            (
                "pooled_account_apply_ms (CLI, account as `harness up` hands it out)",
                opt(self.pooled_account_apply_ms, 1),
            ),
            (
                "pooled_to_warm_ratio (pooled CLI / warm CLI, same account)",
                opt(self.pooled_to_warm_ratio, 2),
            ),
            (
                "cold_to_warm_ratio (untouched CLI / warm in-process; information)",
                opt(self.cold_to_warm_ratio, 2),
            ),
            (
                "warm_account_apply_ms (in-process, = apply_ms)",
                format!("{:.1}", self.warm_account_apply_ms),
            ),
            (
                "cli_overhead_ms (warm CLI − warm in-process)",
                opt(self.cli_overhead_ms, 1),
            ),
            (
                "idle_ms (warm apply, no call outstanding)",
                format!("{:.1}", self.idle_ms),
            ),
            ("cold_account_idle_ms", opt(self.cold_account_idle_ms, 1)),
            (
                "slr_wait_overshoot_ms (ensure)",
                map(&self.slr_wait_overshoot_ms),
            ),
            (
                "retry_overshoot_ms (implicit + retries)",
                map(&self.retry_overshoot_ms),
            ),
            (
                "retry_apply_minus_window_ms",
                map(&self.retry_apply_minus_window_ms),
            ),
            ("suite_test_s", opt(self.suite_test_s, 1)),
            (
                "run_attach_ms (`harness up` running)",
                opt(self.run_attach_ms, 0),
            ),
            ("run_cold_ms (from nothing)", opt(self.run_cold_ms, 0)),
            (
                "moto_shards_speedup (default / 1 process)",
                opt(self.moto_shards_speedup, 2),
            ),
        ];
        for (k, v) in rows {
            let v = if v == "null" {
                let key = k.split(' ').next().unwrap_or_default();
                match self.null_reasons.get(key) {
                    Some(why) => format!("null: {why}"),
                    None => v,
                }
            } else {
                v
            };
            let _ = writeln!(md, "| {k} | {v} |");
        }
        let _ = writeln!(md, "\n| goal | value | bound | met |");
        let _ = writeln!(md, "|---|---:|---|---|");
        for g in &self.goals {
            let met = match g.met {
                Some(true) => "yes ✅",
                Some(false) => "no ❌",
                None => "not measured",
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} {} | {met} |",
                g.figure,
                opt(g.value, 2),
                g.relation,
                g.bound
            );
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_goal_is_met_only_within_its_bound() {
        assert_eq!(Goal::new("r", Some(1.2), "<=", 1.2).met, Some(true));
        assert_eq!(Goal::new("r", Some(1.21), "<=", 1.2).met, Some(false));
        assert_eq!(Goal::new("s", Some(30.0), "<", 30.0).met, Some(false));
        assert_eq!(Goal::new("s", Some(29.9), "<", 30.0).met, Some(true));
        assert_eq!(Goal::new("n", None, "<=", 1.0).met, None);
    }

    #[test]
    fn overshoot_goal_takes_the_worst_window() {
        let m: BTreeMap<String, f64> = [("5s".to_string(), 120.0), ("20s".to_string(), 900.0)]
            .into_iter()
            .collect();
        assert_eq!(max_of(&m), Some(900.0));
        assert_eq!(max_of(&BTreeMap::new()), None);
    }
}
