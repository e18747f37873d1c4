//! Why this file exists: the LocalStack-in-a-container backend (`HARNESS_BACKEND=localstack`),
//! through testcontainers-modules' `LocalStack` (community) and `LocalStackPro` (with a token).
//! The image description is here; starting, waiting, logs and cleanup are the shared runner's
//! job (`container.rs`).
//!
//! - With `LOCALSTACK_AUTH_TOKEN` set: `localstack/localstack-pro:4.13` (testcontainers-modules'
//!   `LocalStackPro`), the token passed through and never printed (the module's `Debug` and the
//!   runner's redact it).
//! - Without: the community image `localstack/localstack:4.13`. It serves IAM and CloudWatch
//!   Logs but no ECS or ECR (HTTP 501 `InternalFailure` "not included in your current license
//!   plan"), so the endpoint says `serves_ecs: false` and ECS/ECR tests skip loudly naming that
//!   reason.
//! - `HARNESS_LOCALSTACK_IMAGE` overrides either. Machines without a registry build the
//!   community image from PyPI's localstack-core with `scripts/build-images.sh localstack`
//!   (tag `harness-localstack:4.13.1`).
//!
//! Whether ECS is served is read from what LocalStack itself reports (`/_localstack/health`
//! lists the services of its edition), not assumed from the token.

use std::path::Path;
use std::time::Duration;

use testcontainers::core::WaitFor;
use testcontainers::ImageExt;
use testcontainers_modules::localstack::{LocalStack, LocalStackPro};

use super::container::{self, ContainerSpec, ImageRef, RunningContainer};
use super::{Backend, Emulator, EmulatorError, Endpoint};
use faultproxy::UpstreamFlavor;

/// Environment variable naming the image (`name[:tag]`).
pub const IMAGE_ENV: &str = "HARNESS_LOCALSTACK_IMAGE";
/// The licence token; passed through when set, never printed.
pub const TOKEN_ENV: &str = "LOCALSTACK_AUTH_TOKEN";
/// Default image without a token: the community edition (IAM, Logs; no ECS/ECR).
pub const DEFAULT_COMMUNITY_IMAGE: &str = "localstack/localstack:4.13";
/// Default image with a token.
pub const DEFAULT_PRO_IMAGE: &str = "localstack/localstack-pro:4.13";
/// The community image `scripts/build-images.sh localstack` builds here.
pub const LOCAL_IMAGE: &str = "harness-localstack:4.13.1";
/// LocalStack's gateway port.
pub const PORT: u16 = 4566;
/// Answers 200 with the services of the running edition once LocalStack is up.
pub const READY_PATH: &str = "/_localstack/health";
/// Why ECS/ECR tests skip on this backend without a token.
pub const NO_ECS_REASON: &str = "LocalStack without LOCALSTACK_AUTH_TOKEN is the free (community) edition, whose licence does not include ECS or ECR (they answer HTTP 501 InternalFailure); set LOCALSTACK_AUTH_TOKEN, or use HARNESS_BACKEND=moto";

