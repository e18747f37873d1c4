//! Why this file exists: `harness run --replay FILE` must give a user's clients the failures
//! their CI met on AWS, as AWS answered them. The trails are CloudTrail files in AWS's documented
//! record format (faultproxy/tests/fixtures/replay/, README there cites the format pages): the
//! seed's first apply (CreateService `InvalidParameterException` twice after CreateCluster, then
//! success) as a log file, gzipped and as `lookup-events` output, and an IAM read-after-create
//! lag (GetRole `NoSuchEntityException` three times). It asserts:
//!
//! (a) the AWS CLI (the pinned clients of foreign_clients/requirements.txt), run by
//!     `harness run --replay FILE`, meets each error with AWS's wire code and the trail's text,
//!     exactly as many times as the trail shows, then the call succeeds;
//! (b) the provisioner meets the same errors: with retries off its apply stops on the seed's
//!     error verbatim; with retries on it converges, the journal showing the trail's count;
//! (c) nothing of the trail's caller (identity ARNs, key id, source IP, user agent, account id)
//!     reaches `harness replay show`, the journal, the report or the log.
//!
//! Run: `cargo test -p harness --test replay_trail -- --nocapture`.

#[allow(dead_code)]
#[path = "foreign_clients/pyclients.rs"]
mod pyclients;
#[allow(dead_code)]
#[path = "foreign_clients/script.rs"]
mod script;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use faultproxy::replay::ReplayBy;
use faultproxy::JournalEntry;
use harness::env::TestEnv;
use provisioner::{ApplyOptions, Progress, RetryPolicy, SlrMode, Stack};

const HARNESS: &str = env!("CARGO_BIN_EXE_harness");
/// One `harness run`: moto's start and a handful of AWS CLI processes (1-5 s each when loaded).
const RUN_DEADLINE: Duration = Duration::from_secs(300);
const SLR_MESSAGE: &str = "Unable to assume the service linked role. Please verify that the ECS service linked role exists.";
const ROLE: &str = "first-apply-ecs-task-role";
/// What the fixtures say about their caller; none of it may come out.
const IDENTIFYING: &[&str] = &[
    "111122223333",
    "ASIAZEXAMPLEKEY12345",
    "AROAZEXAMPLEROLEID01",
    "198.51.100.23",
    "github-actions-deployer",
    "gha-run-8123456789",
    "Terraform/1.9.5",
];
/// The AWS CLI v1's exit code for an error the service answered.
const CLI_SERVICE_ERROR_EXIT: &str = "255";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../faultproxy/tests/fixtures/replay")
        .join(name)
}

/// The AWS CLI's one-line error for `code` on `operation` with `message`.
fn cli_error(code: &str, operation: &str, message: &str) -> String {
    format!("An error occurred ({code}) when calling the {operation} operation: {message}")
}

/// The seed's ECS calls: a task definition and the cluster, then CreateService three times; each
/// CreateService's exit code on its own stderr line.
const ECS_SCRIPT: &str = r#"
aws ecs register-task-definition --family first-apply-app --container-definitions '[{"name":"app","image":"nginx","memory":128}]' >/dev/null || exit 1
aws ecs create-cluster --cluster-name first-apply >/dev/null || exit 1
for i in 1 2 3; do
  aws ecs create-service --cluster first-apply --service-name first-apply-service --task-definition first-apply-app --desired-count 0 >/dev/null
  echo "exit $?" >&2
done"#;

/// CreateRole, then GetRole four times.
const IAM_SCRIPT: &str = r#"
aws iam create-role --role-name first-apply-ecs-task-role --assume-role-policy-document '{"Version":"2012-10-17","Statement":[]}' >/dev/null || exit 1
for i in 1 2 3 4; do
  aws iam get-role --role-name first-apply-ecs-task-role >/dev/null
  echo "exit $?" >&2
done"#;

