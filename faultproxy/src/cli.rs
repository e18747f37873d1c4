//! `harness proxy`: run the proxy alone in front of an emulator that is already running
//! (docker-compose uses it). Prints `AWS_ENDPOINT_URL=http://ADDR` as the first stdout line once
//! listening, then serves until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::{
    detect_flavor, start_on_threads, ControlAccess, Error, Limits, Preset, ProxyConfig, Route,
    Shard, UpstreamFlavor,
};

#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// The emulator to forward to, e.g. http://127.0.0.1:5000
    #[arg(long, env = "HARNESS_UPSTREAM")]
    pub upstream: url::Url,
    /// Send some services to another emulator, repeatable: SERVICES=URL@FLAVOR, e.g.
    /// iam,sts,logs=http://127.0.0.1:4566@localstack (services: any of botocore's service
    /// names, e.g. s3, lambda, apigateway, ecs, logs; FLAVOR, required: moto, localstack or other). Services not routed, and requests the proxy
    /// cannot classify, go to --upstream. A service may be named in one route only. In
    /// HARNESS_ROUTES several routes are separated by spaces.
    #[arg(long = "route", value_name = "SERVICES=URL@FLAVOR", env = "HARNESS_ROUTES", value_delimiter = ' ', value_parser = parse_route)]
    pub routes: Vec<Route>,
    /// Another process of the same emulator, repeatable: each account goes to one of --upstream
    /// and the --shard URLs, always the same one (a hash of the account id); routed services
    /// are not sharded. In HARNESS_SHARDS several URLs are separated by spaces.
    #[arg(
        long = "shard",
        value_name = "URL",
        env = "HARNESS_SHARDS",
        value_delimiter = ' '
    )]
    pub shards: Vec<url::Url>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "HARNESS_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Fault preset, repeatable: slr-delay[=DURATION], iam-propagation[=DURATION],
    /// throttle[=PERCENT], flaky[=PERCENT], latency=MS[±JITTER], seed=N, slr-model=on|off,
    /// fresh-account[=on|off] (every behaviour model on), time-scale=F (> 0, multiplies every
    /// model window), model=NAME:on|off|MIN..MAX (one model; an unknown NAME lists the models)
    #[arg(long = "preset", value_name = "NAME[=VALUE]", value_parser = Preset::parse)]
    pub presets: Vec<Preset>,
    /// Global seed: makes probabilistic presets and rules reproducible.
    #[arg(long, env = "HARNESS_SEED")]
    pub seed: Option<u64>,
    /// Upstream kind: moto, localstack, other, or auto (probe the upstream).
    #[arg(long, env = "HARNESS_FLAVOR", value_enum, default_value_t = FlavorChoice::Auto)]
    pub flavor: FlavorChoice,
    /// Who may use the control API (/_harness/, /_localstack/chaos/): loopback clients only, or
    /// any client that reaches the listener (a container whose port is published).
    #[arg(long, env = "HARNESS_CONTROL_API", value_enum, default_value_t = ControlAccess::Loopback)]
    pub control_api: ControlAccess,
    /// Time a client has to send a request's headers; slower connections are closed.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "30s")]
    pub header_read_timeout: Duration,
    /// Largest request head (request line + headers); larger ones get 431.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_header_bytes: usize,
    /// Largest request body; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Time to connect to the emulator; then the client gets 503 ServiceUnavailable.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "5s")]
    pub upstream_connect_timeout: Duration,
    /// Time the emulator has to answer; then the client gets 504 RequestTimeout.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "120s")]
    pub upstream_timeout: Duration,
    /// Journal entries kept; older ones are dropped and counted (GET /_harness/journal/stats).
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub journal_capacity: usize,
    /// Threads serving connections, each with its own event loop (default: one per core; 0
    /// serves on the main runtime's workers instead, slower per request).
    #[arg(long, env = "FAULTPROXY_THREADS")]
    pub threads: Option<usize>,
}

impl ProxyArgs {
    /// The limits the flags give.
    pub fn limits(&self) -> Limits {
        Limits {
            header_read_timeout: self.header_read_timeout,
            max_header_bytes: self.max_header_bytes,
            max_body_bytes: self.max_body_bytes,
            upstream_connect_timeout: self.upstream_connect_timeout,
            upstream_answer_timeout: self.upstream_timeout,
            journal_capacity: self.journal_capacity,
            control_access: self.control_api,
        }
    }
}

/// `--route`'s value.
fn parse_route(text: &str) -> Result<Route, super::RouteError> {
    text.parse()
}

/// `--flavor` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FlavorChoice {
    /// Probe the upstream: moto answers /moto-api/config, LocalStack /_localstack/health.
    Auto,
    Moto,
    #[value(name = "localstack")]
    LocalStack,
    Other,
}

