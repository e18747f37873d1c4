//! IAM read-after-write (`iam-read-after-write`): a role or inline policy IAM just wrote is not
//! yet visible to IAM's own reads.
//!
//! IAM is eventually consistent: "changes that you make ... take time to become visible" and a
//! read right after a write can miss it. For a window after a successful CreateRole of role R,
//! `GetRole` of R answers `NoSuchEntity` (query XML, HTTP 404) "The role with name R cannot be
//! found."; for a window after a successful PutRolePolicy of policy P on R, `GetRolePolicy` of
//! (R, P) answers `NoSuchEntity` 404 "The role policy with name P cannot be found.". moto sees
//! every write at once. Windows are per role (and per role policy), drawn from [`SPEC`]'s range.
//!
//! The ECS service-linked role is left to the `slr-delay` model (service_linked_role.rs), which
//! already answers GetRole of `AWSServiceRoleForECS` during its own delay: this model never
//! answers for that role, so no read is answered twice.

use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::service_linked_role::ROLE_NAME as ECS_SLR_NAME;
use super::window::{ResourceKey, WindowRange, Windows};
use super::{op, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ModelSpec};
use crate::aws::{facts, Operation};
use crate::classify::{form_param, RequestInfo};
use crate::journal::FaultKind;
use crate::wire::AwsError;

/// IAM's error code for a missing entity, HTTP 404:
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html#API_GetRole_Errors and
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html#API_GetRolePolicy_Errors.
pub const NO_SUCH_ENTITY_CODE: &str = facts::NO_SUCH_ENTITY;
pub const NO_SUCH_ENTITY_STATUS: u16 = 404;

/// GetRole's message for a role it does not know, as IAM sends it ("The role with name R cannot
/// be found."; the AWS CLI prints it as "An error occurred (NoSuchEntity) when calling the GetRole
/// operation: The role with name R cannot be found."). terraform-provider-aws
/// `internal/service/iam/role.go` retries it after CreateRole (`tfresource.RetryWhenNotFound`
/// for `propagationTimeout`).
pub fn no_such_role(role: &str) -> String {
    facts::NO_SUCH_ROLE_MESSAGE.replace("{name}", role)
}

/// GetRolePolicy's message for an inline policy it does not know ("The role policy with name P
/// cannot be found.", as the AWS CLI prints it for GetRolePolicy). terraform-provider-aws
/// `internal/service/iam/role_policy.go` retries the read after PutRolePolicy
/// (`tfresource.RetryWhenNotFound` for `propagationTimeout`).
pub fn no_such_role_policy(policy: &str) -> String {
    format!("The role policy with name {policy} cannot be found.")
}

/// IAM reads lag writes by about a second, sometimes several ("a few seconds" in the IAM user
/// guide; principals ~10 s): 1–10 s. Terraform waits up to `PropagationTimeout` = 2 min
/// (terraform-provider-aws `internal/service/iam/wait.go`).
pub const SPEC: ModelSpec = ModelSpec {
    name: "iam-read-after-write",
    rule: "model:iam-read-after-write",
    window: WindowRange::secs(1, 10),
    source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency",
};

#[derive(Default)]
pub(crate) struct IamReadAfterWriteModel {
    /// Keys `role/R` (after CreateRole) and `role-policy/R/P` (after PutRolePolicy).
    windows: Windows,
}

/// IAM is global: the key has the account and no region.
fn key(info: &RequestInfo, name: String) -> ResourceKey {
    ResourceKey {
        account: info.account.clone().unwrap_or_default(),
        region: String::new(),
        name,
    }
}

fn role_key(role: &str) -> String {
    format!("role/{role}")
}

fn role_policy_key(role: &str, policy: &str) -> String {
    format!("role-policy/{role}/{policy}")
}

