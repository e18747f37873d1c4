//! Why this module exists: most people who hit the first-apply failure run Terraform, the AWS
//! CLI, an SDK script — not our provisioner. `harness run -- CMD ARGS...` wraps any of them the
//! way `tflocal`/`awslocal` do for LocalStack: it starts the emulator and the fault proxy on a
//! free loopback port, hands CMD a fresh account through the standard AWS variables
//! (child_env.rs), passes stdin/stdout/stderr through and signals on (signals.rs), exits with
//! CMD's code (command.rs), and afterwards prints on stderr what the account did to CMD and
//! where the journal is (report.rs). Several commands in one account: wrap a shell
//! (`harness run -- sh -c 'terraform apply && terraform apply'`); `HARNESS_ACCOUNT_ID` names it.
//! With a `harness up` running, it starts nothing and leases a fresh account from it (attach.rs).

mod attach;
mod child_env;
mod command;
mod env_warnings;
mod leftovers;
mod report;
mod signals;
mod terminal;

pub use attach::AttachMode;
pub use child_env::{ChildEnv, ChildSettings, ACCOUNT_ID_VAR, REMOVED};
pub use command::{HARNESS_FAILED, NOT_EXECUTABLE, NOT_FOUND};
pub use env_warnings::{NO_PROPAGATION_DELAY, NO_PROPAGATION_DELAY_WARNING};
pub use report::Summary;

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;

use crate::accounts;
use crate::emulator::{paths, retention};
use crate::env::DEFAULT_REGION;
use crate::launch::{reproduce_line, LaunchArgs, Launched};
use crate::reports::{self, behaviours, check_output_path, Facts, ReportSpec, RunRecord};

/// The end of `harness run --help`: what CMD gets and what the exit code means.
pub const AFTER_HELP: &str = "\
CMD gets AWS_ENDPOINT_URL (the proxy), AWS_ACCESS_KEY_ID and HARNESS_ACCOUNT_ID (the account),
AWS_SECRET_ACCESS_KEY=test, AWS_REGION and AWS_DEFAULT_REGION, empty AWS_CONFIG_FILE and
AWS_SHARED_CREDENTIALS_FILE, AWS_EC2_METADATA_DISABLED=true; AWS_PROFILE, AWS_SESSION_TOKEN, the
other credential settings and every AWS_ENDPOINT_URL_<SERVICE> are removed.

Exit code: CMD's; 128+N when a signal N killed it; 127 not found; 126 not executable; 125 the
harness failed. Ctrl-C and SIGTERM go to CMD, then the proxy and the emulator stop.

Several commands in one account and emulator: harness run -- sh -c 'terraform apply; terraform apply'";

#[derive(Debug, Clone, Args)]
#[command(after_help = AFTER_HELP)]
pub struct RunArgs {
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// Run CMD in this account (12 digits) instead of a fresh one.
    #[arg(long, value_name = "ID", value_parser = parse_account)]
    pub account: Option<String>,
    /// The region CMD gets (AWS_REGION and AWS_DEFAULT_REGION).
    #[arg(long, value_name = "REGION", default_value = DEFAULT_REGION, value_parser = parse_region)]
    pub region: String,
    /// `auto`: lease a fresh account from the running `harness up` (its state file), else start
    /// an emulator; `off`: always start one; `http://HOST:PORT`: lease from that harness.
    #[arg(long, value_name = "auto|off|URL", env = "HARNESS_ATTACH", default_value = "auto",
          value_parser = AttachMode::parse)]
    pub attach: AttachMode,
    /// Write the JSON journal here (default: <harness dir>/runs/<run>/journal.json).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Also write a report for CI, repeatable: junit=FILE (a test case per behaviour that was
    /// on: passed, failed with what it answered, or skipped as "never triggered") or
    /// markdown=FILE (e.g. markdown=$GITHUB_STEP_SUMMARY).
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = ReportSpec::parse)]
    pub reports: Vec<ReportSpec>,
    /// The command to run and its arguments (after `--`).
    #[arg(
        value_name = "CMD",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

fn parse_account(text: &str) -> Result<String, String> {
    if accounts::is_account_id(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "an account id is exactly 12 digits (e.g. 111122223333), got {text:?}"
        ))
    }
}

fn parse_region(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "a region is lower-case letters, digits and '-' (e.g. us-east-1), got {text:?}"
        ))
    }
}

/// One line on stderr, prefixed like the harness's other messages.
fn say(line: impl AsRef<str>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "harness: {}", line.as_ref());
}