impl FlavorChoice {
    /// The flavor to use, probing the upstream for `auto`.
    pub async fn resolve(self, upstream: &url::Url) -> UpstreamFlavor {
        match self {
            FlavorChoice::Auto => detect_flavor(upstream).await,
            FlavorChoice::Moto => UpstreamFlavor::Moto,
            FlavorChoice::LocalStack => UpstreamFlavor::LocalStack,
            FlavorChoice::Other => UpstreamFlavor::Other,
        }
    }
}

/// Runs the proxy until a shutdown signal.
pub async fn run(args: ProxyArgs) -> Result<(), Error> {
    let flavor = args.flavor.resolve(&args.upstream).await;
    let mut cfg = ProxyConfig::new(args.upstream.clone(), flavor);
    cfg.listen = args.listen;
    cfg.presets = args.presets.clone();
    cfg.routes = args.routes.clone();
    cfg.more_shards = args.shards.iter().cloned().map(Shard::at).collect();
    if let Some(seed) = args.seed {
        cfg = cfg.with_seed(seed);
    }
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let proxy = start_on_threads(cfg, args.limits(), threads).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "AWS_ENDPOINT_URL={}", proxy.url())
            .and_then(|()| out.flush())
            .map_err(|source| Error::Io {
                context: "writing the endpoint line to stdout",
                source,
            })?;
    }
    let presets: Vec<String> = args.presets.iter().map(ToString::to_string).collect();
    let routes: Vec<String> = args.routes.iter().map(ToString::to_string).collect();
    tracing::info!(
        listen = %proxy.addr(),
        upstream = %args.upstream,
        %flavor,
        presets = %presets.join(" "),
        routes = %routes.join(" "),
        "fault proxy ready; control API under /_harness/"
    );
    wait_for_shutdown_signal().await;
    tracing::info!("shutting down");
    proxy.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ProxyArgs,
    }

    #[test]
    fn parses_the_documented_command_line() {
        use clap::CommandFactory;
        Wrapper::command().debug_assert();
        let w = Wrapper::try_parse_from([
            "harness",
            "--upstream",
            "http://127.0.0.1:5000",
            "--listen",
            "0.0.0.0:4566",
            "--preset",
            "slr-delay=5s",
            "--preset",
            "latency=10+-2",
            "--seed",
            "9",
            "--flavor",
            "localstack",
            "--route",
            "iam,sts,logs=http://127.0.0.1:4566@localstack",
            "--route",
            "ec2=http://127.0.0.1:7000@other",
            "--shard",
            "http://127.0.0.1:5001",
            "--shard",
            "http://127.0.0.1:5002",
        ])
        .unwrap();
        let shards: Vec<String> = w.args.shards.iter().map(ToString::to_string).collect();
        assert_eq!(shards, ["http://127.0.0.1:5001/", "http://127.0.0.1:5002/"]);
        let routes: Vec<String> = w.args.routes.iter().map(ToString::to_string).collect();
        assert_eq!(
            routes,
            [
                "iam,sts,logs=http://127.0.0.1:4566/@localstack",
                "ec2=http://127.0.0.1:7000/@other"
            ]
        );
        assert_eq!(w.args.presets.len(), 2);
        assert_eq!(w.args.seed, Some(9));
        assert_eq!(w.args.flavor, FlavorChoice::LocalStack);
        assert_eq!(w.args.listen.port(), 4566);
        assert_eq!(
            w.args.limits(),
            Limits::default(),
            "flag defaults = Limits::default()"
        );
        let w = Wrapper::try_parse_from([
            "harness",
            "--upstream",
            "http://x",
            "--header-read-timeout",
            "2s",
            "--upstream-timeout",
            "1500ms",
            "--journal-capacity",
            "10",
            "--control-api",
            "any",
        ])
        .unwrap();
        let l = w.args.limits();
        assert_eq!(l.header_read_timeout, Duration::from_secs(2));
        assert_eq!(l.upstream_answer_timeout, Duration::from_millis(1500));
        assert_eq!(
            (l.journal_capacity, l.control_access),
            (10, ControlAccess::Any)
        );
        let e = Wrapper::try_parse_from([
            "harness",
            "--upstream",
            "http://x",
            "--preset",
            "slr-delay=never",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("slr-delay=never") && e.contains("Accepted presets"),
            "{e}"
        );
        let e = Wrapper::try_parse_from([
            "harness",
            "--upstream",
            "http://x",
            "--route",
            "iam,lamda=http://127.0.0.1:4566@localstack",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--route") && e.contains("unknown service \"lamda\""),
            "{e}"
        );
    }
}