/// The window key a write opens (`CreateRole`, `PutRolePolicy`) or a read checks (`GetRole`,
/// `GetRolePolicy`), from the request's form parameters; `None` for other requests, requests
/// without the names, and the ECS service-linked role (the `slr-delay` model's).
fn window_name(op: Operation, body: &[u8]) -> Option<String> {
    let role = form_param(body, "RoleName")?;
    if role == ECS_SLR_NAME {
        return None;
    }
    if op == op!(IAM, "CreateRole") || op == op!(IAM, "GetRole") {
        Some(role_key(&role))
    } else if op == op!(IAM, "PutRolePolicy") || op == op!(IAM, "GetRolePolicy") {
        Some(role_policy_key(&role, &form_param(body, "PolicyName")?))
    } else {
        None
    }
}

const ID: ModelId = ModelId::IAM_READ_AFTER_WRITE;

impl Model for IamReadAfterWriteModel {
    fn operations(&self) -> Vec<Operation> {
        vec![
            op!(IAM, "CreateRole"),
            op!(IAM, "GetRole"),
            op!(IAM, "PutRolePolicy"),
            op!(IAM, "GetRolePolicy"),
        ]
    }

    fn wants(&self, _info: &RequestInfo, settings: &ModelSettings) -> bool {
        settings.on(ID)
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            let op = cx.info.operation?;
            let message = if op == op!(IAM, "GetRole") {
                no_such_role(&form_param(cx.body, "RoleName")?)
            } else if op == op!(IAM, "GetRolePolicy") {
                no_such_role_policy(&form_param(cx.body, "PolicyName")?)
            } else {
                return None;
            };
            let name = window_name(op, cx.body)?;
            let length = cx.settings.lengths(ID, &SPEC);
            if !self
                .windows
                .is_open(&key(cx.info, name), Instant::now(), length)
            {
                return None;
            }
            Some(ModelAnswer::injected(
                cx.info,
                SPEC.rule,
                SPEC.rule,
                FaultKind::ReadLag,
                AwsError::new(NO_SUCH_ENTITY_STATUS, NO_SUCH_ENTITY_CODE, message),
            ))
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            let Some(op) = cx.info.operation else {
                return;
            };
            if status != 200 || (op != op!(IAM, "CreateRole") && op != op!(IAM, "PutRolePolicy")) {
                return;
            }
            let Some(name) = window_name(op, cx.body) else {
                return;
            };
            self.windows.open(key(cx.info, name), Instant::now());
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
    use crate::models::test_support::{upstream, ACCOUNT};
    use http_body_util::BodyExt;
    use std::time::Duration;

    fn iam(op: &str) -> RequestInfo {
        RequestInfo {
            account: Some(ACCOUNT.into()),
            region: Some("us-east-1".into()),
            ..RequestInfo::call("iam", op)
        }
    }

    fn form(op: &str, params: &[(&str, &str)]) -> Vec<u8> {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("Action", op);
        for (k, v) in params {
            s.append_pair(k, v);
        }
        s.finish().into_bytes()
    }

    struct Iam {
        model: IamReadAfterWriteModel,
        settings: ModelSettings,
    }

    impl Iam {
        fn new(window: Duration) -> Iam {
            let mut settings = ModelSettings::fresh_account();
            settings
                .set_range(SPEC.name, WindowRange::fixed(window))
                .unwrap();
            Iam {
                model: IamReadAfterWriteModel::default(),
                settings,
            }
        }

        /// The model's answer to `op` as (status, body, fault rule and kind), if it answers.
        async fn before(&self, op: &str, params: &[(&str, &str)]) -> Option<(u16, String, String)> {
            let info = iam(op);
            let watched = self.model.operations().contains(&info.operation.unwrap());
            if !watched || !self.model.wants(&info, &self.settings) {
                return None;
            }
            let body = form(op, params);
            let up = upstream();
            let cx = ModelCx {
                info: &info,
                body: &body,
                upstreams: &up,
                settings: self.settings,
            };
            let a = self.model.before(&cx).await?;
            let status = a.response.status().as_u16();
            let fault = a.fault.expect("journaled as a fault");
            let body = a.response.into_body().collect().await.unwrap().to_bytes();
            Some((
                status,
                String::from_utf8_lossy(&body).into_owned(),
                format!("{} {}", fault.rule, fault.kind),
            ))
        }

        async fn answered(&self, op: &str, params: &[(&str, &str)], status: u16) {
            let info = iam(op);
            assert!(self.model.wants(&info, &self.settings));
            let body = form(op, params);
            let up = upstream();
            let cx = ModelCx {
                info: &info,
                body: &body,
                upstreams: &up,
                settings: self.settings,
            };
            self.model.after(&cx, status).await;
        }
    }

    #[tokio::test]
    async fn get_role_is_not_found_inside_the_window_after_create_role_only() {
        let m = Iam::new(Duration::from_millis(300));
        let app = [("RoleName", "app")];
        assert!(m.before("GetRole", &app).await.is_none(), "no write yet");
        m.answered("CreateRole", &app, 409).await;
        assert!(
            m.before("GetRole", &app).await.is_none(),
            "a failed CreateRole opens no window"
        );
        m.answered("CreateRole", &app, 200).await;
        let (status, body, fault) = m.before("GetRole", &app).await.expect("lagging read");
        assert_eq!(status, 404);
        assert!(body.contains("<Code>NoSuchEntity</Code>"), "{body}");
        assert!(
            body.contains("<Message>The role with name app cannot be found.</Message>"),
            "{body}"
        );
        assert_eq!(fault, "model:iam-read-after-write read-lag");
        assert!(
            m.before("GetRole", &[("RoleName", "other")])
                .await
                .is_none(),
            "per role"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(m.before("GetRole", &app).await.is_none(), "window over");
    }

    #[tokio::test]
    async fn get_role_policy_is_not_found_inside_the_window_after_put_role_policy() {
        let m = Iam::new(Duration::from_millis(300));
        let policy = [("RoleName", "app"), ("PolicyName", "logs")];
        m.answered("PutRolePolicy", &policy, 200).await;
        let (status, body, _) = m.before("GetRolePolicy", &policy).await.unwrap();
        assert_eq!(status, 404);
        assert!(
            body.contains("<Message>The role policy with name logs cannot be found.</Message>"),
            "{body}"
        );
        let other = [("RoleName", "app"), ("PolicyName", "ecr")];
        assert!(m.before("GetRolePolicy", &other).await.is_none());
        assert!(
            m.before("GetRole", &[("RoleName", "app")]).await.is_none(),
            "a policy write does not hide the role"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(m.before("GetRolePolicy", &policy).await.is_none());
    }

    #[tokio::test]
    async fn the_ecs_service_linked_role_is_left_to_the_slr_model() {
        let m = Iam::new(Duration::from_secs(30));
        let slr = [("RoleName", ECS_SLR_NAME)];
        m.answered("CreateRole", &slr, 200).await;
        assert!(m.before("GetRole", &slr).await.is_none());
    }

    #[test]
    fn wants_only_its_iam_operations_when_on() {
        let m = IamReadAfterWriteModel::default();
        let on = ModelSettings::fresh_account();
        assert!(!m.wants(&iam("GetRole"), &ModelSettings::default()));
        assert!(m.wants(&iam("GetRole"), &on));
        let watched = |op: &str| m.operations().contains(&iam(op).operation.unwrap());
        for op in ["CreateRole", "GetRole", "PutRolePolicy", "GetRolePolicy"] {
            assert!(watched(op), "{op}");
        }
        assert!(!watched("DeleteRole"));
        let ecs_get = RequestInfo::call("ecs", "DescribeClusters")
            .operation
            .unwrap();
        assert!(!m.operations().contains(&ecs_get));
    }

    #[test]
    fn messages_are_iams() {
        assert_eq!(no_such_role("r"), "The role with name r cannot be found.");
        assert_eq!(
            no_such_role_policy("p"),
            "The role policy with name p cannot be found."
        );
        assert_eq!(
            window_name(
                iam("GetRolePolicy").operation.unwrap(),
                &form("x", &[("RoleName", "r")])
            ),
            None
        );
    }
}
