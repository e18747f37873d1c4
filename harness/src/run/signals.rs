//! Why this file exists: `harness run` must stop when its user stops it, in the order that leaves
//! nothing behind: the wrapped command first (it may want to finish what it is doing, as
//! Terraform does on its first Ctrl-C), then the proxy and the emulator. So the harness never
//! dies of SIGINT, SIGTERM, SIGHUP or SIGQUIT itself; it passes them on to the command's process
//! group (the command and everything it started, e.g. the `sleep` under `sh -c`) and waits.
//!
//! The command runs in a process group of its own, which is made the terminal's foreground group
//! (terminal.rs): a Ctrl-C typed in the terminal reaches the command once, from the kernel, and
//! not the harness. What the harness receives was sent to it (`kill`, a CI runner, a test) or
//! typed before the command started; the first is forwarded, the second aborts the start. The
//! emulator runs in a process group of its own too (emulator/child.rs), so no signal meant for
//! the command kills it before the command is done.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

/// The signals passed on to the command.
pub const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// The command's process group (its pid) once spawned (0 before).
static CHILD: AtomicI32 = AtomicI32::new(0);
/// The last signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// A signal received before the command's pid was known: forwarded once it is.
static PENDING: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        // SAFETY: killpg(2) is async-signal-safe; `child` leads our own child's process group
        // and is not reaped yet (clear_child runs right after the wait).
        unsafe {
            libc::killpg(child, sig);
        }
    } else {
        PENDING.store(true, Ordering::SeqCst);
    }
}

/// Installs the handler for [`FORWARDED`] (for the rest of the process's life).
pub fn install() -> io::Result<()> {
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction is valid; the handler only touches atomics and calls killpg.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// The last signal received so far, if any.
pub fn received() -> Option<libc::c_int> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// Resolves once a signal has been received (polls; used to abort the emulator's start).
pub async fn wait_received() -> libc::c_int {
    loop {
        if let Some(sig) = received() {
            return sig;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Records the command's process group (its pid): from now on signals are forwarded to it. A
/// signal received while it was being spawned is forwarded now.
pub fn set_child(pid: u32) {
    CHILD.store(pid as i32, Ordering::SeqCst);
    if PENDING.swap(false, Ordering::SeqCst) {
        if let Some(sig) = received() {
            // SAFETY: signalling our own child's process group.
            unsafe {
                libc::killpg(pid as libc::pid_t, sig);
            }
        }
    }
}

/// The command has been reaped: its pid may be reused, never signal it again.
pub fn clear_child() {
    CHILD.store(0, Ordering::SeqCst);
    PENDING.store(false, Ordering::SeqCst);
}

/// `SIGINT` for 2, ... (for messages).
pub fn name(sig: libc::c_int) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGQUIT => "SIGQUIT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        other => format!("signal {other}"),
    }
}
