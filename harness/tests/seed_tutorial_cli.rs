//! Why this file exists: the seed's story told by clients nobody here wrote, each run the way a
//! user runs it, through `harness run`. The seed tutorial's ECS stack is built
//! by a bash script on the AWS CLI (`foreign_clients/seed_tutorial.sh`, written as a user writes
//! it) in a fresh account with the service-linked-role delay on, and the ECS service-linked
//! role's lifecycle is walked by a boto3 script (`foreign_clients/slr_lifecycle.py`). It asserts:
//!
//! (a) the first run fails at `create-service` with AWS's exact error as the AWS CLI prints it;
//! (b) running the same script again in the same account (one `harness run` wrapping a shell
//!     that runs it twice), once the window is over, passes;
//! (c) with the seed's fix (`create-service-linked-role` first, then wait until `get-role`
//!     sees the role) the whole tutorial runs without an error, and no ECS call got a fault;
//! (d) boto3: the role CreateCluster creates (name, path, trust, policy), the duplicate
//!     `InvalidInput`, the deletion task `FAILED` with `RoleUsageList` while a cluster lives,
//!     `SUCCEEDED` after.
//!
//! The clients are the pinned awscli/boto3 of `foreign_clients/requirements.txt`, installed by
//! `foreign_clients/pyclients.rs` (no Python or no PyPI is a failure, never a skip). Every check
//! prints PASS or FAIL. Run: `cargo test -p harness --test seed_tutorial_cli -- --nocapture`.

#[allow(dead_code)]
#[path = "foreign_clients/pyclients.rs"]
mod pyclients;
#[path = "foreign_clients/script.rs"]
mod script;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use script::{Ran, Verdicts};
use serde_json::Value;

/// The service-linked role stays unusable this long after CreateCluster creates it (AWS: ~2 s
/// typical, 10-30 s common; docs/src/aws-facts.md). Long enough that the CLI's `create-service`,
/// one process start after `create-cluster`, lands inside it on a loaded 2-core machine.
const SLR_WINDOW_S: u64 = 15;
/// One `harness run`: moto's start, up to two tutorial runs (about 20 AWS CLI processes each,
/// 1-5 s apiece on a loaded 2-core machine) and the wait between them.
const RUN_DEADLINE: Duration = Duration::from_secs(600);

/// The seed's error, exactly as the AWS CLI v1 prints it on stderr
/// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html;
/// terraform-provider-aws internal/service/ecs/service.go retries on its message).
const SEED_ERROR: &str = "An error occurred (InvalidParameterException) when calling the \
CreateService operation: Unable to assume the service linked role. Please verify that the ECS \
service linked role exists.";
/// How the AWS CLI starts any error message.
const CLI_ERROR: &str = "An error occurred (";
/// The AWS CLI v1's exit code for an error the service answered.
const CLI_SERVICE_ERROR_EXIT: i32 = 255;

/// "Run it twice", in one account: the tutorial, its exit code, a marker on stderr, a wait as
/// long as the window ($1 seconds), the tutorial again (whose exit code `harness run` returns).
const TWICE: &str = r#"bash seed_tutorial.sh; echo "first run exit $?"; echo "--- second run" >&2; sleep "$1"; bash seed_tutorial.sh"#;
/// The line TWICE prints between the two runs on stdout.
const FIRST_EXIT: &str = "first run exit ";
/// The line TWICE prints between the two runs on stderr.
const SECOND_RUN: &str = "--- second run";
/// How `harness run` starts its own lines on stderr (the report).
const HARNESS_SAYS: &str = "harness: ";

