//! `harness run --report junit=FILE --report markdown=FILE` as a CI job runs it (moto process
//! backend, fresh-account profile, every call throttled by `--preset throttle=100`): the JUnit
//! file is read back by `junitparser` (pinned in foreign_clients/requirements.txt, installed with
//! the other foreign clients into a venv under the target dir), and must show one test case per
//! behaviour that was on: the throttle rule failed or passed with the command's exit code, every
//! quiet model skipped as "never triggered", and an `exit code` case. The Markdown summary and
//! the terminal report must name the quiet models too.
//!
//! Run: `cargo test -p harness --test run_reports -- --nocapture`.

#[path = "foreign_clients/pyclients.rs"]
mod pyclients;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const HARNESS: &str = env!("CARGO_BIN_EXE_harness");

/// One STS call with retries off; prints its error code, exits with the code given.
const CLIENT: &str = r#"
import sys, boto3
from botocore.config import Config
sts = boto3.client("sts", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
try:
    sts.get_caller_identity()
    print("call: ok")
except Exception as e:
    print("call:", getattr(e, "response", {}).get("Error", {}).get("Code"))
sys.exit(int(sys.argv[1]))
"#;

struct Run {
    out: Output,
    junit: Value,
    markdown: String,
}

fn run_with_reports(python: &Path, dir: &Path, exit: u8) -> Run {
    let junit = dir.join(format!("junit-{exit}.xml"));
    let markdown = dir.join(format!("summary-{exit}.md"));
    let out = Command::new(HARNESS)
        // A `harness up` the developer keeps running is not this test's: its runs start their own emulator.
        .env("HARNESS_ATTACH", "off")
        .args(["run", "--profile", "fresh-account", "--seed", "5"])
        .args(["--preset", "throttle=100"])
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .arg("--report")
        .arg(format!("markdown={}", markdown.display()))
        .arg("--")
        .arg(python)
        .args(["-c", CLIENT, &exit.to_string()])
        .env("HARNESS_BACKEND", "moto")
        .env_remove("TF_AWS_ASSUME_NO_PROPAGATION_DELAY")
        .stdin(Stdio::null())
        .output()
        .expect("run harness");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit.into()), "stderr:\n{stderr}");
    let read = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/run_reports/read_junit.py"))
        .arg(&junit)
        .output()
        .expect("run read_junit.py");
    assert!(
        read.status.success(),
        "junitparser could not read {}:\n{}\n{}",
        junit.display(),
        String::from_utf8_lossy(&read.stderr),
        std::fs::read_to_string(&junit).unwrap_or_default()
    );
    let junit: Value = serde_json::from_slice(&read.stdout).expect("read_junit.py prints JSON");
    let markdown = std::fs::read_to_string(&markdown).expect("markdown report written");
    Run {
        out,
        junit,
        markdown,
    }
}

/// `harness report --journal JOURNAL ARGS --report junit=FILE`, read back by junitparser.
fn report_from(python: &Path, journal: &Path, args: &[&str], dir: &Path) -> (Output, Value) {
    let junit = dir.join("from-journal.xml");
    let out = Command::new(HARNESS)
        .env("HARNESS_ATTACH", "off")
        .arg("report")
        .arg("--journal")
        .arg(journal)
        .args(args)
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .output()
        .expect("run harness report");
    if !out.status.success() {
        return (out, Value::Null);
    }
    let read = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/run_reports/read_junit.py"))
        .arg(&junit)
        .output()
        .expect("run read_junit.py");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    (out, serde_json::from_slice(&read.stdout).expect("JSON"))
}

/// The journal path the terminal report names.
fn journal_of(run: &Run) -> PathBuf {
    let stderr = String::from_utf8_lossy(&run.out.stderr);
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("harness: journal: "))
        .unwrap_or_else(|| panic!("no journal line:\n{stderr}"));
    PathBuf::from(line)
}

fn case<'a>(suite: &'a Value, name: &str) -> &'a Value {
    suite["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no test case {name}: {suite:#}"))
}

/// The behaviour models of the fresh-account profile the seed's stack can meet, by their
/// journal names.
fn model_rules() -> Vec<String> {
    faultproxy::models::seed_stack_specs()
        .map(|s| s.rule.to_string())
        .collect()
}

