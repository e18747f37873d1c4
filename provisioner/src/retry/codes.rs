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
/// Not an error code: DescribeClusters/DescribeServices list an unknown resource under
/// `failures` with this reason (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Failure.html).
/// The provisioner reports such a failure as an error with this code when it reads what it just
/// created.
pub const FAILURE_MISSING: &str = "MISSING";

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
/// CloudWatch Logs' full text for a write that collides with the group's set-up (verbatim).
pub const MSG_CONFLICTING_OPERATION_FULL: &str =
    "A conflicting operation is currently in progress against this resource. Please try again.";
/// ECS's full text while capacity-provider attachments update (verbatim).
pub const MSG_CLUSTER_BUSY_FULL: &str = "The specified cluster is in a busy state. Cluster attachments must be in UPDATE_COMPLETE or UPDATE_FAILED state before they can be updated.";
/// CreateService of a name whose namesake still drains (verbatim; terraform-provider-aws#2283).
pub const MSG_NOT_IDEMPOTENT_FULL: &str = "Creation of service was not idempotent.";
/// Matches any message.
pub const ANY_MESSAGE: &str = "";
