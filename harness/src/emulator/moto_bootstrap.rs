//! Why this file exists: `cargo test` must work on a machine that has only Rust and Python 3.
//! When no `moto_server` is configured or on PATH, the pinned `moto[server]` is installed once
//! into a virtual environment under the cargo target directory
//! (`<target>/harness/moto-venv-<version>`), and every later run reuses it.
//!
//! Concurrency: test binaries run in parallel (and nextest runs one process per test), so the
//! install is guarded by an exclusive `flock` on `<target>/harness/moto-venv-<version>.lock`.
//! The venv is built in a temporary sibling directory, stamped with a marker file, and then
//! renamed into place, so the final directory either does not exist or is complete. Before the
//! rename, the temporary path is rewritten to the final one in the venv's scripts (shebangs of
//! `moto_server`, `pip`, the activate files); the harness itself runs moto as
//! `<venv>/bin/python -m moto.server`, which depends on none of them. A venv later moved with
//! its directory (a copied or renamed target dir) has its scripts pointed at the new place again.
//!
//! (`flock` through libc rather than `std::fs::File::lock`: the workspace's declared
//! rust-version is older than the release that stabilised `File::lock`.)

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{paths, say, EmulatorError};

/// The moto release the harness installs when it has to install one.
pub const MOTO_VERSION: &str = "5.2.5";

/// Name of the file written into a venv once it is completely installed.
pub const MARKER_FILE: &str = ".harness-installed";

/// How often a long install reports that it is still running.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

/// Where and with which interpreter to install the pinned moto.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// Interpreter used to create the venv (`python3` on PATH unless `HARNESS_PYTHON` is set).
    pub python: PathBuf,
    /// Directory that holds the venv, its lock file and temporary install directories.
    pub root: PathBuf,
    /// moto version to install (default [`MOTO_VERSION`]).
    pub version: String,
    /// Directory for the install log.
    pub log_dir: PathBuf,
}

/// What [`Bootstrap::ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The venv was already complete; nothing was installed.
    Cached { venv: PathBuf },
    /// This call installed the venv.
    Installed { venv: PathBuf, took: Duration },
}

impl BootstrapOutcome {
    pub fn venv(&self) -> &Path {
        match self {
            BootstrapOutcome::Cached { venv } | BootstrapOutcome::Installed { venv, .. } => venv,
        }
    }
}

impl Bootstrap {
    /// Install root `root`, interpreter `python`, the pinned version, logs in `root/logs`.
    pub fn new(root: impl Into<PathBuf>, python: impl Into<PathBuf>) -> Bootstrap {
        let root = root.into();
        Bootstrap {
            python: python.into(),
            log_dir: root.join("logs"),
            root,
            version: MOTO_VERSION.to_string(),
        }
    }

