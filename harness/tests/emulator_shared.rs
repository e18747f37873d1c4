//! One moto per test run: test processes of a run attach to one moto server (the first starts
//! it through its keeper), the last one out stops it, and a state file naming a dead keeper or
//! a server that does not answer is replaced instead of trusted.
//!
//! The multi-process test re-runs this binary as child processes (`current_exe() --exact
//! <name>`) with `SHARED_CHILD` set, all naming one scope directory through
//! `HARNESS_SHARED_EMULATOR_DIR`; each child attaches through `emulator::shared()`, prints what
//! it got and waits for its release file. Deadlines are wide (a loaded 2-core machine); nothing
//! here measures time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::emulator::readiness;
use harness::emulator::sharing::keeper::wait_gone;
use harness::emulator::sharing::procs::ProcId;
use harness::emulator::sharing::{attach_or_start, Scope, ServerState, SCOPE_DIR_ENV};

const CHILD: &str = "SHARED_CHILD";
const DEADLINE: Duration = Duration::from_secs(120);

/// What a child printed about the emulator it got.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    url: String,
    moto: u32,
    keeper: u32,
    started: bool,
}

fn parse_seen(line: &str) -> Option<Seen> {
    // libtest's `test child_process_entry ... ` may precede it on the same line.
    let (_, rest) = line.split_once("SHARED ")?;
    let mut fields = rest.split(' ');
    Some(Seen {
        url: fields.next()?.to_string(),
        moto: fields.next()?.parse().ok()?,
        keeper: fields.next()?.parse().ok()?,
        started: fields.next()? == "started",
    })
}

/// The child's side: attach, report, hold the lease until released (or the deadline).
async fn child_main() {
    let scope_dir = std::env::var(SCOPE_DIR_ENV).expect("scope dir");
    let name = std::env::var(CHILD).expect("child name");
    let emulator = harness::emulator::shared().await.expect("shared emulator");
    let scope = Scope::at(&scope_dir);
    let state = ServerState::read(&scope).expect("a state file while attached");
    println!(
        "SHARED {} {} {} {}",
        emulator.endpoint().base_url(),
        emulator.pid().expect("moto pid"),
        state.keeper.pid,
        if emulator.describe().contains("started by this process") {
            "started"
        } else {
            "attached"
        }
    );
    let release = Path::new(&scope_dir).join(format!("release-{name}"));
    let started = Instant::now();
    while !release.exists() && started.elapsed() < DEADLINE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts child `name` and returns it with what it reported.
fn spawn_child(name: &str, scope: &Path) -> (Child, Seen) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process_entry",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, name)
        .env(SCOPE_DIR_ENV, scope)
        .env("HARNESS_BACKEND", "moto")
        .env_remove("HARNESS_SHARED_EMULATOR")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(seen) = parse_seen(&line) {
                let _ = tx.send(seen);
            }
        }
    });
    let seen = rx
        .recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("child {name} reported no emulator within {DEADLINE:?}"));
    (child, seen)
}

fn release_and_wait(name: &str, scope: &Path, mut child: Child) {
    std::fs::write(scope.join(format!("release-{name}")), b"").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "child {name} failed: {status}");
}

async fn answers(url: &str) -> bool {
    readiness::probe(&format!("{url}/moto-api/"), Duration::from_secs(2))
        .await
        .is_ok()
}

async fn gone(pid: u32) -> bool {
    match ProcId::of(pid) {
        None => true,
        Some(p) => wait_gone(p, Duration::from_secs(30)).await,
    }
}

/// Entry point of the child processes (does nothing when run as a normal test).
#[tokio::test]
async fn child_process_entry() {
    if std::env::var_os(CHILD).is_some() {
        child_main().await;
    }
}

#[tokio::test]
async fn two_processes_attach_to_one_server_and_the_last_one_out_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let scope = dir.path();
    let (a, seen_a) = spawn_child("a", scope);
    let (b, seen_b) = spawn_child("b", scope);
    assert!(
        seen_a.started,
        "the first process starts the server: {seen_a:?}"
    );
    assert!(!seen_b.started, "the second attaches: {seen_b:?}");
    assert_eq!(
        (&seen_a.url, seen_a.moto, seen_a.keeper),
        (&seen_b.url, seen_b.moto, seen_b.keeper)
    );

    // The starter leaves first: the server stays for the other.
    release_and_wait("a", scope, a);
    assert!(
        answers(&seen_a.url).await,
        "moto stopped while b still holds a lease"
    );
    assert!(
        ProcId::of(seen_a.keeper).is_some(),
        "the keeper left with its starter"
    );

    // The last one out: the keeper stops moto, removes the state file and exits.
    release_and_wait("b", scope, b);
    assert!(
        gone(seen_a.moto).await,
        "moto {} outlived the last process",
        seen_a.moto
    );
    assert!(
        gone(seen_a.keeper).await,
        "keeper {} outlived the last process",
        seen_a.keeper
    );
    assert!(
        ServerState::read(&Scope::at(scope)).is_none(),
        "state file left behind"
    );
}

#[tokio::test]
async fn a_state_file_naming_a_dead_keeper_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::at(dir.path());
    // A keeper that is gone: a reaped child of ours.
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stale = ServerState {
        url: format!("http://127.0.0.1:{port}/").parse().unwrap(),
        keeper: ProcId {
            pid: dead_pid,
            start: 1,
        },
        moto: ProcId {
            pid: dead_pid,
            start: 1,
        },
        log: dir.path().join("old.log"),
        description: "a keeper that crashed".into(),
        more_shards: Vec::new(),
    };
    std::fs::create_dir_all(dir.path()).unwrap();
    stale.write(&scope).unwrap();

    let shared = attach_or_start(&scope).await.expect("a replacement server");
    assert!(
        shared.started_here(),
        "a dead keeper's server must not be attached to"
    );
    let state = ServerState::read(&scope).expect("the new state file");
    assert_ne!(state.url, stale.url);
    assert_eq!(state.keeper, shared.keeper());
    assert!(state.keeper.is_alive() && shared.moto().is_alive());
    use harness::emulator::Emulator;
    assert!(answers(&shared.endpoint().base_url()).await);

    shared.release();
    assert!(
        wait_gone(shared.moto(), Duration::from_secs(30)).await,
        "moto outlived its last lease"
    );
    assert!(wait_gone(shared.keeper(), Duration::from_secs(30)).await);
    assert!(ServerState::read(&scope).is_none());
}

#[tokio::test]
async fn a_killed_keeper_takes_moto_with_it_and_the_next_process_starts_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::at(dir.path());
    let first = attach_or_start(&scope).await.expect("first server");
    assert!(first.started_here());
    // SAFETY: plain syscall on the keeper we just started (checked alive above via its ProcId).
    unsafe {
        libc::kill(first.keeper().pid as libc::pid_t, libc::SIGKILL);
    }
    assert!(
        wait_gone(first.moto(), Duration::from_secs(30)).await,
        "moto outlived its keeper"
    );

    let second = attach_or_start(&scope).await.expect("replacement server");
    assert!(
        second.started_here(),
        "a dead keeper is replaced, not attached to"
    );
    assert_ne!(second.keeper(), first.keeper());
    second.release();
    assert!(wait_gone(second.moto(), Duration::from_secs(30)).await);
}
