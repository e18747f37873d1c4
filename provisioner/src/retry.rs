//! Why this file exists: AWS is eventually consistent, and a first `apply` in a fresh account hits
//! errors a second `apply` does not (the ECS service-linked role not yet assumable, a new IAM role
//! not yet visible to ECR, ...). The AWS SDK's own retries never cover these (they are
//! `InvalidParameterException`s, not throttling). This module is the one place that lists every
//! error we absorb, each with the reason it exists, and the loop that absorbs them: bounded by a
//! deadline, exponential backoff with jitter, every absorbed error logged and recorded.
//!
//! The catalogue follows terraform-provider-aws (internal/service/{ecs,ecr,iam,logs}); see
//! `shared/design/AWS-FACTS.md`. Error strings are AWS's wire text: do not "fix" them.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::error::{AwsError, Error};

// ---------------------------------------------------------------------------------------------
// Error codes and message fragments (AWS's own text).
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The catalogue.
// ---------------------------------------------------------------------------------------------

/// Which deadline of the [`RetryPolicy`] bounds an entry.
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
    /// then is propagation lag, not absence). Used through [`Retrier::call_after_create`].
    AfterCreate,
}

/// One retryable AWS error: operation + code + message fragment + why.
#[derive(Debug, Clone, Copy)]
pub struct Retryable {
    pub operation: &'static str,
    pub code: &'static str,
    /// Substring of AWS's message; [`ANY_MESSAGE`] matches all.
    pub message: &'static str,
    pub reason: &'static str,
    pub window: Window,
    pub phase: Phase,
}

impl Retryable {
    pub fn matches(&self, e: &AwsError, after_create: bool) -> bool {
        (self.phase == Phase::Always || after_create)
            && self.operation == e.operation
            && self.code == e.code
            && e.message.contains(self.message)
    }
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
    }
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
    MSG_PRINCIPAL_NOT_FOUND,
    Window::Propagation,
    "same propagation lag, other wording: 'Invalid parameter at 'PolicyText' failed to satisfy \
     constraint: 'Principal not found'' (terraform-provider-aws#39064, not retried there)",
);
pub const CREATE_ROLE_INVALID_PRINCIPAL: Retryable = entry(
    "CreateRole", CODE_MALFORMED_POLICY, MSG_INVALID_PRINCIPAL, Window::Propagation,
    "the trust policy names a principal (role/service) IAM cannot resolve yet (Terraform iam/role.go)",
);
pub const DELETE_SERVICE_DEPLOYMENTS_ACTIVE: Retryable = entry(
    "DeleteService",
    CODE_INVALID_PARAMETER,
    MSG_DEPLOYMENTS_ACTIVE,
    Window::Delete,
    "the scale-to-0 deployment is still running (Terraform resource_service.go, delete timeout)",
);
pub const DELETE_CLUSTER_CONTAINS_SERVICES: Retryable = entry(
    "DeleteCluster",
    CODE_CLUSTER_CONTAINS_SERVICES,
    ANY_MESSAGE,
    Window::Delete,
    "a just-deleted service still counts until it drains (Terraform resource_cluster.go)",
);
pub const DELETE_CLUSTER_CONTAINS_TASKS: Retryable = entry(
    "DeleteCluster",
    CODE_CLUSTER_CONTAINS_TASKS,
    ANY_MESSAGE,
    Window::Delete,
    "tasks of a deleted service are still stopping (Terraform resource_cluster.go)",
);
pub const DELETE_CLUSTER_CONTAINS_INSTANCES: Retryable = entry(
    "DeleteCluster",
    CODE_CLUSTER_CONTAINS_INSTANCES,
    ANY_MESSAGE,
    Window::Delete,
    "container instances are still deregistering (Terraform resource_cluster.go)",
);
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

/// Transient EC2 errors the hand-written EC2 client (ec2.rs) retries, bounded by
/// `ec2::EC2_MAX_ATTEMPTS`. Why: the AWS SDK's standard retry mode retries exactly these classes
/// (throttling, 5xx, IO/timeouts) for the SDK clients; our EC2 client must behave the same.
pub const EC2_TRANSIENT_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ServiceUnavailable",
    "Unavailable",
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "DispatchFailure",
    "TimeoutError",
];

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
    GET_ROLE_AFTER_CREATE,
    ATTACH_ROLE_POLICY_AFTER_CREATE,
    PUT_ROLE_POLICY_AFTER_CREATE,
    DESCRIBE_REPOSITORIES_AFTER_CREATE,
];

