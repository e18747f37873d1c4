//! Why this file exists: starting the shared moto means starting its keeper (`keeper.py`), a
//! small Python process in a session of its own that owns moto and outlives the test process
//! that started it (see `mod.rs` for the protocol); one keeper per moto shard. This file
//! launches the keepers, each on a free port, waits until moto answers (with the same deadline and port-race retries as a private
//! moto, `moto_process.rs`), and warms moto's service imports once for the whole run.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::procs::ProcId;
use crate::emulator::moto_bootstrap::tail;
use crate::emulator::moto_process::{
    find_on_path, free_port, MotoOptions, MotoSource, MOTO_ENV, MOTO_ENV_REMOVED,
};
use crate::emulator::readiness::{self, POLL_INTERVAL};
use crate::emulator::{paths, Backend, EmulatorError};

/// The keeper's source, written into the scope directory at each start.
pub const KEEPER_PY: &str = include_str!("keeper.py");

/// How often the keeper looks at the leases (and so how soon moto stops after the run).
pub const KEEPER_POLL: Duration = Duration::from_millis(100);

/// A keeper whose moto answers HTTP.
#[derive(Debug)]
pub struct Started {
    pub url: url::Url,
    pub keeper: ProcId,
    pub moto: ProcId,
    pub log: PathBuf,
}

/// The Python that runs the keeper: the pinned install's interpreter, else `python3` on PATH.
pub fn keeper_python(options: &MotoOptions) -> Result<PathBuf, EmulatorError> {
    if options.command.source == MotoSource::Bootstrap {
        return Ok(options.command.program.clone());
    }
    find_on_path(Path::new("python3")).ok_or_else(|| {
        EmulatorError::Config(
            "the shared emulator's keeper needs python3 on PATH (moto itself was given by \
             HARNESS_MOTO_SERVER or PATH); install python3, or set HARNESS_SHARED_EMULATOR=0 \
             to give each test process its own emulator"
                .into(),
        )
    })
}

/// Starts `count` keepers, each with its moto, in `scope` at once (shards 1 to `count`, in
/// order). If one cannot start, the ones that did are stopped and the error names the shard.
pub async fn start_shards(
    scope: &Path,
    options: &MotoOptions,
    count: usize,
) -> Result<Vec<Started>, EmulatorError> {
    let python = keeper_python(options)?;
    // Written once, before any keeper runs it.
    let script = scope.join("keeper.py");
    std::fs::write(&script, KEEPER_PY)
        .map_err(|e| EmulatorError::io(format!("writing {}", script.display()), e))?;
    std::fs::create_dir_all(&options.log_dir).map_err(|e| {
        EmulatorError::io(
            format!("creating log directory {}", options.log_dir.display()),
            e,
        )
    })?;
    let starts = (1..=count).map(|shard| start(scope, &python, &script, options, shard));
    let results = futures::future::join_all(starts).await;
    let mut failure = None;
    let mut started = Vec::with_capacity(count);
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(s) => started.push(s),
            Err(e) => {
                failure.get_or_insert(e.in_shard(i + 1, count));
            }
        }
    }
    match failure {
        None => Ok(started),
        Some(e) => {
            for s in &started {
                kill_group(s.keeper);
                kill_group(s.moto);
            }
            Err(e)
        }
    }
}

