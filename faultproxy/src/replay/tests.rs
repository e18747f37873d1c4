//! The replay's derivation, on the fixtures of `tests/fixtures/replay/` (CloudTrail's record
//! format, see its README): which rules a trail gives, and that those rules fail the same calls
//! as the trail shows, the same number of times, with nothing of the caller's identity in them.

use std::time::{Duration, Instant};

use super::*;
use crate::aws::classify::RequestInfo;
use crate::rules::{EventLog, RuleSet, RuleStore};

const FIRST_APPLY: &str = include_str!("../../tests/fixtures/replay/first-apply.json");
const LOOKUP: &str = include_str!("../../tests/fixtures/replay/first-apply.lookup-events.json");
const IAM_LAG: &str = include_str!("../../tests/fixtures/replay/iam-read-after-create.json");
const SLR_MESSAGE: &str =
    "Unable to assume the service linked role. Please verify that the ECS service linked role exists.";
const IDENTIFYING: &[&str] = &[
    "111122223333",
    "ASIAZEXAMPLEKEY12345",
    "198.51.100.23",
    "github-actions-deployer",
    "gha-run-8123456789",
    "AROAZEXAMPLEROLEID01",
    "Terraform",
];
const ACCOUNT: &str = "000000000042";

fn set_of(rules: Vec<crate::Rule>) -> std::sync::Arc<RuleSet> {
    crate::rules::validate_all(&rules).expect("derived rules validate");
    let store = RuleStore::new(None);
    store.set(rules);
    store.snapshot()
}

/// What each call gets: `Some(code)` when a rule fires.
fn answers(
    set: &RuleSet,
    calls: &[(&str, &str, &str)],
    ev: &EventLog,
    now: Instant,
) -> Vec<Option<String>> {
    calls
        .iter()
        .map(|(svc, op, body)| {
            let info = RequestInfo {
                account: Some(ACCOUNT.into()),
                ..RequestInfo::call(svc, op)
            };
            set.evaluate_from(0, &info, body.as_bytes(), ev, now)
                .and_then(|(_, r, _)| r.rule.error.as_ref().map(|e| e.code.clone()))
        })
        .collect()
}

const CREATE_SERVICE: &str = r#"{"cluster":"first-apply","serviceName":"first-apply-service","taskDefinition":"first-apply-app"}"#;
const OTHER_SERVICE: &str = r#"{"cluster":"first-apply","serviceName":"other"}"#;

