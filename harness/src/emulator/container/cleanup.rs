//! Why this file exists: no container may be left behind, even by a process that never drops
//! its shared emulator or dies by a signal. Three layers, all keyed on the labels every
//! container carries (`harness.managed`, `harness.pid`, `harness.host`; see the parent module):
//! - a registry of the ids this process started and has not removed yet;
//! - an `atexit` hook that removes what is still registered when the process exits (plain
//!   blocking HTTP to the engine: no async runtime is needed then);
//! - a sweep, once per process before its first start, of containers whose owner process on
//!   this host is gone (killed before its exit hook could run).

use std::sync::{Mutex, Once};

use super::engine::DockerApi;
use super::{HOST_LABEL, PID_LABEL};

static STARTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records a container this process started.
pub(super) fn register(id: &str) {
    STARTED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(id.to_string());
}

/// Forgets a container once it is removed.
pub(super) fn unregister(id: &str) {
    STARTED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|i| i != id);
}

/// Ids of the containers this process started and has not removed yet.
pub fn live_container_ids() -> Vec<String> {
    STARTED.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

extern "C" fn remove_containers_at_exit() {
    let ids = std::mem::take(&mut *STARTED.lock().unwrap_or_else(|p| p.into_inner()));
    if ids.is_empty() {
        return;
    }
    if let Some(api) = DockerApi::from_env() {
        for id in ids {
            let _ = api.remove_container(&id);
        }
    }
}

/// Registers the exit hook (once per process).
pub(super) fn install_exit_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn()` that touches only a static.
        let rc = unsafe { libc::atexit(remove_containers_at_exit) };
        if rc != 0 {
            crate::emulator::say(
                "could not register the container cleanup at exit (atexit failed)",
            );
        }
    });
}

/// Removes containers labelled by a harness process of this host that no longer runs
/// (killed by a signal before its exit hook could run). Once per process, before the first
/// start. Blocking: call it off the async runtime threads.
pub(super) fn sweep_orphans_once(api: &DockerApi) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for id in remove_orphans(api) {
            crate::emulator::say(&format!(
                "removed container {} left behind by a harness process that is gone",
                &id[..id.len().min(12)]
            ));
        }
    });
}

/// Removes every `harness.managed` container whose owner process (same host name, pid label)
/// no longer exists; returns the removed ids.
pub fn remove_orphans(api: &DockerApi) -> Vec<String> {
    let Ok(list) = api.managed_containers() else {
        return Vec::new();
    };
    let me = hostname();
    let mut removed = Vec::new();
    for (id, labels) in list {
        let same_host = labels.get(HOST_LABEL).map(String::as_str) == Some(me.as_str());
        let pid = labels.get(PID_LABEL).and_then(|p| p.parse::<i32>().ok());
        if let (true, Some(pid)) = (same_host, pid) {
            if !process_alive(pid) && api.remove_container(&id).is_ok() {
                removed.push(id);
            }
        }
    }
    removed
}

fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// This machine's host name (labels pids with the host they belong to).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_tracks_started_containers() {
        register("cleanup-test-id");
        assert!(live_container_ids().contains(&"cleanup-test-id".to_string()));
        unregister("cleanup-test-id");
        assert!(!live_container_ids().contains(&"cleanup-test-id".to_string()));
    }

    #[test]
    fn liveness_of_processes() {
        assert!(process_alive(std::process::id() as i32));
        assert!(!process_alive(0));
        assert!(!process_alive(-1));
    }
}