/// The token, if set and non-empty.
fn token() -> Option<String> {
    std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// The container description for LocalStack, from the environment.
pub async fn spec() -> Result<ContainerSpec, EmulatorError> {
    let with_token = token().is_some();
    let default = if with_token {
        DEFAULT_PRO_IMAGE
    } else {
        DEFAULT_COMMUNITY_IMAGE
    };
    Ok(ContainerSpec {
        backend: Backend::LocalStack,
        // The locally built image is a community edition: a fallback only without a token.
        image: if with_token {
            ImageRef::from_env_or(IMAGE_ENV, default)?
        } else {
            ImageRef::from_env_or_local(IMAGE_ENV, default, LOCAL_IMAGE).await?
        },
        port: PORT,
        env: vec![
            // No DNS server inside the container: nothing here resolves through it.
            ("DNS_ADDRESS".into(), "0".into()),
            // Offline machines: no certificate download, no analytics events.
            ("SKIP_SSL_CERT_DOWNLOAD".into(), "1".into()),
            ("DISABLE_EVENTS".into(), "1".into()),
        ],
        // The token travels in the image description (LocalStackPro's env), not here.
        secret_env: Vec::new(),
        ready_path: READY_PATH.into(),
        ready_timeout: container::DEFAULT_CONTAINER_READY_TIMEOUT,
        image_hint: format!(
            "On a machine without a registry, build the community image: `scripts/build-images.sh localstack` (tags {LOCAL_IMAGE}), then set {IMAGE_ENV}={LOCAL_IMAGE}"
        ),
    })
}

/// True when LocalStack's health document lists both ECS and ECR as usable.
pub fn health_serves_ecs(health_json: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(health_json) else {
        return false;
    };
    ["ecs", "ecr"].iter().all(|svc| {
        doc.get("services")
            .and_then(|s| s.get(svc))
            .and_then(|v| v.as_str())
            .is_some_and(|state| state != "disabled" && state != "error")
    })
}

/// LocalStack running in a container.
#[derive(Debug)]
pub struct LocalStackContainer {
    container: RunningContainer,
    endpoint: Endpoint,
    with_token: bool,
    version: Option<String>,
}

impl LocalStackContainer {
    /// Starts LocalStack and waits until `/_localstack/health` answers 200.
    pub async fn start() -> Result<LocalStackContainer, EmulatorError> {
        let spec = spec().await?;
        let with_token = token().is_some();
        let ready = vec![WaitFor::message_on_stdout("Ready.")];
        let container = if with_token {
            // LocalStackPro::from_env reads LOCALSTACK_AUTH_TOKEN itself; its Debug redacts it.
            let image = LocalStackPro::from_env().with_ready_conditions(ready);
            container::run(image, spec).await?
        } else {
            let image = LocalStack::default().with_ready_conditions(ready);
            container::run(image, spec).await?
        };
        let serves_ecs = health_serves_ecs(container.ready_body());
        let version = serde_json::from_str::<serde_json::Value>(container.ready_body())
            .ok()
            .and_then(|v| v.get("version")?.as_str().map(str::to_string));
        let endpoint = Endpoint {
            url: container.url().clone(),
            flavor: UpstreamFlavor::LocalStack,
            serves_ecs,
            routes: Vec::new(),
            shards: Vec::new(),
        };
        Ok(LocalStackContainer {
            container,
            endpoint,
            with_token,
            version,
        })
    }

    pub fn container(&self) -> &RunningContainer {
        &self.container
    }

    /// From container creation to the first 200 of the health endpoint.
    pub fn startup_time(&self) -> Duration {
        self.container.startup_time()
    }

    /// Removes the container; returns once it is gone (dropping it removes it in the background).
    pub async fn stop(self) -> Result<(), EmulatorError> {
        self.container.stop().await
    }

    /// Why ECS/ECR are missing, when they are.
    pub fn no_ecs_reason(&self) -> Option<&'static str> {
        (!self.endpoint.serves_ecs).then_some(NO_ECS_REASON)
    }
}

impl Emulator for LocalStackContainer {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    fn backend(&self) -> Backend {
        Backend::LocalStack
    }
    fn log_path(&self) -> Option<&Path> {
        Some(self.container.log_path())
    }
    fn describe(&self) -> String {
        format!(
            "container {} of {} (LocalStack {}, {}), port {} -> {}, ready in {:.1?}{}",
            self.container.short_id(),
            self.container.image(),
            self.version.as_deref().unwrap_or("?"),
            if self.with_token {
                "auth token set"
            } else {
                "no auth token"
            },
            PORT,
            self.container.host_port(),
            self.container.startup_time(),
            if self.endpoint.serves_ecs {
                ""
            } else {
                "; no ECS/ECR: free edition"
            }
        )
    }
}

/// Starts LocalStack in a container (called by `emulator::start`).
pub async fn start() -> Result<Box<dyn Emulator>, EmulatorError> {
    LocalStackContainer::start()
        .await
        .map(|l| Box::new(l) as Box<dyn Emulator>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_support_is_read_from_health() {
        let community =
            r#"{"services": {"iam": "available", "logs": "running"}, "edition": "community"}"#;
        assert!(!health_serves_ecs(community));
        let pro = r#"{"services": {"iam": "available", "ecs": "available", "ecr": "running"}}"#;
        assert!(health_serves_ecs(pro));
        let disabled = r#"{"services": {"ecs": "disabled", "ecr": "available"}}"#;
        assert!(!health_serves_ecs(disabled));
        assert!(!health_serves_ecs("not json"));
    }
}
