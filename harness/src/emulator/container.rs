//! Why this file exists: the container backends (moto, LocalStack) share one runner, separate
//! from the image descriptions that live with each backend (`moto_container.rs`,
//! `localstack_container.rs`), the way testcontainers-modules separates an image from the
//! runner that starts it. This file knows nothing about any particular emulator.
//!
//! What the runner guarantees:
//! - **No Docker engine → [`EmulatorError::Unavailable`]** (a loud skip for tests unless
//!   `HARNESS_REQUIRE_DOCKER=1`), decided by pinging the engine before anything else. An image
//!   that is neither present nor pullable is also `Unavailable`, naming how to build it here.
//! - **Ready means answers HTTP 2xx** on the description's path, within a deadline
//!   (`HARNESS_READY_TIMEOUT`), while the container is still running.
//! - **Logs**: everything the container prints goes to a log file under
//!   `<target>/harness/logs/`, whose path every failure names.
//! - **No container left behind.** Every container carries the label
//!   `harness.managed=true` plus the owner's pid and host name. A dropped
//!   [`RunningContainer`] removes its container. The per-process shared emulator is a static that
//!   never drops, so every container id is also recorded and removed by an `atexit` hook when
//!   the test process exits (plain blocking HTTP to the engine: no async runtime is needed
//!   then). A process killed by a signal cannot run that hook; the next process that starts a
//!   container removes the containers whose owner process is gone (same host, dead pid).
//! - **Runtime-independent.** testcontainers' container handle is bound to the tokio runtime
//!   that created it, and each `#[tokio::test]` has its own runtime that ends with the test,
//!   while the shared emulator outlives it. So the runner starts, watches and drops containers
//!   on one dedicated runtime of its own.
//! - **Secrets**: environment values marked secret (`LOCALSTACK_AUTH_TOKEN`) are passed to
//!   the container and never printed (the description's `Debug` redacts them).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use testcontainers::core::logs::consumer::LogConsumer;
use testcontainers::core::logs::LogFrame;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt, TestcontainersError};

use super::readiness::{self, POLL_INTERVAL};
use super::{paths, Backend, EmulatorError};

/// Label set on every container the harness starts; `docker ps -a --filter label=harness.managed=true`.
pub const MANAGED_LABEL: &str = "harness.managed";
/// Label: pid of the process that started the container.
pub const PID_LABEL: &str = "harness.pid";
/// Label: host name of the machine that started the container (pids are per host).
pub const HOST_LABEL: &str = "harness.host";
/// Label: the backend name (`moto-container`, `localstack`).
pub const BACKEND_LABEL: &str = "harness.backend";

/// Deadline for a container to answer when `HARNESS_READY_TIMEOUT` is not set. Generous: the
/// first start of an image on a cold disk, on a 2-core machine running a build, is slow.
pub const DEFAULT_CONTAINER_READY_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a drop waits for the container to be removed.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(30);

/// `name:tag`, overridable by an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub name: String,
    pub tag: String,
}

impl ImageRef {
    /// Parses `name[:tag]` (a registry host with a port, `host:5000/x`, keeps its port).
    pub fn parse(text: &str) -> Option<ImageRef> {
        let text = text.trim();
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        let slash = text.rfind('/').map(|i| i + 1).unwrap_or(0);
        match text[slash..].rfind(':') {
            Some(i) if slash + i + 1 < text.len() => Some(ImageRef {
                name: text[..slash + i].to_string(),
                tag: text[slash + i + 1..].to_string(),
            }),
            Some(_) => None,
            None => Some(ImageRef {
                name: text.to_string(),
                tag: "latest".to_string(),
            }),
        }
    }

