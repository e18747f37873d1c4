//! Why this module exists: tests and `harness up` need "an AWS emulator endpoint" without caring
//! how it runs. One trait, [`Emulator`], yields an [`Endpoint`]; one file per backend:
//!
//! | `HARNESS_BACKEND`  | file                        | what runs                                  |
//! |--------------------|-----------------------------|--------------------------------------------|
//! | `moto` (default)   | `moto_process.rs`           | local `moto_server` processes, one per core |
//! |                    | `moto_shards.rs`            | (`HARNESS_MOTO_SHARDS`), accounts spread    |
//! | `moto-container`   | `moto_container.rs`         | moto in a container (testcontainers)        |
//! | `localstack`       | `localstack_container.rs`   | LocalStack in a container (testcontainers)  |
//! | `localstack+moto`  | `localstack_moto.rs`        | both: IAM, STS, Logs routed to LocalStack   |
//! | `external`         | `external.rs`               | whatever `HARNESS_ENDPOINT_URL` points at   |
//!
//! [`shared`] gives every test in a process the same emulator, started on first use. With the
//! moto process backend under `cargo test` / `cargo nextest` it is also shared by the other test
//! processes of the run (`sharing/`: a lock file elects the starter, the last one out stops it;
//! `HARNESS_SHARED_EMULATOR=0` turns that off). Otherwise it is never stopped explicitly: the
//! moto process dies with the test process through `PR_SET_PDEATHSIG`, see `child.rs`. The
//! backend in use is printed once per process on stderr. `localstack+moto` shares its moto the
//! same way; its LocalStack container is per process.
//!
//! [`Endpoint::proxy_config`] is the one place an endpoint (with its per-service routes) becomes
//! the fault proxy's configuration.

mod child;
pub mod container;
mod dist_info;
pub mod error;
pub mod external;
pub mod localstack_container;
pub mod localstack_moto;
pub mod moto_bootstrap;
pub mod moto_container;
pub mod moto_launch;
pub mod moto_process;
pub mod moto_shards;
pub mod paths;
pub mod readiness;
pub mod retention;
pub mod sharing;

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Once};

pub use child::SupervisedChild;
pub use error::EmulatorError;

use faultproxy::{Preset, ProxyConfig, Route, Shard, UpstreamFlavor};

/// Which emulator to run. Chosen with `HARNESS_BACKEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// moto as a local process (default).
    Moto,
    /// moto in a container.
    MotoContainer,
    /// LocalStack in a container.
    LocalStack,
    /// moto for ECS/ECR/EC2 and LocalStack (container) for IAM/STS/Logs, behind one endpoint.
    LocalStackMoto,
    /// An endpoint started by someone else: `HARNESS_ENDPOINT_URL`.
    External,
}

impl Backend {
    /// The environment variable that selects the backend.
    pub const ENV: &'static str = "HARNESS_BACKEND";

    /// Every backend, in documentation order.
    pub const ALL: [Backend; 5] = [
        Backend::Moto,
        Backend::MotoContainer,
        Backend::LocalStack,
        Backend::LocalStackMoto,
        Backend::External,
    ];

    /// `HARNESS_BACKEND`, default `moto`.
    pub fn from_env() -> anyhow::Result<Backend> {
        Ok(Backend::from_env_checked()?)
    }

    /// Like [`Backend::from_env`], with the harness's own error type.
    pub fn from_env_checked() -> Result<Backend, EmulatorError> {
        match std::env::var(Backend::ENV) {
            Ok(v) if !v.trim().is_empty() => v.parse(),
            _ => Ok(Backend::Moto),
        }
    }

    /// The name used in `HARNESS_BACKEND`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Moto => "moto",
            Backend::MotoContainer => "moto-container",
            Backend::LocalStack => "localstack",
            Backend::LocalStackMoto => "localstack+moto",
            Backend::External => "external",
        }
    }

    /// True for the backends that need a Docker engine.
    pub fn needs_docker(&self) -> bool {
        matches!(
            self,
            Backend::MotoContainer | Backend::LocalStack | Backend::LocalStackMoto
        )
    }
}

