//! The external backend: URL validation, a deadline for unreachable endpoints, and sniffing
//! what answers so the proxy knows how to pass the account on.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use faultproxy::UpstreamFlavor;
use harness::emulator::external::{validate_url, External};
use harness::emulator::moto_process::{MotoOptions, MotoProcess};
use harness::emulator::{Backend, Emulator, EmulatorError};

#[test]
fn urls_are_validated() {
    assert!(validate_url("http://localhost:4566").is_ok());
    assert!(validate_url("https://example.com/prefix/").is_ok());
    for bad in ["localhost:4566", "ftp://x", "not a url", "http://"] {
        let err = validate_url(bad).unwrap_err();
        assert!(matches!(err, EmulatorError::Config(_)), "{bad}: {err}");
        assert!(err.to_string().contains("HARNESS_ENDPOINT_URL"), "{err}");
    }
}

#[tokio::test]
async fn unreachable_endpoint_fails_at_the_deadline() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let err = External::connect(&url, None, Duration::from_millis(800))
        .await
        .unwrap_err();
    // Not before the deadline; after it, only a hang guard (a busy machine answers late).
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(60),
        "{took:?}"
    );
    assert!(matches!(err, EmulatorError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
}

#[tokio::test]
async fn a_moto_endpoint_is_recognised() {
    let moto = MotoProcess::start(&MotoOptions::from_env().await.unwrap())
        .await
        .unwrap();
    let base = moto.endpoint().base_url();
    let external = External::connect(&base, None, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(external.backend(), Backend::External);
    assert_eq!(external.endpoint().flavor, UpstreamFlavor::Moto);
    assert!(external.endpoint().serves_ecs);
    assert_eq!(external.log_path(), None);
    assert!(
        external
            .describe()
            .starts_with("external moto at http://127.0.0.1:"),
        "{}",
        external.describe()
    );

    let forced = External::connect(&base, Some(UpstreamFlavor::Other), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(forced.endpoint().flavor, UpstreamFlavor::Other);
}

/// `HARNESS_BACKEND=external` without `HARNESS_ENDPOINT_URL` says what to set (child process,
/// so the variables do not leak into other tests).
#[tokio::test]
async fn external_without_url_names_the_variable() {
    if std::env::var_os("HARNESS_EXTERNAL_CHILD").is_some() {
        let err = harness::emulator::start(Backend::External)
            .await
            .unwrap_err();
        println!("CHILD-ERROR {err}");
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "external_without_url_names_the_variable",
            "--exact",
            "--nocapture",
        ])
        .env("HARNESS_EXTERNAL_CHILD", "1")
        .env_remove("HARNESS_ENDPOINT_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(
            "CHILD-ERROR configuration error: HARNESS_BACKEND=external needs HARNESS_ENDPOINT_URL"
        ),
        "{text}"
    );
    assert!(
        text.contains("harness: backend = external FAILED"),
        "{text}"
    );
}
