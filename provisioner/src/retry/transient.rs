//! Why this file exists: the one transient-retry policy of every AWS client of the provisioner.
//! Throttling, 5xx answers and failures before an answer (refused, reset, timed out) say nothing
//! about the request: the same call, made again a little later, usually works. The SDK clients
//! (ECS, IAM, ECR, CloudWatch Logs) get this policy through their retry config
//! ([`TransientRetry::retry_config`], clients.rs); the hand-written EC2 client (ec2.rs) runs its
//! calls through [`TransientRetry::run`]. Same codes, same attempts, same backoff with jitter.
//!
//! - Codes: the AWS SDK's standard retry mode classifiers, verbatim (aws-runtime
//!   `retries/classifiers.rs` `THROTTLING_ERRORS` / `TRANSIENT_ERRORS`, aws-smithy-runtime
//!   `HttpStatusCodeClassifier`: 500, 502, 503, 504; a test checks the lists against the SDK's);
//!   https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
//! - Attempts: 25, like Terraform's AWS provider (`max_retries`, default 25:
//!   https://registry.terraform.io/providers/hashicorp/aws/latest/docs#max_retries). The SDK
//!   default of 3 (and our former 5 for EC2, 8 for the SDK) is not enough for a fresh account
//!   that throttles: at 20 % throttling + 20 % flaky answers a call fails 8 times in a row with
//!   probability 0.36^8 ≈ 3e-4, and an apply makes a few hundred calls.
//! - Backoff: the standard mode's exponential backoff with full jitter:
//!   `rand[0,1) × min(max_backoff, initial_backoff × 2^(retry-1))`, 1 s base and 20 s cap (the
//!   SDK's defaults).
//! - Deadline: every loop ends at the operation deadline, whatever attempts are left (the SDK's
//!   operation timeout; [`TransientRetry::run`]'s `deadline` for EC2).
//!
//! Tests shrink the backoff ([`TransientRetry::with_backoff`]) so injected faults cost
//! milliseconds; the codes and the attempts stay the production ones.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_smithy_types::retry::RetryConfig;
use rand::Rng;

use crate::error::AwsError;

/// Throttling error codes: the AWS SDK's standard retry mode list, verbatim (aws-runtime
/// `retries::classifiers::THROTTLING_ERRORS`).
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Transient error codes: the AWS SDK's standard retry mode list, verbatim (aws-runtime
/// `retries::classifiers::TRANSIENT_ERRORS`).
pub const TRANSIENT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// HTTP statuses retried whatever the code (EC2's `InternalError`, `Unavailable`,
/// `ServiceUnavailable` arrive as 500/503): aws-smithy-runtime `HttpStatusCodeClassifier`.
pub const TRANSIENT_STATUSES: &[u16] = &[500, 502, 503, 504];

/// The codes our clients give to failures without an answer (connection refused or reset, no
/// answer in time, a broken answer): see `AwsError::code`. The SDK's `TransientErrorClassifier`
/// retries the same classes (IO, timeout, response errors).
pub const NO_ANSWER_CODES: &[&str] = &["DispatchFailure", "TimeoutError", "ResponseError"];

/// Attempts per call, the first included (Terraform's AWS provider: `max_retries` 25).
pub const TRANSIENT_MAX_ATTEMPTS: u32 = 25;
/// Backoff base of the SDK's standard mode.
pub const TRANSIENT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Backoff cap of the SDK's standard mode.
pub const TRANSIENT_MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Why an error is transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientKind {
    /// A throttling code ([`THROTTLING_CODES`]).
    Throttling,
    /// A transient code ([`TRANSIENT_CODES`]) or a 5xx status ([`TRANSIENT_STATUSES`]).
    Server,
    /// No answer, or a broken one ([`NO_ANSWER_CODES`]).
    NoAnswer,
}

/// The class of a failed call with AWS error `code` and HTTP `status`; `None`: not transient.
pub fn classify_transient(code: &str, status: Option<u16>) -> Option<TransientKind> {
    if THROTTLING_CODES.contains(&code) {
        Some(TransientKind::Throttling)
    } else if TRANSIENT_CODES.contains(&code)
        || status.is_some_and(|s| TRANSIENT_STATUSES.contains(&s))
    {
        Some(TransientKind::Server)
    } else if NO_ANSWER_CODES.contains(&code) {
        Some(TransientKind::NoAnswer)
    } else {
        None
    }
}

/// Whether `e` is transient ([`classify_transient`]).
pub fn is_transient(e: &AwsError) -> bool {
    classify_transient(&e.code, e.status).is_some()
}

/// Attempts and backoff of the transient-retry policy (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransientRetry {
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for TransientRetry {
    /// The production policy: 25 attempts, 1 s base, 20 s cap.
    fn default() -> TransientRetry {
        TransientRetry {
            max_attempts: TRANSIENT_MAX_ATTEMPTS,
            initial_backoff: TRANSIENT_INITIAL_BACKOFF,
            max_backoff: TRANSIENT_MAX_BACKOFF,
        }
    }
}

