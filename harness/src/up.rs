//! Why this file exists: `harness up` gives a developer (or docker-compose-less CI) the same
//! environment the tests get, as a long-running command: the selected emulator backend plus
//! the fault proxy in front of it. The first stdout line is `AWS_ENDPOINT_URL=http://ADDR`
//! (printed once both are ready), followed by dotenv-style lines for credentials and region,
//! then `#` comment lines naming the behaviour-model profile, its seed, its time scale and each
//! model's window range after scaling, so `harness up > .env` or reading the first line from a
//! script both work. Runs until SIGINT/SIGTERM, then stops the proxy and the emulator.
//!
//! It registers itself in the state file of up_state.rs, so `harness run` attaches to it (leasing
//! a fresh pooled account with presets of its own) instead of starting an emulator, and
//! `harness status` / `harness down` find it.
//!
//! With `--journal FILE` it writes the journal (and which behaviours were on) when it stops, for
//! `harness report` to turn into CI reports (reports/command.rs).
//!
//! The emulator/model flags are shared with `harness run` (launch/args.rs).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use clap::Args;

use crate::env::{DEFAULT_REGION, TEST_SECRET_KEY};
use crate::launch::{describe_models, LaunchArgs, Launched};
use crate::reports::{self, behaviours};
use crate::up_state;
use faultproxy::cli::wait_for_shutdown_signal;
use faultproxy::ControlAccess;

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Address the fault proxy listens on (port 0 picks a free port).
    #[arg(long, env = "HARNESS_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,
    /// Who may use the control API (`/_harness/...`): `loopback` clients, or `any` client that
    /// reaches the listener (a container whose port is published to the host).
    #[arg(long, env = "HARNESS_CONTROL_API", value_enum, default_value_t = ControlAccess::Loopback)]
    pub control_api: ControlAccess,
    /// Write the JSON journal here when stopped (SIGINT/SIGTERM), for `harness report`.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub launch: LaunchArgs,
}

/// Starts emulator and proxy, prints the endpoint, serves until SIGINT/SIGTERM.
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    // A taken `--listen` port fails now, not after the emulator's start (seconds later).
    if args.listen.port() != 0 {
        std::net::TcpListener::bind(args.listen).map_err(|source| faultproxy::Error::Listen {
            addr: args.listen,
            source,
        })?;
    }
    if let Some(path) = &args.journal {
        reports::check_output_path("--journal", path).map_err(anyhow::Error::msg)?;
    }
    let launched = Launched::start(
        &args.launch,
        args.listen,
        None,
        DEFAULT_REGION,
        args.control_api,
        true,
    )
    .await?;
    let mut record = launched.record(&args.launch, DEFAULT_REGION);
    record.started_unix_ms = reports::record::unix_ms(SystemTime::now());
    let started = Instant::now();
    let on = behaviours::on_ids(&launched.settings, &launched.proxy.rules());
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "AWS_ENDPOINT_URL={}", launched.proxy.url())?;
        writeln!(
            out,
            "# The access key id picks the account: any 12 digits is an account of its own."
        )?;
        writeln!(out, "AWS_ACCESS_KEY_ID={}", launched.account)?;
        writeln!(out, "AWS_SECRET_ACCESS_KEY={TEST_SECRET_KEY}")?;
        writeln!(out, "AWS_REGION={DEFAULT_REGION}")?;
        for line in describe_models(args.launch.profile, &launched.settings) {
            writeln!(out, "{line}")?;
        }
        if let Some(replay) = &launched.replay {
            writeln!(out, "# {replay} (account {})", launched.account)?;
        }
        out.flush()?;
    }
    let registration = register_for_runs(&launched, &args.launch);
    let reaper = end_leases_of_gone_runs(launched.proxy.clone());
    let settings = &launched.settings;
    tracing::info!(
        listen = %launched.proxy.addr(),
        emulator = %launched.emulator.endpoint().base_url(),
        backend = %args.launch.backend,
        presets = %launched.presets.join(" "),
        profile = args.launch.profile.name(),
        seed = settings.seed,
        time_scale = settings.time_scale(),
        models = %settings.enabled_names().join(" "),
        "emulator and fault proxy ready; control API under /_harness/; Ctrl-C to stop"
    );
    wait_for_shutdown_signal().await;
    tracing::info!("shutting down");
    // No `harness run` attaches to an `up` that is stopping.
    drop(registration);
    reaper.abort();
    let written = match &args.journal {
        Some(path) => {
            record.duration_ms = started.elapsed().as_millis() as u64;
            write_journal(path, record, on, &launched)
        }
        None => Ok(()),
    };
    launched.stop().await;
    written
}

