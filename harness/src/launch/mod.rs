//! Why this module exists: `harness up` and `harness run` both start the same thing: the emulator
//! of the selected backend, the fault proxy in front of it (with the presets and behaviour models
//! of [`LaunchArgs`]) and one fresh account; for `harness up` moto and the account are warmed
//! before anyone uses them (pool.rs). This file starts and stops that; `args.rs` holds the flags they share. Their proxy serves on
//! threads of its own, one single-threaded runtime each ([`serving_threads`]), as the
//! `faultproxy` command does: these proxies live as long as the user's session and carry all of
//! its traffic, so the cheaper per-request path pays off (`faultproxy/src/workers.rs`).

mod args;
mod reproduce;

pub use args::{describe_models, settings_of, LaunchArgs, ModelSwitch, Profile};
pub use reproduce::reproduce_line;

use std::net::SocketAddr;

use crate::accounts;
use crate::emulator::{self, Emulator};
use crate::reports::RunRecord;
use faultproxy::{ControlAccess, Limits, ModelSettings, ProxyHandle, UpstreamFlavor};

/// Most serving threads a `harness up`/`harness run` proxy starts: beyond a few, threads only
/// add idle memory for one user's traffic.
pub const MAX_SERVING_THREADS: usize = 4;

/// Serving threads of the long-lived proxy: one per available core, at most
/// [`MAX_SERVING_THREADS`] (1 when the core count is unknown).
pub fn serving_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_SERVING_THREADS)
}

/// A running emulator with the fault proxy in front of it, and the account handed out.
pub struct Launched {
    /// Dropping it stops what the harness started (moto process, container).
    pub emulator: Box<dyn Emulator>,
    pub proxy: ProxyHandle,
    /// The 12-digit account (used as access key id).
    pub account: String,
    /// The model settings the proxy holds after its start-up presets.
    pub settings: ModelSettings,
    /// The presets the proxy started with, as text (for logs).
    pub presets: Vec<String>,
    /// What `--replay` put in, as one line (`None` without it).
    pub replay: Option<String>,
}

impl Launched {
    /// Starts the emulator of `args.backend` and a proxy on `listen` in front of it, whose
    /// control API answers `control`'s clients. `account` is used as given, else a fresh one.
    /// With `warm` (`harness up`, which serves many callers), moto and the account are warmed
    /// in `region` first; without (`harness run`, one command), each service loads on its first
    /// call, so a command pays only for the services it calls.
    pub async fn start(
        args: &LaunchArgs,
        listen: SocketAddr,
        account: Option<String>,
        region: &str,
        control: ControlAccess,
        warm: bool,
    ) -> anyhow::Result<Launched> {
        // Checked before anything starts (clap checked each value already).
        let presets = args.presets()?;
        let replay = args.replay.load()?;
        // The proxy's operation table is built while the emulator starts, on the other core.
        let preload = std::thread::spawn(faultproxy::aws::table::preload);
        let emulator = if warm {
            emulator::start(args.backend).await?
        } else {
            emulator::start_unwarmed(args.backend).await?
        };
        let _ = preload.join();
        let endpoint = emulator.endpoint().clone();
        let started_with: Vec<String> = presets.iter().map(ToString::to_string).collect();
        let mut cfg = endpoint.proxy_config(presets);
        cfg.listen = listen;
        let limits = Limits {
            control_access: control,
            ..Limits::default()
        };
        let proxy = faultproxy::start_on_threads(cfg, limits, serving_threads()).await?;
        let settings = proxy.model_settings();
        let account = account.unwrap_or_else(accounts::fresh_account_id);
        // Warmed on the emulator before it is handed out (pool.rs); LocalStack/others stay cold.
        if warm && endpoint.flavor == UpstreamFlavor::Moto {
            crate::pool::warm(&endpoint, region, &account).await;
        }
        // The run's account only: a `harness run` attached to a shared proxy leaves others alone.
        if let Some(loaded) = &replay {
            proxy.add_rules(loaded.rules(Some(&account)))?;
        }
        if !endpoint.serves_ecs {
            tracing::warn!(
                "this endpoint serves no ECS/ECR (LocalStack without LOCALSTACK_AUTH_TOKEN)"
            );
        }
        Ok(Launched {
            emulator,
            proxy,
            account,
            settings,
            presets: started_with,
            replay: replay.map(|l| l.summary(args.replay.replay_by)),
        })
    }

    /// The journal file's record of this launch (`args` are the flags it started with): no
    /// program, exit code or duration yet; the caller fills those in.
    pub fn record(&self, args: &LaunchArgs, region: &str) -> RunRecord {
        RunRecord {
            endpoint_url: self.proxy.url(),
            ..Launched::record_of(&self.account, &self.settings, &self.presets, args, region)
        }
    }

    /// The record of `account` with `settings` and `presets` (the endpoint left empty).
    pub fn record_of(
        account: &str,
        settings: &ModelSettings,
        presets: &[String],
        args: &LaunchArgs,
        region: &str,
    ) -> RunRecord {
        RunRecord {
            program: None,
            account: account.to_string(),
            region: region.to_string(),
            endpoint_url: String::new(),
            backend: args.backend.name().to_string(),
            profile: args.profile.name().to_string(),
            seed: settings.seed,
            time_scale: settings.time_scale(),
            models: settings
                .enabled_names()
                .iter()
                .map(ToString::to_string)
                .collect(),
            behaviours: Vec::new(),
            presets: presets.to_vec(),
            exit_code: None,
            signal: None,
            started_unix_ms: 0,
            duration_ms: 0,
        }
    }

    /// Stops the proxy (waits for its accept loop and serving threads), then the emulator.
    pub async fn stop(self) {
        self.proxy.shutdown().await;
        drop(self.emulator);
    }
}
