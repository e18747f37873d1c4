//! Part 4 (opt-in, `--suite`): the scenario family's wall time after the build, as a developer
//! sees it. Runs `cargo test -p scenarios --no-run` first (untimed: the build), then times
//! `cargo test -p scenarios` as a subprocess (the test profile, the workspace's target dir, the
//! harness starting its own moto). Opt-in because on a cold target dir the untimed build is the
//! whole debug test build (minutes), which `just bench` should not impose.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::stats::round;

#[derive(Debug, Clone, Serialize)]
pub struct SuiteRun {
    pub command: String,
    pub suite_test_s: f64,
    /// Where the test output went.
    pub log: String,
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn workspace() -> anyhow::Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("bench's manifest directory has no parent")
}

/// Builds the scenario tests, then times one run of them; output goes to `log`.
pub fn run(log: &Path) -> anyhow::Result<SuiteRun> {
    let ws = workspace()?;
    eprintln!(
        "bench: suite: building the scenario tests (untimed): cargo test -p scenarios --no-run"
    );
    let status = Command::new(cargo())
        .current_dir(&ws)
        .args(["test", "-p", "scenarios", "--no-run", "--quiet"])
        .stdout(Stdio::null())
        .status()
        .context("running cargo test -p scenarios --no-run")?;
    if !status.success() {
        bail!(
            "`cargo test -p scenarios --no-run` failed ({status}): the scenario tests do not build"
        );
    }
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = file
        .try_clone()
        .with_context(|| format!("opening {}", log.display()))?;
    eprintln!(
        "bench: suite: timing cargo test -p scenarios (output: {})",
        log.display()
    );
    let t = Instant::now();
    let status = Command::new(cargo())
        .current_dir(&ws)
        .args(["test", "-p", "scenarios"])
        .stdout(file)
        .stderr(err)
        .status()
        .context("running cargo test -p scenarios")?;
    let secs = t.elapsed().as_secs_f64();
    if !status.success() {
        bail!(
            "`cargo test -p scenarios` failed ({status}) after {secs:.1} s; see {}",
            log.display()
        );
    }
    Ok(SuiteRun {
        command: "cargo test -p scenarios".into(),
        suite_test_s: round(secs, 1),
        log: log.display().to_string(),
    })
}
