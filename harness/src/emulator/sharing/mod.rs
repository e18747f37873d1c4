//! Why this module exists: moto takes seconds to start and to import its services, and
//! `cargo test` runs many test processes. With this module the test processes of one run share
//! one moto server (accounts keep their tests apart) instead of starting one each. The server is
//! `HARNESS_MOTO_SHARDS` moto processes (`moto_shards.rs`; one per core by default), each owned
//! by a keeper of its own; the proxies of every test process spread accounts over them.
//!
//! Protocol, all under one scope directory `<target>/harness/shared-moto/run-<pid>-<start>/`
//! (the run: the `cargo` or `cargo-nextest` process that started this test process):
//! - `lock`: a `flock` lock ([`lock::ScopeLock`]); every step below happens while holding it.
//! - `state.json`: the running server (per shard: URL, keeper and moto identities, log). A
//!   process that finds it checks that every keeper lives and every moto answers, then
//!   *attaches*; otherwise (a crashed keeper, a shard that does not answer) it says which shard,
//!   kills what is left and *starts* anew.
//! - `leases/<pid>-<start>`: one per attached process, plus one for the run itself.
//! - the keepers (`keeper.py`, started by [`keeper::start_shards`]) own one moto each; every
//!   100 ms each removes leases whose process is gone; when none is left, or when its moto dies,
//!   a keeper stops its moto and the other shards' keepers (one server, one fate), removes
//!   `state.json` and exits. `cargo test` runs its test binaries one after the other, so the run's own lease (the
//!   cargo process) is what keeps moto up between them; after the run, moto is gone within
//!   a poll interval.
//!
//! A test process that was not started by cargo (run by hand, or a test's own child process)
//! gets an emulator of its own (no run to share it with); `HARNESS_SHARED_EMULATOR=0` does that
//! for everyone; `HARNESS_SHARED_EMULATOR_DIR=DIR` shares one emulator among the processes naming `DIR`
//! (no run lease there: the last process out stops it). Only the moto process backend shares;
//! container and external backends keep one emulator per test process.

pub mod keeper;
pub mod lock;
pub mod procs;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::moto_process::MotoOptions;
use super::moto_shards;
use super::readiness::{self, DEFAULT_READY_TIMEOUT};
use super::{paths, say, Backend, Emulator, EmulatorError, Endpoint};
use faultproxy::Shard;
use lock::ScopeLock;
use procs::ProcId;

/// `0` (or `false`/`no`/`off`) gives every test process its own emulator.
pub const SHARED_ENV: &str = "HARNESS_SHARED_EMULATOR";
/// A scope directory to share, instead of the run's.
pub const SCOPE_DIR_ENV: &str = "HARNESS_SHARED_EMULATOR_DIR";

/// How long an attaching process waits for a live server's answer before calling it stale.
const ATTACH_PROBE: Duration = Duration::from_secs(3);

/// Where one shared emulator lives, and the run that keeps it up (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub dir: PathBuf,
    pub run_owner: Option<ProcId>,
}

impl Scope {
    /// A scope in `dir` without a run lease: the last attached process out stops the server.
    pub fn at(dir: impl Into<PathBuf>) -> Scope {
        Scope {
            dir: dir.into(),
            run_owner: None,
        }
    }

    /// The scope of this process: `None` when sharing is off (`HARNESS_SHARED_EMULATOR=0`) or
    /// this process was not started by `cargo test` / `cargo nextest` (and no
    /// `HARNESS_SHARED_EMULATOR_DIR` is set).
    pub fn from_env() -> Option<Scope> {
        let off = std::env::var(SHARED_ENV).is_ok_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "0" | "false" | "no" | "off"
            )
        });
        if off {
            return None;
        }
        if let Some(dir) = std::env::var_os(SCOPE_DIR_ENV).filter(|v| !v.is_empty()) {
            return Some(Scope::at(dir));
        }
        let owner = procs::run_owner()?;
        Some(Scope {
            dir: paths::harness_dir()
                .join("shared-moto")
                .join(format!("run-{}", owner.lease_name())),
            run_owner: Some(owner),
        })
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }
    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    fn leases(&self) -> PathBuf {
        self.dir.join("leases")
    }
}

/// One moto process of the shared server and the keeper that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardState {
    pub url: url::Url,
    pub keeper: ProcId,
    pub moto: ProcId,
    pub log: PathBuf,
}

impl ShardState {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "url": self.url.as_str(),
            "keeper_pid": self.keeper.pid,
            "keeper_start": self.keeper.start,
            "moto_pid": self.moto.pid,
            "moto_start": self.moto.start,
            "log": self.log.display().to_string(),
        })
    }

    fn from_json(v: &serde_json::Value) -> Option<ShardState> {
        let id = |pid: &str, start: &str| {
            Some(ProcId {
                pid: u32::try_from(v.get(pid)?.as_u64()?).ok()?,
                start: v.get(start)?.as_u64()?,
            })
        };
        Some(ShardState {
            url: v.get("url")?.as_str()?.parse().ok()?,
            keeper: id("keeper_pid", "keeper_start")?,
            moto: id("moto_pid", "moto_start")?,
            log: PathBuf::from(v.get("log")?.as_str()?),
        })
    }
}

