//! Part 3b: what `harness run -- true` costs a user, from start to exit, in the debug build (the
//! goals are set for it: a developer's `cargo run -p harness`; `--harness-bin` names another):
//! - `run_cold_ms`: from nothing (`--attach off`): the run locates moto, starts it and the
//!   proxy, runs `true`, writes its journal, stops both;
//! - `run_attach_ms`: with a `harness up` running, the run leases a fresh account from it,
//!   runs `true`, reads that account's journal back and ends the lease.
//!
//! Each is the median wall time of `--run-reps` runs after one warm-up run of each; cold and
//! attached runs alternate, so both meet the same load. The `up` registers in a state file of
//! the bench's own (`HARNESS_UP_STATE`), so it attaches no one else's run, and is stopped with
//! `harness down` at the end.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::stats::{median, round};

/// `harness run -- true` with a `harness up` running, median, debug build.
pub const GOAL_RUN_ATTACH_MS: f64 = 300.0;
/// `harness run -- true` from nothing, median, debug build.
pub const GOAL_RUN_COLD_MS: f64 = 2000.0;

#[derive(Debug, Clone, Serialize)]
pub struct RunCost {
    pub run_cold_ms: f64,
    pub run_attach_ms: f64,
    pub cold_samples_ms: Vec<f64>,
    pub attach_samples_ms: Vec<f64>,
    pub harness_bin: String,
}

/// The `harness` command, its environment cleared of what would change the runs.
fn harness(bin: &Path, state: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env("HARNESS_UP_STATE", state);
    for var in [
        "HARNESS_ATTACH",
        "HARNESS_BACKEND",
        "HARNESS_PRESETS",
        "HARNESS_PROFILE",
        "HARNESS_SEED",
        "HARNESS_TIME_SCALE",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// One `harness run [flags] -- true`, timed from spawn to exit.
fn timed_run(bin: &Path, state: &Path, flags: &[&str]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let out = harness(bin, state)
        .arg("run")
        .args(flags)
        .args(["--", "true"])
        .stdin(Stdio::null())
        .output()
        .context("running harness run")?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        bail!(
            "harness run {flags:?} -- true exited {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let attached = said.contains("attached to the harness up");
    if attached != flags.is_empty() {
        bail!("harness run {flags:?} -- true did not run the way it was asked: {said}");
    }
    Ok(ms)
}

/// Starts `harness up` and waits until its state file names it.
fn start_up(bin: &Path, state: &Path) -> anyhow::Result<Child> {
    let mut up = harness(bin, state)
        .args(["up", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting harness up")?;
    let mut stdout = BufReader::new(up.stdout.take().context("harness up's stdout")?);
    let mut first = String::new();
    let _ = stdout.read_line(&mut first);
    // Its other lines are read, so its writes never meet a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !state.is_file() {
        if Instant::now() > deadline || !first.starts_with("AWS_ENDPOINT_URL=") {
            let _ = up.kill();
            let _ = up.wait();
            bail!(
                "harness up did not register in {} ({first:?})",
                state.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(up)
}

/// Times `reps` cold and `reps` attached runs of `bin`, alternating.
pub fn run(bin: &Path, work: &Path, reps: usize) -> anyhow::Result<RunCost> {
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let state: PathBuf = work.join("up.json");
    let mut up = start_up(bin, &state)?;
    let measured = (|| -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
        timed_run(bin, &state, &["--attach", "off"])?;
        timed_run(bin, &state, &[])?;
        let (mut cold, mut attach) = (Vec::new(), Vec::new());
        for _ in 0..reps.max(1) {
            cold.push(timed_run(bin, &state, &["--attach", "off"])?);
            attach.push(timed_run(bin, &state, &[])?);
        }
        Ok((cold, attach))
    })();
    let down = harness(bin, &state).arg("down").output();
    let _ = up.kill();
    let _ = up.wait();
    if let Ok(out) = &down {
        if !out.status.success() {
            eprintln!(
                "bench: harness down: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    let (cold, attach) = measured?;
    let figure = |s: &[f64]| round(median(s).unwrap_or(f64::NAN), 0);
    Ok(RunCost {
        run_cold_ms: figure(&cold),
        run_attach_ms: figure(&attach),
        cold_samples_ms: cold.iter().map(|s| round(*s, 0)).collect(),
        attach_samples_ms: attach.iter().map(|s| round(*s, 0)).collect(),
        harness_bin: bin.display().to_string(),
    })
}

/// The part in a bench run: `bin` (else the debug build, built by cargo) timed `reps` times each
/// way; prints each figure next to its bound.
pub fn part(bin: Option<&Path>, reps: usize, out_dir: &Path) -> anyhow::Result<RunCost> {
    let bin = match bin {
        Some(p) if p.is_file() => p.to_path_buf(),
        Some(p) => bail!("--harness-bin {}: no such file", p.display()),
        None => crate::cli_bin::ensure_built_debug("harness", "harness", "--harness-bin")?,
    };
    eprintln!(
        "bench: part 3b: `harness run -- true` x {reps} cold and x {reps} attached ({})",
        bin.display()
    );
    let cost = run(&bin, &out_dir.join("harness-run"), reps)?;
    for line in lines(&cost) {
        eprintln!("bench: {line}");
    }
    Ok(cost)
}

/// The two figures next to their bounds, one line each.
pub fn lines(c: &RunCost) -> [String; 2] {
    let line = |name: &str, v: f64, bound: f64| {
        let met = if v <= bound { "met" } else { "NOT met" };
        format!("{name} = {v:.0} ms (bound <= {bound:.0} ms: {met})")
    };
    [
        line("run_attach_ms", c.run_attach_ms, GOAL_RUN_ATTACH_MS),
        line("run_cold_ms", c.run_cold_ms, GOAL_RUN_COLD_MS),
    ]
}
