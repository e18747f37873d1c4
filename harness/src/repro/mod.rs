//! Why this module exists: `harness repro` is the one command that shows the seed's problem and
//! its fixes on a laptop, with zero setup. It starts the default emulator and, per act, a fault
//! proxy with the service-linked-role visibility delay (`slr-delay`) in front of it and a fresh
//! account, then drives the real provisioner through three acts and tells the story on stdout:
//!
//! 1. `service_linked_role = "implicit"`, retry off: the first apply fails with AWS's exact
//!    error; once the role is visible, a second apply passes (the seed's "run it twice").
//! 2. `implicit`, retry on: the first apply passes; the absorbed errors and their cost are shown.
//! 3. `ensure` (the seed's recommended fix): no ECS call fails at all.
//! 4. a fresh account with every behaviour model on (`fresh-account`, seeded, scaled time):
//!    what it threw, what the retry policy absorbed and at what cost, then an empty second plan
//!    and a clean destroy (fresh_account.rs).
//!
//! Each stack is destroyed, a summary table closes the story, and the exit status is 0 only when
//! every act behaved as described (otherwise 1, naming what deviated).

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use clap::Args;

use crate::emulator::{self, Backend, Emulator};
use crate::env::TestEnv;
use faultproxy::JournalEntry;
mod fresh_account;

use provisioner::{
    ApplyOptions, ApplyReport, Clients, DestroyOptions, Progress, RetryPolicy, SlrMode, Stack,
};

/// The seed's error, as AWS sends it.
pub const SEED_CODE: &str = "InvalidParameterException";
pub const SEED_MESSAGE: &str =
    "Unable to assume the service linked role. Please verify that the ECS service linked role exists.";
const SLR_ROLE: &str = "AWSServiceRoleForECS";

#[derive(Debug, Clone, Args)]
pub struct ReproArgs {
    /// How long the ECS service-linked role stays invisible after its creation (AWS: ~2 s
    /// typical, 10–30 s common, up to a minute).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// Emulator backend: moto, moto-container, localstack, localstack+moto, external.
    #[arg(long, env = "HARNESS_BACKEND", default_value = "moto")]
    pub backend: Backend,
    /// Act 4: the seed of the fresh-account models' window draws (same seed, same windows).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Act 4: multiplies every fresh-account window (0.05: a minute of AWS takes 3 s).
    #[arg(long, default_value_t = 0.05, value_parser = parse_time_scale)]
    pub time_scale: f64,
}

/// `--time-scale`: a finite number greater than 0, as the proxy's `time-scale` preset takes it.
fn parse_time_scale(text: &str) -> Result<f64, String> {
    faultproxy::models::settings::parse_time_scale(text).map_err(|e| e.to_string())
}

/// One line of the closing table.
struct Row {
    act: &'static str,
    mode: &'static str,
    retry: &'static str,
    result: String,
    absorbed: String,
    elapsed: Duration,
}

/// Everything the story needs in every act.
struct Story {
    emulator: Arc<dyn Emulator>,
    window: Duration,
    /// Act 4's seed and time scale.
    seed: u64,
    time_scale: f64,
    rows: Vec<Row>,
    deviations: Vec<String>,
}

fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Step lines of apply/destroy, indented under the act.
fn progress() -> Progress {
    Progress::custom(|e| say(format!("        {e}")))
}

fn render_journal_line(e: &JournalEntry) -> String {
    format!("#{} {}", e.seq, e.summary())
}