/// What `state.json` holds: the first shard's fields at the top level (`url`, `keeper_pid`,
/// ...), the others under `more_shards` (`HARNESS_MOTO_SHARDS`, `moto_shards.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerState {
    pub url: url::Url,
    pub keeper: ProcId,
    pub moto: ProcId,
    pub log: PathBuf,
    pub description: String,
    /// Shards 2.. (empty: one moto process).
    pub more_shards: Vec<ShardState>,
}

impl ServerState {
    /// The state file of `scope`, `None` when absent or unreadable (an unreadable one is
    /// treated as stale and replaced).
    pub fn read(scope: &Scope) -> Option<ServerState> {
        let text = std::fs::read_to_string(scope.state_path()).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let first = ShardState::from_json(&v)?;
        let more_shards = match v.get("more_shards") {
            None => Vec::new(),
            Some(more) => more
                .as_array()?
                .iter()
                .map(ShardState::from_json)
                .collect::<Option<Vec<_>>>()?,
        };
        Some(ServerState {
            url: first.url,
            keeper: first.keeper,
            moto: first.moto,
            log: first.log,
            description: v.get("description")?.as_str()?.to_string(),
            more_shards,
        })
    }

    /// Every shard, the first one first.
    pub fn shards(&self) -> Vec<ShardState> {
        let first = ShardState {
            url: self.url.clone(),
            keeper: self.keeper,
            moto: self.moto,
            log: self.log.clone(),
        };
        std::iter::once(first)
            .chain(self.more_shards.iter().cloned())
            .collect()
    }

