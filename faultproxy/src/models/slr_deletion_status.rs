//! Deleting the ECS service-linked role is an asynchronous task (`slr-deletion-status`).
//!
//! IAM's DeleteServiceLinkedRole only submits a deletion task and returns its id; the task first
//! checks that no resource still uses the role, and GetServiceLinkedRoleDeletionStatus reports
//! `NOT_STARTED`, then `IN_PROGRESS`, then `SUCCEEDED` or `FAILED` (with `Reason.RoleUsageList`:
//! the live clusters per region). Emulators get it wrong (moto deletes at once and always says
//! SUCCEEDED, even while clusters live). This model answers both operations itself for
//! `AWSServiceRoleForECS` whenever the service-linked-role lifecycle (service_linked_role.rs)
//! is on:
//! - DeleteServiceLinkedRole answers a task id (`NoSuchEntity` when the role does not exist);
//! - with this model on (`fresh-account`), the task runs over a window drawn per deletion from
//!   [`SPEC`]'s range: `NOT_STARTED` for its first quarter, `IN_PROGRESS` for the rest;
//! - once the window is over (at once when the model is off) the first status query runs the
//!   task: FAILED with the usage list while any cluster lives, else the role is deleted upstream
//!   and the task SUCCEEDED. The outcome is final, as in AWS.
//!
//! One difference from the single-model days: a role deleted inside its `slr-delay` window keeps
//! that window running (the delay belongs to the service-linked-role model, this model cannot
//! end it); a CreateCluster right after such a deletion still sees the delay's error.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;

use super::service_linked_role::{
    answered, truncate, upstream_failure, NO_SUCH_ROLE, POLICY_ARN, ROLE_NAME, SERVICE_PRINCIPAL,
};
use super::window::{ResourceKey, WindowRange};
use super::{model_fault, op, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ModelSpec};
use crate::aws::{Operation, Service};
use crate::classify::{form_param, RequestInfo};
use crate::journal::FaultKind;
use crate::routes::Upstreams;
use crate::upstream::Upstream;
use crate::upstream_error::UpstreamError;
use crate::wire::{self, xml_escape, AwsError};

/// The answers of the lifecycle itself (task ids, final statuses) keep the lifecycle's name.
const LIFECYCLE: &str = "model:service-linked-role";

/// The FAILED task's `Reason.Reason` while clusters use the role.
const IN_USE_REASON: &str =
    "Unable to delete the service-linked role AWSServiceRoleForECS: it is in use by Amazon ECS clusters in this account. Delete the clusters listed in RoleUsageList, then try again.";

/// `DeletionTaskStatusType` values:
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLinkedRoleDeletionStatus.html
pub const NOT_STARTED: &str = "NOT_STARTED";
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const FAILED: &str = "FAILED";

/// The deletion task takes a few seconds: 2–15 s. terraform-provider-aws
/// `internal/service/iam/service_linked_role.go` (`waitDeleteServiceLinkedRole`: pending
/// NOT_STARTED/IN_PROGRESS, target SUCCEEDED, delay 10 s, timeout 5 min) and the IAM API
/// reference of GetServiceLinkedRoleDeletionStatus.
pub const SPEC: ModelSpec = ModelSpec {
    name: "slr-deletion-status",
    rule: "model:slr-deletion-status",
    window: WindowRange::secs(2, 15),
    source: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLinkedRoleDeletionStatus.html",
};

/// A task's outcome once it ran.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Succeeded,
    /// Live clusters per region.
    Failed(Vec<(String, Vec<String>)>),
}

/// Where a task stands when asked.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    NotStarted,
    InProgress,
    /// The window is over: the task runs now (on this query).
    Due,
    Done(Outcome),
}

#[derive(Debug, Clone)]
struct Task {
    /// Submission and window length; `None` = no window (the model is off): due at once.
    window: Option<(Instant, Duration)>,
    outcome: Option<Outcome>,
}

impl Task {
    fn stage(&self, now: Instant) -> Stage {
        if let Some(o) = &self.outcome {
            return Stage::Done(o.clone());
        }
        match self.window {
            Some((at, length)) => {
                let elapsed = now.saturating_duration_since(at);
                if elapsed >= length {
                    Stage::Due
                } else if elapsed < length / 4 {
                    Stage::NotStarted
                } else {
                    Stage::InProgress
                }
            }
            None => Stage::Due,
        }
    }
}

#[derive(Default)]
struct AccountState {
    /// Regions in which CreateCluster succeeded, searched for clusters when a task runs.
    ecs_regions: BTreeSet<String>,
    tasks: HashMap<String, Task>,
    /// Deletions submitted in this account (feeds the draw).
    deletions: u64,
}

