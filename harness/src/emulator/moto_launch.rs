//! Why this file exists: moto's CPU is the test suite's shared bottleneck (one Python process,
//! one core), and most of what a new account costs it is work that cannot change an answer
//! `moto_launch.py` removes that work, then runs moto's own server entry point with
//! the same arguments; see its comments for each speed-up and why it is answer-neutral. This
//! file puts the launcher where the pinned install can run it: it is compiled into the harness
//! and written to `<target>/harness/moto-launch-<hash>.py` (the hash of its text, so every
//! version of it has its own file and a running moto never sees its file rewritten), then the
//! pinned moto runs as `<venv>/bin/python <that file> -H HOST -p PORT`. Writing a new version
//! removes the launchers of other versions untouched for a day ([`STALE_AFTER`]): a moto started
//! from one has read it long ago, and a younger one may belong to another checkout's test run
//! sharing this target dir, about to start.
//!
//! Only the pinned install goes through it (see `moto_process.rs`): `HARNESS_MOTO_SERVER` is
//! the user's own executable, run as given, and a `moto_server` on PATH is the user's install,
//! run as found; the launcher's speed-ups are written against the pinned moto only.
//! `HARNESS_MOTO_LAUNCHER=0` runs the pinned install plainly (`python -m moto.server`): to
//! compare, or to rule the launcher out when moto misbehaves.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::EmulatorError;

/// The launcher's source.
pub const LAUNCHER_PY: &str = include_str!("moto_launch.py");

/// The line the launcher prints (on stderr, so in moto's log) once its speed-ups are in place.
pub const APPLIED_LINE: &str = "harness moto launcher: moto 5.2.5, speed-ups applied:";

/// The line it prints once moto's EC2 package has loaded (its first EC2 call) and EC2's
/// speed-ups are in place.
pub const EC2_APPLIED_LINE: &str = "harness moto launcher: EC2 loaded, speed-ups applied: AMI resource files parsed once; EC2 hex ids drawn with getrandbits";

/// Set to `0` (or `false`, `no`, `off`) to run the pinned moto without the launcher.
pub const LAUNCHER_ENV: &str = "HARNESS_MOTO_LAUNCHER";

/// How long another version's launcher stays after this one is written.
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// False when [`LAUNCHER_ENV`] turns the launcher off.
pub fn launcher_enabled() -> bool {
    !std::env::var(LAUNCHER_ENV).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        )
    })
}

/// `<dir>/moto-launch-<16 hex digits of the text's FNV-1a hash>.py`.
pub fn launcher_path(dir: &Path) -> PathBuf {
    let hash = LAUNCHER_PY.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    dir.join(format!("moto-launch-{hash:016x}.py"))
}

/// Writes the launcher into `dir` unless it is already there; returns its path. The text goes
/// to a temporary file renamed into place, so a concurrent test process never runs half of it.
pub fn ensure_launcher(dir: &Path) -> Result<PathBuf, EmulatorError> {
    let path = launcher_path(dir);
    if std::fs::read_to_string(&path).is_ok_and(|text| text == LAUNCHER_PY) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| EmulatorError::io(format!("creating {}", dir.display()), e))?;
    let tmp = dir.join(format!(
        ".moto-launch-{}-{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&tmp, LAUNCHER_PY)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            EmulatorError::io(format!("writing the moto launcher {}", path.display()), e)
        })?;
    remove_stale_launchers(dir, &path);
    Ok(path)
}

/// Removes the launchers in `dir` other than `current` last modified more than [`STALE_AFTER`]
/// ago. Best effort: a launcher that cannot be removed only takes a few kilobytes.
fn remove_stale_launchers(dir: &Path, current: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE_AFTER));
        if name.starts_with("moto-launch-") && name.ends_with(".py") && path != current && stale {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launcher_is_written_once_under_a_name_that_follows_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = ensure_launcher(dir.path()).unwrap();
        assert_eq!(path, launcher_path(dir.path()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), LAUNCHER_PY);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("moto-launch-") && name.ends_with(".py"),
            "{name}"
        );
        // A damaged copy is replaced; nothing else is left in the directory.
        std::fs::write(&path, "truncated").unwrap();
        assert_eq!(ensure_launcher(dir.path()).unwrap(), path);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), LAUNCHER_PY);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn writing_a_new_launcher_removes_other_versions_untouched_for_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("moto-launch-00000000000000aa.py");
        let recent = dir.path().join("moto-launch-00000000000000bb.py");
        let unrelated = dir.path().join("moto-20.log");
        for file in [&old, &recent, &unrelated] {
            std::fs::write(file, "x").unwrap();
        }
        let long_ago = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        for file in [&old, &unrelated] {
            std::fs::File::options()
                .write(true)
                .open(file)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        let path = ensure_launcher(dir.path()).unwrap();
        assert!(path.exists());
        assert!(!old.exists(), "another version, a day old: removed");
        assert!(recent.exists(), "another version, recent: kept");
        assert!(unrelated.exists(), "not a launcher: kept");
    }

    #[test]
    fn the_applied_line_names_the_pinned_version() {
        assert!(APPLIED_LINE.contains(super::super::moto_bootstrap::MOTO_VERSION));
        assert!(LAUNCHER_PY.contains(&format!(
            "PINNED = \"{}\"",
            super::super::moto_bootstrap::MOTO_VERSION
        )));
    }
}