    /// `<target>/harness`, `HARNESS_PYTHON` or `python3`.
    pub fn from_env() -> Bootstrap {
        let python = std::env::var_os("HARNESS_PYTHON")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("python3"));
        Bootstrap::new(paths::harness_dir(), python)
    }

    /// The pip requirement, e.g. `moto[server]==5.2.5`.
    pub fn requirement(&self) -> String {
        format!("moto[server]=={}", self.version)
    }

    /// `<root>/moto-venv-<version>`.
    pub fn venv_dir(&self) -> PathBuf {
        self.root.join(format!("moto-venv-{}", self.version))
    }

    /// The venv's interpreter: run moto as `<this> -m moto.server`.
    pub fn venv_python(&self) -> PathBuf {
        self.venv_dir().join("bin").join("python")
    }

    fn lock_path(&self) -> PathBuf {
        self.root.join(format!("moto-venv-{}.lock", self.version))
    }

    fn tmp_prefix(&self) -> String {
        format!("moto-venv-{}.tmp-", self.version)
    }

    /// True when the venv is complete (marker present and matching, interpreter present) and
    /// its scripts name the place it is in now.
    pub fn is_installed(&self) -> bool {
        matches!(self.found(), Found::Complete)
    }

    /// What is at [`Self::venv_dir`]: nothing usable, a complete venv, or a complete venv that
    /// was moved there with its directory (a copied or renamed target dir).
    fn found(&self) -> Found {
        let venv = self.venv_dir();
        let marker_ok = std::fs::read_to_string(venv.join(MARKER_FILE))
            .map(|text| text.lines().next() == Some(self.requirement().as_str()))
            .unwrap_or(false);
        if !marker_ok || !venv.join("bin").join("python").exists() {
            return Found::Absent;
        }
        match script_home(&venv.join("bin").join("moto_server")) {
            Some(home) if home != venv => Found::Moved { from: home },
            _ => Found::Complete,
        }
    }

    /// Makes sure the venv exists, installing it if needed. Blocking; safe to call from
    /// several threads and processes at once: exactly one installs, the others wait and reuse.
    /// A venv moved with its directory keeps working through `<venv>/bin/python`, but its
    /// console scripts' `#!` lines still name the old place: they are pointed here again
    /// (no reinstall).
    pub fn ensure(&self) -> Result<BootstrapOutcome, EmulatorError> {
        let venv = self.venv_dir();
        if self.is_installed() {
            return Ok(BootstrapOutcome::Cached { venv });
        }
        std::fs::create_dir_all(&self.root)
            .map_err(|e| EmulatorError::io(format!("creating {}", self.root.display()), e))?;
        let lock_path = self.lock_path();
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| EmulatorError::io(format!("opening {}", lock_path.display()), e))?;
        lock_exclusive(&lock, || {
            say(&format!(
                "waiting for another process installing {} into {} (lock {})",
                self.requirement(),
                venv.display(),
                lock_path.display()
            ))
        })
        .map_err(|e| EmulatorError::io(format!("locking {}", lock_path.display()), e))?;
        // Another process may have finished (or repointed) while we waited.
        match self.found() {
            Found::Complete => return Ok(BootstrapOutcome::Cached { venv }),
            Found::Moved { from } => {
                rewrite_paths(&venv.join("bin"), &from, &venv).map_err(|e| {
                    EmulatorError::io(format!("repointing scripts in {}", venv.display()), e)
                })?;
                say(&format!(
                    "{} was moved from {}: its scripts now name the new place",
                    venv.display(),
                    from.display()
                ));
                return Ok(BootstrapOutcome::Cached { venv });
            }
            Found::Absent => {}
        }
        let started = Instant::now();
        self.install()?;
        let took = started.elapsed();
        say(&format!(
            "installed {} into {} in {:.1} s",
            self.requirement(),
            venv.display(),
            took.as_secs_f64()
        ));
        drop(lock);
        Ok(BootstrapOutcome::Installed { venv, took })
    }

    /// The install proper; the caller holds the lock. A fresh temporary venv gets the pinned
    /// moto, is checked and stamped, then renamed into place.
    fn install(&self) -> Result<(), EmulatorError> {
        let venv = self.venv_dir();
        std::fs::create_dir_all(&self.log_dir)
            .map_err(|e| EmulatorError::io(format!("creating {}", self.log_dir.display()), e))?;
        let log = paths::new_log_path(&self.log_dir, "moto-bootstrap");
        self.check_python(&log)?;

        // Leftovers of interrupted installs: we hold the lock, so nobody else is using them.
        self.remove_stale_temp_dirs();
        let tmp = self.new_temp_dir();
        say(&format!(
            "installing {} into {} (first use only, about a minute; log: {})",
            self.requirement(),
            venv.display(),
            log.display()
        ));
        self.create_venv(&tmp, &log)?;
        self.populate(&tmp, &log).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&tmp);
        })?;
        self.move_into_place(&tmp, &venv)
    }

    /// A [`EmulatorError::Bootstrap`] of this install, with the fix to apply.
    fn failure(&self, log: &Path, reason: String, fix: &str) -> EmulatorError {
        EmulatorError::Bootstrap {
            requirement: self.requirement(),
            venv: self.venv_dir(),
            reason,
            fix: fix.to_string(),
            log: Some(log.to_path_buf()),
        }
    }

    /// `<root>/moto-venv-<version>.tmp-<pid>-<nanos>` (not created yet).
    fn new_temp_dir(&self) -> PathBuf {
        self.root.join(format!(
            "{}{}-{}",
            self.tmp_prefix(),
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ))
    }

    /// `python -m venv <tmp>`.
    fn create_venv(&self, tmp: &Path, log: &Path) -> Result<(), EmulatorError> {
        let mut create = Command::new(&self.python);
        create
            .arg("-m")
            .arg("venv")
            .arg(tmp)
            .arg("--prompt")
            .arg(format!("moto-venv-{}", self.version));
        run_logged(create, log, "python -m venv").map_err(|reason| {
            self.failure(
                log,
                reason,
                "make sure `python3 -m venv` works (Debian/Ubuntu: apt-get install python3-venv), \
                 or set HARNESS_MOTO_SERVER to a moto_server executable",
            )
        })
    }

    /// pip-installs the requirement into `tmp`, checks the installed version and points the
    /// scripts at the final directory. The caller removes `tmp` when this fails.
    fn populate(&self, tmp: &Path, log: &Path) -> Result<(), EmulatorError> {
        let tmp_python = tmp.join("bin").join("python");
        let mut pip = Command::new(&tmp_python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .arg(self.requirement());
        run_logged(pip, log, "pip install").map_err(|reason| {
            self.failure(
                log,
                reason,
                "check that PyPI (or your PIP_INDEX_URL) is reachable and re-run; \
                 or set HARNESS_MOTO_SERVER to an existing moto_server",
            )
        })?;
        let installed = python_package_version(&tmp_python, "moto").map_err(|reason| {
            self.failure(
                log,
                reason,
                "see the log; delete the venv directory and re-run",
            )
        })?;
        if installed != self.version {
            return Err(self.failure(
                log,
                format!("pip installed moto {installed}, expected {}", self.version),
                "check pip constraints (PIP_CONSTRAINT) and re-run",
            ));
        }
        // Console scripts and activate files name the temporary directory: point them at the
        // final one, so `<venv>/bin/moto_server` works once the rename has happened.
        rewrite_paths(&tmp.join("bin"), tmp, &self.venv_dir())
            .map_err(|e| EmulatorError::io(format!("rewriting scripts in {}", tmp.display()), e))
    }

    /// Stamps `tmp` with the marker and renames it to `venv` (replacing an incomplete one).
    fn move_into_place(&self, tmp: &Path, venv: &Path) -> Result<(), EmulatorError> {
        let marker = format!(
            "{}\ninstalled by harness with {} at unix time {}\n",
            self.requirement(),
            self.python.display(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        );
        std::fs::write(tmp.join(MARKER_FILE), marker)
            .map_err(|e| EmulatorError::io(format!("writing marker in {}", tmp.display()), e))?;
        if venv.exists() {
            // Incomplete (no marker) or for another requirement: replace it.
            std::fs::remove_dir_all(venv)
                .map_err(|e| EmulatorError::io(format!("removing {}", venv.display()), e))?;
        }
        std::fs::rename(tmp, venv).map_err(|e| {
            EmulatorError::io(
                format!("renaming {} to {}", tmp.display(), venv.display()),
                e,
            )
        })
    }

    /// A clear error when python3 or its venv/ensurepip modules are missing.
    fn check_python(&self, log: &Path) -> Result<(), EmulatorError> {
        let err = |reason: String, fix: &str| EmulatorError::Bootstrap {
            requirement: self.requirement(),
            venv: self.venv_dir(),
            reason,
            fix: fix.to_string(),
            log: Some(log.to_path_buf()),
        };
        let output = Command::new(&self.python)
            .args([
                "-c",
                "import sys, venv, ensurepip; print(sys.version.split()[0])",
            ])
            .stdin(Stdio::null())
            .output();
        match output {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(err(
                format!("{} was not found", self.python.display()),
                "install Python 3 with its venv module (Debian/Ubuntu: apt-get install python3 python3-venv), \
                 or set HARNESS_PYTHON to an interpreter, or set HARNESS_MOTO_SERVER to a moto_server executable",
            )),
            Err(e) => Err(err(
                format!("could not run {}: {e}", self.python.display()),
                "set HARNESS_PYTHON to a working Python 3, or HARNESS_MOTO_SERVER to a moto_server executable",
            )),
            Ok(out) if !out.status.success() => Err(err(
                format!(
                    "{} has no usable venv/ensurepip module ({}): {}",
                    self.python.display(),
                    out.status,
                    tail(&String::from_utf8_lossy(&out.stderr), 3)
                ),
                "install Python's venv module (Debian/Ubuntu: apt-get install python3-venv), \
                 or set HARNESS_MOTO_SERVER to a moto_server executable",
            )),
            Ok(_) => Ok(()),
        }
    }

    fn remove_stale_temp_dirs(&self) {
        let prefix = self.tmp_prefix();
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    tracing::info!(dir = %entry.path().display(), "removing interrupted moto install");
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
}

/// What [`Bootstrap::found`] saw at the venv's place.
enum Found {
    /// No venv, or an incomplete one, or one for another requirement: install.
    Absent,
    /// Complete, and its scripts name this place.
    Complete,
    /// Complete, but its scripts name `from`, where it was installed.
    Moved { from: PathBuf },
}

/// The venv a console script was written for: `<venv>` of its `#!<venv>/bin/python...` line.
/// None when the script is missing or its first line is not such a line.
fn script_home(script: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(script).ok()?;
    let interpreter = text
        .lines()
        .next()?
        .strip_prefix("#!")?
        .split_whitespace()
        .next()?;
    let interpreter = Path::new(interpreter);
    let bin = interpreter.parent()?;
    let named_python = interpreter
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("python"));
    (named_python && bin.file_name()? == "bin").then(|| bin.parent().map(Path::to_path_buf))?
}

/// Replaces `from` by `to` in the small text files of `dir` (a venv's `bin/`), keeping modes.
fn rewrite_paths(dir: &Path, from: &Path, to: &Path) -> io::Result<()> {
    let (from, to) = (from.to_string_lossy(), to.to_string_lossy());
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = std::fs::symlink_metadata(entry.path())?;
        if !meta.is_file() || meta.len() > 256 * 1024 {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue; // binary
        };
        if text.contains(from.as_ref()) {
            std::fs::write(entry.path(), text.replace(from.as_ref(), to.as_ref()))?;
        }
    }
    Ok(())
}

