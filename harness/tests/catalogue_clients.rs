//! Why this file exists: every catalogue row must reach a real client as AWS sends it. This test
//! starts `harness up --profile fresh-account` (as a user does), writes the proxy's own rows
//! (`faultproxy::catalogue::rows_json()`) to a file, and runs `catalogue_clients/run_rows.py`
//! under the pinned boto3 (foreign_clients/pyclients.rs): per row, in an account of its own, the
//! first call right after creating the principal raises the row's exact code, message, status
//! and typed exception, and a later call succeeds. Every row must pass; a row the script has no
//! recipe for fails, so none is skipped.
//!
//! The same rows run through the pinned AWS CLI v1 as a user runs a tool: `harness run --profile
//! fresh-account -- python run_rows.py rows.json --cli`. The row's own call is `aws SERVICE
//! COMMAND --cli-input-json` with the recipe's parameters; its first answer must be printed as
//! `An error occurred (CODE) when calling the OP operation: MESSAGE` with the row's code and
//! message, and a later call succeeds. Every row has an AWS CLI command (the CLI is generated from
//! the same botocore models), so none is listed as without one.
//!
//! Run: `cargo test -p harness --test catalogue_clients -- --nocapture`.

#[allow(dead_code)]
#[path = "foreign_clients/harness_up.rs"]
mod harness_up;
#[allow(dead_code)]
#[path = "foreign_clients/pyclients.rs"]
mod pyclients;
#[allow(dead_code)]
#[path = "foreign_clients/script.rs"]
mod script;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use harness_up::{HarnessUp, VARS};

/// Each row's window in this test: long enough for the first call to land inside it on a loaded
/// machine (it follows the principal's creation at once), short enough that the later call
/// succeeds soon. Every row still asserts its exact error; only the window's length is fixed.
const WINDOW: &str = "8s";
/// The whole row table may take this long (rows run six at a time).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, serde::Deserialize)]
struct Summary {
    passed: BTreeSet<String>,
    failed: BTreeSet<String>,
}

/// The `--model ROW=WINDOW` flags for every row.
fn model_flags() -> Vec<String> {
    faultproxy::catalogue::specs()
        .flat_map(|s| ["--model".to_string(), format!("{}={WINDOW}", s.name)])
        .collect()
}

/// The SUMMARY line of run_rows.py's output, or a panic with what it printed.
fn summary(stdout: &str, stderr: &str) -> Summary {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .map(|j| serde_json::from_str(j).expect("SUMMARY is JSON"))
        .unwrap_or_else(|| panic!("run_rows.py printed no SUMMARY; stderr:\n{stderr}"))
}

#[test]
fn aws_cli_gets_every_rows_error_then_success_under_harness_run() {
    let names: BTreeSet<String> = faultproxy::catalogue::specs()
        .map(|s| s.name.to_string())
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let rows_file = dir.path().join("rows.json");
    std::fs::write(&rows_file, faultproxy::catalogue::rows_json().to_string())
        .expect("writing rows.json");
    let clients = pyclients::ensure()
        .unwrap_or_else(|e| panic!("catalogue clients: cannot install the pinned AWS CLI: {e}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/catalogue_clients/run_rows.py");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(clients.bin.clone()).chain(std::env::split_paths(&path)),
    )
    .expect("PATH");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    // A `harness up` the developer keeps running is not this test's.
    cmd.env("HARNESS_ATTACH", "off")
        .args([
            "run",
            "--backend",
            "moto",
            "--profile",
            "fresh-account",
            "--seed",
            "26",
        ])
        .args(model_flags())
        .arg("--journal")
        .arg(dir.path().join("journal.json"))
        .arg("--")
        .arg(&clients.python)
        .arg(&script)
        .arg(&rows_file)
        .arg("--cli")
        .env("PATH", path)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        cmd.env_remove(k);
    }
    let ran = script::run("catalogue-cli", cmd, SCRIPT_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    let summary = summary(&ran.stdout, &ran.stderr);
    assert!(
        summary.failed.is_empty(),
        "rows failed through the AWS CLI: {:?} (see the FAIL lines above)",
        summary.failed
    );
    assert_eq!(summary.passed, names, "every row passes, none is skipped");
}

#[test]
fn boto3_gets_every_rows_error_then_success() {
    let rows = faultproxy::catalogue::rows_json();
    let names: BTreeSet<String> = faultproxy::catalogue::specs()
        .map(|s| s.name.to_string())
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let rows_file = dir.path().join("rows.json");
    std::fs::write(&rows_file, rows.to_string()).expect("writing rows.json");

    let clients = pyclients::ensure()
        .unwrap_or_else(|e| panic!("catalogue clients: cannot install the pinned boto3: {e}"));
    let mut args: Vec<String> = ["--profile", "fresh-account", "--seed", "26"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(model_flags());
    let up = HarnessUp::start(&args).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "catalogue clients: harness up ready in {:.1?} at {}",
        up.ready_in, up.vars["AWS_ENDPOINT_URL"]
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/catalogue_clients/run_rows.py");
    let mut cmd = Command::new(&clients.python);
    cmd.arg(&script).arg(&rows_file);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        cmd.env_remove(k);
    }
    for var in VARS {
        cmd.env(var, &up.vars[var]);
    }
    cmd.env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let ran = script::run("catalogue", cmd, SCRIPT_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    let summary: Summary = ran
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .map(|j| serde_json::from_str(j).expect("SUMMARY is JSON"))
        .unwrap_or_else(|| {
            panic!(
                "run_rows.py printed no SUMMARY ({:?}); stderr:\n{}\nharness up:\n{}",
                ran.code,
                ran.stderr,
                up.stderr()
            )
        });
    assert!(
        summary.failed.is_empty() && ran.code == Some(0),
        "rows failed: {:?} (see the FAIL lines above)",
        summary.failed
    );
    assert_eq!(summary.passed, names, "every row passes, none is skipped");
}
