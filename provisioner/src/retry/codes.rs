//! Why this file exists: the AWS error codes and message fragments the retry catalogue matches,
//! as AWS sends them on the wire (do not "fix" their wording). Sources: the AWS API references of
//! ECS, ECR, IAM and CloudWatch Logs ("Errors" sections) and terraform-provider-aws
//! internal/service/{ecs,ecr,iam,logs}, as cited by each catalogue entry (catalogue.rs).
//!
//! The codes and messages the fault proxy also answers are not written here: they come from the
//! proxy's `aws/facts.rs`, included as a module (constants only, no dependency on the proxy), so
//! what the proxy injects and what the provisioner absorbs is one definition.

/// The AWS facts the proxy and the provisioner share.
#[path = "../../../faultproxy/src/aws/facts.rs"]
mod facts;

pub use facts::{
    CLUSTER_BUSY_MESSAGE, CLUSTER_CONTAINS_SERVICES_MESSAGE, CLUSTER_NOT_FOUND_MESSAGE,
    CONFLICTING_OPERATION_MESSAGE, ECR_PRINCIPAL_NOT_FOUND_MESSAGE, IAM_INVALID_PRINCIPAL_MESSAGE,
    NOT_IDEMPOTENT_MESSAGE, NO_SUCH_ROLE_MESSAGE, SLR_NOT_ASSUMABLE_MESSAGE,
};

pub const CODE_INVALID_PARAMETER: &str = facts::INVALID_PARAMETER_EXCEPTION;
pub const CODE_CLUSTER_NOT_FOUND: &str = facts::CLUSTER_NOT_FOUND_EXCEPTION;
pub const CODE_CLUSTER_CONTAINS_SERVICES: &str = facts::CLUSTER_CONTAINS_SERVICES_EXCEPTION;
pub const CODE_CLUSTER_CONTAINS_TASKS: &str = "ClusterContainsTasksException";
pub const CODE_CLUSTER_CONTAINS_INSTANCES: &str = "ClusterContainsContainerInstancesException";
pub const CODE_UPDATE_IN_PROGRESS: &str = facts::UPDATE_IN_PROGRESS_EXCEPTION;
pub const CODE_RESOURCE_IN_USE: &str = "ResourceInUseException";
pub const CODE_CLIENT: &str = "ClientException";
pub const CODE_MALFORMED_POLICY: &str = facts::MALFORMED_POLICY_DOCUMENT;
pub const CODE_DELETE_CONFLICT: &str = "DeleteConflict";
pub const CODE_NO_SUCH_ENTITY: &str = facts::NO_SUCH_ENTITY;
pub const CODE_OPERATION_ABORTED: &str = facts::OPERATION_ABORTED_EXCEPTION;
pub const CODE_REPOSITORY_NOT_FOUND: &str = "RepositoryNotFoundException";
/// Not an error code: DescribeClusters/DescribeServices list an unknown resource under
/// `failures` with this reason (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Failure.html).
/// The provisioner reports such a failure as an error with this code when it reads what it just
/// created.
pub const FAILURE_MISSING: &str = "MISSING";

/// The seed's error: ECS cannot yet assume the service-linked role it (or we) just created.
pub const MSG_SLR_NOT_ASSUMABLE: &str = "Unable to assume the service linked role";
/// The full text AWS sends for [`MSG_SLR_NOT_ASSUMABLE`] (used by tests and docs).
pub const MSG_SLR_NOT_ASSUMABLE_FULL: &str = SLR_NOT_ASSUMABLE_MESSAGE;
pub const MSG_SERVICE_ROLE_PERMISSIONS: &str =
    "verify that the ECS service role being passed has the proper permissions";
pub const MSG_NO_LOAD_BALANCER: &str = "does not have an associated load balancer";
pub const MSG_INVALID_REPOSITORY_POLICY: &str = "Invalid repository policy provided";
pub const MSG_DEPLOYMENTS_ACTIVE: &str =
    "The service cannot be stopped while deployments are active.";
pub const MSG_CLUSTER_NOT_ACTIVE: &str = "Cluster was not ACTIVE";
pub const MSG_TRY_AGAIN: &str = "try again";
/// CloudWatch Logs' full text for a write that collides with the group's set-up (verbatim).
pub const MSG_CONFLICTING_OPERATION_FULL: &str = CONFLICTING_OPERATION_MESSAGE;
/// ECS's full text while capacity-provider attachments update (verbatim).
pub const MSG_CLUSTER_BUSY_FULL: &str = CLUSTER_BUSY_MESSAGE;
/// CreateService of a name whose namesake still drains (verbatim; terraform-provider-aws#2283).
pub const MSG_NOT_IDEMPOTENT_FULL: &str = NOT_IDEMPOTENT_MESSAGE;
/// Matches any message (a catalogue entry's message is a fragment the error's message contains,
/// or a template with `{...}` placeholders that matches the whole message: see
/// `message_matches` in catalogue.rs).
pub const ANY_MESSAGE: &str = "";
