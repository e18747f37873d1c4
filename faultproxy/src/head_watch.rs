//! The header read timeout (slowloris guard) and the shutdown of a client connection, watched
//! once per connection instead of on every request.
//!
//! hyper's own `header_read_timeout` arms a timer for every request head (a boxed `Sleep`
//! registered in tokio's timer wheel and removed again, plus one more turn of its dispatcher):
//! ~1.7k of the ~54k instructions a proxied request cost (callgrind, README "Benchmarks"). And a
//! `select!` between the connection and the shutdown signal polled that signal on every wake-up
//! of the connection (~0.7k per request). Here the connection runs as a task of its own, and a
//! watcher task waits for its end, the shutdown, or one timer that fires at most once per
//! timeout. Requests only note when they start (head complete) and when their answer has been
//! written ([`InService`]); when the timer fires, the watcher looks whether the connection has
//! been waiting for a head longer than the timeout. Same rule as hyper's: the time runs from the
//! connection's start, or from the end of the previous answer, until the next head is complete
//! (so an idle keep-alive connection is closed after the timeout too).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// When a connection last started waiting for a request head, and whether a request is being
/// served (a head is in, its answer not yet written).
pub(crate) struct HeadClock {
    start: Instant,
    /// Requests between head and written answer.
    busy: AtomicUsize,
    /// Nanoseconds from `start` to the end of the last written answer.
    idle_since_ns: AtomicU64,
}

impl HeadClock {
    pub fn new() -> Arc<HeadClock> {
        Arc::new(HeadClock {
            start: Instant::now(),
            busy: AtomicUsize::new(0),
            idle_since_ns: AtomicU64::new(0),
        })
    }

    /// A request head is complete; the request is served until the returned guard is dropped.
    pub fn in_service(self: &Arc<HeadClock>) -> InService {
        self.busy.fetch_add(1, Ordering::AcqRel);
        InService(self.clone())
    }

    /// When to look again (`None`: the connection has waited for a head longer than `timeout`).
    fn next_check(&self, timeout: Duration, now: Instant) -> Option<Instant> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return Some(now + timeout);
        }
        let idle_since =
            self.start + Duration::from_nanos(self.idle_since_ns.load(Ordering::Acquire));
        let due = idle_since + timeout;
        (due > now).then_some(due)
    }
}

/// Held while a request is served; dropped when its answer has been written (hyper drops the
/// body then) or the request ended without one.
pub(crate) struct InService(Arc<HeadClock>);

impl Drop for InService {
    fn drop(&mut self) {
        let clock = &self.0;
        let ns = clock.start.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        // Before `busy` goes down, so a watcher that sees the connection idle sees since when.
        clock.idle_since_ns.store(ns, Ordering::Release);
        clock.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request [`InService`] until hyper has taken all of it.
pub(crate) struct Watched<B> {
    body: B,
    _in_service: InService,
}

impl<B> Watched<B> {
    pub fn new(body: B, in_service: InService) -> Watched<B> {
        Watched {
            body,
            _in_service: in_service,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Watched<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Waits until the connection task `served` ends; cuts it when it has waited for a request head
/// longer than `timeout` (see [`HeadClock`]) or when the proxy shuts down.
pub(crate) async fn watch(
    mut served: JoinHandle<()>,
    clock: &HeadClock,
    timeout: Duration,
    shutdown: &mut watch::Receiver<bool>,
) {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut served => return,
            () = deadline.as_mut() => {
                match clock.next_check(timeout, Instant::now()) {
                    Some(next) => deadline.as_mut().reset(next.into()),
                    None => {
                        tracing::debug!(?timeout, "request head not complete within the header read timeout; connection closed");
                        served.abort();
                        return;
                    }
                }
            }
            _ = shutdown.changed() => {
                served.abort();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_overdue_only_while_it_waits_for_a_head() {
        let clock = HeadClock::new();
        let t = Duration::from_secs(1);
        let start = clock.start;
        // Waiting for the first head since the start.
        assert_eq!(clock.next_check(t, start), Some(start + t));
        assert_eq!(clock.next_check(t, start + t), None);
        // Serving a request: never overdue, looked at again a timeout later.
        let guard = clock.in_service();
        let late = start + 5 * t;
        assert_eq!(clock.next_check(t, late), Some(late + t));
        // Answer written: the time runs again from then.
        drop(guard);
        let idle_since = start + Duration::from_nanos(clock.idle_since_ns.load(Ordering::Acquire));
        assert!(idle_since >= start);
        assert_eq!(clock.next_check(t, idle_since), Some(idle_since + t));
        assert_eq!(clock.next_check(t, idle_since + t), None);
    }
}