/// The installed version of a Python distribution, asked from `python`.
pub fn python_package_version(python: &Path, package: &str) -> Result<String, String> {
    let out = Command::new(python)
        .args([
            "-c",
            &format!("import importlib.metadata as m; print(m.version({package:?}))"),
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} cannot find {package} ({}): {}",
            python.display(),
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 2)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Exclusive `flock`, calling `on_wait` once if someone else holds it.
fn lock_exclusive(file: &File, on_wait: impl FnOnce()) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
        return Err(err);
    }
    on_wait();
    loop {
        // SAFETY: as above. The lock is released when `file` is closed.
        if unsafe { libc::flock(fd, libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Runs `command` with output appended to `log`, reporting progress while it runs long.
fn run_logged(mut command: Command, log: &Path, what: &str) -> Result<(), String> {
    let mut file = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("opening log {}: {e}", log.display()))?;
    let _ = writeln!(file, "$ {command:?}");
    let err_file = file
        .try_clone()
        .map_err(|e| format!("opening log {}: {e}", log.display()))?;
    command.stdin(Stdio::null()).stdout(file).stderr(err_file);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("{what}: could not run {command:?}: {e}"))?;
    let mut next_report = PROGRESS_EVERY;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("{what}: waiting: {e}")),
        }
        if started.elapsed() >= next_report {
            say(&format!(
                "still running {what} ({} s so far; log: {})",
                next_report.as_secs(),
                log.display()
            ));
            next_report += PROGRESS_EVERY;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if status.success() {
        Ok(())
    } else {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        Err(format!("{what} failed ({status}): {}", tail(&text, 5)))
    }
}

/// The last `n` non-empty lines of `text`, joined with " | ".
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}
