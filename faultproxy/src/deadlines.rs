//! A client connection's deadlines, watched once per connection instead of on every request:
//! the header read timeout (slowloris guard), the upstream answer deadline of the request being
//! forwarded, and the proxy's shutdown.
//!
//! Per request, hyper's own `header_read_timeout` armed a timer (a boxed `Sleep` registered in
//! tokio's timer wheel and removed again, plus one more turn of its dispatcher), the answer
//! deadline armed another, and a `select!` polled the shutdown signal on every wake-up of the
//! connection: ~1.7k, ~1.5k and ~0.7k of the ~54k instructions a proxied request cost
//! (callgrind; docs/src/benchmarks.md). Here the connection runs as a task of its own, and a watcher
//! task waits for its end, the shutdown, or one timer. Requests only note when they start (head
//! complete), when their answer has been written ([`InService`]) and when they wait for the
//! upstream until when ([`AnswerDeadline`]); the watcher's timer fires at most once per header
//! timeout, or at the answer deadline, and then it looks:
//! - a connection waiting for a request head longer than the header timeout is closed. Same rule
//!   as hyper's: the time runs from the connection's start, or from the end of the previous
//!   answer, until the next head is complete (so an idle keep-alive connection is closed too);
//! - a request whose answer deadline passed is woken and answers 504 (`pipeline.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::task::AtomicWaker;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// No deadline (as nanoseconds from the connection's start).
const NONE: u64 = u64::MAX;

/// What the watcher of one connection needs to know.
pub(crate) struct ConnClock {
    start: Instant,
    /// Requests between head and written answer.
    busy: AtomicUsize,
    /// Nanoseconds from `start` to the end of the last written answer.
    idle_since_ns: AtomicU64,
    /// The answer deadline of the request waiting for the upstream (ns from `start`, or `NONE`).
    answer_due_ns: AtomicU64,
    /// The last answer deadline the watcher found passed (ns from `start`, or `NONE`); a request
    /// is late when it is its own (not an earlier request's).
    answer_late_ns: AtomicU64,
    /// The waiting request's task.
    answer_waker: AtomicWaker,
    /// When the watcher looks next (ns from `start`): a sooner answer deadline wakes it.
    watcher_due_ns: AtomicU64,
    /// Set with a wake-up of the watcher to make it look again now.
    watcher_poked: AtomicBool,
    watcher_waker: AtomicWaker,
}

impl ConnClock {
    pub fn new() -> Arc<ConnClock> {
        Arc::new(ConnClock {
            start: Instant::now(),
            busy: AtomicUsize::new(0),
            idle_since_ns: AtomicU64::new(0),
            answer_due_ns: AtomicU64::new(NONE),
            answer_late_ns: AtomicU64::new(NONE),
            answer_waker: AtomicWaker::new(),
            watcher_due_ns: AtomicU64::new(NONE),
            watcher_poked: AtomicBool::new(false),
            watcher_waker: AtomicWaker::new(),
        })
    }

    /// A request head is complete; the request is served until the returned guard is dropped.
    pub fn in_service(self: &Arc<ConnClock>) -> InService {
        self.busy.fetch_add(1, Ordering::AcqRel);
        InService(self.clone())
    }

