//! Why this file exists: the runner starts a container from a testcontainers image and a
//! [`ContainerSpec`], and returns it only once it is ready. In order: the engine must answer a
//! ping (else [`EmulatorError::Unavailable`], a loud skip for tests), the exit hook is installed
//! and orphans are swept, then on the runner's own runtime: create the log file, start the
//! labelled container, map its port, and probe the readiness path until it answers 2xx within
//! the deadline, while the container still runs. Engine calls and file creation run off the
//! runtime threads (`spawn_blocking`, `tokio::fs`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt, TestcontainersError};

use super::cleanup::{self, hostname, register};
use super::engine::DockerApi;
use super::logs::FileLogConsumer;
use super::running::RunningContainer;
use super::runtime::docker_runtime;
use super::spec::ContainerSpec;
use super::{BACKEND_LABEL, HOST_LABEL, MANAGED_LABEL, PID_LABEL};
use crate::emulator::readiness::{self, POLL_INTERVAL};
use crate::emulator::{paths, EmulatorError};

/// Readiness probes between two "is it still running?" checks.
const PROBES_PER_LIVENESS_CHECK: u32 = 10;
/// How much of a failed probe's body an error quotes.
const PROBE_BODY_SNIPPET: usize = 200;

/// Starts `image` (an `Image` or a `ContainerRequest` built from one) as described by `spec`,
/// waits until it is ready, and returns it.
pub async fn run<I, R>(image: R, spec: ContainerSpec) -> Result<RunningContainer, EmulatorError>
where
    I: Image + 'static,
    R: Into<ContainerRequest<I>>,
{
    let backend = spec.backend.name();
    let Some(api) = DockerApi::from_env() else {
        return Err(EmulatorError::Unavailable {
            backend,
            reason: format!(
                "DOCKER_HOST={:?} is not supported by the harness (unix:// or tcp:// only)",
                std::env::var("DOCKER_HOST").unwrap_or_default()
            ),
        });
    };
    if let Err(e) = api.unblocked(|api| api.ping()).await {
        return Err(EmulatorError::Unavailable {
            backend,
            reason: format!(
                "no Docker engine reachable at {} ({e}). Start Docker, or use HARNESS_BACKEND=moto (a local process)",
                api.describe()
            ),
        });
    }
    cleanup::install_exit_cleanup();
    let _ = api
        .unblocked(|api| {
            cleanup::sweep_orphans_once(api);
            Ok(())
        })
        .await;

    let log_dir = paths::logs_dir()?;
    let log = paths::new_log_path(&log_dir, backend);
    let request: ContainerRequest<I> = image.into();
    let task = docker_runtime().spawn(start_and_wait(request, spec, api, log));
    match task.await {
        Ok(result) => result,
        Err(e) => Err(EmulatorError::Start {
            backend,
            reason: format!("container start task failed: {e}"),
            log: PathBuf::new(),
        }),
    }
}

/// On the runner's runtime: start, map the port, wait until ready.
async fn start_and_wait<I>(
    image: ContainerRequest<I>,
    spec: ContainerSpec,
    api: DockerApi,
    log: PathBuf,
) -> Result<RunningContainer, EmulatorError>
where
    I: Image + 'static,
{
    let log_file = tokio::fs::File::create(&log)
        .await
        .map_err(|e| EmulatorError::io(format!("creating log file {}", log.display()), e))?
        .into_std()
        .await;
    let reference = spec.image.to_string();
    let image_present = api
        .unblocked(move |api| api.image_exists(&reference))
        .await
        .unwrap_or(false);
    let request = labelled_request(image, &spec, log_file)?;
    let started = Instant::now();
    let container: ContainerAsync<I> = match request.start().await {
        Ok(c) => c,
        Err(e) => return Err(start_error(&spec, image_present, &e, &log)),
    };
    let id = container.id().to_string();
    register(&id);
    let mut running = RunningContainer {
        id,
        image: spec.image.clone(),
        url: url::Url::parse("http://127.0.0.1/").expect("static URL"),
        host_port: 0,
        log: log.clone(),
        startup: Duration::ZERO,
        ready_body: String::new(),
        handle: None,
    };
    let ready = match map_port(&container, &spec, &log).await {
        Ok((port, url)) => {
            (running.host_port, running.url) = (port, url);
            wait_ready(&container, &running, &spec, started).await
        }
        Err(e) => Err(e),
    };
    // From here on, dropping `running` (on an error too) removes the container.
    running.handle = Some(Box::new(container));
    running.ready_body = ready?;
    running.startup = started.elapsed();
    Ok(running)
}