impl FromStr for Backend {
    type Err = EmulatorError;
    fn from_str(s: &str) -> Result<Backend, EmulatorError> {
        let wanted = s.trim().to_ascii_lowercase();
        Backend::ALL
            .into_iter()
            .find(|b| b.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Backend::ALL.iter().map(Backend::name).collect();
                EmulatorError::Config(format!(
                    "{}={s:?} is not a backend; expected one of: {}",
                    Backend::ENV,
                    names.join(", ")
                ))
            })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an emulator answers, and what kind it is.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL, e.g. `http://127.0.0.1:40123/`.
    pub url: url::Url,
    /// Tells the proxy how accounts are selected upstream (moto needs `x-moto-account-id`).
    pub flavor: UpstreamFlavor,
    /// False for LocalStack without a token: no ECS/ECR there.
    pub serves_ecs: bool,
    /// Services answered by another upstream than `url` (`localstack+moto`: IAM, STS, Logs to
    /// LocalStack). Empty: everything goes to `url`.
    pub routes: Vec<Route>,
    /// The emulator's processes when it is several (moto shards, `moto_shards.rs`), `url`'s
    /// first: each account is served by one of them ([`Endpoint::url_for_account`]). Empty:
    /// one process at `url`.
    pub shards: Vec<Shard>,
}

impl Endpoint {
    /// The URL without a trailing slash, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_string()
    }

    /// How many processes serve the main upstream's accounts (1 unless sharded).
    pub fn shard_count(&self) -> usize {
        self.shards.len().max(1)
    }

    /// The base URL (no trailing slash) of the process that serves `account`: the shard the
    /// proxy sends its requests to (`faultproxy::shard_of`), `url` when there is one process.
    /// Calls made straight to the emulator (the pool's warm-up) go here.
    pub fn url_for_account(&self, account: &str) -> String {
        match self
            .shards
            .get(faultproxy::shard_of(account, self.shards.len()))
        {
            Some(shard) => shard.url.as_str().trim_end_matches('/').to_string(),
            None => self.base_url(),
        }
    }

    /// The fault proxy's configuration in front of this endpoint: upstream (and its shards),
    /// flavor, routes and `presets`, listening on a free loopback port (set `listen` to change
    /// that). Every proxy the harness starts in front of an emulator is configured here.
    pub fn proxy_config(&self, presets: Vec<Preset>) -> ProxyConfig {
        let mut cfg = ProxyConfig::new(self.url.clone(), self.flavor);
        cfg.presets = presets;
        if let Some((first, more)) = self.shards.split_first() {
            cfg.upstream_about = first.about.clone();
            cfg.more_shards = more.to_vec();
        }
        self.routes
            .iter()
            .cloned()
            .fold(cfg, |cfg, route| cfg.with_route(route))
    }
}

/// A running (or reachable) emulator. Dropping the value stops what the harness started.
pub trait Emulator: Send + Sync {
    fn endpoint(&self) -> &Endpoint;
    fn backend(&self) -> Backend;
    /// The emulator's own output, when the harness captures it.
    fn log_path(&self) -> Option<&Path>;
    /// One line for humans: `process, moto 5.2.5 from ... (pinned install)`.
    fn describe(&self) -> String {
        self.backend().name().to_string()
    }
    /// The process id, for backends that run a local process.
    fn pid(&self) -> Option<u32> {
        None
    }
}

impl fmt::Debug for dyn Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("backend", &self.backend())
            .field("url", &self.endpoint().url.as_str())
            .field("describe", &self.describe())
            .finish()
    }
}

