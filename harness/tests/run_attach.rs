//! `harness run` attached to a running `harness up` (run/attach.rs, up_state.rs): `up` writes
//! its state file; two runs started at once each lease an account of their own from it (nothing
//! else is started), with other presets, and while both leases are held each sees only its own
//! presets' faults; each journal holds only its own account's calls. `harness status` shows the
//! `up` and its leases, `harness down` stops it and removes the file; a stale file (its process
//! gone) is removed and reported as nothing running.
//!
//! The `up` registers in a state file of this test's own (`HARNESS_UP_STATE`), so no other test's
//! `harness run` attaches to it, and the runs here attach to it only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const HARNESS: &str = env!("CARGO_BIN_EXE_harness");

/// Writes its account to argv[1], waits for argv[2] (the other run), makes three ECS
/// ListClusters calls (printing each HTTP status), then waits at a second barrier, so both runs
/// make every call while both leases are held. Python's standard library only.
const CLIENT: &str = r#"
import os, sys, time, urllib.request, urllib.error
def barrier(mine, theirs):
    open(mine, "w").write(os.environ["HARNESS_ACCOUNT_ID"])
    deadline = time.time() + 120
    while not os.path.exists(theirs):
        if time.time() > deadline:
            sys.exit("the other run never reached " + theirs)
        time.sleep(0.02)
def call():
    auth = "AWS4-HMAC-SHA256 Credential=%s/20260101/%s/ecs/aws4_request, SignedHeaders=host, Signature=0" % (
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_REGION"])
    req = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/", data=b"{}", method="POST", headers={
        "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListClusters",
        "content-type": "application/x-amz-json-1.1", "authorization": auth})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
me, other, d = sys.argv[1], sys.argv[2], sys.argv[3]
barrier(f"{d}/{me}-in", f"{d}/{other}-in")
for _ in range(3):
    print("status", call(), flush=True)
barrier(f"{d}/{me}-done", f"{d}/{other}-done")
"#;

fn harness(state: &Path) -> Command {
    let mut cmd = Command::new(HARNESS);
    cmd.env("HARNESS_UP_STATE", state)
        .env_remove("HARNESS_ATTACH")
        .env_remove("HARNESS_BACKEND")
        .env_remove("HARNESS_PRESETS")
        .env_remove("HARNESS_PROFILE")
        .env_remove("HARNESS_SEED");
    cmd
}

