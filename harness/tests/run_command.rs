//! `harness run -- CMD` as a user runs it (moto process backend), checked with plain commands
//! (sh, python3; no AWS client needed): a fresh 12-digit account per run, the user's AWS
//! settings neutralised, stdout left to the command, the command's exit code (127/126 for a
//! command that cannot run), calls to the endpoint in the report and the journal file, and a
//! SIGINT that stops the command, the proxy and moto, leaving no process behind.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const HARNESS: &str = env!("CARGO_BIN_EXE_harness");

/// `harness run ARGS` with the user's AWS settings of a typical workstation set in its
/// environment (all of which the command must not see).
fn harness_run(args: &[&str]) -> Output {
    Command::new(HARNESS)
        .env("HARNESS_ATTACH", "off") // not a `harness up` the developer runs
        .arg("run")
        .args(args)
        .env("HARNESS_BACKEND", "moto")
        .env_remove("TF_AWS_ASSUME_NO_PROPAGATION_DELAY")
        .env("AWS_PROFILE", "my-real-profile")
        .env("AWS_SESSION_TOKEN", "real-session-token")
        .env("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
        .env("AWS_SECRET_ACCESS_KEY", "real-secret")
        .env("AWS_CONFIG_FILE", "/home/someone/.aws/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/home/someone/.aws/credentials",
        )
        .env("AWS_ENDPOINT_URL_S3", "https://s3.amazonaws.com")
        .stdin(Stdio::null())
        .output()
        .expect("run harness")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `KEY=VALUE` lines the probe script printed.
fn vars(stdout: &str) -> std::collections::HashMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const PROBE: &str = r#"echo "KEY=$AWS_ACCESS_KEY_ID"
echo "HARNESS_ACCOUNT_ID=$HARNESS_ACCOUNT_ID"
echo "SECRET=$AWS_SECRET_ACCESS_KEY"
echo "ENDPOINT=$AWS_ENDPOINT_URL"
echo "REGION=$AWS_REGION/$AWS_DEFAULT_REGION"
echo "PROFILE=${AWS_PROFILE-unset}"
echo "TOKEN=${AWS_SESSION_TOKEN-unset}"
echo "S3=${AWS_ENDPOINT_URL_S3-unset}"
echo "IMDS=$AWS_EC2_METADATA_DISABLED"
echo "CONFIG=$AWS_CONFIG_FILE"
echo "CONFIG_BYTES=$(wc -c < "$AWS_CONFIG_FILE")"
echo "CREDENTIALS_BYTES=$(wc -c < "$AWS_SHARED_CREDENTIALS_FILE")"
"#;

#[test]
fn each_run_gets_a_fresh_account_and_none_of_the_users_aws_settings() {
    let mut accounts = HashSet::new();
    for _ in 0..2 {
        let out = harness_run(&["--", "sh", "-c", PROBE]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        // stdout is the command's alone: every line is one the probe printed.
        assert_eq!(stdout.lines().count(), 12, "stdout polluted:\n{stdout}");
        let v = vars(&stdout);
        let account = &v["KEY"];
        assert!(harness::accounts::is_account_id(account), "{account}");
        assert_eq!(&v["HARNESS_ACCOUNT_ID"], account);
        assert_eq!(v["SECRET"], "test");
        assert!(
            v["ENDPOINT"].starts_with("http://127.0.0.1:"),
            "{}",
            v["ENDPOINT"]
        );
        assert_eq!(v["REGION"], "ap-northeast-1/ap-northeast-1");
        assert_eq!(v["PROFILE"], "unset");
        assert_eq!(v["TOKEN"], "unset");
        assert_eq!(v["S3"], "unset");
        assert_eq!(v["IMDS"], "true");
        assert!(v["CONFIG"].contains("/harness/runs/"), "{}", v["CONFIG"]);
        assert_eq!(v["CONFIG_BYTES"].trim(), "0");
        assert_eq!(v["CREDENTIALS_BYTES"].trim(), "0");
        // The report names the account and the journal; secrets never appear.
        assert!(
            stderr.contains("'sh' exited 0 after")
                && stderr.contains(&format!("in account {account}")),
            "{stderr}"
        );
        assert!(stderr.contains("harness: journal: "), "{stderr}");
        // The last line runs it again: every input of the draws, the seed even though none was
        // given, and the program without its arguments (they may hold secrets).
        let last = stderr.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            "harness: reproduce: harness run --profile default --seed 0 --time-scale 1 -- sh ...",
            "{stderr}"
        );
        for secret in ["real-secret", "real-session-token", "AKIAREALKEY"] {
            assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
        }
        accounts.insert(account.clone());
    }
    assert_eq!(accounts.len(), 2, "two runs, one account: {accounts:?}");
}

#[test]
fn exit_codes_are_the_commands_or_the_shells() {
    let out = harness_run(&["--", "false"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("'false' exited 1"),
        "{}",
        text(&out.stderr)
    );

    // Not found / not executable: decided before any emulator starts.
    let started = Instant::now();
    let out = harness_run(&["--", "no-such-cmd", "--flag"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        text(&out.stderr),
        "error: cannot run 'no-such-cmd': not found on PATH\n"
    );
    assert!(out.stdout.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("deploy.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let out = harness_run(&["--", script.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("permission denied (not executable; chmod +x it)"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an unrunnable command must not start the emulator ({:?})",
        started.elapsed()
    );

    // Death by signal: 128 + the signal, as a shell reports it.
    let out = harness_run(&["--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("was killed by SIGTERM (exit 143)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_set_no_propagation_delay_switch_gets_one_warning_line() {
    let warning = format!("harness: {}\n", harness::run::NO_PROPAGATION_DELAY_WARNING);
    let out = Command::new(HARNESS)
        .env("HARNESS_ATTACH", "off")
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "echo \"seen=$TF_AWS_ASSUME_NO_PROPAGATION_DELAY\"",
        ])
        .env("HARNESS_BACKEND", "moto")
        .env(harness::run::NO_PROPAGATION_DELAY, "true")
        .stdin(Stdio::null())
        .output()
        .expect("run harness");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");
    // Passed on: the user may mean it.
    assert_eq!(text(&out.stdout), "seen=true\n");

    let out = harness_run(&["--", "true"]);
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("TF_AWS_ASSUME_NO_PROPAGATION_DELAY"),
        "{stderr}"
    );
}

#[test]
fn settings_come_from_the_environment_and_empty_ones_count_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.json");
    let out = Command::new(HARNESS)
        .env("HARNESS_ATTACH", "off")
        .arg("run")
        .arg("--journal")
        .arg(&journal)
        .args(["--", "true"])
        .env("HARNESS_BACKEND", "moto")
        .env("HARNESS_PRESETS", "throttle=100,latency=1")
        .env("HARNESS_PROFILE", "fresh-account")
        .env("HARNESS_SEED", "")
        .env("HARNESS_TIME_SCALE", "")
        .stdin(Stdio::null())
        .output()
        .expect("run harness");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
    let presets: Vec<&str> = doc["presets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        presets.contains(&"throttle=100") && presets.contains(&"latency=1"),
        "{presets:?}"
    );
    assert_eq!(doc["profile"], "fresh-account");
    assert_eq!(doc["time_scale"], 1.0);
}

/// Calls the endpoint with Python's standard library: ECS CreateCluster (the proxy's model
/// creates the service-linked role), CreateService at once (the role is not usable yet under
/// `slr-delay`), IAM CreateServiceLinkedRole (answered by the model: the name is taken).
const CALLS: &str = r#"
import os, urllib.request, urllib.error
ep, key, region = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_REGION"]
def call(service, target, body, form=False):
    h = {"Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"}
    if form:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        h["Content-Type"] = "application/x-amz-json-1.1"
        h["X-Amz-Target"] = target
    try:
        with urllib.request.urlopen(urllib.request.Request(ep + "/", data=body.encode(), headers=h)) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
ecs = "AmazonEC2ContainerServiceV20141113."
print("CreateCluster", call("ecs", ecs + "CreateCluster", '{"clusterName":"demo"}'))
print("CreateService", call("ecs", ecs + "CreateService", '{"cluster":"demo","serviceName":"web","desiredCount":0}'))
print("CreateServiceLinkedRole", call("iam", "", "Action=CreateServiceLinkedRole&Version=2010-05-08&AWSServiceName=ecs.amazonaws.com", form=True))
"#;

#[test]
fn calls_to_the_endpoint_show_up_in_the_report_and_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.json");
    let out = harness_run(&[
        "--account",
        "111122223333",
        "--preset",
        "slr-delay=60s",
        "--journal",
        journal.to_str().unwrap(),
        "--",
        "python3",
        "-c",
        CALLS,
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout, "CreateCluster 200\nCreateService 400\nCreateServiceLinkedRole 400\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("harness: requests: 3 (ecs 2, iam 1)"),
        "{stderr}"
    );
    let row = |op: &str, answer: &str, rule: &str| {
        stderr.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words == ["harness:", op, answer, "1", "400", rule]
        })
    };
    assert!(
        row(
            "ecs:CreateService",
            "InvalidParameterException",
            "model:slr-delay"
        ),
        "{stderr}"
    );
    assert!(
        row(
            "iam:CreateServiceLinkedRole",
            "InvalidInput",
            "model:service-linked-role"
        ) || stderr
            .lines()
            .any(|l| l.contains("iam:CreateServiceLinkedRole")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("harness: journal: {}", journal.display())),
        "{stderr}"
    );

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
    assert_eq!(doc["program"], "python3");
    assert_eq!(doc["account"], "111122223333");
    assert_eq!(doc["exit_code"], 0);
    let entries = doc["entries"].as_array().unwrap();
    let ops: Vec<&str> = entries
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["CreateCluster", "CreateService", "CreateServiceLinkedRole"]
    );
    assert_eq!(entries[1]["fault"]["code"], "InvalidParameterException");
    assert!(entries.iter().all(|e| e["account"] == "111122223333"));
    let raw = std::fs::read_to_string(&journal).unwrap();
    for secret in ["Signature", "AWS4-HMAC-SHA256", "real-secret", "\"test\""] {
        assert!(!raw.contains(secret), "{secret} in the journal:\n{raw}");
    }
}

/// Every live descendant of `root` (from /proc), as (pid, command name).
fn descendants(root: u32) -> Vec<(u32, String)> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if rest.first() == Some(&"Z") {
            continue;
        }
        let ppid: u32 = rest.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        parent_of.push((pid, ppid, name));
    }
    let mut found = vec![];
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid, name) in &parent_of {
            if *ppid == p {
                found.push((*pid, name.clone()));
                frontier.push(*pid);
            }
        }
    }
    found
}

