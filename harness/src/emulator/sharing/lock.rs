//! Why this file exists: the test processes of one run decide who starts the shared emulator,
//! who attaches and who stops it under one lock, `<scope>/lock`, an advisory `flock(2)` lock
//! (the keeper, `keeper.py`, takes the same lock with Python's `fcntl.flock`). The kernel drops
//! the lock when its holder dies, so a crashed starter never blocks the others; waiting for it
//! always has a deadline, and the error names the file.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::emulator::EmulatorError;

/// Pause between attempts to take the lock.
const RETRY: Duration = Duration::from_millis(20);

/// The lock, held until dropped (closing the file releases it).
#[derive(Debug)]
pub struct ScopeLock {
    _file: File,
    path: PathBuf,
}

impl ScopeLock {
    /// Takes the exclusive lock on `path` (created if missing), waiting at most `deadline`.
    pub async fn acquire(path: &Path, deadline: Duration) -> Result<ScopeLock, EmulatorError> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| EmulatorError::io(format!("opening lock file {}", path.display()), e))?;
        let started = Instant::now();
        loop {
            // SAFETY: plain syscall on a descriptor we own.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(ScopeLock {
                    _file: file,
                    path: path.to_path_buf(),
                });
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK)
                && err.kind() != std::io::ErrorKind::Interrupted
            {
                return Err(EmulatorError::io(
                    format!("locking {}", path.display()),
                    err,
                ));
            }
            if started.elapsed() >= deadline {
                return Err(EmulatorError::Config(format!(
                    "waited {deadline:?} for the shared-emulator lock {} (another test process \
                     holds it while it starts moto); raise HARNESS_READY_TIMEOUT, or set \
                     HARNESS_SHARED_EMULATOR=0 to give each test process its own emulator",
                    path.display()
                )));
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_lock_makes_the_second_taker_wait_until_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = ScopeLock::acquire(&path, Duration::from_secs(5))
            .await
            .unwrap();
        let err = ScopeLock::acquire(&path, Duration::from_millis(50))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("shared-emulator lock") && err.contains("HARNESS_SHARED_EMULATOR=0"),
            "{err}"
        );
        drop(first);
        ScopeLock::acquire(&path, Duration::from_secs(5))
            .await
            .expect("free once the first holder is gone");
    }
}