#[test]
fn the_first_apply_trail_fails_create_service_twice_then_lets_it_through() {
    for text in [FIRST_APPLY, LOOKUP] {
        let trail = read(text).unwrap();
        assert_eq!(trail.calls.len(), 5, "{}", trail.kind);
        let steps = schedule(&trail.calls, ReplayBy::Count);
        assert_eq!(steps.len(), 1, "{steps:?}");
        let shown = steps[0].to_string();
        assert_eq!(
            shown,
            format!("ecs:CreateService first-apply-service -> 400 InvalidParameterException {SLR_MESSAGE:?}, 2 time(s)")
        );
        let rules = rules(&steps, Some(ACCOUNT));
        let r = &rules[0];
        assert_eq!(
            (r.first, r.after, r.account.as_deref()),
            (Some(2), None, Some(ACCOUNT))
        );
        let e = r.error.as_ref().unwrap();
        assert_eq!(
            (e.status_code, e.code.as_str(), e.message.as_deref()),
            (400, "InvalidParameterException", Some(SLR_MESSAGE))
        );
        let set = set_of(rules);
        let got = answers(
            &set,
            &[
                ("ecs", "CreateCluster", r#"{"clusterName":"first-apply"}"#),
                ("ecs", "CreateService", OTHER_SERVICE),
                ("ecs", "CreateService", CREATE_SERVICE),
                ("ecs", "CreateService", CREATE_SERVICE),
                ("ecs", "CreateService", CREATE_SERVICE),
            ],
            &EventLog::default(),
            Instant::now(),
        );
        let ipe = Some("InvalidParameterException".to_string());
        assert_eq!(got, vec![None, None, ipe.clone(), ipe, None]);
    }
}

#[test]
fn iam_codes_become_wire_codes_and_statuses() {
    let trail = read(IAM_LAG).unwrap();
    let rules = rules(&schedule(&trail.calls, ReplayBy::Count), None);
    assert_eq!(rules.len(), 1);
    let e = rules[0].error.as_ref().unwrap();
    assert_eq!((e.status_code, e.code.as_str()), (404, "NoSuchEntity"));
    assert_eq!(
        rules[0].resource.as_deref(),
        Some("first-apply-ecs-task-role")
    );
    assert_eq!(rules[0].first, Some(3));
}

#[test]
fn by_time_the_window_runs_from_the_trigger_to_the_first_success() {
    let trail = read(FIRST_APPLY).unwrap();
    let steps = schedule(&trail.calls, ReplayBy::Time);
    // CreateCluster at 09:15:03, CreateService's success at 09:15:11.
    assert_eq!(
        steps[0].window,
        Some(("ecs:CreateCluster".to_string(), Duration::from_secs(8)))
    );
    assert!(
        steps[0]
            .to_string()
            .ends_with("every call for 8s after ecs:CreateCluster"),
        "{}",
        steps[0]
    );
    let set = set_of(rules(&steps, Some(ACCOUNT)));
    let ev = EventLog::default();
    let t0 = Instant::now();
    let call = [("ecs", "CreateService", CREATE_SERVICE)];
    assert_eq!(answers(&set, &call, &ev, t0), vec![None], "no trigger yet");
    ev.record(
        Some(ACCOUNT),
        crate::rules::event_key_of("ecs", "CreateCluster"),
        t0,
    );
    let ipe = Some("InvalidParameterException".to_string());
    assert_eq!(
        answers(&set, &call, &ev, t0 + Duration::from_secs(7)),
        vec![ipe.clone()]
    );
    assert_eq!(
        answers(&set, &call, &ev, t0 + Duration::from_secs(7)),
        vec![ipe]
    );
    assert_eq!(
        answers(&set, &call, &ev, t0 + Duration::from_secs(9)),
        vec![None]
    );
}

#[test]
fn later_runs_of_failures_count_from_where_the_earlier_ones_ended() {
    // fail, fail, ok, ok, fail(other code), ok
    let record = |second: u32, code: Option<&str>| {
        let error = code
            .map(|c| format!(r#","errorCode":"{c}","errorMessage":"m""#))
            .unwrap_or_default();
        format!(
            r#"{{"eventSource":"ecs.amazonaws.com","eventName":"CreateService","eventTime":"2026-01-01T00:00:0{second}Z","requestParameters":{{"serviceName":"s"}}{error}}}"#
        )
    };
    let ipe = Some("InvalidParameterException");
    let records = [
        record(1, ipe),
        record(2, ipe),
        record(3, None),
        record(4, None),
        record(5, Some("ClusterNotFoundException")),
        record(6, None),
    ];
    let text = format!("{{\"Records\":[{}]}}", records.join(","));
    let trail = read(&text).unwrap();
    let steps = schedule(&trail.calls, ReplayBy::Count);
    assert_eq!(
        steps.iter().map(|s| (s.after, s.count)).collect::<Vec<_>>(),
        vec![(0, 2), (2, 1)]
    );
    let set = set_of(rules(&steps, None));
    let calls = vec![("ecs", "CreateService", r#"{"serviceName":"s"}"#); 6];
    let got = answers(&set, &calls, &EventLog::default(), Instant::now());
    let (ipe, cnf) = (
        Some("InvalidParameterException".to_string()),
        Some("ClusterNotFoundException".to_string()),
    );
    assert_eq!(got, vec![ipe.clone(), ipe, None, None, cnf, None]);
}

#[test]
fn nothing_identifying_reaches_the_schedule_or_the_rules() {
    for text in [FIRST_APPLY, LOOKUP, IAM_LAG] {
        let trail = read(text).unwrap();
        let steps = schedule(&trail.calls, ReplayBy::Time);
        let shown: Vec<String> = steps.iter().map(ToString::to_string).collect();
        let json = serde_json::to_string(&rules(&steps, None)).unwrap();
        for secret in IDENTIFYING {
            assert!(!json.contains(secret), "{secret} in {json}");
            assert!(
                !shown.iter().any(|s| s.contains(secret)),
                "{secret} in {shown:?}"
            );
        }
    }
}

#[test]
fn account_ids_in_messages_become_the_replaying_account() {
    let text = r#"{"Records":[{"eventSource":"iam.amazonaws.com","eventName":"GetRole","eventTime":"2026-01-01T00:00:00Z",
        "requestParameters":{"roleName":"r"},"errorCode":"AccessDenied",
        "errorMessage":"User: arn:aws:sts::111122223333:assumed-role/ci/x is not authorized to perform: iam:GetRole on resource: role r because no identity-based policy allows the iam:GetRole action",
        "userIdentity":{"arn":"arn:aws:sts::111122223333:assumed-role/ci/x","accountId":"111122223333"}}]}"#;
    let trail = read(text).unwrap();
    let steps = schedule(&trail.calls, ReplayBy::Count);
    let rule = &rules(&steps, Some(ACCOUNT))[0];
    let msg = rule.error.as_ref().unwrap().message.clone().unwrap();
    assert!(
        msg.starts_with(&format!(
            "User: arn:aws:iam::{ACCOUNT}:root is not authorized"
        )),
        "{msg}"
    );
    assert!(
        steps[0].to_string().contains("not in iam's error shapes"),
        "{}",
        steps[0]
    );
}