/// `harness run --replay FILE --journal J -- bash -c SCRIPT` with the pinned AWS CLI on PATH.
fn replay_with_cli(file: &Path, script: &str, journal: &Path) -> script::Ran {
    let clients =
        pyclients::ensure().unwrap_or_else(|e| panic!("cannot install the pinned awscli: {e}"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(clients.bin.clone()).chain(std::env::split_paths(&path)),
    )
    .expect("PATH");
    let mut cmd = Command::new(HARNESS);
    // A `harness up` the developer keeps running is not this test's: its runs start their own emulator.
    cmd.env("HARNESS_ATTACH", "off");
    cmd.args(["run", "--attach", "off", "--backend", "moto", "--replay"])
        .arg(file)
        .arg("--journal")
        .arg(journal)
        .args(["--", "bash", "-c", script])
        .env("PATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let label = file.file_name().unwrap().to_string_lossy().to_string();
    let ran = script::run(&label, cmd, RUN_DEADLINE).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{label}: exit {:?} after {:.1?}\n{}",
        ran.code, ran.took, ran.stderr
    );
    ran
}

/// The lines of `stderr` that are the AWS CLI's errors or the script's `exit N` lines, in order.
fn outcomes(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("An error occurred (") || l.starts_with("exit "))
        .map(str::to_string)
        .collect()
}

fn journal_entries(path: &Path) -> (String, Vec<JournalEntry>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no journal at {}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("journal JSON");
    let entries = serde_json::from_value(doc["entries"].clone()).expect("journal entries");
    (text, entries)
}

/// `(operation, code, status)` of every entry a `replay:` rule answered.
fn replayed(entries: &[JournalEntry]) -> Vec<(String, String, Option<u16>)> {
    entries
        .iter()
        .filter_map(|e| {
            let f = e.fault.as_ref()?;
            f.rule.starts_with("replay:").then(|| {
                (
                    e.operation.clone().unwrap_or_default(),
                    f.code.clone().unwrap_or_default(),
                    e.status,
                )
            })
        })
        .collect()
}

fn assert_nothing_identifying(what: &str, text: &str) {
    for secret in IDENTIFYING {
        assert!(!text.contains(secret), "{what} holds {secret:?}:\n{text}");
    }
}

#[test]
fn the_aws_cli_meets_the_trails_errors_as_many_times_then_succeeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed_error = cli_error("InvalidParameterException", "CreateService", SLR_MESSAGE);
    let failed = format!("exit {CLI_SERVICE_ERROR_EXIT}");
    for name in [
        "first-apply.json",
        "first-apply.json.gz",
        "first-apply.lookup-events.json",
    ] {
        let journal = dir.path().join(format!("{name}.journal.json"));
        let ran = replay_with_cli(&fixture(name), ECS_SCRIPT, &journal);
        assert_eq!(
            ran.code,
            Some(0),
            "{name}: the script failed:\n{}",
            ran.stderr
        );
        assert_eq!(
            outcomes(&ran.stderr),
            vec![
                seed_error.clone(),
                failed.clone(),
                seed_error.clone(),
                failed.clone(),
                "exit 0".to_string()
            ],
            "{name}"
        );
        let (text, entries) = journal_entries(&journal);
        let ipe = (
            "CreateService".to_string(),
            "InvalidParameterException".to_string(),
            Some(400),
        );
        assert_eq!(replayed(&entries), vec![ipe.clone(), ipe], "{name}");
        assert_nothing_identifying(&format!("{name}: the journal"), &text);
        assert_nothing_identifying(&format!("{name}: harness's stderr"), &ran.stderr);
    }

    let journal = dir.path().join("iam.journal.json");
    let ran = replay_with_cli(&fixture("iam-read-after-create.json"), IAM_SCRIPT, &journal);
    assert_eq!(ran.code, Some(0), "iam: the script failed:\n{}", ran.stderr);
    let lag = cli_error(
        "NoSuchEntity",
        "GetRole",
        &format!("The role with name {ROLE} cannot be found."),
    );
    let mut want = Vec::new();
    for _ in 0..3 {
        want.extend([lag.clone(), failed.clone()]);
    }
    want.push("exit 0".to_string());
    assert_eq!(outcomes(&ran.stderr), want);
    let (text, entries) = journal_entries(&journal);
    let nse = ("GetRole".to_string(), "NoSuchEntity".to_string(), Some(404));
    assert_eq!(replayed(&entries), vec![nse.clone(), nse.clone(), nse]);
    assert_nothing_identifying("iam: the journal", &text);
    assert_nothing_identifying("iam: harness's stderr", &ran.stderr);
}

