//! The CLI's contract without any AWS endpoint: a missing or broken config is one clear line
//! naming the file (and line, key, allowed values) with exit code 1; usage errors exit 1 too
//! (2 is reserved for `plan --detailed-exitcode` "changes"); global flags work after the subcommand.

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
fn missing_config_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let (code, _, err) = provisioner(&["plan", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: {}", path.display())),
        "{err}"
    );
    assert!(err.contains("examples/stack.toml"), "{err}");
}

#[test]
fn invalid_value_names_line_key_and_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stack.toml");
    std::fs::write(&path, "project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n\n[ecr]\nimage_tag_mutability = \"SOMETIMES\"\n").unwrap();
    let (code, _, err) = provisioner(&["output", "--config", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    assert!(err.contains("line 6"), "{err}");
    assert!(err.contains("`ecr.image_tag_mutability`"), "{err}");
    assert!(err.contains("allowed values: MUTABLE, IMMUTABLE"), "{err}");
}

#[test]
fn usage_errors_exit_1() {
    let (code, _, err) = provisioner(&["apply", "--no-retry", "--retry-timeout", "5s"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, _) = provisioner(&["plan", "--bogus"]);
    assert_eq!(code, 1);
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
