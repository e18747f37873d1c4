//! Why this file exists: the book's recipes (docs/src/recipes/) are only worth following if they
//! work, so the ones that can run on the project's machines run here, as a user runs them:
//! `harness run -- python -m pytest examples/pytest` (boto3 and pytest) and
//! `harness run --profile fresh-account -- ansible-playbook examples/ansible/site.yml`
//! (Ansible's amazon.aws and community.aws collections). The recipe pages include those files
//! as they are. The tools are the pins of `recipes/requirements.txt`, installed once into
//! `<target>/harness/recipes/venv` by the foreign-clients installer; no Python or no PyPI is a
//! failure, never a skip. Run: `cargo test -p harness --test recipes -- --nocapture`.

#[allow(dead_code)]
#[path = "foreign_clients/pyclients.rs"]
mod pyclients;
#[allow(dead_code)]
#[path = "foreign_clients/script.rs"]
mod script;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

/// A guard against a hung tool, not a timing assertion.
const RUN_DEADLINE: Duration = Duration::from_secs(600);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The pinned tools, installed once (a test process at a time) and reused.
fn tools() -> pyclients::PyClients {
    let mut installer = pyclients::Installer::from_env();
    installer.root = pyclients::root().with_file_name("recipes");
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recipes/requirements.txt");
    let tools = installer
        .ensure_with(&requirements, "ansible-playbook")
        .unwrap_or_else(|e| panic!("cannot install the recipes' pinned tools: {e}"));
    match tools.installed_in {
        Some(took) => println!("installed the recipes' tools in {took:.1?}"),
        None => println!("reusing the recipes' tools in {}", installer.root.display()),
    }
    tools
}

/// `harness run FLAGS --journal JOURNAL -- CMD`, from the workspace, the venv's tools first on
/// PATH.
fn harness_run(
    tools: &pyclients::PyClients,
    flags: &[&str],
    journal: &Path,
    cmd: &[&str],
) -> Command {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(tools.bin.clone()).chain(std::env::split_paths(&path)),
    )
    .expect("PATH");
    let mut run = Command::new(env!("CARGO_BIN_EXE_harness"));
    // A `harness up` the developer keeps running is not this test's: its runs start their own emulator.
    run.env("HARNESS_ATTACH", "off");
    run.arg("run")
        .args(["--backend", "moto"])
        .args(flags)
        .arg("--journal")
        .arg(journal)
        .arg("--")
        .args(cmd)
        .current_dir(workspace())
        .env("PATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    run
}

fn journal(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("harness run wrote no journal at {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("the journal is JSON");
    doc["entries"].as_array().cloned().unwrap_or_default()
}

/// `service:Operation` of every journal entry.
fn calls(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["service"].as_str().unwrap_or("?"),
                e["operation"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn boto3_and_pytest_recipe() {
    let tools = tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let journal_path = dir.path().join("journal.json");
    // The tests of examples/pytest expect the service-linked role's delay (their header says so).
    let cmd = harness_run(
        &tools,
        &["--preset", "slr-delay=30s"],
        &journal_path,
        &[
            "python",
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-v",
            "examples/pytest",
        ],
    );
    let ran = script::run("pytest", cmd, RUN_DEADLINE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ran.code,
        Some(0),
        "pytest under harness run failed:\n{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("3 passed"),
        "pytest ran other tests than the recipe's three:\n{}",
        ran.stdout
    );
    // The journal holds the recipe's calls, so pytest's boto3 went through the harness's endpoint
    // (what the account answered is in harness run's report above).
    let calls = calls(&journal(&journal_path));
    for call in [
        "ecs:CreateCluster",
        "ecs:CreateService",
        "iam:CreateServiceLinkedRole",
        "iam:GetRole",
    ] {
        assert!(
            calls.iter().any(|c| c == call),
            "{call} missing from the journal: {calls:?}"
        );
    }
}

#[test]
fn ansible_recipe_in_a_fresh_account() {
    let tools = tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let journal_path = dir.path().join("journal.json");
    let mut cmd = harness_run(
        &tools,
        &["--profile", "fresh-account", "--seed", "7"],
        &journal_path,
        &["ansible-playbook", "examples/ansible/site.yml"],
    );
    // Ansible's own files (its temp dirs, fact cache) go to a directory of the test.
    cmd.env("ANSIBLE_HOME", dir.path().join("ansible"))
        .env("ANSIBLE_LOCAL_TEMP", dir.path().join("ansible-tmp"))
        .env("ANSIBLE_DEPRECATION_WARNINGS", "False")
        .env("ANSIBLE_NOCOLOR", "1");
    let ran = script::run("ansible", cmd, RUN_DEADLINE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ran.code,
        Some(0),
        "the playbook failed in a fresh account:\n{}\n{}",
        ran.stdout,
        ran.stderr
    );
    // What the fresh account threw depends on when each call landed in its window: harness run's
    // report above shows it; it is not asserted. That the playbook passed whatever it met is the
    // recipe's point.
    let calls = calls(&journal(&journal_path));
    for call in [
        "iam:CreateRole",
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "ecs:CreateCluster",
    ] {
        assert!(
            calls.iter().any(|c| c == call),
            "{call} missing from the journal: {calls:?}"
        );
    }
}