#[test]
fn replay_show_prints_the_schedule_and_the_rules_without_the_caller() {
    for args in [vec![], vec!["--json"], vec!["--replay-by", "time"]] {
        let out = Command::new(HARNESS)
            .env("HARNESS_ATTACH", "off")
            .args(["replay", "show"])
            .args(&args)
            .arg(fixture("first-apply.json.gz"))
            .output()
            .expect("harness replay show");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("InvalidParameterException") && stdout.contains(SLR_MESSAGE),
            "{stdout}"
        );
        assert_nothing_identifying(&format!("replay show {args:?}"), &stdout);
        if args == ["--json"] {
            let rules = faultproxy::parse_rules(&stdout).expect("the control API takes the rules");
            assert_eq!(rules.len(), 1);
            assert_eq!(rules[0].first, Some(2));
        }
    }
    let bad = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(bad.path(), b"\x1f\x8bnot gzip").expect("write");
    let out = Command::new(HARNESS)
        .env("HARNESS_ATTACH", "off")
        .args(["replay", "show"])
        .arg(bad.path())
        .output()
        .expect("harness replay show");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("not a readable gzip file") && stderr.trim().lines().count() == 1,
        "{stderr}"
    );
}

/// The provisioner's stack named as the trail's: project `first`, environment `apply`
/// (service `first-apply-service`, task role `first-apply-ecs-task-role`), with `file`'s rules for
/// its account.
async fn stack_meeting(file: &str) -> Option<(TestEnv, Stack)> {
    let env = harness::env::ecs_test_env_or_skip().await?;
    let mut spec = env
        .spec("first")
        .await
        .unwrap_or_else(|e| panic!("default network: {e:#}"));
    spec.environment = "apply".into();
    spec.service_linked_role = SlrMode::Ensure;
    let loaded = harness::replay::load(&fixture(file), ReplayBy::Count).expect("the fixture loads");
    env.proxy
        .add_rules(loaded.rules(Some(&env.account_id)))
        .expect("the replay's rules validate");
    let stack = env.stack(spec);
    Some((env, stack))
}

fn options(retry: RetryPolicy) -> ApplyOptions {
    ApplyOptions::new(retry.with_backoff(Duration::from_millis(50), Duration::from_millis(250)))
        .with_progress(Progress::custom(|e| println!("    {e}")))
}

#[tokio::test]
async fn the_provisioner_meets_the_same_errors_and_converges_with_retries() {
    // Retries off: the apply stops on the trail's first error, verbatim.
    let Some((env, stack)) = stack_meeting("first-apply.json.gz").await else {
        return;
    };
    let err = Box::pin(stack.apply(&options(RetryPolicy::disabled())))
        .await
        .expect_err("with retries off the replayed error stops the apply");
    let text = err.to_string();
    assert!(
        text.contains("InvalidParameterException") && text.contains(SLR_MESSAGE),
        "{text}"
    );
    let ipe = (
        "CreateService".to_string(),
        "InvalidParameterException".to_string(),
        Some(400),
    );
    assert_eq!(
        replayed(&env.proxy.journal_for(&env.account_id)),
        vec![ipe.clone()]
    );

    // Retries on: the same two errors, absorbed; the apply converges.
    let Some((env, stack)) = stack_meeting("first-apply.json.gz").await else {
        return;
    };
    let retry = RetryPolicy::default().with_deadline(Duration::from_secs(60));
    let report = Box::pin(stack.apply(&options(retry)))
        .await
        .unwrap_or_else(|e| panic!("with retries on the apply converges: {e}"));
    assert_eq!(
        replayed(&env.proxy.journal_for(&env.account_id)),
        vec![ipe.clone(), ipe]
    );
    let absorbed: Vec<_> = report
        .absorbed
        .iter()
        .filter(|a| a.operation == "CreateService")
        .map(|a| (a.operation.as_str(), a.code.as_str(), a.message.as_str()))
        .collect();
    assert_eq!(
        absorbed,
        vec![("CreateService", "InvalidParameterException", SLR_MESSAGE); 2]
    );

    // The IAM lag: GetRole of the task role answers NoSuchEntity three times, then the role.
    let Some((env, stack)) = stack_meeting("iam-read-after-create.json").await else {
        return;
    };
    let retry = RetryPolicy::default().with_deadline(Duration::from_secs(60));
    Box::pin(stack.apply(&options(retry)))
        .await
        .unwrap_or_else(|e| panic!("with retries on the apply converges through the lag: {e}"));
    let nse = ("GetRole".to_string(), "NoSuchEntity".to_string(), Some(404));
    assert_eq!(
        replayed(&env.proxy.journal_for(&env.account_id)),
        vec![nse.clone(), nse.clone(), nse]
    );
}