    /// `var` if set and non-empty, else `default`. A malformed value is a configuration error.
    pub fn from_env_or(var: &str, default: &str) -> Result<ImageRef, EmulatorError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => ImageRef::parse(&v).ok_or_else(|| {
                EmulatorError::Config(format!(
                    "{var}={v:?} is not an image reference (name[:tag])"
                ))
            }),
            _ => Ok(ImageRef::parse(default).expect("default image reference is valid")),
        }
    }

    /// Like [`ImageRef::from_env_or`], but when `var` is unset, the default image is not on
    /// this machine and the locally built `local` one is, `local` is used: after
    /// `scripts/build-images.sh` the container backends work here without further settings.
    /// (On a machine with a registry the default is pulled as usual.)
    pub fn from_env_or_local(
        var: &str,
        default: &str,
        local: &str,
    ) -> Result<ImageRef, EmulatorError> {
        let chosen = ImageRef::from_env_or(var, default)?;
        let explicit = std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
        if explicit {
            return Ok(chosen);
        }
        if let Some(api) = DockerApi::from_env() {
            let has = |r: &str| api.image_exists(r).unwrap_or(false);
            if !has(default) && has(local) {
                return Ok(ImageRef::parse(local).expect("local image reference is valid"));
            }
        }
        Ok(chosen)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// What the runner needs to know about a container, besides the testcontainers `Image`.
#[derive(Clone)]
pub struct ContainerSpec {
    pub backend: Backend,
    pub image: ImageRef,
    /// The port the emulator listens on inside the container (mapped to an ephemeral host port).
    pub port: u16,
    pub env: Vec<(String, String)>,
    /// Passed to the container like `env`, never printed.
    pub secret_env: Vec<(String, String)>,
    /// GET path that answers 2xx once the emulator is ready.
    pub ready_path: String,
    /// Readiness deadline unless `HARNESS_READY_TIMEOUT` says otherwise.
    pub ready_timeout: Duration,
    /// How to get the image on a machine that cannot pull (shown when it is missing).
    pub image_hint: String,
}

impl fmt::Debug for ContainerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secrets: Vec<String> = self
            .secret_env
            .iter()
            .map(|(k, _)| format!("{k}=<redacted>"))
            .collect();
        f.debug_struct("ContainerSpec")
            .field("backend", &self.backend)
            .field("image", &self.image.to_string())
            .field("port", &self.port)
            .field("env", &self.env)
            .field("secret_env", &secrets)
            .field("ready_path", &self.ready_path)
            .field("ready_timeout", &self.ready_timeout)
            .finish()
    }
}

/// A started, ready container. Dropping it removes the container.
pub struct RunningContainer {
    id: String,
    image: ImageRef,
    url: url::Url,
    host_port: u16,
    log: PathBuf,
    startup: Duration,
    ready_body: String,
    handle: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl fmt::Debug for RunningContainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningContainer")
            .field("id", &self.short_id())
            .field("image", &self.image.to_string())
            .field("url", &self.url.as_str())
            .field("log", &self.log)
            .finish()
    }
}

impl RunningContainer {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }
    pub fn image(&self) -> &ImageRef {
        &self.image
    }
    /// `http://127.0.0.1:<mapped port>/`.
    pub fn url(&self) -> &url::Url {
        &self.url
    }
    pub fn host_port(&self) -> u16 {
        self.host_port
    }
    pub fn log_path(&self) -> &Path {
        &self.log
    }
    /// From "create" to "answers HTTP 2xx".
    pub fn startup_time(&self) -> Duration {
        self.startup
    }
    /// The body of the readiness answer (LocalStack's health document lists its services).
    pub fn ready_body(&self) -> &str {
        &self.ready_body
    }
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            if on_docker_runtime() {
                drop(handle);
            } else {
                let (tx, rx) = std::sync::mpsc::channel();
                docker_runtime().spawn(async move {
                    drop(handle);
                    let _ = tx.send(());
                });
                let _ = rx.recv_timeout(REMOVE_TIMEOUT);
            }
        }
        // testcontainers removed it; this is the safety net (a 404 is fine) and the bookkeeping.
        if let Some(api) = DockerApi::from_env() {
            let _ = api.remove_container(&self.id);
        }
        unregister(&self.id);
    }
}

