//! Why this file exists: the `provisioner` CLI — a thin clap layer over the library's `Stack`.
//! It lives in the library so that every binary running it (`provisioner`, and the scenario
//! suite's copy, built with the suite's features) runs exactly this code.
//! Exit codes (`crate::user_error`): 0 success; 1 error; 2 `plan --detailed-exitcode` with
//! changes; 3 bad input or configuration (usage errors, `--endpoint-url`, `--region`, the stack
//! spec). Errors are printed as `error: <what>` plus `caused by:` lines, never a panic or a
//! `Debug` dump. Before anything else the endpoint is checked under short deadlines
//! (`crate::preflight`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::clients::{resolve_region, ClientSettings, ClientsBuilder};
use crate::preflight;
use crate::retry::{TransientRetry, TRANSIENT_INITIAL_BACKOFF, TRANSIENT_MAX_BACKOFF};
use crate::user_error::{self, BadInput, EXIT_CHANGES};
use crate::{ApplyOptions, Clients, DestroyOptions, Progress, RetryPolicy, Stack, StackSpec};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "provisioner",
    version,
    about = "Plan, apply, destroy and output the ECS stack"
)]
struct Cli {
    /// The stack spec (TOML).
    #[arg(long, global = true, default_value = "stack.toml")]
    config: PathBuf,
    /// AWS endpoint override (an emulator or the fault proxy).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// AWS region (else AWS_REGION, else the spec's `region`).
    #[arg(long, global = true, env = "AWS_REGION")]
    region: Option<String>,
    /// Base of the exponential backoff between attempts of a throttled or failed call (5xx, a
    /// dropped connection); the pause is capped at 20 times it. The default is the AWS SDKs'
    /// standard retry mode; a local emulator needs far less (e.g. 10ms).
    #[arg(
        long,
        global = true,
        env = "PROVISIONER_TRANSIENT_BACKOFF",
        value_parser = humantime::parse_duration,
        default_value = "1s"
    )]
    transient_backoff: Duration,
    /// More log output (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what apply would change.
    Plan {
        /// Exit 0 when nothing would change, 2 when something would, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create or update the stack's resources.
    Apply {
        /// Do not absorb eventual-consistency errors: the first one surfaces as AWS sent it.
        #[arg(long, conflicts_with = "retry_timeout")]
        no_retry: bool,
        /// Deadline for each retried call (e.g. 30s, 2m); default: Terraform's windows.
        #[arg(long, value_parser = humantime::parse_duration)]
        retry_timeout: Option<Duration>,
    },
    /// Delete the stack's resources (only those carrying its ownership tag).
    Destroy {
        /// Also delete the ECS service-linked role AWSServiceRoleForECS.
        #[arg(long)]
        delete_service_linked_role: bool,
    },
    /// Print the stack's outputs.
    Output {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(user_error::stderr_colour())
        .with_target(false)
        .try_init();
}

/// The flags and variables that must be well-formed before anything is read or sent.
fn check_inputs(cli: &Cli, spec: &StackSpec) -> Result<(), BadInput> {
    if let Some(url) = cli.endpoint_url.as_deref().filter(|u| !u.is_empty()) {
        crate::cli_input::check_endpoint_url("--endpoint-url / AWS_ENDPOINT_URL", url)?;
    }
    match cli.region.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => crate::cli_input::check_region("--region / AWS_REGION", r),
        None => crate::cli_input::check_region(
            &format!("{}: region", cli.config.display()),
            &resolve_region(None, spec),
        ),
    }
}

/// The transient-retry policy of every call with `--transient-backoff` as its base, keeping the
/// standard mode's ratio of cap to base.
fn transient_policy(base: Duration) -> TransientRetry {
    let ratio = TRANSIENT_MAX_BACKOFF.as_secs_f64() / TRANSIENT_INITIAL_BACKOFF.as_secs_f64();
    TransientRetry::default().with_backoff(base, base.mul_f64(ratio))
}

