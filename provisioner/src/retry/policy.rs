//! Why this file exists: how long the retry loop may keep absorbing (one deadline per window,
//! Terraform's timeouts by default) and how long it pauses between attempts. Two paces:
//! - propagation (a window AWS closes on its own: a role becoming readable, a cluster becoming
//!   known, a service draining) is polled at a fixed short interval, [`DEFAULT_POLL_INTERVAL`],
//!   so the wait ends within one interval of the window's end (an exponential backoff overshoots
//!   it: 5 s doubling steps turn a 5 s window into an 8 s wait);
//! - contention that lasts as long as some other work (deployments, tasks stopping) keeps
//!   exponential backoff with jitter, so many callers do not hammer AWS in step.
//!
//! Throttling, 5xx and lost answers are the transient-retry policy's (transient.rs), below this
//! loop in every client.
//! All knobs public so tests can shrink them.

use std::time::Duration;

use rand::Rng;

use super::catalogue::{Pace, Window};

/// Terraform's `propagationTimeout`.
pub const DEFAULT_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(2 * 60);
/// Terraform's CreateService retry: 2 min + 2 min.
pub const DEFAULT_CREATE_SERVICE_TIMEOUT: Duration = Duration::from_secs(4 * 60);
/// Terraform's cluster/capacity-provider delete window.
pub const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Terraform's DeleteLogGroup window.
pub const DEFAULT_LOG_GROUP_DELETE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(200);
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The fixed pace of propagation polls and wait loops: Terraform's `retry.StateChangeConf` with
/// a `PollInterval` polls at that interval until its `Timeout`
/// (https://github.com/hashicorp/terraform-plugin-sdk/blob/main/helper/retry/state.go); 250 ms
/// keeps the overshoot past a window under half a second at 4 calls/s per waiting resource.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How the provisioner's own retry loop (and its wait loops) behave. All knobs public so tests
/// can shrink them.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// `false` = `--no-retry`: catalogued errors surface at once, exactly as AWS sent them.
    /// (The SDK's own transient retries stay on; wait loops still wait.)
    pub enabled: bool,
    pub propagation_timeout: Duration,
    pub create_service_timeout: Duration,
    pub delete_timeout: Duration,
    pub log_group_delete_timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub multiplier: f64,
    /// Pause between polls of a propagation window and of every wait loop (fixed, no jitter).
    pub poll_interval: Duration,
    /// Fraction of each backoff that is randomized (0 = none, 1 = anywhere in [0, backoff]).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            enabled: true,
            propagation_timeout: DEFAULT_PROPAGATION_TIMEOUT,
            create_service_timeout: DEFAULT_CREATE_SERVICE_TIMEOUT,
            delete_timeout: DEFAULT_DELETE_TIMEOUT,
            log_group_delete_timeout: DEFAULT_LOG_GROUP_DELETE_TIMEOUT,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            multiplier: 2.0,
            poll_interval: DEFAULT_POLL_INTERVAL,
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// `--no-retry`: the catalogue is not consulted; the first error surfaces verbatim.
    pub fn disabled() -> Self {
        RetryPolicy {
            enabled: false,
            ..RetryPolicy::default()
        }
    }

    /// One deadline for every window (`--retry-timeout`).
    pub fn with_deadline(mut self, d: Duration) -> Self {
        self.propagation_timeout = d;
        self.create_service_timeout = d;
        self.delete_timeout = d;
        self.log_group_delete_timeout = d;
        self
    }

    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The fixed pause of propagation polls and wait loops (at least 1 ms).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    pub fn window(&self, w: Window) -> Duration {
        match w {
            Window::Propagation => self.propagation_timeout,
            Window::CreateService => self.create_service_timeout,
            Window::Delete => self.delete_timeout,
            Window::LogGroupDelete => self.log_group_delete_timeout,
        }
    }

    /// The pause before attempt `attempt + 1` of an entry with this pace.
    pub fn pause(&self, pace: Pace, attempt: u32) -> Duration {
        match pace {
            Pace::Poll => self.poll_interval,
            Pace::Backoff => self.backoff(attempt),
        }
    }

    /// The backoff schedule: `initial * multiplier^(attempt-1)`, capped, with jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self.initial_backoff.as_secs_f64()
            * self
                .multiplier
                .max(1.0)
                .powi(attempt.saturating_sub(1).min(64) as i32);
        let capped = base.min(self.max_backoff.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = if jitter > 0.0 {
            1.0 - jitter * rand::thread_rng().gen::<f64>()
        } else {
            1.0
        };
        Duration::from_secs_f64((capped * factor).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_polls_at_a_fixed_interval_contention_backs_off() {
        let p = RetryPolicy::default().with_jitter(0.0);
        for attempt in [1, 2, 5, 30] {
            assert_eq!(p.pause(Pace::Poll, attempt), DEFAULT_POLL_INTERVAL);
        }
        assert_eq!(p.pause(Pace::Backoff, 1), Duration::from_millis(200));
        assert_eq!(p.pause(Pace::Backoff, 3), Duration::from_millis(800));
        let q = p.with_poll_interval(Duration::ZERO);
        assert_eq!(q.pause(Pace::Poll, 1), Duration::from_millis(1));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default().with_jitter(0.0);
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(400));
        assert_eq!(p.backoff(20), Duration::from_secs(5));
        let j = RetryPolicy::default();
        for a in 1..10 {
            let b = j.backoff(a);
            assert!(
                b <= Duration::from_secs(5) && b >= Duration::from_millis(100),
                "{b:?}"
            );
        }
    }
}