/// Starts `image` (an `Image` or a `ContainerRequest` built from one) as described by `spec`,
/// waits until it is ready, and returns it.
pub async fn run<I, R>(image: R, spec: ContainerSpec) -> Result<RunningContainer, EmulatorError>
where
    I: Image + 'static,
    R: Into<ContainerRequest<I>>,
{
    let backend = spec.backend.name();
    let Some(api) = DockerApi::from_env() else {
        return Err(EmulatorError::Unavailable {
            backend,
            reason: format!(
                "DOCKER_HOST={:?} is not supported by the harness (unix:// or tcp:// only)",
                std::env::var("DOCKER_HOST").unwrap_or_default()
            ),
        });
    };
    // Blocking socket I/O: off the caller's runtime threads.
    let probe_api = api.clone();
    let ping = tokio::task::spawn_blocking(move || probe_api.ping())
        .await
        .unwrap_or_else(|e| Err(format!("ping task failed: {e}")));
    if let Err(e) = ping {
        return Err(EmulatorError::Unavailable {
            backend,
            reason: format!(
                "no Docker engine reachable at {} ({e}). Start Docker, or use HARNESS_BACKEND=moto (a local process)",
                api.describe()
            ),
        });
    }
    install_exit_cleanup();
    let sweep_api = api.clone();
    let _ = tokio::task::spawn_blocking(move || sweep_orphans_once(&sweep_api)).await;

    let log_dir = paths::logs_dir()?;
    let log = paths::new_log_path(&log_dir, backend);
    let request: ContainerRequest<I> = image.into();
    let task = docker_runtime().spawn(start_and_wait(request, spec, api, log));
    match task.await {
        Ok(result) => result,
        Err(e) => Err(EmulatorError::Start {
            backend,
            reason: format!("container start task failed: {e}"),
            log: PathBuf::new(),
        }),
    }
}

