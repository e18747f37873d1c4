//! Why this file exists: the harness keeps what it installs (the moto virtual environment) and
//! what it records (emulator logs) under the cargo target directory, so `cargo clean` removes it
//! and nothing is written to the user's home. Test binaries do not see `CARGO_TARGET_DIR` unless
//! the user set it, so the directory is found by walking up from the running executable.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::EmulatorError;

/// The cargo target directory this process belongs to.
///
/// Order: `CARGO_TARGET_DIR` (made absolute); else the nearest ancestor of the current
/// executable that is named `target` or holds cargo's `CACHEDIR.TAG`; else
/// `$XDG_CACHE_HOME/harness-target` / `~/.cache/harness-target` (an installed binary); else the
/// system temp dir.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return dir;
        }
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(dir);
        }
        return dir;
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| target_ancestor(&exe))
    {
        return dir;
    }
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(cache).join("harness-target");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".cache").join("harness-target");
    }
    std::env::temp_dir().join("harness-target")
}

/// The nearest ancestor of `exe` that looks like a cargo target directory.
pub fn target_ancestor(exe: &Path) -> Option<PathBuf> {
    exe.ancestors()
        .skip(1)
        .find(|dir| {
            dir.file_name().is_some_and(|name| name == "target")
                || dir.join("CACHEDIR.TAG").is_file()
        })
        .map(Path::to_path_buf)
}

/// `<target>/harness`: the harness's own corner of the target directory.
pub fn harness_dir() -> PathBuf {
    target_dir().join("harness")
}

/// `<target>/harness/logs`, created on demand.
pub fn logs_dir() -> Result<PathBuf, EmulatorError> {
    let dir = harness_dir().join("logs");
    std::fs::create_dir_all(&dir)
        .map_err(|e| EmulatorError::io(format!("creating log directory {}", dir.display()), e))?;
    Ok(dir)
}

/// A fresh log file path `<dir>/<prefix>-<unix ms>-<pid>-<n>.log` (not created yet).
pub fn new_log_path(dir: &Path, prefix: &str) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    dir.join(format!("{prefix}-{ms}-{}-{n}.log", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_target_by_name_or_cachedir_tag() {
        let exe = Path::new("/work/x/target/debug/deps/t-123");
        assert_eq!(target_ancestor(exe), Some(PathBuf::from("/work/x/target")));
        let tmp = tempfile::tempdir().unwrap();
        let custom = tmp.path().join("out");
        std::fs::create_dir_all(custom.join("debug")).unwrap();
        std::fs::write(custom.join("CACHEDIR.TAG"), "Signature").unwrap();
        assert_eq!(
            target_ancestor(&custom.join("debug").join("harness")),
            Some(custom)
        );
        assert_eq!(target_ancestor(Path::new("/usr/bin/harness")), None);
    }
}