/// Kills a `harness run` and everything under it if the test fails midway (a stopped or
/// sleeping command must not outlive a failed test); nothing when it already exited.
struct KillTreeOnDrop(u32);

impl Drop for KillTreeOnDrop {
    fn drop(&mut self) {
        if !alive(self.0) {
            return;
        }
        for (pid, _) in descendants(self.0) {
            // SAFETY: processes this test started (under its own child).
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        // SAFETY: our own child.
        unsafe {
            libc::kill(self.0 as libc::pid_t, libc::SIGKILL);
        }
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            != Some("Z")
    })
}

#[test]
fn sigint_stops_the_command_the_proxy_and_moto() {
    let mut child = Command::new(HARNESS)
        .env("HARNESS_ATTACH", "off")
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "echo started; sleep 300; echo never",
        ])
        .env("HARNESS_BACKEND", "moto")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let harness_pid = child.id();
    let _guard = KillTreeOnDrop(harness_pid);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "started\n");
    // The process tree while the command sleeps: moto, sh and its sleep.
    let started = Instant::now();
    let tree = loop {
        let tree = descendants(harness_pid);
        if tree.iter().any(|(_, n)| n == "sleep") {
            break tree;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no sleep under harness: {tree:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(tree.len() >= 3, "moto, sh, sleep expected: {tree:?}");

    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(harness_pid as libc::pid_t, libc::SIGINT);
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "harness run ignored SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_eq!(rest, "", "the command went on after SIGINT");
    assert!(
        stderr.contains("'sh' was killed by SIGINT (exit 130)"),
        "{stderr}"
    );
    let survivors: Vec<_> = tree.iter().filter(|(pid, _)| alive(*pid)).collect();
    assert!(survivors.is_empty(), "left behind: {survivors:?}\n{stderr}");
}

/// Opens a pseudo-terminal: (master, slave).
fn open_pty() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and ours.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    }
}

