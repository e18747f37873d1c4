//! The journal: one entry per proxied request, so tests can assert exactly what happened.
//!
//! It records who called what (account, region, service, operation), what the client got
//! (upstream status, or the injected fault with its rule), and how long it took. It is built from
//! the classified request only, so it can never contain a credential, a signature, a session token
//! or the `Authorization` header.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Default entries kept before the oldest are discarded (a ring), so a long-running proxy cannot
/// exhaust memory; the discarded ones are counted ([`JournalStats::dropped`]). An entry costs about
/// 0.6 KiB of RSS (the bench's soak), so ~30 MiB when full. `faultproxy --journal-capacity N`
/// changes it.
pub const JOURNAL_CAPACITY: usize = 50_000;

/// The journal's bounds: `GET /_harness/journal/stats`, and the `x-harness-journal-dropped` /
/// `x-harness-journal-capacity` headers of `GET /_harness/journal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalStats {
    /// Entries kept at most.
    pub capacity: usize,
    /// Entries kept now.
    pub kept: usize,
    /// Oldest entries discarded to stay within the capacity since the start (or the last reset).
    pub dropped: u64,
}

/// What kind of fault the client got; serialized as the journal's `kind` string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// An AWS error answered instead of forwarding.
    Error,
    /// The service's own throttling error.
    Throttle,
    /// The connection closed without a response.
    Drop,
    /// A delay only; the request went on.
    Latency,
    /// A model's eventual-consistency "not found yet" answer (AWS behaviour a careful client
    /// waits through, not a failure).
    ReadLag,
}

impl FaultKind {
    /// The journal's string for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Error => "error",
            FaultKind::Throttle => "throttle",
            FaultKind::Drop => "drop",
            FaultKind::Latency => "latency",
            FaultKind::ReadLag => "read-lag",
        }
    }

    /// True for failures the client sees (`error`, `throttle`, `drop`), not a delay or a read lag.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            FaultKind::Error | FaultKind::Throttle | FaultKind::Drop
        )
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault the proxy injected instead of (or before) forwarding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedFault {
    /// Rule name (`preset:throttle`, `rule-3`, ...) or model (`model:slr-delay`, ...).
    pub rule: String,
    /// `error`, `throttle`, `drop` (failures the client sees), `latency` (delay only), or
    /// `read-lag` (a model's eventual-consistency "not found yet" answer, e.g. IAM GetRole of a
    /// role created a moment ago: AWS behaviour a careful client waits through, not a failure).
    pub kind: FaultKind,
    /// AWS error code sent, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The error's message as sent, if any (a replay of the journal answers it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One request as the proxy saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// 1-based arrival order (restarts at 1 after a reset).
    pub seq: u64,
    /// Milliseconds from proxy start (or the last reset) to the request's arrival.
    pub at_ms: u64,
    pub account: Option<String>,
    pub region: Option<String>,
    pub service: Option<String>,
    pub operation: Option<String>,
    /// HTTP status the client received (upstream's, a model's, or an injected error's);
    /// `None` when the connection was dropped or the upstream was unreachable.
    pub status: Option<u16>,
    /// The injected fault, if any.
    pub fault: Option<InjectedFault>,
    /// The resource the request named (`rules/resource.rs`), read for requests that got a
    /// failure and for every later request of an operation that got one (so a replay of the
    /// journal sees where each run of failures ended), else absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Set when a behaviour model answered instead of the upstream (`model:service-linked-role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_by: Option<String>,
    /// The upstream the request was routed to, by its flavor (`moto`, `localstack`, `other`);
    /// also when a fault or a model answered instead (then where it would have gone). Empty when
    /// a journal file does not record it (`serde(default)` still reads such a file).
    #[serde(default)]
    pub upstream: String,
    /// Which shard of the main upstream (1-based) served the request's account, when the main
    /// upstream is several processes (`shards.rs`); absent otherwise, and for routed services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u16>,
    /// Milliseconds from arrival until the response head was sent (or the connection dropped).
    pub duration_ms: f64,
}

const MUTATING_PREFIXES: &[&str] = &[
    "Create",
    "Put",
    "Delete",
    "Update",
    "Register",
    "Deregister",
    "Attach",
    "Detach",
    "Set",
    "Tag",
    "Untag",
    "Run",
    "Start",
    "Stop",
];

/// True for operations that change state (by AWS naming convention: `Create...`, `Put...`).
pub fn is_mutating_operation(op: &str) -> bool {
    MUTATING_PREFIXES.iter().any(|p| {
        op.strip_prefix(p).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase())
        })
    })
}

impl JournalEntry {
    /// True for operations that change state (by AWS naming convention).
    pub fn is_mutating(&self) -> bool {
        self.operation.as_deref().is_some_and(is_mutating_operation)
    }

