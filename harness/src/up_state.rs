//! Why this file exists: a developer keeps one `harness up` running and every `harness run` in
//! their loop should use it instead of starting (and warming) an emulator of its own. The running
//! `up` is found through a small state file, `<harness dir>/up.json` (the harness dir of
//! emulator/paths.rs: `<cargo target dir>/harness` for a build of this repository, else
//! `$XDG_CACHE_HOME/first-apply/harness` or `~/.cache/first-apply/harness`; `HARNESS_UP_STATE`
//! names another file). It holds the proxy's URL, the `up` process's identity (pid and start
//! time, emulator/sharing/procs.rs, so a reused pid is never taken for it), the backend and when
//! it started. `harness up` writes it once it serves and removes it when it stops; a file whose
//! process is gone (the `up` was killed) is stale: readers remove it and treat it as absent.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::emulator::paths;
use crate::emulator::sharing::procs::ProcId;

/// Names the state file instead of `<harness dir>/up.json`.
pub const STATE_FILE_ENV: &str = "HARNESS_UP_STATE";

/// What a running `harness up` tells the `harness run`s that attach to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpState {
    /// The proxy's URL (`AWS_ENDPOINT_URL`), also the control API's (`/_harness/`).
    pub url: String,
    pub pid: u32,
    /// The process's start time (clock ticks since boot), with `pid` its identity.
    pub start_ticks: u64,
    pub backend: String,
    pub started_unix_ms: u64,
}

impl UpState {
    /// The state of this process, serving at `url` with `backend`.
    pub fn of_this_process(url: String, backend: &str, started_unix_ms: u64) -> UpState {
        let me = ProcId::current();
        UpState {
            url,
            pid: me.pid,
            start_ticks: me.start,
            backend: backend.to_string(),
            started_unix_ms,
        }
    }

    /// Whether the `up` that wrote this still runs.
    pub fn is_alive(&self) -> bool {
        ProcId {
            pid: self.pid,
            start: self.start_ticks,
        }
        .is_alive()
    }
}

/// The state file's path.
pub fn path() -> PathBuf {
    match std::env::var_os(STATE_FILE_ENV).filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => paths::harness_dir().join("up.json"),
    }
}

/// What the state file says.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// No state file.
    Nothing,
    /// A file whose `up` is gone; it has been removed.
    Stale(UpState),
    Running(UpState),
}

/// Reads the state file at `path`, removing it when stale (or unreadable: a half-written file
/// of an `up` that died while writing it names nothing that runs).
pub fn read(path: &Path) -> Found {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Found::Nothing;
    };
    match serde_json::from_str::<UpState>(&text) {
        Ok(state) if state.is_alive() => Found::Running(state),
        Ok(state) => {
            let _ = std::fs::remove_file(path);
            Found::Stale(state)
        }
        Err(_) => {
            let _ = std::fs::remove_file(path);
            Found::Nothing
        }
    }
}

/// The state file of this process's `harness up`, removed when dropped (if still its own).
#[derive(Debug)]
pub struct Registration {
    path: PathBuf,
    state: UpState,
}

/// Writes `state` to `path` unless another running `up` is registered there (then `Err` names
/// it: this `up` serves but no `harness run` finds it). The file is written whole, then renamed
/// into place, so a reader never sees half of it.
pub fn register(path: &Path, state: UpState) -> Result<Registration, String> {
    if let Found::Running(other) = read(path) {
        return Err(format!(
            "another harness up (pid {}) at {} is registered in {}; `harness run` attaches to that one",
            other.pid,
            other.url,
            path.display()
        ));
    }
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp{}", state.pid));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&state)?)?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("writing the state file {}: {e}", path.display()))?;
    Ok(Registration {
        path: path.to_path_buf(),
        state,
    })
}

impl Registration {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str::<UpState>(&t).ok())
            .is_some_and(|s| s == self.state);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_read_back_and_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("up.json");
        assert_eq!(read(&file), Found::Nothing);
        let state = UpState::of_this_process("http://127.0.0.1:1".into(), "moto", 5);
        let reg = register(&file, state.clone()).unwrap();
        assert_eq!(read(&file), Found::Running(state.clone()));
        let again = register(&file, state.clone()).unwrap_err();
        assert!(again.contains("another harness up"), "{again}");
        drop(reg);
        assert!(!file.exists());
    }

    #[test]
    fn a_stale_file_is_removed_and_an_unreadable_one_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("up.json");
        let gone = UpState {
            // Above the kernel's pid_max: no process has it.
            pid: 4_194_305,
            ..UpState::of_this_process("http://127.0.0.1:1".into(), "moto", 5)
        };
        std::fs::write(&file, serde_json::to_vec(&gone).unwrap()).unwrap();
        assert_eq!(read(&file), Found::Stale(gone));
        assert!(!file.exists());
        std::fs::write(&file, "{\"url\": ").unwrap();
        assert_eq!(read(&file), Found::Nothing);
        assert!(!file.exists());
    }
}
