//! Why this file exists: the shared emulator is kept alive by *processes* (the test processes
//! attached to it and the `cargo test` / `cargo nextest` run that started them), and a bare pid
//! is not an identity: pids are reused. A [`ProcId`] is a pid plus the process's start time
//! (field 22 of `/proc/<pid>/stat`, in clock ticks since boot), so a lease written by a process
//! that died cannot be mistaken for a new process that got the same pid. Linux only, like the
//! rest of the process backend (`PR_SET_PDEATHSIG` in `child.rs`).

use std::fmt;

/// A process identity that survives pid reuse: pid + start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcId {
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start: u64,
}

impl ProcId {
    /// The identity of process `pid` now, `None` when it does not exist (or is a zombie).
    pub fn of(pid: u32) -> Option<ProcId> {
        let (state, start) = stat(pid)?;
        (state != 'Z').then_some(ProcId { pid, start })
    }

    /// This process.
    pub fn current() -> ProcId {
        // Our own /proc entry always exists; start 0 only if /proc is not mounted, and then
        // every liveness check fails safe (treated as gone, so a server is never kept forever).
        ProcId::of(std::process::id()).unwrap_or(ProcId {
            pid: std::process::id(),
            start: 0,
        })
    }

    /// True while this very process runs (same pid, same start time, not a zombie).
    pub fn is_alive(&self) -> bool {
        ProcId::of(self.pid).is_some_and(|now| now.start == self.start)
    }

    /// The file name of a lease: `<pid>-<start>`.
    pub fn lease_name(&self) -> String {
        format!("{}-{}", self.pid, self.start)
    }

    /// Parses [`ProcId::lease_name`].
    pub fn parse_lease_name(name: &str) -> Option<ProcId> {
        let (pid, start) = name.split_once('-')?;
        Some(ProcId {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }
}

impl fmt::Display for ProcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} (started at tick {})", self.pid, self.start)
    }
}

/// `(state, start time)` from `/proc/<pid>/stat`. The command name (field 2) may contain spaces
/// and parentheses, so the fields are read after the last `)`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = text.rsplit_once(')')?.1.split_whitespace();
    let state = rest.next()?.chars().next()?;
    // After the state (field 3), the start time is field 22: 19 fields further on.
    let start = rest.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// The command name of process `pid` (`/proc/<pid>/comm`, at most 15 bytes).
pub fn command_name(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// The test run this process belongs to: its parent when that is `cargo` (`cargo test`) or
/// `cargo-nextest` (each nextest test is a child of the nextest process). `None` otherwise
/// (a test binary run by hand, or a test's own child process): such a process gets an emulator
/// of its own.
pub fn run_owner() -> Option<ProcId> {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let parent = u32::try_from(parent).ok().filter(|p| *p > 1)?;
    let name = command_name(parent)?;
    (name == "cargo" || name.starts_with("cargo-nextest")).then(|| ProcId::of(parent))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_identity_is_alive_and_round_trips_through_a_lease_name() {
        let me = ProcId::current();
        assert!(me.start > 0);
        assert!(me.is_alive());
        assert_eq!(ProcId::parse_lease_name(&me.lease_name()), Some(me));
        let reused = ProcId {
            start: me.start + 1,
            ..me
        };
        assert!(!reused.is_alive(), "same pid, other start time: not us");
        assert_eq!(ProcId::parse_lease_name("12-x"), None);
        assert_eq!(ProcId::parse_lease_name("12"), None);
    }

    #[test]
    fn an_exited_child_is_gone_even_before_it_is_reaped() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Until waited for, the exited child is a zombie: it still has a /proc entry.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while stat(pid).is_some_and(|(state, _)| state != 'Z') {
            assert!(std::time::Instant::now() < deadline, "`true` did not exit");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(ProcId::of(pid), None, "a zombie is not alive");
        child.wait().unwrap();
        assert!(!ProcId { pid, start: 0 }.is_alive());
    }
}
