//! Why this file exists: the one table of AWS errors the provisioner absorbs (operation + code +
//! message fragment), each with the reason it is retryable and its source (terraform-provider-aws
//! file or AWS issue), the deadline window that bounds it, the phase in which it applies and the
//! pace of its retries (a fixed poll for propagation, backoff for contention: policy.rs).
//!
//! Deliberately absent: CreateService's `InvalidParameterException` "Creation of service was not
//! idempotent." (a namesake still DRAINING after DeleteService; terraform-provider-aws#2283).
//! Retrying it blindly could hide a real clash; service.rs instead waits, before CreateService,
//! until a DRAINING namesake is INACTIVE (with retries on), so the error never arises.

use super::codes::*;
use crate::error::AwsError;

/// Which deadline of the [`RetryPolicy`](super::RetryPolicy) bounds an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// IAM/ECS propagation after a create: Terraform's `propagationTimeout`, 2 min.
    Propagation,
    /// CreateService: Terraform retries 2 min + 2 min.
    CreateService,
    /// Deleting ECS things that wait on other deletions: 10 min.
    Delete,
    /// DeleteLogGroup while a concurrent operation runs: 1 min.
    LogGroupDelete,
}

/// When an entry applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Every call of the operation.
    Always,
    /// Only reads/writes issued right after we created the resource ourselves (a "not found"
    /// then is propagation lag, not absence). Used through [`Retrier::call_after_create`](super::Retrier::call_after_create).
    AfterCreate,
}

/// How an entry's retries are spaced ([`RetryPolicy::pause`](super::RetryPolicy::pause)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Propagation: AWS closes the window on its own; poll at the fixed interval so the retry
    /// lands right after the window ends.
    Poll,
    /// Contention with work that takes as long as it takes (deployments, tasks stopping):
    /// exponential backoff with jitter.
    Backoff,
}

/// One retryable AWS error: operation + code + message fragment + why.
#[derive(Debug, Clone, Copy)]
pub struct Retryable {
    pub operation: &'static str,
    pub code: &'static str,
    /// Substring of AWS's message, or its whole text with `{...}` placeholders standing for any
    /// text (the shared facts' templates); [`ANY_MESSAGE`] matches all.
    pub message: &'static str,
    pub reason: &'static str,
    pub window: Window,
    pub phase: Phase,
    pub pace: Pace,
}

impl Retryable {
    pub fn matches(&self, e: &AwsError, after_create: bool) -> bool {
        (self.phase == Phase::Always || after_create)
            && self.operation == e.operation
            && self.code == e.code
            && message_matches(self.message, &e.message)
    }
}

