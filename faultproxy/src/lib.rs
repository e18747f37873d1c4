//! The AWS-aware fault-injecting reverse proxy.
//!
//! Emulators make every resource visible at once; real AWS does not. This proxy sits between AWS
//! SDK clients and an emulator (moto, LocalStack, anything HTTP; or several, one per service, see
//! [`routes`]), classifies every request (account, region, service, operation), injects faults
//! in the service's own wire protocol according to ordered [`Rule`]s, runs behaviour models that reproduce what the emulators lack
//! (the ECS service-linked-role lifecycle and its visibility delay, and the fresh-account
//! catalogue's rows: IAM propagation to ECR, Lambda, EC2, ...), and
//! journals every call without secrets. It is driven in-process through [`ProxyHandle`] or over
//! HTTP under `/_harness/` (see [`control`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use faultproxy::{self as proxy, Preset, ProxyConfig, Rule, UpstreamFlavor};
//! let mut cfg = ProxyConfig::new("http://127.0.0.1:5000".parse()?, UpstreamFlavor::Moto);
//! cfg.presets.push(Preset::parse("slr-delay=5s")?);
//! let proxy = proxy::start(cfg).await?;
//! proxy.add_rules(vec![Rule::named("throttle-ecs").for_service("ecs").with_probability(0.2, Some(7)).with_throttle()])?;
//! println!("AWS_ENDPOINT_URL={}", proxy.url());
//! # Ok(()) }
//! ```

pub mod aws;
mod body;
pub mod catalogue;
#[cfg(feature = "cli")]
pub mod cli;
pub mod control;
mod deadlines;
mod error;
pub mod faults;
pub mod journal;
pub mod limits;
pub mod models;
mod pipeline;
pub mod presets;
pub mod replay;
pub mod routes;
pub mod rules;
pub mod scopes;
mod server;
pub mod shards;
mod state;
mod upstream;
mod upstream_error;
mod workers;

/// The services the proxy knows (`Service::from_name` takes names and aliases).
pub use aws::Service;
/// `faultproxy::classify` and `faultproxy::wire` keep working (they live in `aws/`).
pub use aws::{classify, wire};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::Error;
pub use journal::{FaultKind, InjectedFault, JournalEntry, JournalStats};
pub use limits::{ControlAccess, Limits, MAX_REQUEST_BODY};
pub use models::ModelSettings;
pub use presets::{Preset, PresetError};
pub use routes::{Route, RouteError};
pub use rules::{parse_rules, ErrorSpec, LatencySpec, Rule, RuleError, Window};
pub use scopes::{AccountSource, Lease, LeaseError};
pub use shards::{shard_of, Shard, MAX_SHARDS};
pub use upstream::{detect_flavor, UpstreamFlavor};
pub use upstream_error::UpstreamError;

/// How to start a proxy.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// The emulator, `http://host:port` (a path prefix is kept).
    pub upstream: url::Url,
    /// Where to listen; `127.0.0.1:0` picks a free loopback port.
    pub listen: SocketAddr,
    /// How the account is passed on (moto needs `x-moto-account-id`).
    pub flavor: UpstreamFlavor,
    /// Presets applied at start (and again by `reset`). `Preset::seed(n)` sets the global seed.
    pub presets: Vec<Preset>,
    /// Services answered by other upstreams (see [`routes`]); empty: everything goes to
    /// `upstream`. A service named in two routes makes [`start`] fail.
    pub routes: Vec<Route>,
    /// Further processes of the main upstream (see [`shards`]): when given, each account goes
    /// to one of `upstream` (shard 1) and these (shards 2..), by [`shard_of`] over all of them.
    /// At most [`MAX_SHARDS`] in all. Routed services are not sharded.
    pub more_shards: Vec<Shard>,
    /// Who `upstream` is, for error messages when it is shard 1 of several (`Shard::about`).
    pub upstream_about: String,
}

impl ProxyConfig {
    /// Loopback, free port, no preset.
    pub fn new(upstream: url::Url, flavor: UpstreamFlavor) -> ProxyConfig {
        ProxyConfig {
            upstream,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            flavor,
            presets: Vec::new(),
            routes: Vec::new(),
            more_shards: Vec::new(),
            upstream_about: String::new(),
        }
    }

    /// The main upstream's processes, `upstream` first.
    pub fn shards(&self) -> Vec<Shard> {
        let first = Shard {
            url: self.upstream.clone(),
            about: self.upstream_about.clone(),
        };
        std::iter::once(first)
            .chain(self.more_shards.iter().cloned())
            .collect()
    }

