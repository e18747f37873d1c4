//! The service-linked role's visibility window, held open by the test until the apply has met it
//! (first_apply, retry_absorbs, ensure), and any model's windows held the same way through its
//! range (fresh_account's seeds).
//!
//! A window fixed in advance (`slr-delay=2s`) runs from the role's creation at CreateCluster.
//! When the emulator is slow (a loaded machine: moto answered a DescribeSubnets after 9.4 s, a
//! CreateCluster after 1.2 s), the apply can reach CreateService after the window has closed,
//! and the test sees no failure at all ("no injected failure"). Held, the window stays open
//! ([`SLR_HELD`]) until the journal shows the apply's CreateService answered with the seed's
//! error; the test then gives it the length it checks, through the same `slr-delay` setting (a
//! fixed delay is read at each request, so changing it applies to the role already created).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use faultproxy::models::WindowRange;
use faultproxy::{JournalEntry, Preset};
use harness::env::TestEnv;

use super::{journal, ms, op};

/// The `slr-delay` preset that holds the window open: far longer than any apply takes to reach
/// CreateService, however slow the emulator; a test always closes it with [`set_slr_delay`].
pub const SLR_HELD: &str = "slr-delay=10m";

/// The journal's clock: `at_ms` of the env's journal counts from [`JournalClock::start`].
pub struct JournalClock(Instant);

impl JournalClock {
    /// Clears the env's journal (its clock restarts at 0) and starts the matching test clock.
    /// The proxy runs in this process, so both clocks are the same `Instant` source; the test's
    /// starts a few microseconds after the journal's.
    pub fn start(env: &TestEnv) -> JournalClock {
        env.proxy.clear_journal();
        JournalClock(Instant::now())
    }

    /// Now, in the journal's milliseconds.
    pub fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }
}

/// The service-linked role becomes visible `delay` after its creation (at once when that has
/// passed): the `slr-delay` preset, in milliseconds.
pub fn set_slr_delay(env: &TestEnv, delay: Duration) {
    let preset = format!("slr-delay={}ms", delay.as_millis());
    env.proxy
        .apply_preset(&Preset::parse(&preset).unwrap_or_else(|e| panic!("{preset}: {e}")));
}

/// Whether `e` is a CreateService the `slr-delay` window answered with the seed's error.
pub fn is_slr_failure(e: &JournalEntry) -> bool {
    op(e) == "ecs:CreateService"
        && e.is_injected_failure()
        && e.fault.as_ref().map(|f| f.rule.as_str()) == Some("model:slr-delay")
}

/// Whether `e` is a GetRole of the role the `slr-delay` window answered `NoSuchEntity` (what
/// `ensure`'s wait meets).
pub fn is_slr_read_lag(e: &JournalEntry) -> bool {
    op(e) == "iam:GetRole" && e.fault.as_ref().map(|f| f.rule.as_str()) == Some("model:slr-delay")
}

/// When the role was created, in journal milliseconds: the end of the first successful
/// CreateCluster (`implicit`) or CreateServiceLinkedRole (`ensure`); the model creates the role
/// right before answering either, so this is an upper bound by a few ms.
pub fn role_created_ms(entries: &[JournalEntry]) -> Option<f64> {
    entries
        .iter()
        .find(|e| {
            matches!(
                op(e).as_str(),
                "ecs:CreateCluster" | "iam:CreateServiceLinkedRole"
            ) && e.status == Some(200)
        })
        .map(|e| e.at_ms as f64 + e.duration_ms)
}

/// Runs `apply` while the held window waits for the apply to meet it, that is for the first
/// journal entry that satisfies `met` ([`is_slr_failure`], [`is_slr_read_lag`]); the window then
/// closes `window` after that entry was answered (or at once, if the watcher is later than
/// that). Returns the apply's output and when the role became visible, in journal ms (`None`:
/// the apply ended without meeting the window). The journal is cleared first.
pub async fn apply_meeting_held_window<T>(
    env: &TestEnv,
    window: Duration,
    met: fn(&JournalEntry) -> bool,
    apply: impl Future<Output = T>,
) -> (T, Option<f64>) {
    let clock = JournalClock::start(env);
    let applied = AtomicBool::new(false);
    tokio::join!(
        async {
            let out = apply.await;
            applied.store(true, Ordering::SeqCst);
            out
        },
        close_window_after_first(env, &clock, window, &applied, met)
    )
}

/// The watcher of [`apply_meeting_held_window`]: polls the journal every 10 ms.
async fn close_window_after_first(
    env: &TestEnv,
    clock: &JournalClock,
    window: Duration,
    applied: &AtomicBool,
    met: fn(&JournalEntry) -> bool,
) -> Option<f64> {
    loop {
        let entries = journal(env);
        if let Some(first) = entries.iter().find(|e| met(e)) {
            let created = role_created_ms(&entries)
                .expect("the apply met the window, so the role was created");
            let answered = first.at_ms as f64 + first.duration_ms;
            let end = (answered + window.as_secs_f64() * 1000.0).max(clock.now_ms());
            let delay = (end - created).ceil().max(1.0);
            set_slr_delay(env, Duration::from_millis(delay as u64));
            return Some(created + delay);
        }
        if applied.load(Ordering::SeqCst) {
            return None;
        }
        tokio::time::sleep(ms(10)).await;
    }
}

/// A model window long enough to outlast any apply on any emulator; [`apply_holding_model`]
/// always closes it again.
pub const MODEL_HELD: Duration = Duration::from_secs(6000);

/// Runs `apply` with model `name`'s windows held open (its range overridden by [`MODEL_HELD`];
/// a window's length is read from the settings at each check, so this holds the windows already
/// open too) until the journal shows the model answered; then its range goes back to what it
/// was, so each resource's drawn window applies again (usually over by then: the next retry goes
/// through). A drawn window closes on the clock, and on a slow emulator the apply's call that
/// meets it can come after that; held, the apply meets the model however slow it is.
pub async fn apply_holding_model<T>(
    env: &TestEnv,
    name: &str,
    apply: impl Future<Output = T>,
) -> T {
    let before = env
        .proxy
        .model_settings()
        .range_override(name)
        .unwrap_or_else(|e| panic!("{e}"));
    let set = |range: Option<WindowRange>| {
        let mut s = env.proxy.model_settings();
        s.set_range_override(name, range)
            .unwrap_or_else(|e| panic!("{e}"));
        env.proxy.set_model_settings(s);
    };
    set(Some(WindowRange::fixed(MODEL_HELD)));
    let applied = AtomicBool::new(false);
    let (out, ()) = tokio::join!(
        async {
            let out = apply.await;
            applied.store(true, Ordering::SeqCst);
            out
        },
        async {
            while !applied.load(Ordering::SeqCst)
                && !journal(env)
                    .iter()
                    .any(|e| super::fresh::model_of(e) == Some(name))
            {
                tokio::time::sleep(ms(10)).await;
            }
            set(before);
        }
    );
    out
}
