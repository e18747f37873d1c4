//! Why this file exists: one error type for the whole library, so the CLI can print any failure
//! as one clear line and callers (harness, scenarios) can ask "which AWS code/message was it?"
//! without string parsing. The Display of an AWS failure is exactly
//! `<Operation>: <Code>: <message verbatim>`, the way AWS sent it.

use std::fmt;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::spec::SpecError;

/// One failed AWS call: the operation, AWS's error code and AWS's message, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub operation: String,
    /// AWS error code (`InvalidParameterException`, `NoSuchEntity`, ...). For failures that never
    /// reached AWS (connection refused, timeout) one of `DispatchFailure`, `TimeoutError`,
    /// `ResponseError`, `ConstructionFailure`.
    pub code: String,
    pub message: String,
    /// HTTP status of the response, when there was one.
    pub status: Option<u16>,
}

impl AwsError {
    pub fn new(operation: &str, code: &str, message: &str) -> AwsError {
        AwsError {
            operation: operation.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
            status: None,
        }
    }

    /// Converts an SDK error of any AWS service into an [`AwsError`] for `operation`.
    pub fn from_sdk<E>(operation: &str, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let (code, message) = match &err {
            SdkError::ServiceError(_) => match err.code() {
                Some(code) => (
                    code.to_owned(),
                    err.message().map(str::to_owned).unwrap_or_default(),
                ),
                None => ("Unknown".to_owned(), DisplayErrorContext(&err).to_string()),
            },
            SdkError::TimeoutError(_) => (
                "TimeoutError".to_owned(),
                DisplayErrorContext(&err).to_string(),
            ),
            SdkError::DispatchFailure(_) => (
                "DispatchFailure".to_owned(),
                DisplayErrorContext(&err).to_string(),
            ),
            SdkError::ResponseError(_) => (
                "ResponseError".to_owned(),
                DisplayErrorContext(&err).to_string(),
            ),
            SdkError::ConstructionFailure(_) => (
                "ConstructionFailure".to_owned(),
                DisplayErrorContext(&err).to_string(),
            ),
            _ => ("Unknown".to_owned(), DisplayErrorContext(&err).to_string()),
        };
        AwsError {
            operation: operation.to_owned(),
            code,
            message,
            status,
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.operation, self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

/// A region and the resources in it that still use the service-linked role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleUsage {
    pub region: String,
    pub resources: Vec<String>,
}

fn render_usage(usage: &[RoleUsage]) -> String {
    if usage.is_empty() {
        return "(no usage list given)".to_owned();
    }
    usage
        .iter()
        .map(|u| format!("{}: [{}]", u.region, u.resources.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stack spec is invalid or unreadable.
    #[error(transparent)]
    Spec(#[from] SpecError),

    /// An AWS call failed with an error the retry catalogue does not absorb (or retries are off).
    #[error("{0}")]
    Aws(AwsError),

    /// A catalogued (retryable) error kept coming back until the deadline passed.
    #[error("{operation}: still failing after {attempts} attempts over {}: last error: {last}",
            humantime::format_duration(*.elapsed))]
    RetryDeadlineExceeded {
        operation: String,
        attempts: u32,
        elapsed: Duration,
        last: AwsError,
    },

    /// A resource with the stack's name exists but lacks the stack's ownership tag.
    #[error(
        "{kind} {name} exists but is not ours: it lacks the ownership tag {tag_key}={tag_value}; \
             rename the stack (project/environment) or tag/remove that resource by hand"
    )]
    NotOurs {
        kind: String,
        name: String,
        tag_key: String,
        tag_value: String,
    },

    /// DeleteServiceLinkedRole's deletion task ended FAILED.
    #[error("service-linked role {role} deletion FAILED: {reason}; still in use by: {}", render_usage(.usage))]
    SlrDeletionFailed {
        role: String,
        reason: String,
        usage: Vec<RoleUsage>,
    },

    /// A wait_* loop (resource reaching a state) ran out of time.
    #[error("timed out after {} waiting for {what}", humantime::format_duration(*.after))]
    WaitTimeout { what: String, after: Duration },

    /// The ECR repository still holds images and the spec does not allow force delete.
    #[error(
        "ECR repository {name} still holds {images} image(s); delete them first or set \
             `ecr.force_delete = true` in the stack spec"
    )]
    RepositoryNotEmpty { name: String, images: usize },

    /// The account does not give us what the stack needs (e.g. no default VPC).
    #[error("{0}")]
    Precondition(String),

    /// A bug or an answer AWS should never give (e.g. a create that returns nothing).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The AWS error code behind this error, if it came from AWS.
    pub fn aws_code(&self) -> Option<&str> {
        self.aws_error().map(|e| e.code.as_str())
    }

    /// AWS's message, verbatim, if this error came from AWS.
    pub fn aws_message(&self) -> Option<&str> {
        self.aws_error().map(|e| e.message.as_str())
    }

    /// The failing operation (e.g. `CreateService`), if this error came from AWS.
    pub fn operation(&self) -> Option<&str> {
        self.aws_error().map(|e| e.operation.as_str())
    }

    /// The underlying AWS error (the last one, for an exceeded retry deadline).
    pub fn aws_error(&self) -> Option<&AwsError> {
        match self {
            Error::Aws(e) => Some(e),
            Error::RetryDeadlineExceeded { last, .. } => Some(last),
            _ => None,
        }
    }

    pub fn is_retry_deadline_exceeded(&self) -> bool {
        matches!(self, Error::RetryDeadlineExceeded { .. })
    }

    pub fn is_not_ours(&self) -> bool {
        matches!(self, Error::NotOurs { .. })
    }
}

impl From<AwsError> for Error {
    fn from(e: AwsError) -> Error {
        Error::Aws(e)
    }
}

/// Shorthand used by every resource module: `.map_err(aws("CreateCluster"))`.
pub fn aws<E>(operation: &'static str) -> impl FnOnce(SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| AwsError::from_sdk(operation, e)
}
