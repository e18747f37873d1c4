//! Why this file exists: the foreign-clients test needs boto3 and the AWS CLI v1 at the versions
//! pinned in `requirements.txt`, on a machine that has only Python 3. This installs them once into
//! a venv under `<target>/harness/pyclients/venv` and reuses it while it has exactly the pinned
//! versions (checked by `check_pins.py`). The recipes test installs its own pinned tools
//! (pytest, Ansible) the same way into another root ([`Installer::ensure_with`]). A missing `python3`, `venv` module, `pip` or an
//! unreachable PyPI is an error naming the command that failed, never a skip.
//!
//! The install runs in place (the `aws` script's shebang names the venv's python) under an
//! exclusive `flock`, so two test processes never install at once; a venv that fails the check
//! is deleted and rebuilt.

use std::fs::{self, File};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Interpreter used to create the venv when set (else `python3` on PATH), as for moto.
pub const PYTHON_ENV: &str = "HARNESS_PYTHON";

/// The installed clients.
#[derive(Debug)]
pub struct PyClients {
    /// `<venv>/bin/python`: runs the case table.
    pub python: PathBuf,
    /// `<venv>/bin/aws`: the AWS CLI v1.
    pub aws: PathBuf,
    /// `<venv>/bin`: the venv's console scripts.
    pub bin: PathBuf,
    /// `None` when the cached venv was reused, else how long the install took.
    pub installed_in: Option<Duration>,
}

/// The folder with requirements.txt and the Python scripts.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/foreign_clients")
}

/// `<target>/harness/pyclients` (`CARGO_TARGET_DIR` if set, else two levels above the harness binary).
pub fn root() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| {
            let bin = Path::new(env!("CARGO_BIN_EXE_harness"));
            bin.ancestors()
                .nth(2)
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("target"))
        });
    target.join("harness").join("pyclients")
}

/// Where and with what to install.
#[derive(Debug, Clone)]
pub struct Installer {
    /// Holds `venv/` and its lock file.
    pub root: PathBuf,
    /// Interpreter that creates the venv.
    pub python: PathBuf,
    /// Extra environment of the `pip install` (tests point it at an unreachable index).
    pub pip_env: Vec<(String, String)>,
}

impl Installer {
    /// [`root`], `HARNESS_PYTHON` or `python3`, pip as configured on this machine.
    pub fn from_env() -> Installer {
        let python = std::env::var_os(PYTHON_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("python3"));
        Installer {
            root: root(),
            python,
            pip_env: Vec::new(),
        }
    }
}

/// Makes sure the venv under [`root`] has the pinned clients; installs them if not.
pub fn ensure() -> Result<PyClients, String> {
    Installer::from_env().ensure()
}

impl Installer {
    /// Makes sure `<root>/venv` has the pinned clients; installs them if not.
    pub fn ensure(&self) -> Result<PyClients, String> {
        self.ensure_with(&scripts_dir().join("requirements.txt"), "aws")
    }

