//! One chaos seed through the provisioner's library, shared by the chaos sweep (chaos.rs) and
//! the many-accounts run (many_accounts.rs): a fresh account, the seed's presets on throughout,
//! apply (the default VPC looked up by the provisioner's own EC2 client, not handed to it), plan
//! (must be empty), destroy; then, chaos off, the account is read twice: by the stack's names
//! ([`Aws::leftovers`]) and by listing everything it holds ([`Aws::listed`]). Both must be
//! empty; the destroy's own report is not trusted for that. A failing seed is named with its
//! error and the journal of its failing phase.

use faultproxy::Preset;
use harness::env::TestEnv;
use provisioner::{ApplyOptions, DestroyOptions, Progress, SlrMode};

use super::sweep::SeedRun;
use super::{injected, journal, render, retry_fast, spec, Aws};

/// Journal entries shown when a seed fails: at most this many, from the start of the failing
/// phase (apply, plan or destroy).
const EXCERPT: usize = 80;

/// `Err` of one seed: its number, what failed, and the journal of the failing phase (the
/// entries after the first `phase_start`, at most the last [`EXCERPT`]).
fn seed_failure(seed: u64, what: &str, env: &TestEnv, phase_start: usize) -> String {
    let entries = journal(env);
    let phase = &entries[phase_start.min(entries.len())..];
    let tail = &phase[phase.len().saturating_sub(EXCERPT)..];
    format!(
        "seed {seed}: {what}\n  journal of account {} ({} requests, {} injected failures); \
         the failing phase's last {} of {}:\n{}",
        env.account_id,
        entries.len(),
        injected(&entries, None).len(),
        tail.len(),
        phase.len(),
        render(tail)
    )
}

/// One seed in a fresh account with `presets` (e.g. `throttle=20`) on from the start of apply
/// to the end of destroy.
pub async fn library_seed(seed: u64, presets: &'static [&'static str]) -> Result<SeedRun, String> {
    let env = TestEnv::new()
        .await
        .map_err(|e| format!("seed {seed}: no env on the shared emulator: {e:#}"))?;
    let aws = Aws::new(&env);
    let mut spec = spec(&env, "chaos", SlrMode::Ensure).await;
    spec.service.subnets.clear();
    spec.service.security_groups.clear();
    let stack = env.stack(spec);
    env.proxy.apply_preset(&Preset::seed(seed)); // before the rules: they derive their seeds from it
    for p in presets {
        env.proxy
            .apply_preset(&Preset::parse(p).map_err(|e| format!("preset {p}: {e}"))?);
    }
    env.proxy.clear_journal();

    let quiet = ApplyOptions::new(retry_fast()).with_progress(Progress::silent());
    let fail = |what: String, phase_start: usize| seed_failure(seed, &what, &env, phase_start);
    Box::pin(stack.apply(&quiet))
        .await
        .map_err(|e| fail(format!("apply failed: {e}"), 0))?;
    let plan_start = journal(&env).len();
    let after = Box::pin(stack.plan())
        .await
        .map_err(|e| fail(format!("plan after apply failed: {e}"), plan_start))?;
    if !after.is_empty() {
        return Err(fail(
            format!("the plan after apply is not empty:\n{after}"),
            plan_start,
        ));
    }
    let destroy_start = journal(&env).len();
    let destroy = DestroyOptions {
        delete_service_linked_role: false,
        retry: retry_fast(),
        progress: Progress::silent(),
    };
    let report = Box::pin(stack.destroy(&destroy))
        .await
        .map_err(|e| fail(format!("destroy failed: {e}"), destroy_start))?;
    let entries = journal(&env);
    env.proxy
        .set_rules(vec![])
        .map_err(|e| format!("seed {seed}: clearing the rules: {e}"))?;
    let mut left = aws.leftovers(stack.names()).await;
    left.extend(aws.listed().await);
    if !left.is_empty() {
        return Err(fail(
            format!(
                "left after a destroy that reported success (deleted {:?}): {left:?}",
                report.deleted
            ),
            destroy_start,
        ));
    }
    Ok(SeedRun {
        requests: entries.len(),
        injected: injected(&entries, None).len(),
    })
}
