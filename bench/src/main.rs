//! `just bench` (`cargo run --profile bench-fast -p bench`): in one run,
//! 1. apply / no-op plan / destroy of the example stack against moto through the fault proxy
//!    (fresh account per repetition), calls per apply, their critical path and its lower bound;
//!    then what the user sees: the CLI's apply in an untouched account and the CLI's own cost
//!    (user.rs), and how long past the service-linked role's window the waits run (waits.rs);
//! 2. the proxy's own cost against an instant upstream, side by side with nginx;
//! 3. emulator start-to-ready times, and `harness run -- true` from nothing and with a
//!    `harness up` running (harness_run.rs);
//! 4. with `--suite`, the scenario suite's wall time (suite.rs);
//! 5. the proxy's soak: `--soak-clients` (256) keep-alive clients for `--soak-secs` (60) with
//!    `flaky` on, requests, errors by kind and the proxy's RSS, its growth over the last 5 minutes
//!    against its bound (soak.rs; `--only soak` runs it alone and merges it into results.json);
//!
//! then writes `target/bench/results.json` and `target/bench/results.md` and prints the table.

mod classify;
mod cli_apply;
mod cli_bin;
mod cpu;
mod critical;
mod external_proxy;
mod goals;
mod harness_run;
mod http_load;
mod nginx;
mod pooled;
mod proxy_cost;
mod report;
mod shards;
mod soak;
mod stack;
mod startup;
mod stats;
mod suite;
mod user;
mod waits;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use harness::emulator::{self, Backend};

/// Benchmarks of the provisioner against moto, of the fault proxy (vs nginx), and of emulator
/// start-up. Results: target/bench/results.json and results.md.
#[derive(Parser, Debug, Clone)]
#[command(name = "bench")]
pub struct Args {
    /// Measured apply/plan/destroy repetitions (each in a fresh account; one warm-up extra).
    #[arg(long, default_value_t = 10)]
    pub reps: usize,
    /// moto process starts to time.
    #[arg(long, default_value_t = 3)]
    pub startup_reps: usize,
    /// Starts per container backend (0 skips them).
    #[arg(long, default_value_t = 3)]
    pub container_reps: usize,
    /// Interleaved latency rounds over direct / proxy / proxy+rules / nginx.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// Sequential requests per target per round.
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    /// Concurrent keep-alive connections of the throughput test.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds per throughput pass (two passes per target).
    #[arg(long, default_value_t = 2.0)]
    pub throughput_secs: f64,
    /// Worker threads of our proxy's runtime = nginx worker_processes (default: cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Where results go (default: <cargo target dir>/bench).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// User-facing repetitions: cold CLI apply in an untouched account, then CLI and in-process
    /// applies in that warm account (each in a fresh account).
    #[arg(long, default_value_t = 5)]
    pub user_reps: usize,
    /// Service-linked-role windows for the wait overshoots, real time (empty skips them).
    #[arg(long, value_parser = parse_windows, default_value = "5s,20s")]
    pub slr_windows: Windows,
    /// Also time `cargo test -p scenarios` after building it (suite_test_s; off by default: on a
    /// cold target dir the untimed build is the whole debug test build).
    #[arg(long)]
    pub suite: bool,
    /// The provisioner CLI binary for the user-facing figures (default: built by cargo in the
    /// bench's own profile and target dir).
    #[arg(long)]
    pub provisioner_bin: Option<PathBuf>,
    /// Another proxy build to measure in part 2 alongside ours and nginx, in the same run
    /// (repeatable): NAME=COMMAND, e.g. before="/path/harness proxy --flavor moto"; the bench
    /// appends --upstream and --listen.
    #[arg(long = "compare-proxy", value_name = "NAME=COMMAND")]
    pub compare_proxy: Vec<external_proxy::ProxyCommand>,
    /// Run only one part and print its details as JSON (no result files, except `soak`, which
    /// is merged into results.json under `details.soak`).
    #[arg(long, value_enum)]
    pub only: Option<Part>,
    /// Seconds of the proxy soak (0 skips it in a full run).
    #[arg(long, default_value_t = 60.0)]
    pub soak_secs: f64,
    /// Concurrent keep-alive clients of the soak.
    #[arg(long, default_value_t = 256)]
    pub soak_clients: usize,
    /// `harness run -- true` timings of each kind (cold, attached), after one warm-up each.
    #[arg(long, default_value_t = 5)]
    pub run_reps: usize,
    /// The `harness` binary part 3b runs (default: the debug build, built by cargo).
    #[arg(long)]
    pub harness_bin: Option<PathBuf>,
    /// The `faultproxy` binary the soak runs (default: built by cargo in the bench's profile).
    #[arg(long)]
    pub faultproxy_bin: Option<PathBuf>,
}

