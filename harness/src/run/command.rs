//! Why this file exists: `harness run` behaves like the shells and `env(1)` about the command it
//! wraps, so scripts can tell its failures apart: a command that cannot be found exits 127, one
//! that cannot be executed 126, one killed by a signal 128 + the signal, otherwise the command's
//! own code (POSIX "Command Search and Execution",
//! https://pubs.opengroup.org/onlinepubs/9699919799/utilities/V3_chap02.html#tag_18_08_02).
//! The command is looked up before the emulator starts, so a typo costs nothing.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// Exit code when the command is not found.
pub const NOT_FOUND: u8 = 127;
/// Exit code when the command is found but cannot be executed.
pub const NOT_EXECUTABLE: u8 = 126;
/// Exit code when the harness itself fails (emulator, proxy, files) before or after the command.
pub const HARNESS_FAILED: u8 = 125;

/// Why the command cannot run, as a one-line message and an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannotRun {
    pub message: String,
    pub code: u8,
}

impl std::fmt::Display for CannotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn not_found(program: &OsStr, where_: &str) -> CannotRun {
    CannotRun {
        message: format!("cannot run '{}': {where_}", Path::new(program).display()),
        code: NOT_FOUND,
    }
}

fn not_executable(program: &OsStr, why: &str) -> CannotRun {
    CannotRun {
        message: format!("cannot run '{}': {why}", Path::new(program).display()),
        code: NOT_EXECUTABLE,
    }
}

/// What is wrong with `path` as a program, if anything.
fn check_file(program: &OsStr, path: &Path) -> Result<(), CannotRun> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return Err(not_found(program, "no such file")),
    };
    if meta.is_dir() {
        return Err(not_executable(program, "is a directory"));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(not_executable(
            program,
            "permission denied (not executable; chmod +x it)",
        ));
    }
    Ok(())
}

/// Finds `program` the way `execvp` will: a name with a `/` is a path, anything else is looked
/// up in `path_var` (the `PATH` the command inherits).
pub fn resolve(program: &OsStr, path_var: Option<&OsStr>) -> Result<PathBuf, CannotRun> {
    if program.is_empty() {
        return Err(not_found(program, "empty command name"));
    }
    if program.as_encoded_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        check_file(program, &path)?;
        return Ok(path);
    }
    let dirs: Vec<PathBuf> = path_var
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    let mut first_problem = None;
    for dir in dirs {
        // An empty PATH entry means the current directory.
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        if !candidate.exists() {
            continue;
        }
        match check_file(program, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    Err(first_problem.unwrap_or_else(|| not_found(program, "not found on PATH")))
}

/// Maps an error of `spawn` (after [`resolve`] succeeded, e.g. a bad interpreter line).
pub fn spawn_error(program: &OsStr, err: &std::io::Error) -> CannotRun {
    match err.kind() {
        std::io::ErrorKind::NotFound => not_found(
            program,
            "not found (or its interpreter, named on its #! line, is missing)",
        ),
        _ => not_executable(program, &err.to_string()),
    }
}

/// The command's exit code as a shell reports it: its own code, or 128 + the signal.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(sig)) => (128 + sig).clamp(0, 255) as u8,
        (None, None) => HARNESS_FAILED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_execvp() {
        let path = std::env::var_os("PATH");
        let sh = resolve(OsStr::new("sh"), path.as_deref()).unwrap();
        assert!(sh.ends_with("sh"), "{}", sh.display());

        let e = resolve(OsStr::new("no-such-cmd"), path.as_deref()).unwrap_err();
        assert_eq!(e.code, NOT_FOUND);
        assert_eq!(e.message, "cannot run 'no-such-cmd': not found on PATH");

        let e = resolve(OsStr::new("./no/such/file"), path.as_deref()).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (NOT_FOUND, "cannot run './no/such/file': no such file")
        );

        let dir = tempfile::tempdir().unwrap();
        let e = resolve(dir.path().as_os_str(), None).unwrap_err();
        assert_eq!(e.code, NOT_EXECUTABLE);
        assert!(e.message.ends_with("is a directory"), "{}", e.message);

        let plain = dir.path().join("plain.sh");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        let e = resolve(plain.as_os_str(), None).unwrap_err();
        assert_eq!(e.code, NOT_EXECUTABLE);
        assert!(e.message.contains("not executable"), "{}", e.message);
        // Found on PATH but not executable: 126, like bash.
        let e = resolve(OsStr::new("plain.sh"), Some(dir.path().as_os_str())).unwrap_err();
        assert_eq!(e.code, NOT_EXECUTABLE);
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        // Killed by SIGINT (2) / SIGKILL (9): raw wait status is the signal number.
        assert_eq!(exit_code(ExitStatus::from_raw(2)), 130);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }
}