/// Starts the keeper of shard `shard` and its moto; retried on a new port when moto loses the
/// port race.
async fn start(
    scope: &Path,
    python: &Path,
    script: &Path,
    options: &MotoOptions,
    shard: usize,
) -> Result<Started, EmulatorError> {
    let attempts = options.port_attempts.max(1);
    for attempt in 1..=attempts {
        let log = paths::new_log_path(&options.log_dir, "moto-shared");
        match start_once(scope, python, script, options, &log, shard).await {
            Ok(started) => return Ok(started),
            Err(Failure::PortTaken(port)) if attempt < attempts => {
                tracing::info!(port, attempt, "shared moto lost the port race; retrying");
            }
            Err(Failure::PortTaken(port)) => {
                return Err(EmulatorError::Start {
                    backend: Backend::Moto.name(),
                    reason: format!(
                        "port {port} was taken before moto could bind it, {attempts} times"
                    ),
                    log,
                })
            }
            Err(Failure::Other(e)) => return Err(e),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

enum Failure {
    PortTaken(u16),
    Other(EmulatorError),
}

async fn start_once(
    scope: &Path,
    python: &Path,
    script: &Path,
    options: &MotoOptions,
    log: &Path,
    shard: usize,
) -> Result<Started, Failure> {
    let fail = |reason: String| {
        Failure::Other(EmulatorError::Start {
            backend: Backend::Moto.name(),
            reason,
            log: log.to_path_buf(),
        })
    };
    let port = free_port(options.host)
        .map_err(|e| fail(format!("finding a free port on {}: {e}", options.host)))?;
    let pid_name = format!("moto-{shard}.pid");
    let moto_pid_file = scope.join(&pid_name);
    let _ = std::fs::remove_file(&moto_pid_file);
    let mut child =
        spawn_keeper(python, script, scope, &pid_name, options, port, log).map_err(|e| {
            fail(format!(
                "could not run the keeper with {}: {e}",
                python.display()
            ))
        })?;
    let keeper = ProcId::of(child.id()).ok_or_else(|| fail("the keeper exited at once".into()))?;
    let url = format!("http://{}:{port}", options.host);
    let probe_url = format!("{url}/moto-api/");
    let started = Instant::now();
    let mut last_error = String::from("not probed yet");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.contains("Address already in use") {
                return Err(Failure::PortTaken(port));
            }
            return Err(fail(format!(
                "the keeper exited with {status} before moto answered on {url}; last output: {}",
                tail(&text, 3)
            )));
        }
        let elapsed = started.elapsed();
        if elapsed >= options.ready_timeout {
            kill_group(keeper);
            let _ = child.wait();
            return Err(Failure::Other(EmulatorError::NotReady {
                backend: Backend::Moto.name(),
                url,
                waited: elapsed,
                last_error,
                log: log.to_path_buf(),
            }));
        }
        match readiness::probe(&probe_url, options.ready_timeout - elapsed).await {
            Ok(_) => break,
            Err(e) => last_error = e,
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    // The keeper writes moto's pid right after spawning it, long before moto answers.
    let moto = std::fs::read_to_string(&moto_pid_file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .and_then(ProcId::of)
        .ok_or_else(|| {
            fail(format!(
                "moto answers on {url} but {} names no live process",
                moto_pid_file.display()
            ))
        })?;
    let endpoint: url::Url = url.parse().expect("a socket address makes a valid URL");
    let warmup = readiness::warm_up_moto(&endpoint).await;
    tracing::info!(keeper = keeper.pid, moto = moto.pid, %url, took_ms = started.elapsed().as_millis() as u64, warmup_ms = warmup.as_millis() as u64, "shared moto ready");
    // Not waited for: the keeper must outlive this process. If it ends first it stays a zombie
    // of ours until we exit, and a zombie counts as gone everywhere (procs.rs).
    drop(child);
    Ok(Started {
        url: endpoint,
        keeper,
        moto,
        log: log.to_path_buf(),
    })
}

fn spawn_keeper(
    python: &Path,
    script: &Path,
    scope: &Path,
    pid_name: &str,
    options: &MotoOptions,
    port: u16,
    log: &Path,
) -> std::io::Result<Child> {
    let out = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)?;
    let err = out.try_clone()?;
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg(scope)
        .arg(KEEPER_POLL.as_millis().to_string())
        .arg(pid_name)
        .arg(&options.command.program)
        .args(&options.command.args)
        .arg("-H")
        .arg(options.host.to_string())
        .arg("-p")
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    for key in MOTO_ENV_REMOVED {
        command.env_remove(key);
    }
    for (key, value) in MOTO_ENV {
        command.env(key, value);
    }
    for (key, value) in &options.env {
        command.env(key, value);
    }
    // SAFETY: setsid is async-signal-safe. A session of its own: the terminal's Ctrl-C (sent to
    // cargo's process group) does not reach the keeper; it sees cargo go and stops moto itself.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// SIGKILL to the process group of `leader` (the keeper leads its session and group; moto
/// leads its own group), if that very process is still alive.
pub fn kill_group(leader: ProcId) {
    if leader.is_alive() {
        // SAFETY: plain syscall; the identity check above guards against pid reuse.
        unsafe {
            libc::killpg(leader.pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

/// Waits (at most `deadline`) until `process` is gone; true if it is.
pub async fn wait_gone(process: ProcId, deadline: Duration) -> bool {
    let started = Instant::now();
    while process.is_alive() {
        if started.elapsed() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}
