//! The fresh-account models of IAM and CloudWatch Logs against a real moto: IAM read-after-write
//! (`iam-read-after-write`), the asynchronous service-linked-role deletion
//! (`slr-deletion-status`) and CloudWatch Logs' conflicting operation
//! (`logs-conflicting-operation`). Each test switches on one model with a long window scaled
//! down by `time-scale`, checks the exact wire answer (raw HTTP: status, code, message) and the
//! typed error an AWS SDK makes of it, the journal entries named after the model, and that the
//! error stops once the scaled window is over. GetRole of the ECS service-linked role stays the
//! `slr-delay` model's while both are on.

mod proxy_support;

use std::time::{Duration, Instant};

use aws_sdk_iam::types::DeletionTaskStatusType;
use faultproxy::models::logs_conflicting_operation::{OPERATION_ABORTED, OPERATION_ABORTED_CODE};
use faultproxy::models::service_linked_role::ROLE_NAME;
use faultproxy::models::{ModelSettings, WindowRange};
use faultproxy::{JournalEntry, ProxyHandle};
use proxy_support::*;

/// Every test's time scale: a window of `W` lasts `W * SCALE`.
const SCALE: f64 = 0.05;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}"#;

/// Only `model` on, with a fixed window of `window` (before the time scale).
fn only(proxy: &ProxyHandle, model: &str, window: Duration) -> Duration {
    let mut s = ModelSettings::default();
    s.set_enabled(model, true).unwrap();
    s.set_range(model, WindowRange::fixed(window)).unwrap();
    s.set_time_scale(SCALE).unwrap();
    proxy.set_model_settings(s);
    window.mul_f64(SCALE)
}

/// An IAM query call, raw: (status, XML body).
async fn iam(proxy: &ProxyHandle, account: &str, params: &[(&str, &str)]) -> (u16, String) {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Version", "2010-05-08");
    for (k, v) in params {
        form.append_pair(k, v);
    }
    let auth = auth(account, "us-east-1", "iam");
    raw(
        proxy.addr(),
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &auth),
        ],
        form.finish().as_bytes(),
    )
    .await
}

/// A CloudWatch Logs awsJson call, raw: (status, JSON body).
async fn logs(
    proxy: &ProxyHandle,
    account: &str,
    op: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let auth = auth(account, REGION, "logs");
    let target = format!("Logs_20140328.{op}");
    let (status, text) = raw(
        proxy.addr(),
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", &target),
            ("Authorization", &auth),
        ],
        body.to_string().as_bytes(),
    )
    .await;
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// The journal entries of `account` the model `rule` answered, as `(operation, kind, code)`.
fn by_model(proxy: &ProxyHandle, account: &str, rule: &str) -> Vec<(String, String, String)> {
    proxy
        .journal_for(account)
        .into_iter()
        .filter_map(|e: JournalEntry| {
            let f = e.fault.filter(|f| f.rule == rule)?;
            Some((
                e.operation.unwrap_or_default(),
                f.kind.to_string(),
                f.code.unwrap_or_default(),
            ))
        })
        .collect()
}

async fn sleep_past(start: Instant, window: Duration) {
    tokio::time::sleep(window.saturating_sub(start.elapsed()) + Duration::from_millis(150)).await;
}

