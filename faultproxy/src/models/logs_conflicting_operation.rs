//! CloudWatch Logs conflicting operation (`logs-conflicting-operation`): a log group CloudWatch
//! Logs just created is still being set up, and changes to it collide with that.
//!
//! For a short window after a successful CreateLogGroup of group G, `PutRetentionPolicy`,
//! `TagResource` (by the group's ARN), `TagLogGroup` and `DeleteLogGroup` on G answer
//! `OperationAbortedException` "A conflicting operation is currently in progress against this
//! resource. Please try again." (awsJson, HTTP 400). moto applies them at once. Windows are per
//! log group (account, region, name), drawn from [`SPEC`]'s range.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;

use super::window::{ResourceKey, WindowRange, Windows};
use super::{op, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ModelSpec};
use crate::aws::{facts, Operation};
use crate::classify::RequestInfo;
use crate::journal::FaultKind;
use crate::wire::AwsError;

/// CloudWatch Logs' error for a request that collides with one in flight ("Multiple concurrent
/// requests to update the same resource were in conflict", HTTP 400):
/// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html#API_PutRetentionPolicy_Errors
/// (and the same section of DeleteLogGroup, TagResource, TagLogGroup).
pub const OPERATION_ABORTED_CODE: &str = facts::OPERATION_ABORTED_EXCEPTION;
/// Its message as CloudWatch Logs sends it (quoted verbatim in Terraform users' reports of
/// "Creating CloudWatch Log Group failed: OperationAbortedException: ..."); terraform-provider-aws
/// `internal/service/logs/group.go` retries DeleteLogGroup for 1 min on "try again".
pub const OPERATION_ABORTED: &str = facts::CONFLICTING_OPERATION_MESSAGE;

/// Log-group set-up collides with changes for well under a few seconds: 0.5–3 s.
/// terraform-provider-aws `internal/service/logs/group.go` (DeleteLogGroup retried 1 min on
/// `OperationAbortedException` "try again").
pub const SPEC: ModelSpec = ModelSpec {
    name: "logs-conflicting-operation",
    rule: "model:logs-conflicting-operation",
    window: WindowRange {
        min: Duration::from_millis(500),
        max: Duration::from_secs(3),
    },
    source: "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/logs/group.go",
};

/// Region assumed when the request's credential scope names none.
const DEFAULT_REGION: &str = "us-east-1";

#[derive(Default)]
pub(crate) struct ConflictingOperationModel {
    windows: Windows,
}

fn key(info: &RequestInfo, group: &str) -> ResourceKey {
    ResourceKey::new(
        info.account.as_deref().unwrap_or(""),
        info.region.as_deref().unwrap_or(DEFAULT_REGION),
        group,
    )
}

/// The log group of a TagResource ARN: `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`, also with
/// the `:*` suffix DescribeLogGroups reports.
pub fn group_of_arn(arn: &str) -> Option<&str> {
    let (prefix, name) = arn.split_once(":log-group:")?;
    if !prefix.starts_with("arn:") {
        return None;
    }
    let name = name.strip_suffix(":*").unwrap_or(name);
    (!name.is_empty()).then_some(name)
}

/// The log group a request names: `logGroupName`, or TagResource's `resourceArn`.
fn group_of(op: Operation, req: &Value) -> Option<&str> {
    if op == op!(LOGS, "TagResource") {
        group_of_arn(req.get("resourceArn")?.as_str()?)
    } else {
        req.get("logGroupName")?.as_str()
    }
}

const ID: ModelId = ModelId::LOGS_CONFLICTING_OPERATION;

impl Model for ConflictingOperationModel {
    fn operations(&self) -> Vec<Operation> {
        vec![
            op!(LOGS, "CreateLogGroup"),
            op!(LOGS, "PutRetentionPolicy"),
            op!(LOGS, "TagResource"),
            op!(LOGS, "TagLogGroup"),
            op!(LOGS, "DeleteLogGroup"),
        ]
    }

