//! Why this file exists: the `localstack+moto` backend (`HARNESS_BACKEND=localstack+moto`, issue
//! 14). LocalStack's free (community) edition answers IAM, STS and CloudWatch Logs but no ECS or
//! ECR; moto answers everything. This backend starts both and hands out ONE [`Endpoint`]: its
//! main URL is moto (ECS, ECR, EC2 and anything unclassified), and its routes send IAM, STS and
//! Logs to LocalStack, so a user without a LocalStack token still gets "IAM and Logs as
//! LocalStack says" under the whole scenario suite. The proxy does the per-request routing
//! (`faultproxy::Route`); the behaviour models call the upstream of the service they call.
//!
//! - moto: the moto process backend, shared by the test processes of a `cargo test` run exactly
//!   as `HARNESS_BACKEND=moto` shares it (`sharing/`), or a process of its own.
//! - LocalStack: the LocalStack container backend (`localstack_container.rs`), image
//!   `HARNESS_LOCALSTACK_IMAGE` (here the locally built `harness-localstack:4.13.1`).
//! - One account id is the same account on both: the proxy adds moto's `x-moto-account-id` on
//!   the moto route; LocalStack takes the account from the 12-digit access key id
//!   (<https://docs.localstack.cloud/references/multi-account-setups/>).
//! - LocalStack that cannot start is an error naming what is missing and the fix, never a
//!   silent fall-back to moto alone (no Docker / no image: [`EmulatorError::Unavailable`], a
//!   loud skip in tests, a failure with `HARNESS_REQUIRE_DOCKER=1`).

use std::path::Path;

use super::localstack_container::{LocalStackContainer, IMAGE_ENV, LOCAL_IMAGE};
use super::{sharing, Backend, Emulator, EmulatorError, Endpoint};
use faultproxy::{Route, Service, UpstreamFlavor};

/// The services LocalStack answers on this backend; everything else goes to moto.
pub const LOCALSTACK_SERVICES: [Service; 3] = [Service::IAM, Service::STS, Service::LOGS];

/// moto and LocalStack behind one endpoint (routes: IAM, STS, Logs to LocalStack).
pub struct LocalStackMoto {
    moto: Box<dyn Emulator>,
    localstack: LocalStackContainer,
    endpoint: Endpoint,
}

impl LocalStackMoto {
    /// Starts LocalStack and moto at once (moto shared in `scope` when given); waits for both.
    pub async fn start(scope: Option<sharing::Scope>) -> Result<LocalStackMoto, EmulatorError> {
        let (localstack, moto) = tokio::join!(
            LocalStackContainer::start(),
            super::start_moto(scope.as_ref())
        );
        // On any failure the half that started is dropped here, which stops it.
        let localstack = localstack.map_err(localstack_failed)?;
        let moto = moto?;
        let endpoint = combined_endpoint(moto.endpoint(), localstack.endpoint());
        Ok(LocalStackMoto {
            moto,
            localstack,
            endpoint,
        })
    }

    /// Removes the LocalStack container (returns once it is gone), then stops moto (or ends this
    /// process's lease of the shared one). Dropping the value does the same in the background.
    pub async fn stop(self) -> Result<(), EmulatorError> {
        let removed = self.localstack.stop().await;
        drop(self.moto);
        removed
    }

    /// The LocalStack half.
    pub fn localstack(&self) -> &LocalStackContainer {
        &self.localstack
    }

    /// The moto half.
    pub fn moto(&self) -> &dyn Emulator {
        self.moto.as_ref()
    }
}

/// moto's endpoint plus the route of [`LOCALSTACK_SERVICES`] to LocalStack.
pub fn combined_endpoint(moto: &Endpoint, localstack: &Endpoint) -> Endpoint {
    Endpoint {
        url: moto.url.clone(),
        flavor: UpstreamFlavor::Moto,
        serves_ecs: true,
        routes: vec![Route {
            services: LOCALSTACK_SERVICES.to_vec(),
            url: localstack.url.clone(),
            flavor: UpstreamFlavor::LocalStack,
        }],
        // moto's shards serve ECS, ECR and EC2 per account; LocalStack is one container.
        shards: moto.shards.clone(),
    }
}

