//! Rule evaluation over real requests: order (first firing rule wins), triggers (first N, after
//! N, time window after an event in the same account) and seeded probability reproducibility.

mod proxy_support;

use std::time::Duration;

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use faultproxy::{FaultKind, ProxyHandle, Rule};
use proxy_support::*;

fn statuses(proxy: &ProxyHandle, account: &str) -> Vec<Option<u16>> {
    proxy
        .journal_for(account)
        .iter()
        .map(|e| e.status)
        .collect()
}

#[tokio::test]
async fn first_firing_rule_wins_in_order() {
    let proxy = proxy_with(&[]).await;
    proxy
        .set_rules(vec![
            Rule::named("specific")
                .for_service("ecs")
                .for_operation("ListClusters")
                .with_error(400, "Specific", "first rule"),
            Rule::named("general").for_service("ecs").with_throttle(),
        ])
        .expect("valid rules");
    let account = fresh_account();
    let cfg = sdk(&proxy, &account).await;
    let ecs = aws_sdk_ecs::Client::new(&cfg);
    let iam = aws_sdk_iam::Client::new(&cfg);
    assert_eq!(
        ecs.list_clusters().send().await.unwrap_err().code(),
        Some("Specific")
    );
    assert_eq!(
        ecs.describe_clusters().send().await.unwrap_err().code(),
        Some("ThrottlingException")
    );
    iam.list_roles().send().await.expect("no rule for IAM");
    let rules: Vec<_> = proxy
        .journal_for(&account)
        .into_iter()
        .map(|e| e.fault.map(|f| f.rule))
        .collect();
    assert_eq!(
        rules,
        [Some("specific".to_string()), Some("general".into()), None]
    );
}

#[tokio::test]
async fn first_n_matches_fire_then_stop() {
    let proxy = proxy_with(&[]).await;
    proxy
        .set_rules(vec![Rule::named("first2")
            .for_service("ecs")
            .for_operation("ListClusters")
            .with_first(2)
            .with_error(500, "InternalFailure", "boom")])
        .expect("valid rules");
    let account = fresh_account();
    let ecs = aws_sdk_ecs::Client::new(&sdk(&proxy, &account).await);
    for _ in 0..4 {
        let _ = ecs.list_clusters().send().await;
    }
    ecs.describe_clusters()
        .send()
        .await
        .expect("other operations never matched");
    assert_eq!(
        statuses(&proxy, &account),
        [Some(500), Some(500), Some(200), Some(200), Some(200)]
    );
}

#[tokio::test]
async fn after_n_drops_every_later_request_until_removed() {
    // The crash-and-resume sweep: the proxy drops every connection after the k-th request.
    let proxy = proxy_with(&[]).await;
    proxy
        .set_rules(vec![Rule::named("crash-after-3").with_after(3).with_drop()])
        .expect("valid rules");
    let account = fresh_account();
    let ecs = aws_sdk_ecs::Client::new(&sdk(&proxy, &account).await);
    for i in 1..=6 {
        let r = ecs.list_clusters().send().await;
        if i <= 3 {
            r.expect("first three pass");
        } else {
            assert!(
                matches!(r, Err(SdkError::DispatchFailure(_))),
                "request {i}: {r:?}"
            );
        }
    }
    let j = proxy.journal_for(&account);
    assert_eq!(j.iter().filter(|e| e.is_injected_failure()).count(), 3);
    assert!(j[3..]
        .iter()
        .all(|e| e.fault.as_ref().unwrap().kind == FaultKind::Drop && e.status.is_none()));
    assert_eq!(proxy.remove_rules(Some("crash-after-3")), 1);
    ecs.list_clusters()
        .send()
        .await
        .expect("resumes once the rule is gone");
}

#[tokio::test]
async fn window_after_an_event_in_the_same_account() {
    let proxy = proxy_with(&["slr-model=off"]).await;
    proxy
        .set_rules(vec![Rule::named("after-cluster")
            .for_service("ecs")
            .for_operation("ListClusters")
            .with_window("ecs:CreateCluster", Duration::from_millis(1500))
            .with_error(400, "InvalidParameterException", "window open")])
        .expect("valid rules");
    let (a, b) = (fresh_account(), fresh_account());
    let ecs_a = aws_sdk_ecs::Client::new(&sdk(&proxy, &a).await);
    let ecs_b = aws_sdk_ecs::Client::new(&sdk(&proxy, &b).await);
    ecs_a.list_clusters().send().await.expect("no event yet");
    ecs_a
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .unwrap();
    let err = ecs_a.list_clusters().send().await.unwrap_err();
    assert_eq!(err.message(), Some("window open"));
    ecs_b
        .list_clusters()
        .send()
        .await
        .expect("the event happened in another account");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    ecs_a.list_clusters().send().await.expect("window closed");
}

/// Runs a fixed request sequence in a fresh account; returns the journal summaries.
async fn chaos_run(proxy: &ProxyHandle) -> Vec<String> {
    let account = fresh_account();
    let cfg = sdk(proxy, &account).await;
    let ecs = aws_sdk_ecs::Client::new(&cfg);
    let iam = aws_sdk_iam::Client::new(&cfg);
    for i in 0..36 {
        let _ = match i % 3 {
            0 => ecs
                .list_clusters()
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            1 => iam
                .list_roles()
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            _ => ecs
                .describe_clusters()
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
    }
    summaries(proxy, &account)
}

#[tokio::test]
async fn seeded_chaos_is_reproducible() {
    let presets = ["seed=7", "throttle=20", "flaky=30"];
    let p1 = proxy_with(&presets).await;
    let first = chaos_run(&p1).await;
    let injected = first.iter().filter(|s| s.contains("(preset:")).count();
    assert!(
        (6..=30).contains(&injected),
        "about 44 % of 36 requests, got {injected}: {first:#?}"
    );
    for kind in [
        "throttle",
        "error InternalFailure",
        "error ServiceUnavailable",
        "drop",
    ] {
        assert!(
            first.iter().any(|s| s.contains(kind)),
            "no {kind} in {first:#?}"
        );
    }

    // Same seed: a reset proxy and a second proxy decide exactly the same.
    p1.reset();
    assert!(p1.journal().is_empty());
    assert_eq!(chaos_run(&p1).await, first);
    let p2 = proxy_with(&presets).await;
    assert_eq!(chaos_run(&p2).await, first);

    // Another seed decides differently.
    let p3 = proxy_with(&["seed=8", "throttle=20", "flaky=30"]).await;
    assert_ne!(chaos_run(&p3).await, first);
}