#[derive(Default)]
pub(crate) struct SlrDeletionModel {
    accounts: Mutex<HashMap<String, AccountState>>,
}

/// The `GetServiceLinkedRoleDeletionStatus` result for a stage (`Due` is never rendered).
fn status_xml(stage: &Stage) -> String {
    let status = |s: &str| format!("<Status>{s}</Status>");
    match stage {
        Stage::NotStarted | Stage::Due => status(NOT_STARTED),
        Stage::InProgress => status(IN_PROGRESS),
        Stage::Done(Outcome::Succeeded) => status(SUCCEEDED),
        Stage::Done(Outcome::Failed(usage)) => {
            let mut s = format!(
                "{}<Reason><Reason>{}</Reason><RoleUsageList>",
                status(FAILED),
                xml_escape(IN_USE_REASON)
            );
            for (region, arns) in usage {
                s.push_str(&format!(
                    "<member><Region>{}</Region><Resources>",
                    xml_escape(region)
                ));
                for arn in arns {
                    s.push_str(&format!("<member>{}</member>", xml_escape(arn)));
                }
                s.push_str("</Resources></member>");
            }
            s.push_str("</RoleUsageList></Reason>");
            s
        }
    }
}

impl SlrDeletionModel {
    fn with_account<R>(&self, account: &str, f: impl FnOnce(&mut AccountState) -> R) -> R {
        let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(account.to_string()).or_default())
    }

    async fn delete(
        &self,
        info: &RequestInfo,
        up: &Upstream,
        settings: &ModelSettings,
    ) -> ModelAnswer {
        let account = info.account.as_deref();
        match up
            .iam(account, &[("Action", "GetRole"), ("RoleName", ROLE_NAME)])
            .await
        {
            Ok((200, _)) => {}
            Ok((404, _)) => {
                return ModelAnswer::aws_error(
                    info,
                    LIFECYCLE,
                    AwsError::new(404, "NoSuchEntity", NO_SUCH_ROLE),
                )
            }
            Ok((s, body)) => return upstream_failure(info, answered("GetRole".into(), s, &body)),
            Err(e) => return upstream_failure(info, e),
        }
        let task_id = format!(
            "task/aws-service-role/{SERVICE_PRINCIPAL}/{ROLE_NAME}/{}",
            wire::new_request_id()
        );
        let acct = account.unwrap_or("");
        let on = settings.on(ModelId::SLR_DELETION_STATUS);
        self.with_account(acct, |a| {
            let window = on.then(|| {
                let key = ResourceKey::new(acct, "", ROLE_NAME);
                let length = settings.draw(ModelId::SLR_DELETION_STATUS, &SPEC, &key, a.deletions);
                (Instant::now(), length)
            });
            a.deletions += 1;
            a.tasks.insert(
                task_id.clone(),
                Task {
                    window,
                    outcome: None,
                },
            );
        });
        ModelAnswer::answered(
            wire::query_success_response(
                "DeleteServiceLinkedRole",
                &format!("<DeletionTaskId>{}</DeletionTaskId>", xml_escape(&task_id)),
            ),
            LIFECYCLE,
        )
    }

    /// The task's status now; runs it on the first query after its window. `None` for a task
    /// this model did not submit (forwarded).
    async fn status(
        &self,
        info: &RequestInfo,
        ups: &Upstreams,
        task_id: &str,
    ) -> Option<ModelAnswer> {
        let account = info.account.as_deref();
        let acct = account.unwrap_or("");
        let (stage, regions) = {
            let map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            let a = map.get(acct)?;
            (
                a.tasks.get(task_id)?.stage(Instant::now()),
                a.ecs_regions.clone(),
            )
        };
        let answer = |stage: &Stage, by| {
            ModelAnswer::answered(
                wire::query_success_response(
                    "GetServiceLinkedRoleDeletionStatus",
                    &status_xml(stage),
                ),
                by,
            )
        };
        let outcome = match stage {
            Stage::NotStarted | Stage::InProgress => {
                let mut a = answer(&stage, SPEC.rule);
                a.fault = Some(model_fault(&SPEC, FaultKind::ReadLag, None));
                return Some(a);
            }
            Stage::Done(o) => o,
            Stage::Due => match run(account, regions, ups).await {
                Ok(o) => {
                    self.with_account(acct, |a| {
                        if let Some(t) = a.tasks.get_mut(task_id) {
                            // Two queries may race here; the first outcome stays.
                            t.outcome.get_or_insert_with(|| o.clone());
                        }
                    });
                    o
                }
                Err(e) => return Some(upstream_failure(info, e)),
            },
        };
        Some(answer(&Stage::Done(outcome), LIFECYCLE))
    }
}