#[tokio::test]
async fn iam_reads_miss_a_new_role_and_inline_policy_for_the_scaled_window() {
    let proxy = proxy_with(&[]).await;
    let window = only(&proxy, "iam-read-after-write", Duration::from_secs(60));
    let account = fresh_account();
    let role = [("RoleName", "app-task")];
    let policy = [("RoleName", "app-task"), ("PolicyName", "logs")];

    let (s, body) = iam(
        &proxy,
        &account,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "app-task"),
            ("AssumeRolePolicyDocument", TRUST),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let created = Instant::now();
    let (s, body) = iam(
        &proxy,
        &account,
        &[&[("Action", "GetRole")], &role[..]].concat(),
    )
    .await;
    assert_eq!(s, 404, "{body}");
    assert!(
        body.contains("<Type>Sender</Type><Code>NoSuchEntity</Code>"),
        "{body}"
    );
    assert!(
        body.contains("<Message>The role with name app-task cannot be found.</Message>"),
        "{body}"
    );
    // An AWS SDK parses it into its typed NoSuchEntity error.
    let sdk_iam = aws_sdk_iam::Client::new(&sdk(&proxy, &account).await);
    let err = sdk_iam
        .get_role()
        .role_name("app-task")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    match err {
        aws_sdk_iam::operation::get_role::GetRoleError::NoSuchEntityException(e) => {
            assert_eq!(
                e.message(),
                Some("The role with name app-task cannot be found.")
            )
        }
        other => panic!("expected NoSuchEntityException, got {other:?}"),
    }

    let (s, body) = iam(
        &proxy,
        &account,
        &[
            &[("Action", "PutRolePolicy"), ("PolicyDocument", POLICY)],
            &policy[..],
        ]
        .concat(),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let put = Instant::now();
    let get_policy = [&[("Action", "GetRolePolicy")], &policy[..]].concat();
    let (s, body) = iam(&proxy, &account, &get_policy).await;
    assert_eq!(s, 404, "{body}");
    assert!(
        body.contains("<Message>The role policy with name logs cannot be found.</Message>"),
        "{body}"
    );
    let err = sdk_iam
        .get_role_policy()
        .role_name("app-task")
        .policy_name("logs")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_no_such_entity_exception(), "{err:?}");

    // Another role is not affected.
    let (s, _) = iam(
        &proxy,
        &account,
        &[("Action", "GetRole"), ("RoleName", "other")],
    )
    .await;
    assert_eq!(s, 404, "moto does not know it either");
    assert_eq!(
        by_model(&proxy, &account, "model:iam-read-after-write"),
        [
            ("GetRole".into(), "read-lag".into(), "NoSuchEntity".into()),
            ("GetRole".into(), "read-lag".into(), "NoSuchEntity".into()),
            (
                "GetRolePolicy".into(),
                "read-lag".into(),
                "NoSuchEntity".into()
            ),
            (
                "GetRolePolicy".into(),
                "read-lag".into(),
                "NoSuchEntity".into()
            ),
        ]
    );

    sleep_past(created, window).await;
    let (s, body) = iam(
        &proxy,
        &account,
        &[&[("Action", "GetRole")], &role[..]].concat(),
    )
    .await;
    assert_eq!(s, 200, "after the window: {body}");
    sleep_past(put, window).await;
    let (s, body) = iam(&proxy, &account, &get_policy).await;
    assert_eq!(s, 200, "after the window: {body}");
    assert!(body.contains("<PolicyName>logs</PolicyName>"), "{body}");
}

#[tokio::test]
async fn get_role_of_the_ecs_service_linked_role_is_left_to_the_slr_delay() {
    let proxy = proxy_with(&[]).await;
    only(&proxy, "iam-read-after-write", Duration::from_secs(600));
    proxy
        .apply_presets("slr-delay=600s")
        .expect("a valid preset");
    let account = fresh_account();
    let sdk_iam = aws_sdk_iam::Client::new(&sdk(&proxy, &account).await);
    sdk_iam
        .create_service_linked_role()
        .aws_service_name("ecs.amazonaws.com")
        .send()
        .await
        .expect("CreateServiceLinkedRole");
    let (s, body) = iam(
        &proxy,
        &account,
        &[("Action", "GetRole"), ("RoleName", ROLE_NAME)],
    )
    .await;
    assert_eq!(s, 404, "{body}");
    let answered: Vec<_> = proxy
        .journal_for(&account)
        .into_iter()
        .filter(|e| e.operation.as_deref() == Some("GetRole"))
        .map(|e| e.fault.map(|f| f.rule))
        .collect();
    assert_eq!(answered, [Some("model:slr-delay".to_string())]);
}