/// Whether `message` fits `pattern`: a fragment it contains, or, when `pattern` holds `{...}`
/// placeholders, the whole message with each placeholder standing for any text.
pub fn message_matches(pattern: &str, message: &str) -> bool {
    if !pattern.contains('{') {
        return message.contains(pattern);
    }
    // The literal pieces between placeholders, in order: the first anchors the start, the last
    // the end.
    let mut pieces = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        pieces.push(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    pieces.push(rest);
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    let Some(mut at) = message.strip_prefix(first).map(|_| first.len()) else {
        return false;
    };
    for piece in &pieces[1..pieces.len() - 1] {
        match message[at..].find(piece) {
            Some(i) => at += i + piece.len(),
            None => return false,
        }
    }
    message.len() >= at + last.len() && message.ends_with(last)
}

const fn entry(
    operation: &'static str,
    code: &'static str,
    message: &'static str,
    window: Window,
    reason: &'static str,
) -> Retryable {
    Retryable {
        operation,
        code,
        message,
        reason,
        window,
        phase: Phase::Always,
        pace: Pace::Poll,
    }
}

/// An entry whose retries back off (contention, not propagation).
const fn backing_off(mut r: Retryable) -> Retryable {
    r.pace = Pace::Backoff;
    r
}

const fn after_create(
    operation: &'static str,
    code: &'static str,
    reason: &'static str,
) -> Retryable {
    Retryable {
        operation,
        code,
        message: ANY_MESSAGE,
        reason,
        window: Window::Propagation,
        phase: Phase::AfterCreate,
        pace: Pace::Poll,
    }
}

pub const CREATE_CLUSTER_SLR_NOT_ASSUMABLE: Retryable = entry(
    "CreateCluster", CODE_INVALID_PARAMETER, MSG_SLR_NOT_ASSUMABLE, Window::Propagation,
    "CreateCluster (with capacity providers) in a fresh account creates AWSServiceRoleForECS and may \
     not be able to assume it yet (Terraform resource_cluster.go)",
);
pub const CREATE_SERVICE_CLUSTER_NOT_FOUND: Retryable = entry(
    "CreateService", CODE_CLUSTER_NOT_FOUND, ANY_MESSAGE, Window::CreateService,
    "a cluster created moments ago is not yet visible to CreateService (Terraform resource_service.go)",
);
pub const CREATE_SERVICE_ROLE_PERMISSIONS: Retryable = entry(
    "CreateService",
    CODE_INVALID_PARAMETER,
    MSG_SERVICE_ROLE_PERMISSIONS,
    Window::CreateService,
    "a role created moments ago has not propagated to ECS yet (Terraform resource_service.go)",
);
pub const CREATE_SERVICE_NO_LOAD_BALANCER: Retryable = entry(
    "CreateService", CODE_INVALID_PARAMETER, MSG_NO_LOAD_BALANCER, Window::CreateService,
    "a target group just attached to a load balancer is not yet seen as attached (Terraform resource_service.go)",
);
/// The seed's failure: first apply in a fresh account, CreateService right after CreateCluster.
pub const CREATE_SERVICE_SLR_NOT_ASSUMABLE: Retryable = entry(
    "CreateService", CODE_INVALID_PARAMETER, MSG_SLR_NOT_ASSUMABLE, Window::CreateService,
    "the ECS service-linked role exists but is not yet assumable (propagation: ~2 s typical, up to a \
     minute); aws/containers-roadmap#2614",
);
pub const SET_REPOSITORY_POLICY_INVALID: Retryable = entry(
    "SetRepositoryPolicy", CODE_INVALID_PARAMETER, MSG_INVALID_REPOSITORY_POLICY, Window::Propagation,
    "the policy names an IAM role created moments ago that ECR cannot resolve yet (Terraform repository_policy.go)",
);
pub const SET_REPOSITORY_POLICY_PRINCIPAL_NOT_FOUND: Retryable = entry(
    "SetRepositoryPolicy",
    CODE_INVALID_PARAMETER,
    ECR_PRINCIPAL_NOT_FOUND_MESSAGE,
    Window::Propagation,
    "same propagation lag, other wording: 'Invalid parameter at 'PolicyText' failed to satisfy \
     constraint: 'Principal not found'' (terraform-provider-aws#39064, not retried there)",
);
pub const CREATE_ROLE_INVALID_PRINCIPAL: Retryable = entry(
    "CreateRole", CODE_MALFORMED_POLICY, IAM_INVALID_PRINCIPAL_MESSAGE, Window::Propagation,
    "the trust policy names a principal (role/service) IAM cannot resolve yet (Terraform iam/role.go)",
);
pub const DELETE_SERVICE_DEPLOYMENTS_ACTIVE: Retryable = backing_off(entry(
    "DeleteService",
    CODE_INVALID_PARAMETER,
    MSG_DEPLOYMENTS_ACTIVE,
    Window::Delete,
    "the scale-to-0 deployment is still running (Terraform resource_service.go, delete timeout)",
));
pub const DELETE_CLUSTER_CONTAINS_SERVICES: Retryable = entry(
    "DeleteCluster",
    CODE_CLUSTER_CONTAINS_SERVICES,
    ANY_MESSAGE,
    Window::Delete,
    "a just-deleted service still counts until it drains (Terraform resource_cluster.go)",
);
pub const DELETE_CLUSTER_CONTAINS_TASKS: Retryable = backing_off(entry(
    "DeleteCluster",
    CODE_CLUSTER_CONTAINS_TASKS,
    ANY_MESSAGE,
    Window::Delete,
    "tasks of a deleted service are still stopping (Terraform resource_cluster.go)",
));
pub const DELETE_CLUSTER_CONTAINS_INSTANCES: Retryable = backing_off(entry(
    "DeleteCluster",
    CODE_CLUSTER_CONTAINS_INSTANCES,
    ANY_MESSAGE,
    Window::Delete,
    "container instances are still deregistering (Terraform resource_cluster.go)",
));
pub const DELETE_CLUSTER_UPDATE_IN_PROGRESS: Retryable = entry(
    "DeleteCluster", CODE_UPDATE_IN_PROGRESS, ANY_MESSAGE, Window::Delete,
    "a capacity-provider update of the cluster is still in progress (Terraform resource_cluster.go)",
);
pub const PUT_CAPACITY_PROVIDERS_IN_USE: Retryable = entry(
    "PutClusterCapacityProviders", CODE_RESOURCE_IN_USE, ANY_MESSAGE, Window::Delete,
    "a capacity provider is still used by a draining service (Terraform cluster_capacity_providers.go)",
);
pub const PUT_CAPACITY_PROVIDERS_UPDATE_IN_PROGRESS: Retryable = entry(
    "PutClusterCapacityProviders", CODE_UPDATE_IN_PROGRESS, ANY_MESSAGE, Window::Delete,
    "a previous capacity-provider update is still in progress (Terraform cluster_capacity_providers.go)",
);
pub const PUT_CAPACITY_PROVIDERS_CLUSTER_NOT_ACTIVE: Retryable = entry(
    "PutClusterCapacityProviders",
    CODE_CLIENT,
    MSG_CLUSTER_NOT_ACTIVE,
    Window::Delete,
    "the cluster is still provisioning/updating (Terraform cluster_capacity_providers.go)",
);
pub const DELETE_ROLE_CONFLICT: Retryable = entry(
    "DeleteRole",
    CODE_DELETE_CONFLICT,
    ANY_MESSAGE,
    Window::Propagation,
    "a just-detached policy or just-deleted instance profile still counts (Terraform iam/role.go)",
);
pub const DELETE_LOG_GROUP_ABORTED: Retryable = entry(
    "DeleteLogGroup",
    CODE_OPERATION_ABORTED,
    MSG_TRY_AGAIN,
    Window::LogGroupDelete,
    "a concurrent operation on the log group (Terraform logs/group.go)",
);
/// The `logs-conflicting-operation` window: right after CreateLogGroup, the group's other writes
/// answer `OperationAbortedException` "A conflicting operation is currently in progress against
/// this resource. Please try again." (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html#API_PutRetentionPolicy_Errors);
/// Terraform retries the same error on DeleteLogGroup for 1 min (logs/group.go): same window.
pub const PUT_RETENTION_POLICY_ABORTED: Retryable = entry(
    "PutRetentionPolicy",
    CODE_OPERATION_ABORTED,
    MSG_TRY_AGAIN,
    Window::LogGroupDelete,
    "the log group created moments ago is still being set up; a concurrent operation on it \
     (AWS API reference of PutRetentionPolicy, Errors: OperationAbortedException)",
);
pub const TAG_LOG_GROUP_ABORTED: Retryable = entry(
    "TagResource",
    CODE_OPERATION_ABORTED,
    MSG_TRY_AGAIN,
    Window::LogGroupDelete,
    "a concurrent operation on the log group (https://docs.aws.amazon.com/AmazonCloudWatchLogs/\
     latest/APIReference/API_TagResource.html#API_TagResource_Errors)",
);
/// The `ecs-cluster-not-found` window seen by a read: DescribeClusters of a cluster we just
/// created lists it under `failures` with reason `MISSING` (not an error response: cluster.rs
/// turns that failure into an [`AwsError`] with code [`FAILURE_MISSING`] after our own create).
/// Terraform waits for a new cluster (`waitClusterAvailable`, internal/service/ecs/wait.go) and
/// retries its reads' not-found (`clusterReadTimeout`, internal/service/ecs/cluster.go).
pub const DESCRIBE_CLUSTERS_MISSING_AFTER_CREATE: Retryable = after_create(
    "DescribeClusters",
    FAILURE_MISSING,
    "a cluster we just created is not yet known to DescribeClusters (ECS eventual consistency; \
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Failure.html)",
);
/// PutClusterCapacityProviders right after our CreateCluster: "Cluster not found." while the
/// new cluster propagates (docs/src/aws-facts.md, "Eventual consistency in a fresh account": the
/// same lag `retryServiceCreate` absorbs for CreateService in terraform-provider-aws
/// internal/service/ecs/service.go).
pub const PUT_CAPACITY_PROVIDERS_CLUSTER_NOT_FOUND_AFTER_CREATE: Retryable = after_create(
    "PutClusterCapacityProviders",
    CODE_CLUSTER_NOT_FOUND,
    "the cluster we just created is not yet known to PutClusterCapacityProviders",
);
/// GetRolePolicy right after our PutRolePolicy: IAM reads lag writes
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency);
/// terraform-provider-aws iam/role_policy.go retries the read's not-found for
/// `propagationTimeout`.
pub const GET_ROLE_POLICY_AFTER_PUT: Retryable = after_create(
    "GetRolePolicy",
    CODE_NO_SUCH_ENTITY,
    "an inline policy we just put may read as NoSuchEntity for a while",
);
pub const GET_ROLE_AFTER_CREATE: Retryable = after_create(
    "GetRole",
    CODE_NO_SUCH_ENTITY,
    "IAM is eventually consistent: a role we just created may read as NoSuchEntity for a while \
     (Terraform reads after create retry 'not found' for 2 min)",
);
pub const ATTACH_ROLE_POLICY_AFTER_CREATE: Retryable = after_create(
    "AttachRolePolicy",
    CODE_NO_SUCH_ENTITY,
    "the role we just created is not yet visible to AttachRolePolicy",
);
pub const PUT_ROLE_POLICY_AFTER_CREATE: Retryable = after_create(
    "PutRolePolicy",
    CODE_NO_SUCH_ENTITY,
    "the role we just created is not yet visible to PutRolePolicy",
);
pub const DESCRIBE_REPOSITORIES_AFTER_CREATE: Retryable = after_create(
    "DescribeRepositories",
    CODE_REPOSITORY_NOT_FOUND,
    "a repository we just created may read as not found for a moment",
);