/// The image with name, tag, labels, log consumer, startup timeout and environment.
fn labelled_request<I: Image>(
    image: ContainerRequest<I>,
    spec: &ContainerSpec,
    log_file: std::fs::File,
) -> Result<ContainerRequest<I>, EmulatorError> {
    let mut request = image
        .with_name(spec.image.name.clone())
        .with_tag(spec.image.tag.clone())
        .with_label(MANAGED_LABEL, "true")
        .with_label(PID_LABEL, std::process::id().to_string())
        .with_label(HOST_LABEL, hostname())
        .with_label(BACKEND_LABEL, spec.backend.name())
        .with_log_consumer(FileLogConsumer::new(log_file))
        .with_startup_timeout(readiness::ready_timeout(spec.ready_timeout)?);
    for (k, v) in spec.env.iter().chain(spec.secret_env.iter()) {
        request = request.with_env_var(k.clone(), v.clone());
    }
    Ok(request)
}

/// The host port the container's port is published on, and the URL to reach it.
async fn map_port<I: Image>(
    container: &ContainerAsync<I>,
    spec: &ContainerSpec,
    log: &Path,
) -> Result<(u16, url::Url), EmulatorError> {
    let host_port =
        container
            .get_host_port_ipv4(spec.port)
            .await
            .map_err(|e| EmulatorError::Start {
                backend: spec.backend.name(),
                reason: format!(
                    "container port {} is not mapped to the host: {e}",
                    spec.port
                ),
                log: log.to_path_buf(),
            })?;
    let host = match container.get_host().await {
        Ok(url::Host::Domain(d)) if d == "localhost" => "127.0.0.1".to_string(),
        Ok(h) => h.to_string(),
        Err(_) => "127.0.0.1".to_string(),
    };
    let url = url::Url::parse(&format!("http://{host}:{host_port}/")).map_err(|e| {
        EmulatorError::Config(format!(
            "container address {host}:{host_port} is not a URL: {e}"
        ))
    })?;
    Ok((host_port, url))
}

/// Probes the readiness path until it answers 2xx (its body is returned); fails when the
/// container exits first or the deadline passes.
async fn wait_ready<I: Image>(
    container: &ContainerAsync<I>,
    running: &RunningContainer,
    spec: &ContainerSpec,
    started: Instant,
) -> Result<String, EmulatorError> {
    let backend = spec.backend.name();
    let deadline = readiness::ready_timeout(spec.ready_timeout)?;
    let probe_url = format!(
        "{}{}",
        running.url.as_str().trim_end_matches('/'),
        spec.ready_path
    );
    let mut polls = 0u32;
    loop {
        let last_error = match readiness::get_text(&probe_url).await {
            Ok((status, body)) if (200..300).contains(&status) => return Ok(body),
            Ok((status, body)) => format!(
                "HTTP {status}: {}",
                body.chars().take(PROBE_BODY_SNIPPET).collect::<String>()
            ),
            Err(e) => e,
        };
        polls += 1;
        if polls % PROBES_PER_LIVENESS_CHECK == 0 && !container.is_running().await.unwrap_or(true) {
            let code = container.exit_code().await.ok().flatten();
            return Err(EmulatorError::Start {
                backend,
                reason: format!(
                    "container {} ({}) exited (code {}) before it was ready; last probe of {probe_url}: {last_error}",
                    running.short_id(),
                    spec.image,
                    code.map(|c| c.to_string()).unwrap_or_else(|| "unknown".into())
                ),
                log: running.log.clone(),
            });
        }
        if started.elapsed() >= deadline {
            return Err(EmulatorError::NotReady {
                backend,
                url: probe_url,
                waited: started.elapsed(),
                last_error,
                log: running.log.clone(),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn start_error(
    spec: &ContainerSpec,
    image_present: bool,
    err: &TestcontainersError,
    log: &Path,
) -> EmulatorError {
    let backend = spec.backend.name();
    let text = err.to_string();
    if !image_present {
        return EmulatorError::Unavailable {
            backend,
            reason: format!(
                "image {} is not on this machine and could not be pulled ({text}). {}",
                spec.image, spec.image_hint
            ),
        };
    }
    EmulatorError::Start {
        backend,
        reason: format!("starting {} failed: {text}", spec.image),
        log: log.to_path_buf(),
    }
}
