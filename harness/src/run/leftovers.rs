//! Why this file exists: `harness run` starts the command in a process group of its own
//! (terminal.rs), so when the harness itself is killed (SIGKILL, the OOM killer, a CI runner
//! stopping the job) the command goes on, talking to an endpoint that is gone. So each run
//! directory names its owners in a file `owner` (the harness, then the command, each a
//! [`ProcId`], which survives pid reuse), removed when the run ends; the next `harness run`
//! stops the command's process group of every run whose harness is gone, says so, and removes
//! the record. The emulators need no record of their own: a moto process dies with the harness
//! (`PR_SET_PDEATHSIG`, emulator/child.rs), a shared moto with its last lease
//! (emulator/sharing), and the containers of a harness that is gone are removed by the next
//! container start (emulator/container/cleanup.rs).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::emulator::sharing::procs::ProcId;

const OWNER_FILE: &str = "owner";

/// Writes `dir/owner` naming this process as the run's harness.
pub fn record_harness(dir: &Path) -> std::io::Result<()> {
    std::fs::write(
        dir.join(OWNER_FILE),
        format!("harness {}\n", ProcId::current().lease_name()),
    )
}

/// Adds the command (the leader of its own process group) to `dir/owner`; best effort.
pub fn record_command(dir: &Path, pid: u32) {
    let Some(id) = ProcId::of(pid) else {
        return; // already gone: nothing to stop later
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(OWNER_FILE))
    {
        let _ = writeln!(f, "command {}", id.lease_name());
    }
}

/// The run ended normally: nothing of it is left to stop.
pub fn release(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(OWNER_FILE));
}

/// `(harness, command)` from an owner file's text.
fn parse_owner(text: &str) -> (Option<ProcId>, Option<ProcId>) {
    let (mut harness, mut command) = (None, None);
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("harness", id)) => harness = ProcId::parse_lease_name(id.trim()),
            Some(("command", id)) => command = ProcId::parse_lease_name(id.trim()),
            _ => {}
        }
    }
    (harness, command)
}

/// Whether process group `command.pid` is still the one the command led: its leader runs (same
/// start time), or the leader is gone and the group still has members (the kernel does not hand
/// out a pid that is still some group's id, so the group is the command's).
fn group_left(command: ProcId) -> bool {
    if command.is_alive() {
        return true;
    }
    if ProcId::of(command.pid).is_some() {
        return false; // the pid is another process's now
    }
    // SAFETY: signal 0 only checks whether the group exists.
    unsafe { libc::killpg(command.pid as libc::pid_t, 0) == 0 }
}

/// Stops what killed runs under `runs` left running; one line per run it stopped something of.
pub fn sweep(runs: &Path) -> Vec<String> {
    let Ok(dirs) = std::fs::read_dir(runs) else {
        return Vec::new();
    };
    let mut said = Vec::new();
    for dir in dirs.flatten().map(|e| e.path()) {
        let owner: PathBuf = dir.join(OWNER_FILE);
        let Ok(text) = std::fs::read_to_string(&owner) else {
            continue;
        };
        let (harness, command) = parse_owner(&text);
        if harness.is_some_and(|h| h.is_alive()) {
            continue; // a run in progress
        }
        if let Some(command) = command.filter(|c| group_left(*c)) {
            // SAFETY: the group is the one the dead run's command led (checked just above).
            let sent = unsafe { libc::killpg(command.pid as libc::pid_t, libc::SIGTERM) == 0 };
            if sent {
                said.push(format!(
                    "sent SIGTERM to process group {} left running by a harness run that was killed ({})",
                    command.pid,
                    dir.display()
                ));
            }
        }
        let _ = std::fs::remove_file(&owner);
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn owner_lines_are_read_back() {
        let (h, c) = parse_owner("harness 10-20\ncommand 11-21\n");
        assert_eq!(h, Some(ProcId { pid: 10, start: 20 }));
        assert_eq!(c, Some(ProcId { pid: 11, start: 21 }));
        assert_eq!(parse_owner("garbage"), (None, None));
    }

    #[test]
    fn a_killed_runs_command_is_stopped_and_a_live_runs_is_not() {
        let runs = tempfile::tempdir().unwrap();
        let spawn = || {
            std::process::Command::new("sleep")
                .arg("600")
                .process_group(0)
                .spawn()
                .expect("spawning sleep")
        };
        let (mut orphan, mut ours) = (spawn(), spawn());

        // A run whose harness is gone (a pid above the kernel's pid_max) and whose command runs.
        let dead = runs.path().join("1-000000000001-4194305");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join(OWNER_FILE), "harness 4194305-1\n").unwrap();
        record_command(&dead, orphan.id());
        // A run of this (live) process.
        let live = runs.path().join("2-000000000001-1");
        std::fs::create_dir(&live).unwrap();
        record_harness(&live).unwrap();
        record_command(&live, ours.id());

        let said = sweep(runs.path());
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains(&orphan.id().to_string()), "{said:?}");
        let status = orphan.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGTERM)
        );
        assert!(!dead.join(OWNER_FILE).exists());
        assert!(
            ours.try_wait().unwrap().is_none(),
            "a live run's command is left alone"
        );
        assert!(sweep(runs.path()).is_empty());
        ours.kill().unwrap();
        ours.wait().unwrap();
    }
}
