//! The accept loop: HTTP/1.1 connections, each request handed to the pipeline
//! ([`crate::pipeline`]); every connection stops when the proxy shuts down. A client that does
//! not send a whole request head within the header read timeout is cut off (slowloris), and
//! hyper's read buffer is bounded (see [`crate::limits`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

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

/// Serves one client connection until it closes or the proxy shuts down.
pub(crate) async fn connection(
    stream: TcpStream,
    peer: IpAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.header_read_timeout)
        .max_buf_size(shared.limits.hyper_buffer());
    let svc = service_fn(move |req| handle(shared.clone(), req, peer));
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        res = conn => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = shutdown.changed() => {}
    }
}
