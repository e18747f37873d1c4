//! Why this file exists: the ECR repository `{project}-{env}-app` holds the application image
//! (scan on push, tag mutability from the spec), and its repository policy grants pull to the
//! execution role. The policy is a separate step because it needs the role's ARN, and because
//! SetRepositoryPolicy with a just-created role is a known propagation failure (see retry.rs).

use std::collections::BTreeMap;

use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Tag};
use serde_json::{json, Value};

use futures::future::{BoxFuture, FutureExt};

use super::{diff_tags, diff_value, missing_tags, AttrDiff, Ctx};
use super::{Known, Receipt, Resource};
use crate::error::{aws, Error};
use crate::names::normalize_policy;
use crate::retry::CODE_REPOSITORY_NOT_FOUND;

pub const KIND: &str = "ecr_repository";
pub const POLICY_KIND: &str = "ecr_repository_policy";
pub const CODE_POLICY_NOT_FOUND: &str = "RepositoryPolicyNotFoundException";
/// Actions the execution role needs to pull.
pub const PULL_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub name: String,
    pub arn: String,
    pub uri: String,
    pub scan_on_push: bool,
    pub tag_mutability: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub name: String,
    pub scan_on_push: bool,
    pub tag_mutability: String,
    pub tags: BTreeMap<String, String>,
}

pub fn desired(ctx: Ctx<'_>) -> Desired {
    Desired {
        name: ctx.names.ecr_repository.clone(),
        scan_on_push: ctx.spec.ecr.scan_on_push,
        tag_mutability: ctx.spec.ecr.image_tag_mutability.as_str().to_owned(),
        tags: ctx.names.tags(ctx.spec, &ctx.names.ecr_repository),
    }
}

/// DescribeRepositories + ListTagsForResource. `after_create` absorbs read-after-create lag.
pub async fn find(ctx: Ctx<'_>, name: &str, after_create: bool) -> Result<Option<Observed>, Error> {
    let describe = || async {
        ctx.clients
            .ecr
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .map_err(aws("DescribeRepositories"))
    };
    let got = ctx.retry.read(after_create, describe).await;
    let out = match got {
        Ok(o) => o,
        Err(e) if e.aws_code() == Some(CODE_REPOSITORY_NOT_FOUND) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(r) = out
        .repositories()
        .iter()
        .find(|r| r.repository_name() == Some(name))
    else {
        return Ok(None);
    };
    let arn = r.repository_arn().unwrap_or_default().to_owned();
    let tags = ctx
        .clients
        .ecr
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(aws("ListTagsForResource"))?
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    Ok(Some(Observed {
        name: name.to_owned(),
        arn,
        uri: r.repository_uri().unwrap_or_default().to_owned(),
        scan_on_push: r
            .image_scanning_configuration()
            .map(|c| c.scan_on_push())
            .unwrap_or(false),
        tag_mutability: r
            .image_tag_mutability()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_else(|| "MUTABLE".into()),
        tags,
    }))
}

pub fn diff(o: &Observed, d: &Desired) -> Vec<AttrDiff> {
    let mut out = Vec::new();
    diff_value(
        &mut out,
        "scan_on_push",
        &o.scan_on_push,
        &d.scan_on_push,
        |b| b.to_string(),
    );
    diff_value(
        &mut out,
        "image_tag_mutability",
        &o.tag_mutability,
        &d.tag_mutability,
        |s| s.clone(),
    );
    diff_tags(&mut out, &o.tags, &d.tags);
    out
}

fn ecr_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, Error> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::Internal(format!("ECR tag: {e}")))
        })
        .collect()
}

pub async fn create(ctx: Ctx<'_>, d: &Desired) -> Result<Observed, Error> {
    ctx.clients
        .ecr
        .create_repository()
        .repository_name(&d.name)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(d.scan_on_push)
                .build(),
        )
        .image_tag_mutability(ImageTagMutability::from(d.tag_mutability.as_str()))
        .set_tags(Some(ecr_tags(&d.tags)?))
        .send()
        .await
        .map_err(aws("CreateRepository"))?;
    find(ctx, &d.name, true)
        .await?
        .ok_or_else(|| Error::Internal(format!("repository {} not readable after create", d.name)))
}

pub async fn update(ctx: Ctx<'_>, o: &Observed, d: &Desired) -> Result<Observed, Error> {
    if o.scan_on_push != d.scan_on_push {
        ctx.clients
            .ecr
            .put_image_scanning_configuration()
            .repository_name(&d.name)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(d.scan_on_push)
                    .build(),
            )
            .send()
            .await
            .map_err(aws("PutImageScanningConfiguration"))?;
    }
    if o.tag_mutability != d.tag_mutability {
        ctx.clients
            .ecr
            .put_image_tag_mutability()
            .repository_name(&d.name)
            .image_tag_mutability(ImageTagMutability::from(d.tag_mutability.as_str()))
            .send()
            .await
            .map_err(aws("PutImageTagMutability"))?;
    }
    let tags = missing_tags(&o.tags, &d.tags);
    if !tags.is_empty() {
        ctx.clients
            .ecr
            .tag_resource()
            .resource_arn(&o.arn)
            .set_tags(Some(ecr_tags(&tags)?))
            .send()
            .await
            .map_err(aws("TagResource"))?;
    }
    find(ctx, &d.name, false)
        .await?
        .ok_or_else(|| Error::Internal(format!("repository {} vanished during update", d.name)))
}

