//! Why this file exists: the harness keeps what it installs (the moto virtual environment) and
//! what it records (runs, journals, emulator logs) in one directory of its own. Built from this
//! repository, that is `<cargo target dir>/harness`, so `cargo clean` removes it and nothing is
//! written to the user's home. Installed (`cargo install`, a release binary, an image), the binary
//! is in no target directory, and the files go to a per-user cache instead, never beside the
//! binary (whose directory, `~/.cargo/bin` or `/usr/local/bin`, is not the harness's to fill):
//! `$XDG_CACHE_HOME/first-apply/harness`, else `~/.cache/first-apply/harness` (the XDG Base
//! Directory specification's cache location, https://specifications.freedesktop.org/basedir-spec/).
//! Test binaries do not see `CARGO_TARGET_DIR` unless the user set it, so the target directory is
//! found by walking up from the running executable.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{retention, EmulatorError};

/// The per-user cache's directory name (under `$XDG_CACHE_HOME` or `~/.cache`).
pub const CACHE_NAME: &str = "first-apply";

/// The directory that holds the harness's (and the bench's) own files: the cargo target
/// directory this process belongs to, or the per-user cache of an installed binary.
///
/// Order: `CARGO_TARGET_DIR` (made absolute); else the nearest ancestor of the current
/// executable that is named `target` or holds cargo's `CACHEDIR.TAG`; else
/// `$XDG_CACHE_HOME/first-apply` (an absolute `XDG_CACHE_HOME` only, as the XDG specification
/// says) or `~/.cache/first-apply`; else the system temp dir's `first-apply`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().ok();
    target_dir_of(|k| std::env::var_os(k), exe.as_deref(), cwd.as_deref())
}

/// [`target_dir`] for this environment (`var`), executable and working directory.
pub fn target_dir_of(
    var: impl Fn(&str) -> Option<OsString>,
    exe: Option<&Path>,
    cwd: Option<&Path>,
) -> PathBuf {
    let var = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("CARGO_TARGET_DIR") {
        return match cwd {
            Some(cwd) if !dir.is_absolute() => cwd.join(dir),
            _ => dir,
        };
    }
    if let Some(dir) = exe.and_then(target_ancestor) {
        return dir;
    }
    if let Some(cache) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return cache.join(CACHE_NAME);
    }
    if let Some(home) = var("HOME") {
        return home.join(".cache").join(CACHE_NAME);
    }
    std::env::temp_dir().join(CACHE_NAME)
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

/// `<target>/harness`: the harness's own corner of the target directory (or of the cache).
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

/// A fresh log file path `<dir>/<prefix>-<unix ms>-<pid>-<n>.log` (not created yet). The first
/// time a process asks for one in `dir`, the older logs there are pruned (retention.rs).
pub fn new_log_path(dir: &Path, prefix: &str) -> PathBuf {
    prune_logs_once(dir);
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    dir.join(format!("{prefix}-{ms}-{}-{n}.log", std::process::id()))
}

/// Prunes `dir` (retention.rs) the first time this process writes a log there.
fn prune_logs_once(dir: &Path) {
    static PRUNED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    {
        let mut pruned = PRUNED.lock().unwrap_or_else(|e| e.into_inner());
        if pruned.iter().any(|d| d == dir) {
            return;
        }
        pruned.push(dir.to_path_buf());
    }
    match retention::Keep::logs_from_env() {
        Ok(keep) => {
            retention::prune(dir, retention::log_name, keep);
        }
        Err(e) => super::say(&format!("{e}; the logs in {} are kept", dir.display())),
    }
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

    #[test]
    fn an_installed_binary_uses_the_per_user_cache() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let installed = Some(Path::new("/home/u/.cargo/bin/harness"));
        let cwd = Some(Path::new("/src/app"));
        let xdg = env(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/home/u")]);
        assert_eq!(
            target_dir_of(xdg, installed, cwd),
            PathBuf::from("/c/first-apply")
        );
        let home = env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/home/u")]);
        assert_eq!(
            target_dir_of(home, installed, cwd),
            PathBuf::from("/home/u/.cache/first-apply")
        );
        let built = Some(Path::new("/src/first-apply/target/debug/harness"));
        assert_eq!(
            target_dir_of(env(&[("HOME", "/home/u")]), built, cwd),
            PathBuf::from("/src/first-apply/target")
        );
        let chosen = env(&[("CARGO_TARGET_DIR", "out"), ("HOME", "/home/u")]);
        assert_eq!(
            target_dir_of(chosen, installed, cwd),
            PathBuf::from("/src/app/out")
        );
    }
}