async fn start_and_wait<I>(
    image: ContainerRequest<I>,
    spec: ContainerSpec,
    api: DockerApi,
    log: PathBuf,
) -> Result<RunningContainer, EmulatorError>
where
    I: Image + 'static,
{
    let backend = spec.backend.name();
    let log_file = std::fs::File::create(&log)
        .map_err(|e| EmulatorError::io(format!("creating log file {}", log.display()), e))?;
    let image_present = api.image_exists(&spec.image.to_string()).unwrap_or(false);

    let mut request = image
        .with_name(spec.image.name.clone())
        .with_tag(spec.image.tag.clone())
        .with_label(MANAGED_LABEL, "true")
        .with_label(PID_LABEL, std::process::id().to_string())
        .with_label(HOST_LABEL, hostname())
        .with_label(BACKEND_LABEL, backend)
        .with_log_consumer(FileLogConsumer::new(log_file))
        .with_startup_timeout(readiness::ready_timeout(spec.ready_timeout)?);
    for (k, v) in spec.env.iter().chain(spec.secret_env.iter()) {
        request = request.with_env_var(k.clone(), v.clone());
    }

    let started = Instant::now();
    let container: ContainerAsync<I> = match request.start().await {
        Ok(c) => c,
        Err(e) => return Err(start_error(&spec, image_present, &e, &log)),
    };
    let id = container.id().to_string();
    register(&id);
    let mut running = RunningContainer {
        id,
        image: spec.image.clone(),
        url: url::Url::parse("http://127.0.0.1/").expect("static URL"),
        host_port: 0,
        log: log.clone(),
        startup: Duration::ZERO,
        ready_body: String::new(),
        handle: None,
    };

    let host_port = match container.get_host_port_ipv4(spec.port).await {
        Ok(p) => p,
        Err(e) => {
            running.handle = Some(Box::new(container));
            return Err(EmulatorError::Start {
                backend,
                reason: format!(
                    "container port {} is not mapped to the host: {e}",
                    spec.port
                ),
                log,
            });
        }
    };
    let host = match container.get_host().await {
        Ok(url::Host::Domain(d)) if d == "localhost" => "127.0.0.1".to_string(),
        Ok(h) => h.to_string(),
        Err(_) => "127.0.0.1".to_string(),
    };
    running.host_port = host_port;
    running.url = url::Url::parse(&format!("http://{host}:{host_port}/")).map_err(|e| {
        EmulatorError::Config(format!(
            "container address {host}:{host_port} is not a URL: {e}"
        ))
    })?;

    let deadline = readiness::ready_timeout(spec.ready_timeout)?;
    let probe_url = format!(
        "{}{}",
        running.url.as_str().trim_end_matches('/'),
        spec.ready_path
    );
    let mut last_error;
    let mut polls = 0u32;
    loop {
        match readiness::get_text(&probe_url).await {
            Ok((status, body)) if (200..300).contains(&status) => {
                running.ready_body = body;
                break;
            }
            Ok((status, body)) => {
                last_error = format!(
                    "HTTP {status}: {}",
                    body.chars().take(200).collect::<String>()
                )
            }
            Err(e) => last_error = e,
        }
        polls += 1;
        if polls % 10 == 0 && !container.is_running().await.unwrap_or(true) {
            let code = container.exit_code().await.ok().flatten();
            running.handle = Some(Box::new(container));
            return Err(EmulatorError::Start {
                backend,
                reason: format!(
                    "container {} ({}) exited (code {}) before it was ready; last probe of {probe_url}: {last_error}",
                    running.short_id(),
                    spec.image,
                    code.map(|c| c.to_string()).unwrap_or_else(|| "unknown".into())
                ),
                log,
            });
        }
        if started.elapsed() >= deadline {
            running.handle = Some(Box::new(container));
            return Err(EmulatorError::NotReady {
                backend,
                url: probe_url,
                waited: started.elapsed(),
                last_error,
                log,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    running.startup = started.elapsed();
    running.handle = Some(Box::new(container));
    Ok(running)
}

fn start_error(
    spec: &ContainerSpec,
    image_present: bool,
    err: &TestcontainersError,
    log: &Path,
) -> EmulatorError {
    let backend = spec.backend.name();
    let text = err.to_string();
    if !image_present {
        return EmulatorError::Unavailable {
            backend,
            reason: format!(
                "image {} is not on this machine and could not be pulled ({text}). {}",
                spec.image, spec.image_hint
            ),
        };
    }
    EmulatorError::Start {
        backend,
        reason: format!("starting {} failed: {text}", spec.image),
        log: log.to_path_buf(),
    }
}

// ---------------------------------------------------------------------------------------------
// The runner's own runtime
// ---------------------------------------------------------------------------------------------

const RUNTIME_THREAD_NAME: &str = "harness-docker";

fn docker_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(RUNTIME_THREAD_NAME)
            .enable_all()
            .build()
            .expect("cannot build the harness's docker runtime")
    })
}

fn on_docker_runtime() -> bool {
    std::thread::current().name() == Some(RUNTIME_THREAD_NAME)
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

/// Appends every frame the container prints (stdout and stderr) to the log file.
struct FileLogConsumer {
    file: Mutex<std::fs::File>,
}

impl FileLogConsumer {
    fn new(file: std::fs::File) -> FileLogConsumer {
        FileLogConsumer {
            file: Mutex::new(file),
        }
    }
}

impl LogConsumer for FileLogConsumer {
    fn accept<'a>(&'a self, record: &'a LogFrame) -> BoxFuture<'a, ()> {
        async move {
            let bytes = match record {
                LogFrame::StdOut(b) | LogFrame::StdErr(b) => b,
            };
            if let Ok(mut f) = self.file.lock() {
                let _ = f.write_all(bytes);
            }
        }
        .boxed()
    }
}

// ---------------------------------------------------------------------------------------------
// Cleanup: registry + atexit + orphan sweep
// ---------------------------------------------------------------------------------------------

static STARTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn register(id: &str) {
    STARTED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(id.to_string());
}

fn unregister(id: &str) {
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

fn install_exit_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn()` that touches only a static.
        let rc = unsafe { libc::atexit(remove_containers_at_exit) };
        if rc != 0 {
            super::say("could not register the container cleanup at exit (atexit failed)");
        }
    });
}

/// Removes containers labelled by a harness process of this host that no longer runs
/// (killed by a signal before its exit hook could run). Once per process, before the first start.
fn sweep_orphans_once(api: &DockerApi) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for id in remove_orphans(api) {
            super::say(&format!(
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

// ---------------------------------------------------------------------------------------------
// A tiny blocking Docker Engine API client: ping, image presence, list by label, remove.
// Used where no async runtime may exist (exit hook) and for the availability check.
// ---------------------------------------------------------------------------------------------

/// A container's labels.
pub type Labels = BTreeMap<String, String>;

/// Where the Docker engine listens: `DOCKER_HOST` (`unix://` or `tcp://`), else the default socket.
#[derive(Debug, Clone)]
pub enum DockerApi {
    Unix(PathBuf),
    Tcp(String),
}

const API_IO_TIMEOUT: Duration = Duration::from_secs(20);

impl DockerApi {
    /// `None` for a `DOCKER_HOST` scheme this client does not speak (ssh://, npipe://).
    pub fn from_env() -> Option<DockerApi> {
        match std::env::var("DOCKER_HOST") {
            Ok(h) if !h.trim().is_empty() => DockerApi::parse(h.trim()),
            _ => Some(DockerApi::Unix(PathBuf::from("/var/run/docker.sock"))),
        }
    }

    fn parse(host: &str) -> Option<DockerApi> {
        if let Some(path) = host.strip_prefix("unix://") {
            return Some(DockerApi::Unix(PathBuf::from(path)));
        }
        host.strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
            .map(|addr| DockerApi::Tcp(addr.trim_end_matches('/').to_string()))
    }

    fn describe(&self) -> String {
        match self {
            DockerApi::Unix(p) => format!("unix://{}", p.display()),
            DockerApi::Tcp(a) => format!("tcp://{a}"),
        }
    }

    /// One HTTP/1.0 request (the engine then answers without chunking and closes).
    fn request(&self, method: &str, path: &str) -> Result<(u16, String), String> {
        let req =
            format!("{method} {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: harness\r\n\r\n");
        let mut raw = Vec::new();
        match self {
            DockerApi::Unix(p) => {
                let mut s = std::os::unix::net::UnixStream::connect(p)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                s.set_read_timeout(Some(API_IO_TIMEOUT)).ok();
                s.set_write_timeout(Some(API_IO_TIMEOUT)).ok();
                s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
                s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
            }
            DockerApi::Tcp(a) => {
                let mut s = std::net::TcpStream::connect(a).map_err(|e| format!("{a}: {e}"))?;
                s.set_read_timeout(Some(API_IO_TIMEOUT)).ok();
                s.set_write_timeout(Some(API_IO_TIMEOUT)).ok();
                s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
                s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
            }
        }
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| {
                format!(
                    "not an HTTP answer: {:?}",
                    head.chars().take(80).collect::<String>()
                )
            })?;
        Ok((status, body.to_string()))
    }

    /// `GET /_ping` answers `OK`.
    pub fn ping(&self) -> Result<(), String> {
        match self.request("GET", "/_ping")? {
            (200, _) => Ok(()),
            (status, body) => Err(format!("engine answered HTTP {status}: {}", body.trim())),
        }
    }

    pub fn image_exists(&self, reference: &str) -> Result<bool, String> {
        let (status, _) = self.request("GET", &format!("/images/{reference}/json"))?;
        Ok(status == 200)
    }

    /// `Some(state)` (`running`, `exited`, ...) of a container, `None` when it does not exist.
    pub fn container_state(&self, id: &str) -> Result<Option<String>, String> {
        match self.request("GET", &format!("/containers/{id}/json"))? {
            (404, _) => Ok(None),
            (200, body) => {
                let doc: serde_json::Value =
                    serde_json::from_str(&body).map_err(|e| format!("inspect: {e}"))?;
                Ok(Some(
                    doc.pointer("/State/Status")
                        .and_then(|v| v.as_str())
                        .unwrap_or("unknown")
                        .to_string(),
                ))
            }
            (status, body) => Err(format!("HTTP {status}: {}", body.trim())),
        }
    }

    /// Force-removes a container and its anonymous volumes; a missing container is success.
    pub fn remove_container(&self, id: &str) -> Result<(), String> {
        match self.request("DELETE", &format!("/containers/{id}?force=1&v=1"))? {
            (200..=299, _) | (404, _) => Ok(()),
            (status, body) => Err(format!("HTTP {status}: {}", body.trim())),
        }
    }

    /// Every container (running or not) with `harness.managed=true`: id and labels.
    pub fn managed_containers(&self) -> Result<Vec<(String, Labels)>, String> {
        let filters = format!(r#"{{"label":["{MANAGED_LABEL}=true"]}}"#);
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("all", "1")
            .append_pair("filters", &filters)
            .finish();
        let (status, body) = self.request("GET", &format!("/containers/json?{query}"))?;
        if status != 200 {
            return Err(format!("HTTP {status}: {}", body.trim()));
        }
        let list: Vec<serde_json::Value> =
            serde_json::from_str(&body).map_err(|e| format!("container list: {e}"))?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let id = c.get("Id")?.as_str()?.to_string();
                let labels = c
                    .get("Labels")
                    .and_then(|l| l.as_object())
                    .map(|o| {
                        o.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                Some((id, labels))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = ImageRef::parse("motoserver/moto:5.2.5").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("motoserver/moto", "5.2.5")
        );
        let r = ImageRef::parse("harness-moto").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("harness-moto", "latest")
        );
        let r = ImageRef::parse("registry:5000/team/moto:1").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("registry:5000/team/moto", "1")
        );
        let r = ImageRef::parse("registry:5000/team/moto").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("registry:5000/team/moto", "latest")
        );
        assert_eq!(ImageRef::parse("moto:"), None);
        assert_eq!(ImageRef::parse(" "), None);
        assert_eq!(ImageRef::parse("a b:1"), None);
    }

    #[test]
    fn docker_hosts() {
        assert!(
            matches!(DockerApi::parse("unix:///run/docker.sock"), Some(DockerApi::Unix(p)) if p == Path::new("/run/docker.sock"))
        );
        assert!(
            matches!(DockerApi::parse("tcp://127.0.0.1:2375"), Some(DockerApi::Tcp(a)) if a == "127.0.0.1:2375")
        );
        assert!(DockerApi::parse("ssh://me@host").is_none());
    }

    #[test]
    fn spec_debug_redacts_secrets() {
        let spec = ContainerSpec {
            backend: Backend::LocalStack,
            image: ImageRef::parse("localstack/localstack:4.13").unwrap(),
            port: 4566,
            env: vec![("DEBUG".into(), "0".into())],
            secret_env: vec![("LOCALSTACK_AUTH_TOKEN".into(), "ls-SECRET-123".into())],
            ready_path: "/_localstack/health".into(),
            ready_timeout: Duration::from_secs(1),
            image_hint: String::new(),
        };
        let text = format!("{spec:?}");
        assert!(text.contains("LOCALSTACK_AUTH_TOKEN=<redacted>"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
