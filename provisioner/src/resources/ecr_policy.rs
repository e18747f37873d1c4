//! Why this file exists: the ECR repository's policy (pull granted to the execution role) is a
//! resource kind of its own: it is read only when the repository exists, it needs the execution
//! role's ARN (unknown before the role exists: the plan says "known after apply"), and it goes
//! when the repository goes. The API calls live with the repository (ecr_repository.rs).

use std::collections::BTreeMap;

use futures::future::{BoxFuture, FutureExt};
use serde_json::Value;

use super::ecr_repository::{
    diff_policy, find_policy, policy_document, put_policy, Repository, POLICY_KIND,
};
use super::execution_role;
use super::{AttrDiff, Ctx, Known, Receipt, Resource, KNOWN_AFTER_APPLY};
use crate::error::Error;
use crate::names::normalize_policy;

/// The policy a repository should carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub repository: String,
    /// `None` while the execution role's ARN is not known.
    pub document: Option<Value>,
}

/// The repository policy as a [`Resource`]; observed = the normalized policy document.
pub struct RepositoryPolicy;

impl Resource for RepositoryPolicy {
    type Observed = Value;
    type Desired = Desired;

    fn kind(&self) -> &'static str {
        POLICY_KIND
    }
    fn desired(&self, ctx: Ctx<'_>, known: &Known) -> Desired {
        Desired {
            repository: ctx.names.ecr_repository.clone(),
            document: known
                .get(&execution_role::RESOURCE)
                .map(|r| policy_document(&r.arn)),
        }
    }
    fn desired_name(&self, d: &Desired) -> String {
        d.repository.clone()
    }
    /// GetRepositoryPolicy of the repository found (`parent`); nothing without one.
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        parent: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Value>, Error>> {
        async move {
            match parent.get(&Repository) {
                Some(r) => find_policy(ctx, &r.name).await,
                None => Ok(None),
            }
        }
        .boxed()
    }
    fn diff(&self, o: &Value, d: &Desired) -> Vec<AttrDiff> {
        match &d.document {
            Some(doc) => diff_policy(Some(o), doc),
            None => vec![AttrDiff::new(
                "policy",
                Some(o.to_string()),
                Some(KNOWN_AFTER_APPLY.into()),
            )],
        }
    }
    fn create_attributes(&self, d: &Desired) -> Vec<AttrDiff> {
        let doc = d.document.as_ref().map(Value::to_string);
        vec![AttrDiff::set(
            "policy",
            doc.unwrap_or_else(|| KNOWN_AFTER_APPLY.into()),
        )]
    }
    fn create<'a>(&'a self, ctx: Ctx<'a>, d: &'a Desired) -> BoxFuture<'a, Result<Value, Error>> {
        put(ctx, d).boxed()
    }
    fn update<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _o: &'a Value,
        d: &'a Desired,
    ) -> BoxFuture<'a, Result<Value, Error>> {
        put(ctx, d).boxed()
    }
    /// DeleteRepository deletes its policy: nothing to do of its own.
    fn delete<'a>(&'a self, _ctx: Ctx<'a>, _o: &'a Value) -> BoxFuture<'a, Result<Receipt, Error>> {
        futures::future::ready(Ok(None)).boxed()
    }
    fn tags<'a>(&self, _o: &'a Value) -> Option<&'a BTreeMap<String, String>> {
        None
    }
    fn name(&self, _o: &Value) -> String {
        POLICY_KIND.to_owned()
    }
}

/// SetRepositoryPolicy (through the retry catalogue); returns the policy as it now reads.
async fn put(ctx: Ctx<'_>, d: &Desired) -> Result<Value, Error> {
    let doc = d.document.as_ref().ok_or_else(|| {
        Error::Internal("repository policy: execution role ARN unknown at apply time".into())
    })?;
    put_policy(ctx, &d.repository, doc).await?;
    Ok(normalize_policy(&doc.to_string()).unwrap_or_else(|| doc.clone()))
}
