//! Why this file exists: `harness up` gives a developer (or docker-compose-less CI) the same
//! environment the tests get, as a long-running command: the selected emulator backend plus
//! the fault proxy in front of it. The first stdout line is `AWS_ENDPOINT_URL=http://ADDR`
//! (printed once both are ready), followed by dotenv-style lines for credentials and region,
//! then `#` comment lines naming the behaviour-model profile, its seed, its time scale and each
//! model's window range after scaling, so `harness up > .env` or reading the first line from a
//! script both work. Runs until SIGINT/SIGTERM, then stops the proxy and the emulator.
//!
//! The emulator/model flags are shared with `harness run` (launch/args.rs).

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;

use crate::env::{DEFAULT_REGION, TEST_SECRET_KEY};
use crate::launch::{describe_models, LaunchArgs, Launched};
use faultproxy::cli::wait_for_shutdown_signal;

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Address the fault proxy listens on (port 0 picks a free port).
    #[arg(long, env = "HARNESS_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,
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
    let launched = Launched::start(&args.launch, args.listen, None, DEFAULT_REGION).await?;
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
        out.flush()?;
    }
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
    launched.stop().await;
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