/// Starts (or connects to) the emulator of `backend`. Prints the backend once per process.
pub async fn start(backend: Backend) -> Result<Box<dyn Emulator>, EmulatorError> {
    let result: Result<Box<dyn Emulator>, EmulatorError> = match backend {
        Backend::Moto => start_moto(None).await,
        Backend::MotoContainer => moto_container::start().await,
        Backend::LocalStack => localstack_container::start().await,
        Backend::LocalStackMoto => localstack_moto::start(None).await,
        Backend::External => external::External::from_env()
            .await
            .map(|e| Box::new(e) as Box<dyn Emulator>),
    };
    announce(backend, &result);
    result
}

/// [`start`] for one short-lived command (`harness run`): a moto process of its own is not
/// warmed up (readiness.rs's calls load five services' code, ~0.5 s of moto's start-up, which a
/// command that calls one service, or none, never needs; a service loads on its first call).
pub async fn start_unwarmed(backend: Backend) -> Result<Box<dyn Emulator>, EmulatorError> {
    if backend != Backend::Moto {
        return start(backend).await;
    }
    let result = async {
        let mut options = moto_process::MotoOptions::from_env().await?;
        options.warm_up = false;
        moto_process::MotoProcess::start(&options)
            .await
            .map(|m| Box::new(m) as Box<dyn Emulator>)
    }
    .await;
    announce(backend, &result);
    result
}

/// moto as a local process: the run's shared one when `scope` is given (`sharing/`: attach, or
/// start it for the others), else one of this process's own.
pub(crate) async fn start_moto(
    scope: Option<&sharing::Scope>,
) -> Result<Box<dyn Emulator>, EmulatorError> {
    match scope {
        Some(scope) => sharing::attach_or_start(scope)
            .await
            .map(|m| Box::new(m) as Box<dyn Emulator>),
        None => {
            let count = moto_shards::shard_count()?;
            let options = moto_process::MotoOptions::from_env().await?;
            moto_shards::MotoShards::start(&options, count)
                .await
                .map(|m| Box::new(m) as Box<dyn Emulator>)
        }
    }
}

/// The emulator shared by every test of this process: started on first use with the backend
/// of `HARNESS_BACKEND`, then reused. A failure is also remembered, so every test reports the
/// same reason instead of retrying a slow start.
pub async fn shared() -> Result<Arc<dyn Emulator>, EmulatorError> {
    static SHARED: tokio::sync::OnceCell<Result<Arc<dyn Emulator>, EmulatorError>> =
        tokio::sync::OnceCell::const_new();
    SHARED
        .get_or_init(|| async {
            let backend = match Backend::from_env_checked() {
                Ok(b) => b,
                Err(e) => {
                    say(&format!("backend selection failed: {e}"));
                    return Err(e);
                }
            };
            match (backend, sharing::Scope::from_env()) {
                (Backend::Moto, Some(scope)) => {
                    let result = start_moto(Some(&scope)).await;
                    announce(backend, &result);
                    result.map(Arc::from)
                }
                (Backend::LocalStackMoto, scope) => {
                    let result = localstack_moto::start(scope).await;
                    announce(backend, &result);
                    result.map(Arc::from)
                }
                _ => start(backend).await.map(Arc::from),
            }
        })
        .await
        .clone()
}

/// Prints `harness: backend = ...` once per process (stderr, not captured by the test runner).
fn announce(backend: Backend, result: &Result<Box<dyn Emulator>, EmulatorError>) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| match result {
        Ok(emulator) => {
            let log = emulator
                .log_path()
                .map(|p| format!(", log {}", p.display()))
                .unwrap_or_default();
            say(&format!(
                "backend = {} ({}) at {}{log}",
                backend.name(),
                emulator.describe(),
                emulator.endpoint().base_url()
            ));
        }
        Err(e) => say(&format!("backend = {} FAILED: {e}", backend.name())),
    });
}

/// One line on stderr, prefixed `harness: `, written straight to the file descriptor so the
/// test runner's output capture does not swallow it.
pub(crate) fn say(message: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "harness: {message}");
}
