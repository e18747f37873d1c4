//! Why this file exists: the proxy's wire format is only right if clients nobody here wrote parse
//! it into the right typed errors. This test starts the environment as a
//! user does (`harness up`), installs pinned boto3 and AWS CLI v1 into a venv under
//! `target/harness/pyclients/` (pyclients.rs), and runs the case table
//! (`foreign_clients/cases.py`, one row per modelled behaviour and client) through
//! `foreign_clients/run_cases.py`. Each case's outcome is printed; any mismatch fails the test.
//!
//! `harness up` runs with `--profile fresh-account` (every behaviour model on), so every row
//! runs. Rows of a model the proxy does not report as on print `NOT YET MODELLED: ...`; with
//! `HARNESS_REQUIRE_ALL_MODELS=1` (set by `.ci/run`) any such row fails the test.
//!
//! Run: `cargo test -p harness --test foreign_clients -- --nocapture`.

#[path = "foreign_clients/harness_up.rs"]
mod harness_up;
#[path = "foreign_clients/pyclients.rs"]
mod pyclients;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness_up::{HarnessUp, VARS};

/// Set to `1` to fail when any row's model is not yet modelled by the proxy.
const REQUIRE_ALL_ENV: &str = "HARNESS_REQUIRE_ALL_MODELS";
/// The seed passed to `harness up` (windows of the fresh-account profile are drawn from it).
const SEED: &str = "12";
/// Model windows widened for this test (`--model NAME=MIN..MAX`, time scale 1). AWS's own
/// Logs range (0.5-3 s, logs_conflicting_operation.rs) can close before an AWS CLI row's call
/// lands on a loaded 2-core machine: the primed CLI still parses its JSON arguments, builds its
/// client and signs the request after the setup's CreateLogGroup. Every row still asserts the
/// model's exact error; only the window is long enough for any client to land inside it.
const WIDENED_MODELS: [&str; 1] = ["logs-conflicting-operation=3s..6s"];
/// The whole case table may take this long (warm-up of the ECS role included).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

/// What `run_cases.py` reports on its `SUMMARY` line.
#[derive(Debug, serde::Deserialize)]
struct Summary {
    passed: usize,
    failed: usize,
    not_modelled: Vec<String>,
}

#[test]
fn requirements_pin_every_package_exactly() {
    let path = pyclients::scripts_dir().join("requirements.txt");
    let text = std::fs::read_to_string(&path).expect("requirements.txt");
    let pins: Vec<(&str, &str)> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_once("==")
                .unwrap_or_else(|| panic!("{}: {l:?} is not name==version", path.display()))
        })
        .collect();
    for (name, version) in &pins {
        assert!(
            !name.contains(['<', '>', '~', '[', ';']) && !version.contains([',', '*', ' ']),
            "{name}=={version} is not an exact pin"
        );
    }
    let names: Vec<&str> = pins.iter().map(|(n, _)| *n).collect();
    for wanted in ["awscli", "boto3", "botocore"] {
        assert!(names.contains(&wanted), "{wanted} not pinned: {names:?}");
    }
    assert!(
        pins.iter()
            .any(|(n, v)| *n == "awscli" && v.starts_with("1.")),
        "the AWS CLI must be v1 (awscli 1.x on PyPI)"
    );
}

#[test]
fn a_missing_python_is_an_error_naming_the_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let installer = pyclients::Installer {
        root: dir.path().to_path_buf(),
        python: "/nonexistent/python3".into(),
        pip_env: Vec::new(),
    };
    let err = installer.ensure().expect_err("no interpreter, no venv");
    println!("{err}");
    assert!(
        err.contains("`/nonexistent/python3 -m venv ") && err.contains("could not start"),
        "{err}"
    );
    assert!(
        err.contains("python3-venv") && err.contains("HARNESS_PYTHON"),
        "{err}"
    );
}

#[test]
fn an_unreachable_index_is_an_error_naming_pip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut installer = pyclients::Installer::from_env();
    installer.root = dir.path().to_path_buf();
    // Port 9 (discard) on loopback: nothing listens, so every index request is refused at once.
    installer.pip_env = [
        ("PIP_INDEX_URL", "http://127.0.0.1:9/simple"),
        ("PIP_FIND_LINKS", ""),
        ("PIP_NO_CACHE_DIR", "1"),
        ("PIP_RETRIES", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let err = installer.ensure().expect_err("no index, no clients");
    println!("{err}");
    assert!(
        err.contains(" -m pip install ") && err.contains("requirements.txt` failed"),
        "{err}"
    );
    assert!(err.contains("pip must reach PyPI"), "{err}");
}

#[test]
fn boto3_and_the_aws_cli_parse_every_modelled_answer() {
    let clients = installed_clients();
    let args = up_args();
    let up = HarnessUp::start(&args).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "foreign clients: harness up {} ready in {:.1?} at {}",
        args.join(" "),
        up.ready_in,
        up.vars["AWS_ENDPOINT_URL"]
    );
    let outcome = run_cases(&clients, &up.vars);
    // Read after the table ran: by then harness up has printed its `#` comments, which come
    // after the variables start() waits for.
    let said = up.stdout();
    for line in said.iter().filter(|l| l.starts_with('#')) {
        println!("foreign clients: harness up said: {line}");
    }
    check(outcome, || up.stderr());
    announced(&said, &format!("profile fresh-account, seed {SEED}"));
    for model in WIDENED_MODELS {
        let (name, window) = model.split_once('=').unwrap_or((model, ""));
        announced(&said, &format!("{name} window {window}"));
    }
}

