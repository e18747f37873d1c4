//! `faultproxy`: the fault-injecting AWS proxy as a command of its own, in front of any running
//! emulator (`faultproxy --upstream http://localhost:4566 --preset slr-delay=20s`). Prints
//! `AWS_ENDPOINT_URL=http://ADDR` as its first stdout line, then serves until SIGINT/SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: a proxied request allocates a few dozen small blocks (hyper's
/// header maps and buffers, the journal entry), and mimalloc spends fewer instructions on each
/// (`scripts/proxy_instructions.py`; docs/src/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "faultproxy",
    version,
    about = "AWS-aware fault-injecting proxy: a fresh AWS account's eventual consistency in front of any emulator"
)]
struct Cli {
    #[command(flatten)]
    args: faultproxy::cli::ProxyArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr: stdout's first line is the machine-readable endpoint.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match faultproxy::cli::run(cli.args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
