//! Why this file exists: moto is one Python process, bound to one core by its interpreter lock,
//! so every parallel user of one harness (the scenario suite, a CI job running many stacks) waits
//! on one core of moto. Accounts are independent, so the moto backends run several moto
//! processes (shards) and the fault proxy sends each account to one of them, always the same
//! one (`faultproxy::shard_of`, a hash of the account id). This file says how many
//! ([`shard_count`], `HARNESS_MOTO_SHARDS`) and runs that many private moto processes as one
//! emulator ([`MotoShards`]); the run-wide shared moto (`sharing/`) and the moto container
//! backend start their shards themselves with the same count.
//!
//! Each shard is a whole moto (with the launcher, `moto_launch.rs`, per process); an account
//! lives in one shard only, so accounts stay as isolated as in one process. A shard that dies
//! is named by the proxy's answer to every request of its accounts (shard number, URL, pid and
//! log, see `Endpoint::shards`).

use std::path::Path;

use faultproxy::{Shard, UpstreamFlavor, MAX_SHARDS};

use super::moto_process::{MotoOptions, MotoProcess};
use super::{Backend, Emulator, EmulatorError, Endpoint};

/// The variable that sets the number of moto processes.
pub const SHARDS_ENV: &str = "HARNESS_MOTO_SHARDS";

/// The default is one process per core, but no more than this: past it a machine's memory
/// (each moto holds its accounts) matters more than its cores for a test run.
pub const DEFAULT_MAX_SHARDS: usize = 8;

/// `HARNESS_MOTO_SHARDS`, else one per core (at most [`DEFAULT_MAX_SHARDS`]). A value that is
/// not a whole number from 1 to [`MAX_SHARDS`] is a one-line error naming the allowed range.
pub fn shard_count() -> Result<usize, EmulatorError> {
    match std::env::var(SHARDS_ENV) {
        Ok(value) if !value.trim().is_empty() => parse_shard_count(&value),
        _ => Ok(default_shard_count()),
    }
}

/// One per core, at most [`DEFAULT_MAX_SHARDS`].
pub fn default_shard_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, DEFAULT_MAX_SHARDS)
}

/// A `HARNESS_MOTO_SHARDS` value: 1 to [`MAX_SHARDS`].
pub fn parse_shard_count(value: &str) -> Result<usize, EmulatorError> {
    let bad = |why: &str| {
        EmulatorError::Config(format!(
            "{SHARDS_ENV}={value:?} {why}; expected a number of moto processes from 1 to \
             {MAX_SHARDS} (unset: one per core, at most {DEFAULT_MAX_SHARDS})"
        ))
    };
    match value.trim().parse::<usize>() {
        Ok(0) => Err(bad("is zero")),
        Ok(n) if n > MAX_SHARDS => Err(bad("is too many")),
        Ok(n) => Ok(n),
        Err(_) => Err(bad("is not a whole number")),
    }
}

/// The endpoint of moto processes at `urls` (first to last: shard 1 to N), each described by
/// its `about` (pid, log) for the proxy's error messages.
pub fn sharded_endpoint(shards: Vec<Shard>) -> Endpoint {
    let url = shards[0].url.clone();
    Endpoint {
        url,
        flavor: UpstreamFlavor::Moto,
        serves_ecs: true,
        routes: Vec::new(),
        shards: if shards.len() > 1 { shards } else { Vec::new() },
    }
}

/// How a shard introduces itself in the proxy's error messages.
pub fn about(pid: u32, log: &Path) -> String {
    format!("pid {pid}, log {}", log.display())
}

/// Several private moto processes serving as one emulator. Dropping it kills them all.
#[derive(Debug)]
pub struct MotoShards {
    processes: Vec<MotoProcess>,
    endpoint: Endpoint,
}

impl MotoShards {
    /// Starts `count` moto processes at once and waits until each answers; if one cannot
    /// start, the others are stopped and the error names the shard.
    pub async fn start(options: &MotoOptions, count: usize) -> Result<MotoShards, EmulatorError> {
        let starts = (0..count).map(|_| MotoProcess::start(options));
        let results = futures::future::join_all(starts).await;
        let mut processes = Vec::with_capacity(count);
        let mut failure = None;
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(process) => processes.push(process),
                Err(e) if failure.is_none() => {
                    failure = Some(e.in_shard(i + 1, count));
                }
                Err(_) => {}
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let shards = processes
            .iter()
            .map(|p| Shard {
                url: p.endpoint().url.clone(),
                about: about(p.pid(), p.log_path().unwrap_or(Path::new("-"))),
            })
            .collect();
        Ok(MotoShards {
            endpoint: sharded_endpoint(shards),
            processes,
        })
    }

    /// The processes, shard 1 first.
    pub fn processes(&self) -> &[MotoProcess] {
        &self.processes
    }
}

impl Emulator for MotoShards {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    fn backend(&self) -> Backend {
        Backend::Moto
    }
    fn log_path(&self) -> Option<&Path> {
        self.processes[0].log_path()
    }
    fn describe(&self) -> String {
        let first = self.processes[0].describe();
        if self.processes.len() == 1 {
            return first;
        }
        let pids: Vec<String> = self.processes.iter().map(|p| p.pid().to_string()).collect();
        format!(
            "{} processes (pids {}; accounts spread by id), {}",
            self.processes.len(),
            pids.join(", "),
            first
                .split_once(", ")
                .map_or(first.as_str(), |(_, rest)| rest)
        )
    }
    fn pid(&self) -> Option<u32> {
        Some(self.processes[0].pid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_1_to_the_maximum_are_taken_others_named() {
        assert_eq!(parse_shard_count("1").unwrap(), 1);
        assert_eq!(parse_shard_count(" 4 ").unwrap(), 4);
        assert_eq!(parse_shard_count("16").unwrap(), MAX_SHARDS);
        for (value, why) in [
            ("0", "is zero"),
            ("x", "is not a whole number"),
            ("-2", "is not a whole number"),
            ("2.5", "is not a whole number"),
            ("99", "is too many"),
        ] {
            let e = parse_shard_count(value).unwrap_err().to_string();
            assert!(
                e.contains(&format!("HARNESS_MOTO_SHARDS={value:?} {why}"))
                    && e.contains("from 1 to 16")
                    && !e.contains('\n'),
                "{e}"
            );
        }
        let d = default_shard_count();
        assert!((1..=DEFAULT_MAX_SHARDS).contains(&d), "{d}");
    }

    #[test]
    fn one_shard_is_a_plain_endpoint() {
        let one = sharded_endpoint(vec![Shard::at("http://127.0.0.1:5000".parse().unwrap())]);
        assert!(one.shards.is_empty());
        assert_eq!(one.shard_count(), 1);
        let two = sharded_endpoint(vec![
            Shard::at("http://127.0.0.1:5000".parse().unwrap()),
            Shard::at("http://127.0.0.1:5001".parse().unwrap()),
        ]);
        assert_eq!(two.shard_count(), 2);
        assert_eq!(two.base_url(), "http://127.0.0.1:5000");
        let cfg = two.proxy_config(Vec::new());
        assert_eq!(cfg.shards().len(), 2);
        for account in ["123456789013", "223456789012", "323456789011"] {
            let expected = 5000 + faultproxy::shard_of(account, 2);
            assert_eq!(
                two.url_for_account(account),
                format!("http://127.0.0.1:{expected}")
            );
        }
    }
}
