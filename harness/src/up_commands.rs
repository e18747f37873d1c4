//! Why this file exists: a `harness up` kept running in the background (another terminal, `&`,
//! a CI service step) needs to be found and stopped without hunting for its pid: `harness status`
//! shows the one this user's `harness run`s attach to (URL, pid, uptime, accounts leased),
//! `harness down` stops it (SIGTERM, as Ctrl-C: it stops its proxy and emulator and removes its
//! state file) and waits until it is gone. Both find it through up_state.rs.

use std::time::{Duration, Instant, SystemTime};

use anyhow::bail;
use clap::Args;
use http::Method;

use crate::control_client::Control;
use crate::up_state::{self, Found, UpState};

/// How long `harness down` waits for the `up` to stop (it stops a proxy and an emulator).
const DOWN_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {}

/// The running `up`, or an error saying nothing runs (and that a stale file was cleaned).
fn running() -> anyhow::Result<UpState> {
    let path = up_state::path();
    match up_state::read(&path) {
        Found::Running(state) => Ok(state),
        Found::Stale(state) => bail!(
            "no harness up is running: the one in {} (pid {}) is gone (its state file is removed); `harness up` starts one",
            path.display(),
            state.pid
        ),
        Found::Nothing => bail!(
            "no harness up is running (no state file at {}); `harness up` starts one",
            path.display()
        ),
    }
}

#[derive(serde::Deserialize)]
struct Accounts {
    leased: Vec<serde_json::Value>,
    leased_total: u64,
}

/// `harness status`: one line on stdout about the running `up`; an error when none runs.
pub async fn status(_args: StatusArgs) -> anyhow::Result<()> {
    let state = running()?;
    let now_ms = crate::reports::record::unix_ms(SystemTime::now());
    let uptime = Duration::from_secs(now_ms.saturating_sub(state.started_unix_ms) / 1000);
    let control = Control::new(&state.url).map_err(anyhow::Error::msg)?;
    let accounts = control
        .json::<Accounts>(Method::GET, "/_harness/accounts", "")
        .await
        .map_err(|e| anyhow::anyhow!("harness up pid {} runs, but {e}", state.pid))?;
    println!(
        "harness up at {}: pid {}, backend {}, up {}, accounts leased: {} now, {} since it started",
        state.url,
        state.pid,
        state.backend,
        humantime::format_duration(uptime),
        accounts.leased.len(),
        accounts.leased_total
    );
    println!("state file: {}", up_state::path().display());
    Ok(())
}

/// `harness down`: stops the running `up` and waits until it is gone.
pub async fn down(_args: DownArgs) -> anyhow::Result<()> {
    let state = running()?;
    // SAFETY: kill(2) with a pid read from the state file, whose identity (pid + start time)
    // `running` has just checked, so it is the `harness up` that wrote it.
    if unsafe { libc::kill(state.pid as libc::pid_t, libc::SIGTERM) } != 0 {
        bail!(
            "could not signal harness up pid {}: {}",
            state.pid,
            std::io::Error::last_os_error()
        );
    }
    let started = Instant::now();
    while state.is_alive() {
        if started.elapsed() > DOWN_DEADLINE {
            bail!(
                "harness up pid {} is still running {}s after SIGTERM",
                state.pid,
                DOWN_DEADLINE.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "stopped the harness up at {} (pid {})",
        state.url, state.pid
    );
    Ok(())
}
