//! moto in a container (`HARNESS_BACKEND=moto-container`), for real: start, readiness, port
//! mapping, labels, AWS calls through the fault proxy, removal on drop, removal at process exit
//! of the never-dropped shared emulator, and removal of the containers of a killed process.
//!
//! Needs a Docker engine and the moto image (`motoserver/moto:5.2.5`, or the locally built
//! `harness-moto:5.2.5` from `scripts/build-images.sh`; `HARNESS_MOTO_IMAGE` overrides).
//! Without them every test skips loudly, or fails with `HARNESS_REQUIRE_DOCKER=1`.
//!
//! Cases that need a process of their own re-run this test binary as a child
//! (`current_exe() <name> --exact`) with `HARNESS_CONTAINER_CHILD` set.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::emulator::container::{
    self, DockerApi, BACKEND_LABEL, MANAGED_LABEL, PID_LABEL, REMOVE_TIMEOUT,
};
use harness::emulator::moto_container::{self, MotoContainer};
use harness::emulator::{readiness, Backend, Emulator, EmulatorError};
use harness::env::{skip_or_fail, TestEnv};

const CHILD: &str = "HARNESS_CONTAINER_CHILD";

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Starts moto in a container, or `None` after a loud skip when it cannot run here.
async fn start_or_skip() -> Option<MotoContainer> {
    match MotoContainer::start().await {
        Ok(m) => Some(m),
        Err(e @ EmulatorError::Unavailable { .. }) => {
            skip_or_fail(e);
            None
        }
        Err(e) => panic!("moto container failed to start: {e}"),
    }
}

fn api() -> DockerApi {
    DockerApi::from_env().expect("DOCKER_HOST is unix:// or tcp://")
}

/// Managed containers whose `harness.pid` label is `pid`.
fn containers_of(pid: u32) -> Vec<String> {
    api()
        .managed_containers()
        .expect("list containers")
        .into_iter()
        .filter(|(_, labels)| {
            labels.get(PID_LABEL).map(String::as_str) == Some(pid.to_string().as_str())
        })
        .map(|(id, _)| id)
        .collect()
}

