//! Why this file exists: the harness's directory (paths.rs) must not grow without bound. Every
//! `harness run` leaves a run directory (its journal) under `runs/`, and every emulator start a
//! log under `logs/`; over weeks of a CI machine or a developer's loop they add up. So the
//! harness prunes each of them when it is about to add to it: the newest entries are kept (a
//! count, and for logs a size cap too), older ones are removed. Only entries the harness named
//! itself are considered (their names carry the time and the pid of the process that wrote
//! them), and nothing of a process that still runs is removed.
//!
//! | variable              | default | what it bounds                                      |
//! |-----------------------|---------|-----------------------------------------------------|
//! | `HARNESS_KEEP_RUNS`   | 100     | run directories under `runs/` (journals)            |
//! | `HARNESS_KEEP_LOGS`   | 200     | log files under `logs/`                             |
//! | `HARNESS_LOGS_MAX_MB` | 512     | total size of the log files kept under `logs/`      |

use std::path::{Path, PathBuf};

use super::EmulatorError;

pub const KEEP_RUNS_ENV: &str = "HARNESS_KEEP_RUNS";
pub const KEEP_LOGS_ENV: &str = "HARNESS_KEEP_LOGS";
pub const LOGS_MAX_MB_ENV: &str = "HARNESS_LOGS_MAX_MB";

const DEFAULT_KEEP_RUNS: u64 = 100;
const DEFAULT_KEEP_LOGS: u64 = 200;
const DEFAULT_LOGS_MAX_MB: u64 = 512;

/// How much of one directory is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// The newest entries kept at most.
    pub count: usize,
    /// Their total size at most (bytes); `None`: no cap.
    pub bytes: Option<u64>,
}

impl Keep {
    /// Run directories: `HARNESS_KEEP_RUNS`.
    pub fn runs_from_env() -> Result<Keep, EmulatorError> {
        Ok(Keep {
            count: count_var(KEEP_RUNS_ENV, DEFAULT_KEEP_RUNS)? as usize,
            bytes: None,
        })
    }

    /// Log files: `HARNESS_KEEP_LOGS` and `HARNESS_LOGS_MAX_MB`.
    pub fn logs_from_env() -> Result<Keep, EmulatorError> {
        Ok(Keep {
            count: count_var(KEEP_LOGS_ENV, DEFAULT_KEEP_LOGS)? as usize,
            bytes: Some(count_var(LOGS_MAX_MB_ENV, DEFAULT_LOGS_MAX_MB)? * 1024 * 1024),
        })
    }
}

fn count_var(name: &str, default: u64) -> Result<u64, EmulatorError> {
    count_value(name, std::env::var(name).ok(), default)
}

fn count_value(name: &str, value: Option<String>, default: u64) -> Result<u64, EmulatorError> {
    match value {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            EmulatorError::Config(format!(
                "{name}={v:?} is not a whole number; set it to how many to keep (default {default})"
            ))
        }),
    }
}

/// `(unix ms, pid)` of a run directory `<ms>-<account>-<pid>`.
pub fn run_name(name: &str) -> Option<(u128, u32)> {
    let (ms, rest) = name.split_once('-')?;
    let (_account, pid) = rest.rsplit_once('-')?;
    Some((ms.parse().ok()?, pid.parse().ok()?))
}

/// `(unix ms, pid)` of a log file `<prefix>-<ms>-<pid>-<n>.log` (paths::new_log_path).
pub fn log_name(name: &str) -> Option<(u128, u32)> {
    let stem = name.strip_suffix(".log")?;
    let mut parts = stem.rsplitn(4, '-');
    let _n: u64 = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    let ms = parts.next()?.parse().ok()?;
    parts.next()?;
    Some((ms, pid))
}

/// One entry the harness named.
struct Entry {
    path: PathBuf,
    ms: u128,
    pid: u32,
    bytes: u64,
}