/// Spec, flags, SDK configuration, then the endpoint check (STS GetCallerIdentity with short
/// deadlines), then the clients.
async fn stack(cli: &Cli) -> anyhow::Result<Stack> {
    let spec = StackSpec::load(&cli.config)?;
    check_inputs(cli, &spec)?;
    let cfg =
        Clients::load_sdk_config(cli.endpoint_url.as_deref(), cli.region.as_deref(), &spec).await;
    let transient = transient_policy(cli.transient_backoff);
    let who =
        preflight::check_endpoint_with(&cfg, &transient, preflight::IDENTITY_DEADLINE).await?;
    tracing::info!(account = %who.account, arn = %who.arn, "endpoint {} answered", preflight::sts_endpoint(&cfg));
    let settings = ClientSettings {
        transient,
        ..ClientSettings::default()
    };
    let clients = ClientsBuilder::from_sdk_config(&cfg)
        .settings(settings)
        .build();
    Ok(Stack::new(spec, clients))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let stack = stack(&cli).await?;
    match cli.command {
        Command::Plan {
            detailed_exitcode,
            json,
        } => {
            let plan = stack.plan().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
            } else {
                println!("{plan}");
            }
            Ok(if detailed_exitcode && !plan.is_empty() {
                ExitCode::from(EXIT_CHANGES)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Apply {
            no_retry,
            retry_timeout,
        } => {
            let retry = match (no_retry, retry_timeout) {
                (true, _) => RetryPolicy::disabled(),
                (false, Some(d)) => RetryPolicy::default().with_deadline(d),
                (false, None) => RetryPolicy::default(),
            };
            let plan = stack.plan().await?;
            println!("{plan}\n");
            let report = stack
                .apply(&ApplyOptions {
                    retry,
                    progress: Progress::stderr(),
                })
                .await?;
            for a in &report.absorbed {
                eprintln!(
                    "absorbed: {}: {}: {} (attempt {}, after {:.1}s)",
                    a.operation,
                    a.code,
                    a.message,
                    a.attempt,
                    a.waited.as_secs_f64()
                );
            }
            println!(
                "Apply complete! {} resource(s) changed, {} retryable error(s) absorbed, {:.1}s.\n\nOutputs:\n\n{}",
                report.changes,
                report.absorbed.len(),
                report.elapsed.as_secs_f64(),
                report.outputs.render_text()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Destroy {
            delete_service_linked_role,
        } => {
            let plan = stack.plan_destroy(delete_service_linked_role).await?;
            println!("{plan}\n");
            let report = stack
                .destroy(&DestroyOptions {
                    delete_service_linked_role,
                    retry: RetryPolicy::default(),
                    progress: Progress::stderr(),
                })
                .await?;
            println!(
                "Destroy complete! {} resource(s) deleted.",
                report.deleted.len()
            );
            for n in &report.not_ours {
                println!(
                    "not ours (lacks the ownership tag {}), left alone: {n}",
                    crate::OWNERSHIP_TAG_KEY
                );
            }
            for k in &report.kept {
                println!("kept: {k}");
            }
            if let Some(s) = &report.slr {
                println!(
                    "service-linked role {} deletion {} (task {})",
                    s.role, s.status, s.deletion_task_id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Output { json } => {
            let outputs = stack.outputs().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outputs.to_json())?);
            } else {
                println!("{}", outputs.render_text());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The `provisioner` command: parses the process's arguments, runs, and says how it ended.
pub fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(user_error::EXIT_ERROR);
        }
    };
    runtime.block_on(run_cli())
}

async fn run_cli() -> ExitCode {
    // Usage errors exit 3 (bad input); `--help` and `--version` exit 0.
    let cli: Cli = match user_error::parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logging(cli.verbose);
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", user_error::render(&e));
            ExitCode::from(user_error::exit_code(&e))
        }
    }
}