/// Runs the story; `Err` (exit 1) when the environment cannot be set up or an act deviated.
pub async fn run(args: ReproArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let window = args.window;
    say("harness repro: the first apply in a fresh AWS account fails; the second one passes.");
    say("");
    say("In a fresh account, CreateCluster creates the ECS service-linked role AWSServiceRoleForECS,");
    say("but ECS cannot assume it for a while, so CreateService fails right after, on the first apply");
    say("only. Emulators make everything visible at once; here a fault proxy in front of the emulator");
    say(format!(
        "keeps the role invisible for {} after its creation (preset slr-delay={}), like AWS does.",
        humantime::format_duration(window),
        humantime::format_duration(window)
    ));
    say("");
    say(format!(
        "Setting up: starting the {} emulator (a first run may install it; that is announced).",
        args.backend
    ));
    let t = Instant::now();
    let emulator: Arc<dyn Emulator> = emulator::start(args.backend)
        .await
        .map(Arc::from)
        .with_context(|| format!("starting the {} emulator", args.backend))?;
    if !emulator.endpoint().serves_ecs {
        return Err(anyhow!(
            "{} serves no ECS/ECR (LocalStack's free edition); run with the default backend (moto) \
             or set LOCALSTACK_AUTH_TOKEN",
            emulator.describe()
        ));
    }
    say(format!(
        "  emulator ready in {}: {} at {}",
        secs(t.elapsed()),
        emulator.describe(),
        emulator.endpoint().base_url()
    ));

    let mut story = Story {
        emulator,
        window,
        seed: args.seed,
        time_scale: args.time_scale,
        rows: Vec::new(),
        deviations: Vec::new(),
    };
    story.act1().await;
    story.act2().await;
    story.act3().await;
    story.act4().await;
    story.summary(started.elapsed());

    if story.deviations.is_empty() {
        say("");
        say("All four acts behaved as described: the failure is reproduced, retries absorb it,");
        say("creating the service-linked role first (`service_linked_role = \"ensure\"`) avoids it, and");
        say("the retry policy absorbs everything else a fresh account throws.");
        Ok(())
    } else {
        Err(anyhow!(
            "the reproduction deviated from the story:\n  - {}",
            story.deviations.join("\n  - ")
        ))
    }
}

impl Story {
    /// A fresh account behind its own proxy with the delay on, and the tutorial's stack in it.
    async fn stage(&self, act: &str, mode: SlrMode) -> anyhow::Result<(TestEnv, Stack)> {
        let preset = format!("slr-delay={}ms", self.window.as_millis());
        let env = TestEnv::on(self.emulator.clone(), &[preset.as_str()])
            .await
            .with_context(|| format!("{act}: starting the fault proxy"))?;
        let mut spec = env
            .spec("my-project")
            .await
            .with_context(|| format!("{act}: looking up the default VPC"))?;
        spec.service_linked_role = mode;
        say(format!(
            "  fresh account {}, region {}, proxy {} (slr-delay={})",
            env.account_id,
            env.region,
            env.endpoint_url(),
            humantime::format_duration(self.window)
        ));
        // The provisioner exactly as a user runs it: its own SDK retry and timeout settings.
        let stack = Stack::new(spec, Clients::from_sdk_config(&env.sdk_config()));
        Ok((env, stack))
    }

    fn deviate(&mut self, what: String) {
        say(format!("      DEVIATION: {what}"));
        self.deviations.push(what);
    }

    async fn apply(
        stack: &Stack,
        retry: RetryPolicy,
    ) -> (Result<ApplyReport, provisioner::Error>, Duration) {
        let t = Instant::now();
        // Boxed: the provisioner's futures are large.
        let r = Box::pin(stack.apply(&ApplyOptions::new(retry).with_progress(progress()))).await;
        (r, t.elapsed())
    }

    async fn destroy(&mut self, act: &str, stack: &Stack) {
        say(format!(
            "  {act}.d destroy the stack (the service-linked role is kept)"
        ));
        let t = Instant::now();
        let opts = DestroyOptions {
            delete_service_linked_role: false,
            retry: RetryPolicy::default(),
            progress: Progress::silent(),
        };
        match Box::pin(stack.destroy(&opts)).await {
            Ok(r) => say(format!(
                "      destroyed {} resource(s) in {}",
                r.deleted.len(),
                secs(t.elapsed())
            )),
            Err(e) => self.deviate(format!("act {act}: destroy failed: {e}")),
        }
    }

