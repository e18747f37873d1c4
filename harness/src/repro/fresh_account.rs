//! Why this file exists: act 4 of `harness repro`, the whole fresh-account catalogue. Acts 1–3
//! show one failure (the service-linked role's delay); a brand-new AWS account misbehaves in
//! several places at once (a new cluster "not found", IAM reads lagging, the ECR principal lag,
//! busy capacity-provider attachments, a log group still being set up, a deleted service
//! draining, an asynchronous role deletion). Act 4 turns every behaviour model of the proxy on
//! (the `fresh-account` profile, seeded, at a small time scale), applies with the retry policy on,
//! and tells what the account threw (model, operation, code, count), what the retry policy
//! absorbed and at what cost (retries, seconds waited), that a second plan is empty and that
//! destroy (service-linked role included) leaves nothing behind.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use faultproxy::{FaultKind, JournalEntry, ModelSettings};
use provisioner::{
    AbsorbedError, Action, Clients, DestroyOptions, Progress, RetryPolicy, SlrMode, Stack,
};

use super::{say, secs, Row, Story};
use crate::env::TestEnv;

/// One line of "what the account threw": a model's answers to one operation.
#[derive(Debug, Default)]
struct Thrown {
    count: usize,
    /// The HTTP statuses the client saw.
    statuses: Vec<u16>,
}

/// One line of "what the retry policy absorbed": one error of one operation.
#[derive(Debug, Default)]
struct Absorbed {
    retries: usize,
    /// The longest a single call of the operation had been retrying when it was absorbed.
    longest: Duration,
}

/// The journal's model answers grouped by (model, operation, code or `read-lag`).
fn thrown(journal: &[JournalEntry]) -> BTreeMap<(String, String, String), Thrown> {
    let mut out: BTreeMap<(String, String, String), Thrown> = BTreeMap::new();
    for e in journal {
        let Some(f) = &e.fault else { continue };
        let Some(model) = f.rule.strip_prefix("model:") else {
            continue;
        };
        let answer = match (&f.code, f.kind) {
            (Some(code), _) => code.clone(),
            (None, FaultKind::ReadLag) => "(not settled yet)".to_string(),
            (None, kind) => kind.to_string(),
        };
        let op = format!(
            "{}:{}",
            e.service.as_deref().unwrap_or("?"),
            e.operation.as_deref().unwrap_or("?")
        );
        let t = out.entry((model.to_string(), op, answer)).or_default();
        t.count += 1;
        if let Some(s) = e.status {
            if !t.statuses.contains(&s) {
                t.statuses.push(s);
            }
        }
    }
    out
}

/// The absorbed errors grouped by (operation, code).
fn absorbed(errors: &[AbsorbedError]) -> BTreeMap<(String, String), Absorbed> {
    let mut out: BTreeMap<(String, String), Absorbed> = BTreeMap::new();
    for a in errors {
        let entry = out
            .entry((a.operation.clone(), a.code.clone()))
            .or_default();
        entry.retries += 1;
        entry.longest = entry.longest.max(a.waited);
    }
    out
}

fn print_thrown(thrown: &BTreeMap<(String, String, String), Thrown>) {
    let w_model = thrown.keys().map(|k| k.0.len()).max().unwrap_or(5).max(5);
    let w_op = thrown.keys().map(|k| k.1.len()).max().unwrap_or(9).max(9);
    let w_code = thrown.keys().map(|k| k.2.len()).max().unwrap_or(6).max(6);
    say(format!(
        "        {:<w_model$}  {:<w_op$}  {:<w_code$}  count  HTTP",
        "model", "operation", "answer"
    ));
    for ((model, op, code), t) in thrown {
        let statuses: Vec<String> = t.statuses.iter().map(u16::to_string).collect();
        say(format!(
            "        {model:<w_model$}  {op:<w_op$}  {code:<w_code$}  {:>5}  {}",
            t.count,
            statuses.join(",")
        ));
    }
}

fn print_absorbed(phase: &str, absorbed: &BTreeMap<(String, String), Absorbed>) {
    if absorbed.is_empty() {
        say(format!("      {phase}: nothing to absorb"));
        return;
    }
    say(format!(
        "      {phase}: the retry policy absorbed (retries, longest a call kept retrying):"
    ));
    for ((op, code), a) in absorbed {
        say(format!(
            "        {op}: {code}: {} retr{}, up to {}",
            a.retries,
            if a.retries == 1 { "y" } else { "ies" },
            secs(a.longest)
        ));
    }
}

impl Story {
    /// A fresh account behind its own proxy with every model on (seeded, scaled).
    async fn stage_fresh(&self) -> anyhow::Result<(TestEnv, Stack)> {
        let mut models = ModelSettings::fresh_account();
        models.seed = self.seed;
        models
            .set_time_scale(self.time_scale)
            .context("act 4: --time-scale")?;
        let env = TestEnv::on(self.emulator.clone(), &[])
            .await
            .context("act 4: starting the fault proxy")?
            .with_models(models);
        let mut spec = env
            .spec("my-project")
            .await
            .context("act 4: looking up the default VPC")?;
        spec.service_linked_role = SlrMode::Ensure;
        say(format!(
            "  fresh account {}, region {}, proxy {} (profile fresh-account, seed {}, time-scale {})",
            env.account_id,
            env.region,
            env.endpoint_url(),
            self.seed,
            self.time_scale
        ));
        say(format!(
            "  models on: {}",
            models.enabled_names().join(", ")
        ));
        let stack = Stack::new(spec, Clients::from_sdk_config(&env.sdk_config()));
        Ok((env, stack))
    }

