//! The account read by listing, not by name: what a destroy left is checked here with List and
//! unfiltered Describe calls over the whole account, a path the provisioner's own reads (Describe
//! by the stack's names) do not take. A destroy that misread the account (e.g. an answer that
//! said "no such cluster" while the cluster was there) would find the same thing again on the
//! same path; a listing of everything the account holds does not share that path.
//!
//! Only for accounts the test owns alone: everything listed counts, except the service-linked
//! roles (path `/aws-service-role/<service>/`), which destroy keeps unless asked to delete them.

use aws_sdk_iam::error::ProvideErrorMetadata;

use super::Aws;

/// IAM path prefix of service-linked roles (<https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html>).
const SERVICE_LINKED_ROLE_PATH: &str = "/aws-service-role/";

impl Aws {
    /// Everything the account holds of the kinds a stack creates, described; empty = nothing.
    /// Panics naming the call when a listing fails (chaos must be off).
    pub async fn listed(&self) -> Vec<String> {
        let mut left = Vec::new();
        let clusters = self
            .ecs
            .list_clusters()
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListClusters: {:?}", e.code()))
            .cluster_arns()
            .to_vec();
        for arn in &clusters {
            for s in self.services(arn).await {
                left.push(format!("ECS service {s}"));
            }
        }
        for arn in self.active_clusters().await {
            left.push(format!("ECS cluster {arn}"));
        }
        let tds = self
            .ecs
            .list_task_definitions()
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListTaskDefinitions: {:?}", e.code()));
        for td in tds.task_definition_arns() {
            left.push(format!("ECS task definition {td}"));
        }
        let roles = self
            .iam
            .list_roles()
            .max_items(1000)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListRoles: {:?}", e.code()));
        for role in roles.roles() {
            if !role.path().starts_with(SERVICE_LINKED_ROLE_PATH) {
                left.push(format!("IAM role {}", role.role_name()));
            }
        }
        let repos = self
            .ecr
            .describe_repositories()
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeRepositories: {:?}", e.code()));
        for r in repos.repositories() {
            left.push(format!(
                "ECR repository {}",
                r.repository_name().unwrap_or("?")
            ));
        }
        let groups = self
            .logs
            .describe_log_groups()
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeLogGroups: {:?}", e.code()));
        for g in groups.log_groups() {
            left.push(format!("log group {}", g.log_group_name().unwrap_or("?")));
        }
        left
    }
}
