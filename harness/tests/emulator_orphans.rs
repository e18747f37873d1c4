//! No moto process outlives its test process: not after a panicking test (unwinding drops the
//! handle), not after an abort (no unwinding: the kernel's parent-death signal), not for the
//! process-wide `shared()` emulator that is never dropped.
//!
//! Each test re-runs itself in a child test process (`current_exe() --exact <name>`) with
//! `HARNESS_ORPHAN_CHILD` set; the child starts moto, writes its pid to a file and dies in the
//! way under test; the parent then checks that pid is gone.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use harness::emulator::moto_process::{MotoOptions, MotoProcess};

const CHILD: &str = "HARNESS_ORPHAN_CHILD";
const PIDFILE: &str = "HARNESS_ORPHAN_PIDFILE";

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

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn write_pid(pid: u32) {
    let file = std::env::var(PIDFILE).expect("pid file");
    std::fs::write(file, pid.to_string()).unwrap();
}

/// Runs test `name` of this binary in a child process and returns its output and moto's pid.
fn run_child(name: &str, pidfile: &Path) -> (Output, u32) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env(PIDFILE, pidfile)
        .env("HARNESS_BACKEND", "moto")
        .output()
        .unwrap();
    let pid = std::fs::read_to_string(pidfile)
        .unwrap_or_else(|_| {
            panic!(
                "child wrote no pid; output: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
        .trim()
        .parse()
        .unwrap();
    (output, pid)
}

fn assert_gone_soon(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "moto pid {pid} is still running after its test process died"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn start_moto() -> MotoProcess {
    let options = MotoOptions::from_env().await.expect("locating moto");
    MotoProcess::start(&options).await.expect("starting moto")
}

#[tokio::test]
async fn no_moto_left_after_a_panicking_test() {
    if in_child() {
        let moto = start_moto().await;
        write_pid(moto.pid());
        panic!("deliberate panic while holding moto");
    }
    let dir = tempfile::tempdir().unwrap();
    let (output, pid) = run_child(
        "no_moto_left_after_a_panicking_test",
        &dir.path().join("pid"),
    );
    assert!(!output.status.success(), "the child test must fail");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("deliberate panic while holding moto"),
        "{text}"
    );
    assert!(!alive(pid), "moto pid {pid} survived the panicking test");
}

#[tokio::test]
async fn no_moto_left_after_the_test_process_aborts() {
    if in_child() {
        let moto = start_moto().await;
        write_pid(moto.pid());
        std::process::abort(); // no unwinding, no Drop: only PR_SET_PDEATHSIG can clean up
    }
    let dir = tempfile::tempdir().unwrap();
    let (output, pid) = run_child(
        "no_moto_left_after_the_test_process_aborts",
        &dir.path().join("pid"),
    );
    assert!(!output.status.success(), "the child must die by abort");
    assert_gone_soon(pid);
}

#[tokio::test]
async fn no_moto_left_by_the_shared_emulator_at_exit() {
    if in_child() {
        let emulator = harness::emulator::shared().await.expect("shared emulator");
        write_pid(emulator.pid().expect("moto process backend has a pid"));
        // Returning normally: the shared emulator lives in a static and is never dropped.
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (output, pid) = run_child(
        "no_moto_left_by_the_shared_emulator_at_exit",
        &dir.path().join("pid"),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("harness: backend = moto").count(),
        1,
        "backend printed once: {stderr}"
    );
    assert_gone_soon(pid);
}
