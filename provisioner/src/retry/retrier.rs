//! Why this file exists: the loop that absorbs catalogued errors until success, an uncatalogued
//! error or the entry's deadline (paced by the entry: a fixed poll for propagation, backoff for
//! contention; every absorbed error logged and recorded), and the wait loop the `wait_*`
//! functions poll with at the policy's fixed poll interval.

use std::future::Future;
use std::time::{Duration, Instant};

use super::absorbed::{AbsorbedError, AbsorbedLog};
use super::catalogue::classify;
use super::policy::RetryPolicy;
use crate::error::{AwsError, Error};

/// A [`RetryPolicy`] plus the record of everything absorbed under it. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Retrier {
    policy: RetryPolicy,
    absorbed: AbsorbedLog,
}

impl Retrier {
    pub fn new(policy: RetryPolicy) -> Retrier {
        Retrier {
            policy,
            absorbed: AbsorbedLog::default(),
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Everything absorbed so far, in order.
    pub fn absorbed(&self) -> Vec<AbsorbedError> {
        self.absorbed.snapshot()
    }

    /// Calls `f` until it succeeds, fails with an error the catalogue does not list, or the
    /// entry's deadline passes.
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        self.run(false, f).await
    }

    /// Like [`Retrier::call`], also absorbing "not found" right after our own create.
    pub async fn call_after_create<T, F, Fut>(&self, f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        self.run(true, f).await
    }

    /// A read that may follow our own create: with `after_create`, "not found" is absorbed as in
    /// [`Retrier::call_after_create`]; otherwise a single call, its error returned as is.
    pub async fn read<T, F, Fut>(&self, after_create: bool, mut f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        if after_create {
            self.run(true, f).await
        } else {
            f().await.map_err(Error::from)
        }
    }

    async fn run<T, F, Fut>(&self, after_create: bool, mut f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let start = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let err = match f().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !self.policy.enabled {
                return Err(Error::Aws(err));
            }
            let Some(entry) = classify(&err, after_create) else {
                return Err(Error::Aws(err));
            };
            let elapsed = start.elapsed();
            let pause = self.policy.pause(entry.pace, attempt);
            if elapsed + pause > self.policy.window(entry.window) {
                tracing::warn!(
                    operation = %err.operation, code = %err.code, attempt,
                    elapsed_ms = elapsed.as_millis() as u64,
                    "retry deadline exceeded: {}", err.message
                );
                return Err(Error::RetryDeadlineExceeded {
                    operation: err.operation.clone(),
                    attempts: attempt,
                    elapsed,
                    last: Box::new(err),
                });
            }
            tracing::warn!(
                operation = %err.operation, code = %err.code, attempt,
                elapsed_ms = elapsed.as_millis() as u64,
                retry_in_ms = pause.as_millis() as u64,
                reason = entry.reason,
                "absorbed retryable AWS error: {}", err.message
            );
            self.absorbed.push(AbsorbedError {
                operation: err.operation.clone(),
                code: err.code.clone(),
                message: err.message.clone(),
                attempt,
                waited: elapsed,
            });
            tokio::time::sleep(pause).await;
        }
    }

    /// Polls `check` until it yields `Some`, every [`RetryPolicy::poll_interval`], for at most
    /// `timeout` (a state AWS reaches on its own: the wait should end right after it does).
    /// Used by the wait_* functions (these waits run even when retries are disabled).
    pub async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, Error>>,
    {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(v) = check().await? {
                return Ok(v);
            }
            let pause = self.policy.poll_interval;
            if start.elapsed() + pause > timeout {
                return Err(Error::WaitTimeout {
                    what: what.to_owned(),
                    after: start.elapsed(),
                });
            }
            tracing::debug!(
                what,
                attempt,
                elapsed_ms = start.elapsed().as_millis() as u64,
                "waiting"
            );
            tokio::time::sleep(pause).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::codes::*;

    fn slr_error() -> AwsError {
        AwsError::new(
            "CreateService",
            CODE_INVALID_PARAMETER,
            MSG_SLR_NOT_ASSUMABLE_FULL,
        )
    }

    #[tokio::test]
    async fn absorbs_then_succeeds_and_records() {
        let r = Retrier::new(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2))
                .with_poll_interval(Duration::from_millis(1)),
        );
        let mut n = 0;
        let out = r
            .call(|| {
                n += 1;
                let fail = n <= 2;
                async move {
                    if fail {
                        Err(slr_error())
                    } else {
                        Ok(7)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(out, 7);
        let abs = r.absorbed();
        assert_eq!(abs.len(), 2);
        assert_eq!(abs[0].attempt, 1);
        assert_eq!(abs[1].attempt, 2);
        assert_eq!(abs[0].code, CODE_INVALID_PARAMETER);
    }

    /// A propagation error is retried every poll interval, not on a growing backoff.
    #[tokio::test]
    async fn propagation_retries_poll_at_the_fixed_interval() {
        let r = Retrier::new(
            RetryPolicy::default()
                .with_backoff(Duration::from_secs(60), Duration::from_secs(60))
                .with_poll_interval(Duration::from_millis(2)),
        );
        let mut n = 0;
        let out = r
            .call(|| {
                n += 1;
                let fail = n <= 5;
                async move {
                    if fail {
                        Err(slr_error())
                    } else {
                        Ok(n)
                    }
                }
            })
            .await
            .unwrap();
        // Five absorbed errors with a 60 s backoff would not finish inside the test's lifetime;
        // the 2 ms poll did.
        assert_eq!(out, 6);
        assert_eq!(r.absorbed().len(), 5);
    }

    #[tokio::test]
    async fn wait_for_polls_until_ready_then_times_out_naming_what() {
        let r = Retrier::new(RetryPolicy::default().with_poll_interval(Duration::from_millis(1)));
        let mut n = 0;
        let v = r
            .wait_for("thing", Duration::from_secs(30), || {
                n += 1;
                let ready = n >= 4;
                async move { Ok(ready.then_some(n)) }
            })
            .await
            .unwrap();
        assert_eq!(v, 4);
        let err = r
            .wait_for(
                "the never-ready thing",
                Duration::from_millis(5),
                || async { Ok(None::<()>) },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::WaitTimeout { .. }), "{err}");
        assert!(err.to_string().contains("the never-ready thing"), "{err}");
    }

    #[tokio::test]
    async fn disabled_surfaces_first_error_verbatim() {
        let r = Retrier::new(RetryPolicy::disabled());
        let err = r
            .call(|| async { Err::<(), _>(slr_error()) })
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("CreateService: InvalidParameterException: {MSG_SLR_NOT_ASSUMABLE_FULL}")
        );
        assert!(r.absorbed().is_empty());
    }

    #[tokio::test]
    async fn deadline_names_operation_and_last_error() {
        let r = Retrier::new(
            RetryPolicy::default()
                .with_deadline(Duration::from_millis(30))
                .with_backoff(Duration::from_millis(5), Duration::from_millis(5))
                .with_poll_interval(Duration::from_millis(5)),
        );
        let err = r
            .call(|| async { Err::<(), _>(slr_error()) })
            .await
            .unwrap_err();
        assert!(err.is_retry_deadline_exceeded());
        let s = err.to_string();
        assert!(s.starts_with("CreateService: "), "{s}");
        assert!(s.contains(MSG_SLR_NOT_ASSUMABLE_FULL), "{s}");
        assert_eq!(err.aws_message(), Some(MSG_SLR_NOT_ASSUMABLE_FULL));
    }
}
