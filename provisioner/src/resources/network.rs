//! Why this file exists: the service runs in awsvpc mode and needs subnets and security groups.
//! When the spec lists them, they are used as-is and EC2 is never called. Otherwise, like the
//! tutorial, the default VPC's subnets and its `default` security group are looked up through the
//! hand-written EC2 Query client (three read-only calls; see ec2.rs). Nothing here is created.

use super::Ctx;
use crate::error::Error;

pub const KIND: &str = "network";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Network {
    /// Sorted subnet ids.
    pub subnets: Vec<String>,
    /// Sorted security group ids.
    pub security_groups: Vec<String>,
    /// The default VPC, when it was looked up.
    pub vpc_id: Option<String>,
}

/// Only reads: the spec's lists, or DescribeVpcs/DescribeSubnets/DescribeSecurityGroups.
pub async fn find(ctx: Ctx<'_>) -> Result<Network, Error> {
    let svc = &ctx.spec.service;
    let mut subnets = svc.subnets.clone();
    let mut groups = svc.security_groups.clone();
    let mut vpc_id = None;
    if subnets.is_empty() || groups.is_empty() {
        let ec2 = &ctx.clients.ec2;
        let vpc = ec2.default_vpc_id().await?.ok_or_else(|| {
            Error::Precondition(format!(
                "region {} has no default VPC: set service.subnets and service.security_groups in the stack spec",
                ctx.clients.region
            ))
        })?;
        if subnets.is_empty() {
            subnets = ec2.subnet_ids(&vpc).await?;
            if subnets.is_empty() {
                return Err(Error::Precondition(format!(
                    "the default VPC {vpc} has no subnets: set service.subnets in the stack spec"
                )));
            }
        }
        if groups.is_empty() {
            groups = vec![ec2.default_security_group(&vpc).await?.ok_or_else(|| {
                Error::Precondition(format!(
                    "the default VPC {vpc} has no `default` security group: set service.security_groups"
                ))
            })?];
        }
        vpc_id = Some(vpc);
    }
    subnets.sort();
    groups.sort();
    Ok(Network {
        subnets,
        security_groups: groups,
        vpc_id,
    })
}
