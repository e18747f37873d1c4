//! Why this file exists: a started, ready container and how it goes away. [`RunningContainer::stop`]
//! is the explicit async removal (waits until the engine has removed it, bounded). `Drop` is
//! best-effort and never blocks an async runtime thread: dropped inside a runtime, it hands the
//! removal to a detached thread and returns at once; dropped on a plain thread, it waits for the
//! removal (bounded by [`REMOVE_TIMEOUT`]). Either way the id stays in the exit hook's registry
//! until the container is gone.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use testcontainers::{ContainerAsync, Image};

use super::cleanup::unregister;
use super::engine::DockerApi;
use super::runtime::docker_runtime;
use super::spec::ImageRef;
use crate::emulator::EmulatorError;

/// How long a removal may take before the runner gives up waiting (the exit hook retries).
pub const REMOVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Name of the detached threads that remove dropped containers.
const DROP_THREAD_NAME: &str = "harness-container-drop";

/// A testcontainers handle, type-erased, that can remove its container.
pub(super) trait ContainerHandle: Send + Sync {
    /// Stops and removes the container (on the runtime that started it).
    fn remove(self: Box<Self>) -> BoxFuture<'static, Result<(), String>>;
}

impl<I: Image + 'static> ContainerHandle for ContainerAsync<I> {
    fn remove(self: Box<Self>) -> BoxFuture<'static, Result<(), String>> {
        async move { (*self).rm().await.map_err(|e| e.to_string()) }.boxed()
    }
}

/// A started, ready container. [`RunningContainer::stop`] removes it; so does dropping it.
pub struct RunningContainer {
    pub(super) id: String,
    pub(super) image: ImageRef,
    pub(super) url: url::Url,
    pub(super) host_port: u16,
    pub(super) log: PathBuf,
    pub(super) startup: Duration,
    pub(super) ready_body: String,
    pub(super) handle: Option<Box<dyn ContainerHandle>>,
}

impl fmt::Debug for RunningContainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningContainer")
            .field("id", &self.short_id())
            .field("image", &self.image.to_string())
            .field("url", &self.url.as_str())
            .field("log", &self.log)
            .finish()
    }
}

impl RunningContainer {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }
    pub fn image(&self) -> &ImageRef {
        &self.image
    }
    /// `http://127.0.0.1:<mapped port>/`.
    pub fn url(&self) -> &url::Url {
        &self.url
    }
    pub fn host_port(&self) -> u16 {
        self.host_port
    }
    pub fn log_path(&self) -> &Path {
        &self.log
    }
    /// From "create" to "answers HTTP 2xx".
    pub fn startup_time(&self) -> Duration {
        self.startup
    }
    /// The body of the readiness answer (LocalStack's health document lists its services).
    pub fn ready_body(&self) -> &str {
        &self.ready_body
    }

    /// Removes the container and returns once the engine has (bounded by [`REMOVE_TIMEOUT`]).
    /// Never blocks the caller's runtime threads.
    pub async fn stop(mut self) -> Result<(), EmulatorError> {
        let id = self.id.clone();
        if let Some(handle) = self.handle.take() {
            // testcontainers removed it, or not: the engine call below settles it either way.
            let _ =
                tokio::time::timeout(REMOVE_TIMEOUT, docker_runtime().spawn(handle.remove())).await;
        }
        let Some(api) = DockerApi::from_env() else {
            unregister(&id);
            return Ok(());
        };
        let removal = {
            let id = id.clone();
            api.unblocked(move |api| api.remove_container(&id)).await
        };
        match removal {
            Ok(()) => {
                unregister(&id);
                Ok(())
            }
            Err(e) => Err(EmulatorError::Io {
                context: format!("removing container {}", self.short_id()),
                message: e,
            }),
        }
    }
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return; // stopped
        };
        let id = self.id.clone();
        if tokio::runtime::Handle::try_current().is_err() {
            remove_blocking(handle, &id);
            return;
        }
        // Inside an async runtime: do not hold its thread for the removal.
        let spawned = std::thread::Builder::new()
            .name(DROP_THREAD_NAME.into())
            .spawn(move || remove_blocking(handle, &id));
        if let Err(e) = spawned {
            // The id stays registered: the exit hook removes the container.
            crate::emulator::say(&format!(
                "could not start a thread to remove container {}: {e}",
                self.short_id()
            ));
        }
    }
}

/// Removes a container from a plain (non-runtime) thread: testcontainers' removal on the
/// runner's runtime, waited for up to [`REMOVE_TIMEOUT`], then the engine call as a safety net
/// (a 404 is fine) and the bookkeeping.
fn remove_blocking(handle: Box<dyn ContainerHandle>, id: &str) {
    let (tx, rx) = std::sync::mpsc::channel();
    docker_runtime().spawn(async move {
        let _ = tx.send(handle.remove().await);
    });
    let _ = rx.recv_timeout(REMOVE_TIMEOUT);
    match DockerApi::from_env().map(|api| api.remove_container(id)) {
        Some(Ok(())) | None => unregister(id),
        Some(Err(_)) => {} // stays registered for the exit hook
    }
}