impl TransientRetry {
    /// The same policy with another backoff base and cap (tests: milliseconds).
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> TransientRetry {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The same policy with `n` attempts (at least 1).
    pub fn with_max_attempts(mut self, n: u32) -> TransientRetry {
        self.max_attempts = n.max(1);
        self
    }

    /// The SDK clients' retry config: standard mode with these attempts and this backoff. The
    /// SDK classifies with the same codes ([`THROTTLING_CODES`], ...) and the same formula.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    /// The longest pause before retry number `retry` (1 = before the second attempt):
    /// `min(max_backoff, initial_backoff × 2^(retry-1))`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(30);
        self.initial_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }

    /// The pause before retry number `retry`: the ceiling times a uniform random factor in
    /// [0, 1) (the standard mode's full jitter, so many callers do not retry in step).
    pub fn backoff(&self, retry: u32) -> Duration {
        self.backoff_ceiling(retry)
            .mul_f64(rand::thread_rng().gen::<f64>())
    }

    /// Runs `call` until it succeeds, fails with a non-transient error (returned as is), or the
    /// policy's bound is reached: `max_attempts` attempts, or `deadline` after the first attempt
    /// started (an attempt still running then is cut off). At the bound the last error comes
    /// back with its code and status and a message that names the bound.
    pub async fn run<T, F, Fut>(
        &self,
        operation: &str,
        deadline: Duration,
        call: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let cut_off = || {
            AwsError::new(
                operation,
                "TimeoutError",
                &format!("no answer within the operation deadline of {deadline:?}"),
            )
        };
        match self
            .retry(operation, deadline, call, is_transient, cut_off)
            .await
        {
            Ok(v) => Ok(v),
            Err(Stopped::Final(e)) => Err(e),
            Err(Stopped::GaveUp(g)) => Err(gave_up(g)),
        }
    }

    /// The loop behind [`run`](Self::run) for any error type: `transient` says which errors
    /// are retried, `cut_off` builds the error of an attempt still running at the deadline.
    /// Callers that are not SDK-shaped (the endpoint check before planning) use it directly, so
    /// every client-side call shares one set of attempts, backoff and deadline rules.
    pub async fn retry<T, E, F, Fut>(
        &self,
        operation: &str,
        deadline: Duration,
        mut call: F,
        transient: impl Fn(&E) -> bool,
        cut_off: impl Fn() -> E,
    ) -> Result<T, Stopped<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = deadline.saturating_sub(start.elapsed());
            let err = match tokio::time::timeout(left, call()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) if !transient(&e) => return Err(Stopped::Final(e)),
                Ok(Err(e)) => e,
                Err(_) => cut_off(),
            };
            let give_up = |last, bound| {
                Stopped::GaveUp(GaveUp {
                    last,
                    attempts: attempt,
                    elapsed: start.elapsed(),
                    bound,
                })
            };
            if attempt >= self.max_attempts {
                return Err(give_up(err, Bound::Attempts));
            }
            let pause = self.backoff(attempt);
            if start.elapsed() + pause >= deadline {
                return Err(give_up(err, Bound::Deadline));
            }
            tracing::debug!(
                operation,
                attempt,
                pause_ms = pause.as_millis() as u64,
                "transient error, retrying: {err}"
            );
            tokio::time::sleep(pause).await;
        }
    }
}

/// How [`TransientRetry::retry`] ended without a result.
#[derive(Debug)]
pub enum Stopped<E> {
    /// An error the policy does not retry, returned as it came.
    Final(E),
    /// Transient errors until the policy's bound.
    GaveUp(GaveUp<E>),
}

/// The policy's bound was reached: the last error and what the loop spent.
#[derive(Debug)]
pub struct GaveUp<E> {
    pub last: E,
    pub attempts: u32,
    pub elapsed: Duration,
    pub bound: Bound,
}

/// Which of the policy's bounds ended a retry loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `max_attempts` attempts were made.
    Attempts,
    /// The next pause would have crossed the deadline.
    Deadline,
}

impl<E> GaveUp<E> {
    /// `gave up after N attempts in X s, at the policy's bound of …`.
    pub fn summary(&self) -> String {
        format!(
            "gave up after {} attempt{} in {:.1} s, at the policy's bound of {}",
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.elapsed.as_secs_f64(),
            match self.bound {
                Bound::Attempts => "attempts",
                Bound::Deadline => "the operation deadline",
            }
        )
    }
}

