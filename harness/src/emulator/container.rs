//! Why this module exists: the container backends (moto, LocalStack) share one runner, separate
//! from the image descriptions that live with each backend (`moto_container.rs`,
//! `localstack_container.rs`), the way testcontainers-modules separates an image from the
//! runner that starts it. This module knows nothing about any particular emulator. Inside:
//!
//! | file          | what lives there                                                      |
//! |---------------|-----------------------------------------------------------------------|
//! | `spec.rs`     | the image description: [`ImageRef`], [`ContainerSpec`]                 |
//! | `runner.rs`   | [`run`]: ping, start, port mapping, readiness                          |
//! | `running.rs`  | [`RunningContainer`]: its address, async `stop`, non-blocking `Drop`   |
//! | `cleanup.rs`  | registry of started ids, exit hook, sweep of orphans (by the labels)   |
//! | `engine.rs`   | [`DockerApi`], a tiny blocking Docker Engine API client                |
//! | `runtime.rs`  | the runner's own tokio runtime                                         |
//! | `logs.rs`     | container output to a log file                                         |
//!
//! What the runner guarantees:
//! - **No Docker engine → [`EmulatorError::Unavailable`]** (a loud skip for tests unless
//!   `HARNESS_REQUIRE_DOCKER=1`), decided by pinging the engine before anything else. An image
//!   that is neither present nor pullable is also `Unavailable`, naming how to build it here.
//! - **Ready means answers HTTP 2xx** on the description's path, within a deadline
//!   (`HARNESS_READY_TIMEOUT`), while the container is still running.
//! - **Logs**: everything the container prints goes to a log file under
//!   `<target>/harness/logs/`, whose path every failure names.
//! - **No container left behind.** Every container carries the label `harness.managed=true`
//!   plus the owner's pid and host name. [`RunningContainer::stop`] removes its container; a
//!   dropped one is removed too (in the background when dropped inside an async runtime). The
//!   per-process shared emulator is a static that never drops, so every container id is also
//!   recorded and removed by an `atexit` hook when the test process exits. A process killed by
//!   a signal cannot run that hook; the next process that starts a container removes the
//!   containers whose owner process is gone (same host, dead pid).
//! - **Runtime-independent**: containers live on the runner's own runtime (`runtime.rs`), not
//!   on the caller's, which may end before them.
//! - **No blocking on the caller's runtime**: engine calls and file creation run on the
//!   blocking pool; `Drop` inside a runtime does not wait.
//! - **Secrets**: environment values marked secret (`LOCALSTACK_AUTH_TOKEN`) are passed to
//!   the container and never printed (the description's `Debug` redacts them).

mod cleanup;
mod engine;
mod logs;
mod runner;
mod running;
mod runtime;
mod spec;

use std::time::Duration;

pub use cleanup::{hostname, live_container_ids, remove_orphans};
pub use engine::{DockerApi, Labels, API_IO_TIMEOUT};
pub use runner::run;
pub use running::{RunningContainer, REMOVE_TIMEOUT};
pub use spec::{ContainerSpec, ImageRef};

#[cfg(doc)]
use super::EmulatorError;

/// Label set on every container the harness starts; `docker ps -a --filter label=harness.managed=true`.
pub const MANAGED_LABEL: &str = "harness.managed";
/// Label: pid of the process that started the container.
pub const PID_LABEL: &str = "harness.pid";
/// Label: host name of the machine that started the container (pids are per host).
pub const HOST_LABEL: &str = "harness.host";
/// Label: the backend name (`moto-container`, `localstack`).
pub const BACKEND_LABEL: &str = "harness.backend";

/// Deadline for a container to answer when `HARNESS_READY_TIMEOUT` is not set. Generous: the
/// first start of an image on a cold disk, on a 2-core machine running a build, is slow.
pub const DEFAULT_CONTAINER_READY_TIMEOUT: Duration = Duration::from_secs(90);
