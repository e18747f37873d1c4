//! Why this file exists: the default backend, moto as a plain local process. Zero setup: it
//! finds a `moto_server` (or installs the pinned one, see `moto_bootstrap.rs`), starts it on an
//! ephemeral port, waits until it answers HTTP, and kills it when the handle drops.
//!
//! Which moto, in this order (deterministic, and printed with its version):
//! 1. `HARNESS_MOTO_SERVER` — an executable that accepts `-H HOST -p PORT` (always used as is);
//! 2. `moto_server` on `PATH` — only when its version is the pinned one ([`MOTO_VERSION`]): a
//!    user's older or newer moto would silently change what the tests mean, so any other
//!    version (or one that cannot be read, e.g. a dangling pyenv shim) is named, with how to use
//!    it anyway (`HARNESS_MOTO_SERVER`), and the next source is used;
//! 3. the pinned `moto[server]==5.2.5` bootstrapped under the cargo target directory, run
//!    through the harness's launcher (`moto_launch.rs`: speed-ups that cannot change an answer,
//!    then moto's own server; `HARNESS_MOTO_LAUNCHER=0` runs it plainly). 1 and 2 are the
//!    user's own moto and run as they are, without it.
//!
//! The choice (path, version, source) is printed once per process (`harness: backend = ...`).
//!
//! Port race: the port is found by binding `:0` and releasing it, so another process can take
//! it before moto binds. moto then exits with "Address already in use"; the start is retried on
//! a new port (3 attempts).

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::child::SupervisedChild;
use super::moto_bootstrap::{python_package_version, tail, Bootstrap, MOTO_VERSION};
use super::moto_launch;
use super::readiness::{self, DEFAULT_READY_TIMEOUT, POLL_INTERVAL};
use super::{paths, say, Backend, Emulator, EmulatorError, Endpoint};
use faultproxy::UpstreamFlavor;

/// Environment given to every moto process: AWS managed policies exist only with this.
pub const MOTO_ENV: &[(&str, &str)] = &[
    ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"),
    ("PYTHONUNBUFFERED", "1"),
];

/// Removed from moto's environment: moto loads its service models through botocore, which fails
/// every request with `ProfileNotFound` when `AWS_PROFILE` names a profile of the user's that
/// the config file lacks; and moto never needs the user's credentials.
pub const MOTO_ENV_REMOVED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
];

/// Where the moto executable came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotoSource {
    /// `HARNESS_MOTO_SERVER`.
    EnvOverride,
    /// `moto_server` found on `PATH`.
    Path,
    /// The pinned version installed by the harness.
    Bootstrap,
    /// Given explicitly by code (tests).
    Explicit,
}

impl MotoSource {
    fn describe(self) -> &'static str {
        match self {
            MotoSource::EnvOverride => "HARNESS_MOTO_SERVER",
            MotoSource::Path => "found on PATH",
            MotoSource::Bootstrap => "pinned install",
            MotoSource::Explicit => "given by caller",
        }
    }
}

/// How to launch moto: `program args... -H HOST -p PORT`.
#[derive(Debug, Clone)]
pub struct MotoCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub source: MotoSource,
    /// moto's version when known.
    pub version: Option<String>,
}

impl MotoCommand {
    /// A `moto_server`-like executable given by the caller (no version probe).
    pub fn server(program: impl Into<PathBuf>) -> MotoCommand {
        MotoCommand {
            program: program.into(),
            args: Vec::new(),
            source: MotoSource::Explicit,
            version: None,
        }
    }

    /// moto from a venv interpreter: `<python> -m moto.server`.
    pub fn python_module(python: impl Into<PathBuf>, version: Option<String>) -> MotoCommand {
        MotoCommand {
            program: python.into(),
            args: vec!["-m".into(), "moto.server".into()],
            source: MotoSource::Bootstrap,
            version,
        }
    }