/// Removes from `dir` the entries (named as `parse` reads them) beyond `keep`, oldest first,
/// except those whose process still runs. Returns the paths removed. Best effort: an entry that
/// cannot be read or removed is left.
pub fn prune(dir: &Path, parse: fn(&str) -> Option<(u128, u32)>, keep: Keep) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = read
        .flatten()
        .filter_map(|e| {
            let (ms, pid) = parse(&e.file_name().to_string_lossy())?;
            let path = e.path();
            let bytes = size(&path);
            Some(Entry {
                path,
                ms,
                pid,
                bytes,
            })
        })
        .collect();
    entries.sort_by(|a, b| b.ms.cmp(&a.ms).then_with(|| b.path.cmp(&a.path)));
    let (mut kept, mut kept_bytes, mut removed) = (0usize, 0u64, Vec::new());
    for e in entries {
        let fits = kept < keep.count && keep.bytes.is_none_or(|cap| kept_bytes + e.bytes <= cap);
        if fits || process_runs(e.pid) {
            kept += 1;
            kept_bytes += e.bytes;
            continue;
        }
        let gone = if e.path.is_dir() {
            std::fs::remove_dir_all(&e.path)
        } else {
            std::fs::remove_file(&e.path)
        };
        if gone.is_ok() {
            removed.push(e.path);
        }
    }
    removed
}

/// A file's size, or a directory's total (one level of files, as a run directory holds).
fn size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn process_runs(pid: u32) -> bool {
    pid == std::process::id() || super::sharing::procs::ProcId::of(pid).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_as_written() {
        assert_eq!(
            run_name("1796673298984-123456789012-4242"),
            Some((1796673298984, 4242))
        );
        assert_eq!(
            log_name("moto-bootstrap-1796673298984-19516-0.log"),
            Some((1796673298984, 19516))
        );
        assert_eq!(log_name("localstack+moto-17-3-12.log"), Some((17, 3)));
        assert_eq!(log_name("notes.txt"), None);
        assert_eq!(log_name("moto-x-3-1.log"), None);
        assert_eq!(run_name("README"), None);
    }

    /// A pid no process has: above the kernel's pid_max (at most 2^22).
    const DEAD_PID: u32 = 4_194_305;

    fn log(dir: &Path, ms: u128, pid: u32, bytes: usize) -> PathBuf {
        let path = dir.join(format!("moto-{ms}-{pid}-0.log"));
        std::fs::write(&path, vec![b'x'; bytes]).unwrap();
        path
    }

    #[test]
    fn keeps_the_newest_by_count_and_size_and_what_a_live_process_owns() {
        let dir = tempfile::tempdir().unwrap();
        let oldest_live = log(dir.path(), 1, std::process::id(), 10);
        let old = log(dir.path(), 2, DEAD_PID, 10);
        let mid = log(dir.path(), 3, DEAD_PID, 10);
        let new = log(dir.path(), 4, DEAD_PID, 10);
        let newest = log(dir.path(), 5, DEAD_PID, 10);
        let foreign = dir.path().join("notes.txt");
        std::fs::write(&foreign, "not ours").unwrap();

        let removed = prune(
            dir.path(),
            log_name,
            Keep {
                count: 3,
                bytes: None,
            },
        );
        assert_eq!(removed, vec![old.clone()]);
        assert!(oldest_live.exists() && mid.exists() && new.exists() && newest.exists());
        assert!(
            foreign.exists(),
            "an entry the harness did not name is never removed"
        );

        let removed = prune(
            dir.path(),
            log_name,
            Keep {
                count: 10,
                bytes: Some(25),
            },
        );
        assert_eq!(removed, vec![mid]);
        assert!(newest.exists() && new.exists() && oldest_live.exists());
    }

    #[test]
    fn run_directories_go_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |ms: u128| {
            let d = dir.path().join(format!("{ms}-000000000001-{DEAD_PID}"));
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("journal.json"), "{}").unwrap();
            d
        };
        let (a, b, c) = (mk(1), mk(2), mk(3));
        let keep = Keep {
            count: 1,
            bytes: None,
        };
        let mut removed = prune(dir.path(), run_name, keep);
        removed.sort();
        assert_eq!(removed, vec![a.clone(), b.clone()]);
        assert!(!a.exists() && !b.exists() && c.join("journal.json").exists());
    }

    #[test]
    fn settings_are_read_and_a_bad_one_is_named() {
        assert_eq!(count_value(KEEP_RUNS_ENV, None, 7).unwrap(), 7);
        assert_eq!(
            count_value(KEEP_RUNS_ENV, Some(" 3 ".into()), 7).unwrap(),
            3
        );
        let err = count_value(KEEP_RUNS_ENV, Some("ten".into()), 7).unwrap_err();
        assert_eq!(
            err.to_string(),
            EmulatorError::Config(
                "HARNESS_KEEP_RUNS=\"ten\" is not a whole number; set it to how many to keep (default 7)"
                    .into()
            )
            .to_string()
        );
    }
}
