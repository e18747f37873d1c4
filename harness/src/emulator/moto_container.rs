//! Why this file exists: the moto-in-a-container backend (`HARNESS_BACKEND=moto-container`).
//! The image description (name, tag, port, environment, readiness) is here; starting, waiting,
//! logs and cleanup are the shared runner's job (`container.rs`).
//!
//! Image: `HARNESS_MOTO_IMAGE`, default `motoserver/moto:5.2.5` (pulled as usual on a machine
//! with a registry). Machines without a registry build `harness-moto:5.2.5` with
//! `scripts/build-images.sh` and set `HARNESS_MOTO_IMAGE=harness-moto:5.2.5`; both images run
//! `moto_server -H 0.0.0.0` on port 5000.
//!
//! moto is one Python process per container, so this backend runs `HARNESS_MOTO_SHARDS`
//! containers (one per core by default, `moto_shards.rs`) and the proxy spreads accounts over
//! them, as for the process backend.

use std::path::Path;
use std::time::Duration;

use testcontainers::core::IntoContainerPort;
use testcontainers::GenericImage;

use super::container::{self, ContainerSpec, ImageRef, RunningContainer};
use super::{moto_shards, readiness, Backend, Emulator, EmulatorError, Endpoint};
use faultproxy::{Shard, UpstreamFlavor};

/// Environment variable naming the image (`name[:tag]`).
pub const IMAGE_ENV: &str = "HARNESS_MOTO_IMAGE";
/// The image users get by default: moto's own, same version as the process backend pins.
pub const DEFAULT_IMAGE: &str = "motoserver/moto:5.2.5";
/// The image `scripts/build-images.sh` builds here, from Debian and PyPI packages.
pub const LOCAL_IMAGE: &str = "harness-moto:5.2.5";
/// moto's port inside the container.
pub const PORT: u16 = 5000;
/// Answers 200 once moto serves requests.
pub const READY_PATH: &str = "/moto-api/";

/// The container description for moto, from the environment.
pub async fn spec() -> Result<ContainerSpec, EmulatorError> {
    Ok(ContainerSpec {
        backend: Backend::MotoContainer,
        image: ImageRef::from_env_or_local(IMAGE_ENV, DEFAULT_IMAGE, LOCAL_IMAGE).await?,
        port: PORT,
        env: vec![
            // AWS managed policies (AmazonECSTaskExecutionRolePolicy, ...) exist only with this.
            ("MOTO_IAM_LOAD_MANAGED_POLICIES".into(), "true".into()),
            ("MOTO_PORT".into(), PORT.to_string()),
        ],
        secret_env: Vec::new(),
        ready_path: READY_PATH.into(),
        ready_timeout: container::DEFAULT_CONTAINER_READY_TIMEOUT,
        image_hint: format!(
            "On a machine without a registry, build it: `scripts/build-images.sh moto` (tags {LOCAL_IMAGE}), then set {IMAGE_ENV}={LOCAL_IMAGE}"
        ),
    })
}

/// The testcontainers image for a spec: moto's port exposed, readiness left to the runner's
/// HTTP probe (moto prints its banner before it serves).
pub fn image(spec: &ContainerSpec) -> GenericImage {
    GenericImage::new(spec.image.name.clone(), spec.image.tag.clone())
        .with_exposed_port(spec.port.tcp())
}

/// moto running in a container.
#[derive(Debug)]
pub struct MotoContainer {
    container: RunningContainer,
    endpoint: Endpoint,
    warmup: Duration,
}

impl MotoContainer {
    /// Starts moto in a container and waits until it answers.
    pub async fn start() -> Result<MotoContainer, EmulatorError> {
        let spec = spec().await?;
        let container = container::run(image(&spec), spec).await?;
        let warmup = readiness::warm_up_moto(container.url()).await;
        let endpoint = Endpoint {
            url: container.url().clone(),
            flavor: UpstreamFlavor::Moto,
            serves_ecs: true,
            routes: Vec::new(),
            shards: Vec::new(),
        };
        Ok(MotoContainer {
            container,
            endpoint,
            warmup,
        })
    }

    /// The running container (id, image, mapped port, start-up time).
    pub fn container(&self) -> &RunningContainer {
        &self.container
    }

    /// From container creation to the first 2xx answer.
    pub fn startup_time(&self) -> Duration {
        self.container.startup_time()
    }

    /// Removes the container; returns once it is gone (dropping it removes it in the background).
    pub async fn stop(self) -> Result<(), EmulatorError> {
        self.container.stop().await
    }

    /// Time spent warming moto's service modules up after it was ready.
    pub fn warmup_time(&self) -> Duration {
        self.warmup
    }
}

impl Emulator for MotoContainer {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    fn backend(&self) -> Backend {
        Backend::MotoContainer
    }
    fn log_path(&self) -> Option<&Path> {
        Some(self.container.log_path())
    }
    fn describe(&self) -> String {
        format!(
            "container {} of {}, port {} -> {}, ready in {:.1?} + {:.1?} warm-up",
            self.container.short_id(),
            self.container.image(),
            PORT,
            self.container.host_port(),
            self.container.startup_time(),
            self.warmup
        )
    }
}

/// Several moto containers serving as one emulator (shards); dropping it removes them.
#[derive(Debug)]
pub struct MotoContainers {
    containers: Vec<MotoContainer>,
    endpoint: Endpoint,
}

impl MotoContainers {
    /// Starts `count` moto containers at once; if one cannot start, the error names the shard
    /// (the others are removed as they drop).
    pub async fn start(count: usize) -> Result<MotoContainers, EmulatorError> {
        let starts = (0..count).map(|_| MotoContainer::start());
        let mut containers = Vec::with_capacity(count);
        for (i, result) in futures::future::join_all(starts)
            .await
            .into_iter()
            .enumerate()
        {
            containers.push(result.map_err(|e| e.in_shard(i + 1, count))?);
        }
        let shards = containers
            .iter()
            .map(|c| Shard {
                url: c.endpoint.url.clone(),
                about: format!(
                    "container {}, log {}",
                    c.container.short_id(),
                    c.container.log_path().display()
                ),
            })
            .collect();
        Ok(MotoContainers {
            endpoint: moto_shards::sharded_endpoint(shards),
            containers,
        })
    }

    /// The containers, shard 1 first.
    pub fn containers(&self) -> &[MotoContainer] {
        &self.containers
    }
}

impl Emulator for MotoContainers {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    fn backend(&self) -> Backend {
        Backend::MotoContainer
    }
    fn log_path(&self) -> Option<&Path> {
        self.containers[0].log_path()
    }
    fn describe(&self) -> String {
        if self.containers.len() == 1 {
            return self.containers[0].describe();
        }
        let each: Vec<String> = self.containers.iter().map(|c| c.describe()).collect();
        format!(
            "{} containers (accounts spread by id): {}",
            self.containers.len(),
            each.join("; ")
        )
    }
}

/// Starts `HARNESS_MOTO_SHARDS` moto containers (called by `emulator::start`).
pub async fn start() -> Result<Box<dyn Emulator>, EmulatorError> {
    let count = moto_shards::shard_count()?;
    MotoContainers::start(count)
        .await
        .map(|m| Box::new(m) as Box<dyn Emulator>)
}
