//! The ECS service-linked role lifecycle, as real AWS runs it (docs/src/aws-facts.md, "The ECS
//! service-linked role").
//!
//! Emulators get it wrong: moto names the role `AWSServiceRoleForecs`, attaches no policy, never
//! creates it on CreateCluster and lets it be deleted while clusters live. This model:
//! - creates `AWSServiceRoleForECS` (path, trust principal, managed policy) upstream when a
//!   CreateCluster succeeds in an account that lacks it, before the client sees the answer;
//! - answers IAM CreateServiceLinkedRole(`ecs.amazonaws.com`) itself with the same role, and the
//!   "has been taken" `InvalidInput` on a duplicate;
//! - with a visibility delay (preset `slr-delay`), for that long after the role was created makes
//!   ECS CreateCluster/CreateService fail with the exact "Unable to assume the service linked role"
//!   error and IAM GetRole answer `NoSuchEntity` (IAM read-after-write lag);
//! - refuses DeleteRole of the role (it is protected); its deletion (DeleteServiceLinkedRole, an
//!   asynchronous task) is the `slr-deletion-status` model's (slr_deletion_status.rs).
//!
//! The delay is this model's window (`slr-delay`): with the model on (`fresh-account`, or
//! `slr-delay=D`, which switches it on with the fixed range D), a length drawn per role creation
//! from its range in force, read at each check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::window::{ResourceKey, WindowRange};
use super::{op, xml_element, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ModelSpec};
use crate::aws::{facts, Operation, Service};
use crate::classify::{form_param, RequestInfo};
use crate::journal::FaultKind;
use crate::upstream::Upstream;
use crate::upstream_error::UpstreamError;
use crate::wire::{self, AwsError};

pub const ROLE_NAME: &str = "AWSServiceRoleForECS";
pub const ROLE_PATH: &str = "/aws-service-role/ecs.amazonaws.com/";
pub const SERVICE_PRINCIPAL: &str = "ecs.amazonaws.com";
pub const POLICY_ARN: &str = "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy";
const ROLE_DESCRIPTION: &str = "Role to enable Amazon ECS to manage your cluster.";
const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// ECS's error while the role is not yet visible (AWS's wire text, verbatim).
pub const UNABLE_TO_ASSUME: &str = facts::SLR_NOT_ASSUMABLE_MESSAGE;
/// IAM's error on a second CreateServiceLinkedRole (verbatim).
pub const NAME_TAKEN: &str =
    "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.";
/// IAM's GetRole error for a missing role (verbatim).
pub const NO_SUCH_ROLE: &str = "The role with name AWSServiceRoleForECS cannot be found.";
const PROTECTED_ROLE: &str =
    "Cannot perform the operation on the protected role 'AWSServiceRoleForECS' - this role is only modifiable by AWS";

const HANDLED_BY: &str = "model:service-linked-role";
const DELAY_RULE: &str = SPEC.rule;

/// The role's visibility delay. AWS: "It can take a few seconds for the role to be available"
/// (typically ~2 s, 10-30 s common): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html;
/// terraform-provider-aws `internal/service/ecs/cluster.go` retries CreateCluster on "Unable to
/// assume the service linked role".
pub const SPEC: ModelSpec = ModelSpec {
    name: "slr-delay",
    rule: "model:slr-delay",
    window: WindowRange::secs(2, 20),
    source: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html",
};

#[derive(Default)]
struct AccountState {
    /// When the proxy created the role (either way); starts the visibility delay.
    created_at: Option<Instant>,
    /// How many times the proxy created the role in this account (feeds the draw).
    creations: u64,
}

#[derive(Default)]
pub(crate) struct ServiceLinkedRoleModel {
    accounts: Mutex<HashMap<String, AccountState>>,
    /// Serialises role creation per account (two concurrent CreateClusters create it once).
    creation_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

enum Ensured {
    Created(String),
    Existing,
}

impl ServiceLinkedRoleModel {
    fn with_account<R>(&self, account: &str, f: impl FnOnce(&mut AccountState) -> R) -> R {
        let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(account.to_string()).or_default())
    }

    fn in_delay(&self, info: &RequestInfo, settings: &ModelSettings) -> bool {
        if !settings.on(ModelId::SLR_DELAY) {
            return false;
        }
        let account = info.account.as_deref().unwrap_or("");
        let map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let Some(a) = map.get(account) else {
            return false;
        };
        let Some(created) = a.created_at else {
            return false;
        };
        // Drawn from the range in force now: changing it applies to a role created before.
        let key = ResourceKey::new(account, "", ROLE_NAME);
        let window = settings.draw(ModelId::SLR_DELAY, &SPEC, &key, a.creations - 1);
        created.elapsed() < window
    }

    fn creation_lock(&self, account: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .creation_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        locks.entry(account.to_string()).or_default().clone()
    }

