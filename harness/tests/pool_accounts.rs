//! The warm-account pool: every account it hands out is unique, a pooled (warm) account had one
//! call per service made in it, in the test region, before it was handed out (checked in the
//! journal of a proxy the pool warms through, not by timing), and an empty pool hands out cold
//! accounts at once instead of waiting.

use std::collections::HashSet;
use std::time::Duration;

use harness::env::DEFAULT_REGION;
use harness::pool::{Account, AccountPool};

const SERVICES: [&str; 5] = ["ecs", "ec2", "iam", "ecr", "logs"];

#[tokio::test]
async fn pooled_accounts_are_warmed_in_every_service_before_hand_out_and_never_repeat() {
    let emulator = harness::emulator::shared().await.expect("emulator");
    let endpoint = emulator.endpoint();
    let proxy = faultproxy::start(endpoint.proxy_config(vec![]))
        .await
        .expect("proxy");
    let pool = AccountPool::start(&proxy.url(), DEFAULT_REGION, 3).expect("pool");
    assert!(
        pool.wait_ready(3, Duration::from_secs(180)).await,
        "pool did not warm 3 accounts: {:?}",
        pool.stats()
    );

    let mut seen = HashSet::new();
    for _ in 0..3 {
        let account = pool.take();
        let Account::Warm(id) = &account else {
            panic!("a ready pool handed out a cold account: {account:?}");
        };
        // The warm-up happened before the hand-out: the journal holds it already.
        let journal = proxy.journal_for(id);
        for service in SERVICES {
            assert!(
                journal.iter().any(|e| e.service.as_deref() == Some(service)
                    && e.region.as_deref() == Some(DEFAULT_REGION)
                    && e.status.is_some_and(|s| s < 500)),
                "no {service} warm-up call in {id} ({DEFAULT_REGION}): {journal:?}"
            );
        }
        assert!(seen.insert(id.clone()), "{id} handed out twice");
    }

    // Drained faster than it refills: misses are cold accounts, handed out at once, all unique.
    for _ in 0..40 {
        let account = pool.take();
        assert!(harness::accounts::is_account_id(account.id()));
        assert!(
            seen.insert(account.id().to_string()),
            "{account:?} handed out twice"
        );
    }
    let stats = pool.stats();
    assert!(stats.hits >= 3, "{stats:?}");
    assert_eq!(stats.hits + stats.misses, 43, "{stats:?}");
    assert!(
        stats.misses > 0,
        "40 takes in a row cannot all be warm: {stats:?}"
    );
    assert_eq!(stats.failed, 0, "{stats:?}");
}

#[tokio::test]
async fn test_envs_get_accounts_from_the_shared_pool() {
    let a = harness::env::TestEnv::new().await.expect("env a");
    let b = harness::env::TestEnv::new().await.expect("env b");
    assert_ne!(a.account_id, b.account_id);
    let stats = harness::pool::shared_stats();
    if std::env::var(harness::pool::POOL_SIZE_ENV).is_ok_and(|v| v.trim() == "0") {
        // HARNESS_ACCOUNT_POOL=0: no pool, so nothing may have been counted.
        assert_eq!(stats, harness::pool::PoolStats::default());
        return;
    }
    assert!(
        stats.hits + stats.misses >= 2,
        "TestEnv did not take its accounts from the pool: {stats:?}"
    );
}