    /// Writes the state file atomically (temporary file, then rename).
    pub fn write(&self, scope: &Scope) -> Result<(), EmulatorError> {
        let shards = self.shards();
        let mut v = shards[0].to_json();
        v["description"] = json!(self.description);
        if shards.len() > 1 {
            v["more_shards"] = shards[1..].iter().map(ShardState::to_json).collect();
        }
        let text = v.to_string();
        let tmp = scope.dir.join(format!("state.json.{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, scope.state_path()))
            .map_err(|e| EmulatorError::io(format!("writing {}", scope.state_path().display()), e))
    }
}

/// The shared moto, as seen by one attached process. Dropping it changes nothing (the lease
/// ends with the process); [`SharedMoto::release`] ends it early.
#[derive(Debug)]
pub struct SharedMoto {
    endpoint: Endpoint,
    state: ServerState,
    started_here: bool,
    lease: PathBuf,
}

impl SharedMoto {
    /// True when this process started the server (false: it attached to a running one).
    pub fn started_here(&self) -> bool {
        self.started_here
    }
    /// The keeper process that owns moto.
    pub fn keeper(&self) -> ProcId {
        self.state.keeper
    }
    /// The moto process.
    pub fn moto(&self) -> ProcId {
        self.state.moto
    }
    /// Ends this process's lease now; the keeper stops moto once no other lease is left.
    pub fn release(&self) {
        let _ = std::fs::remove_file(&self.lease);
    }
}

impl Emulator for SharedMoto {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    fn backend(&self) -> Backend {
        Backend::Moto
    }
    fn log_path(&self) -> Option<&Path> {
        Some(&self.state.log)
    }
    fn describe(&self) -> String {
        format!(
            "{}, shared by this run (keeper {}, {})",
            self.state.description,
            self.state.keeper.pid,
            if self.started_here {
                "started by this process"
            } else {
                "attached"
            }
        )
    }
    fn pid(&self) -> Option<u32> {
        Some(self.state.moto.pid)
    }
}

/// Attaches to the scope's running moto, or starts it (`HARNESS_MOTO_SHARDS` processes and
/// their keepers) when there is none or what the state file names is dead or does not answer.
pub async fn attach_or_start(scope: &Scope) -> Result<SharedMoto, EmulatorError> {
    attach_or_start_shards(scope, moto_shards::shard_count()?).await
}

/// [`attach_or_start`] starting `count` shards when it starts the server (a running server is
/// attached to as it is).
pub async fn attach_or_start_shards(
    scope: &Scope,
    count: usize,
) -> Result<SharedMoto, EmulatorError> {
    std::fs::create_dir_all(scope.leases())
        .map_err(|e| EmulatorError::io(format!("creating {}", scope.leases().display()), e))?;
    let ready_timeout = readiness::ready_timeout(DEFAULT_READY_TIMEOUT)?;
    // A starter holds the lock while moto starts and imports its services: allow for that.
    let lock_deadline = ready_timeout * 4 + Duration::from_secs(60);
    {
        let lock = ScopeLock::acquire(&scope.lock_path(), lock_deadline).await?;
        if let Some(shared) = try_attach(scope, &lock).await? {
            return Ok(shared);
        }
    }
    // Locating moto may install it (minutes, once; under its own lock): not under ours.
    let options = MotoOptions::from_env().await?;
    let lock = ScopeLock::acquire(&scope.lock_path(), lock_deadline).await?;
    if let Some(shared) = try_attach(scope, &lock).await? {
        return Ok(shared);
    }
    if scope.run_owner.is_some() {
        if let Some(parent) = scope.dir.parent() {
            prune_finished_runs(parent);
        }
    }
    let lease = take_leases(scope)?;
    let mut started = keeper::start_shards(&scope.dir, &options, count).await?;
    let first = started.remove(0);
    let description = if started.is_empty() {
        format!("process {}, {}", first.moto.pid, options.command.describe())
    } else {
        let pids: Vec<String> = std::iter::once(&first)
            .chain(&started)
            .map(|s| s.moto.pid.to_string())
            .collect();
        format!(
            "{count} processes (pids {}; accounts spread by id), {}",
            pids.join(", "),
            options.command.describe()
        )
    };
    let state = ServerState {
        url: first.url,
        keeper: first.keeper,
        moto: first.moto,
        log: first.log,
        description,
        more_shards: started
            .into_iter()
            .map(|s| ShardState {
                url: s.url,
                keeper: s.keeper,
                moto: s.moto,
                log: s.log,
            })
            .collect(),
    };
    state.write(scope)?;
    drop(lock);
    Ok(shared_moto(state, true, lease))
}

/// Under the lock: the running server of `scope`, after writing our leases; `None` when there
/// is none (a stale one is cleaned up first).
async fn try_attach(scope: &Scope, _lock: &ScopeLock) -> Result<Option<SharedMoto>, EmulatorError> {
    let Some(state) = ServerState::read(scope) else {
        let _ = std::fs::remove_file(scope.state_path());
        return Ok(None);
    };
    let answer = check_shards(&state).await;
    match answer {
        Ok(_) => {
            let lease = take_leases(scope)?;
            Ok(Some(shared_moto(state, false, lease)))
        }
        Err(why) => {
            say(&format!(
                "replacing the shared emulator at {} named by {}: {why}",
                state.url,
                scope.state_path().display()
            ));
            for shard in state.shards() {
                keeper::kill_group(shard.keeper);
                keeper::kill_group(shard.moto);
            }
            let _ = std::fs::remove_file(scope.state_path());
            Ok(None)
        }
    }
}

/// `Ok` when every shard's keeper lives and its moto answers; else which shard is not, with
/// its port, pid and log.
async fn check_shards(state: &ServerState) -> Result<(), String> {
    let shards = state.shards();
    let count = shards.len();
    for (i, shard) in shards.iter().enumerate() {
        let which = || {
            let name = if count > 1 {
                format!("shard {} of {count} ", i + 1)
            } else {
                String::new()
            };
            format!(
                "{name}(moto pid {}, log {})",
                shard.moto.pid,
                shard.log.display()
            )
        };
        if !shard.keeper.is_alive() {
            return Err(format!(
                "the keeper ({}) of {} is gone",
                shard.keeper,
                which()
            ));
        }
        readiness::probe(&format!("{}moto-api/", shard.url), ATTACH_PROBE)
            .await
            .map_err(|why| format!("{} at {} does not answer: {why}", which(), shard.url))?;
    }
    Ok(())
}

/// Writes this process's lease (and the run's); returns the path of ours.
fn take_leases(scope: &Scope) -> Result<PathBuf, EmulatorError> {
    let me = ProcId::current();
    for holder in std::iter::once(me).chain(scope.run_owner) {
        let path = scope.leases().join(holder.lease_name());
        std::fs::write(&path, b"")
            .map_err(|e| EmulatorError::io(format!("writing lease {}", path.display()), e))?;
    }
    Ok(scope.leases().join(me.lease_name()))
}

fn shared_moto(state: ServerState, started_here: bool, lease: PathBuf) -> SharedMoto {
    let shards = state
        .shards()
        .into_iter()
        .map(|s| Shard {
            about: moto_shards::about(s.moto.pid, &s.log),
            url: s.url,
        })
        .collect();
    SharedMoto {
        endpoint: moto_shards::sharded_endpoint(shards),
        state,
        started_here,
        lease,
    }
}

/// Removes the scope directories of earlier runs whose run process is gone and whose server is
/// stopped (best effort: a directory in use is never touched).
pub fn prune_finished_runs(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(owner) = name.strip_prefix("run-").and_then(ProcId::parse_lease_name) else {
            continue;
        };
        let scope = Scope::at(entry.path());
        let server_alive = ServerState::read(&scope).is_some_and(|s| s.keeper.is_alive());
        if !owner.is_alive() && !server_alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
