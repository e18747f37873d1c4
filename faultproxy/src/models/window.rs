//! Windows: how long a model's misbehaviour lasts after the event that opens it.
//!
//! Real AWS is not wrong for a fixed time: a new cluster is "not found" for a second or ten, a
//! service drains for a minute. A model therefore opens a window per *resource* (account, region,
//! resource name) when its trigger happens, with a length drawn from the model's range
//! ([`WindowRange`]) and multiplied by the time scale. The draw is a pure function of (seed, model
//! name, region, resource name, how many windows that resource opened before), so a run is
//! reproducible under a seed however requests interleave: two resources never share a random
//! stream. The account is left out on purpose: every run gets a fresh account id, and the same
//! seed must give the same windows in the next one.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

/// The range a window's length is drawn from, before the time scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowRange {
    pub min: Duration,
    pub max: Duration,
}

impl WindowRange {
    pub const fn secs(min: u64, max: u64) -> WindowRange {
        WindowRange {
            min: Duration::from_secs(min),
            max: Duration::from_secs(max),
        }
    }

    /// A range of one length (the fixed-duration presets such as `slr-delay=5s`).
    pub const fn fixed(d: Duration) -> WindowRange {
        WindowRange { min: d, max: d }
    }

    /// Parses `MIN..MAX` (humantime durations, `2s..20s`) or one duration (a fixed window).
    pub fn parse(text: &str) -> Result<WindowRange, String> {
        let dur = |s: &str| -> Result<Duration, String> {
            let s = s.trim();
            if s == "0" {
                return Ok(Duration::ZERO);
            }
            humantime::parse_duration(s)
                .map_err(|e| format!("a window is a duration like 5s or 1500ms, got {s:?} ({e})"))
        };
        let range = match text.split_once("..") {
            Some((a, b)) => WindowRange {
                min: dur(a)?,
                max: dur(b)?,
            },
            None => WindowRange::fixed(dur(text)?),
        };
        if range.min > range.max {
            return Err(format!(
                "a window range is MIN..MAX with MIN <= MAX, got {text:?}"
            ));
        }
        Ok(range)
    }
}

impl fmt::Display for WindowRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = (
            humantime::format_duration(self.min),
            humantime::format_duration(self.max),
        );
        if self.min == self.max {
            write!(f, "{a}")
        } else {
            write!(f, "{a}..{b}")
        }
    }
}

impl Serialize for WindowRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The resource a window belongs to: `(account, region, name)`. `name` is the model's own
/// resource path (`cluster`, `cluster/service`, a role ARN suffix); IAM, being global, uses an
/// empty region.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl ResourceKey {
    pub fn new(account: &str, region: &str, name: &str) -> ResourceKey {
        ResourceKey {
            account: account.to_string(),
            region: region.to_string(),
            name: name.to_string(),
        }
    }
}

/// FNV-1a over the parts, then the splitmix64 finaliser: small, stable across platforms and
/// releases (unlike `std`'s hasher), good enough to spread nearby counters over the range.
fn mix(seed: u64, parts: &[&[u8]], counter: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    for p in parts {
        feed(p);
    }
    feed(&counter.to_le_bytes());
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The length of the `counter`-th window of `key` for `model`: uniform in `range`, times `scale`.
pub fn draw(
    seed: u64,
    model: &str,
    key: &ResourceKey,
    counter: u64,
    range: WindowRange,
    scale: f64,
) -> Duration {
    let parts: [&[u8]; 3] = [model.as_bytes(), key.region.as_bytes(), key.name.as_bytes()];
    // 53 random bits: a uniform f64 in [0, 1).
    let unit = (mix(seed, &parts, counter) >> 11) as f64 / (1u64 << 53) as f64;
    let (min, max) = (range.min.as_secs_f64(), range.max.as_secs_f64());
    let secs = (min + unit * (max - min)) * scale;
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO)
}