    /// Act 1: implicit, retry off -> the seed's error; then run it twice.
    async fn act1(&mut self) {
        say("");
        say("Act 1 — service_linked_role = \"implicit\", retry off (provisioner apply --no-retry)");
        say("  What a first-time user does: let CreateCluster create the role, no retries.");
        let (env, stack) = match self.stage("act 1", SlrMode::Implicit).await {
            Ok(s) => s,
            Err(e) => return self.setup_failed("1", "implicit", "off", e),
        };
        let t = Instant::now();
        say("  1.1 apply: expected to FAIL at CreateService with AWS's exact error");
        let (first, took) = Self::apply(&stack, RetryPolicy::disabled()).await;
        let mut result = String::new();
        match first {
            Err(e) => {
                say(format!(
                    "      apply failed after {}, as in the seed:",
                    secs(took)
                ));
                say("");
                say(format!("      {e}"));
                say("");
                if let Some(hit) = env
                    .proxy
                    .journal_for(&env.account_id)
                    .iter()
                    .find(|j| j.is_injected_failure() && j.service.as_deref() == Some("ecs"))
                {
                    say(format!("      proxy journal: {}", render_journal_line(hit)));
                }
                if e.operation() != Some("CreateService")
                    || e.aws_code() != Some(SEED_CODE)
                    || e.aws_message() != Some(SEED_MESSAGE)
                {
                    self.deviate(format!(
                        "act 1: the first apply failed, but not with the seed's error \
                         (CreateService: {SEED_CODE}: {SEED_MESSAGE}): {e}"
                    ));
                    result.push_str("wrong error");
                } else {
                    result.push_str("failed (seed's error)");
                }
            }
            Ok(_) => {
                self.deviate(
                    "act 1: the first apply succeeded; the seed's error was not reproduced".into(),
                );
                result.push_str("passed (!)");
            }
        }

        say("  1.2 wait until the role is visible (IAM GetRole), as a user waits before retrying");
        match wait_slr_visible(&env, self.window * 3 + Duration::from_secs(10)).await {
            Ok(d) => say(format!("      visible after {}", secs(d))),
            Err(e) => self.deviate(format!("act 1: {e}")),
        }

        say("  1.3 apply again (the seed's workaround: \"run it twice\"): expected to pass");
        let (second, took) = Self::apply(&stack, RetryPolicy::disabled()).await;
        match second {
            Ok(r) => {
                say(format!(
                    "      apply succeeded in {}: {} change(s), nothing absorbed",
                    secs(took),
                    r.changes
                ));
                result.push_str(", then passed");
            }
            Err(e) => {
                self.deviate(format!("act 1: the second apply failed: {e}"));
                result.push_str(", then failed");
            }
        }
        let elapsed = t.elapsed();
        self.destroy("1", &stack).await;
        self.rows.push(Row {
            act: "1",
            mode: "implicit",
            retry: "off",
            result,
            absorbed: "-".into(),
            elapsed,
        });
    }

    /// Act 2: implicit, retry on -> the first apply passes, absorbing the errors.
    async fn act2(&mut self) {
        say("");
        say("Act 2 — service_linked_role = \"implicit\", retry on (provisioner apply)");
        say(
            "  The provisioner's retry catalogue knows this error (operation + code + message) and",
        );
        say("  polls it at a fixed interval until a deadline (Terraform's: 2 min + 2 min for CreateService).");
        let (_env, stack) = match self.stage("act 2", SlrMode::Implicit).await {
            Ok(s) => s,
            Err(e) => return self.setup_failed("2", "implicit", "on", e),
        };
        say("  2.1 apply: expected to PASS the first time");
        let policy = RetryPolicy::default();
        let (r, took) = Self::apply(&stack, policy.clone()).await;
        let (result, absorbed) = match r {
            Ok(report) => {
                let n = report.absorbed.len();
                // The cost: how long the retried step (CreateService) took in all, against the
                // few milliseconds it takes once the role is visible.
                let cost = report
                    .steps
                    .iter()
                    .find(|s| s.kind == "ecs_service")
                    .map(|s| s.elapsed)
                    .unwrap_or_default();
                say(format!(
                    "      apply succeeded in {}: {} change(s)",
                    secs(took),
                    report.changes
                ));
                say(format!(
                    "      {n} error(s) absorbed; the service step took {} in all (window {}, polled \
                     every {}):",
                    secs(cost),
                    humantime::format_duration(self.window),
                    humantime::format_duration(policy.poll_interval)
                ));
                for a in &report.absorbed {
                    say(format!(
                        "        attempt {} of {} failed {} in: {}: {}",
                        a.attempt,
                        a.operation,
                        secs(a.waited),
                        a.code,
                        a.message
                    ));
                }
                if n == 0 {
                    self.deviate("act 2: nothing was absorbed: the delay did not hit".into());
                } else if report
                    .absorbed
                    .iter()
                    .any(|a| a.code != SEED_CODE || a.message != SEED_MESSAGE)
                {
                    self.deviate("act 2: an absorbed error is not the seed's".into());
                }
                (
                    "passed first time".to_string(),
                    format!("{n} ({})", secs(cost)),
                )
            }
            Err(e) => {
                self.deviate(format!("act 2: apply failed despite retries: {e}"));
                ("failed".to_string(), "-".to_string())
            }
        };
        self.destroy("2", &stack).await;
        self.rows.push(Row {
            act: "2",
            mode: "implicit",
            retry: "on",
            result,
            absorbed,
            elapsed: took,
        });
    }

