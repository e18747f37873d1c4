//! Why this file exists: the execution role and the task role are both IAM roles trusted by
//! `ecs-tasks.amazonaws.com`, differing only in their policies (a managed policy attached vs an
//! inline policy). The verbs they share — read a role with its trust policy, tags and policies;
//! create; converge; delete (detach, delete inline, then DeleteRole) — live here once.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use aws_sdk_iam::types::Tag;
use futures::future::{BoxFuture, FutureExt};
use serde_json::Value;

use super::{diff_tags, missing_tags, show_list, AttrDiff, Ctx};
use super::{Known, Receipt, Resource};
use crate::error::{aws, AwsError, Error};
use crate::names::normalize_policy;
use crate::retry::CODE_NO_SUCH_ENTITY;

#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub name: String,
    pub arn: String,
    /// Normalized trust policy.
    pub trust: Option<Value>,
    pub tags: BTreeMap<String, String>,
    /// ARNs of attached managed policies, sorted.
    pub attached: Vec<String>,
    /// Inline policies by name, normalized.
    pub inline: BTreeMap<String, Option<Value>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub trust: Value,
    /// Managed policies that must be attached (others are left alone).
    pub managed: Vec<String>,
    /// Inline policies that must exist with exactly this document (others are left alone).
    pub inline: BTreeMap<String, Value>,
    pub tags: BTreeMap<String, String>,
}

/// GetRole (+ ListRoleTags when GetRole carries none) + ListAttachedRolePolicies +
/// ListRolePolicies/GetRolePolicy. `after_create` (we just created the role or put its policies)
/// absorbs IAM's read-after-write lag: GetRole and GetRolePolicy `NoSuchEntity`.
pub async fn find(ctx: Ctx<'_>, name: &str, after_create: bool) -> Result<Option<Observed>, Error> {
    let get = || async {
        ctx.clients
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(aws("GetRole"))
    };
    let got = ctx.retry.read(after_create, get).await;
    let out = match got {
        Ok(o) => o,
        // Right after our own create/put, NoSuchEntity is IAM's read-after-write lag, not
        // absence: once the retrier gives up (or with retries off) AWS's error is the answer.
        Err(e) if !after_create && e.aws_code() == Some(CODE_NO_SUCH_ENTITY) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(role) = out.role() else {
        return Ok(None);
    };
    let mut tags: BTreeMap<String, String> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    if tags.is_empty() {
        let t = ctx
            .clients
            .iam
            .list_role_tags()
            .role_name(name)
            .send()
            .await
            .map_err(aws("ListRoleTags"))?;
        tags = t
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
    }
    // Independent reads: concurrently, one round trip off apply's critical path.
    let (attached, inline) = futures::try_join!(
        async { attached_policies(ctx, name).await.map_err(Error::from) },
        inline_policies(ctx, name, after_create)
    )?;
    Ok(Some(Observed {
        name: role.role_name().to_owned(),
        arn: role.arn().to_owned(),
        trust: role
            .assume_role_policy_document()
            .and_then(normalize_policy),
        tags,
        attached,
        inline,
    }))
}

async fn attached_policies(ctx: Ctx<'_>, name: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = ctx
            .clients
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(aws("ListAttachedRolePolicies"))?;
        out.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
        marker = page.marker().map(str::to_owned);
        if !page.is_truncated() || marker.is_none() {
            break;
        }
    }
    out.sort();
    Ok(out)
}

async fn inline_policy_names(ctx: Ctx<'_>, name: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = ctx
            .clients
            .iam
            .list_role_policies()
            .role_name(name)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(aws("ListRolePolicies"))?;
        out.extend(page.policy_names().iter().cloned());
        marker = page.marker().map(str::to_owned);
        if !page.is_truncated() || marker.is_none() {
            break;
        }
    }
    Ok(out)
}

async fn inline_policies(
    ctx: Ctx<'_>,
    name: &str,
    after_write: bool,
) -> Result<BTreeMap<String, Option<Value>>, Error> {
    let mut out = BTreeMap::new();
    for p in inline_policy_names(ctx, name).await? {
        let get = || async {
            ctx.clients
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&p)
                .send()
                .await
                .map_err(aws("GetRolePolicy"))
        };
        let doc = ctx.retry.read(after_write, get).await?;
        out.insert(p, normalize_policy(doc.policy_document()));
    }
    Ok(out)
}