    /// True when the client got an injected failure: kind `error`, `throttle` or `drop` (not
    /// `latency`, not `read-lag`).
    pub fn is_injected_failure(&self) -> bool {
        self.fault.as_ref().is_some_and(|f| f.kind.is_failure())
    }

    /// A stable one-line description without timing or account, for comparing two runs:
    /// `ecs:CreateCluster -> 200`, `iam:GetRole -> throttle Throttling (preset:throttle)`.
    pub fn summary(&self) -> String {
        let what = format!(
            "{}:{}",
            self.service.as_deref().unwrap_or("?"),
            self.operation.as_deref().unwrap_or("?")
        );
        match (&self.fault, self.status) {
            (Some(f), _) if f.kind.is_failure() => format!(
                "{what} -> {} {} ({})",
                f.kind,
                f.code.as_deref().unwrap_or("-"),
                f.rule
            ),
            (_, Some(s)) => format!("{what} -> {s}"),
            (_, None) => format!("{what} -> no response"),
        }
    }
}

/// Entries the ring reserves at start at most (the default capacity fits).
const RESERVED_ENTRIES: usize = 65_536;

/// An entry as the journal keeps it: its two labels that are always one of a few constants are
/// kept as such, and become the entry's strings only when the journal is read (a `String` each
/// was an allocation and a copy per request, and a free when the entry left the ring).
pub(crate) struct Kept {
    /// The entry with `handled_by` and `upstream` not set (empty: no allocation).
    pub entry: JournalEntry,
    pub handled_by: Option<&'static str>,
    pub upstream: &'static str,
}

impl Kept {
    fn to_entry(&self) -> JournalEntry {
        JournalEntry {
            handled_by: self.handled_by.map(str::to_string),
            upstream: self.upstream.to_string(),
            ..self.entry.clone()
        }
    }
}

struct Inner {
    start: Instant,
    next_seq: u64,
    entries: VecDeque<Kept>,
    dropped: u64,
}

/// Thread-safe journal; the lock is held only to push or copy, never across an await.
pub(crate) struct Journal {
    inner: Mutex<Inner>,
    capacity: usize,
}

/// Arrival stamp handed out when a request comes in.
pub(crate) struct Arrival {
    pub seq: u64,
    pub at_ms: u64,
    pub instant: Instant,
}