fn fail(e: impl std::fmt::Display) -> u8 {
    let _ = std::io::Write::flush(&mut std::io::stdout());
    eprintln!("error: {e}");
    command::HARNESS_FAILED
}

/// The run's own directory: the empty AWS config and credentials files, the journal by default,
/// and the record of its owners (leftovers.rs). Before it is made, what killed runs left running
/// is stopped and the oldest run directories beyond `HARNESS_KEEP_RUNS` are removed
/// (emulator/retention.rs).
fn run_dir(account: &str) -> anyhow::Result<PathBuf> {
    let runs = paths::harness_dir().join("runs");
    for line in leftovers::sweep(&runs) {
        say(line);
    }
    let keep = retention::Keep::runs_from_env()?;
    let older = retention::Keep {
        count: keep.count.saturating_sub(1),
        ..keep
    };
    retention::prune(&runs, retention::run_name, older);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let dir = runs.join(format!("{ms}-{account}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the run directory {}", dir.display()))?;
    leftovers::record_harness(&dir)
        .with_context(|| format!("writing the run's owner file in {}", dir.display()))?;
    Ok(dir)
}

/// Runs the command and returns the exit code `harness` exits with.
pub async fn run(args: RunArgs) -> u8 {
    let program = args.command[0].clone();
    if let Err(e) = command::resolve(&program, std::env::var_os("PATH").as_deref()) {
        eprintln!("error: {e}");
        return e.code;
    }
    let outputs = args.journal.iter().map(|p| ("--journal", p));
    let reports = args.reports.iter().map(|r| ("--report", &r.path));
    for (flag, path) in outputs.chain(reports) {
        if let Err(e) = check_output_path(flag, path) {
            return fail(e);
        }
    }
    for warning in env_warnings::warnings(|k| std::env::var_os(k)) {
        say(warning);
    }
    if let Err(e) = signals::install() {
        return fail(format!("installing the signal handlers: {e}"));
    }
    // A file that cannot be replayed is one line before anything starts or is leased.
    if let Err(e) = args.launch.replay.load() {
        return fail(e);
    }
    let choice = match attach::choose(&args.attach, &args.launch) {
        Ok(choice) => choice,
        Err(e) => return fail(e),
    };
    if let attach::Choice::Attach(control, up) = choice {
        let from_state_file = up.is_some();
        match attached(&args, control, up).await {
            Ok(code) => return code,
            // The named harness is the user's choice: its failure is the run's.
            Err(e) if !from_state_file => return fail(e),
            Err(e) => say(format!("{e}: starting an emulator for this run")),
        }
    }
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let start = Launched::start(
        &args.launch,
        listen,
        args.account.clone(),
        &args.region,
        faultproxy::ControlAccess::Loopback,
        false,
    );
    let launched = tokio::select! {
        launched = start => match launched {
            Ok(l) => l,
            Err(e) => return fail(format!("{e:#}")),
        },
        sig = signals::wait_received() => {
            say(format!("{} while starting the emulator; nothing was run", signals::name(sig)));
            return 128 + sig as u8;
        }
    };
    if let Some(sig) = signals::received() {
        say(format!(
            "{} while starting the emulator; nothing was run",
            signals::name(sig)
        ));
        launched.stop().await;
        return 128 + sig as u8;
    }
    let served = Served {
        endpoint_url: launched.proxy.url(),
        account: launched.account.clone(),
        settings: launched.settings,
        rules: launched.proxy.rules(),
        record: launched.record(&args.launch, &args.region),
        replay: launched.replay.clone(),
        from: From::Own(&launched),
    };
    let code = match run_in(&args, &served).await {
        Ok(code) => code,
        Err(e) => fail(format!("{e:#}")),
    };
    launched.stop().await;
    code
}

/// The run in an account leased from a running harness; `Err` when no account could be leased
/// (nothing was run then).
async fn attached(
    args: &RunArgs,
    control: crate::control_client::Control,
    up: Option<crate::up_state::UpState>,
) -> Result<u8, String> {
    let presets = args.launch.presets().map_err(|e| e.to_string())?;
    let replay = args.launch.replay.load().map_err(|e| e.to_string())?;
    let mut lease = attach::Attached::lease(control, up, args.account.as_deref(), &presets).await?;
    let replay = match replay {
        Some(loaded) => match lease.add_rules(loaded.rules(Some(&lease.account))).await {
            Ok(()) => Some(loaded.summary(args.launch.replay.replay_by)),
            Err(e) => {
                lease.release().await;
                return Err(e);
            }
        },
        None => None,
    };
    let backend = lease.up.as_ref().map_or_else(
        || args.launch.backend.name().to_string(),
        |up| up.backend.clone(),
    );
    let served = Served {
        endpoint_url: lease.control.url().to_string(),
        account: lease.account.clone(),
        settings: lease.settings,
        rules: lease.rules.clone(),
        record: RunRecord {
            endpoint_url: lease.control.url().to_string(),
            backend,
            ..Launched::record_of(
                &lease.account,
                &lease.settings,
                &lease.presets,
                &args.launch,
                &args.region,
            )
        },
        replay,
        from: From::Attached(&lease),
    };
    let code = match run_in(args, &served).await {
        Ok(code) => code,
        Err(e) => fail(format!("{e:#}")),
    };
    lease.release().await;
    Ok(code)
}