    /// Makes sure `<root>/venv` has exactly the pins of `requirements`; installs them if not.
    /// `console_script` is one of the venv's scripts: a venv whose script names an interpreter
    /// that is gone (a moved target dir) is rebuilt.
    pub fn ensure_with(
        &self,
        requirements: &Path,
        console_script: &str,
    ) -> Result<PyClients, String> {
        let requirements = requirements.to_path_buf();
        let venv = self.root.join("venv");
        fs::create_dir_all(&self.root)
            .map_err(|e| format!("creating {}: {e}", self.root.display()))?;
        let _lock = lock(&self.root.join("venv.lock"))?;
        let clients = PyClients {
            python: venv.join("bin").join("python"),
            aws: venv.join("bin").join("aws"),
            bin: venv.join("bin"),
            installed_in: None,
        };
        let script = clients.bin.join(console_script);
        // A venv whose interpreter no longer runs counts as stale, like one with other versions,
        // and so does one moved with its directory (a copied or renamed target dir): its console
        // script's `#!` line still names the interpreter at the old place.
        if clients.python.exists()
            && interpreter_exists(&script)
            && matches!(pins_match(&clients.python, &requirements), Ok(None))
        {
            return Ok(clients);
        }
        let started = Instant::now();
        if venv.exists() {
            fs::remove_dir_all(&venv)
                .map_err(|e| format!("removing stale {}: {e}", venv.display()))?;
        }
        let mut create = Command::new(&self.python);
        create.arg("-m").arg("venv").arg(&venv);
        run(
            create,
            "install Python 3 with its venv module (Debian: apt-get install -y python3 python3-venv), \
             or point HARNESS_PYTHON at an interpreter that has it",
        )?;
        let mut pip = Command::new(&clients.python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--no-input",
            "--disable-pip-version-check",
        ])
        .args(["--timeout", "30", "--retries", "2", "-r"])
        .arg(&requirements)
        .envs(self.pip_env.iter().map(|(k, v)| (k, v)));
        run(
            pip,
            "pip must reach PyPI (or the index in PIP_INDEX_URL / PIP_FIND_LINKS); \
             a venv without pip needs python3-venv (Debian) or ensurepip",
        )?;
        if let Some(wrong) = pins_match(&clients.python, &requirements)? {
            return Err(format!(
                "after `pip install -r {}` the venv {} still differs from the pins:\n{wrong}\n\
                 (a PIP_CONSTRAINT or a pip config overriding versions?)",
                requirements.display(),
                venv.display()
            ));
        }
        Ok(PyClients {
            installed_in: Some(started.elapsed()),
            ..clients
        })
    }
}

/// Whether the interpreter named by `script`'s `#!` line exists (false for a missing script).
fn interpreter_exists(script: &Path) -> bool {
    fs::read_to_string(script)
        .ok()
        .and_then(|text| {
            let first = text.lines().next()?.strip_prefix("#!")?;
            Some(PathBuf::from(first.split_whitespace().next()?))
        })
        .is_some_and(|interpreter| interpreter.exists())
}

/// `None` when the venv's python has exactly the pinned versions, else what differs.
fn pins_match(python: &Path, requirements: &Path) -> Result<Option<String>, String> {
    let mut check = Command::new(python);
    check
        .arg(scripts_dir().join("check_pins.py"))
        .arg(requirements);
    let out = output(&mut check)?;
    if out.status.success() {
        return Ok(None);
    }
    let what = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(Some(if what.is_empty() { tail(&out) } else { what }))
}

fn run(mut cmd: Command, hint: &str) -> Result<(), String> {
    let out = output(&mut cmd).map_err(|e| format!("{e}; {hint}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{}` failed ({}):\n{}\n{hint}",
        show(&cmd),
        out.status,
        tail(&out)
    ))
}

fn output(cmd: &mut Command) -> Result<Output, String> {
    cmd.output()
        .map_err(|e| format!("`{}` could not start: {e}", show(cmd)))
}

fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last lines of a command's output (stdout and stderr), for an error message.
fn tail(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

/// An exclusive `flock` held until the returned file is dropped.
fn lock(path: &Path) -> Result<File, String> {
    let file = File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; released when `file` is closed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "flock {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(file)
}

#[test]
fn a_venv_moved_with_its_directory_counts_as_stale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let python = dir.path().join("python");
    fs::write(&python, "").expect("write");
    let here = dir.path().join("aws-here");
    fs::write(&here, format!("#!{}\nimport awscli\n", python.display())).expect("write");
    let moved = dir.path().join("aws-moved");
    fs::write(&moved, "#!/gone/target/harness/pyclients/venv/bin/python\n").expect("write");
    assert!(interpreter_exists(&here));
    assert!(!interpreter_exists(&moved));
    assert!(!interpreter_exists(&dir.path().join("no-such-script")));
}