/// The catalogue entry that makes `e` retryable, if any.
pub fn classify(e: &AwsError, after_create: bool) -> Option<&'static Retryable> {
    CATALOGUE.iter().find(|r| r.matches(e, after_create))
}

// ---------------------------------------------------------------------------------------------
// Policy.
// ---------------------------------------------------------------------------------------------

/// Terraform's `propagationTimeout`.
pub const DEFAULT_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(2 * 60);
/// Terraform's CreateService retry: 2 min + 2 min.
pub const DEFAULT_CREATE_SERVICE_TIMEOUT: Duration = Duration::from_secs(4 * 60);
/// Terraform's cluster/capacity-provider delete window.
pub const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Terraform's DeleteLogGroup window.
pub const DEFAULT_LOG_GROUP_DELETE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(200);
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How the provisioner's own retry loop (and its wait loops) behave. All knobs public so tests
/// can shrink them.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// `false` = `--no-retry`: catalogued errors surface at once, exactly as AWS sent them.
    /// (The SDK's own transient retries stay on; wait loops still wait.)
    pub enabled: bool,
    pub propagation_timeout: Duration,
    pub create_service_timeout: Duration,
    pub delete_timeout: Duration,
    pub log_group_delete_timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub multiplier: f64,
    /// Fraction of each backoff that is randomized (0 = none, 1 = anywhere in [0, backoff]).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            enabled: true,
            propagation_timeout: DEFAULT_PROPAGATION_TIMEOUT,
            create_service_timeout: DEFAULT_CREATE_SERVICE_TIMEOUT,
            delete_timeout: DEFAULT_DELETE_TIMEOUT,
            log_group_delete_timeout: DEFAULT_LOG_GROUP_DELETE_TIMEOUT,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// `--no-retry`: the catalogue is not consulted; the first error surfaces verbatim.
    pub fn disabled() -> Self {
        RetryPolicy {
            enabled: false,
            ..RetryPolicy::default()
        }
    }

    /// One deadline for every window (`--retry-timeout`).
    pub fn with_deadline(mut self, d: Duration) -> Self {
        self.propagation_timeout = d;
        self.create_service_timeout = d;
        self.delete_timeout = d;
        self.log_group_delete_timeout = d;
        self
    }

    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    pub fn window(&self, w: Window) -> Duration {
        match w {
            Window::Propagation => self.propagation_timeout,
            Window::CreateService => self.create_service_timeout,
            Window::Delete => self.delete_timeout,
            Window::LogGroupDelete => self.log_group_delete_timeout,
        }
    }

    /// The backoff schedule: `initial * multiplier^(attempt-1)`, capped, with jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self.initial_backoff.as_secs_f64()
            * self
                .multiplier
                .max(1.0)
                .powi(attempt.saturating_sub(1).min(64) as i32);
        let capped = base.min(self.max_backoff.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = if jitter > 0.0 {
            1.0 - jitter * rand::thread_rng().gen::<f64>()
        } else {
            1.0
        };
        Duration::from_secs_f64((capped * factor).max(0.0))
    }
}

// ---------------------------------------------------------------------------------------------
// The loop.
// ---------------------------------------------------------------------------------------------

/// One error the retry loop absorbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsorbedError {
    pub operation: String,
    pub code: String,
    pub message: String,
    /// Which attempt failed (1 = the first call).
    pub attempt: u32,
    /// Time since the first attempt of this call when the error was absorbed.
    pub waited: Duration,
}

/// A [`RetryPolicy`] plus the record of everything absorbed under it. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Retrier {
    policy: RetryPolicy,
    absorbed: Arc<Mutex<Vec<AbsorbedError>>>,
}