/// Number of images (first page is enough to decide "empty or not").
pub async fn image_count(ctx: Ctx<'_>, name: &str) -> Result<usize, Error> {
    let out = ctx
        .clients
        .ecr
        .list_images()
        .repository_name(name)
        .send()
        .await
        .map_err(aws("ListImages"))?;
    Ok(out.image_ids().len())
}

/// Deletes the repository (and with it its policy). Holding images without `force_delete`
/// is a clear error, not a silent force.
pub async fn delete(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    let force = ctx.spec.ecr.force_delete;
    if !force {
        let images = image_count(ctx, &o.name).await?;
        if images > 0 {
            return Err(Error::RepositoryNotEmpty {
                name: o.name.clone(),
                images,
            });
        }
    }
    match ctx
        .clients
        .ecr
        .delete_repository()
        .repository_name(&o.name)
        .force(force)
        .send()
        .await
        .map_err(aws("DeleteRepository"))
    {
        Err(e) if e.code == CODE_REPOSITORY_NOT_FOUND => Ok(()),
        Err(e) if e.code == "RepositoryNotEmptyException" => {
            let images = image_count(ctx, &o.name).await.unwrap_or(1);
            Err(Error::RepositoryNotEmpty {
                name: o.name.clone(),
                images,
            })
        }
        r => r.map(|_| ()).map_err(Error::from),
    }
}

/// The repository as a [`Resource`].
pub struct Repository;

impl Resource for Repository {
    type Observed = Observed;
    type Desired = Desired;

    fn kind(&self) -> &'static str {
        KIND
    }
    fn desired(&self, ctx: Ctx<'_>, _known: &Known) -> Desired {
        desired(ctx)
    }
    fn desired_name(&self, d: &Desired) -> String {
        d.name.clone()
    }
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        find(ctx, &ctx.names.ecr_repository, false).boxed()
    }
    fn diff(&self, o: &Observed, d: &Desired) -> Vec<AttrDiff> {
        diff(o, d)
    }
    fn create_attributes(&self, d: &Desired) -> Vec<AttrDiff> {
        vec![
            AttrDiff::set("scan_on_push", d.scan_on_push.to_string()),
            AttrDiff::set("image_tag_mutability", d.tag_mutability.clone()),
        ]
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
        &["ecr_repository_url", "ecr_repository_arn"]
    }
    fn outputs(&self, o: &Observed) -> Vec<(&'static str, String)> {
        vec![
            ("ecr_repository_url", o.uri.clone()),
            ("ecr_repository_arn", o.arn.clone()),
        ]
    }
}

// ---- repository policy ------------------------------------------------------------------------

/// Policy granting pull to the execution role.
pub fn policy_document(execution_role_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowPullFromExecutionRole",
            "Effect": "Allow",
            "Principal": { "AWS": execution_role_arn },
            "Action": PULL_ACTIONS,
        }]
    })
}

/// GetRepositoryPolicy, normalized; `None` when the repository has no policy.
pub async fn find_policy(ctx: Ctx<'_>, name: &str) -> Result<Option<Value>, Error> {
    match ctx
        .clients
        .ecr
        .get_repository_policy()
        .repository_name(name)
        .send()
        .await
        .map_err(aws("GetRepositoryPolicy"))
    {
        Ok(out) => Ok(out.policy_text().and_then(normalize_policy)),
        Err(e) if e.code == CODE_POLICY_NOT_FOUND || e.code == CODE_REPOSITORY_NOT_FOUND => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn diff_policy(observed: Option<&Value>, desired: &Value) -> Vec<AttrDiff> {
    let want = normalize_policy(&desired.to_string());
    if observed.cloned() == want {
        vec![]
    } else {
        vec![AttrDiff::new(
            "policy",
            observed.map(|v| v.to_string()),
            Some(desired.to_string()),
        )]
    }
}

/// SetRepositoryPolicy, absorbing the IAM-propagation errors of the catalogue.
pub async fn put_policy(ctx: Ctx<'_>, name: &str, doc: &Value) -> Result<(), Error> {
    let text = doc.to_string();
    ctx.retry
        .call(|| async {
            ctx.clients
                .ecr
                .set_repository_policy()
                .repository_name(name)
                .policy_text(&text)
                .send()
                .await
                .map_err(aws("SetRepositoryPolicy"))
        })
        .await?;
    Ok(())
}
