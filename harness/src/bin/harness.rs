//! `harness`: the command-line entry point of the test harness.
//!
//! Each subcommand lives in its own module and brings its own clap `Args` and `run` function;
//! this file only wires them together (add a variant to [`Command`] and an arm in `main`).
//! - `proxy`: the fault-injecting proxy alone, in front of a running emulator.
//! - `up`: an emulator (HARNESS_BACKEND) plus the fault proxy in front of it.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
    Proxy(harness::proxy::cli::ProxyArgs),
    /// Start an emulator and the fault proxy in front of it; serve until Ctrl-C.
    Up(harness::up::UpArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr: stdout's first line is the machine-readable endpoint.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Proxy(args) => harness::proxy::cli::run(args).await,
        Command::Up(args) => harness::up::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
