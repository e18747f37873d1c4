//! The HTTP control API under `/_harness/` without an emulator: rules round trip (and agree with
//! the in-process `ProxyHandle` view), bad input answers 400 naming the problem.

mod support;

use faultproxy::{parse_rules, Rule};
use support::*;

const JSON: (&str, &str) = ("Content-Type", "application/json");

#[tokio::test]
async fn faults_round_trip() {
    let proxy = proxy_without_upstream().await;
    let addr = proxy.addr();
    let (s, body) = raw(addr, "GET", "/_harness/faults", &[], b"").await;
    assert_eq!((s, body.trim()), (200, "[]"));

    let localstack = r#"[{"name": "first", "service": "ecs", "operation": "CreateService", "region": "ap-northeast-1",
                          "probability": 0.5, "error": {"statusCode": 503, "code": "ServiceUnavailable"}}]"#;
    let (s, _) = raw(
        addr,
        "POST",
        "/_harness/faults",
        &[JSON],
        localstack.as_bytes(),
    )
    .await;
    assert_eq!(s, 200);
    let ours = r#"[{"service": "iam", "after": 3, "drop": true},
                   {"name": "slow", "latency": {"ms": 50, "jitter_ms": 5}},
                   {"name": "win", "operation": "CreateService", "window": {"after": "ecs:CreateCluster", "duration": "20s"},
                    "error": {"statusCode": 400, "code": "InvalidParameterException", "message": "m"}}]"#;
    let (s, _) = raw(addr, "PATCH", "/_harness/faults", &[JSON], ours.as_bytes()).await;
    assert_eq!(s, 200);
    let (s, body) = raw(addr, "GET", "/_harness/faults", &[], b"").await;
    assert_eq!(s, 200);
    let listed = parse_rules(&body).unwrap();
    assert_eq!(listed, proxy.rules(), "HTTP and in-process views agree");
    let names: Vec<_> = listed.iter().map(|r| r.name.clone().unwrap()).collect();
    assert_eq!(names.len(), 4);
    assert_eq!(names[0], "first");
    assert!(
        names[1].starts_with("rule-"),
        "unnamed rules get a name: {names:?}"
    );
    assert_eq!(&names[2..], ["slow", "win"]);
    assert_eq!(listed[0].error.as_ref().unwrap().status_code, 503);
    assert_eq!(listed[1].after, Some(3));

    let (s, body) = raw(addr, "DELETE", "/_harness/faults?name=slow", &[], b"").await;
    assert_eq!(s, 200);
    assert!(body.contains("\"removed\": 1"), "{body}");
    assert_eq!(proxy.rules().len(), 3);
    let (s, _) = raw(addr, "POST", "/_harness/faults", &[JSON], b"[]").await;
    assert_eq!(s, 200);
    assert!(proxy.rules().is_empty(), "[] clears");

    proxy
        .set_rules(vec![
            Rule::named("x").with_drop(),
            Rule::named("y").with_throttle(),
        ])
        .expect("valid rules");
    let (s, body) = raw(addr, "DELETE", "/_harness/faults", &[], b"").await;
    assert_eq!(s, 200);
    assert!(body.contains("\"removed\": 2"), "{body}");
}

#[tokio::test]
async fn bad_input_is_a_400_with_a_clear_message() {
    let proxy = proxy_without_upstream().await;
    let addr = proxy.addr();
    let cases: [(&str, &str, &[u8], &str); 6] = [
        ("POST", "/_harness/faults", b"[{\"service\": ", "line 1"),
        (
            "POST",
            "/_harness/faults",
            b"{\"servce\": \"ecs\", \"drop\": true}",
            "unknown field `servce`",
        ),
        (
            "PATCH",
            "/_harness/faults",
            b"[{\"service\": \"ecs\"}]",
            "needs an effect",
        ),
        (
            "POST",
            "/_harness/faults",
            b"[{\"drop\": true, \"probability\": 7}]",
            "probability",
        ),
        (
            "POST",
            "/_harness/presets",
            b"slr-delay=later",
            "Accepted presets",
        ),
        ("POST", "/_harness/presets", b"", "no preset"),
    ];
    for (method, path, body, expected) in cases {
        let (s, text) = raw(addr, method, path, &[JSON], body).await;
        assert_eq!(s, 400, "{method} {path} {}", String::from_utf8_lossy(body));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let msg = v["error"].as_str().unwrap();
        assert!(
            msg.contains(expected),
            "{msg:?} should mention {expected:?}"
        );
    }
    assert!(proxy.rules().is_empty(), "rejected input changes nothing");
    let (s, _) = raw(addr, "GET", "/_harness/nope", &[], b"").await;
    assert_eq!(s, 404);
    let (s, _) = raw(addr, "PUT", "/_harness/journal", &[], b"").await;
    assert_eq!(s, 405);
    let (s, body) = raw(addr, "GET", "/_harness/health", &[], b"").await;
    assert_eq!(s, 200);
    assert!(body.contains("ok"));
}