/// `--slr-windows`: comma-separated durations; an empty value is no window at all (clap's
/// `value_delimiter` would hand the parser one empty item, which no duration parser accepts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows(pub Vec<Duration>);

fn parse_windows(s: &str) -> Result<Windows, String> {
    s.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            humantime::parse_duration(w).map_err(|e| {
                format!("{w:?} is not a duration ({e}); write e.g. 5s,20s, or \"\" for none")
            })
        })
        .collect::<Result<_, _>>()
        .map(Windows)
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Stack,
    /// The user-facing figures: cold CLI apply, CLI overhead, wait overshoots.
    User,
    Proxy,
    Startup,
    /// `cargo test -p scenarios`, built first, then timed (suite_test_s).
    Suite,
    /// The proxy soak (256 keep-alive clients, `flaky`, RSS at start and end).
    Soak,
    /// `classify` over the operation corpus (classify_ns_p50).
    Classify,
    /// `harness run -- true` from nothing and with a `harness up` running (run_cold_ms,
    /// run_attach_ms).
    Run,
    /// Many applies at once on the default moto processes vs one (moto_shards_speedup).
    Shards,
}

/// The allocator the `faultproxy` command runs with (faultproxy/src/main.rs): part 2 measures the
/// proxy in this process.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(e) = real_main() {
        eprintln!("bench: error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let workers = args.workers.unwrap_or(cores).max(1);
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| emulator::paths::target_dir().join("bench"));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    if let Some(part) = args.only {
        return run_only(&args, part, cores, workers, &out_dir);
    }

    // nginx first: if it is missing and cannot be installed, say so before minutes of work.
    let nginx_exe = nginx::ensure_installed()?;
    let nginx_version = nginx::version(&nginx_exe);
    let bin = provisioner_bin(&args).map_err(|e| format!("{e:#}"));
    let config = cli_apply::write_config(&out_dir.join("user"))?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("bench-main")
        .enable_all()
        .build()?;

    // 1. The stack against the emulator.
    let backend = Backend::from_env()?;
    eprintln!(
        "bench: part 1: apply / plan / destroy x {} (+1 warm-up) against {} through the proxy",
        args.reps,
        backend.name()
    );
    let (stack, user, waits, emulator_describe) = rt.block_on(async {
        let emu: Arc<dyn emulator::Emulator> = Arc::from(emulator::start(backend).await?);
        let describe = emu.describe();
        let result = stack::run(emu.clone(), args.reps).await;
        let user = user_part(emu.clone(), &bin, &config, args.user_reps).await;
        let waits = waits_part(emu.clone(), &args.slr_windows.0).await;
        let _ = tokio::task::spawn_blocking(move || drop(emu)).await;
        anyhow::Ok((result?, user, waits, describe))
    })?;

    // 2. Proxy cost (own runtimes; nothing else running).
    eprintln!(
        "bench: part 2: proxy cost: direct / proxy / proxy + 20 rules / nginx ({} workers, {} connections)",
        workers, args.connections
    );
    let proxy = proxy_cost::run(
        proxy_settings(&args, workers),
        Ok(nginx_exe.as_path()),
        &out_dir.join("nginx"),
    )?;

    // 3. Start-up times.
    eprintln!("bench: part 3: emulator start-to-ready times");
    let (startup, moto_version) = rt.block_on(async {
        let s = startup::run(args.startup_reps.max(1), args.container_reps).await;
        (s, startup::moto_version().await)
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    let shards = shards::part(cores).map_err(|e| format!("{e:#}"));

    // 4. The scenario family, opt-in.
    let suite = suite_if_asked(&args, &out_dir);

    // 5. The proxy soak.
    let soak = soak_if_asked(&args, cores);

    let facts = report::Facts {
        cores,
        rustc_version: rustc_version(),
        moto_version,
        nginx_version,
        timestamp: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        emulator: emulator_describe,
        proxy_workers: workers,
    };
    write_outputs(
        &out_dir,
        facts,
        &Measured {
            stack,
            user,
            waits,
            proxy,
            startup,
            suite,
            soak,
            classify: classify::run(&corpus_path(&out_dir)),
            run: run_part(&args, &out_dir).map_err(|e| format!("{e:#}")),
            shards,
        },
    )
}

/// Where the operation corpus test writes the corpus (`<target>/operation-corpus`).
fn corpus_path(out_dir: &std::path::Path) -> PathBuf {
    out_dir.join("../operation-corpus/corpus.jsonl")
}

/// Everything one full run measured; a part that failed carries its reason.
struct Measured {
    stack: stack::StackResults,
    user: Result<user::UserResults, String>,
    waits: Result<Vec<waits::WindowRun>, String>,
    proxy: proxy_cost::ProxyCost,
    startup: startup::StartTimes,
    suite: Result<suite::SuiteRun, String>,
    soak: Result<soak::Soak, String>,
    classify: Result<classify::ClassifyCost, String>,
    run: Result<harness_run::RunCost, String>,
    shards: Result<shards::ShardsRun, String>,
}

/// results.json and results.md, and the table on stdout.
fn write_outputs(
    out_dir: &std::path::Path,
    facts: report::Facts,
    m: &Measured,
) -> anyhow::Result<()> {
    let mut results = report::Results::new(facts, &m.stack, &m.proxy, &m.startup);
    let facing = goals::UserFacing::new(goals::Inputs {
        stack: &m.stack,
        results: &results,
        proxy: &m.proxy,
        user: m.user.as_ref().map_err(Clone::clone),
        waits: m.waits.as_deref().map_err(Clone::clone),
        suite: m.suite.as_ref().map_err(Clone::clone),
        run: m.run.as_ref().map_err(Clone::clone),
        shards: m.shards.as_ref().map_err(Clone::clone),
    });
    results.null_reasons.extend(facing.null_reasons.clone());
    if let Err(why) = &m.soak {
        results.null_reasons.insert("soak".into(), why.clone());
    }
    if let Err(why) = &m.classify {
        results
            .null_reasons
            .insert("classify_ns_p50".into(), why.clone());
    }
    let json_path = out_dir.join("results.json");
    let md_path = out_dir.join("results.md");
    let more = serde_json::json!({
        "user": m.user.as_ref().ok(),
        "waits": m.waits.as_ref().ok(),
        "suite": m.suite.as_ref().ok(),
        "soak": m.soak.as_ref().ok(),
        "classify": m.classify.as_ref().ok(),
        "run": m.run.as_ref().ok(),
        "shards": m.shards.as_ref().ok(),
    });
    // The user-facing figures and classify_ns_p50 sit at the top level of results.json.
    let mut top = serde_json::to_value(&facing)?;
    if let serde_json::Value::Object(o) = &mut top {
        o.insert(
            "classify_ns_p50".into(),
            serde_json::json!(m.classify.as_ref().ok().map(|c| c.classify_ns_p50)),
        );
        o.insert(
            soak::TOP_LEVEL_FIGURE.into(),
            serde_json::json!(m.soak.as_ref().ok().map(|s| s.rss_growth_window_mib)),
        );
    }
    let json = results.to_json(&m.stack, &m.proxy, &m.startup, &top, &more)?;
    std::fs::write(&json_path, json + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md = results.markdown(&m.stack, &m.proxy) + &facing.markdown();
    std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
    println!("{md}");
    eprintln!(
        "bench: wrote {} and {}",
        json_path.display(),
        md_path.display()
    );
    Ok(())
}

/// Logs on stderr, `RUST_LOG` or warnings only; the retry loop's "absorbed" warnings are what
/// part 1c provokes on purpose, so they are not shown by default.
fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,provisioner::retry::retrier=error")
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(provisioner::user_error::stderr_colour())
        .init();
}

/// The provisioner binary: `--provisioner-bin`, else built next to the bench executable.
fn provisioner_bin(args: &Args) -> anyhow::Result<PathBuf> {
    match &args.provisioner_bin {
        Some(p) => cli_bin::given(p),
        None => cli_bin::ensure_built(),
    }
}

/// Part 1b; a failure becomes the reason its figures are null.
async fn user_part(
    emu: Arc<dyn emulator::Emulator>,
    bin: &Result<PathBuf, String>,
    config: &std::path::Path,
    reps: usize,
) -> Result<user::UserResults, String> {
    let bin = bin.as_ref().map_err(Clone::clone)?;
    eprintln!(
        "bench: part 1b: user-facing apply x {reps} ({})",
        bin.display()
    );
    user::run(emu, bin, config, reps)
        .await
        .map_err(|e| format!("{e:#}"))
}

/// Part 1c; a failure becomes the reason its figures are null.
async fn waits_part(
    emu: Arc<dyn emulator::Emulator>,
    windows: &[Duration],
) -> Result<Vec<waits::WindowRun>, String> {
    if windows.is_empty() {
        return Err("not run (--slr-windows is empty)".into());
    }
    eprintln!(
        "bench: part 1c: service-linked-role wait overshoots, windows {windows:?} (real time)"
    );
    waits::run(emu, windows).await.map_err(|e| format!("{e:#}"))
}

fn proxy_settings(args: &Args, workers: usize) -> proxy_cost::Settings {
    proxy_cost::Settings {
        workers,
        rounds: args.rounds.max(1),
        requests_per_round: args.requests.max(1),
        connections: args.connections.max(1),
        throughput_duration: Duration::from_secs_f64(args.throughput_secs.max(0.1)),
        compare: args.compare_proxy.clone(),
    }
}

/// `--only PART`: one part, its details printed as JSON.
fn run_only(
    args: &Args,
    part: Part,
    cores: usize,
    workers: usize,
    out_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let json = match part {
        Part::Soak => {
            let soak = soak_part(args, cores)?;
            let path = out_dir.join("results.json");
            soak::merge_into_results(&path, &soak)?;
            eprintln!("bench: soak merged into {} (details.soak)", path.display());
            serde_json::to_string_pretty(&soak)?
        }
        Part::Suite => serde_json::to_string_pretty(&suite::run(&out_dir.join("suite.log"))?)?,
        Part::Run => serde_json::to_string_pretty(&run_part(args, out_dir)?)?,
        Part::Shards => serde_json::to_string_pretty(&shards::part(cores)?)?,
        Part::Classify => serde_json::to_string_pretty(
            &classify::run(&corpus_path(out_dir)).map_err(anyhow::Error::msg)?,
        )?,
        Part::Proxy => {
            let nginx = nginx::ensure_installed()?;
            let p = proxy_cost::run(
                proxy_settings(args, workers),
                Ok(nginx.as_path()),
                &out_dir.join("nginx"),
            )?;
            let (o50, o99) = p.overhead(&p.proxy);
            let (r50, r99) = p.overhead(&p.proxy_rules);
            let n = p.nginx.as_ref().map(|n| p.overhead(n));
            let one = p
                .proxy_1t
                .as_ref()
                .map(|t| (p.overhead(t), t.rps, t.cpu_us_per_req));
            let n1 = p
                .nginx_1w
                .as_ref()
                .map(|t| (p.overhead(t), t.rps, t.cpu_us_per_req));
            eprintln!("bench: one thread/worker: proxy {one:?}, nginx {n1:?}");
            p.print_models();
            p.print_compared();
            eprintln!(
                "bench: overhead p50/p99 us: proxy {o50}/{o99}, proxy+rules {r50}/{r99}, nginx {n:?}; rps: direct {}, proxy {}, proxy+rules {}, nginx {:?}; cpu us/req: upstream {:?}, proxy {:?}, proxy+rules {:?}, nginx {:?}",
                p.direct.rps,
                p.proxy.rps,
                p.proxy_rules.rps,
                p.nginx.as_ref().map(|n| n.rps),
                p.direct.cpu_us_per_req,
                p.proxy.cpu_us_per_req,
                p.proxy_rules.cpu_us_per_req,
                p.nginx.as_ref().and_then(|n| n.cpu_us_per_req),
            );
            serde_json::to_string_pretty(&p)?
        }
        Part::User => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cores)
                .enable_all()
                .build()?;
            let bin = provisioner_bin(args).map_err(|e| format!("{e:#}"));
            let config = cli_apply::write_config(&out_dir.join("user"))?;
            let json = rt.block_on(async {
                let emu: Arc<dyn emulator::Emulator> =
                    Arc::from(emulator::start(Backend::from_env()?).await?);
                let user = user_part(emu.clone(), &bin, &config, args.user_reps).await;
                let waits = waits_part(emu.clone(), &args.slr_windows.0).await;
                let _ = tokio::task::spawn_blocking(move || drop(emu)).await;
                anyhow::Ok(serde_json::to_string_pretty(&serde_json::json!({
                    "user": user, "waits": waits,
                }))?)
            })?;
            rt.shutdown_timeout(Duration::from_secs(2));
            json
        }
        Part::Stack | Part::Startup => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cores)
                .enable_all()
                .build()?;
            let json = rt.block_on(async {
                if part == Part::Stack {
                    let emu: Arc<dyn emulator::Emulator> =
                        Arc::from(emulator::start(Backend::from_env()?).await?);
                    let r = stack::run(emu.clone(), args.reps).await;
                    let _ = tokio::task::spawn_blocking(move || drop(emu)).await;
                    anyhow::Ok(serde_json::to_string_pretty(&r?)?)
                } else {
                    let s = startup::run(args.startup_reps.max(1), args.container_reps).await;
                    anyhow::Ok(serde_json::to_string_pretty(&s)?)
                }
            })?;
            rt.shutdown_timeout(Duration::from_secs(2));
            json
        }
    };
    println!("{json}");
    Ok(())
}

