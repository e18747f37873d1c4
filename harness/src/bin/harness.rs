//! `harness`: the command-line entry point of the test harness.
//!
//! Each subcommand lives in its own module and brings its own clap `Args` and `run` function;
//! this file only wires them together (add a variant to [`Command`] and an arm in `main`).
//! - `proxy`: the fault-injecting proxy alone, in front of a running emulator.
//! - `up`: an emulator (HARNESS_BACKEND) plus the fault proxy in front of it.
//! - `run`: an emulator and the proxy around one command (`harness run -- CMD ARGS...`), or a
//!   fresh account of the running `up` when there is one.
//! - `status` / `down`: show / stop the running `up`.
//! - `report`: the CI reports (JUnit, Markdown) of a journal `harness up` or `harness run` wrote.
//! - `replay show`: the schedule (or rules) `--replay FILE` derives from a trail.
//! - `repro`: the first-apply failure reproduced, then absorbed, then avoided, as a story.
//!
//! Errors are rendered like the provisioner's (`error:` + `caused by:` lines); exit codes: 0 ok,
//! 1 error, 3 bad input or configuration ([`harness::exit_code`]).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use provisioner::user_error;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "AWS emulator + fault-injecting proxy that reproduces first-apply failures"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the fault-injecting proxy alone in front of a running emulator.
    Proxy(faultproxy::cli::ProxyArgs),
    /// Start an emulator and the fault proxy in front of it; serve until Ctrl-C.
    Up(harness::up::UpArgs),
    /// Run a command against an emulator + fault proxy in a fresh account; report what it met.
    Run(harness::run::RunArgs),
    /// Show the running `harness up` that `harness run` attaches to.
    Status(harness::up_commands::StatusArgs),
    /// Stop the running `harness up`.
    Down(harness::up_commands::DownArgs),
    /// Write JUnit/Markdown reports from a journal (`harness up --journal`, `harness run`).
    Report(harness::reports::command::ReportArgs),
    /// Reproduce the first-apply failure of a fresh account, then show retry and `ensure` fix it.
    Repro(harness::repro::ReproArgs),
    /// What `--replay FILE` would do: `harness replay show FILE [--json]`.
    Replay(harness::replay::ShowArgs),
}

/// docker-compose and CI templates pass a setting they have no value for as an empty string
/// (`HARNESS_SEED: ${HARNESS_SEED:-}`): an empty `HARNESS_*` variable counts as unset, so the
/// flag's default applies instead of a parse error.
fn drop_empty_settings() {
    let empty: Vec<_> = std::env::vars_os()
        .filter(|(k, v)| v.is_empty() && k.to_string_lossy().starts_with("HARNESS_"))
        .map(|(k, _)| k)
        .collect();
    for k in empty {
        std::env::remove_var(k);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    drop_empty_settings();
    // Usage errors exit 3 (bad input), like the provisioner's; `--help`/`--version` exit 0.
    let cli: Cli = match user_error::parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // `repro` tells its story on stdout; its log defaults to errors only (RUST_LOG overrides).
    // `run` shares stderr with the command it wraps: warnings only.
    let default_level = match cli.command {
        Command::Repro(_) => "error",
        Command::Run(_) => "warn",
        _ => "info",
    };
    // Logs go to stderr: stdout's first line is the machine-readable endpoint. Colour only on a
    // terminal, never with NO_COLOR.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(user_error::stderr_colour())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .init();
    let result = match cli.command {
        Command::Proxy(args) => faultproxy::cli::run(args).await.map_err(Into::into),
        Command::Up(args) => harness::up::run(args).await,
        Command::Repro(args) => harness::repro::run(args).await,
        Command::Report(args) => harness::reports::command::run(args),
        Command::Status(args) => harness::up_commands::status(args).await,
        Command::Down(args) => harness::up_commands::down(args).await,
        Command::Replay(args) => harness::replay::show(args),
        Command::Run(args) => return ExitCode::from(harness::run::run(args).await),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", user_error::render(&e));
            ExitCode::from(harness::exit_code(&e))
        }
    }
}