/// `/_harness/accounts`: lease (fresh or named), read, add presets, release; each mistake is
/// its own status with a message naming it.
#[tokio::test]
async fn accounts_are_leased_read_and_released() {
    let proxy = proxy_without_upstream().await;
    let addr = proxy.addr();
    let (s, body) = raw(
        addr,
        "POST",
        "/_harness/accounts",
        &[],
        b"throttle=100 seed=4",
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let lease: serde_json::Value = serde_json::from_str(&body).unwrap();
    let account = lease["account"].as_str().unwrap().to_string();
    assert_eq!(account.len(), 12, "{body}");
    assert_eq!(lease["seed"], 4);
    assert_eq!(
        lease["presets"],
        serde_json::json!(["seed=4", "throttle=100"])
    );
    assert_eq!(
        lease["rules"][0]["account"].as_str(),
        Some(account.as_str())
    );
    assert_eq!(lease["rules"][0]["name"], "preset:throttle");

    let named = "111122223333";
    let path = format!("/_harness/accounts?account={named}");
    let (s, _) = raw(addr, "POST", &path, &[], b"").await;
    assert_eq!(s, 201);
    let (s, body) = raw(addr, "POST", &path, &[], b"").await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("leased already"), "{body}");
    let (s, body) = raw(addr, "POST", "/_harness/accounts?account=42", &[], b"").await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("12-digit"), "{body}");
    let (s, body) = raw(addr, "POST", "/_harness/accounts", &[], b"throttle=lots").await;
    assert_eq!(s, 400, "{body}");

    let (s, body) = raw(addr, "GET", "/_harness/accounts", &[], b"").await;
    assert_eq!(s, 200);
    let all: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(all["leased"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(all["leased_total"], 2);

    let presets = format!("/_harness/accounts/{named}/presets");
    let (s, body) = raw(addr, "POST", &presets, &[], b"flaky=10").await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("preset:flaky"), "{body}");
    let (s, body) = raw(addr, "POST", &presets, &[], b"").await;
    assert_eq!(s, 400, "{body}");

    let one = format!("/_harness/accounts/{account}");
    let (s, body) = raw(addr, "GET", &one, &[], b"").await;
    assert_eq!(s, 200);
    assert!(
        body.contains("preset:throttle") && !body.contains("preset:flaky"),
        "{body}"
    );
    let (s, _) = raw(addr, "DELETE", &one, &[], b"").await;
    assert_eq!(s, 200);
    let (s, body) = raw(addr, "GET", &one, &[], b"").await;
    assert_eq!(s, 404, "{body}");
    assert!(body.contains("is not leased"), "{body}");
    assert_eq!(proxy.leases().len(), 1);
    let (s, body) = raw(addr, "PUT", &one, &[], b"").await;
    assert_eq!(s, 405, "{body}");

    let (s, _) = raw(addr, "POST", "/_harness/reset", &[], b"").await;
    assert_eq!(s, 200);
    assert!(proxy.leases().is_empty(), "reset ends every lease");
    assert!(proxy.rules().is_empty());
}

/// `POST /_harness/replay`: a trail's failures become the account's `replay:` rules, replacing
/// the account's earlier ones; a file it cannot read is 400 with one line, nothing changed.
#[tokio::test]
async fn replay_takes_a_trail() {
    let proxy = proxy_without_upstream().await;
    let addr = proxy.addr();
    let trail = include_str!("fixtures/replay/first-apply.json");
    let path = "/_harness/replay?account=000000000042";
    for _ in 0..2 {
        let (s, body) = raw(addr, "POST", path, &[JSON], trail.as_bytes()).await;
        assert_eq!(s, 200, "{body}");
    }
    let rules = proxy.rules();
    assert_eq!(
        rules.len(),
        1,
        "a second replay replaces the first: {rules:?}"
    );
    let r = &rules[0];
    assert_eq!(r.name.as_deref(), Some("replay:000000000042:1"));
    assert_eq!(r.account.as_deref(), Some("000000000042"));
    assert_eq!(r.resource.as_deref(), Some("first-apply-service"));
    assert_eq!(r.first, Some(2));

    let (s, body) = raw(
        addr,
        "POST",
        "/_harness/replay?by=time",
        &[JSON],
        trail.as_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let windowed = proxy
        .rules()
        .into_iter()
        .find(|r| r.name.as_deref() == Some("replay:any:1"));
    assert!(windowed.is_some_and(|r| r.window.is_some() && r.first.is_none()));

    let gz = include_bytes!("fixtures/replay/first-apply.json.gz");
    for (body, says) in [
        (&gz[..], "gzipped"),
        (b"{\"x\": 1}".as_slice(), "neither a CloudTrail"),
        (trail.as_bytes(), "--replay-by takes count or time"),
    ] {
        let path = if says.starts_with("--replay-by") {
            "/_harness/replay?by=soon"
        } else {
            "/_harness/replay"
        };
        let (s, answer) = raw(addr, "POST", path, &[JSON], body).await;
        assert_eq!(s, 400, "{answer}");
        assert!(
            answer.contains(says) && answer.trim().lines().count() <= 3,
            "{answer}"
        );
    }
    assert_eq!(proxy.rules().len(), 2, "bad input changes nothing");
}