/// Starts `harness up` on a free port; returns it once its state file names it (the caller
/// waits for it; it is killed and waited for here when it never gets there).
#[allow(clippy::zombie_processes)]
fn start_up(state: &Path) -> (Child, Value) {
    let mut up = harness(state)
        .args(["up", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn harness up");
    // Its first stdout line comes once it serves; the state file is written right after.
    let mut stdout = BufReader::new(up.stdout.take().unwrap());
    let mut first = String::new();
    let _ = stdout.read_line(&mut first);
    if !first.starts_with("AWS_ENDPOINT_URL=") {
        let _ = up.kill();
        let _ = up.wait();
        panic!("harness up's first line: {first:?}");
    }
    // The rest of its lines are read, so its writes never meet a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(state) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                return (up, v);
            }
        }
        if Instant::now() > deadline {
            let _ = up.kill();
            let _ = up.wait();
            panic!("no state file at {state:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_run(state: &Path, dir: &Path, flags: &[&str], me: &str, other: &str) -> Child {
    harness(state)
        .arg("run")
        .args(flags)
        .arg("--journal")
        .arg(dir.join(format!("{me}.json")))
        .args(["--", "python3", "-c", CLIENT, me, other])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn harness run")
}

fn finish(child: Child) -> (Output, String, String) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (out, stdout, stderr)
}

fn journal(path: PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

#[test]
fn runs_attach_to_up_each_in_its_own_account_with_its_own_presets() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("up.json");
    let (mut up, registered) = start_up(&state);
    let url = registered["url"].as_str().unwrap().to_string();
    assert_eq!(registered["pid"].as_u64(), Some(up.id() as u64));

    let status = harness(&state).arg("status").output().unwrap();
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{said}");
    assert!(
        said.contains(&format!("harness up at {url}: pid {}", up.id()))
            && said.contains("accounts leased: 0 now, 0 since it started"),
        "{said}"
    );

    let throttled = spawn_run(&state, dir.path(), &["--preset", "throttle=100"], "a", "b");
    let fresh = spawn_run(
        &state,
        dir.path(),
        &["--profile", "fresh-account", "--seed", "5"],
        "b",
        "a",
    );
    let (_, a_out, a_err) = finish(throttled);
    let (_, b_out, b_err) = finish(fresh);
    for err in [&a_err, &b_err] {
        assert!(
            err.contains(&format!("attached to the harness up at {url}")),
            "{err}"
        );
        assert!(!err.contains("starting an emulator"), "{err}");
    }
    assert_eq!(a_out.matches("status 400").count(), 3, "{a_out}\n{a_err}");
    assert_eq!(b_out.matches("status 200").count(), 3, "{b_out}\n{b_err}");
    assert!(a_err.contains("preset:throttle"), "{a_err}");
    assert!(!b_err.contains("throttle"), "{b_err}");

    let (a, b) = (
        journal(dir.path().join("a.json")),
        journal(dir.path().join("b.json")),
    );
    let account = |j: &Value| j["account"].as_str().unwrap().to_string();
    assert_ne!(account(&a), account(&b));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a-in")).unwrap(),
        account(&a)
    );
    assert_eq!(b["profile"], "fresh-account");
    assert_eq!(b["seed"], 5);
    assert_eq!(a["endpoint_url"].as_str(), Some(url.as_str()));
    for (j, fault) in [(&a, Some("preset:throttle")), (&b, None)] {
        let entries = j["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3, "{j}");
        for e in entries {
            assert_eq!(e["account"], j["account"], "another account's call: {e}");
            assert_eq!(e["fault"]["rule"].as_str(), fault, "{e}");
        }
    }

    let status = harness(&state).arg("status").output().unwrap();
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(
        said.contains("accounts leased: 0 now, 2 since it started"),
        "{said}"
    );

    let down = harness(&state).arg("down").output().unwrap();
    let said = String::from_utf8_lossy(&down.stdout);
    assert!(down.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "stopped the harness up at {url} (pid {})",
            up.id()
        )),
        "{said}"
    );
    assert!(up.wait().unwrap().success());
    assert!(!state.exists(), "the state file outlived its up");

    let again = harness(&state).arg("down").output().unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "error: no harness up is running (no state file at {}); `harness up` starts one",
            state.display()
        )
    );
}

#[test]
fn a_stale_state_file_is_removed_and_means_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("up.json");
    // A pid above the kernel's pid_max: the `up` that wrote it is gone.
    let stale = serde_json::json!({
        "url": "http://127.0.0.1:9", "pid": 4194305, "start_ticks": 1,
        "backend": "moto", "started_unix_ms": 1
    });
    std::fs::write(&state, stale.to_string()).unwrap();
    let out = harness(&state).arg("status").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("(pid 4194305) is gone (its state file is removed)"),
        "{err}"
    );
    assert!(!state.exists());
}

/// `harness status`'s leases count, read from its first line.
fn leased_now(state: &Path) -> String {
    let out = harness(state).arg("status").output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    said.split("accounts leased: ")
        .nth(1)
        .and_then(|rest| rest.split(" now").next())
        .unwrap_or_else(|| panic!("no lease count in {said:?}"))
        .to_string()
}

#[test]
fn the_lease_of_a_killed_run_is_ended_by_up() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("up.json");
    let (mut up, _) = start_up(&state);
    let pid_file = dir.path().join("cmd.pid");
    let mut run = harness(&state)
        .args(["run", "--", "sh", "-c", "echo $$ > \"$0\"; exec sleep 600"])
        .arg(&pid_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pid_file.exists()
        || std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .is_empty()
    {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(leased_now(&state), "1");
    // SIGKILL: the run cannot end its lease; then its command, which has a group of its own.
    run.kill().unwrap();
    run.wait().unwrap();
    let cmd: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: the pid of the `sleep` this test started (it runs until killed).
    unsafe { libc::kill(cmd, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(60);
    while leased_now(&state) != "0" {
        assert!(
            Instant::now() < deadline,
            "the killed run's lease was never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let down = harness(&state).arg("down").output().unwrap();
    assert!(down.status.success(), "{down:?}");
    assert!(up.wait().unwrap().success());
}
