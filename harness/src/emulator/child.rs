//! Why this file exists: an emulator process must never outlive the test process that started
//! it — not when the handle drops, not when a test panics, not when the test process is killed.
//!
//! Three mechanisms, each covering what the previous one cannot:
//! 1. [`SupervisedChild`]'s `Drop` kills the child's process group and reaps it (normal drop and
//!    unwinding after a panic).
//! 2. `PR_SET_PDEATHSIG(SIGKILL)` set in the child between fork and exec: the kernel kills the
//!    child when its parent dies (abort, SIGKILL, or a `static` that is never dropped, such as
//!    the emulator returned by `shared()`). The kernel's notion of "parent" is the *thread* that
//!    forked, so every child is spawned from one dedicated thread that lives as long as the
//!    process (a `#[tokio::test]` runtime thread or a test thread would trigger it early).
//! 3. The child checks, after setting the signal, that its parent is still the same process,
//!    closing the race where the parent died between fork and `prctl`.
//!
//! The child also gets its own process group, so a `moto_server` launched through a wrapper
//! script is killed together with whatever the wrapper started.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;

/// A child process that is killed when this value drops (and by the kernel if we die first).
#[derive(Debug)]
pub struct SupervisedChild {
    child: Child,
    pid: u32,
    log: PathBuf,
    reaped: Option<ExitStatus>,
}

struct SpawnRequest {
    command: Command,
    reply: mpsc::SyncSender<io::Result<Child>>,
}

/// The long-lived spawner thread: the parent (in the kernel's sense) of every child.
fn spawner() -> &'static mpsc::Sender<SpawnRequest> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("harness-spawner".into())
            .spawn(move || {
                // Never returns while the process lives: the sender is in a static.
                for mut req in rx {
                    let _ = req.reply.send(req.command.spawn());
                }
            })
            .expect("spawning the harness-spawner thread");
        tx
    })
}

impl SupervisedChild {
    /// Spawns `command` with stdin closed and stdout+stderr appended to `log`.
    pub fn spawn(mut command: Command, log: &Path) -> io::Result<SupervisedChild> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs in the forked child before exec and only calls
        // async-signal-safe functions (setpgid, prctl, getppid, errno access).
        unsafe {
            command.pre_exec(move || {
                if libc::setpgid(0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                #[cfg(target_os = "linux")]
                {
                    if libc::prctl(
                        libc::PR_SET_PDEATHSIG,
                        libc::SIGKILL as libc::c_ulong,
                        0 as libc::c_ulong,
                        0 as libc::c_ulong,
                        0 as libc::c_ulong,
                    ) != 0
                    {
                        return Err(io::Error::last_os_error());
                    }
                }
                if libc::getppid() != parent {
                    // The parent died before the death signal was armed.
                    return Err(io::Error::other("parent exited during spawn"));
                }
                Ok(())
            });
        }
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        spawner()
            .send(SpawnRequest {
                command,
                reply: reply_tx,
            })
            .map_err(|_| io::Error::other("harness-spawner thread is gone"))?;
        let child = reply_rx
            .recv()
            .map_err(|_| io::Error::other("harness-spawner thread dropped the request"))??;
        let pid = child.id();
        tracing::debug!(pid, log = %log.display(), "spawned supervised child");
        Ok(SupervisedChild {
            child,
            pid,
            log: log.to_path_buf(),
            reaped: None,
        })
    }

    /// The child's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where the child's stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `Some(status)` once the child has exited (non-blocking).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.reaped = Some(status);
            }
        }
        self.reaped
    }

    /// Kills the child's process group with SIGKILL and reaps the child. Idempotent.
    pub fn kill(&mut self) {
        if self.reaped.is_some() {
            // The pid may have been reused: never signal a reaped child's group.
            return;
        }
        // SAFETY: plain syscall; the group id is our own child's pid, which is not reaped yet.
        unsafe {
            libc::killpg(self.pid as libc::pid_t, libc::SIGKILL);
        }
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => self.reaped = Some(status),
            Err(e) => tracing::warn!(pid = self.pid, error = %e, "waiting for killed child"),
        }
        tracing::debug!(pid = self.pid, "killed supervised child");
    }
}

impl Drop for SupervisedChild {
    fn drop(&mut self) {
        self.kill();
    }
}