/// Runs a deletion task: FAILED with the usage list while clusters live (read from the ECS
/// upstream), else deletes the role (in the IAM upstream).
async fn run(
    account: Option<&str>,
    regions: BTreeSet<String>,
    ups: &Upstreams,
) -> Result<Outcome, UpstreamError> {
    let mut usage = Vec::new();
    for region in regions {
        let live = live_clusters(account, &region, ups.for_service(Service::ECS, account)).await?;
        if !live.is_empty() {
            usage.push((region, live));
        }
    }
    if !usage.is_empty() {
        return Ok(Outcome::Failed(usage));
    }
    let up = ups.for_service(Service::IAM, account);
    let (status, body) = up
        .iam(
            account,
            &[
                ("Action", "DetachRolePolicy"),
                ("RoleName", ROLE_NAME),
                ("PolicyArn", POLICY_ARN),
            ],
        )
        .await?;
    if status != 200 && status != 404 {
        tracing::warn!(
            status,
            body = truncate(&body),
            "detaching {POLICY_ARN} from {ROLE_NAME} failed"
        );
    }
    let (status, body) = up
        .iam(
            account,
            &[("Action", "DeleteRole"), ("RoleName", ROLE_NAME)],
        )
        .await?;
    if status != 200 && status != 404 {
        return Err(answered(format!("DeleteRole {ROLE_NAME}"), status, &body));
    }
    Ok(Outcome::Succeeded)
}

/// ARNs of the clusters of `account` in `region` that are not INACTIVE (moto keeps deleted
/// clusters listed as INACTIVE; AWS does not list them).
async fn live_clusters(
    account: Option<&str>,
    region: &str,
    up: &Upstream,
) -> Result<Vec<String>, UpstreamError> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = serde_json::json!({});
        if let Some(t) = &token {
            req["nextToken"] = t.clone().into();
        }
        let (status, body) = up.ecs(account, region, "ListClusters", req).await?;
        if status != 200 {
            return Err(answered(format!("ListClusters in {region}"), status, &body));
        }
        let v: serde_json::Value = serde_json::from_str(&body)?;
        if let Some(list) = v["clusterArns"].as_array() {
            arns.extend(list.iter().filter_map(|a| a.as_str().map(str::to_string)));
        }
        match v["nextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let mut live = Vec::new();
    for chunk in arns.chunks(100) {
        let (status, body) = up
            .ecs(
                account,
                region,
                "DescribeClusters",
                serde_json::json!({ "clusters": chunk }),
            )
            .await?;
        if status != 200 {
            return Err(answered(
                format!("DescribeClusters in {region}"),
                status,
                &body,
            ));
        }
        let v: serde_json::Value = serde_json::from_str(&body)?;
        for c in v["clusters"].as_array().into_iter().flatten() {
            if c["status"].as_str() != Some("INACTIVE") {
                if let Some(arn) = c["clusterArn"].as_str() {
                    live.push(arn.to_string());
                }
            }
        }
    }
    Ok(live)
}

impl Model for SlrDeletionModel {
    fn operations(&self) -> Vec<Operation> {
        vec![
            op!(ECS, "CreateCluster"),
            op!(IAM, "DeleteServiceLinkedRole"),
            op!(IAM, "GetServiceLinkedRoleDeletionStatus"),
        ]
    }