/// What CMD runs against: an endpoint, its account, what was on when it started.
struct Served<'a> {
    endpoint_url: String,
    account: String,
    settings: faultproxy::ModelSettings,
    rules: Vec<faultproxy::Rule>,
    /// The journal file's record, without program, exit and times.
    record: RunRecord,
    /// What `--replay` put in for the account, as one line.
    replay: Option<String>,
    from: From<'a>,
}

/// Who serves the run: its own emulator and proxy, or a running harness it leased from.
enum From<'a> {
    Own(&'a Launched),
    Attached(&'a attach::Attached),
}

impl Served<'_> {
    /// The account's model settings, rules and journal entries after CMD.
    async fn collect(
        &self,
    ) -> anyhow::Result<(
        faultproxy::ModelSettings,
        Vec<faultproxy::Rule>,
        Vec<faultproxy::JournalEntry>,
    )> {
        match self.from {
            From::Own(l) => Ok((l.proxy.model_settings(), l.proxy.rules(), l.proxy.journal())),
            From::Attached(a) => a.collect().await.map_err(anyhow::Error::msg),
        }
    }
}

/// Spawns `cmd` in a process group of its own (owning the terminal, if the harness does),
/// forwards signals to it while it runs, and returns its exit code and the signal that ended it.
async fn spawn_and_wait(
    mut cmd: tokio::process::Command,
    program: &std::ffi::OsStr,
    program_name: &str,
    run_dir: &Path,
) -> anyhow::Result<(u8, Option<i32>)> {
    let tty = terminal::foreground_tty();
    terminal::own_group(&mut cmd, tty);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            let e = command::spawn_error(program, &e);
            eprintln!("error: {e}");
            return Ok((e.code, None));
        }
    };
    let pid = child.id();
    if let Some(pid) = pid {
        terminal::after_spawn(pid, tty);
        signals::set_child(pid);
        leftovers::record_command(run_dir, pid);
    }
    let status = child.wait().await;
    terminal::take_back(tty);
    signals::clear_child();
    if pid.is_some_and(terminal::stop_leftovers) {
        say(format!(
            "'{program_name}' left processes running in its process group: sent them SIGTERM"
        ));
    }
    let status = status.with_context(|| format!("waiting for '{program_name}'"))?;
    Ok((
        command::exit_code(status),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ))
}

/// Spawns the command against `served`, waits for it, writes the journal, prints the report.
async fn run_in(args: &RunArgs, served: &Served<'_>) -> anyhow::Result<u8> {
    let program = &args.command[0];
    let account = served.account.as_str();
    let dir = run_dir(account)?;
    let config_file = dir.join("aws-config");
    let credentials_file = dir.join("aws-credentials");
    for f in [&config_file, &credentials_file] {
        std::fs::write(f, "").with_context(|| format!("creating {}", f.display()))?;
    }
    let endpoint_url = served.endpoint_url.clone();
    let settings = ChildSettings {
        endpoint_url: &endpoint_url,
        account,
        region: &args.region,
        config_file: &config_file,
        credentials_file: &credentials_file,
    };
    let parent: Vec<OsString> = std::env::vars_os().map(|(k, _)| k).collect();
    let env = ChildEnv::new(parent.iter().map(OsString::as_os_str), &settings);
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&args.command[1..]);
    env.apply(&mut cmd);

    let program_name = Path::new(program).display().to_string();
    say(format!(
        "running '{program_name}' in account {account} ({}) at {endpoint_url}; backend {}, profile {}, seed {}",
        args.region,
        served.record.backend,
        args.launch.profile.name(),
        served.settings.seed
    ));
    if let Some(replay) = &served.replay {
        say(replay);
    }
    // Rules and models can change through the control API while CMD runs: what was on at the
    // start and at the end both count.
    let mut on = behaviours::on_ids(&served.settings, &served.rules);
    let mut record = served.record.clone();
    record.program = Some(program_name.clone());
    record.started_unix_ms = reports::record::unix_ms(SystemTime::now());
    let started = Instant::now();
    let (code, signal) = spawn_and_wait(cmd, program, &program_name, &dir).await?;
    record.duration_ms = started.elapsed().as_millis() as u64;
    record.exit_code = Some(code);
    record.signal = signal;

    let (settings_now, rules_now, entries) = served.collect().await?;
    on.extend(behaviours::on_ids(&settings_now, &rules_now));
    let list = behaviours::of(&on, &entries);
    record.behaviours = list.iter().map(|b| b.id.clone()).collect();
    let journal = args
        .journal
        .clone()
        .unwrap_or_else(|| dir.join("journal.json"));
    reports::write_journal(&journal, &record, &entries)?;
    // The empty AWS files served their purpose; the journal stays.
    for f in [&config_file, &credentials_file] {
        let _ = std::fs::remove_file(f);
    }
    leftovers::release(&dir);
    let _ = std::fs::remove_dir(&dir); // only if empty (`--journal` elsewhere)
    report(args, &record, &entries, &list, &journal)?;
    Ok(code)
}

