//! The CLI's contract without any AWS endpoint: `--help` lists the subcommands and their flags.
//! Every bad input (missing or broken config, usage errors, bad flags and endpoints) is a row of
//! the bad-input table, `tests/bad_input.rs`, with its exact first line and exit code.

use std::process::Command;

fn provisioner(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_provisioner"))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("run provisioner");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_the_subcommands_and_flags() {
    let (code, out, _) = provisioner(&["--help"]);
    assert_eq!(code, 0);
    for s in [
        "plan",
        "apply",
        "destroy",
        "output",
        "--config",
        "--endpoint-url",
        "--region",
    ] {
        assert!(out.contains(s), "{s} missing from:\n{out}");
    }
    let (code, out, _) = provisioner(&["apply", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--no-retry") && out.contains("--retry-timeout"),
        "{out}"
    );
    let (_, out, _) = provisioner(&["destroy", "--help"]);
    assert!(out.contains("--delete-service-linked-role"), "{out}");
    let (_, out, _) = provisioner(&["plan", "--help"]);
    assert!(
        out.contains("--detailed-exitcode") && out.contains("--json"),
        "{out}"
    );
}