    fn wants(&self, _info: &RequestInfo, settings: &ModelSettings) -> bool {
        settings.on(ID)
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            let op = cx.info.operation?;
            if op == op!(LOGS, "CreateLogGroup") {
                return None;
            }
            let req: Value = serde_json::from_slice(cx.body).ok()?;
            let group = group_of(op, &req)?;
            let length = cx.settings.lengths(ID, &SPEC);
            self.windows
                .is_open(&key(cx.info, group), Instant::now(), length)
                .then(|| {
                    ModelAnswer::injected(
                        cx.info,
                        SPEC.rule,
                        SPEC.rule,
                        FaultKind::Error,
                        AwsError::new(400, OPERATION_ABORTED_CODE, OPERATION_ABORTED),
                    )
                })
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            let create = op!(LOGS, "CreateLogGroup");
            if status != 200 || cx.info.operation != Some(create) {
                return;
            }
            let Ok(req) = serde_json::from_slice::<Value>(cx.body) else {
                return;
            };
            let Some(group) = group_of(create, &req) else {
                return;
            };
            self.windows.open(key(cx.info, group), Instant::now());
        }
        .boxed()
    }

    fn reset(&self) {
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::{upstream, ACCOUNT, REGION};
    use http_body_util::BodyExt;
    use serde_json::json;

    fn logs(op: &str) -> RequestInfo {
        RequestInfo {
            account: Some(ACCOUNT.into()),
            region: Some(REGION.into()),
            ..RequestInfo::call("logs", op)
        }
    }

    struct Logs {
        model: ConflictingOperationModel,
        settings: ModelSettings,
    }

    impl Logs {
        fn new(window: Duration) -> Logs {
            let mut settings = ModelSettings::fresh_account();
            settings
                .set_range(SPEC.name, WindowRange::fixed(window))
                .unwrap();
            Logs {
                model: ConflictingOperationModel::default(),
                settings,
            }
        }

        async fn before(&self, op: &str, req: Value) -> Option<(u16, Value, String)> {
            let info = logs(op);
            let watched = self.model.operations().contains(&info.operation.unwrap());
            if !watched || !self.model.wants(&info, &self.settings) {
                return None;
            }
            let body = req.to_string();
            let up = upstream();
            let cx = ModelCx {
                info: &info,
                body: body.as_bytes(),
                upstreams: &up,
                settings: self.settings,
            };
            let a = self.model.before(&cx).await?;
            let status = a.response.status().as_u16();
            let fault = a.fault.expect("journaled");
            let body = a.response.into_body().collect().await.unwrap().to_bytes();
            Some((
                status,
                serde_json::from_slice(&body).unwrap(),
                format!("{} {}", fault.rule, fault.kind),
            ))
        }

        async fn created(&self, group: &str, status: u16) {
            let info = logs("CreateLogGroup");
            let body = json!({ "logGroupName": group }).to_string();
            let up = upstream();
            let cx = ModelCx {
                info: &info,
                body: body.as_bytes(),
                upstreams: &up,
                settings: self.settings,
            };
            assert!(self.model.before(&cx).await.is_none());
            self.model.after(&cx, status).await;
        }
    }

    #[tokio::test]
    async fn changes_to_a_new_group_abort_inside_the_window_only() {
        let m = Logs::new(Duration::from_millis(300));
        let retention = json!({"logGroupName": "/ecs/app", "retentionInDays": 7});
        assert!(m
            .before("PutRetentionPolicy", retention.clone())
            .await
            .is_none());
        m.created("/ecs/app", 400).await;
        assert!(
            m.before("PutRetentionPolicy", retention.clone())
                .await
                .is_none(),
            "a failed CreateLogGroup opens no window"
        );
        m.created("/ecs/app", 200).await;
        let arn = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/app");
        for (op, req) in [
            ("PutRetentionPolicy", retention.clone()),
            (
                "TagResource",
                json!({"resourceArn": arn, "tags": {"a": "b"}}),
            ),
            (
                "TagLogGroup",
                json!({"logGroupName": "/ecs/app", "tags": {"a": "b"}}),
            ),
            ("DeleteLogGroup", json!({"logGroupName": "/ecs/app"})),
        ] {
            let (status, body, fault) = m.before(op, req).await.expect(op);
            assert_eq!(status, 400, "{op}");
            assert_eq!(body["__type"], OPERATION_ABORTED_CODE);
            assert_eq!(body["message"], OPERATION_ABORTED);
            assert_eq!(fault, "model:logs-conflicting-operation error");
        }
        assert!(
            m.before("DeleteLogGroup", json!({"logGroupName": "/ecs/other"}))
                .await
                .is_none(),
            "per log group"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(m.before("PutRetentionPolicy", retention).await.is_none());
    }

    #[test]
    fn groups_from_arns() {
        assert_eq!(
            group_of_arn("arn:aws:logs:us-east-1:1:log-group:/ecs/app"),
            Some("/ecs/app")
        );
        assert_eq!(
            group_of_arn("arn:aws:logs:us-east-1:1:log-group:/ecs/app:*"),
            Some("/ecs/app")
        );
        assert_eq!(group_of_arn("arn:aws:logs:us-east-1:1:log-group:"), None);
        assert_eq!(group_of_arn("/ecs/app"), None);
        let delete = logs("DeleteLogGroup").operation.unwrap();
        assert_eq!(group_of(delete, &json!({"x": 1})), None);
    }

    #[test]
    fn wants_only_its_operations_when_on() {
        let m = ConflictingOperationModel::default();
        let on = ModelSettings::fresh_account();
        assert!(!m.wants(&logs("DeleteLogGroup"), &ModelSettings::default()));
        assert!(m.wants(&logs("DeleteLogGroup"), &on));
        let describe = logs("DescribeLogGroups").operation.unwrap();
        assert!(!m.operations().contains(&describe));
    }
}