/// The last error, with a message that says the transient-retry policy gave up, and why.
fn gave_up(g: GaveUp<AwsError>) -> AwsError {
    let summary = g.summary();
    let mut err = g.last;
    err.message = format!("{} (transient error: {summary})", err.message);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_sdk_standard_modes() {
        use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
        assert_eq!(THROTTLING_CODES, THROTTLING_ERRORS);
        assert_eq!(TRANSIENT_CODES, TRANSIENT_ERRORS);
    }

    #[test]
    fn classification_follows_codes_then_statuses() {
        let c = classify_transient;
        assert_eq!(
            c("RequestLimitExceeded", Some(503)),
            Some(TransientKind::Throttling)
        );
        assert_eq!(
            c("ThrottlingException", Some(400)),
            Some(TransientKind::Throttling)
        );
        assert_eq!(
            c("ServiceUnavailable", Some(503)),
            Some(TransientKind::Server)
        );
        assert_eq!(c("InternalError", Some(500)), Some(TransientKind::Server));
        assert_eq!(c("RequestTimeout", Some(400)), Some(TransientKind::Server));
        assert_eq!(c("DispatchFailure", None), Some(TransientKind::NoAnswer));
        assert_eq!(c("TimeoutError", None), Some(TransientKind::NoAnswer));
        for (code, status) in [
            ("InvalidParameterException", Some(400)),
            ("AuthFailure", Some(401)),
            ("UnauthorizedOperation", Some(403)),
            ("HTTP501", Some(501)),
            ("ConstructionFailure", None),
        ] {
            assert_eq!(c(code, status), None, "{code} {status:?}");
        }
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_full_jitter() {
        let p = TransientRetry::default();
        assert_eq!(p.backoff_ceiling(1), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(2), Duration::from_secs(2));
        assert_eq!(p.backoff_ceiling(5), Duration::from_secs(16));
        assert_eq!(p.backoff_ceiling(6), Duration::from_secs(20));
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(20));
        let pauses: Vec<Duration> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(
            pauses.iter().all(|d| *d < Duration::from_secs(4)),
            "{pauses:?}"
        );
        assert!(
            pauses.iter().any(|d| *d != pauses[0]),
            "no jitter: {pauses:?}"
        );
    }

    #[test]
    fn the_sdk_retry_config_carries_attempts_and_backoff() {
        let p = TransientRetry::default()
            .with_backoff(Duration::from_millis(10), Duration::from_millis(150))
            .with_max_attempts(0);
        let rc = p.retry_config();
        assert_eq!(rc.max_attempts(), 1);
        assert_eq!(rc.initial_backoff(), Duration::from_millis(10));
        assert_eq!(rc.max_backoff(), Duration::from_millis(150));
        assert_eq!(
            TransientRetry::default().retry_config().max_attempts(),
            TRANSIENT_MAX_ATTEMPTS
        );
    }

    fn fast() -> TransientRetry {
        TransientRetry::default().with_backoff(Duration::from_millis(1), Duration::from_millis(2))
    }

    fn throttled() -> AwsError {
        let mut e = AwsError::new(
            "DescribeVpcs",
            "RequestLimitExceeded",
            "Request limit exceeded.",
        );
        e.status = Some(503);
        e
    }

    #[tokio::test]
    async fn run_retries_transient_errors_until_success() {
        let mut calls = 0;
        let out = fast()
            .run("DescribeVpcs", Duration::from_secs(30), || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 20 {
                        Err(throttled())
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(out, Ok(20));
    }

    #[tokio::test]
    async fn run_returns_other_errors_at_once() {
        let mut calls = 0;
        let out: Result<(), AwsError> = fast()
            .run("DescribeVpcs", Duration::from_secs(30), || {
                calls += 1;
                async { Err(AwsError::new("DescribeVpcs", "AuthFailure", "no")) }
            })
            .await;
        assert_eq!(out.unwrap_err().message, "no");
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn run_gives_up_at_the_attempts_bound_naming_it() {
        let mut calls = 0;
        let err = fast()
            .run("DescribeVpcs", Duration::from_secs(30), || {
                calls += 1;
                async { Err::<(), _>(throttled()) }
            })
            .await
            .unwrap_err();
        assert_eq!(calls, TRANSIENT_MAX_ATTEMPTS);
        assert_eq!(
            (err.code.as_str(), err.status),
            ("RequestLimitExceeded", Some(503))
        );
        assert!(
            err.message.starts_with(
                "Request limit exceeded. (transient error: gave up after 25 attempts in "
            ) && err.message.ends_with("at the policy's bound of attempts)"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn run_gives_up_at_the_deadline_and_cuts_a_hanging_attempt() {
        let slow = TransientRetry::default()
            .with_backoff(Duration::from_millis(40), Duration::from_millis(40));
        let mut calls = 0;
        let err = slow
            .run("DescribeVpcs", Duration::from_millis(100), || {
                calls += 1;
                async { Err::<(), _>(throttled()) }
            })
            .await
            .unwrap_err();
        assert!(calls < TRANSIENT_MAX_ATTEMPTS, "{calls}");
        assert!(
            err.message
                .ends_with("at the policy's bound of the operation deadline)"),
            "{}",
            err.message
        );
        let err = fast()
            .run("DescribeVpcs", Duration::from_millis(50), || async {
                std::future::pending::<Result<(), AwsError>>().await
            })
            .await
            .unwrap_err();
        assert_eq!(err.code, "TimeoutError");
        assert!(
            err.message
                .contains("no answer within the operation deadline of 50ms"),
            "{}",
            err.message
        );
    }
}
