//! The moto process backend: start/stop, readiness deadline, early exit, port-race retry.
//! These run the real `moto_server` the harness finds (HARNESS_MOTO_SERVER, PATH, or the
//! pinned bootstrap) and fake servers written as shell scripts.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::emulator::moto_process::{MotoCommand, MotoOptions, MotoProcess};
use harness::emulator::readiness;
use harness::emulator::{Backend, Emulator, EmulatorError};

/// True while `pid` is a live (non-zombie) process.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            state != Some("Z")
        }
    }
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Longer than any step of these tests takes on a busy machine: a bound that tells "returned"
/// from "hung", and, under a deadline twice as long, "seen at once" from "waited out".
const HANG_GUARD: Duration = Duration::from_secs(60);

fn options(command: MotoCommand, logs: &Path, timeout: Duration) -> MotoOptions {
    let mut options = MotoOptions::new(command);
    options.log_dir = logs.to_path_buf();
    options.ready_timeout = timeout;
    options
}

#[tokio::test]
async fn moto_starts_answers_and_is_gone_after_drop() {
    let options = MotoOptions::from_env().await.expect("locating moto");
    let started = Instant::now();
    let moto = MotoProcess::start(&options).await.expect("starting moto");
    eprintln!("moto ready in {:?}: {}", started.elapsed(), moto.describe());
    let pid = moto.pid();
    assert!(alive(pid), "moto pid {pid} should be running");
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        cmdline.contains("moto"),
        "pid {pid} is not moto: {cmdline:?}"
    );
    assert_eq!(moto.backend(), Backend::Moto);
    assert!(moto.log_path().unwrap().exists());

    let base = moto.endpoint().base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let (status, body) = readiness::get_text_within(
        &format!("{base}/moto-api/config"),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!((200..300).contains(&status), "{status}");
    assert!(
        body.starts_with('{'),
        "moto-api/config should be JSON: {body:.80}"
    );

    drop(moto);
    assert!(!alive(pid), "moto pid {pid} still running after drop");
    assert!(
        readiness::probe(&format!("{base}/moto-api/"), Duration::from_millis(500))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn readiness_deadline_fails_in_time_and_names_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let fake = script(
        dir.path(),
        "never_listens",
        &format!(
            "echo \"fake moto pid $$\"\necho $$ > {}\nexec sleep 600",
            pidfile.display()
        ),
    );
    let logs = dir.path().join("logs");
    let options = options(MotoCommand::server(&fake), &logs, Duration::from_secs(1));
    let started = Instant::now();
    let err = MotoProcess::start(&options)
        .await
        .expect_err("a server that never listens must not be ready");
    // Not before the deadline; after it, only a hang guard: how much later the failure comes
    // back depends on how busy the machine is.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < HANG_GUARD,
        "took {took:?}"
    );
    let EmulatorError::NotReady { log, .. } = &err else {
        panic!("expected NotReady, got {err}");
    };
    let text = err.to_string();
    assert!(
        text.contains(&log.display().to_string()),
        "error does not name the log: {text}"
    );
    assert!(text.contains("HARNESS_READY_TIMEOUT"), "{text}");
    let output = std::fs::read_to_string(log).unwrap();
    assert!(
        output.contains("fake moto pid"),
        "log should hold the server's output: {output:?}"
    );
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !alive(pid),
        "the fake server {pid} must be killed after the deadline"
    );
}

#[tokio::test]
async fn exit_before_ready_is_reported_with_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "crashes",
        "echo 'ImportError: no module named werkzeug' >&2\nexit 3",
    );
    // A deadline far beyond the hang guard: failing before the guard shows the exit was seen,
    // not waited out, however busy the machine is.
    let options = options(
        MotoCommand::server(&fake),
        &dir.path().join("logs"),
        HANG_GUARD * 2,
    );
    let started = Instant::now();
    let err = MotoProcess::start(&options).await.expect_err("must fail");
    assert!(
        started.elapsed() < HANG_GUARD,
        "an exited server is detected at once, not at the readiness deadline"
    );
    let text = err.to_string();
    assert!(matches!(err, EmulatorError::Start { .. }), "{text}");
    assert!(
        text.contains("ImportError: no module named werkzeug"),
        "{text}"
    );
    assert!(text.contains("(log: "), "{text}");
}

#[tokio::test]
async fn lost_port_race_is_retried_on_a_new_port() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("attempts");
    // First run: behave like moto losing the port. Second run: a real HTTP server on -H/-p.
    let fake = script(
        dir.path(),
        "racy",
        &format!(
            "echo x >> {c}\nif [ $(wc -l < {c}) -eq 1 ]; then echo 'OSError: [Errno 98] Address already in use' >&2; exit 1; fi\nexec python3 -m http.server --bind \"$2\" \"$4\"",
            c = counter.display()
        ),
    );
    let options = options(
        MotoCommand::server(&fake),
        &dir.path().join("logs"),
        Duration::from_secs(20),
    );
    let server = MotoProcess::start(&options)
        .await
        .expect("second attempt should succeed");
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap().lines().count(),
        2
    );
    assert!(readiness::probe(
        &format!("{}/", server.endpoint().base_url()),
        Duration::from_secs(2)
    )
    .await
    .is_ok());
}

#[test]
fn backend_names_round_trip() {
    for backend in Backend::ALL {
        assert_eq!(backend.name().parse::<Backend>().unwrap(), backend);
    }
    assert_eq!(
        "Moto-Container".parse::<Backend>().unwrap(),
        Backend::MotoContainer
    );
    let err = "docker".parse::<Backend>().unwrap_err().to_string();
    assert!(
        err.contains("HARNESS_BACKEND") && err.contains("moto-container"),
        "{err}"
    );
    assert!(Backend::LocalStack.needs_docker() && !Backend::Moto.needs_docker());
    assert_eq!(
        "localstack+moto".parse::<Backend>().unwrap(),
        Backend::LocalStackMoto
    );
    assert!(Backend::LocalStackMoto.needs_docker());
    assert!(err.contains("localstack+moto"), "{err}");
}