/// Every retryable error, in one list.
pub const CATALOGUE: &[Retryable] = &[
    CREATE_CLUSTER_SLR_NOT_ASSUMABLE,
    CREATE_SERVICE_CLUSTER_NOT_FOUND,
    CREATE_SERVICE_ROLE_PERMISSIONS,
    CREATE_SERVICE_NO_LOAD_BALANCER,
    CREATE_SERVICE_SLR_NOT_ASSUMABLE,
    SET_REPOSITORY_POLICY_INVALID,
    SET_REPOSITORY_POLICY_PRINCIPAL_NOT_FOUND,
    CREATE_ROLE_INVALID_PRINCIPAL,
    DELETE_SERVICE_DEPLOYMENTS_ACTIVE,
    DELETE_CLUSTER_CONTAINS_SERVICES,
    DELETE_CLUSTER_CONTAINS_TASKS,
    DELETE_CLUSTER_CONTAINS_INSTANCES,
    DELETE_CLUSTER_UPDATE_IN_PROGRESS,
    PUT_CAPACITY_PROVIDERS_IN_USE,
    PUT_CAPACITY_PROVIDERS_UPDATE_IN_PROGRESS,
    PUT_CAPACITY_PROVIDERS_CLUSTER_NOT_ACTIVE,
    DELETE_ROLE_CONFLICT,
    DELETE_LOG_GROUP_ABORTED,
    PUT_RETENTION_POLICY_ABORTED,
    TAG_LOG_GROUP_ABORTED,
    DESCRIBE_CLUSTERS_MISSING_AFTER_CREATE,
    PUT_CAPACITY_PROVIDERS_CLUSTER_NOT_FOUND_AFTER_CREATE,
    GET_ROLE_POLICY_AFTER_PUT,
    GET_ROLE_AFTER_CREATE,
    ATTACH_ROLE_POLICY_AFTER_CREATE,
    PUT_ROLE_POLICY_AFTER_CREATE,
    DESCRIBE_REPOSITORIES_AFTER_CREATE,
];