    /// The request now waits for the upstream's answer for at most `timeout`.
    pub fn answer_deadline(&self, timeout: Duration) -> AnswerDeadline<'_> {
        let due = self.ns_since_start(Instant::now() + timeout);
        self.answer_due_ns.store(due, Ordering::Release);
        if due < self.watcher_due_ns.load(Ordering::Acquire) {
            // The watcher sleeps past it (an answer timeout shorter than the header timeout).
            self.watcher_poked.store(true, Ordering::Release);
            self.watcher_waker.wake();
        }
        AnswerDeadline { clock: self, due }
    }

    fn ns_since_start(&self, t: Instant) -> u64 {
        let ns = t.saturating_duration_since(self.start).as_nanos();
        u64::try_from(ns).unwrap_or(NONE - 1)
    }

    fn at(&self, ns: u64) -> Instant {
        self.start + Duration::from_nanos(ns)
    }

    /// The watcher's look at `now`: wakes a request whose answer deadline passed, and tells when
    /// to look next (`None`: the connection has waited for a head longer than `header_timeout`).
    fn look(&self, header_timeout: Duration, now: Instant) -> Option<Instant> {
        let mut next = now + header_timeout;
        let answer_due = self.answer_due_ns.load(Ordering::Acquire);
        if answer_due != NONE && self.answer_late_ns.load(Ordering::Acquire) != answer_due {
            if self.at(answer_due) <= now {
                self.answer_late_ns.store(answer_due, Ordering::Release);
                self.answer_waker.wake();
            } else {
                next = next.min(self.at(answer_due));
            }
        }
        if self.busy.load(Ordering::Acquire) == 0 {
            let idle_since = self.at(self.idle_since_ns.load(Ordering::Acquire));
            let due = idle_since + header_timeout;
            if due <= now {
                return None;
            }
            next = next.min(due);
        }
        self.watcher_due_ns
            .store(self.ns_since_start(next), Ordering::Release);
        Some(next)
    }

    /// Ready when a request set an answer deadline sooner than the watcher's next look.
    fn poll_poked(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.watcher_waker.register(cx.waker());
        if self.watcher_poked.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Held while a request is served; dropped when its answer has been written (hyper drops the
/// body then) or the request ended without one.
pub(crate) struct InService(Arc<ConnClock>);

impl InService {
    pub fn clock(&self) -> &Arc<ConnClock> {
        &self.0
    }
}

impl Drop for InService {
    fn drop(&mut self) {
        let clock = &self.0;
        let ns = clock.ns_since_start(Instant::now());
        // Before `busy` goes down, so a watcher that sees the connection idle sees since when.
        clock.idle_since_ns.store(ns, Ordering::Release);
        clock.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request's wait for the upstream, until its deadline ([`ConnClock::answer_deadline`]).
pub(crate) struct AnswerDeadline<'a> {
    clock: &'a ConnClock,
    due: u64,
}

impl AnswerDeadline<'_> {
    /// `fut`'s output, or `None` when the deadline passes first.
    pub async fn before<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            // Registered before the flag is read: a watcher that sets it then wakes this task.
            self.clock.answer_waker.register(cx.waker());
            if self.clock.answer_late_ns.load(Ordering::Acquire) == self.due {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

impl Drop for AnswerDeadline<'_> {
    fn drop(&mut self) {
        self.clock.answer_due_ns.store(NONE, Ordering::Release);
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
/// longer than `header_timeout` or when the proxy shuts down, and wakes a request whose answer
/// deadline passed (see [`ConnClock`]).
pub(crate) async fn watch(
    mut served: JoinHandle<()>,
    clock: &ConnClock,
    header_timeout: Duration,
    shutdown: &mut watch::Receiver<bool>,
) {
    let first = Instant::now() + header_timeout;
    clock
        .watcher_due_ns
        .store(clock.ns_since_start(first), Ordering::Release);
    let timer = tokio::time::sleep_until(first.into());
    tokio::pin!(timer);
    loop {
        tokio::select! {
            _ = &mut served => return,
            () = timer.as_mut() => {}
            () = std::future::poll_fn(|cx| clock.poll_poked(cx)) => {}
            _ = shutdown.changed() => {
                served.abort();
                return;
            }
        }
        match clock.look(header_timeout, Instant::now()) {
            Some(next) => timer.as_mut().reset(next.into()),
            None => {
                tracing::debug!(
                    ?header_timeout,
                    "request head not complete within the header read timeout; connection closed"
                );
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
        let clock = ConnClock::new();
        let t = Duration::from_secs(1);
        let start = clock.start;
        // Waiting for the first head since the start.
        assert_eq!(clock.look(t, start), Some(start + t));
        assert_eq!(clock.look(t, start + t), None);
        // Serving a request: never overdue, looked at again a timeout later.
        let guard = clock.in_service();
        let late = start + 5 * t;
        assert_eq!(clock.look(t, late), Some(late + t));
        // Answer written: the time runs again from then.
        drop(guard);
        let idle_since = clock.at(clock.idle_since_ns.load(Ordering::Acquire));
        assert!(idle_since >= start);
        assert_eq!(clock.look(t, idle_since), Some(idle_since + t));
        assert_eq!(clock.look(t, idle_since + t), None);
    }

    #[tokio::test]
    async fn an_answer_deadline_wakes_the_waiting_request_once_passed() {
        let clock = ConnClock::new();
        let header_timeout = Duration::from_secs(30);
        let _serving = clock.in_service();
        let deadline = clock.answer_deadline(Duration::from_millis(50));
        // Sooner than the watcher's next look: the watcher is poked.
        assert!(clock.watcher_poked.load(Ordering::Acquire));
        let due = clock.at(clock.answer_due_ns.load(Ordering::Acquire));
        // Before the deadline the watcher looks again at it; the request is not late.
        let early = due - Duration::from_millis(10);
        assert_eq!(clock.look(header_timeout, early), Some(due));
        assert_eq!(clock.answer_late_ns.load(Ordering::Acquire), NONE);
        // A future that answers in time is not cut.
        assert_eq!(deadline.before(async { 7 }).await, Some(7));
        // At the deadline the request is late: a waiting future ends with `None`.
        assert_eq!(clock.look(header_timeout, due), Some(due + header_timeout));
        assert_eq!(deadline.before(std::future::pending::<()>()).await, None);
        drop(deadline);
        assert_eq!(clock.answer_due_ns.load(Ordering::Acquire), NONE);
    }
}
