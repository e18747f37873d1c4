//! Why this file exists: the proxy's wire format is only right if clients nobody here wrote parse
//! it into the right typed errors (issue 12, "Done when" 1). This test starts the environment as a
//! user does (`harness up`), installs pinned boto3 and AWS CLI v1 into a venv under
//! `target/harness/pyclients/` (pyclients.rs), and runs the case table
//! (`foreign_clients/cases.py`, one row per modelled behaviour and client) through
//! `foreign_clients/run_cases.py`. Each case's outcome is printed; any mismatch fails the test.
//!
//! Until `harness up` has `--profile fresh-account`, a second test runs the same table against
//! an in-process proxy with every model on (`ModelSettings::fresh_account()`).
//!
//! Rows of models the proxy does not report yet print `NOT YET MODELLED: ...`; with
//! `HARNESS_REQUIRE_ALL_MODELS=1` any such row fails the test.
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

use harness::env::{TestEnv, TEST_SECRET_KEY};
use harness_up::{HarnessUp, VARS};

/// Set to `1` to fail when any row's model is not yet modelled by the proxy.
const REQUIRE_ALL_ENV: &str = "HARNESS_REQUIRE_ALL_MODELS";
/// The seed passed to `harness up` (windows of the fresh-account profile are drawn from it).
const SEED: &str = "12";
/// Windows of today's model presets: long enough for a CLI process start inside them.
const TODAY_PRESETS: [&str; 2] = ["slr-delay=10s", "iam-propagation=10s"];
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
    // harness up names the profile, seed and time scale it runs (stdout comment or log line).
    let said = up.stdout().join("\n") + "\n" + &up.stderr();
    for line in said
        .lines()
        .filter(|l| l.contains("profile") || l.contains("scale"))
    {
        println!("foreign clients: harness up said: {line}");
    }
    let outcome = run_cases(&clients, &up.vars);
    check(outcome, || up.stderr());
}

/// Until `harness up` has `--profile fresh-account`, the same table runs against a proxy whose
/// models are all on through the library (`ModelSettings::fresh_account()`), so every model is
/// already checked with foreign clients; once the profile exists the test above covers it.
#[tokio::test(flavor = "multi_thread")]
async fn every_fresh_account_model_reaches_boto3_and_the_aws_cli() {
    if HarnessUp::supports("--profile") {
        println!(
            "foreign clients: harness up has --profile: the fresh-account rows run in \
             boto3_and_the_aws_cli_parse_every_modelled_answer"
        );
        return;
    }
    let clients = tokio::task::spawn_blocking(installed_clients)
        .await
        .expect("installing the clients");
    let env = TestEnv::new()
        .await
        .unwrap_or_else(|e| panic!("foreign clients: no test environment: {e:#}"));
    env.proxy
        .set_model_settings(faultproxy::ModelSettings::fresh_account());
    let vars: BTreeMap<String, String> = [
        ("AWS_ENDPOINT_URL", env.endpoint_url()),
        ("AWS_ACCESS_KEY_ID", env.account_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY.to_string()),
        ("AWS_REGION", env.region.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    println!(
        "foreign clients: in-process proxy, every model on, at {}",
        vars["AWS_ENDPOINT_URL"]
    );
    let outcome = tokio::task::spawn_blocking(move || run_cases(&clients, &vars))
        .await
        .expect("running the case table");
    check(outcome, || env.emulator.describe());
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

/// The fresh-account profile when this `harness up` has it, else today's model presets.
fn up_args() -> Vec<String> {
    let mut args: Vec<String> = if HarnessUp::supports("--profile") {
        vec!["--profile".into(), "fresh-account".into()]
    } else {
        TODAY_PRESETS
            .iter()
            .flat_map(|p| ["--preset".to_string(), p.to_string()])
            .collect()
    };
    args.extend(["--seed".to_string(), SEED.to_string()]);
    args
}

fn require_all() -> bool {
    matches!(
        std::env::var(REQUIRE_ALL_ENV).as_deref().map(str::trim),
        Ok("1" | "true" | "yes")
    )
}

/// Runs `run_cases.py` with harness up's variables (or the same for an in-process proxy) and nothing else of the developer's AWS
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
