//! Why this file exists: users point the harness at an emulator they run themselves
//! (docker-compose, a shared LocalStack, or real AWS) with `HARNESS_ENDPOINT_URL`. Nothing is
//! started or stopped; the URL is validated, must answer HTTP within the deadline, and what
//! answers is sniffed so the proxy knows whether moto's account header is needed.
//!
//! Flavor: `HARNESS_ENDPOINT_FLAVOR=moto|localstack|other` if set; otherwise moto when
//! `GET /moto-api/config` answers 2xx, LocalStack when `GET /_localstack/health` answers
//! 200, else other (treated like AWS: serves ECS).

use std::path::Path;
use std::time::{Duration, Instant};

use super::readiness::{self, POLL_INTERVAL};
use super::{Backend, Emulator, EmulatorError, Endpoint};
use faultproxy::UpstreamFlavor;

/// Deadline for an external endpoint to answer when `HARNESS_READY_TIMEOUT` is not set.
pub const DEFAULT_EXTERNAL_TIMEOUT: Duration = Duration::from_secs(10);

/// An emulator the harness did not start.
#[derive(Debug)]
pub struct External {
    endpoint: Endpoint,
}

impl External {
    /// From `HARNESS_ENDPOINT_URL` (+ `HARNESS_ENDPOINT_FLAVOR`, `HARNESS_READY_TIMEOUT`).
    pub async fn from_env() -> Result<External, EmulatorError> {
        let url = std::env::var("HARNESS_ENDPOINT_URL").unwrap_or_default();
        if url.trim().is_empty() {
            return Err(EmulatorError::Config(
                "HARNESS_BACKEND=external needs HARNESS_ENDPOINT_URL (for example http://localhost:4566)"
                    .into(),
            ));
        }
        let flavor = match std::env::var("HARNESS_ENDPOINT_FLAVOR") {
            Ok(v) if !v.trim().is_empty() => Some(parse_flavor(&v)?),
            _ => None,
        };
        let timeout = readiness::ready_timeout(DEFAULT_EXTERNAL_TIMEOUT)?;
        External::connect(url.trim(), flavor, timeout).await
    }

    /// Validates `url`, waits up to `timeout` for any HTTP answer, sniffs the flavor unless given.
    pub async fn connect(
        url: &str,
        flavor: Option<UpstreamFlavor>,
        timeout: Duration,
    ) -> Result<External, EmulatorError> {
        let parsed = validate_url(url)?;
        let base = parsed.as_str().trim_end_matches('/').to_string();
        let started = Instant::now();
        let mut last_error;
        loop {
            let remaining = timeout.saturating_sub(started.elapsed());
            match readiness::probe(&format!("{base}/"), remaining).await {
                Ok(_) => break,
                Err(e) => last_error = e,
            }
            if started.elapsed() >= timeout {
                return Err(EmulatorError::Unreachable {
                    url: url.to_string(),
                    waited: started.elapsed(),
                    last_error,
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        let (flavor, serves_ecs) = match flavor {
            Some(UpstreamFlavor::LocalStack) => (
                UpstreamFlavor::LocalStack,
                localstack_serves_ecs(&base).await,
            ),
            Some(f) => (f, true),
            None => sniff(&base).await,
        };
        Ok(External {
            endpoint: Endpoint {
                url: parsed,
                flavor,
                serves_ecs,
                routes: Vec::new(),
                shards: Vec::new(),
            },
        })
    }
}

impl Emulator for External {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    fn backend(&self) -> Backend {
        Backend::External
    }
    fn log_path(&self) -> Option<&Path> {
        None
    }
    fn describe(&self) -> String {
        format!("external {} at {}", self.endpoint.flavor, self.endpoint.url)
    }
}

/// An absolute http(s) URL with a host.
pub fn validate_url(url: &str) -> Result<url::Url, EmulatorError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        EmulatorError::Config(format!("HARNESS_ENDPOINT_URL={url:?} is not a URL: {e}"))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(EmulatorError::Config(format!(
            "HARNESS_ENDPOINT_URL={url:?} must be an http:// or https:// URL with a host"
        )));
    }
    Ok(parsed)
}

fn parse_flavor(text: &str) -> Result<UpstreamFlavor, EmulatorError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "moto" => Ok(UpstreamFlavor::Moto),
        "localstack" => Ok(UpstreamFlavor::LocalStack),
        "other" | "aws" => Ok(UpstreamFlavor::Other),
        other => Err(EmulatorError::Config(format!(
            "HARNESS_ENDPOINT_FLAVOR={other:?}: expected moto, localstack or other"
        ))),
    }
}

async fn sniff(base: &str) -> (UpstreamFlavor, bool) {
    // `/moto-api/config` is cheap (a tiny JSON document, answered 201); `data.json` would
    // serialise every backend's state, which gets slow once moto has been used.
    if let Ok((200..=299, _)) = readiness::get_text(&format!("{base}/moto-api/config")).await {
        return (UpstreamFlavor::Moto, true);
    }
    if let Ok((200, _)) = readiness::get_text(&format!("{base}/_localstack/health")).await {
        return (
            UpstreamFlavor::LocalStack,
            localstack_serves_ecs(base).await,
        );
    }
    (UpstreamFlavor::Other, true)
}

/// LocalStack lists its services in `/_localstack/health`; the free edition has no `ecs`.
async fn localstack_serves_ecs(base: &str) -> bool {
    match readiness::get_text(&format!("{base}/_localstack/health")).await {
        Ok((200, body)) => serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("services")?.get("ecs").cloned())
            .and_then(|s| s.as_str().map(|s| s != "disabled"))
            .unwrap_or(false),
        _ => false,
    }
}