    /// Act 3: ensure -> the role first, then ECS: no error at all.
    async fn act3(&mut self) {
        say("");
        say("Act 3 — service_linked_role = \"ensure\" (the default; the seed's recommended fix)");
        say("  The provisioner creates the role first (CreateServiceLinkedRole), waits until IAM");
        say("  returns it, then builds ECS. Retry is off, to show that nothing needs absorbing.");
        let (env, stack) = match self.stage("act 3", SlrMode::Ensure).await {
            Ok(s) => s,
            Err(e) => return self.setup_failed("3", "ensure", "off", e),
        };
        say("  3.1 apply: expected to PASS with no error at all");
        let (r, took) = Self::apply(&stack, RetryPolicy::disabled()).await;
        let journal = env.proxy.journal_for(&env.account_id);
        let ecs_faults = journal
            .iter()
            .filter(|e| e.is_injected_failure() && e.service.as_deref() == Some("ecs"))
            .count();
        let result = match r {
            Ok(report) => {
                say(format!(
                    "      apply succeeded in {}: {} change(s); {} requests, {} injected failure(s) on ECS",
                    secs(took),
                    report.changes,
                    journal.len(),
                    ecs_faults
                ));
                if ecs_faults > 0 || !report.absorbed.is_empty() {
                    self.deviate(format!(
                        "act 3: ECS saw {ecs_faults} injected failure(s), {} absorbed",
                        report.absorbed.len()
                    ));
                    "passed, with errors".to_string()
                } else {
                    "passed, no error".to_string()
                }
            }
            Err(e) => {
                self.deviate(format!("act 3: apply failed: {e}"));
                "failed".to_string()
            }
        };
        self.destroy("3", &stack).await;
        self.rows.push(Row {
            act: "3",
            mode: "ensure",
            retry: "off",
            result,
            absorbed: "0".into(),
            elapsed: took,
        });
    }

    fn setup_failed(
        &mut self,
        act: &'static str,
        mode: &'static str,
        retry: &'static str,
        e: anyhow::Error,
    ) {
        self.deviate(format!("act {act}: could not set up: {e:#}"));
        self.rows.push(Row {
            act,
            mode,
            retry,
            result: "not run".into(),
            absorbed: "-".into(),
            elapsed: Duration::ZERO,
        });
    }

    fn summary(&self, total: Duration) {
        let mut t = String::new();
        let header = [
            "act",
            "mode",
            "retry",
            "result",
            "errors absorbed",
            "elapsed",
        ];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.act.to_string(),
                    r.mode.to_string(),
                    r.retry.to_string(),
                    r.result.clone(),
                    r.absorbed.clone(),
                    secs(r.elapsed),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cols: &[String]| {
            let mut s = String::from("  |");
            for (c, w) in cols.iter().zip(widths) {
                let _ = write!(s, " {c:<w$} |");
            }
            s
        };
        let _ = writeln!(t, "{}", line(&header.map(String::from)));
        let sep: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        let _ = writeln!(t, "  |{}|", sep.join("|"));
        for row in &cells {
            let _ = writeln!(t, "{}", line(row));
        }
        say("");
        say(format!(
            "Summary (slr-delay={}, total {}):",
            humantime::format_duration(self.window),
            secs(total)
        ));
        say(t.trim_end());
    }
}

/// Polls IAM GetRole for the service-linked role until it is found.
async fn wait_slr_visible(env: &TestEnv, deadline: Duration) -> anyhow::Result<Duration> {
    let iam = aws_sdk_iam::Client::new(&env.sdk_config());
    let t = Instant::now();
    loop {
        if iam.get_role().role_name(SLR_ROLE).send().await.is_ok() {
            return Ok(t.elapsed());
        }
        if t.elapsed() > deadline {
            return Err(anyhow!(
                "{SLR_ROLE} still invisible after {}",
                secs(t.elapsed())
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