/// Fails unless harness up printed a `#` comment containing `what` (whitespace runs count as one
/// space): the profile, seed and widened windows this test relies on are the ones it runs.
fn announced(stdout: &[String], what: &str) {
    let squeeze = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        stdout
            .iter()
            .any(|l| l.starts_with('#') && squeeze(l).contains(what)),
        "harness up did not announce {what:?}; its stdout:\n{}",
        stdout.join("\n")
    );
}

/// The pinned clients (installed if needed), with the AWS CLI's version checked and printed.
fn installed_clients() -> pyclients::PyClients {
    let clients = pyclients::ensure()
        .unwrap_or_else(|e| panic!("foreign clients: cannot install the pinned boto3/awscli: {e}"));
    match clients.installed_in {
        Some(took) => println!("foreign clients: installed the pinned clients in {took:.1?}"),
        None => println!(
            "foreign clients: reusing the pinned clients in {}",
            pyclients::root().display()
        ),
    }
    let version = Command::new(&clients.aws)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("`{} --version` could not start: {e}", clients.aws.display()));
    let version = String::from_utf8_lossy(&version.stdout).to_string()
        + &String::from_utf8_lossy(&version.stderr);
    println!("foreign clients: {}", version.trim());
    assert!(
        version.starts_with("aws-cli/1."),
        "not the AWS CLI v1: {version}"
    );
    clients
}

/// Fails on any failed case, on a run without a SUMMARY, and (with HARNESS_REQUIRE_ALL_MODELS=1)
/// on any row not yet modelled. `context` describes the environment for the failure message.
fn check((status, stdout, stderr): (ExitStatus, String, String), context: impl Fn() -> String) {
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .map(|json| serde_json::from_str::<Summary>(json).expect("SUMMARY line is JSON"))
        .unwrap_or_else(|| {
            panic!(
                "run_cases.py printed no SUMMARY ({status}); stderr:\n{stderr}\nenvironment:\n{}",
                context()
            )
        });
    assert!(
        summary.failed == 0 && status.success(),
        "{} of {} cases failed ({status}); see the FAIL lines above. stderr:\n{stderr}",
        summary.failed,
        summary.failed + summary.passed
    );
    assert!(summary.passed > 0, "no case ran: {summary:?}");
    if !summary.not_modelled.is_empty() {
        let list = summary.not_modelled.join("\n  ");
        eprintln!(
            "foreign clients: {} rows NOT YET MODELLED:\n  {list}",
            summary.not_modelled.len()
        );
        assert!(
            !require_all(),
            "{REQUIRE_ALL_ENV}=1 and {} rows are not yet modelled:\n  {list}",
            summary.not_modelled.len()
        );
    }
}

/// `harness up`'s arguments: the fresh-account profile, a fixed seed, the widened windows.
fn up_args() -> Vec<String> {
    let mut args: Vec<String> = ["--profile", "fresh-account", "--seed", SEED]
        .iter()
        .map(|a| a.to_string())
        .collect();
    for model in WIDENED_MODELS {
        args.extend(["--model".to_string(), model.to_string()]);
    }
    args
}

fn require_all() -> bool {
    matches!(
        std::env::var(REQUIRE_ALL_ENV).as_deref().map(str::trim),
        Ok("1" | "true" | "yes")
    )
}

/// Runs `run_cases.py` with harness up's variables and nothing else of the developer's AWS
/// settings; prints its lines as they come. Returns (exit status, stdout, stderr).
fn run_cases(
    clients: &pyclients::PyClients,
    vars: &BTreeMap<String, String>,
) -> (ExitStatus, String, String) {
    let dir = pyclients::scripts_dir();
    let mut cmd = Command::new(&clients.python);
    cmd.arg(dir.join("run_cases.py"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        cmd.env_remove(k);
    }
    for var in VARS {
        cmd.env(var, &vars[var]);
    }
    cmd.env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", clients.python.display()));
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let watching = Arc::clone(&done);
    std::thread::spawn(move || {
        let started = Instant::now();
        while !watching.load(Ordering::SeqCst) {
            if started.elapsed() > SCRIPT_TIMEOUT {
                eprintln!("run_cases.py still running after {SCRIPT_TIMEOUT:?}: killing it");
                // SAFETY: signalling our own child, which has not been waited for yet.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().expect("stdout pipe"))
        .lines()
        .map_while(Result::ok)
    {
        println!("{line}");
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = child.wait().expect("waiting for run_cases.py");
    done.store(true, Ordering::SeqCst);
    println!(
        "foreign clients: case table ran in {:.1?}",
        started.elapsed()
    );
    (status, stdout, err_reader.join().unwrap_or_default())
}