    /// Sends the route's services to its upstream instead of `upstream`.
    pub fn with_route(mut self, route: Route) -> ProxyConfig {
        self.routes.push(route);
        self
    }

    /// Sets the global seed from which rules without their own seed derive theirs.
    pub fn with_seed(mut self, seed: u64) -> ProxyConfig {
        self.presets.retain(|p| !p.is_seed());
        self.presets.insert(0, Preset::seed(seed));
        self
    }
}

/// Starts a proxy on the current tokio runtime with the default [`Limits`]; it serves until
/// [`ProxyHandle::shutdown`] or until the last handle is dropped.
pub async fn start(cfg: ProxyConfig) -> Result<ProxyHandle, Error> {
    start_with_limits(cfg, Limits::default()).await
}

/// [`start`] with other limits and deadlines (header read timeout, header and body sizes,
/// upstream timeouts, journal capacity, control API access).
pub async fn start_with_limits(cfg: ProxyConfig, limits: Limits) -> Result<ProxyHandle, Error> {
    start_on_threads(cfg, limits, 0).await
}

/// [`start_with_limits`], but the connections are served by `threads` threads of the proxy's
/// own, each a single-threaded runtime (the accept loop stays on the current runtime). Cheaper
/// per request than a multi-threaded runtime (no cross-thread wake-ups, see `workers.rs`); the
/// `faultproxy` command serves this way with one thread per core. The threads are named
/// `fproxy<port>-<i>`. `threads` = 0 serves on the current runtime.
pub async fn start_on_threads(
    cfg: ProxyConfig,
    limits: Limits,
    threads: usize,
) -> Result<ProxyHandle, Error> {
    limits.validate().map_err(Error::InvalidLimits)?;
    let shards = cfg.shards();
    if shards.len() > MAX_SHARDS {
        return Err(Error::TooManyShards {
            given: shards.len(),
            max: MAX_SHARDS,
        });
    }
    let count = shards.len();
    let main = shards
        .iter()
        .enumerate()
        .map(|(i, shard)| {
            let up = upstream::Upstream::new(&shard.url, cfg.flavor)?
                .with_connect_timeout(limits.upstream_connect_timeout)
                .with_serving_threads(threads);
            Ok(if count > 1 {
                up.in_shard(i + 1, count, &shard.about)
            } else {
                up
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let upstreams =
        routes::Upstreams::sharded(main, &cfg.routes, limits.upstream_connect_timeout, threads)?;
    let listen_error = |source| Error::Listen {
        addr: cfg.listen,
        source,
    };
    let listener = TcpListener::bind(cfg.listen).await.map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let shared = Arc::new(state::Shared::new(upstreams, cfg.presets, limits));
    let (shutdown, rx) = watch::channel(false);
    let task = if threads == 0 {
        let (shared, conn_rx) = (shared.clone(), rx.clone());
        tokio::spawn(server::serve(listener, rx, move |stream, peer| {
            let conn = server::connection(stream, peer, shared.clone(), conn_rx.clone());
            tokio::spawn(conn);
        }))
    } else {
        let mut serving =
            workers::Workers::start(threads, addr.port(), &shared, &rx).map_err(|source| {
                Error::Io {
                    context: "starting the proxy's serving threads",
                    source,
                }
            })?;
        tokio::spawn(async move {
            server::serve(listener, rx, |stream, peer| serving.hand_over(stream, peer)).await;
            serving.stop().await;
        })
    };
    let routes: Vec<String> = cfg.routes.iter().map(Route::to_string).collect();
    tracing::debug!(%addr, upstream = %cfg.upstream, shards = count, flavor = %cfg.flavor, routes = %routes.join(" "), threads, "proxy listening");
    Ok(ProxyHandle {
        inner: Arc::new(HandleInner {
            addr,
            shared,
            shutdown,
            task: Mutex::new(Some(task)),
        }),
    })
}

/// In-process control of a running proxy; cheap to clone.
#[derive(Clone)]
pub struct ProxyHandle {
    inner: Arc<HandleInner>,
}

struct HandleInner {
    addr: SocketAddr,
    shared: Arc<state::Shared>,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

impl ProxyHandle {
    /// `http://127.0.0.1:PORT` — the endpoint URL for SDK clients (an unspecified listen address
    /// is reported as loopback).
    pub fn url(&self) -> String {
        let mut addr = self.inner.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        format!("http://{addr}")
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    pub fn flavor(&self) -> UpstreamFlavor {
        self.inner.shared.flavor()
    }

    /// The rules, in evaluation order, with their resolved names.
    pub fn rules(&self) -> Vec<Rule> {
        self.inner.shared.rules.list()
    }

    /// Replaces all rules (`vec![]` clears); an invalid rule leaves the rules unchanged.
    pub fn set_rules(&self, rules: Vec<Rule>) -> Result<(), Error> {
        rules::validate_all(&rules)?;
        self.inner.shared.rules.set(rules);
        Ok(())
    }

    /// Appends rules after the existing ones (which keep their counters); an invalid rule
    /// leaves the rules unchanged.
    pub fn add_rules(&self, rules: Vec<Rule>) -> Result<(), Error> {
        rules::validate_all(&rules)?;
        self.inner.shared.rules.add(rules);
        Ok(())
    }

    /// Parses and applies presets (`slr-delay=5s throttle=20`), the seed first.
    pub fn apply_presets(&self, text: &str) -> Result<(), Error> {
        let presets = Preset::parse_list(text)?;
        self.inner.shared.apply_presets(&presets);
        Ok(())
    }

    /// Removes the rules named `name`, or all rules; returns how many were removed.
    pub fn remove_rules(&self, name: Option<&str>) -> usize {
        self.inner.shared.rules.remove(name)
    }

    /// Applies a preset now (rule presets replace their earlier rules; model presets switch models).
    pub fn apply_preset(&self, preset: &Preset) {
        self.inner.shared.apply_preset(preset);
    }

    pub fn model_settings(&self) -> ModelSettings {
        self.inner.shared.models.settings()
    }

    pub fn set_model_settings(&self, settings: ModelSettings) {
        self.inner.shared.models.update_settings(|s| *s = settings);
    }

    /// The journal's capacity, entries kept and entries dropped to stay within it.
    pub fn journal_stats(&self) -> JournalStats {
        self.inner.shared.journal.stats()
    }

    /// Every request so far, in arrival order.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.inner.shared.journal.entries(None)
    }

    /// The requests of one account, in arrival order.
    pub fn journal_for(&self, account: &str) -> Vec<JournalEntry> {
        self.inner.shared.journal.entries(Some(account))
    }

    pub fn clear_journal(&self) {
        self.inner.shared.journal.clear();
    }

    /// Leases `account` (or a fresh one) with `presets` applied to it alone (scopes.rs).
    pub fn lease_account(
        &self,
        account: Option<&str>,
        presets: &[Preset],
    ) -> Result<Lease, LeaseError> {
        let s = &self.inner.shared;
        s.scopes.lease(account, None, presets, &s.rules, &s.models)
    }

    /// Ends the lease of `account`: its presets and rules go.
    pub fn release_account(&self, account: &str) -> Result<Lease, LeaseError> {
        let s = &self.inner.shared;
        s.scopes.release(account, &s.rules, &s.models)
    }

    /// The accounts leased now.
    pub fn leases(&self) -> Vec<Lease> {
        self.inner.shared.scopes.list()
    }

    /// Where leased accounts come from (default: a random fresh id).
    pub fn set_account_source(&self, source: AccountSource) {
        self.inner.shared.scopes.set_source(source);
    }

    /// Back to the start-up state: journal, rules, counters, model state and leases cleared,
    /// start-up presets applied again.
    pub fn reset(&self) {
        self.inner.shared.reset();
    }

    /// Stops accepting, closes open connections and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.inner.shutdown.send(true);
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// Every code model's and catalogue row's spec: the models in registry order, then the rows.
/// Settings index models in this order. It lives at the root because both `models` (settings,
/// `--model`) and `catalogue` (whose rows are models) need it, and neither may import the other
/// back.
pub fn all_model_specs() -> impl Iterator<Item = &'static models::ModelSpec> {
    models::specs().chain(catalogue::specs())
}

/// How many rows the catalogue has (the settings hold a bit per model and row).
pub(crate) const CATALOGUE_ROWS: usize =
    catalogue::PRINCIPAL_ROWS.len() + catalogue::READ_ROWS.len() + catalogue::FIDELITY_ROWS.len();

/// The catalogue's engines, as models; `first` is the id of the first row.
pub(crate) fn catalogue_engines(first: models::ModelId) -> Vec<Box<dyn models::Model>> {
    let read = first.nth(catalogue::PRINCIPAL_ROWS.len());
    vec![
        Box::new(catalogue::principal::PrincipalEngine::new(first)),
        Box::new(catalogue::read_after_create::ReadEngine::new(read)),
        Box::new(catalogue::fidelity::FidelityEngine::new(
            read.nth(catalogue::READ_ROWS.len()),
        )),
    ]
}