    fn wants(&self, _info: &RequestInfo, settings: &ModelSettings) -> bool {
        settings.service_linked_role
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            match cx.info.operation? {
                op if op == op!(IAM, "DeleteServiceLinkedRole") => {
                    if form_param(cx.body, "RoleName").as_deref() != Some(ROLE_NAME) {
                        return None;
                    }
                    Some(
                        self.delete(cx.info, cx.upstream_for(Service::IAM), &cx.settings)
                            .await,
                    )
                }
                op if op == op!(IAM, "GetServiceLinkedRoleDeletionStatus") => {
                    let task = form_param(cx.body, "DeletionTaskId")?;
                    self.status(cx.info, cx.upstreams, &task).await
                }
                _ => None,
            }
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            if !(200..300).contains(&status) || cx.info.operation != Some(op!(ECS, "CreateCluster"))
            {
                return;
            }
            let region = cx.info.region.clone().unwrap_or_else(|| "us-east-1".into());
            self.with_account(cx.info.account.as_deref().unwrap_or(""), |a| {
                a.ecs_regions.insert(region);
            });
        }
        .boxed()
    }

    fn reset(&self) {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::{upstream, ACCOUNT};
    use http_body_util::BodyExt;

    fn task(window: Option<Duration>, at: Instant) -> Task {
        Task {
            window: window.map(|w| (at, w)),
            outcome: None,
        }
    }

    #[test]
    fn a_task_goes_not_started_in_progress_then_due() {
        let t0 = Instant::now();
        let t = task(Some(Duration::from_secs(8)), t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(t.stage(t0), Stage::NotStarted);
        assert_eq!(t.stage(at(1)), Stage::NotStarted);
        assert_eq!(t.stage(at(2)), Stage::InProgress);
        assert_eq!(t.stage(at(7)), Stage::InProgress);
        assert_eq!(t.stage(at(8)), Stage::Due);
        assert_eq!(task(None, t0).stage(t0), Stage::Due, "model off: at once");
        let done = Task {
            outcome: Some(Outcome::Succeeded),
            ..t
        };
        assert_eq!(done.stage(t0), Stage::Done(Outcome::Succeeded));
    }

    #[test]
    fn status_documents() {
        assert_eq!(
            status_xml(&Stage::NotStarted),
            "<Status>NOT_STARTED</Status>"
        );
        assert_eq!(
            status_xml(&Stage::InProgress),
            "<Status>IN_PROGRESS</Status>"
        );
        assert_eq!(
            status_xml(&Stage::Done(Outcome::Succeeded)),
            "<Status>SUCCEEDED</Status>"
        );
        let failed = status_xml(&Stage::Done(Outcome::Failed(vec![(
            "eu-west-1".into(),
            vec!["arn:aws:ecs:eu-west-1:1:cluster/a".into()],
        )])));
        assert!(failed.starts_with("<Status>FAILED</Status><Reason><Reason>Unable to delete"));
        assert!(failed.ends_with(
            "<RoleUsageList><member><Region>eu-west-1</Region><Resources><member>arn:aws:ecs:eu-west-1:1:cluster/a</member></Resources></member></RoleUsageList></Reason>"
        ));
    }

    #[tokio::test]
    async fn pending_statuses_are_answered_and_journaled_without_the_upstream() {
        let m = SlrDeletionModel::default();
        let info = RequestInfo {
            account: Some(ACCOUNT.into()),
            region: Some("us-east-1".into()),
            ..RequestInfo::call("iam", "GetServiceLinkedRoleDeletionStatus")
        };
        let up = upstream();
        let t0 = Instant::now();
        m.with_account(ACCOUNT, |a| {
            a.tasks
                .insert("new".into(), task(Some(Duration::from_secs(60)), t0));
            let half_way = t0
                .checked_sub(Duration::from_secs(30))
                .expect("uptime > 30 s");
            a.tasks
                .insert("old".into(), task(Some(Duration::from_secs(60)), half_way));
        });
        for (id, status) in [("new", NOT_STARTED), ("old", IN_PROGRESS)] {
            let a = m.status(&info, &up, id).await.expect("answered");
            assert_eq!(a.handled_by, "model:slr-deletion-status");
            let fault = a.fault.clone().expect("journaled");
            assert_eq!(
                (fault.rule.as_str(), fault.kind.as_str()),
                (SPEC.rule, "read-lag")
            );
            let body = a.response.into_body().collect().await.unwrap().to_bytes();
            let body = String::from_utf8_lossy(&body);
            assert!(
                body.contains(&format!("<Status>{status}</Status>")),
                "{body}"
            );
        }
        assert!(m.status(&info, &up, "unknown").await.is_none(), "forwarded");
    }

    #[test]
    fn wants_the_deletion_operations_while_the_lifecycle_is_on() {
        let m = SlrDeletionModel::default();
        let info = |service: &str, op: &str| RequestInfo {
            ..RequestInfo::call(service, op)
        };
        let on = ModelSettings::default();
        let wants = |service: &str, op: &str| {
            let info = info(service, op);
            m.operations().contains(&info.operation.unwrap()) && m.wants(&info, &on)
        };
        assert!(wants("iam", "DeleteServiceLinkedRole"));
        assert!(wants("iam", "GetServiceLinkedRoleDeletionStatus"));
        assert!(wants("ecs", "CreateCluster"));
        assert!(!wants("iam", "GetRole"));
        let mut off = ModelSettings::default();
        off.service_linked_role = false;
        assert!(!m.wants(&info("iam", "DeleteServiceLinkedRole"), &off));
    }
}
