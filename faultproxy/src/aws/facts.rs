//! AWS's error codes and messages that both sides of the project use: the proxy answers them
//! (catalogue rows, behaviour models) and the provisioner absorbs them (its retry catalogue).
//! Each is defined here once, verbatim as AWS sends it, next to its source.
//!
//! The provisioner includes this file as a module of its own (`provisioner/src/retry/codes.rs`,
//! `#[path]`), so it depends on no proxy code: the file holds constants only and imports nothing.
//! A message may hold `{value}`, `{name}`, `{arn}` placeholders: the proxy fills them per
//! request, the provisioner's matcher treats each as "any text".

/// ECS, ECR: a request parameter AWS rejects (HTTP 400, awsJson `__type`).
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html
pub const INVALID_PARAMETER_EXCEPTION: &str = "InvalidParameterException";
/// ECS's error for a cluster it does not know (HTTP 400).
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html#API_CreateService_Errors
pub const CLUSTER_NOT_FOUND_EXCEPTION: &str = "ClusterNotFoundException";
/// Its message; terraform-provider-aws `internal/service/ecs/service.go` (`retryServiceCreate`).
pub const CLUSTER_NOT_FOUND_MESSAGE: &str = "Cluster not found.";
/// DeleteCluster while services drain (HTTP 400).
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html#API_DeleteCluster_Errors
pub const CLUSTER_CONTAINS_SERVICES_EXCEPTION: &str = "ClusterContainsServicesException";
pub const CLUSTER_CONTAINS_SERVICES_MESSAGE: &str =
    "The Cluster cannot be deleted while Services are active.";
/// Capacity-provider attachments updating (HTTP 400).
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html#API_PutClusterCapacityProviders_Errors
pub const UPDATE_IN_PROGRESS_EXCEPTION: &str = "UpdateInProgressException";
pub const CLUSTER_BUSY_MESSAGE: &str = "The specified cluster is in a busy state. Cluster attachments must be in UPDATE_COMPLETE or UPDATE_FAILED state before they can be updated.";
/// CreateService of a name whose namesake still drains (`InvalidParameterException`, 400):
/// hashicorp/terraform-provider-aws#2283.
pub const NOT_IDEMPOTENT_MESSAGE: &str = "Creation of service was not idempotent.";
/// ECS cannot assume the service-linked role it just created (`InvalidParameterException`,
/// 400): terraform-provider-aws `internal/service/ecs/cluster.go`; aws/containers-roadmap#2614.
pub const SLR_NOT_ASSUMABLE_MESSAGE: &str =
    "Unable to assume the service linked role. Please verify that the ECS service linked role exists.";

/// CloudWatch Logs: a write colliding with one in flight (HTTP 400).
/// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html#API_PutRetentionPolicy_Errors
pub const OPERATION_ABORTED_EXCEPTION: &str = "OperationAbortedException";
/// Its message (terraform-provider-aws `internal/service/logs/group.go` retries on "try again").
pub const CONFLICTING_OPERATION_MESSAGE: &str =
    "A conflicting operation is currently in progress against this resource. Please try again.";

/// IAM: an entity it does not know (HTTP 404, query XML).
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html#API_GetRole_Errors
pub const NO_SUCH_ENTITY: &str = "NoSuchEntity";
/// IAM's message for a role it does not know (GetRole, AddRoleToInstanceProfile, ...).
pub const NO_SUCH_ROLE_MESSAGE: &str = "The role with name {name} cannot be found.";
/// IAM: a policy document IAM rejects (HTTP 400).
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html#API_CreateRole_Errors
pub const MALFORMED_POLICY_DOCUMENT: &str = "MalformedPolicyDocument";
/// A trust policy naming a principal IAM cannot resolve yet: terraform-provider-aws
/// `internal/service/iam/role.go` (`retryCreateRole`); #1388, #8905, #16820, PR #12436.
pub const IAM_INVALID_PRINCIPAL_MESSAGE: &str = "Invalid principal in policy: \"AWS\":\"{value}\"";

/// ECR: a repository policy naming a role it cannot see yet (`InvalidParameterException`, 400):
/// hashicorp/terraform-provider-aws#39064; `internal/service/ecr/repository_policy.go`.
pub const ECR_PRINCIPAL_NOT_FOUND_MESSAGE: &str =
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'";
