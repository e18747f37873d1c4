//! Why this file exists: one error type for the whole library, so the CLI can print any failure
//! as one clear line and callers (harness, scenarios) can ask "which AWS code/message was it?"
//! without string parsing. The Display of an AWS failure is exactly
//! `<Operation>: <Code>: <message verbatim>`, the way AWS sent it.

use std::fmt;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
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
    /// Which service answered and its request id, when known (boxed: errors stay small).
    pub call: Option<Box<CallInfo>>,
}

/// What identifies a failed call to AWS support: the service and AWS's request id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallInfo {
    /// The service's SDK name (`ecs`, `iam`, `ecr`, `cloudwatchlogs`, `ec2`).
    pub service: Option<String>,
    /// AWS's request id of the failed call, when the answer carried one.
    pub request_id: Option<String>,
}

impl CallInfo {
    /// `Some` boxed info when anything is known.
    pub fn boxed(service: Option<String>, request_id: Option<String>) -> Option<Box<CallInfo>> {
        (service.is_some() || request_id.is_some()).then(|| {
            Box::new(CallInfo {
                service,
                request_id,
            })
        })
    }
}

impl AwsError {
    pub fn new(operation: &str, code: &str, message: &str) -> AwsError {
        AwsError {
            operation: operation.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
            status: None,
            call: None,
        }
    }

    /// The service's SDK name, when known.
    pub fn service(&self) -> Option<&str> {
        self.call.as_ref()?.service.as_deref()
    }

    /// AWS's request id, when known.
    pub fn request_id(&self) -> Option<&str> {
        self.call.as_ref()?.request_id.as_deref()
    }

    /// `service operation, HTTP status, request id` as far as known: the details a user quotes
    /// to AWS support, printed by the CLIs under the error line.
    pub fn details(&self) -> String {
        let mut out = match self.service() {
            Some(s) => format!("{s} {}", self.operation),
            None => self.operation.clone(),
        };
        out.push_str(&format!(", code {}", self.code));
        if let Some(status) = self.status {
            out.push_str(&format!(", HTTP {status}"));
        }
        if let Some(id) = self.request_id() {
            out.push_str(&format!(", request id {id}"));
        }
        out
    }

    /// Converts an SDK error of any AWS service into an [`AwsError`] for `operation`.
    pub fn from_sdk<E>(operation: &str, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let request_id = err
            .meta()
            .extra("aws_request_id")
            .map(str::to_owned)
            .or_else(|| {
                let headers = err.raw_response()?.headers();
                ["x-amzn-requestid", "x-amz-request-id"]
                    .iter()
                    .find_map(|h| headers.get(*h).map(str::to_owned))
            });
        let (code, message) = match &err {
            SdkError::ServiceError(_) => match err.code() {
                Some(code) => (
                    code.to_owned(),
                    err.message().map(str::to_owned).unwrap_or_default(),
                ),
                None => ("Unknown".to_owned(), display_chain(&err)),
            },
            SdkError::TimeoutError(_) => ("TimeoutError".to_owned(), display_chain(&err)),
            SdkError::DispatchFailure(_) => ("DispatchFailure".to_owned(), display_chain(&err)),
            SdkError::ResponseError(_) => ("ResponseError".to_owned(), display_chain(&err)),
            SdkError::ConstructionFailure(_) => {
                ("ConstructionFailure".to_owned(), display_chain(&err))
            }
            _ => ("Unknown".to_owned(), display_chain(&err)),
        };
        AwsError {
            operation: operation.to_owned(),
            code,
            message,
            status,
            call: CallInfo::boxed(sdk_service_name::<E>(), request_id),
        }
    }
}

/// The SDK crate an operation error type comes from (`aws_sdk_ecs::...` -> `ecs`).
fn sdk_service_name<E>() -> Option<String> {
    let ty = std::any::type_name::<E>();
    let name = ty.strip_prefix("aws_sdk_")?.split("::").next()?;
    Some(name.to_owned())
}

/// An error and its sources, each by its `Display`, joined with `: ` (repeats dropped): what
/// went wrong down to the root cause, never a `Debug` dump.
pub fn display_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
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
        /// AWS's last error (boxed: `Error` stays small).
        last: Box<AwsError>,
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
            Error::RetryDeadlineExceeded { last, .. } => Some(last.as_ref()),
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