/// As a user in a terminal: CMD reads its prompt's answer from the terminal, a Ctrl-Z does not
/// stop it, and a Ctrl-C typed there reaches CMD once (its trap runs once), not the harness,
/// which reports CMD's exit code.
#[test]
fn in_a_terminal_the_command_reads_it_and_gets_ctrl_c_once() {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let (master, slave) = open_pty();
    let mut command = Command::new(HARNESS);
    command.env("HARNESS_ATTACH", "off");
    command
        .args(["run", "--", "sh", "-c"])
        .arg(
            "printf 'Enter a value: '; read x; echo got:$x; \
             trap 'echo trapped-int; exit 7' INT; echo waiting; sleep 100 & wait",
        )
        .env("HARNESS_BACKEND", "moto")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and ioctl are async-signal-safe: the harness leads a session whose
    // controlling terminal is the pty, as under a terminal emulator.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let _guard = KillTreeOnDrop(child.id());
    drop(command); // closes our copies of the slave side
    let mut writer = std::fs::File::from(master.try_clone().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let mut reader = std::fs::File::from(master);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |what: &str, timeout: Duration| {
        let deadline = Instant::now() + timeout;
        while !seen.contains(what) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => panic!("{what:?} not seen on the terminal:\n{seen}"),
            }
        }
        seen.clone()
    };
    wait_for("Enter a value: ", Duration::from_secs(60));
    // Ctrl-Z, typed: ignored (a stopped command would hang the terminal), the prompt still reads.
    writer.write_all(&[0x1a]).unwrap();
    writer.write_all(b"yes\n").unwrap();
    wait_for("waiting", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    writer.write_all(&[0x03]).unwrap(); // Ctrl-C, typed
    let text = wait_for("harness: journal: ", Duration::from_secs(20));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7), "{text}");
    assert!(text.contains("got:yes"), "{text}");
    assert_eq!(text.matches("trapped-int").count(), 1, "{text}");
    assert!(text.contains("'sh' exited 7"), "{text}");
}

/// A SIGINT while the emulator is still starting: nothing is run, nothing is left behind.
#[test]
fn sigint_during_the_start_runs_nothing_and_leaves_nothing() {
    let child = Command::new(HARNESS)
        .env("HARNESS_ATTACH", "off")
        .args(["run", "--", "sh", "-c", "echo ran"])
        .env("HARNESS_BACKEND", "moto")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let harness_pid = child.id();
    let _guard = KillTreeOnDrop(harness_pid);
    // Once the harness has a child of its own (moto, or its version probe), it is starting.
    let started = Instant::now();
    let tree = loop {
        let tree = descendants(harness_pid);
        if !tree.is_empty() {
            break tree;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "harness run started no emulator"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(harness_pid as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(stdout, "", "the command ran after all");
    assert!(
        stderr.contains("harness: SIGINT while starting the emulator; nothing was run"),
        "{stderr}"
    );
    let survivors: Vec<_> = tree.iter().filter(|(pid, _)| alive(*pid)).collect();
    assert!(survivors.is_empty(), "left behind: {survivors:?}\n{stderr}");
}
