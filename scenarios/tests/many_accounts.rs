//! Many accounts at once under chaos: 16 stacks in flight on the one shared emulator, each in
//! its own fresh account with 20 % throttling and 20 % flaky answers, over 100 seeds in total with
//! `SCENARIOS_EXHAUSTIVE=1`. The normal suite runs 16 seeds 4 at a time: beside the rest of the
//! suite, 16 chaos applies at once kept LocalStack's IAM (one Python process, `localstack+moto`)
//! from answering GetRole within the SDK's 2-minute deadline on a 2-core machine, and every
//! scenario of that run failed. Each seed applies, plans empty and
//! destroys through the provisioner's library; after every destroy, chaos off, the account is
//! read by the stack's names and by listing everything it holds, and must be empty
//! (common/chaos.rs). What this adds to chaos.rs is the crowd: the emulator serves 16 accounts'
//! concurrent calls, so a destroy that misreads the account under that load (a read answered as
//! "nothing there" while the stack stands) is caught by the listing.

use harness::env::{test_env_or_skip, TestEnv};
use rstest::rstest;

use crate::common::chaos::library_seed;
use crate::common::sweep::{sweep, Size};

const CHAOS: [&str; 2] = ["throttle=20", "flaky=20"];
const DEFAULT: Size = Size {
    seeds: 16,
    at_once: 4,
};
const EXHAUSTIVE: Size = Size {
    seeds: 100,
    at_once: 16,
};

#[rstest]
#[tokio::test]
async fn sixteen_accounts_at_once_under_chaos_destroy_to_nothing(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    fixture_env!(_probe, test_env_or_skip, "many accounts");
    sweep("many accounts", &CHAOS, DEFAULT, EXHAUSTIVE, |s| {
        library_seed(s, &CHAOS)
    })
    .await;
}