    /// The pinned install run through the harness's launcher: `<python> <launcher>`.
    pub fn launched(
        python: impl Into<PathBuf>,
        launcher: &Path,
        version: Option<String>,
    ) -> MotoCommand {
        MotoCommand {
            program: python.into(),
            args: vec![launcher.as_os_str().to_owned()],
            source: MotoSource::Bootstrap,
            version,
        }
    }

    /// Finds moto in the documented order; may install the pinned version (blocking, slow the
    /// first time).
    pub fn locate() -> Result<MotoCommand, EmulatorError> {
        if let Some(value) = std::env::var_os("HARNESS_MOTO_SERVER").filter(|v| !v.is_empty()) {
            let given = PathBuf::from(&value);
            let program = if given.components().count() == 1 {
                find_on_path(&given).unwrap_or(given)
            } else {
                given
            };
            if !is_executable(&program) {
                return Err(EmulatorError::Config(format!(
                    "HARNESS_MOTO_SERVER={} is not an executable file",
                    program.display()
                )));
            }
            let version = probe_version(&program).ok().flatten();
            return Ok(MotoCommand {
                program,
                args: Vec::new(),
                source: MotoSource::EnvOverride,
                version,
            });
        }
        if let Some(program) = find_on_path(Path::new("moto_server")) {
            match path_candidate(&program, probe_version(&program)) {
                Ok(command) => return Ok(command),
                Err(why) => say(&why),
            }
        }
        let bootstrap = Bootstrap::from_env();
        if !bootstrap.is_installed() {
            say(&format!(
                "no HARNESS_MOTO_SERVER and no moto_server {MOTO_VERSION} on PATH: using the pinned moto install"
            ));
        }
        bootstrap.ensure()?;
        let version = Some(bootstrap.version.clone());
        if !moto_launch::launcher_enabled() {
            return Ok(MotoCommand::python_module(bootstrap.venv_python(), version));
        }
        let launcher = moto_launch::ensure_launcher(&bootstrap.root)?;
        Ok(MotoCommand::launched(
            bootstrap.venv_python(),
            &launcher,
            version,
        ))
    }

    /// `moto 5.2.1 from /path/moto_server (found on PATH)`; the arguments follow the program
    /// when there are any (`.../python .../moto-launch-<hash>.py (pinned install)`).
    pub fn describe(&self) -> String {
        let mut program = self.program.display().to_string();
        for arg in &self.args {
            program.push(' ');
            program.push_str(&arg.to_string_lossy());
        }
        format!(
            "moto {} from {program} ({})",
            self.version.as_deref().unwrap_or("(version unknown)"),
            self.source.describe()
        )
    }
}

/// The `moto_server` found on PATH at `program` (with its probed version) if it is the pinned
/// version; else the line saying why it is not used.
pub fn path_candidate(
    program: &Path,
    version: Result<Option<String>, String>,
) -> Result<MotoCommand, String> {
    let why = match version {
        Ok(Some(v)) if v == MOTO_VERSION => {
            return Ok(MotoCommand {
                program: program.to_path_buf(),
                args: Vec::new(),
                source: MotoSource::Path,
                version: Some(v),
            })
        }
        Ok(Some(v)) => format!("it is moto {v}, not the pinned {MOTO_VERSION}"),
        Ok(None) => "its moto version cannot be read".to_owned(),
        Err(why) => why,
    };
    Err(format!(
        "ignoring moto_server on PATH at {}: {why}; using the pinned install instead \
         (HARNESS_MOTO_SERVER={} uses it anyway)",
        program.display(),
        program.display()
    ))
}

