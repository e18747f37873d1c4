//! The HTTP control API under `/_harness/` with moto behind the proxy: presets, journal and
//! reset. The emulator-free control tests (rules round trip, bad input) are in faultproxy/tests/.

mod proxy_support;

use proxy_support::*;

#[tokio::test]
async fn presets_journal_and_reset() {
    let proxy = proxy_with(&["latency=1"]).await;
    let addr = proxy.addr();
    let (s, body) = raw(
        addr,
        "POST",
        "/_harness/presets",
        &[],
        b"slr-delay=5s, throttle=100\nseed=3",
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["models"]["windows"]["slr-delay"], "5s");
    assert_eq!(v["models"]["models"], serde_json::json!(["slr-delay"]));
    assert_eq!(v["seed"], 3);
    assert_eq!(v["flavor"], "moto");
    let rule_names: Vec<_> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    assert_eq!(rule_names, ["preset:latency", "preset:throttle"]);
    let slr = faultproxy::models::spec("slr-delay").unwrap();
    assert_eq!(
        proxy.model_settings().window_range(slr),
        Some(faultproxy::models::WindowRange::fixed(
            std::time::Duration::from_secs(5)
        ))
    );

    let (a, b) = (fresh_account(), fresh_account());
    for acct in [&a, &b] {
        let (s, _) = raw(
            addr,
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                (
                    "X-Amz-Target",
                    "AmazonEC2ContainerServiceV20141113.ListClusters",
                ),
                ("Authorization", &auth(acct, REGION, "ecs")),
            ],
            b"{}",
        )
        .await;
        assert_eq!(s, 400, "throttle=100 hits every request");
    }
    let (s, body) = raw(
        addr,
        "GET",
        &format!("/_harness/journal?account={a}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(s, 200);
    let entries: Vec<faultproxy::JournalEntry> = serde_json::from_str(&body).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].account.as_deref(), Some(a.as_str()));
    assert_eq!(entries[0].operation.as_deref(), Some("ListClusters"));
    assert_eq!(
        entries[0].fault.as_ref().unwrap().code.as_deref(),
        Some("ThrottlingException")
    );
    let in_process = proxy.journal_for(&a);
    assert_eq!(entries.len(), in_process.len());
    for (http, mem) in entries.iter().zip(&in_process) {
        assert_eq!(
            (http.seq, http.summary(), &http.account),
            (mem.seq, mem.summary(), &mem.account)
        );
        assert!((http.duration_ms - mem.duration_ms).abs() < 1e-6);
    }
    let (_, all) = raw(addr, "GET", "/_harness/journal", &[], b"").await;
    assert_eq!(
        serde_json::from_str::<Vec<faultproxy::JournalEntry>>(&all)
            .unwrap()
            .len(),
        2
    );

    // Reset: journal cleared, back to the start-up presets only.
    let (s, _) = raw(addr, "POST", "/_harness/reset", &[], b"").await;
    assert_eq!(s, 200);
    assert!(proxy.journal().is_empty());
    let names: Vec<_> = proxy.rules().into_iter().map(|r| r.name.unwrap()).collect();
    assert_eq!(names, ["preset:latency"]);
    assert_eq!(proxy.model_settings().window_range(slr), None);
    // Applying a rule preset twice replaces its rules instead of stacking them.
    proxy.apply_preset(&"throttle=5".parse().unwrap());
    proxy.apply_preset(&"throttle=6".parse().unwrap());
    assert_eq!(proxy.rules().len(), 2);
    assert_eq!(proxy.rules()[1].probability, Some(0.06));
}
