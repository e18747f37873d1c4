//! Why this file exists: the AWS error codes and message fragments the retry catalogue matches,
//! as AWS sends them on the wire (do not "fix" their wording). Sources: the AWS API references of
//! ECS, ECR, IAM and CloudWatch Logs ("Errors" sections) and terraform-provider-aws
//! internal/service/{ecs,ecr,iam,logs}, as cited by each catalogue entry (catalogue.rs).

pub const CODE_INVALID_PARAMETER: &str = "InvalidParameterException";
pub const CODE_CLUSTER_NOT_FOUND: &str = "ClusterNotFoundException";
pub const CODE_CLUSTER_CONTAINS_SERVICES: &str = "ClusterContainsServicesException";
pub const CODE_CLUSTER_CONTAINS_TASKS: &str = "ClusterContainsTasksException";
pub const CODE_CLUSTER_CONTAINS_INSTANCES: &str = "ClusterContainsContainerInstancesException";
pub const CODE_UPDATE_IN_PROGRESS: &str = "UpdateInProgressException";
pub const CODE_RESOURCE_IN_USE: &str = "ResourceInUseException";
pub const CODE_CLIENT: &str = "ClientException";
pub const CODE_MALFORMED_POLICY: &str = "MalformedPolicyDocument";
pub const CODE_DELETE_CONFLICT: &str = "DeleteConflict";
pub const CODE_NO_SUCH_ENTITY: &str = "NoSuchEntity";
pub const CODE_OPERATION_ABORTED: &str = "OperationAbortedException";
pub const CODE_REPOSITORY_NOT_FOUND: &str = "RepositoryNotFoundException";

/// The seed's error: ECS cannot yet assume the service-linked role it (or we) just created.
pub const MSG_SLR_NOT_ASSUMABLE: &str = "Unable to assume the service linked role";
/// The full text AWS sends for [`MSG_SLR_NOT_ASSUMABLE`] (used by tests and docs).
pub const MSG_SLR_NOT_ASSUMABLE_FULL: &str =
    "Unable to assume the service linked role. Please verify that the ECS service linked role exists.";
pub const MSG_SERVICE_ROLE_PERMISSIONS: &str =
    "verify that the ECS service role being passed has the proper permissions";
pub const MSG_NO_LOAD_BALANCER: &str = "does not have an associated load balancer";
pub const MSG_INVALID_REPOSITORY_POLICY: &str = "Invalid repository policy provided";
pub const MSG_PRINCIPAL_NOT_FOUND: &str = "Principal not found";
pub const MSG_INVALID_PRINCIPAL: &str = "Invalid principal in policy";
pub const MSG_DEPLOYMENTS_ACTIVE: &str =
    "The service cannot be stopped while deployments are active.";
pub const MSG_CLUSTER_NOT_ACTIVE: &str = "Cluster was not ACTIVE";
pub const MSG_TRY_AGAIN: &str = "try again";
/// Matches any message.
pub const ANY_MESSAGE: &str = "";
