//! Why this file exists: every catalogue row must reach a real client as AWS sends it. This test
//! starts `harness up --profile fresh-account` (as a user does), writes the proxy's own rows
//! (`faultproxy::catalogue::rows_json()`) to a file, and runs `catalogue_clients/run_rows.py`
//! under the pinned boto3 (foreign_clients/pyclients.rs): per row, in an account of its own, the
//! first call right after creating the principal raises the row's exact code, message, status
//! and typed exception, and a later call succeeds. Every row must pass; a row the script has no
//! recipe for fails, so none is skipped.
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
    for name in &names {
        args.extend(["--model".to_string(), format!("{name}={WINDOW}")]);
    }
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