/// Waits (bounded) until no managed container carries `pid`.
fn wait_no_containers_of(pid: u32, within: Duration) -> Vec<String> {
    let started = Instant::now();
    loop {
        let left = containers_of(pid);
        if left.is_empty() || started.elapsed() > within {
            return left;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn starts_maps_port_answers_and_is_removed_on_drop() {
    let t0 = Instant::now();
    let Some(moto) = start_or_skip().await else {
        return;
    };
    let id = moto.container().id().to_string();
    eprintln!(
        "moto container {} ({}) ready in {:.2?} (start() returned after {:.2?})",
        moto.container().short_id(),
        moto.container().image(),
        moto.startup_time(),
        t0.elapsed()
    );

    // Port mapping: container port 5000 is published on an ephemeral loopback port.
    let endpoint = moto.endpoint().clone();
    assert_eq!(endpoint.url.host_str(), Some("127.0.0.1"));
    let port = endpoint.url.port().expect("mapped port");
    assert_eq!(port, moto.container().host_port());
    assert_ne!(
        port,
        moto_container::PORT,
        "must be a mapped ephemeral port"
    );
    assert_eq!(moto.backend(), Backend::MotoContainer);
    assert!(endpoint.serves_ecs);

    // Readiness means moto answers.
    let (status, body) = readiness::get_text_within(
        &format!("{}/moto-api/", endpoint.base_url()),
        std::time::Duration::from_secs(60),
    )
    .await
    .expect("moto answers on the mapped port");
    assert_eq!(status, 200, "{body}");

    // Labels on the container: managed, our pid, the backend.
    let list = api().managed_containers().unwrap();
    let labels = &list
        .iter()
        .find(|(i, _)| *i == id)
        .expect("our container is listed")
        .1;
    assert_eq!(labels.get(MANAGED_LABEL).map(String::as_str), Some("true"));
    assert_eq!(labels.get(PID_LABEL), Some(&std::process::id().to_string()));
    assert_eq!(
        labels.get(BACKEND_LABEL).map(String::as_str),
        Some("moto-container")
    );
    assert!(container::live_container_ids().contains(&id));

    // Logs are captured to a file.
    let log = moto.log_path().expect("log path").to_path_buf();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("Running on"),
        "moto's banner is in {}: {text}",
        log.display()
    );

    // Drop removes the container: without blocking the test's runtime thread, so in the
    // background, within the removal timeout.
    let dropped = Instant::now();
    drop(moto);
    assert!(
        dropped.elapsed() < Duration::from_secs(1),
        "drop blocked the runtime thread for {:?}",
        dropped.elapsed()
    );
    let left = wait_gone(&id, REMOVE_TIMEOUT).await;
    assert_eq!(left, None, "container {id} must be gone after drop");
    assert!(!container::live_container_ids().contains(&id));
}

/// `stop()` removes the container before it returns.
#[tokio::test]
async fn stop_removes_the_container_before_returning() {
    let Some(moto) = start_or_skip().await else {
        return;
    };
    let id = moto.container().id().to_string();
    assert_eq!(state(&id).as_deref(), Some("running"));
    moto.stop().await.expect("stop");
    assert_eq!(state(&id), None, "container {id} must be gone after stop");
    assert!(!container::live_container_ids().contains(&id));
}

/// Polls (bounded) until the container is removed; its last state (`None`: gone).
async fn wait_gone(id: &str, within: Duration) -> Option<String> {
    let started = Instant::now();
    loop {
        let now = state(id);
        if now.is_none() || started.elapsed() > within {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The container's state through the engine API: `None` once it is removed.
fn state(id: &str) -> Option<String> {
    api().container_state(id).expect("inspect container")
}

/// The container behind the fault proxy, with fresh accounts: IAM calls land in the right
/// account (the proxy adds moto's account header), and two accounts do not see each other.
#[tokio::test]
async fn serves_iam_through_the_proxy_per_account() {
    let Some(moto) = start_or_skip().await else {
        return;
    };
    let emulator: Arc<dyn Emulator> = Arc::new(moto);
    let a = TestEnv::on(emulator.clone(), &[])
        .await
        .expect("proxy in front of the container");
    let b = TestEnv::on(emulator.clone(), &[])
        .await
        .expect("second proxy");
    assert_ne!(a.account_id, b.account_id);

    let iam_a = aws_sdk_iam::Client::new(&a.sdk_config());
    let iam_b = aws_sdk_iam::Client::new(&b.sdk_config());
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let created = iam_a
        .create_role()
        .role_name("container-test-role")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("CreateRole");
    let arn = created.role().expect("role").arn().to_string();
    assert!(
        arn.starts_with(&format!("arn:aws:iam::{}:role/", a.account_id)),
        "{arn}"
    );

    let seen_by_b = iam_b
        .get_role()
        .role_name("container-test-role")
        .send()
        .await;
    let err = seen_by_b.expect_err("account B must not see account A's role");
    assert!(format!("{err:?}").contains("NoSuchEntity"), "{err:?}");

    // Managed policies are loaded (MOTO_IAM_LOAD_MANAGED_POLICIES=true in the container).
    let policy = iam_a
        .get_policy()
        .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
        .send()
        .await
        .expect("AWS managed policy exists");
    assert!(policy.policy().is_some());

    // The proxy journaled the calls with the account it routed them to.
    let journal = a.proxy.journal();
    assert!(
        journal
            .iter()
            .any(|e| e.operation.as_deref() == Some("CreateRole")
                && e.account.as_deref() == Some(a.account_id.as_str())),
        "{journal:?}"
    );
}

/// The shared emulator is a static that is never dropped: the exit hook removes its container
/// when the process ends. The child starts it through `emulator::shared()` with
/// `HARNESS_BACKEND=moto-container` (one container per moto shard); the parent checks nothing of
/// the child's is left.
#[tokio::test]
async fn shared_container_is_removed_when_the_process_exits() {
    if in_child() {
        let emulator = harness::emulator::shared()
            .await
            .expect("shared moto container");
        assert_eq!(emulator.backend(), Backend::MotoContainer);
        let shards = harness::emulator::moto_shards::shard_count().expect("HARNESS_MOTO_SHARDS");
        let mine = containers_of(std::process::id());
        assert_eq!(
            mine.len(),
            shards,
            "one container per moto shard of this process: {mine:?}"
        );
        for id in &mine {
            println!("CHILD-CONTAINER {id}");
        }
        return; // process exits with the static still holding its containers
    }
    // Parent: the same thing in-process, so this test asserts real behaviour either way.
    let Some(_probe) = start_or_skip().await else {
        return;
    };
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "shared_container_is_removed_when_the_process_exits",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("HARNESS_BACKEND", "moto-container")
        .output()
        .expect("run child");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed: {text}");
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("CHILD-CONTAINER ").nth(1))
        .map(str::trim)
        .collect();
    assert!(
        !ids.is_empty(),
        "child did not report its containers: {text}"
    );
    for id in ids {
        let left = state(id);
        assert_eq!(
            left, None,
            "container {id} of the exited child is still there ({left:?}): {text}"
        );
    }
}

/// A process killed by SIGKILL cannot run its exit hook: its container stays until the next
/// harness process sweeps containers whose owner pid is gone.
#[tokio::test]
async fn containers_of_a_killed_process_are_swept() {
    if in_child() {
        let moto = MotoContainer::start()
            .await
            .expect("moto container in child");
        println!("CHILD-CONTAINER {}", moto.container().id());
        // Wait to be killed. Should the parent die first, our stdin (its pipe) closes and the
        // read returns: the wait ends with the parent either way.
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink)
        })
        .await;
        panic!("child was not killed (its parent is gone)");
    }
    let Some(_probe) = start_or_skip().await else {
        return;
    };
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "containers_of_a_killed_process_are_swept",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let mut child = KillOnDrop(child);
    let child_pid = child.0.id();
    let stdout = child.0.stdout.take().unwrap();
    let mut id = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("CHILD-CONTAINER ").nth(1) {
            id = Some(rest.trim().to_string());
            break;
        }
    }
    let id = id.expect("child reported its container");
    child.0.kill().expect("SIGKILL the child");
    child.0.wait().unwrap();

    assert_eq!(
        state(&id).as_deref(),
        Some("running"),
        "the killed child's container outlives it until swept"
    );
    assert_eq!(containers_of(child_pid), vec![id.clone()]);
    let removed = container::remove_orphans(&api());
    assert!(
        removed.contains(&id),
        "sweep removed {removed:?}, expected {id}"
    );
    assert_eq!(state(&id), None);
    assert!(wait_no_containers_of(child_pid, Duration::from_secs(5)).is_empty());
}