/// The catalogue entry that makes `e` retryable, if any.
pub fn classify(e: &AwsError, after_create: bool) -> Option<&'static Retryable> {
    CATALOGUE.iter().find(|r| r.matches(e, after_create))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slr_error() -> AwsError {
        AwsError::new(
            "CreateService",
            CODE_INVALID_PARAMETER,
            MSG_SLR_NOT_ASSUMABLE_FULL,
        )
    }

    #[test]
    fn catalogue_classifies_the_seed_error() {
        let e = slr_error();
        let hit = classify(&e, false).expect("seed error is retryable");
        assert_eq!(hit.window, Window::CreateService);
        assert!(classify(
            &AwsError::new("CreateService", CODE_INVALID_PARAMETER, "something else"),
            false
        )
        .is_none());
        assert!(classify(
            &AwsError::new(
                "CreateCluster",
                CODE_INVALID_PARAMETER,
                MSG_SLR_NOT_ASSUMABLE_FULL
            ),
            false
        )
        .is_some());
    }

    #[test]
    fn after_create_entries_need_the_after_create_phase() {
        let e = AwsError::new(
            "GetRole",
            CODE_NO_SUCH_ENTITY,
            "The role with name x cannot be found.",
        );
        assert!(classify(&e, false).is_none());
        assert!(classify(&e, true).is_some());
    }

    #[test]
    fn every_table_row_is_in_the_catalogue() {
        for (op, code, msg) in [
            ("CreateCluster", CODE_INVALID_PARAMETER, "Unable to assume the service linked role"),
            ("CreateService", CODE_CLUSTER_NOT_FOUND, "x"),
            ("CreateService", CODE_INVALID_PARAMETER, "Please verify that the ECS service role being passed has the proper permissions."),
            ("CreateService", CODE_INVALID_PARAMETER, "The target group does not have an associated load balancer."),
            ("SetRepositoryPolicy", CODE_INVALID_PARAMETER, "Invalid repository policy provided"),
            ("SetRepositoryPolicy", CODE_INVALID_PARAMETER, "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'"),
            ("CreateRole", CODE_MALFORMED_POLICY, "Invalid principal in policy: \"AWS\":\"x\""),
            ("DeleteService", CODE_INVALID_PARAMETER, "The service cannot be stopped while deployments are active."),
            ("DeleteCluster", CODE_CLUSTER_CONTAINS_SERVICES, ""),
            ("DeleteCluster", CODE_CLUSTER_CONTAINS_TASKS, ""),
            ("DeleteCluster", CODE_CLUSTER_CONTAINS_INSTANCES, ""),
            ("DeleteCluster", CODE_UPDATE_IN_PROGRESS, ""),
            ("PutClusterCapacityProviders", CODE_RESOURCE_IN_USE, ""),
            ("PutClusterCapacityProviders", CODE_UPDATE_IN_PROGRESS, ""),
            ("PutClusterCapacityProviders", CODE_CLIENT, "Cluster was not ACTIVE"),
            ("DeleteRole", CODE_DELETE_CONFLICT, ""),
            ("DeleteLogGroup", CODE_OPERATION_ABORTED, "A conflicting operation is in progress, please try again."),
            ("PutRetentionPolicy", CODE_OPERATION_ABORTED, MSG_CONFLICTING_OPERATION_FULL),
            ("TagResource", CODE_OPERATION_ABORTED, MSG_CONFLICTING_OPERATION_FULL),
            ("DeleteLogGroup", CODE_OPERATION_ABORTED, MSG_CONFLICTING_OPERATION_FULL),
            ("PutClusterCapacityProviders", CODE_UPDATE_IN_PROGRESS, MSG_CLUSTER_BUSY_FULL),
            ("DeleteCluster", CODE_UPDATE_IN_PROGRESS, MSG_CLUSTER_BUSY_FULL),
            ("DeleteCluster", CODE_CLUSTER_CONTAINS_SERVICES, "The Cluster cannot be deleted while Services are active."),
        ] {
            assert!(classify(&AwsError::new(op, code, msg), false).is_some(), "{op} {code} {msg}");
        }
    }

    /// The fresh-account models' errors that are propagation only right after our own write.
    #[test]
    fn after_create_rows_of_the_fresh_account_models() {
        for (op, code, msg) in [
            (
                "PutClusterCapacityProviders",
                CODE_CLUSTER_NOT_FOUND,
                "Cluster not found.",
            ),
            (
                "GetRolePolicy",
                CODE_NO_SUCH_ENTITY,
                "The role policy with name p cannot be found.",
            ),
            (
                "DescribeClusters",
                FAILURE_MISSING,
                "arn:aws:ecs:r:1:cluster/c",
            ),
        ] {
            let e = AwsError::new(op, code, msg);
            assert!(
                classify(&e, false).is_none(),
                "{op} {code}: absence, not lag"
            );
            let hit = classify(&e, true).unwrap_or_else(|| panic!("{op} {code} after create"));
            assert_eq!(
                (hit.phase, hit.pace),
                (Phase::AfterCreate, Pace::Poll),
                "{op}"
            );
        }
        // "not idempotent" is waited out before CreateService, never retried blindly.
        let e = AwsError::new(
            "CreateService",
            CODE_INVALID_PARAMETER,
            MSG_NOT_IDEMPOTENT_FULL,
        );
        assert!(classify(&e, true).is_none());
    }

    #[test]
    fn templates_match_whole_messages_fragments_any_part() {
        let t = IAM_INVALID_PRINCIPAL_MESSAGE;
        assert!(message_matches(
            t,
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/r\""
        ));
        assert!(!message_matches(
            t,
            "Invalid principal in policy: \"Service\":\"x\""
        ));
        assert!(!message_matches(
            t,
            "Oops. Invalid principal in policy: \"AWS\":\"x\""
        ));
        assert!(message_matches(
            "The role with name {name} cannot be found.",
            "The role with name r cannot be found."
        ));
        assert!(!message_matches(
            "The role with name {name} cannot be found.",
            "The role with name r was found."
        ));
        assert!(message_matches("a {x} b {y} c", "a 1 b 2 c"));
        assert!(!message_matches("a {x} b {y} c", "a 1 c"));
        assert!(message_matches("try again", "Please try again."));
        assert!(message_matches(ANY_MESSAGE, "anything"));
    }

    #[test]
    fn contention_backs_off_propagation_polls() {
        assert_eq!(DELETE_SERVICE_DEPLOYMENTS_ACTIVE.pace, Pace::Backoff);
        assert_eq!(DELETE_CLUSTER_CONTAINS_TASKS.pace, Pace::Backoff);
        assert_eq!(CREATE_SERVICE_SLR_NOT_ASSUMABLE.pace, Pace::Poll);
        assert_eq!(DELETE_CLUSTER_CONTAINS_SERVICES.pace, Pace::Poll);
        assert_eq!(PUT_RETENTION_POLICY_ABORTED.pace, Pace::Poll);
    }
}
