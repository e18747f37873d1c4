//! The critical path of an apply, in calls, from the proxy journal.
//!
//! Each journal entry gives a call's arrival (`at_ms`, whole milliseconds since the proxy's last
//! reset) and how long the proxy took to answer (`duration_ms`). A call B *depends on* call A
//! (for all the timing can tell) when B arrived after A was answered. The critical path is the
//! longest chain of calls each of which arrived after the previous one was answered: no
//! schedule of the same calls with the same dependencies can finish in fewer sequential round
//! trips. Calls that overlap in time were in flight together, so they were independent.
//!
//! Because `at_ms` is truncated to the millisecond, "after" allows an apparent overlap of up to
//! [`SLACK_MS`]; calls issued together by a `join!` start within microseconds of each other and
//! last several milliseconds on moto, so they are never mistaken for a chain.

use faultproxy::JournalEntry;

/// Tolerance for the journal's 1 ms arrival resolution.
pub const SLACK_MS: f64 = 1.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub seq: u64,
    pub start_ms: f64,
    pub end_ms: f64,
    /// `service:Operation`.
    pub label: String,
}

impl Call {
    pub fn from_entry(e: &JournalEntry) -> Call {
        Call {
            seq: e.seq,
            start_ms: e.at_ms as f64,
            end_ms: e.at_ms as f64 + e.duration_ms,
            label: format!(
                "{}:{}",
                e.service.as_deref().unwrap_or("?"),
                e.operation.as_deref().unwrap_or("?")
            ),
        }
    }
}

/// The longest chain of calls, each arriving after the previous one was answered (in arrival
/// order). Empty input gives an empty chain.
pub fn longest_chain(calls: &[Call]) -> Vec<Call> {
    let mut calls: Vec<&Call> = calls.iter().collect();
    calls.sort_by_key(|c| c.seq);
    let n = calls.len();
    // depth[j]: calls in the longest chain ending with j; prev[j]: its predecessor.
    let mut depth = vec![1usize; n];
    let mut prev: Vec<Option<usize>> = vec![None; n];
    for j in 0..n {
        for i in 0..j {
            let after = calls[j].start_ms + SLACK_MS >= calls[i].end_ms;
            if after && depth[i] + 1 > depth[j] {
                depth[j] = depth[i] + 1;
                prev[j] = Some(i);
            }
        }
    }
    let Some(mut at) = (0..n).max_by_key(|&j| (depth[j], std::cmp::Reverse(j))) else {
        return Vec::new();
    };
    let mut chain = vec![calls[at].clone()];
    while let Some(p) = prev[at] {
        chain.push(calls[p].clone());
        at = p;
    }
    chain.reverse();
    chain
}

/// Milliseconds during which at least one call was in flight at the proxy (union of intervals).
pub fn busy_ms(calls: &[Call]) -> f64 {
    let mut spans: Vec<(f64, f64)> = calls.iter().map(|c| (c.start_ms, c.end_ms)).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (s, e) in spans {
        match &mut current {
            Some((_, ce)) if s <= *ce => *ce = ce.max(e),
            _ => {
                if let Some((cs, ce)) = current {
                    total += ce - cs;
                }
                current = Some((s, e));
            }
        }
    }
    if let Some((cs, ce)) = current {
        total += ce - cs;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(seq: u64, start: f64, dur: f64) -> Call {
        Call {
            seq,
            start_ms: start,
            end_ms: start + dur,
            label: format!("op{seq}"),
        }
    }

    #[test]
    fn sequential_calls_form_one_chain() {
        let calls: Vec<Call> = (0..5).map(|i| call(i + 1, i as f64 * 10.0, 8.0)).collect();
        assert_eq!(longest_chain(&calls).len(), 5);
    }

    #[test]
    fn parallel_calls_count_once() {
        // read (0-5), then 4 parallel creates (6-14), then one final call (15-20).
        let mut calls = vec![call(1, 0.0, 5.0)];
        for s in 2..=5 {
            calls.push(call(s, 6.0, 8.0));
        }
        calls.push(call(6, 15.0, 5.0));
        let chain = longest_chain(&calls);
        assert_eq!(chain.len(), 3, "{chain:?}");
        assert_eq!(chain[0].seq, 1);
        assert_eq!(chain[2].seq, 6);
    }

    #[test]
    fn truncated_arrival_within_slack_still_chains() {
        // B arrived 0.4 ms after A answered, but at_ms truncation shows it 0.6 ms early.
        let calls = vec![call(1, 10.0, 5.6), call(2, 15.0, 3.0)];
        assert_eq!(longest_chain(&calls).len(), 2);
        // Real overlap of several ms: independent.
        let calls = vec![call(1, 10.0, 6.0), call(2, 11.0, 6.0)];
        assert_eq!(longest_chain(&calls).len(), 1);
        assert!(longest_chain(&[]).is_empty());
    }

    #[test]
    fn busy_time_is_the_union() {
        let calls = vec![call(1, 0.0, 5.0), call(2, 2.0, 5.0), call(3, 10.0, 1.0)];
        assert_eq!(busy_ms(&calls), 8.0);
        assert_eq!(busy_ms(&[]), 0.0);
    }
}
