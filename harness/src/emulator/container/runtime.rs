//! Why this file exists: testcontainers' container handle is bound to the tokio runtime that
//! created it, and each `#[tokio::test]` has its own runtime that ends with the test, while the
//! shared emulator outlives it. So containers are started, watched and removed on one dedicated
//! runtime of the runner's own, whatever runtime (or none) the caller is on.

use std::sync::OnceLock;

/// Name of the runtime's worker threads.
const RUNTIME_THREAD_NAME: &str = "harness-docker";
/// Worker threads: container starts and log streams are light.
const RUNTIME_WORKERS: usize = 2;

/// The runner's runtime (built on first use, lives as long as the process).
pub(super) fn docker_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_WORKERS)
            .thread_name(RUNTIME_THREAD_NAME)
            .enable_all()
            .build()
            .expect("cannot build the harness's docker runtime")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_on_the_named_workers() {
        let (tx, rx) = std::sync::mpsc::channel();
        docker_runtime().spawn(async move {
            let _ = tx.send(std::thread::current().name().map(str::to_owned));
        });
        let name = rx.recv().unwrap();
        assert_eq!(name.as_deref(), Some(RUNTIME_THREAD_NAME));
    }
}
