//! Why this file exists: `harness up` gives a developer (or docker-compose-less CI) the same
//! environment the tests get, as a long-running command: the selected emulator backend plus
//! the fault proxy in front of it. The first stdout line is `AWS_ENDPOINT_URL=http://ADDR`
//! (printed once both are ready), followed by dotenv-style lines for credentials and region,
//! so `harness up > .env` or reading the first line from a script both work. Runs until
//! SIGINT/SIGTERM, then stops the proxy and the emulator.

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;

use crate::accounts;
use crate::emulator::{self, Backend};
use crate::env::{DEFAULT_REGION, TEST_SECRET_KEY};
use faultproxy::cli::wait_for_shutdown_signal;
use faultproxy::{Preset, ProxyConfig};

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Address the fault proxy listens on (port 0 picks a free port).
    #[arg(long, env = "HARNESS_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,
    /// Emulator backend: moto, moto-container, localstack, external.
    #[arg(long, env = "HARNESS_BACKEND", default_value = "moto")]
    pub backend: Backend,
    /// Fault preset, repeatable: slr-delay[=DURATION], iam-propagation[=DURATION],
    /// throttle[=PERCENT], flaky[=PERCENT], latency=MS[±JITTER], seed=N, slr-model=on|off
    #[arg(long = "preset", value_name = "NAME[=VALUE]", value_parser = Preset::parse)]
    pub presets: Vec<Preset>,
    /// Global seed: makes probabilistic presets and rules reproducible.
    #[arg(long, env = "HARNESS_SEED")]
    pub seed: Option<u64>,
}

/// Starts emulator and proxy, prints the endpoint, serves until SIGINT/SIGTERM.
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let emulator = emulator::start(args.backend).await?;
    let endpoint = emulator.endpoint().clone();
    let mut cfg = ProxyConfig::new(endpoint.url.clone(), endpoint.flavor);
    cfg.listen = args.listen;
    cfg.presets = args.presets.clone();
    if let Some(seed) = args.seed {
        cfg = cfg.with_seed(seed);
    }
    let proxy = faultproxy::start(cfg).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "AWS_ENDPOINT_URL={}", proxy.url())?;
        writeln!(
            out,
            "# The access key id picks the account: any 12 digits is an account of its own."
        )?;
        writeln!(out, "AWS_ACCESS_KEY_ID={}", accounts::fresh_account_id())?;
        writeln!(out, "AWS_SECRET_ACCESS_KEY={TEST_SECRET_KEY}")?;
        writeln!(out, "AWS_REGION={DEFAULT_REGION}")?;
        out.flush()?;
    }
    let presets: Vec<String> = args.presets.iter().map(ToString::to_string).collect();
    tracing::info!(
        listen = %proxy.addr(),
        emulator = %endpoint.base_url(),
        backend = %args.backend,
        presets = %presets.join(" "),
        "emulator and fault proxy ready; control API under /_harness/; Ctrl-C to stop"
    );
    if !endpoint.serves_ecs {
        tracing::warn!(
            "this endpoint serves no ECS/ECR (LocalStack without LOCALSTACK_AUTH_TOKEN)"
        );
    }
    wait_for_shutdown_signal().await;
    tracing::info!("shutting down");
    proxy.shutdown().await;
    drop(emulator);
    Ok(())
}
