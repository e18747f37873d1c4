//! Part 3: start-to-ready time of each emulator backend.
//!
//! `moto_process_start_ms` is what a test process pays for `emulator::start(Backend::Moto)`:
//! locating moto (which asks its Python for the version) + spawning + polling until it answers.
//! `moto_process_ready_ms` is spawn-to-ready alone (moto located once beforehand). Container
//! backends are timed the same way when a Docker engine and their images are there; otherwise
//! the figure is null with the reason.

use std::time::{Duration, Instant};

use harness::emulator::moto_process::{MotoOptions, MotoProcess};
use harness::emulator::{self, Backend, Emulator};
use serde::Serialize;

use crate::stats::{median, round};

/// Median start time of a backend, or why there is none.
#[derive(Debug, Clone, Serialize)]
pub struct StartTime {
    pub median_ms: Option<f64>,
    pub samples_ms: Vec<f64>,
    pub reason: Option<String>,
    pub describe: Option<String>,
}

impl StartTime {
    fn from_samples(samples: Vec<f64>, describe: Option<String>) -> StartTime {
        StartTime {
            median_ms: median(&samples).map(|m| round(m, 0)),
            samples_ms: samples.into_iter().map(|s| round(s, 0)).collect(),
            reason: None,
            describe,
        }
    }

    fn unavailable(reason: String) -> StartTime {
        StartTime {
            median_ms: None,
            samples_ms: Vec::new(),
            reason: Some(reason),
            describe: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StartTimes {
    pub moto_process: StartTime,
    pub moto_process_ready: StartTime,
    pub moto_container: StartTime,
    pub localstack_container: StartTime,
}

/// Drops an emulator off the async workers (container removal blocks).
async fn stop(e: Box<dyn Emulator>) {
    let _ = tokio::task::spawn_blocking(move || drop(e)).await;
}

async fn time_backend(backend: Backend, reps: usize) -> StartTime {
    let mut samples = Vec::new();
    let mut describe = None;
    for _ in 0..reps {
        let t = Instant::now();
        match emulator::start(backend).await {
            Ok(e) => {
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                describe.get_or_insert_with(|| e.describe());
                stop(e).await;
                // Let the port and the container name go.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => {
                let reason = if err.is_unavailable() {
                    format!("unavailable here: {err}")
                } else {
                    format!("failed: {err}")
                };
                return if samples.is_empty() {
                    StartTime::unavailable(reason)
                } else {
                    let mut s = StartTime::from_samples(samples, describe);
                    s.reason = Some(format!("a later start {reason}"));
                    s
                };
            }
        }
    }
    StartTime::from_samples(samples, describe)
}

async fn time_moto_ready(reps: usize) -> StartTime {
    let options = match MotoOptions::from_env().await {
        Ok(o) => o,
        Err(e) => return StartTime::unavailable(format!("moto not found: {e}")),
    };
    let mut samples = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        match MotoProcess::start(&options).await {
            Ok(p) => {
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                drop(p);
            }
            Err(e) => return StartTime::unavailable(format!("failed: {e}")),
        }
    }
    StartTime::from_samples(samples, Some(options.command.describe()))
}

pub async fn run(process_reps: usize, container_reps: usize) -> StartTimes {
    let moto_process = time_backend(Backend::Moto, process_reps).await;
    let moto_process_ready = time_moto_ready(process_reps).await;
    let (moto_container, localstack_container) = if container_reps == 0 {
        let why = "skipped (--container-reps 0)".to_string();
        (
            StartTime::unavailable(why.clone()),
            StartTime::unavailable(why),
        )
    } else {
        (
            time_backend(Backend::MotoContainer, container_reps).await,
            time_backend(Backend::LocalStack, container_reps).await,
        )
    };
    StartTimes {
        moto_process,
        moto_process_ready,
        moto_container,
        localstack_container,
    }
}

/// The moto version the process backend uses (`5.2.1`), if it can be told.
pub async fn moto_version() -> Option<String> {
    MotoOptions::from_env().await.ok()?.command.version
}
