//! What user.rs and pooled.rs both do to an account: the provisioner CLI binary's apply (a
//! process of its own, with only the env's AWS settings), the in-process apply and destroy of
//! the same stack, and what an apply left in the proxy journal (wall time, idle time, calls).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use harness::env::{TestEnv, TEST_SECRET_KEY};
use provisioner::{ApplyOptions, DestroyOptions, Progress, RetryPolicy, Stack};

use crate::critical::{busy_ms, Call};

/// How long one CLI apply may take before the bench gives up on it.
const CLI_TIMEOUT: Duration = Duration::from_secs(300);

/// What a measured apply left in the journal: wall time, time with no call in flight, calls.
pub struct Measured {
    pub ms: f64,
    pub idle_ms: f64,
    pub calls: usize,
}

pub fn measured(env: &TestEnv, started: Instant) -> Measured {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let journal = env.proxy.journal_for(&env.account_id);
    let calls: Vec<Call> = journal.iter().map(Call::from_entry).collect();
    Measured {
        ms,
        idle_ms: (ms - busy_ms(&calls)).max(0.0),
        calls: calls.len(),
    }
}

/// The example stack as a user's file: written once, passed to every CLI apply.
pub fn write_config(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("stack.toml");
    std::fs::write(&path, provisioner::spec::EXAMPLE_TOML)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// `provisioner apply --config CONFIG` against the env's proxy, as the env's account, with no
/// AWS setting of the machine leaking in (no profile files, no metadata service).
pub async fn cli_apply(bin: &Path, config: &Path, env: &TestEnv) -> anyhow::Result<()> {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("apply")
        .arg("--config")
        .arg(config)
        .env("AWS_ENDPOINT_URL", env.endpoint_url())
        .env("AWS_REGION", &env.region)
        .env("AWS_ACCESS_KEY_ID", &env.account_id)
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
        .env("AWS_CONFIG_FILE", "/nonexistent/bench-aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/bench-aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(CLI_TIMEOUT, cmd.output())
        .await
        .with_context(|| {
            format!(
                "{} apply did not finish within {CLI_TIMEOUT:?}",
                bin.display()
            )
        })?
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} apply exited with {}: {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub async fn inprocess_apply(stack: &Stack) -> anyhow::Result<()> {
    Box::pin(
        stack.apply(&ApplyOptions::new(RetryPolicy::default()).with_progress(Progress::silent())),
    )
    .await
    .context("in-process apply")?;
    Ok(())
}

pub async fn destroy(stack: &Stack) -> anyhow::Result<()> {
    destroy_with(stack, false).await
}

/// Destroys the stack and the ECS service-linked role too: the account is then back to what a
/// fresh account holds, so the next apply makes the same calls as the first one (it creates the
/// role and polls GetRole until it is readable).
pub async fn destroy_all(stack: &Stack) -> anyhow::Result<()> {
    destroy_with(stack, true).await
}

async fn destroy_with(stack: &Stack, delete_service_linked_role: bool) -> anyhow::Result<()> {
    let opts = DestroyOptions {
        delete_service_linked_role,
        retry: RetryPolicy::default(),
        progress: Progress::silent(),
    };
    Box::pin(stack.destroy(&opts)).await.context("destroy")?;
    Ok(())
}