/// How to start one moto process.
#[derive(Debug, Clone)]
pub struct MotoOptions {
    pub command: MotoCommand,
    /// Address moto listens on (127.0.0.1).
    pub host: IpAddr,
    /// Readiness deadline per attempt.
    pub ready_timeout: Duration,
    /// Where log files go.
    pub log_dir: PathBuf,
    /// Attempts on a fresh port when moto loses the port race.
    pub port_attempts: u32,
    /// Extra environment for the process (after [`MOTO_ENV`]).
    pub env: Vec<(OsString, OsString)>,
    /// Make the warm-up calls once it answers (readiness.rs), so the first caller does not pay
    /// moto's lazy imports.
    pub warm_up: bool,
}

impl MotoOptions {
    /// Defaults around `command`: 127.0.0.1, 30 s, `<target>/harness/logs`, 3 attempts.
    pub fn new(command: MotoCommand) -> MotoOptions {
        MotoOptions {
            command,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ready_timeout: DEFAULT_READY_TIMEOUT,
            log_dir: paths::harness_dir().join("logs"),
            port_attempts: 3,
            env: Vec::new(),
            warm_up: true,
        }
    }

    /// Locates moto (may bootstrap, off the async runtime) and reads `HARNESS_READY_TIMEOUT`.
    pub async fn from_env() -> Result<MotoOptions, EmulatorError> {
        let ready_timeout = readiness::ready_timeout(DEFAULT_READY_TIMEOUT)?;
        let command = tokio::task::spawn_blocking(MotoCommand::locate)
            .await
            .map_err(|e| EmulatorError::Config(format!("locating moto panicked: {e}")))??;
        let mut options = MotoOptions::new(command);
        options.ready_timeout = ready_timeout;
        Ok(options)
    }
}

/// A running moto process. Dropping it kills the process.
#[derive(Debug)]
pub struct MotoProcess {
    endpoint: Endpoint,
    child: Mutex<SupervisedChild>,
    pid: u32,
    log: PathBuf,
    description: String,
}

impl MotoProcess {
    /// Starts moto and waits until it answers HTTP.
    pub async fn start(options: &MotoOptions) -> Result<MotoProcess, EmulatorError> {
        std::fs::create_dir_all(&options.log_dir).map_err(|e| {
            EmulatorError::io(
                format!("creating log directory {}", options.log_dir.display()),
                e,
            )
        })?;
        let attempts = options.port_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let log = paths::new_log_path(&options.log_dir, "moto");
            match Self::start_once(options, &log).await {
                Ok(process) => return Ok(process),
                Err(StartFailure::PortTaken(port)) if attempt < attempts => {
                    tracing::info!(port, attempt, log = %log.display(), "moto lost the port race; retrying on another port");
                }
                Err(StartFailure::PortTaken(port)) => {
                    return Err(EmulatorError::Start {
                        backend: Backend::Moto.name(),
                        reason: format!(
                            "port {port} was taken before moto could bind it, {attempts} times"
                        ),
                        log,
                    })
                }
                Err(StartFailure::Other(e)) => return Err(e),
            }
        }
    }

    async fn start_once(options: &MotoOptions, log: &Path) -> Result<MotoProcess, StartFailure> {
        let start_err = |reason: String| {
            StartFailure::Other(EmulatorError::Start {
                backend: Backend::Moto.name(),
                reason,
                log: log.to_path_buf(),
            })
        };
        let port = free_port(options.host)
            .map_err(|e| start_err(format!("finding a free port on {}: {e}", options.host)))?;
        let mut command = Command::new(&options.command.program);
        command
            .args(&options.command.args)
            .arg("-H")
            .arg(options.host.to_string())
            .arg("-p")
            .arg(port.to_string());
        for key in MOTO_ENV_REMOVED {
            command.env_remove(key);
        }
        for (key, value) in MOTO_ENV {
            command.env(key, value);
        }
        for (key, value) in &options.env {
            command.env(key, value);
        }
        let mut child = SupervisedChild::spawn(command, log).map_err(|e| {
            start_err(format!(
                "could not run {}: {e}",
                options.command.program.display()
            ))
        })?;
        let addr = SocketAddr::new(options.host, port);
        let url = format!("http://{addr}");
        let probe_url = format!("{url}/moto-api/");
        let started = Instant::now();
        let mut last_error = String::from("not probed yet");
        loop {
            if let Some(status) = child.exit_status() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                if text.contains("Address already in use") {
                    return Err(StartFailure::PortTaken(port));
                }
                return Err(start_err(format!(
                    "exited with {status} before answering on {url}; last output: {}",
                    tail(&text, 3)
                )));
            }
            let elapsed = started.elapsed();
            if elapsed >= options.ready_timeout {
                child.kill();
                return Err(StartFailure::Other(EmulatorError::NotReady {
                    backend: Backend::Moto.name(),
                    url,
                    waited: elapsed,
                    last_error,
                    log: log.to_path_buf(),
                }));
            }
            match readiness::probe(&probe_url, options.ready_timeout - elapsed).await {
                Ok(_) => break,
                Err(e) => last_error = e,
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        let pid = child.pid();
        let endpoint_url: url::Url = url.parse().expect("a socket address makes a valid URL");
        let ready_ms = started.elapsed().as_millis() as u64;
        let warmup = if options.warm_up {
            readiness::warm_up_moto(&endpoint_url).await
        } else {
            Duration::ZERO
        };
        tracing::info!(pid, %url, took_ms = ready_ms, warmup_ms = warmup.as_millis() as u64, log = %log.display(), "moto ready");
        Ok(MotoProcess {
            endpoint: Endpoint {
                url: endpoint_url,
                flavor: UpstreamFlavor::Moto,
                serves_ecs: true,
                routes: Vec::new(),
                shards: Vec::new(),
            },
            child: Mutex::new(child),
            pid,
            log: log.to_path_buf(),
            description: format!("process {pid}, {}", options.command.describe()),
        })
    }

    /// The moto process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills the process now (also done on drop).
    pub fn stop(&self) {
        if let Ok(mut child) = self.child.lock() {
            child.kill();
        }
    }
}