impl Retrier {
    pub fn new(policy: RetryPolicy) -> Retrier {
        Retrier {
            policy,
            absorbed: Arc::default(),
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Everything absorbed so far, in order.
    pub fn absorbed(&self) -> Vec<AbsorbedError> {
        self.absorbed.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Calls `f` until it succeeds, fails with an error the catalogue does not list, or the
    /// entry's deadline passes.
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        self.run(false, f).await
    }

    /// Like [`Retrier::call`], also absorbing "not found" right after our own create.
    pub async fn call_after_create<T, F, Fut>(&self, f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        self.run(true, f).await
    }

    /// A read that may follow our own create: with `after_create`, "not found" is absorbed as in
    /// [`Retrier::call_after_create`]; otherwise a single call, its error returned as is.
    pub async fn read<T, F, Fut>(&self, after_create: bool, mut f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        if after_create {
            self.run(true, f).await
        } else {
            f().await.map_err(Error::from)
        }
    }

    async fn run<T, F, Fut>(&self, after_create: bool, mut f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let start = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let err = match f().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !self.policy.enabled {
                return Err(Error::Aws(err));
            }
            let Some(entry) = classify(&err, after_create) else {
                return Err(Error::Aws(err));
            };
            let elapsed = start.elapsed();
            let pause = self.policy.backoff(attempt);
            if elapsed + pause > self.policy.window(entry.window) {
                tracing::warn!(
                    operation = %err.operation, code = %err.code, attempt,
                    elapsed_ms = elapsed.as_millis() as u64,
                    "retry deadline exceeded: {}", err.message
                );
                return Err(Error::RetryDeadlineExceeded {
                    operation: err.operation.clone(),
                    attempts: attempt,
                    elapsed,
                    last: err,
                });
            }
            tracing::warn!(
                operation = %err.operation, code = %err.code, attempt,
                elapsed_ms = elapsed.as_millis() as u64,
                retry_in_ms = pause.as_millis() as u64,
                reason = entry.reason,
                "absorbed retryable AWS error: {}", err.message
            );
            if let Ok(mut v) = self.absorbed.lock() {
                v.push(AbsorbedError {
                    operation: err.operation.clone(),
                    code: err.code.clone(),
                    message: err.message.clone(),
                    attempt,
                    waited: elapsed,
                });
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Polls `check` until it yields `Some`, with the policy's backoff, for at most `timeout`.
    /// Used by the wait_* functions (these waits run even when retries are disabled).
    pub async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, Error>>,
    {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(v) = check().await? {
                return Ok(v);
            }
            let pause = self.policy.backoff(attempt);
            if start.elapsed() + pause > timeout {
                return Err(Error::WaitTimeout {
                    what: what.to_owned(),
                    after: start.elapsed(),
                });
            }
            tracing::debug!(
                what,
                attempt,
                elapsed_ms = start.elapsed().as_millis() as u64,
                "waiting"
            );
            tokio::time::sleep(pause).await;
        }
    }
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
        ] {
            assert!(classify(&AwsError::new(op, code, msg), false).is_some(), "{op} {code} {msg}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default().with_jitter(0.0);
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(400));
        assert_eq!(p.backoff(20), Duration::from_secs(5));
        let j = RetryPolicy::default();
        for a in 1..10 {
            let b = j.backoff(a);
            assert!(
                b <= Duration::from_secs(5) && b >= Duration::from_millis(100),
                "{b:?}"
            );
        }
    }

    #[tokio::test]
    async fn absorbs_then_succeeds_and_records() {
        let r = Retrier::new(
            RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        );
        let mut n = 0;
        let out = r
            .call(|| {
                n += 1;
                let fail = n <= 2;
                async move {
                    if fail {
                        Err(slr_error())
                    } else {
                        Ok(7)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(out, 7);
        let abs = r.absorbed();
        assert_eq!(abs.len(), 2);
        assert_eq!(abs[0].attempt, 1);
        assert_eq!(abs[1].attempt, 2);
        assert_eq!(abs[0].code, CODE_INVALID_PARAMETER);
    }

    #[tokio::test]
    async fn disabled_surfaces_first_error_verbatim() {
        let r = Retrier::new(RetryPolicy::disabled());
        let err = r
            .call(|| async { Err::<(), _>(slr_error()) })
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("CreateService: InvalidParameterException: {MSG_SLR_NOT_ASSUMABLE_FULL}")
        );
        assert!(r.absorbed().is_empty());
    }

    #[tokio::test]
    async fn deadline_names_operation_and_last_error() {
        let r = Retrier::new(
            RetryPolicy::default()
                .with_deadline(Duration::from_millis(30))
                .with_backoff(Duration::from_millis(5), Duration::from_millis(5)),
        );
        let err = r
            .call(|| async { Err::<(), _>(slr_error()) })
            .await
            .unwrap_err();
        assert!(err.is_retry_deadline_exceeded());
        let s = err.to_string();
        assert!(s.starts_with("CreateService: "), "{s}");
        assert!(s.contains(MSG_SLR_NOT_ASSUMABLE_FULL), "{s}");
        assert_eq!(err.aws_message(), Some(MSG_SLR_NOT_ASSUMABLE_FULL));
    }
}