    /// Makes sure the role exists upstream; creates it as AWS would when missing.
    async fn ensure_role(
        &self,
        info: &RequestInfo,
        up: &Upstream,
    ) -> Result<Ensured, UpstreamError> {
        let account = info.account.as_deref();
        let lock = self.creation_lock(account.unwrap_or(""));
        let _guard = lock.lock().await;
        let (status, _) = up
            .iam(account, &[("Action", "GetRole"), ("RoleName", ROLE_NAME)])
            .await?;
        if status == 200 {
            return Ok(Ensured::Existing);
        }
        let (status, body) = up
            .iam(
                account,
                &[
                    ("Action", "CreateRole"),
                    ("RoleName", ROLE_NAME),
                    ("Path", ROLE_PATH),
                    ("AssumeRolePolicyDocument", TRUST_POLICY),
                    ("Description", ROLE_DESCRIPTION),
                ],
            )
            .await?;
        match status {
            200 => {}
            409 => return Ok(Ensured::Existing),
            s => return Err(answered(format!("CreateRole {ROLE_NAME}"), s, &body)),
        }
        let role_xml = xml_element(&body, "Role").unwrap_or_default().to_string();
        let (status, body) = up
            .iam(
                account,
                &[
                    ("Action", "AttachRolePolicy"),
                    ("RoleName", ROLE_NAME),
                    ("PolicyArn", POLICY_ARN),
                ],
            )
            .await?;
        if status != 200 {
            tracing::warn!(
                status,
                body = truncate(&body),
                "could not attach {POLICY_ARN} to {ROLE_NAME} (start moto with MOTO_IAM_LOAD_MANAGED_POLICIES=true)"
            );
        }
        // The delay runs from the moment the creation is complete (the client's answer is next).
        self.with_account(account.unwrap_or(""), |a| {
            a.created_at = Some(Instant::now());
            a.creations += 1;
        });
        Ok(Ensured::Created(role_xml))
    }

    async fn create_service_linked_role(&self, info: &RequestInfo, up: &Upstream) -> ModelAnswer {
        match self.ensure_role(info, up).await {
            Ok(Ensured::Created(role_xml)) => ModelAnswer::answered(
                wire::query_success_response(
                    "CreateServiceLinkedRole",
                    &format!("<Role>{role_xml}</Role>"),
                ),
                HANDLED_BY,
            ),
            Ok(Ensured::Existing) => ModelAnswer::aws_error(
                info,
                HANDLED_BY,
                AwsError::new(400, "InvalidInput", NAME_TAKEN),
            ),
            Err(e) => upstream_failure(info, e),
        }
    }
}

/// A 500 `ServiceFailure` for an upstream call the model needed that failed (logged).
pub(crate) fn upstream_failure(info: &RequestInfo, e: UpstreamError) -> ModelAnswer {
    tracing::warn!(error = %e, "service-linked-role model: upstream call failed");
    ModelAnswer::aws_error(
        info,
        HANDLED_BY,
        AwsError::new(
            500,
            "ServiceFailure",
            format!("harness proxy: upstream call failed: {e}"),
        ),
    )
}

/// The emulator's unexpected answer to `what`, as an error (its body truncated).
pub(crate) fn answered(what: String, status: u16, body: &str) -> UpstreamError {
    UpstreamError::Answered {
        what,
        status,
        body: truncate(body).to_string(),
    }
}

/// At most the first 300 bytes of `s` (for logs and error texts).
pub(crate) fn truncate(s: &str) -> &str {
    let mut end = s.len().min(300);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What the model does with a request of each operation it watches.
enum Act {
    EcsCreate,
    GetRole,
    DeleteRole,
    CreateServiceLinkedRole,
}

fn act(op: Operation) -> Option<Act> {
    if op == op!(ECS, "CreateCluster") || op == op!(ECS, "CreateService") {
        Some(Act::EcsCreate)
    } else if op == op!(IAM, "GetRole") {
        Some(Act::GetRole)
    } else if op == op!(IAM, "DeleteRole") {
        Some(Act::DeleteRole)
    } else if op == op!(IAM, "CreateServiceLinkedRole") {
        Some(Act::CreateServiceLinkedRole)
    } else {
        None
    }
}

impl Model for ServiceLinkedRoleModel {
    fn operations(&self) -> Vec<Operation> {
        vec![
            op!(ECS, "CreateCluster"),
            op!(ECS, "CreateService"),
            op!(IAM, "GetRole"),
            op!(IAM, "DeleteRole"),
            op!(IAM, "CreateServiceLinkedRole"),
        ]
    }

    fn wants(&self, _info: &RequestInfo, settings: &ModelSettings) -> bool {
        settings.service_linked_role
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            let info = cx.info;
            match act(info.operation?)? {
                Act::EcsCreate => self.in_delay(info, &cx.settings).then(|| {
                    ModelAnswer::injected(
                        info,
                        HANDLED_BY,
                        DELAY_RULE,
                        FaultKind::Error,
                        AwsError::new(400, "InvalidParameterException", UNABLE_TO_ASSUME),
                    )
                }),
                Act::GetRole => (form_param(cx.body, "RoleName").as_deref() == Some(ROLE_NAME)
                    && self.in_delay(info, &cx.settings))
                .then(|| {
                    ModelAnswer::injected(
                        info,
                        HANDLED_BY,
                        DELAY_RULE,
                        FaultKind::ReadLag,
                        AwsError::new(404, "NoSuchEntity", NO_SUCH_ROLE),
                    )
                }),
                Act::DeleteRole => (form_param(cx.body, "RoleName").as_deref() == Some(ROLE_NAME))
                    .then(|| {
                        ModelAnswer::aws_error(
                            info,
                            HANDLED_BY,
                            AwsError::new(400, "UnmodifiableEntity", PROTECTED_ROLE),
                        )
                    }),
                Act::CreateServiceLinkedRole => {
                    if form_param(cx.body, "AWSServiceName").as_deref() != Some(SERVICE_PRINCIPAL) {
                        return None;
                    }
                    Some(
                        self.create_service_linked_role(info, cx.upstream_for(Service::IAM))
                            .await,
                    )
                }
            }
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            if !(200..300).contains(&status) || cx.info.operation != Some(op!(ECS, "CreateCluster")) {
                return;
            }
            if let Err(e) = self.ensure_role(cx.info, cx.upstream_for(Service::IAM)).await {
                tracing::warn!(error = %format!("{e:#}"), "CreateCluster succeeded but creating {ROLE_NAME} failed");
            }
        }
        .boxed()
    }

    fn reset(&self) {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.creation_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
