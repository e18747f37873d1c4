//! Part 4 (opt-in, `--suite`): the scenario family's wall time after the build, as a developer
//! sees it. Runs `cargo test -p scenarios --no-run` first (untimed: the build), then times
//! `cargo test -p scenarios` as a subprocess (the test profile, the workspace's target dir, the
//! harness starting its own moto). Opt-in because on a cold target dir the untimed build is the
//! whole debug test build (minutes), which `just bench` should not impose.
//!
//! Both cargo invocations run without the variables `cargo run` gives the bench about the bench's
//! own package (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...): ring's build script reads
//! `CARGO_MANIFEST_DIR`, and cargo reruns a build script when an env var it read changed
//! (`EnvVarChanged { name: "CARGO_MANIFEST_DIR", old_value: None, new_value: Some(".../bench") }`
//! in `CARGO_LOG=cargo::core::compiler::fingerprint=info`). Inherited, they made the nested build
//! recompile ring and the ~30 crates above it (rustls, the AWS SDK runtime, ...) in the bench,
//! then once more in the developer's next plain `cargo test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::stats::round;

/// Timed runs before giving up when cargo keeps recompiling during them (another build in the
/// same target dir changed features or sources between the untimed build and the timed run).
const TIMED_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct SuiteRun {
    pub command: String,
    pub suite_test_s: f64,
    /// Sum of the test binaries' own "finished in" times (no cargo, no process start).
    pub tests_only_s: f64,
    /// Timed runs discarded because cargo compiled something during them.
    pub discarded_runs: usize,
    /// Where the test output went.
    pub log: String,
}

/// `cargo` as a child of the bench, without the variables `cargo run` set for the bench's own
/// package ([`set_by_cargo_run`]), so the nested build sees the environment a developer's shell
/// gives it.
fn cargo(ws: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(ws);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            cmd.env_remove(&name);
        }
    }
    cmd
}

/// Whether `name` is one of the variables cargo sets for the program of `cargo run` describing
/// that program's package (https://doc.rust-lang.org/cargo/reference/environment-variables.html,
/// "Environment variables Cargo sets for crates"). `CARGO` itself stays: it names the cargo
/// binary, which is what the nested build should use.
fn set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "OUT_DIR"
        )
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
    let status = cargo(&ws)
        .args(["test", "-p", "scenarios", "--no-run", "--quiet"])
        .stdout(Stdio::null())
        .status()
        .context("running cargo test -p scenarios --no-run")?;
    if !status.success() {
        bail!(
            "`cargo test -p scenarios --no-run` failed ({status}): the scenario tests do not build"
        );
    }
    for discarded in 0..TIMED_ATTEMPTS {
        let (secs, output) = timed(&ws, log)?;
        if output.contains("   Compiling ") {
            eprintln!(
                "bench: suite: cargo recompiled during the timed run ({secs:.1} s); discarded"
            );
            continue;
        }
        return Ok(SuiteRun {
            command: "cargo test -p scenarios".into(),
            suite_test_s: round(secs, 1),
            tests_only_s: round(tests_only_s(&output), 2),
            discarded_runs: discarded,
            log: log.display().to_string(),
        });
    }
    bail!(
        "cargo recompiled during each of {TIMED_ATTEMPTS} timed runs of the scenario tests (another \
         build is changing the target dir); see {}",
        log.display()
    )
}

/// Sum of `finished in X.XXs` over the test binaries' result lines.
fn tests_only_s(output: &str) -> f64 {
    output
        .lines()
        .filter(|l| l.starts_with("test result:"))
        .filter_map(|l| l.rsplit("finished in ").next())
        .filter_map(|t| t.trim().trim_end_matches('s').parse::<f64>().ok())
        .sum()
}

/// One timed `cargo test -p scenarios`: wall seconds and its output (also written to `log`).
fn timed(ws: &Path, log: &Path) -> anyhow::Result<(f64, String)> {
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = file
        .try_clone()
        .with_context(|| format!("opening {}", log.display()))?;
    eprintln!(
        "bench: suite: timing cargo test -p scenarios (output: {})",
        log.display()
    );
    let t = Instant::now();
    let status = cargo(ws)
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
    let output =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    Ok((secs, output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_only_time_sums_the_result_lines() {
        let out = "     Running tests/main.rs\n\
                   test result: ok. 27 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 54.45s\n\
                   test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.50s\n";
        assert!((tests_only_s(out) - 54.95).abs() < 1e-9);
        assert_eq!(tests_only_s("no results"), 0.0);
    }

    #[test]
    fn the_bench_packages_variables_are_not_passed_to_the_nested_cargo() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_PRIMARY_PACKAGE",
        ] {
            assert!(set_by_cargo_run(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "RUSTFLAGS",
            "PATH",
        ] {
            assert!(!set_by_cargo_run(name), "{name}");
        }
    }
}