pub fn diff(o: &Observed, d: &Desired) -> Vec<AttrDiff> {
    let mut out = Vec::new();
    let want_trust = normalize_policy(&d.trust.to_string());
    if o.trust != want_trust {
        out.push(AttrDiff::new(
            "assume_role_policy",
            o.trust.as_ref().map(|v| v.to_string()),
            Some(d.trust.to_string()),
        ));
    }
    let missing: Vec<String> = d
        .managed
        .iter()
        .filter(|m| !o.attached.contains(m))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let mut after = o.attached.clone();
        after.extend(missing);
        after.sort();
        out.push(AttrDiff::new(
            "managed_policy_arns",
            Some(show_list(&o.attached)),
            Some(show_list(&after)),
        ));
    }
    for (name, doc) in &d.inline {
        let want = normalize_policy(&doc.to_string());
        let have = o.inline.get(name).cloned().flatten();
        if have != want {
            out.push(AttrDiff::new(
                &format!("inline_policy.{name}"),
                have.map(|v| v.to_string()),
                Some(doc.to_string()),
            ));
        }
    }
    diff_tags(&mut out, &o.tags, &d.tags);
    out
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, Error> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::Internal(format!("IAM tag: {e}")))
        })
        .collect()
}

pub async fn create(ctx: Ctx<'_>, d: &Desired) -> Result<Observed, Error> {
    let tags = iam_tags(&d.tags)?;
    let trust = d.trust.to_string();
    ctx.retry
        .call(|| async {
            ctx.clients
                .iam
                .create_role()
                .role_name(&d.name)
                .assume_role_policy_document(&trust)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(aws("CreateRole"))
        })
        .await?;
    converge_policies(ctx, &d.name, &[], &BTreeMap::new(), d, true).await?;
    find(ctx, &d.name, true)
        .await?
        .ok_or_else(|| Error::Internal(format!("role {} not readable after create", d.name)))
}

/// Attaches the missing managed policies and puts the inline ones that differ; returns whether
/// it wrote anything.
async fn converge_policies(
    ctx: Ctx<'_>,
    name: &str,
    attached: &[String],
    inline: &BTreeMap<String, Option<Value>>,
    d: &Desired,
    after_create: bool,
) -> Result<bool, Error> {
    let mut wrote = false;
    for arn in d.managed.iter().filter(|m| !attached.contains(m)) {
        let attach = || async {
            ctx.clients
                .iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(aws("AttachRolePolicy"))
        };
        if after_create {
            ctx.retry.call_after_create(attach).await?
        } else {
            ctx.retry.call(attach).await?
        };
        wrote = true;
    }
    for (pname, doc) in &d.inline {
        if inline.get(pname).cloned().flatten() == normalize_policy(&doc.to_string()) {
            continue;
        }
        let text = doc.to_string();
        let put = || async {
            ctx.clients
                .iam
                .put_role_policy()
                .role_name(name)
                .policy_name(pname)
                .policy_document(&text)
                .send()
                .await
                .map_err(aws("PutRolePolicy"))
        };
        if after_create {
            ctx.retry.call_after_create(put).await?
        } else {
            ctx.retry.call(put).await?
        };
        wrote = true;
    }
    Ok(wrote)
}

pub async fn update(ctx: Ctx<'_>, o: &Observed, d: &Desired) -> Result<Observed, Error> {
    if o.trust != normalize_policy(&d.trust.to_string()) {
        ctx.clients
            .iam
            .update_assume_role_policy()
            .role_name(&d.name)
            .policy_document(d.trust.to_string())
            .send()
            .await
            .map_err(aws("UpdateAssumeRolePolicy"))?;
    }
    let wrote = converge_policies(ctx, &d.name, &o.attached, &o.inline, d, false).await?;
    let tags = missing_tags(&o.tags, &d.tags);
    if !tags.is_empty() {
        ctx.clients
            .iam
            .tag_role()
            .role_name(&d.name)
            .set_tags(Some(iam_tags(&tags)?))
            .send()
            .await
            .map_err(aws("TagRole"))?;
    }
    // A policy we just put may read as NoSuchEntity for a moment (IAM read-after-write).
    find(ctx, &d.name, wrote)
        .await?
        .ok_or_else(|| Error::Internal(format!("role {} vanished during update", d.name)))
}

