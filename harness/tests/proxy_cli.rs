//! `harness proxy`: prints `AWS_ENDPOINT_URL=http://ADDR` as its first stdout line once it
//! listens, serves SDK clients with the presets given, and exits cleanly on SIGTERM.

mod proxy_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_ecs::error::ProvideErrorMetadata;
use proxy_support::*;

/// Kills the proxy if the test fails before it is stopped.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test]
async fn proxy_subcommand_prints_the_endpoint_serves_and_stops_on_sigterm() {
    let upstream = moto_url().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "proxy",
            "--upstream",
            upstream.as_str(),
            "--preset",
            "throttle=100",
            "--seed",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("harness binary runs");
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let mut guard = KillOnDrop(Some(child));
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let first_line = tokio::time::timeout(Duration::from_secs(30), first_line)
        .await
        .expect("first line within 30 s")
        .unwrap()
        .unwrap();
    let url = first_line
        .trim()
        .strip_prefix("AWS_ENDPOINT_URL=")
        .unwrap_or_else(|| panic!("got {first_line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let account = fresh_account();
    let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_types::region::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            &account, SECRET, None, None, "t",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let err = aws_sdk_ecs::Client::new(&cfg)
        .list_clusters()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("ThrottlingException"),
        "the preset is active"
    );

    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = guard.0.take().unwrap();
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
}

#[test]
fn bad_preset_is_rejected_with_the_accepted_forms() {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "proxy",
            "--upstream",
            "http://127.0.0.1:9",
            "--preset",
            "slr-delay=forever",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("slr-delay=forever") && err.contains("Accepted presets"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