impl Journal {
    /// A journal keeping at most `capacity` entries (at least 1).
    ///
    /// The ring is reserved up front (up to [`RESERVED_ENTRIES`]): growing it by doubling moved
    /// every entry kept so far each time, ~0.35k instructions per request on average while it
    /// filled (callgrind). Pages of the reservation not written yet take no memory.
    pub fn new(capacity: usize) -> Journal {
        Journal {
            inner: Mutex::new(Inner {
                start: Instant::now(),
                next_seq: 1,
                entries: VecDeque::with_capacity(capacity.clamp(1, RESERVED_ENTRIES)),
                dropped: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    pub fn arrive(&self) -> Arrival {
        let instant = Instant::now();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let seq = g.next_seq;
        g.next_seq += 1;
        Arrival {
            seq,
            at_ms: instant.saturating_duration_since(g.start).as_millis() as u64,
            instant,
        }
    }

    pub fn push(&self, entry: Kept) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.entries.len() >= self.capacity {
            g.entries.pop_front();
            g.dropped += 1;
        }
        g.entries.push_back(entry);
    }

    /// Entries in arrival order, optionally for one account.
    pub fn entries(&self, account: Option<&str>) -> Vec<JournalEntry> {
        let mut v: Vec<JournalEntry> = {
            let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.entries
                .iter()
                .filter(|k| account.is_none() || k.entry.account.as_deref() == account)
                .map(Kept::to_entry)
                .collect()
        };
        v.sort_by_key(|e| e.seq);
        v
    }

    pub fn stats(&self) -> JournalStats {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        JournalStats {
            capacity: self.capacity,
            kept: g.entries.len(),
            dropped: g.dropped,
        }
    }

    pub fn clear(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.entries.clear();
        g.dropped = 0;
        g.next_seq = 1;
        g.start = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(op: &str) -> JournalEntry {
        JournalEntry {
            seq: 1,
            at_ms: 0,
            account: None,
            region: None,
            service: Some("ecs".into()),
            operation: Some(op.into()),
            status: Some(200),
            fault: None,
            resource: None,
            handled_by: None,
            upstream: "moto".into(),
            shard: None,
            duration_ms: 1.0,
        }
    }

    fn kept(entry: JournalEntry) -> Kept {
        Kept {
            entry: JournalEntry {
                handled_by: None,
                upstream: String::new(),
                shard: None,
                ..entry
            },
            handled_by: Some("model:x"),
            upstream: "moto",
        }
    }

    #[test]
    fn labels_kept_as_constants_are_read_as_strings() {
        let j = Journal::new(2);
        j.push(kept(entry("A")));
        let read = j.entries(None).pop().unwrap();
        assert_eq!(read.upstream, "moto");
        assert_eq!(read.handled_by.as_deref(), Some("model:x"));
    }

    #[test]
    fn upstream_is_always_written_and_optional_on_read() {
        let json = serde_json::to_value(entry("ListClusters")).unwrap();
        assert_eq!(json["upstream"], "moto");
        let mut old = json.clone();
        old.as_object_mut().unwrap().remove("upstream");
        let read: JournalEntry = serde_json::from_value(old).expect("an old journal entry parses");
        assert_eq!(read.upstream, "");
        assert_eq!(read.operation.as_deref(), Some("ListClusters"));
    }

    #[test]
    fn mutating_operations() {
        for op in [
            "CreateCluster",
            "PutRetentionPolicy",
            "DeleteRole",
            "TagResource",
            "SetRepositoryPolicy",
            "AttachRolePolicy",
            "DeregisterTaskDefinition",
            "RunTask",
            "StopTask",
            "StartTask",
            "UntagResource",
        ] {
            assert!(entry(op).is_mutating(), "{op}");
        }
        for op in [
            "DescribeClusters",
            "GetRole",
            "ListClusters",
            "Settings",
            "Stopwatch",
        ] {
            assert!(!entry(op).is_mutating(), "{op}");
        }
    }

    #[test]
    fn injected_failure_and_summary() {
        let mut e = entry("CreateService");
        assert!(!e.is_injected_failure());
        assert_eq!(e.summary(), "ecs:CreateService -> 200");
        e.fault = Some(InjectedFault {
            rule: "r".into(),
            kind: FaultKind::Latency,
            code: None,
            message: None,
        });
        assert!(!e.is_injected_failure());
        e.fault = Some(InjectedFault {
            rule: "model:slr-delay".into(),
            kind: FaultKind::ReadLag,
            code: Some("NoSuchEntity".into()),
            message: None,
        });
        e.status = Some(404);
        assert!(!e.is_injected_failure());
        assert_eq!(e.summary(), "ecs:CreateService -> 404");
        e.fault = Some(InjectedFault {
            rule: "r".into(),
            kind: FaultKind::Error,
            code: Some("X".into()),
            message: None,
        });
        e.status = Some(400);
        assert!(e.is_injected_failure());
        assert_eq!(e.summary(), "ecs:CreateService -> error X (r)");
    }

    #[test]
    fn fault_kinds_serialize_to_the_journal_strings() {
        for (kind, text) in [
            (FaultKind::Error, "error"),
            (FaultKind::Throttle, "throttle"),
            (FaultKind::Drop, "drop"),
            (FaultKind::Latency, "latency"),
            (FaultKind::ReadLag, "read-lag"),
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), text);
            assert_eq!(kind.to_string(), text);
            let back: FaultKind = serde_json::from_value(text.into()).unwrap();
            assert_eq!(back, kind);
        }
        let f = InjectedFault {
            rule: "r".into(),
            kind: FaultKind::ReadLag,
            code: None,
            message: None,
        };
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"rule":"r","kind":"read-lag"}"#
        );
    }

    #[test]
    fn capacity_drops_the_oldest_and_counts_them() {
        let j = Journal::new(3);
        for i in 0..5 {
            let a = j.arrive();
            j.push(kept(JournalEntry {
                seq: a.seq,
                ..entry(&format!("Op{i}"))
            }));
        }
        let ops: Vec<_> = j
            .entries(None)
            .into_iter()
            .map(|e| e.operation.unwrap())
            .collect();
        assert_eq!(ops, ["Op2", "Op3", "Op4"]);
        assert_eq!(
            j.stats(),
            JournalStats {
                capacity: 3,
                kept: 3,
                dropped: 2
            }
        );
        j.clear();
        assert_eq!(j.stats().dropped, 0);
    }

    #[test]
    fn ring_and_order() {
        let j = Journal::new(JOURNAL_CAPACITY);
        let a = j.arrive();
        let b = j.arrive();
        assert_eq!((a.seq, b.seq), (1, 2));
        j.push(kept(JournalEntry {
            seq: b.seq,
            ..entry("B")
        }));
        j.push(kept(JournalEntry {
            seq: a.seq,
            ..entry("A")
        }));
        let ops: Vec<_> = j
            .entries(None)
            .into_iter()
            .map(|e| e.operation.unwrap())
            .collect();
        assert_eq!(ops, ["A", "B"]);
        j.clear();
        assert!(j.entries(None).is_empty());
        assert_eq!(j.arrive().seq, 1);
    }
}