/// Detaches managed policies, deletes inline policies, then DeleteRole. Absent = done.
pub async fn delete(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    let gone = |e: &AwsError| e.code == CODE_NO_SUCH_ENTITY;
    for arn in &o.attached {
        match ctx
            .clients
            .iam
            .detach_role_policy()
            .role_name(&o.name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(aws("DetachRolePolicy"))
        {
            Err(e) if !gone(&e) => return Err(e.into()),
            _ => {}
        }
    }
    for p in o.inline.keys() {
        match ctx
            .clients
            .iam
            .delete_role_policy()
            .role_name(&o.name)
            .policy_name(p)
            .send()
            .await
            .map_err(aws("DeleteRolePolicy"))
        {
            Err(e) if !gone(&e) => return Err(e.into()),
            _ => {}
        }
    }
    let deleted = ctx
        .retry
        .call(|| async {
            ctx.clients
                .iam
                .delete_role()
                .role_name(&o.name)
                .send()
                .await
                .map_err(aws("DeleteRole"))
        })
        .await;
    match deleted {
        Err(e) if e.aws_code() == Some(CODE_NO_SUCH_ENTITY) => Ok(()),
        r => r.map(|_| ()),
    }
}

/// What tells one role of the stack from another: its kind, name and policies.
pub trait RoleKind: Send + Sync + 'static {
    const KIND: &'static str;
    /// Its `*_role_arn` output.
    const OUTPUT: &'static str;
    fn name(ctx: Ctx<'_>) -> String;
    /// The role as the spec wants it, given what is known of the other kinds.
    fn desired(ctx: Ctx<'_>, known: &Known) -> Desired;
}

/// A role of the stack as a [`Resource`]: the verbs of this file, the kind's name and policies.
pub struct IamRole<K>(PhantomData<K>);

impl<K> IamRole<K> {
    pub const fn new() -> IamRole<K> {
        IamRole(PhantomData)
    }
}

impl<K> Default for IamRole<K> {
    fn default() -> Self {
        IamRole::new()
    }
}

impl<K: RoleKind> Resource for IamRole<K> {
    type Observed = Observed;
    type Desired = Desired;

    fn kind(&self) -> &'static str {
        K::KIND
    }
    fn desired(&self, ctx: Ctx<'_>, known: &Known) -> Desired {
        K::desired(ctx, known)
    }
    fn desired_name(&self, d: &Desired) -> String {
        d.name.clone()
    }
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        async move { find(ctx, &K::name(ctx), false).await }.boxed()
    }
    fn diff(&self, o: &Observed, d: &Desired) -> Vec<AttrDiff> {
        diff(o, d)
    }
    fn create_attributes(&self, d: &Desired) -> Vec<AttrDiff> {
        let mut attrs = vec![AttrDiff::set("assume_role_policy", d.trust.to_string())];
        if !d.managed.is_empty() {
            attrs.push(AttrDiff::set("managed_policy_arns", show_list(&d.managed)));
        }
        for (p, doc) in &d.inline {
            attrs.push(AttrDiff::set(
                &format!("inline_policy.{p}"),
                doc.to_string(),
            ));
        }
        attrs
    }
    fn create<'a>(
        &'a self,
        ctx: Ctx<'a>,
        d: &'a Desired,
    ) -> BoxFuture<'a, Result<Observed, Error>> {
        create(ctx, d).boxed()
    }
    fn update<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Observed,
        d: &'a Desired,
    ) -> BoxFuture<'a, Result<Observed, Error>> {
        update(ctx, o, d).boxed()
    }
    fn delete<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Observed,
    ) -> BoxFuture<'a, Result<Receipt, Error>> {
        delete(ctx, o).map(|r| r.map(|()| None)).boxed()
    }
    fn tags<'a>(&self, o: &'a Observed) -> Option<&'a BTreeMap<String, String>> {
        Some(&o.tags)
    }
    fn name(&self, o: &Observed) -> String {
        o.name.clone()
    }
    fn output_names(&self) -> &'static [&'static str] {
        &[K::OUTPUT]
    }
    fn outputs(&self, o: &Observed) -> Vec<(&'static str, String)> {
        vec![(K::OUTPUT, o.arn.clone())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{trust_policy, ECS_TASKS_PRINCIPAL};

    fn desired() -> Desired {
        Desired {
            name: "r".into(),
            trust: trust_policy(ECS_TASKS_PRINCIPAL),
            managed: vec!["arn:aws:iam::aws:policy/P".into()],
            inline: BTreeMap::from([(
                "inline".into(),
                serde_json::json!({"Version": "2012-10-17", "Statement": []}),
            )]),
            tags: BTreeMap::from([("provisioner:stack".into(), "p-dev".into())]),
        }
    }

    #[test]
    fn missing_policies_and_trust_drift_are_diffs_extra_policies_are_not() {
        let d = desired();
        let o = Observed {
            name: "r".into(),
            arn: "arn:aws:iam::1:role/r".into(),
            trust: normalize_policy(&trust_policy("ec2.amazonaws.com").to_string()),
            tags: d.tags.clone(),
            attached: vec!["arn:aws:iam::aws:policy/SomethingElse".into()],
            inline: BTreeMap::from([("someone-elses".into(), None)]),
        };
        let attrs: Vec<String> = diff(&o, &d).into_iter().map(|a| a.attribute).collect();
        assert_eq!(
            attrs,
            [
                "assume_role_policy",
                "managed_policy_arns",
                "inline_policy.inline"
            ]
        );

        let converged = Observed {
            trust: normalize_policy(&d.trust.to_string()),
            attached: vec![
                "arn:aws:iam::aws:policy/P".into(),
                "arn:aws:iam::aws:policy/SomethingElse".into(),
            ],
            inline: BTreeMap::from([(
                "inline".into(),
                normalize_policy(&d.inline["inline"].to_string()),
            )]),
            ..o
        };
        assert!(diff(&converged, &d).is_empty());
    }
}