/// Open windows of one model, per resource: when each resource's latest window opened and how
/// many it opened (the counter feeds the draw).
///
/// A window's length is not stored: every check computes it from the settings in force then
/// (`length(key, index)`, a pure draw), so changing a model's range or the time scale applies to
/// the windows already open too. That is what lets a test hold every window of a model open
/// (`model=NAME:100m`) and release them again, and what a fixed `slr-delay=5s` has always meant.
#[derive(Default)]
pub(crate) struct Windows {
    /// Per key: how many windows it opened, and when the latest opened.
    inner: Mutex<HashMap<ResourceKey, (u64, Instant)>>,
}

/// Where a resource stands relative to its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No window was ever opened for it (or it was forgotten).
    Untouched,
    /// Inside the window: the model answers its error.
    Open,
    /// The window has passed: the model reports the settled state.
    Closed,
}

impl Windows {
    /// Opens (or re-opens) the window of `key` at `now`; returns its index (0 for the key's
    /// first window), which `length` gets at each check.
    pub fn open(&self, key: ResourceKey, now: Instant) -> u64 {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key).or_insert((0, now));
        let index = entry.0;
        *entry = (index + 1, now);
        index
    }

    /// Where `key` stands at `now`; `length(key, index)` is the length of its latest window.
    pub fn phase(
        &self,
        key: &ResourceKey,
        now: Instant,
        length: impl Fn(&ResourceKey, u64) -> Duration,
    ) -> Phase {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            None => Phase::Untouched,
            Some(&(n, at)) if now.saturating_duration_since(at) < length(key, n - 1) => Phase::Open,
            Some(_) => Phase::Closed,
        }
    }

    pub fn is_open(
        &self,
        key: &ResourceKey,
        now: Instant,
        length: impl Fn(&ResourceKey, u64) -> Duration,
    ) -> bool {
        self.phase(key, now, length) == Phase::Open
    }

    /// True when some key matching `pred` is inside its window.
    pub fn any_open(
        &self,
        now: Instant,
        length: impl Fn(&ResourceKey, u64) -> Duration,
        pred: impl Fn(&ResourceKey) -> bool,
    ) -> bool {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .any(|(k, &(n, at))| pred(k) && now.saturating_duration_since(at) < length(k, n - 1))
    }

    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ResourceKey {
        ResourceKey::new("123456789012", "us-east-1", name)
    }

    #[test]
    fn draw_is_deterministic_and_depends_on_every_input() {
        let r = WindowRange::secs(2, 20);
        let a = draw(7, "m", &key("c"), 0, r, 1.0);
        assert_eq!(a, draw(7, "m", &key("c"), 0, r, 1.0));
        let others = [
            draw(8, "m", &key("c"), 0, r, 1.0),
            draw(7, "n", &key("c"), 0, r, 1.0),
            draw(7, "m", &key("d"), 0, r, 1.0),
            draw(7, "m", &key("c"), 1, r, 1.0),
            draw(
                7,
                "m",
                &ResourceKey::new("123456789012", "eu-west-1", "c"),
                0,
                r,
                1.0,
            ),
        ];
        for o in others {
            assert_ne!(a, o);
        }
    }

    #[test]
    fn draw_is_the_same_in_every_account() {
        let r = WindowRange::secs(2, 20);
        let other = ResourceKey::new("210987654321", "us-east-1", "c");
        assert_eq!(
            draw(7, "m", &key("c"), 0, r, 1.0),
            draw(7, "m", &other, 0, r, 1.0)
        );
    }

    #[test]
    fn draw_stays_in_range_and_spreads() {
        let r = WindowRange::secs(2, 20);
        let draws: Vec<Duration> = (0..2000)
            .map(|i| draw(1, "m", &key("c"), i, r, 1.0))
            .collect();
        assert!(draws.iter().all(|d| (r.min..=r.max).contains(d)));
        let mean = draws.iter().map(Duration::as_secs_f64).sum::<f64>() / draws.len() as f64;
        assert!((mean - 11.0).abs() < 0.5, "uniform mean ~11 s, got {mean}");
        assert!(draws.iter().any(|d| d.as_secs_f64() < 3.0));
        assert!(draws.iter().any(|d| d.as_secs_f64() > 19.0));
    }

    #[test]
    fn scale_multiplies_the_window() {
        let r = WindowRange::secs(2, 20);
        for i in 0..50 {
            let full = draw(3, "m", &key("c"), i, r, 1.0).as_secs_f64();
            let scaled = draw(3, "m", &key("c"), i, r, 0.05).as_secs_f64();
            assert!((scaled - full * 0.05).abs() < 1e-6, "{full} {scaled}");
            assert!(scaled <= 1.0 + 1e-9);
        }
        let fixed = WindowRange::fixed(Duration::from_secs(4));
        assert_eq!(
            draw(0, "m", &key("c"), 0, fixed, 2.0),
            Duration::from_secs(8)
        );
    }

    #[test]
    fn windows_open_close_and_count_per_key() {
        let w = Windows::default();
        let t0 = Instant::now();
        let five = |_: &ResourceKey, _: u64| Duration::from_secs(5);
        assert_eq!(w.phase(&key("c"), t0, five), Phase::Untouched);
        assert_eq!(w.open(key("c"), t0), 0);
        assert_eq!(
            w.phase(&key("c"), t0 + Duration::from_secs(4), five),
            Phase::Open
        );
        assert_eq!(
            w.phase(&key("c"), t0 + Duration::from_secs(5), five),
            Phase::Closed
        );
        assert_eq!(w.phase(&key("d"), t0, five), Phase::Untouched);
        assert!(w.any_open(t0, five, |k| k.name == "c"));
        assert!(!w.any_open(t0, five, |k| k.name == "d"));
        assert!(!w.any_open(t0 + Duration::from_secs(5), five, |_| true));
        assert_eq!(w.open(key("c"), t0), 1);
        assert_eq!(w.open(key("d"), t0), 0);
        let mut asked = std::sync::Mutex::new(Vec::new());
        w.phase(&key("c"), t0, |_, n| {
            asked.lock().unwrap().push(n);
            Duration::ZERO
        });
        assert_eq!(
            asked.get_mut().unwrap().as_slice(),
            [1],
            "the latest window's index"
        );
        w.clear();
        assert_eq!(w.phase(&key("c"), t0, five), Phase::Untouched);
    }

    #[test]
    fn a_window_is_as_long_as_the_settings_say_at_each_check() {
        let w = Windows::default();
        let t0 = Instant::now();
        w.open(key("c"), t0);
        let at = t0 + Duration::from_secs(10);
        assert!(w.is_open(&key("c"), at, |_, _| Duration::from_secs(600)));
        assert!(!w.is_open(&key("c"), at, |_, _| Duration::from_secs(1)));
    }

    #[test]
    fn windows_do_not_depend_on_interleaving() {
        let r = WindowRange::secs(2, 20);
        let t0 = Instant::now();
        let lengths = |order: &[&str]| {
            let w = Windows::default();
            let mut out: Vec<(String, Duration)> = order
                .iter()
                .map(|name| {
                    let n = w.open(key(name), t0);
                    (name.to_string(), draw(9, "m", &key(name), n, r, 1.0))
                })
                .collect();
            // Per key, in the key's own event order.
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        };
        assert_eq!(
            lengths(&["a", "b", "a", "c"]),
            lengths(&["c", "a", "a", "b"])
        );
        assert_eq!(lengths(&["a", "b", "a"]), lengths(&["b", "a", "a"]));
    }

    #[test]
    fn range_parsing() {
        assert_eq!(WindowRange::parse("2s..20s"), Ok(WindowRange::secs(2, 20)));
        assert_eq!(
            WindowRange::parse("1500ms"),
            Ok(WindowRange::fixed(Duration::from_millis(1500)))
        );
        assert_eq!(
            WindowRange::parse("0"),
            Ok(WindowRange::fixed(Duration::ZERO))
        );
        assert!(WindowRange::parse("20s..2s")
            .unwrap_err()
            .contains("MIN <= MAX"));
        assert!(WindowRange::parse("soon")
            .unwrap_err()
            .contains("duration like 5s"));
        assert_eq!(WindowRange::secs(2, 20).to_string(), "2s..20s");
        let r = WindowRange::secs(3, 3);
        assert_eq!(WindowRange::parse(&r.to_string()), Ok(r));
    }
}
