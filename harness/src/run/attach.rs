//! Why this file exists: starting and warming an emulator is most of what a `harness run` costs
//! (seconds), and a developer runs many: when a `harness up` is running for this user (its state
//! file, up_state.rs) or one is named with `--attach URL`, `harness run` leases a fresh account
//! from it over the control API (`POST /_harness/accounts`, faultproxy/src/control/accounts.rs)
//! with the run's presets, profile and seed applied to that account alone, runs CMD in it, reads
//! that account's journal and rules back, and ends the lease. Nothing is started. With no `up`
//! running (or `--attach off`) the run starts its own emulator; one stderr line says which.

use http::Method;
use serde::Deserialize;

use super::say;
use crate::control_client::Control;
use crate::launch::{settings_of, LaunchArgs};
use crate::up_state::{self, Found, UpState};
use faultproxy::{JournalEntry, ModelSettings, Preset, Rule};

/// `--attach`: `auto` (the running `up`, if any), `off`, or the URL of a harness proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachMode {
    Auto,
    Off,
    Url(String),
}

impl AttachMode {
    pub fn parse(text: &str) -> Result<AttachMode, String> {
        match text {
            "auto" => Ok(AttachMode::Auto),
            "off" => Ok(AttachMode::Off),
            url => Control::new(url).map(|_| AttachMode::Url(url.to_string())),
        }
    }
}

/// Where the run goes.
pub enum Choice {
    /// Lease from this proxy (the `up` of the state file, when it came from there).
    Attach(Control, Option<UpState>),
    /// Start an emulator of the run's own.
    Start,
}

/// Decides where the run goes; says so in one stderr line when it starts its own emulator
/// ([`Attached::lease`] says it when it attached).
pub fn choose(mode: &AttachMode, launch: &LaunchArgs) -> Result<Choice, String> {
    let path = up_state::path();
    let start = |why: String| {
        say(format!("{why}: starting an emulator for this run"));
        Choice::Start
    };
    Ok(match mode {
        AttachMode::Off => start("--attach off".into()),
        AttachMode::Url(url) => Choice::Attach(Control::new(url)?, None),
        AttachMode::Auto => match up_state::read(&path) {
            Found::Running(up) if up.backend != launch.backend.name() => start(format!(
                "the harness up at {} serves backend {}, this run asks for {}",
                up.url, up.backend, launch.backend
            )),
            Found::Running(up) => Choice::Attach(Control::new(&up.url)?, Some(up)),
            Found::Stale(up) => start(format!(
                "no harness up is running (removed the state file of pid {}, which is gone)",
                up.pid
            )),
            Found::Nothing => start("no harness up is running".into()),
        },
    })
}

/// A lease's answer (faultproxy's `LeaseView`).
#[derive(Debug, Deserialize)]
struct LeaseAnswer {
    account: String,
    presets: Vec<String>,
    #[serde(default)]
    rules: Vec<Rule>,
}

impl LeaseAnswer {
    /// The account's model settings: the presets it holds, folded as the proxy folds them.
    fn settings(&self) -> Result<ModelSettings, String> {
        let presets = self
            .presets
            .iter()
            .map(|t| Preset::parse(t).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(settings_of(&presets))
    }
}

/// An account leased from a running harness.
pub struct Attached {
    pub control: Control,
    pub up: Option<UpState>,
    pub account: String,
    /// Its settings and rules when CMD starts.
    pub settings: ModelSettings,
    pub rules: Vec<Rule>,
    /// The presets the proxy holds for it, as text.
    pub presets: Vec<String>,
}

impl Attached {
    /// Leases `account` (or a fresh one) with `presets`.
    pub async fn lease(
        control: Control,
        up: Option<UpState>,
        account: Option<&str>,
        presets: &[Preset],
    ) -> Result<Attached, String> {
        let body: Vec<String> = presets.iter().map(ToString::to_string).collect();
        // The owner lets the `up` end the lease if this process is killed before it can.
        let owner = crate::emulator::sharing::procs::ProcId::current().lease_name();
        let path = match account {
            Some(a) => format!("/_harness/accounts?account={a}&owner={owner}"),
            None => format!("/_harness/accounts?owner={owner}"),
        };
        let lease: LeaseAnswer = control
            .json(Method::POST, &path, &body.join(" "))
            .await
            .map_err(|e| match &up {
                Some(up) => format!(
                    "the harness up of pid {} did not lease an account: {e}",
                    up.pid
                ),
                None => format!("--attach {}: {e}", control.url()),
            })?;
        say(match &up {
            Some(up) => format!(
                "attached to the harness up at {} (pid {}); --attach off starts an emulator instead",
                up.url, up.pid
            ),
            None => format!("attached to the harness at {} (--attach)", control.url()),
        });
        Ok(Attached {
            settings: lease.settings()?,
            rules: lease.rules,
            account: lease.account,
            presets: lease.presets,
            control,
            up,
        })
    }

    /// Appends `rules` (scoped to the account: `account` set) to the proxy's; they go with the
    /// lease.
    pub async fn add_rules(&mut self, rules: Vec<Rule>) -> Result<(), String> {
        let body = serde_json::to_string(&rules).map_err(|e| e.to_string())?;
        let _: serde_json::Value = self
            .control
            .json(Method::PATCH, "/_harness/faults", &body)
            .await?;
        self.rules.extend(rules);
        Ok(())
    }

    /// The account's settings, rules and journal now (after CMD).
    pub async fn collect(&self) -> Result<(ModelSettings, Vec<Rule>, Vec<JournalEntry>), String> {
        let lease: LeaseAnswer = self
            .control
            .json(
                Method::GET,
                &format!("/_harness/accounts/{}", self.account),
                "",
            )
            .await?;
        let entries: Vec<JournalEntry> = self
            .control
            .json(
                Method::GET,
                &format!("/_harness/journal?account={}", self.account),
                "",
            )
            .await?;
        Ok((lease.settings()?, lease.rules, entries))
    }

    /// Ends the lease (its rules and presets go); a failure is a warning line.
    pub async fn release(&self) {
        let path = format!("/_harness/accounts/{}", self.account);
        if let Err(e) = self.control.call(Method::DELETE, &path, "").await {
            say(format!("releasing account {}: {e}", self.account));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_modes() {
        assert_eq!(AttachMode::parse("auto"), Ok(AttachMode::Auto));
        assert_eq!(AttachMode::parse("off"), Ok(AttachMode::Off));
        assert_eq!(
            AttachMode::parse("http://127.0.0.1:4566"),
            Ok(AttachMode::Url("http://127.0.0.1:4566".into()))
        );
        let e = AttachMode::parse("127.0.0.1:4566").unwrap_err();
        assert!(e.contains("http://HOST:PORT"), "{e}");
    }
}