/// LocalStack's failure, saying that this backend needs it and will not run on moto alone.
fn localstack_failed(err: EmulatorError) -> EmulatorError {
    let needs = "the localstack+moto backend answers IAM, STS and Logs with LocalStack and never \
                 falls back to moto alone";
    match err {
        EmulatorError::Unavailable { reason, .. } => EmulatorError::Unavailable {
            backend: Backend::LocalStackMoto.name(),
            reason: format!(
                "{needs}, but LocalStack cannot run here: {reason}. Fix: build its image with \
                 `bash scripts/build-images.sh localstack` and set {IMAGE_ENV}={LOCAL_IMAGE}, \
                 or use HARNESS_BACKEND=moto"
            ),
        },
        EmulatorError::Config(reason) => EmulatorError::Config(format!("{needs}: {reason}")),
        // Start / NotReady / Io already name LocalStack, its log and the deadline to raise.
        other => other,
    }
}

impl Emulator for LocalStackMoto {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    fn backend(&self) -> Backend {
        Backend::LocalStackMoto
    }
    /// moto's log (LocalStack's is named by [`Emulator::describe`]).
    fn log_path(&self) -> Option<&Path> {
        self.moto.log_path()
    }
    fn describe(&self) -> String {
        format!(
            "ECS, ECR, EC2: moto ({}); IAM, STS, Logs: LocalStack at {} ({}, log {})",
            self.moto.describe(),
            self.localstack.endpoint().base_url(),
            self.localstack.describe(),
            self.localstack.container().log_path().display()
        )
    }
    fn pid(&self) -> Option<u32> {
        self.moto.pid()
    }
}

/// Starts the backend (called by `emulator::start` and, with the run's scope, `emulator::shared`).
pub async fn start(scope: Option<sharing::Scope>) -> Result<Box<dyn Emulator>, EmulatorError> {
    LocalStackMoto::start(scope)
        .await
        .map(|e| Box::new(e) as Box<dyn Emulator>)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str, flavor: UpstreamFlavor) -> Endpoint {
        Endpoint {
            url: url.parse().unwrap(),
            flavor,
            serves_ecs: flavor == UpstreamFlavor::Moto,
            routes: Vec::new(),
            shards: Vec::new(),
        }
    }

    #[test]
    fn main_url_is_moto_and_iam_sts_logs_route_to_localstack() {
        let moto = endpoint("http://127.0.0.1:5000/", UpstreamFlavor::Moto);
        let ls = endpoint("http://127.0.0.1:4566/", UpstreamFlavor::LocalStack);
        let combined = combined_endpoint(&moto, &ls);
        assert_eq!(combined.url, moto.url);
        assert_eq!(combined.flavor, UpstreamFlavor::Moto);
        assert!(combined.serves_ecs);
        assert_eq!(combined.routes.len(), 1);
        let route = &combined.routes[0];
        assert_eq!(route.url, ls.url);
        assert_eq!(route.flavor, UpstreamFlavor::LocalStack);
        assert_eq!(route.services, LOCALSTACK_SERVICES.to_vec());
        for s in [Service::ECS, Service::ECR, Service::EC2] {
            assert!(!route.services.contains(&s), "{s:?} must stay on moto");
        }
    }

    #[test]
    fn unavailable_localstack_names_the_fix_and_no_fallback() {
        let err = localstack_failed(EmulatorError::Unavailable {
            backend: "localstack",
            reason: "no Docker engine".into(),
        });
        let text = err.to_string();
        assert!(err.is_unavailable(), "{text}");
        assert!(text.contains("localstack+moto"), "{text}");
        assert!(text.contains("no Docker engine"), "{text}");
        assert!(
            text.contains("scripts/build-images.sh localstack"),
            "{text}"
        );
        assert!(text.contains("never falls back"), "{text}");
    }
}