/// GetServiceLinkedRoleDeletionStatus until a final status, polling every 50 ms (at most 10 s);
/// returns the distinct statuses seen, in order.
async fn poll_deletion(iam: &aws_sdk_iam::Client, task: &str) -> Vec<DeletionTaskStatusType> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen: Vec<DeletionTaskStatusType> = Vec::new();
    loop {
        let out = iam
            .get_service_linked_role_deletion_status()
            .deletion_task_id(task)
            .send()
            .await
            .expect("status");
        let status = out.status().clone();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if matches!(
            status,
            DeletionTaskStatusType::Succeeded | DeletionTaskStatusType::Failed
        ) || Instant::now() > deadline
        {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn service_linked_role_deletion_runs_as_a_task_over_the_scaled_window() {
    let proxy = proxy_with(&[]).await;
    let window = only(&proxy, "slr-deletion-status", Duration::from_secs(80));
    let account = fresh_account();
    let cfg = sdk(&proxy, &account).await;
    let (ecs, iam_c) = (
        aws_sdk_ecs::Client::new(&cfg),
        aws_sdk_iam::Client::new(&cfg),
    );
    let cluster = ecs
        .create_cluster()
        .cluster_name("keep")
        .send()
        .await
        .expect("CreateCluster (creates the service-linked role)");
    let cluster_arn = cluster
        .cluster()
        .unwrap()
        .cluster_arn()
        .unwrap()
        .to_string();

    // With a cluster alive the task ends FAILED with the usage list, but only after its window.
    let task = iam_c
        .delete_service_linked_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .expect("deletion task");
    let submitted = Instant::now();
    let (s, body) = iam(
        &proxy,
        &account,
        &[
            ("Action", "GetServiceLinkedRoleDeletionStatus"),
            ("DeletionTaskId", task.deletion_task_id()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("<Status>NOT_STARTED</Status>"), "{body}");
    let seen = poll_deletion(&iam_c, task.deletion_task_id()).await;
    assert!(
        submitted.elapsed() >= window,
        "final only after the window ({:?} < {window:?})",
        submitted.elapsed()
    );
    assert_eq!(
        seen,
        [
            DeletionTaskStatusType::NotStarted,
            DeletionTaskStatusType::InProgress,
            DeletionTaskStatusType::Failed
        ]
    );
    let status = iam_c
        .get_service_linked_role_deletion_status()
        .deletion_task_id(task.deletion_task_id())
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), &DeletionTaskStatusType::Failed, "final");
    let usage = status.reason().unwrap().role_usage_list();
    assert_eq!(usage[0].resources(), std::slice::from_ref(&cluster_arn));
    iam_c
        .get_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .expect("the role survives a FAILED task");

    // Without clusters: NOT_STARTED -> IN_PROGRESS -> SUCCEEDED, then the role is gone.
    ecs.delete_cluster()
        .cluster(&cluster_arn)
        .send()
        .await
        .unwrap();
    let task = iam_c
        .delete_service_linked_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .unwrap();
    iam_c
        .get_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .expect("the role lives while the task runs");
    let seen = poll_deletion(&iam_c, task.deletion_task_id()).await;
    assert_eq!(
        seen,
        [
            DeletionTaskStatusType::NotStarted,
            DeletionTaskStatusType::InProgress,
            DeletionTaskStatusType::Succeeded
        ]
    );
    let err = iam_c
        .get_role()
        .role_name(ROLE_NAME)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_no_such_entity_exception(), "{err:?}");

    let pending = by_model(&proxy, &account, "model:slr-deletion-status");
    assert!(pending.len() >= 4, "{pending:?}");
    assert!(pending
        .iter()
        .all(|(op, kind, _)| op == "GetServiceLinkedRoleDeletionStatus" && kind == "read-lag"));
}

#[tokio::test]
async fn changes_to_a_new_log_group_abort_for_the_scaled_window() {
    let proxy = proxy_with(&[]).await;
    let window = only(
        &proxy,
        "logs-conflicting-operation",
        Duration::from_secs(40),
    );
    let account = fresh_account();
    let group = "/ecs/app";
    let (s, body) = logs(
        &proxy,
        &account,
        "CreateLogGroup",
        serde_json::json!({ "logGroupName": group }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let created = Instant::now();
    let arn = format!("arn:aws:logs:{REGION}:{account}:log-group:{group}");
    let retention = serde_json::json!({ "logGroupName": group, "retentionInDays": 7 });
    for (op, req) in [
        ("PutRetentionPolicy", retention.clone()),
        (
            "TagResource",
            serde_json::json!({ "resourceArn": arn, "tags": {"app": "x"} }),
        ),
        (
            "TagLogGroup",
            serde_json::json!({ "logGroupName": group, "tags": {"app": "x"} }),
        ),
        (
            "DeleteLogGroup",
            serde_json::json!({ "logGroupName": group }),
        ),
    ] {
        let (s, body) = logs(&proxy, &account, op, req).await;
        assert_eq!(s, 400, "{op}: {body}");
        assert_eq!(body["__type"], OPERATION_ABORTED_CODE, "{op}");
        assert_eq!(body["message"], OPERATION_ABORTED, "{op}");
    }
    // An AWS SDK parses it into its typed OperationAbortedException.
    let cw = aws_sdk_cloudwatchlogs::Client::new(&sdk(&proxy, &account).await);
    let err = cw
        .put_retention_policy()
        .log_group_name(group)
        .retention_in_days(7)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    match err {
        aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyError::OperationAbortedException(e) => {
            assert_eq!(e.message(), Some(OPERATION_ABORTED))
        }
        other => panic!("expected OperationAbortedException, got {other:?}"),
    }
    let journal = by_model(&proxy, &account, "model:logs-conflicting-operation");
    let ops: Vec<&str> = journal.iter().map(|(op, _, _)| op.as_str()).collect();
    assert_eq!(
        ops,
        [
            "PutRetentionPolicy",
            "TagResource",
            "TagLogGroup",
            "DeleteLogGroup",
            "PutRetentionPolicy"
        ]
    );
    assert!(journal
        .iter()
        .all(|(_, kind, code)| kind == "error" && code == OPERATION_ABORTED_CODE));

    sleep_past(created, window).await;
    let (s, body) = logs(&proxy, &account, "PutRetentionPolicy", retention).await;
    assert_eq!(s, 200, "after the window: {body}");
    let (s, body) = logs(
        &proxy,
        &account,
        "DeleteLogGroup",
        serde_json::json!({ "logGroupName": group }),
    )
    .await;
    assert_eq!(s, 200, "after the window: {body}");
}
