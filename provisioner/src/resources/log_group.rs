//! Why this file exists: the CloudWatch Logs group `/ecs/{project}-{env}` receives the
//! container's awslogs output, with the spec's retention (one of CloudWatch's accepted values).
//! Every write goes through the retry catalogue: right after CreateLogGroup, CloudWatch Logs may
//! answer the group's other writes `OperationAbortedException` ("A conflicting operation is
//! currently in progress against this resource. Please try again.") for a moment.

use std::collections::{BTreeMap, HashMap};

use futures::future::{BoxFuture, FutureExt};

use super::{diff_tags, diff_value, missing_tags, AttrDiff, Ctx};
use super::{Known, Receipt, Resource};
use crate::error::{aws, Error};

pub const KIND: &str = "cloudwatch_log_group";
pub const CODE_NOT_FOUND: &str = "ResourceNotFoundException";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub name: String,
    /// Without the trailing `:*` (as Terraform outputs it).
    pub arn: String,
    pub retention_in_days: Option<i32>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub name: String,
    pub retention_in_days: i32,
    pub tags: BTreeMap<String, String>,
}

pub fn desired(ctx: Ctx<'_>) -> Desired {
    Desired {
        name: ctx.names.log_group.clone(),
        retention_in_days: ctx.spec.logs.retention_in_days as i32,
        tags: ctx.names.tags(ctx.spec, &ctx.names.log_group),
    }
}

/// DescribeLogGroups by prefix (exact name match, paginated) + ListTagsForResource.
pub async fn find(ctx: Ctx<'_>, name: &str) -> Result<Option<Observed>, Error> {
    let mut token: Option<String> = None;
    let group = loop {
        let page = ctx
            .clients
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(aws("DescribeLogGroups"))?;
        if let Some(g) = page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
        {
            break g.clone();
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(None);
        }
    };
    let arn = group
        .log_group_arn()
        .map(str::to_owned)
        .or_else(|| group.arn().map(|a| a.trim_end_matches(":*").to_owned()))
        .unwrap_or_default();
    let tags = ctx
        .clients
        .logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(aws("ListTagsForResource"))?
        .tags()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(Some(Observed {
        name: name.to_owned(),
        arn,
        retention_in_days: group.retention_in_days(),
        tags,
    }))
}

pub fn diff(o: &Observed, d: &Desired) -> Vec<AttrDiff> {
    let mut out = Vec::new();
    diff_value(
        &mut out,
        "retention_in_days",
        &o.retention_in_days,
        &Some(d.retention_in_days),
        |v| {
            v.map(|d| d.to_string())
                .unwrap_or_else(|| "never expire".into())
        },
    );
    diff_tags(&mut out, &o.tags, &d.tags);
    out
}

fn hash(tags: &BTreeMap<String, String>) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub async fn create(ctx: Ctx<'_>, d: &Desired) -> Result<Observed, Error> {
    ctx.clients
        .logs
        .create_log_group()
        .log_group_name(&d.name)
        .set_tags(Some(hash(&d.tags)))
        .send()
        .await
        .map_err(aws("CreateLogGroup"))?;
    put_retention(ctx, d).await?;
    find(ctx, &d.name)
        .await?
        .ok_or_else(|| Error::Internal(format!("log group {} not readable after create", d.name)))
}

async fn put_retention(ctx: Ctx<'_>, d: &Desired) -> Result<(), Error> {
    ctx.retry
        .call(|| async {
            ctx.clients
                .logs
                .put_retention_policy()
                .log_group_name(&d.name)
                .retention_in_days(d.retention_in_days)
                .send()
                .await
                .map_err(aws("PutRetentionPolicy"))
        })
        .await?;
    Ok(())
}

pub async fn update(ctx: Ctx<'_>, o: &Observed, d: &Desired) -> Result<Observed, Error> {
    if o.retention_in_days != Some(d.retention_in_days) {
        put_retention(ctx, d).await?;
    }
    let tags = missing_tags(&o.tags, &d.tags);
    if !tags.is_empty() {
        let tags = hash(&tags);
        ctx.retry
            .call(|| async {
                ctx.clients
                    .logs
                    .tag_resource()
                    .resource_arn(&o.arn)
                    .set_tags(Some(tags.clone()))
                    .send()
                    .await
                    .map_err(aws("TagResource"))
            })
            .await?;
    }
    find(ctx, &d.name)
        .await?
        .ok_or_else(|| Error::Internal(format!("log group {} vanished during update", d.name)))
}

pub async fn delete(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    let r = ctx
        .retry
        .call(|| async {
            ctx.clients
                .logs
                .delete_log_group()
                .log_group_name(&o.name)
                .send()
                .await
                .map_err(aws("DeleteLogGroup"))
        })
        .await;
    match r {
        Err(e) if e.aws_code() == Some(CODE_NOT_FOUND) => Ok(()),
        r => r.map(|_| ()),
    }
}

/// The log group as a [`Resource`].
pub struct LogGroup;

impl Resource for LogGroup {
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
        find(ctx, &ctx.names.log_group).boxed()
    }
    fn diff(&self, o: &Observed, d: &Desired) -> Vec<AttrDiff> {
        diff(o, d)
    }
    fn create_attributes(&self, d: &Desired) -> Vec<AttrDiff> {
        vec![AttrDiff::set(
            "retention_in_days",
            d.retention_in_days.to_string(),
        )]
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
        &["cloudwatch_log_group_name", "cloudwatch_log_group_arn"]
    }
    fn outputs(&self, o: &Observed) -> Vec<(&'static str, String)> {
        vec![
            ("cloudwatch_log_group_name", o.name.clone()),
            ("cloudwatch_log_group_arn", o.arn.clone()),
        ]
    }
}