/// Kills (SIGKILL) and reaps a child process when dropped, also when the test panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// No Docker engine: `Unavailable` (a loud skip for tests), naming the socket that was tried.
#[tokio::test]
async fn no_engine_is_unavailable_not_a_failure() {
    if in_child() {
        match MotoContainer::start().await {
            Err(EmulatorError::Unavailable { backend, reason }) => {
                println!("CHILD-UNAVAILABLE {backend}: {reason}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "no_engine_is_unavailable_not_a_failure",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("run child");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("CHILD-UNAVAILABLE moto-container: no Docker engine reachable at unix:///nonexistent/docker.sock"),
        "{text}"
    );
}

/// A missing image that cannot be pulled is `Unavailable` with the fix, not a hang.
#[tokio::test]
async fn missing_image_names_the_build_script() {
    if in_child() {
        let started = Instant::now();
        match MotoContainer::start().await {
            Err(EmulatorError::Unavailable { reason, .. }) => {
                println!("CHILD-UNAVAILABLE after {:?}: {reason}", started.elapsed());
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
        return;
    }
    if api().ping().is_err() {
        skip_or_fail("no Docker engine here");
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "missing_image_names_the_build_script",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(moto_container::IMAGE_ENV, "harness-no-such-image:0.0.0")
        .output()
        .expect("run child");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("image harness-no-such-image:0.0.0 is not on this machine"),
        "{text}"
    );
    assert!(text.contains("scripts/build-images.sh moto"), "{text}");
}
