//! Why this file exists: the wrapped command gets a process group of its own (so a signal can
//! reach everything it started, signals.rs), yet it must still own the terminal the way it would
//! under a shell: read a prompt's answer (`terraform apply` asks "Enter a value:") and receive a
//! typed Ctrl-C. So, when the harness runs in the foreground of a terminal, the command's group
//! becomes the terminal's foreground process group while it runs, and the harness's group again
//! afterwards (Ctrl-Z, SIGTSTP, is ignored by the command then: see [`own_group`]): what a
//! job-control shell does (POSIX tcsetpgrp(3),
//! https://pubs.opengroup.org/onlinepubs/9699919799/functions/tcsetpgrp.html; the GNU libc
//! manual's "Implementing a Job Control Shell"). Without a terminal (CI, tests, pipes) only the
//! process group is set.

use std::io;

/// The terminal the harness is the foreground of, if any: the first of stdin, stderr, stdout
/// that is a terminal whose foreground group is ours.
pub fn foreground_tty() -> Option<libc::c_int> {
    // SAFETY: plain queries on our own standard descriptors.
    unsafe {
        let ours = libc::getpgrp();
        [libc::STDIN_FILENO, libc::STDERR_FILENO, libc::STDOUT_FILENO]
            .into_iter()
            .find(|&fd| libc::isatty(fd) == 1 && libc::tcgetpgrp(fd) == ours)
    }
}

/// Makes `pgrp` the foreground group of `tty`, ignoring SIGTTOU meanwhile (a background group
/// that calls tcsetpgrp is otherwise stopped). Only async-signal-safe calls: also used in the
/// forked child before exec.
fn hand_over(tty: libc::c_int, pgrp: libc::pid_t) -> libc::c_int {
    // SAFETY: signal(2) and tcsetpgrp(3) on a descriptor we hold; the old disposition is restored.
    unsafe {
        let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        let rc = libc::tcsetpgrp(tty, pgrp);
        libc::signal(libc::SIGTTOU, old);
        rc
    }
}

/// Sets up `command` to start in a process group of its own and, with `tty`, to take the
/// terminal's foreground before it execs.
pub fn own_group(command: &mut tokio::process::Command, tty: Option<libc::c_int>) {
    // SAFETY: the closure runs in the forked child before exec and only calls async-signal-safe
    // functions (setpgid, getpid, signal, tcsetpgrp).
    unsafe {
        command.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(tty) = tty {
                // Failure is not fatal: the command then runs in the background of the terminal.
                hand_over(tty, libc::getpid());
                // Ctrl-Z would stop the command while the harness, not a job of the shell's
                // own, kept waiting for it: the terminal would hang. So it is ignored.
                libc::signal(libc::SIGTSTP, libc::SIG_IGN);
            }
            Ok(())
        });
    }
}

/// In the harness, right after the spawn: the same two steps (whichever of parent and child runs
/// first, the group exists and owns the terminal before the command reads from it).
pub fn after_spawn(pid: u32, tty: Option<libc::c_int>) {
    let pid = pid as libc::pid_t;
    // SAFETY: our own child; EACCES after its exec is expected and harmless.
    unsafe {
        libc::setpgid(pid, pid);
    }
    if let Some(tty) = tty {
        hand_over(tty, pid);
    }
}

/// Gives the terminal back to the harness's group once the command has ended.
pub fn take_back(tty: Option<libc::c_int>) {
    if let Some(tty) = tty {
        // SAFETY: getpgrp(2) cannot fail.
        hand_over(tty, unsafe { libc::getpgrp() });
    }
}

/// Sends SIGTERM to what the command left running in its process group (background jobs of a
/// script); true if there was something.
pub fn stop_leftovers(pgrp: u32) -> bool {
    let pgrp = pgrp as libc::pid_t;
    // SAFETY: signal 0 only checks; the group is the one our child led.
    unsafe {
        if libc::killpg(pgrp, 0) != 0 {
            return false;
        }
        libc::killpg(pgrp, libc::SIGTERM) == 0
    }
}