/// `harness run --preset slr-delay=15s --journal FILE -- CMD...` in the scripts' folder, with the
/// pinned clients first on PATH. `harness run` hands CMD a fresh account and hides every other
/// AWS setting of the developer's.
fn harness_run(clients: &pyclients::PyClients, journal: &Path, cmd: &[&str]) -> Command {
    let bin = clients
        .python
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
        .expect("PATH");
    let mut run = Command::new(env!("CARGO_BIN_EXE_harness"));
    // A `harness up` the developer keeps running is not this test's: its runs start their own emulator.
    run.env("HARNESS_ATTACH", "off");
    run.args(["run", "--backend", "moto", "--preset"])
        .arg(format!("slr-delay={SLR_WINDOW_S}s"))
        .arg("--journal")
        .arg(journal)
        .arg("--")
        .args(cmd)
        .current_dir(pyclients::scripts_dir())
        .env("PATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    run
}

fn installed_clients() -> pyclients::PyClients {
    let clients = pyclients::ensure()
        .unwrap_or_else(|e| panic!("cannot install the pinned boto3/awscli: {e}"));
    match clients.installed_in {
        Some(took) => println!("installed the pinned clients in {took:.1?}"),
        None => println!(
            "reusing the pinned clients in {}",
            pyclients::root().display()
        ),
    }
    clients
}

fn run(label: &str, cmd: Command) -> Ran {
    let ran = script::run(label, cmd, RUN_DEADLINE).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{label}: harness run exited {:?} after {:.1?}",
        ran.code, ran.took
    );
    ran
}

/// The `==> ` step lines of a tutorial run's stdout.
fn steps(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("==> "))
        .collect()
}

/// The AWS CLI's error lines in a stderr text.
fn cli_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with(CLI_ERROR))
        .collect()
}