    /// Act 4: every model on, retries on -> apply passes, second plan empty, destroy clean.
    pub(super) async fn act4(&mut self) {
        say("");
        say("Act 4 — a fresh account, the whole catalogue (profile fresh-account, retry on)");
        say("  Every behaviour model of the proxy at once, each window drawn from AWS's typical range");
        say(format!(
            "  under seed {} and multiplied by {} (so a minute of AWS is {} here).",
            self.seed,
            self.time_scale,
            secs(Duration::from_secs(60).mul_f64(self.time_scale))
        ));
        let (env, stack) = match self.stage_fresh().await {
            Ok(s) => s,
            Err(e) => return self.setup_failed("4", "ensure", "on", e),
        };
        say("  4.1 apply: expected to PASS the first time, absorbing what the account throws");
        let (r, took) = Self::apply(&stack, RetryPolicy::default()).await;
        let (mut result, mut cost) = ("failed".to_string(), "-".to_string());
        match r {
            Ok(report) => {
                say(format!(
                    "      apply succeeded in {}: {} change(s)",
                    secs(took),
                    report.changes
                ));
                print_absorbed("apply", &absorbed(&report.absorbed));
                result = "passed first time".into();
                cost = format!("{} ({})", report.absorbed.len(), secs(took));
                self.second_plan(&stack).await;
            }
            Err(e) => self.deviate(format!("act 4: apply failed despite retries: {e}")),
        }
        if self.destroy_fresh(&stack).await {
            result.push_str(", destroyed clean");
        }
        self.report_thrown(&env);
        self.rows.push(Row {
            act: "4",
            mode: "ensure",
            retry: "on",
            result,
            absorbed: cost,
            elapsed: took,
        });
    }

    async fn second_plan(&mut self, stack: &Stack) {
        say("  4.2 plan again: expected to show nothing to do");
        match Box::pin(stack.plan()).await {
            Ok(p) if p.is_empty() => say("      nothing to do"),
            Ok(p) => self.deviate(format!(
                "act 4: the second plan is not empty: {}",
                p.summary()
            )),
            Err(e) => self.deviate(format!("act 4: the second plan failed: {e}")),
        }
    }

    /// Destroys the stack and the service-linked role; true when nothing is left.
    async fn destroy_fresh(&mut self, stack: &Stack) -> bool {
        say("  4.3 destroy the stack and the service-linked role: expected to leave nothing");
        let t = Instant::now();
        let opts = DestroyOptions {
            delete_service_linked_role: true,
            retry: RetryPolicy::default(),
            progress: Progress::silent(),
        };
        let report = match Box::pin(stack.destroy(&opts)).await {
            Ok(r) => r,
            Err(e) => {
                self.deviate(format!("act 4: destroy failed: {e}"));
                return false;
            }
        };
        say(format!(
            "      destroyed {} resource(s) in {}; service-linked role deletion {}",
            report.deleted.len(),
            secs(t.elapsed()),
            report.slr.as_ref().map_or("not run", |s| s.status.as_str())
        ));
        print_absorbed("destroy", &absorbed(&report.absorbed));
        // Clean: the provisioner finds nothing of the stack, so a plan would create it all.
        match Box::pin(stack.plan()).await {
            Ok(p) if p.changes.iter().all(|c| c.action == Action::Create) => {
                say(format!(
                    "      nothing left: a plan now would create all {} resource(s) again",
                    p.changes.len()
                ));
                true
            }
            Ok(p) => {
                self.deviate(format!(
                    "act 4: something is left after destroy: {}",
                    p.summary()
                ));
                false
            }
            Err(e) => {
                self.deviate(format!("act 4: the plan after destroy failed: {e}"));
                false
            }
        }
    }

    /// What the account threw during apply, plan and destroy, from the proxy's journal.
    fn report_thrown(&mut self, env: &TestEnv) {
        let journal = env.proxy.journal_for(&env.account_id);
        let thrown = thrown(&journal);
        let total: usize = thrown.values().map(|t| t.count).sum();
        say(format!(
            "  4.4 what the fresh account threw ({total} answer(s) of {} requests, from the proxy's journal;",
            journal.len()
        ));
        say("      \"(not settled yet)\" is a read showing a state still in progress, waited through):");
        print_thrown(&thrown);
        let fired: Vec<&str> = thrown.keys().map(|k| k.0.as_str()).collect();
        let quiet: Vec<&str> = faultproxy::models::seed_stack_specs()
            .map(|s| s.name)
            .filter(|m| !fired.contains(m))
            .collect();
        if !quiet.is_empty() {
            say(format!(
                "      quiet under this seed (their windows closed before a call landed): {}",
                quiet.join(", ")
            ));
        }
        if total == 0 {
            self.deviate("act 4: the fresh account threw nothing: no model answered".into());
        }
    }
}