/// Prints the report on stderr and writes the `--report` files.
fn report(
    args: &RunArgs,
    record: &RunRecord,
    entries: &[faultproxy::JournalEntry],
    list: &[reports::Behaviour],
    journal: &Path,
) -> anyhow::Result<()> {
    let program_name = record.program.as_deref().unwrap_or("?");
    let code = record.exit_code.unwrap_or(HARNESS_FAILED);
    let ended = match record.signal {
        Some(sig) => format!("was killed by {} (exit {code})", signals::name(sig)),
        None => format!("exited {code}"),
    };
    say(format!(
        "'{program_name}' {ended} after {:.1} s in account {}",
        record.duration().as_secs_f64(),
        record.account
    ));
    let summary = Summary::of(entries);
    for line in summary.lines() {
        say(line);
    }
    say(reports::quiet_line(list));
    say(format!("journal: {}", journal.display()));
    let facts = Facts {
        record,
        command: program_name,
        ended: &ended,
        ok: code == 0,
        requests: &summary.by_service,
        journal,
    };
    for spec in &args.reports {
        reports::write(spec, &facts, list)?;
        say(format!("report: {}", spec.path.display()));
    }
    say(format!(
        "reproduce: {}",
        reproduce_line(&args.launch, record.seed, record.time_scale, &args.command)
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RunArgs,
    }

    fn parse(args: &[&str]) -> Result<RunArgs, String> {
        Wrapper::try_parse_from(std::iter::once("run").chain(args.iter().copied()))
            .map(|w| w.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn everything_after_the_double_dash_is_the_command() {
        let a = parse(&["--seed", "4", "--", "aws", "--region", "x", "sts"]).unwrap();
        assert_eq!(
            a.command,
            ["aws", "--region", "x", "sts"].map(OsString::from)
        );
        assert_eq!(a.launch.seed, Some(4));
        assert_eq!(a.region, DEFAULT_REGION);
        assert!(a.account.is_none());
        let a = parse(&["--account", "111122223333", "sh", "-c", "true"]).unwrap();
        assert_eq!(a.account.as_deref(), Some("111122223333"));
        assert_eq!(a.command.len(), 3);
    }

    #[test]
    fn help_says_what_cmd_gets_and_what_the_exit_code_means() {
        use clap::CommandFactory;
        let help = Wrapper::command().render_help().to_string();
        for text in ["HARNESS_ACCOUNT_ID", "127 not found", "sh -c"] {
            assert!(help.contains(text), "{text} missing:\n{help}");
        }
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let e = parse(&[]).unwrap_err();
        assert!(e.contains("<CMD>"), "{e}");
        let e = parse(&["--account", "42", "--", "true"]).unwrap_err();
        assert!(e.contains("exactly 12 digits"), "{e}");
        let e = parse(&["--region", "Tokyo", "--", "true"]).unwrap_err();
        assert!(e.contains("e.g. us-east-1"), "{e}");
        let e = parse(&["--report", "xml=r.xml", "--", "true"]).unwrap_err();
        assert!(e.contains("unknown report format"), "{e}");
        let a = parse(&[
            "--report",
            "junit=a.xml",
            "--report",
            "markdown=b.md",
            "true",
        ])
        .unwrap();
        assert_eq!(a.reports.len(), 2);
    }
}
