//! Loud skips: an unavailable backend prints `SKIPPED (<reason>)` and the test returns, unless
//! HARNESS_REQUIRE_DOCKER=1 makes it a failure. Never a silent pass. Each case runs in a child
//! test process so it can have its own environment variables.

use std::process::{Command, Output};

const CHILD: &str = "HARNESS_SKIP_CHILD";

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn run_child(name: &str, envs: &[(&str, &str)]) -> (Output, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("HARNESS_REQUIRE_DOCKER")
        .env_remove("HARNESS_REQUIRE_ECS");
    for (k, v) in envs {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output, text)
}

#[test]
fn skip_or_fail_is_loud_and_returns() {
    if in_child() {
        harness::env::skip_or_fail("no engine here");
        println!("CHILD-CONTINUED");
        return;
    }
    let (output, text) = run_child("skip_or_fail_is_loud_and_returns", &[]);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("skip_or_fail_is_loud_and_returns: SKIPPED (no engine here): set HARNESS_REQUIRE_DOCKER=1 to make this a failure"),
        "{text}"
    );
    assert!(text.contains("CHILD-CONTINUED"), "{text}");

    let (output, text) = run_child(
        "skip_or_fail_is_loud_and_returns",
        &[("HARNESS_REQUIRE_DOCKER", "1")],
    );
    assert!(
        !output.status.success(),
        "HARNESS_REQUIRE_DOCKER=1 must fail: {text}"
    );
    assert!(
        text.contains("cannot run (no engine here) and HARNESS_REQUIRE_DOCKER=1 forbids skipping"),
        "{text}"
    );
    assert!(!text.contains("CHILD-CONTINUED"), "{text}");
}

/// A container backend with no reachable Docker engine: the macro skips loudly.
#[tokio::test]
async fn unavailable_backend_skips_loudly_unless_required() {
    if in_child() {
        let env = harness::test_env_or_skip!();
        println!("CHILD-GOT-ENV {}", env.account_id);
        return;
    }
    let no_docker = [
        ("HARNESS_BACKEND", "moto-container"),
        ("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
    ];
    let (output, text) = run_child(
        "unavailable_backend_skips_loudly_unless_required",
        &no_docker,
    );
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("SKIPPED (backend moto-container is unavailable: "),
        "{text}"
    );
    assert!(
        text.contains("set HARNESS_REQUIRE_DOCKER=1 to make this a failure"),
        "{text}"
    );
    assert!(!text.contains("CHILD-GOT-ENV"), "{text}");

    let mut required = no_docker.to_vec();
    required.push(("HARNESS_REQUIRE_DOCKER", "1"));
    let (output, text) = run_child(
        "unavailable_backend_skips_loudly_unless_required",
        &required,
    );
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("HARNESS_REQUIRE_DOCKER=1 forbids skipping"),
        "{text}"
    );
}

/// A bad HARNESS_BACKEND is an error, never a skip.
#[tokio::test]
async fn misconfiguration_fails_instead_of_skipping() {
    if in_child() {
        let _env = harness::test_env_or_skip!();
        return;
    }
    let (output, text) = run_child(
        "misconfiguration_fails_instead_of_skipping",
        &[("HARNESS_BACKEND", "dockr")],
    );
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("\"dockr\" is not a backend"), "{text}");
    assert!(!text.contains("SKIPPED"), "{text}");
}
