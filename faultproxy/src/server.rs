//! The accept loop: HTTP/1.1 connections, each request handed to the pipeline
//! ([`crate::pipeline`]); every connection stops when the proxy shuts down. A client that does
//! not send a whole request head within the header read timeout is cut off (slowloris; watched
//! per connection with the upstream answer deadline, see [`crate::deadlines`]), and hyper's read
//! buffer is bounded (see [`crate::limits`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::deadlines::{self, ConnClock, Watched};
use super::pipeline::handle;
use super::state::Shared;

/// Accepts connections until `shutdown` changes and gives each, with its peer's address, to
/// `dispatch` (which serves it with [`connection`] on this runtime or on a serving thread, see
/// `workers.rs`).
pub(crate) async fn serve(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    mut dispatch: impl FnMut(TcpStream, IpAddr),
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically EMFILE; back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        dispatch(stream, peer.ip());
    }
}

/// Serves one client connection until it closes, its client is too slow sending a request head,
/// or the proxy shuts down. hyper serves it in a task of its own; this one watches it
/// ([`deadlines::watch`]) and is woken only at those ends and answer deadlines, not per request.
pub(crate) async fn connection(
    stream: TcpStream,
    peer: IpAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let timeout = shared.limits.header_read_timeout;
    let clock = ConnClock::new();
    let mut builder = http1::Builder::new();
    builder.max_buf_size(shared.limits.hyper_buffer());
    let served_clock = clock.clone();
    let svc = service_fn(move |req| {
        let in_service = served_clock.in_service();
        handle(shared.clone(), req, peer, in_service.clock().clone())
            .map(move |outcome| outcome.map(|resp| resp.map(|b| Watched::new(b, in_service))))
    });
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    let served = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    });
    deadlines::watch(served, &clock, timeout, &mut shutdown).await;
}