/// Part 3b: `harness run -- true`, cold and attached.
fn run_part(args: &Args, out_dir: &std::path::Path) -> anyhow::Result<harness_run::RunCost> {
    harness_run::part(args.harness_bin.as_deref(), args.run_reps, out_dir)
}

/// The scenario suite in a full run, with `--suite`.
fn suite_if_asked(args: &Args, out_dir: &std::path::Path) -> Result<suite::SuiteRun, String> {
    if !args.suite {
        return Err("not run (pass --suite to time `cargo test -p scenarios`)".to_string());
    }
    suite::run(&out_dir.join("suite.log")).map_err(|e| format!("{e:#}"))
}

/// The soak in a full run, unless `--soak-secs 0`.
fn soak_if_asked(args: &Args, cores: usize) -> Result<soak::Soak, String> {
    if args.soak_secs <= 0.0 {
        return Err("not run (--soak-secs 0)".to_string());
    }
    soak_part(args, cores).map_err(|e| format!("{e:#}"))
}

/// The soak on a runtime of its own (the load generator), the proxy in its own process.
fn soak_part(args: &Args, cores: usize) -> anyhow::Result<soak::Soak> {
    let bin = match &args.faultproxy_bin {
        Some(p) if p.is_file() => p.clone(),
        Some(p) => anyhow::bail!("--faultproxy-bin {}: no such file", p.display()),
        None => cli_bin::ensure_built_bin("faultproxy", "faultproxy", "--faultproxy-bin")?,
    };
    let settings = soak::Settings {
        clients: args.soak_clients.max(1),
        duration: Duration::from_secs_f64(args.soak_secs.max(1.0)),
        preset: "flaky".into(),
        sample_every: Duration::from_secs(2),
    };
    eprintln!(
        "bench: soak: {} keep-alive clients for {:?} through {} with --preset {}",
        settings.clients,
        settings.duration,
        bin.display(),
        settings.preset
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("bench-soak-load")
        .enable_all()
        .build()?;
    let soak = soak::run(&rt, &bin, &settings);
    rt.shutdown_timeout(Duration::from_secs(2));
    let soak = soak?;
    eprintln!("{}", soak.summary());
    Ok(soak)
}

fn rustc_version() -> Option<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slr_windows_empty_means_none_and_a_bad_item_is_named() {
        assert_eq!(parse_windows("").unwrap(), Windows(vec![]));
        assert_eq!(
            parse_windows("5s, 20s").unwrap(),
            Windows(vec![Duration::from_secs(5), Duration::from_secs(20)])
        );
        let err = parse_windows("5s,twenty").unwrap_err();
        assert!(err.contains("\"twenty\""), "{err}");
        let args = Args::try_parse_from(["bench", "--slr-windows", ""]).unwrap();
        assert!(args.slr_windows.0.is_empty());
    }
}