impl Emulator for MotoProcess {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    fn backend(&self) -> Backend {
        Backend::Moto
    }
    fn log_path(&self) -> Option<&Path> {
        Some(&self.log)
    }
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }
}

enum StartFailure {
    PortTaken(u16),
    Other(EmulatorError),
}

/// A port that was free a moment ago.
pub(crate) fn free_port(host: IpAddr) -> std::io::Result<u16> {
    Ok(TcpListener::bind(SocketAddr::new(host, 0))?
        .local_addr()?
        .port())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// First executable `name` on `PATH`.
pub fn find_on_path(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The moto version behind a `moto_server` script: asks the script's Python (from its shebang,
/// or a `python3` next to it, as for pyenv shims). `Ok(None)` when no interpreter can be
/// identified; `Err` when the interpreter cannot import moto.
pub fn probe_version(program: &Path) -> Result<Option<String>, String> {
    match interpreter_for(program) {
        None => Ok(None),
        Some(python) => match super::dist_info::installed_version(&python, "moto") {
            // Another version only makes the harness use its pinned install: the name on disk
            // is enough. The pin itself is confirmed by Python (a user-site install can shadow
            // the prefix's).
            Some(other) if other != MOTO_VERSION => Ok(Some(other)),
            _ => python_package_version(&python, "moto").map(Some),
        },
    }
}

fn interpreter_for(script: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    if let Some(shebang) = text.lines().next().and_then(|l| l.strip_prefix("#!")) {
        let mut words = shebang.split_whitespace();
        let first = words.next().unwrap_or_default();
        let python = if first.ends_with("/env") {
            words.next().unwrap_or_default()
        } else {
            first
        };
        let is_python = Path::new(python)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("python"));
        if is_python {
            return Some(PathBuf::from(python));
        }
    }
    let dir = script.parent()?;
    ["python3", "python"]
        .iter()
        .map(|name| dir.join(name))
        .find(|candidate| is_executable(candidate))
}
