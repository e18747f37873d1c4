//! Why this file exists: the seed's story told by clients nobody here wrote (issue 16, item 3).
//! The seed tutorial's ECS stack is built by a bash script on the AWS CLI
//! (`foreign_clients/seed_tutorial.sh`, written as a user writes it) in a fresh account with the
//! service-linked-role delay on, and the ECS service-linked role's lifecycle is walked by a boto3
//! script (`foreign_clients/slr_lifecycle.py`). It asserts, as the user sees it:
//!
//! (a) the first run fails at `create-service` with AWS's exact error as the AWS CLI prints it;
//! (b) running the same script again in the same account, once the window is over, passes;
//! (c) with the seed's fix (`create-service-linked-role` first, then wait until `get-role`
//!     sees the role) the whole tutorial runs without an error;
//! (d) boto3: the role CreateCluster creates (name, path, trust, policy), the duplicate
//!     `InvalidInput`, the deletion task `FAILED` with `RoleUsageList` while a cluster lives,
//!     `SUCCEEDED` after.
//!
//! The clients are the pinned awscli/boto3 of `foreign_clients/requirements.txt`, installed by
//! `foreign_clients/pyclients.rs` (no Python or no PyPI is a failure, never a skip). Every check
//! prints PASS or FAIL. Run: `cargo test -p harness --test seed_tutorial_cli -- --nocapture`.

#[allow(dead_code)]
#[path = "foreign_clients/harness_up.rs"]
mod harness_up;
#[allow(dead_code)]
#[path = "foreign_clients/pyclients.rs"]
mod pyclients;
#[path = "foreign_clients/script.rs"]
mod script;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use harness_up::{HarnessUp, VARS};
use script::{Ran, Verdicts};

/// The service-linked role stays unusable this long after CreateCluster creates it (AWS: ~2 s
/// typical, 10-30 s common; README "slr-delay"). Long enough that the CLI's `create-service`,
/// one process start after `create-cluster`, lands inside it on a loaded 2-core machine.
const SLR_WINDOW: Duration = Duration::from_secs(15);
/// One run of the tutorial (about 20 AWS CLI processes, 1-3 s each on a loaded 2-core machine).
const TUTORIAL_DEADLINE: Duration = Duration::from_secs(420);
/// The boto3 lifecycle script (its own waits are bounded at 90 s each).
const LIFECYCLE_DEADLINE: Duration = Duration::from_secs(300);

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

/// A fresh account: `harness up` with the service-linked-role delay fixed at [`SLR_WINDOW`].
fn fresh_account() -> HarnessUp {
    let window = format!("slr-delay={}s", SLR_WINDOW.as_secs());
    let up = HarnessUp::start(&["--preset".to_string(), window]).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "harness up ready in {:.1?}: account {} at {}",
        up.ready_in, up.vars["AWS_ACCESS_KEY_ID"], up.vars["AWS_ENDPOINT_URL"]
    );
    up
}

/// `program args` with the pinned clients first on PATH and, of the AWS settings, only what
/// `harness up` printed (no profile, no config or credentials file of the developer's).
fn client(clients: &pyclients::PyClients, up: &HarnessUp, program: &str, args: &[&str]) -> Command {
    let bin = clients
        .python
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
        .expect("PATH");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(pyclients::scripts_dir())
        .env("PATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        cmd.env_remove(k);
    }
    for var in VARS {
        cmd.env(var, &up.vars[var]);
    }
    cmd.env("AWS_DEFAULT_REGION", &up.vars["AWS_REGION"])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    cmd
}

fn tutorial(clients: &pyclients::PyClients, up: &HarnessUp, label: &str, args: &[&str]) -> Ran {
    let mut argv = vec!["seed_tutorial.sh"];
    argv.extend_from_slice(args);
    let ran = script::run(label, client(clients, up, "bash", &argv), TUTORIAL_DEADLINE)
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{label}: exit {:?} after {:.1?}", ran.code, ran.took);
    ran
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

/// The `==> ` step lines the tutorial printed.
fn steps(ran: &Ran) -> Vec<&str> {
    ran.stdout_with("==> ").collect()
}

fn cli_errors(ran: &Ran) -> Vec<&str> {
    ran.stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with(CLI_ERROR))
        .collect()
}

#[test]
fn the_first_run_fails_at_create_service_and_the_second_passes() {
    let clients = installed_clients();
    let up = fresh_account();
    let mut v = Verdicts::default();

    let first = tutorial(&clients, &up, "first run", &[]);
    let label = "(a) first run";
    v.check(
        label,
        "exits with the AWS CLI's service-error code",
        first.code == Some(CLI_SERVICE_ERROR_EXIT),
        || format!("exit {:?}", first.code),
    );
    v.check(
        label,
        "stderr carries the seed's error, verbatim",
        first.stderr_lines().contains(&SEED_ERROR),
        || format!("stderr:\n{}", first.stderr),
    );
    v.check(
        label,
        "it is the only error",
        cli_errors(&first).len() == 1,
        || format!("errors: {:?}", cli_errors(&first)),
    );
    let steps_first = steps(&first);
    v.check(
        label,
        "the failing step is create-service, right after create-cluster",
        steps_first.ends_with(&[
            "create-cluster my-project-dev-cluster",
            "create-service my-project-dev-service",
        ]),
        || format!("steps: {steps_first:?}"),
    );

    // The window opened at create-cluster, before the first run ended.
    println!("waiting {SLR_WINDOW:?} for the service-linked role's window to close");
    std::thread::sleep(SLR_WINDOW);
    let second = tutorial(&clients, &up, "second run", &[]);
    let label = "(b) second run, same account";
    v.check(label, "exits 0", second.code == Some(0), || {
        format!("exit {:?}", second.code)
    });
    v.check(
        label,
        "prints no error",
        cli_errors(&second).is_empty(),
        || format!("stderr:\n{}", second.stderr),
    );
    let steps_second = steps(&second);
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
    v.assert_all_passed("first and second run");
}

#[test]
fn the_seed_fix_builds_the_tutorial_without_an_error() {
    let clients = installed_clients();
    let up = fresh_account();
    let mut v = Verdicts::default();
    let ran = tutorial(
        &clients,
        &up,
        "with the fix",
        &["--create-service-linked-role"],
    );
    let label = "(c) create-service-linked-role first";
    v.check(label, "exits 0", ran.code == Some(0), || {
        format!("exit {:?}", ran.code)
    });
    v.check(
        label,
        "prints no error",
        cli_errors(&ran).is_empty(),
        || format!("stderr:\n{}", ran.stderr),
    );
    let steps = steps(&ran);
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
    v.assert_all_passed(label);
}

#[test]
fn boto3_sees_the_service_linked_role_lifecycle() {
    let clients = installed_clients();
    let up = fresh_account();
    let python = clients.python.to_string_lossy().into_owned();
    let cmd = client(&clients, &up, &python, &["slr_lifecycle.py"]);
    let ran =
        script::run("boto3 lifecycle", cmd, LIFECYCLE_DEADLINE).unwrap_or_else(|e| panic!("{e}"));
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