/// Makes this `up` the one `harness run` attaches to (up_state.rs): the accounts it leases come
/// from the warm pool on moto (pool.rs), and the state file names it. Another running `up`
/// already registered keeps that role (a warning says so).
fn register_for_runs(launched: &Launched, args: &LaunchArgs) -> Option<up_state::Registration> {
    let endpoint = launched.emulator.endpoint();
    if endpoint.flavor == faultproxy::UpstreamFlavor::Moto {
        if let Some(pool) = crate::pool::shared(endpoint, DEFAULT_REGION) {
            launched
                .proxy
                .set_account_source(std::sync::Arc::new(|| pool.take().id().to_string()));
        }
    }
    let state = up_state::UpState::of_this_process(
        launched.proxy.url(),
        args.backend.name(),
        reports::record::unix_ms(SystemTime::now()),
    );
    match up_state::register(&up_state::path(), state) {
        Ok(registration) => {
            tracing::info!(
                state_file = %registration.path().display(),
                "`harness run` attaches here; `harness status` shows it, `harness down` stops it"
            );
            Some(registration)
        }
        Err(why) => {
            tracing::warn!("{why}");
            None
        }
    }
}

/// How often [`end_leases_of_gone_runs`] looks.
const REAP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Ends the leases whose `harness run` is gone (killed before it could end its lease; a lease
/// names its run as owner, pid and start time), so their presets and rules go and
/// `harness status` stops counting them.
fn end_leases_of_gone_runs(proxy: faultproxy::ProxyHandle) -> tokio::task::JoinHandle<()> {
    use crate::emulator::sharing::procs::ProcId;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REAP_EVERY);
        loop {
            tick.tick().await;
            for lease in proxy.leases() {
                let Some(owner) = lease.owner.as_deref().and_then(ProcId::parse_lease_name) else {
                    continue;
                };
                if !owner.is_alive() && proxy.release_account(&lease.account).is_ok() {
                    tracing::info!(
                        account = %lease.account,
                        pid = owner.pid,
                        "ended the lease of a harness run that is gone"
                    );
                }
            }
        }
    })
}

/// Writes the journal file of a stopping `harness up`: what was on when it started and when it
/// stopped (the control API may have changed both), and every journal entry.
fn write_journal(
    path: &std::path::Path,
    mut record: reports::RunRecord,
    mut on: Vec<String>,
    launched: &Launched,
) -> anyhow::Result<()> {
    let entries = launched.proxy.journal();
    on.extend(behaviours::on_ids(
        &launched.proxy.model_settings(),
        &launched.proxy.rules(),
    ));
    record.behaviours = behaviours::of(&on, &entries)
        .into_iter()
        .map(|b| b.id)
        .collect();
    reports::write_journal(path, &record, &entries)?;
    tracing::info!(journal = %path.display(), "journal written");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: UpArgs,
    }

    #[test]
    fn listen_and_the_shared_flags_parse_together() {
        let w = Wrapper::try_parse_from([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--profile",
            "fresh-account",
            "--seed",
            "3",
        ])
        .unwrap();
        assert_eq!(w.args.listen.port(), 0);
        assert_eq!(w.args.launch.seed, Some(3));
        assert_eq!(w.args.launch.profile.name(), "fresh-account");
    }
}
