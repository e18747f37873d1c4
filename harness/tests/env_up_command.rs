//! `harness up`: prints the endpoint first once emulator and proxy are ready, serves AWS calls
//! in the advertised account, and on SIGTERM exits cleanly and leaves no emulator behind.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                != Some("Z")
        }
    }
}

#[tokio::test]
async fn up_prints_the_endpoint_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["up", "--listen", "127.0.0.1:0", "--backend", "moto"])
        .env("RUST_LOG", "info")
        // A state file of this process's own: no other test's `harness run` attaches to this `up`.
        .env(
            "HARNESS_UP_STATE",
            std::env::temp_dir().join(format!("harness-up-{}.json", std::process::id())),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("first stdout line");
    let endpoint = first
        .strip_prefix("AWS_ENDPOINT_URL=http://127.0.0.1:")
        .map(|_| first["AWS_ENDPOINT_URL=".len()..].to_string())
        .unwrap_or_else(|| panic!("first line must be AWS_ENDPOINT_URL=...: {first:?}"));
    let mut vars = std::collections::HashMap::new();
    while vars.len() < 3 {
        let line = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("credential lines");
        if let Some((k, v)) = line.split_once('=') {
            if !k.starts_with('#') {
                vars.insert(k.to_string(), v.to_string());
            }
        }
    }
    let account = vars["AWS_ACCESS_KEY_ID"].clone();
    assert!(harness::accounts::is_account_id(&account), "{account}");
    assert_eq!(vars["AWS_SECRET_ACCESS_KEY"], "test");
    assert_eq!(vars["AWS_REGION"], "ap-northeast-1");

    // The advertised settings work with a stock SDK client, in the advertised account.
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new(vars["AWS_REGION"].clone()))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(&account, "test", None, None, "test"),
            ),
        )
        .build();
    let iam = aws_sdk_iam::Client::new(&config);
    let role = iam
        .create_role()
        .role_name("up-probe")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .expect("CreateRole through harness up");
    assert!(role.role().unwrap().arn().contains(&account));

    // SIGTERM: clean exit, emulator gone.
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "harness up ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    let banner = stderr
        .lines()
        .find_map(|l| l.strip_prefix("harness: backend = moto ("))
        .unwrap_or_else(|| panic!("backend banner missing: {stderr}"));
    for pid in moto_pids(banner) {
        assert!(
            !alive(pid),
            "moto {pid} still running after harness up exited"
        );
    }
}

/// The moto pids the backend banner names: `process PID, ...` for one moto process, `N processes
/// (pids A, B; ...), ...` for several (HARNESS_MOTO_SHARDS).
fn moto_pids(banner: &str) -> Vec<u32> {
    let numbers = |text: &str| -> Vec<u32> {
        text.split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().expect("a pid"))
            .collect()
    };
    let pids = if let Some(rest) = banner.strip_prefix("process ") {
        numbers(rest).into_iter().take(1).collect()
    } else {
        let (_, rest) = banner
            .split_once("(pids ")
            .unwrap_or_else(|| panic!("banner names no moto pid: {banner}"));
        numbers(rest.split(';').next().unwrap_or(""))
    };
    assert!(!pids.is_empty(), "banner names no moto pid: {banner}");
    pids
}
