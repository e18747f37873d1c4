//! `latency`: delay the request by a fixed time plus a deterministic jitter, then go on.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Fault, FaultAction, FaultContext, FaultKind};

/// Added latency: `ms` plus a uniform jitter in `[-jitter_ms, +jitter_ms]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    pub ms: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jitter_ms: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug)]
pub struct LatencyFault {
    ms: u64,
    jitter_ms: u64,
}

impl LatencyFault {
    pub fn new(ms: u64, jitter_ms: u64) -> Self {
        Self { ms, jitter_ms }
    }

    /// `ms ± jitter_ms`, uniformly spread by `draw`, never below zero.
    pub fn delay_for(&self, draw: u64) -> Duration {
        if self.jitter_ms == 0 {
            return Duration::from_millis(self.ms);
        }
        let span = 2 * self.jitter_ms + 1;
        let offset = (draw % span) as i128 - self.jitter_ms as i128;
        let ms = (self.ms as i128 + offset).max(0) as u64;
        Duration::from_millis(ms)
    }
}

pub(super) fn build(spec: &LatencySpec) -> LatencyFault {
    LatencyFault::new(spec.ms, spec.jitter_ms)
}

impl Fault for LatencyFault {
    fn kind(&self) -> FaultKind {
        FaultKind::Latency
    }
    fn apply(&self, cx: &FaultContext<'_>) -> FaultAction {
        FaultAction::Delay(self.delay_for(cx.draw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_bounds() {
        let f = LatencyFault::new(100, 20);
        for draw in 0..1000u64 {
            let d = f.delay_for(draw.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            assert!((80..=120).contains(&(d.as_millis() as u64)), "{d:?}");
        }
        assert_eq!(
            LatencyFault::new(5, 0).delay_for(7),
            Duration::from_millis(5)
        );
        assert!(LatencyFault::new(1, 50).delay_for(0) <= Duration::from_millis(51));
    }
}