fn clients() -> PathBuf {
    match pyclients::ensure() {
        Ok(c) => {
            if let Some(took) = c.installed_in {
                eprintln!(
                    "installed the pinned Python clients in {took:?} (AWS CLI at {})",
                    c.aws.display()
                );
            }
            c.python
        }
        Err(e) => panic!("could not install the pinned Python clients (junitparser, boto3): {e}"),
    }
}

#[test]
fn a_failed_command_fails_the_behaviours_it_met_and_skips_the_quiet_ones() {
    let python = clients();
    let dir = tempfile::tempdir().expect("temp dir");
    let run = run_with_reports(&python, dir.path(), 3);
    let stdout = String::from_utf8_lossy(&run.out.stdout);
    assert!(stdout.contains("call: Throttling"), "{stdout}");

    let suites = run.junit["suites"].as_array().expect("suites");
    assert_eq!(suites.len(), 1, "{:#}", run.junit);
    let suite = &suites[0];
    let models = model_rules();
    // Every model, the service-linked-role lifecycle, the throttle rule, and `exit code`.
    assert_eq!(suite["tests"], models.len() + 3, "{suite:#}");
    assert_eq!(suite["failures"], 2, "{suite:#}");
    assert_eq!(suite["skipped"], models.len() + 1, "{suite:#}");
    assert_eq!(suite["properties"]["profile"], "fresh-account");
    assert_eq!(suite["properties"]["seed"], "5");

    let throttle = case(suite, "preset:throttle");
    assert_eq!(throttle["outcome"], "failure", "{throttle:#}");
    let message = throttle["message"].as_str().unwrap_or_default();
    assert!(message.contains("exited 3"), "{throttle:#}");
    let text = throttle["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("sts:GetCallerIdentity Throttling x"),
        "{throttle:#}"
    );
    assert_eq!(case(suite, "exit code")["outcome"], "failure");
    assert_eq!(throttle["classname"], "harness.python", "{throttle:#}");
    for model in &models {
        let c = case(suite, model);
        assert_eq!(c["outcome"], "skipped", "{c:#}");
        assert_eq!(c["message"], "never triggered", "{c:#}");
    }

    assert!(
        run.markdown
            .contains("| `preset:throttle` | failed | sts:GetCallerIdentity Throttling x"),
        "{}",
        run.markdown
    );
    assert!(
        run.markdown.contains("On but never triggered ("),
        "{}",
        run.markdown
    );

    // The journal turns into the same report; `--exit-code` overrides the recorded 3.
    let journal = journal_of(&run);
    let (out, again) = report_from(&python, &journal, &[], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        case(&again["suites"][0], "preset:throttle")["outcome"],
        "failure"
    );
    let (out, passed) = report_from(&python, &journal, &["--exit-code", "0"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        case(&passed["suites"][0], "preset:throttle")["outcome"],
        "passed"
    );
    assert_eq!(passed["suites"][0]["skipped"], suite["skipped"]);
    let stderr = String::from_utf8_lossy(&run.out.stderr);
    assert!(
        stderr.contains("harness: on but never triggered ("),
        "{stderr}"
    );
    for model in &models {
        assert!(
            run.markdown.contains(&format!("`{model}`")),
            "{}",
            run.markdown
        );
        assert!(
            stderr.contains(model.as_str()),
            "{model} not named:\n{stderr}"
        );
    }
}

#[test]
fn a_command_that_exits_0_passes_the_behaviours_it_met() {
    let python = clients();
    let dir = tempfile::tempdir().expect("temp dir");
    let run = run_with_reports(&python, dir.path(), 0);
    let suite = &run.junit["suites"][0];
    assert_eq!(suite["failures"], 0, "{suite:#}");
    let throttle = case(suite, "preset:throttle");
    assert_eq!(throttle["outcome"], "passed", "{throttle:#}");
    assert!(
        throttle["text"]
            .as_str()
            .unwrap_or_default()
            .contains("sts:GetCallerIdentity Throttling x"),
        "{throttle:#}"
    );
    assert_eq!(case(suite, "exit code")["outcome"], "passed");
    assert_eq!(case(suite, "model:slr-delay")["outcome"], "skipped");
    assert!(
        run.markdown.contains("| `preset:throttle` | passed |"),
        "{}",
        run.markdown
    );
}