/// The journal `harness run --journal FILE` wrote: its entries.
fn journal(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("harness run wrote no journal at {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("the journal is JSON");
    doc["entries"].as_array().cloned().unwrap_or_default()
}

/// Journal entries of `service` whose call got an injected fault, as `Operation Code rule`.
fn faults_of(entries: &[Value], service: &str) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e["service"] == service && e["fault"].is_object())
        .map(|e| {
            let f = &e["fault"];
            format!(
                "{} {} {}",
                e["operation"].as_str().unwrap_or("?"),
                f["code"].as_str().unwrap_or("?"),
                f["rule"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn the_first_run_fails_at_create_service_and_the_second_passes() {
    let clients = installed_clients();
    let dir = tempfile::tempdir().expect("temp dir");
    let journal_path = dir.path().join("journal.json");
    let window = SLR_WINDOW_S.to_string();
    let cmd = harness_run(
        &clients,
        &journal_path,
        &["bash", "-c", TWICE, "twice", &window],
    );
    let ran = run("run twice", cmd);
    let (out_first, out_second) = ran
        .stdout
        .split_once(FIRST_EXIT)
        .unwrap_or((&ran.stdout, ""));
    let (err_first, err_second) = ran
        .stderr
        .split_once(SECOND_RUN)
        .unwrap_or((&ran.stderr, ""));
    let first_code = out_second.lines().next().unwrap_or("").trim();
    let mut v = Verdicts::default();

    let label = "(a) first run";
    v.check(
        label,
        "exits with the AWS CLI's service-error code",
        first_code == CLI_SERVICE_ERROR_EXIT.to_string(),
        || format!("exit {first_code:?}"),
    );
    v.check(
        label,
        "stderr carries the seed's error, verbatim",
        err_first.lines().any(|l| l.trim_end() == SEED_ERROR),
        || format!("stderr:\n{err_first}"),
    );
    v.check(
        label,
        "it is the only error",
        cli_errors(err_first).len() == 1,
        || format!("errors: {:?}", cli_errors(err_first)),
    );
    let steps_first = steps(out_first);
    v.check(
        label,
        "the failing step is create-service, right after create-cluster",
        steps_first.ends_with(&[
            "create-cluster my-project-dev-cluster",
            "create-service my-project-dev-service",
        ]),
        || format!("steps: {steps_first:?}"),
    );

    let label = "(b) second run, same account, after the window";
    let run_two: String = err_second
        .lines()
        .filter(|l| !l.starts_with(HARNESS_SAYS))
        .collect::<Vec<_>>()
        .join("\n");
    v.check(
        label,
        "exits 0 (and so does harness run)",
        ran.code == Some(0),
        || format!("exit {:?}", ran.code),
    );
    v.check(
        label,
        "prints no error",
        cli_errors(&run_two).is_empty(),
        || format!("stderr:\n{run_two}"),
    );
    let steps_second = steps(out_second);
    for wanted in [
        "cluster my-project-dev-cluster exists",
        "create-service my-project-dev-service",
    ] {
        v.check(
            label,
            &format!("step `{wanted}`"),
            steps_second.contains(&wanted),
            || format!("steps: {steps_second:?}"),
        );
    }
    v.check(
        label,
        "finishes",
        steps_second.last().is_some_and(|s| s.starts_with("done: ")),
        || format!("steps: {steps_second:?}"),
    );

    let label = "harness run's report and journal";
    let entries = journal(&journal_path);
    let ecs = faults_of(&entries, "ecs");
    v.check(
        label,
        "the journal has exactly one ECS fault: CreateService by slr-delay",
        ecs == ["CreateService InvalidParameterException model:slr-delay"],
        || format!("ECS faults: {ecs:?}"),
    );
    let report: Vec<&str> = ran
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix(HARNESS_SAYS))
        .collect();
    v.check(
        label,
        "the report lists it",
        report.iter().any(|l| {
            l.contains("ecs:CreateService")
                && l.contains("InvalidParameterException")
                && l.contains("model:slr-delay")
        }),
        || format!("report:\n{}", report.join("\n")),
    );
    v.assert_all_passed("run twice");
}

#[test]
fn the_seed_fix_builds_the_tutorial_without_an_error() {
    let clients = installed_clients();
    let dir = tempfile::tempdir().expect("temp dir");
    let journal_path = dir.path().join("journal.json");
    let cmd = harness_run(
        &clients,
        &journal_path,
        &["bash", "seed_tutorial.sh", "--create-service-linked-role"],
    );
    let ran = run("with the fix", cmd);
    let mut v = Verdicts::default();
    let label = "(c) create-service-linked-role first";
    v.check(label, "exits 0", ran.code == Some(0), || {
        format!("exit {:?}", ran.code)
    });
    v.check(
        label,
        "prints no error",
        cli_errors(&ran.stderr).is_empty(),
        || format!("stderr:\n{}", ran.stderr),
    );
    let steps = steps(&ran.stdout);
    let order = [
        "create-service-linked-role ecs.amazonaws.com",
        "create-cluster my-project-dev-cluster",
        "create-service my-project-dev-service",
    ];
    let at: Vec<Option<usize>> = order
        .iter()
        .map(|s| steps.iter().position(|x| x == s))
        .collect();
    v.check(
        label,
        "role, then cluster, then service",
        at.iter().all(Option::is_some) && at.windows(2).all(|w| w[0] < w[1]),
        || format!("steps: {steps:?}"),
    );
    v.check(
        label,
        "finishes",
        steps.last().is_some_and(|s| s.starts_with("done: ")),
        || format!("steps: {steps:?}"),
    );
    let entries = journal(&journal_path);
    let ecs = faults_of(&entries, "ecs");
    v.check(label, "no ECS call got a fault", ecs.is_empty(), || {
        format!("ECS faults: {ecs:?}")
    });
    let waited = faults_of(&entries, "iam").len();
    println!(
        "{label}: get-role answered NoSuchEntity {waited} times while the role was not yet usable"
    );
    v.assert_all_passed(label);
}

#[test]
fn boto3_sees_the_service_linked_role_lifecycle() {
    let clients = installed_clients();
    let dir = tempfile::tempdir().expect("temp dir");
    let python = clients.python.to_string_lossy().into_owned();
    let cmd = harness_run(
        &clients,
        &dir.path().join("journal.json"),
        &[&python, "slr_lifecycle.py"],
    );
    let ran = run("boto3 lifecycle", cmd);
    let fails: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    let passes = ran.stdout.lines().filter(|l| l.starts_with("PASS")).count();
    assert!(
        ran.code == Some(0) && fails.is_empty() && ran.stdout.contains("SUMMARY "),
        "slr_lifecycle.py: exit {:?}, failed: {fails:?}; stderr:\n{}",
        ran.code,
        ran.stderr
    );
    assert!(passes >= 13, "expected 13 PASS lines, saw {passes}");
    println!(
        "boto3 lifecycle: {passes} checks passed in {:.1?}",
        ran.took
    );
}
