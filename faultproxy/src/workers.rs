//! Serving threads: the proxy's connections spread round-robin over N threads, each running a
//! single-threaded tokio runtime of its own (the way nginx runs one event loop per worker).
//!
//! On tokio's multi-threaded runtime a request and the upstream connection it borrows often live
//! on different workers, so every request costs cross-thread wake-ups (futex calls, idle workers
//! woken, cache lines moved); the bench measured the proxy at 1.7x nginx's CPU per request that
//! way. Here a client connection, the upstream connections its thread opens (the upstream pool
//! keeps one stack per thread, see `upstream.rs`) and every task they spawn stay on one thread:
//! a request wakes no other thread. The accept loop runs on the caller's runtime and hands each
//! accepted socket to the next thread.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

use super::server::connection;
use super::state::Shared;
use super::upstream;

/// The running serving threads; dropping it (with the accept loop) lets them end.
pub(crate) struct Workers {
    senders: Vec<mpsc::UnboundedSender<(std::net::TcpStream, IpAddr)>>,
    next: usize,
    /// Each thread's end (its runtime dropped, its connections closed).
    ended: Vec<oneshot::Receiver<()>>,
}

impl Workers {
    /// Starts `n` serving threads (at least one) for `shared`, named `fproxy<port>-<i>` (within
    /// Linux's 15 characters, so per-thread CPU can be told apart per proxy).
    pub fn start(
        n: usize,
        port: u16,
        shared: &Arc<Shared>,
        shutdown: &watch::Receiver<bool>,
    ) -> std::io::Result<Workers> {
        let mut senders = Vec::new();
        let mut ended = Vec::new();
        for slot in 1..=n.max(1) {
            let (tx, rx) = mpsc::unbounded_channel();
            let (end_tx, end_rx) = oneshot::channel();
            // Sockets and timers only: `enable_all` would also poll the process and signal
            // drivers on every turn (~150 instructions per request, callgrind), for nothing here.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()?;
            let shared = shared.clone();
            let shutdown = shutdown.clone();
            std::thread::Builder::new()
                .name(format!("fproxy{port}-{slot}"))
                .spawn(move || {
                    upstream::set_pool_slot(slot);
                    runtime.block_on(serve_handed_over(rx, shared, shutdown));
                    // Connections still open end with the runtime.
                    drop(runtime);
                    let _ = end_tx.send(());
                })?;
            senders.push(tx);
            ended.push(end_rx);
        }
        Ok(Workers {
            senders,
            next: 0,
            ended,
        })
    }

    /// Gives an accepted connection to the next thread.
    pub fn hand_over(&mut self, stream: TcpStream, peer: IpAddr) {
        let Ok(stream) = stream.into_std() else {
            tracing::warn!("could not hand an accepted connection to a serving thread");
            return;
        };
        let i = self.next % self.senders.len();
        self.next = self.next.wrapping_add(1);
        if self.senders[i].send((stream, peer)).is_err() {
            tracing::warn!(thread = i + 1, "serving thread gone; connection closed");
        }
    }

    /// Closes the hand-over channels and waits until every thread has ended.
    pub async fn stop(self) {
        drop(self.senders);
        for end in self.ended {
            let _ = end.await;
        }
    }
}

/// One serving thread: serves each handed-over connection until the channel closes (the accept
/// loop ended) or the proxy shuts down.
async fn serve_handed_over(
    mut rx: mpsc::UnboundedReceiver<(std::net::TcpStream, IpAddr)>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            s = rx.recv() => match s {
                Some(s) => s,
                None => return,
            },
            _ = shutdown.changed() => return,
        };
        match TcpStream::from_std(stream) {
            Ok(stream) => {
                tokio::spawn(connection(stream, peer, shared.clone(), shutdown.clone()));
            }
            Err(e) => tracing::warn!(error = %e, "could not serve a handed-over connection"),
        }
    }
}
