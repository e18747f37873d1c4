//! Why this file exists: why the endpoint check before planning failed, as the one line the
//! user sees, and which failures the transient-retry policy tries again. Shared by the check
//! (mod.rs) and the reading of failed connections (connection.rs).

use std::fmt;
use std::time::Duration;

use crate::clients::SDK_ATTEMPT_TIMEOUT;
use crate::retry::classify_transient;

/// Deadline for the TCP (and TLS) connection to the endpoint.
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(3);
/// Deadline for the whole exchange, connection included: every call's per-attempt deadline
/// ([`SDK_ATTEMPT_TIMEOUT`]). STS answers in well under a second; an emulator busy with many
/// accounts at once can take seconds.
pub const ANSWER_DEADLINE: Duration = SDK_ATTEMPT_TIMEOUT;

/// The fix named when the endpoint cannot be reached or is not an AWS API.
pub const ENDPOINT_HINT: &str =
    "is `harness up` running? check --endpoint-url / AWS_ENDPOINT_URL (unset it for real AWS)";
/// The fix named when the endpoint keeps answering with transient errors.
pub const OVERLOADED_HINT: &str =
    "the endpoint is overloaded or restarting: try again later, or check --endpoint-url / AWS_ENDPOINT_URL";

/// AWS error codes that mean the request's credentials (or the clock that signed it) were
/// rejected: the only answers reported with [`CREDENTIALS_HINT`].
/// Sources: https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
/// (`AccessDeniedException`, `IncompleteSignature`, `InvalidClientTokenId`, `NotAuthorized`,
/// `OptInRequired`, `RequestExpired`) and the codes AWS's SigV4 front ends send for a bad or
/// expired key (`SignatureDoesNotMatch`, `MissingAuthenticationToken`, `ExpiredToken`,
/// `AccessDenied`, `UnrecognizedClientException`, `InvalidAccessKeyId`, `AuthFailure`):
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_sts.html
pub const CREDENTIAL_ERROR_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "AccessDenied",
    "AccessDeniedException",
    "NotAuthorized",
    "OptInRequired",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "AuthFailure",
];
/// The fix named when the endpoint rejects the credentials.
pub const CREDENTIALS_HINT: &str =
    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE (against `harness up`: use the credentials it printed)";
/// The fix named when there are no credentials at all.
pub const NO_CREDENTIALS_HINT: &str = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (against `harness up`: the lines it printed)";

/// Why the endpoint check failed; its Display is the one line the user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreflightError {
    /// No credentials provider, or the chain found none (or took too long).
    NoCredentials { detail: String },
    /// Nothing to talk to: the URL cannot be turned into a request.
    BadEndpoint { endpoint: String, detail: String },
    /// The TCP/TLS connection failed (refused, unresolvable host, TLS error).
    Unreachable { endpoint: String, detail: String },
    /// The connection was closed or reset before a complete answer (a dropped connection).
    Lost { endpoint: String, detail: String },
    /// No connection within [`CONNECT_DEADLINE`].
    ConnectTimeout { endpoint: String },
    /// Connected, but no complete answer within [`ANSWER_DEADLINE`].
    NoAnswer { endpoint: String },
    /// An answer that is not an AWS API's (an HTML page, a bare 404, ...).
    NotAws {
        endpoint: String,
        status: u16,
        content_type: String,
    },
    /// AWS rejected the credentials: a code in [`CREDENTIAL_ERROR_CODES`].
    Rejected(AwsAnswer),
    /// Another AWS error that a retry does not change (an emulator without STS, say).
    Failed(AwsAnswer),
    /// Transient errors until the retry policy's bound; `last` is the last of them.
    KeptFailing {
        endpoint: String,
        summary: String,
        last: Box<PreflightError>,
    },
}

/// An AWS error document the endpoint answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsAnswer {
    pub endpoint: String,
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl fmt::Display for AwsAnswer {
    /// `sts GetCallerIdentity: CODE: MESSAGE (HTTP 403, request id ID)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sts GetCallerIdentity: {}: {} (HTTP {}",
            self.code, self.message, self.status
        )?;
        if let Some(id) = &self.request_id {
            write!(f, ", request id {id}")?;
        }
        write!(f, ")")
    }
}

impl PreflightError {
    /// Whether the transient-retry policy tries again after this failure: the policy's codes
    /// and statuses for AWS answers, a 5xx page, and a connection lost before a complete
    /// answer, or no answer within [`ANSWER_DEADLINE`] (an emulator serving many accounts at
    /// once). A refused connection, an unresolvable host and no connection within
    /// [`CONNECT_DEADLINE`] end the check.
    pub fn is_transient(&self) -> bool {
        match self {
            PreflightError::Rejected(_) => false,
            PreflightError::Failed(a) => classify_transient(&a.code, Some(a.status)).is_some(),
            PreflightError::NotAws { status, .. } => {
                classify_transient("", Some(*status)).is_some()
            }
            PreflightError::Lost { .. } | PreflightError::NoAnswer { .. } => true,
            _ => false,
        }
    }

    /// What the endpoint answered, for the line that reports a check that kept failing.
    fn answer(&self) -> String {
        match self {
            PreflightError::Rejected(a) | PreflightError::Failed(a) => a.to_string(),
            PreflightError::NotAws {
                status,
                content_type,
                ..
            } => format!("HTTP {status} ({content_type}), not an AWS API answer"),
            PreflightError::Lost { detail, .. } => detail.clone(),
            PreflightError::NoAnswer { .. } => {
                format!("no answer within {}s", ANSWER_DEADLINE.as_secs())
            }
            other => other.to_string(),
        }
    }
}

impl fmt::Display for PreflightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreflightError::NoCredentials { detail } => {
                write!(f, "no AWS credentials found ({detail}); {NO_CREDENTIALS_HINT}")
            }
            PreflightError::BadEndpoint { endpoint, detail } => write!(
                f,
                "the AWS endpoint {endpoint} is not usable ({detail}); {ENDPOINT_HINT}"
            ),
            PreflightError::Unreachable { endpoint, detail } => write!(
                f,
                "cannot reach the AWS endpoint {endpoint}: {detail}; {ENDPOINT_HINT}"
            ),
            PreflightError::ConnectTimeout { endpoint } => write!(
                f,
                "the AWS endpoint {endpoint} did not accept a connection within {}s; {ENDPOINT_HINT}",
                CONNECT_DEADLINE.as_secs()
            ),
            PreflightError::NoAnswer { endpoint } => write!(
                f,
                "the AWS endpoint {endpoint} accepted the connection but sent no answer within {}s; {ENDPOINT_HINT}",
                ANSWER_DEADLINE.as_secs()
            ),
            PreflightError::NotAws {
                endpoint,
                status,
                content_type,
            } => write!(
                f,
                "the endpoint {endpoint} answered HTTP {status} ({content_type}), not an AWS API answer; {ENDPOINT_HINT}"
            ),
            PreflightError::Lost { endpoint, detail } => write!(
                f,
                "the AWS endpoint {endpoint} closed the connection before answering GetCallerIdentity: {detail}; {ENDPOINT_HINT}"
            ),
            PreflightError::Rejected(a) => write!(
                f,
                "the AWS endpoint {} rejected GetCallerIdentity: {a}; {CREDENTIALS_HINT}",
                a.endpoint
            ),
            PreflightError::Failed(a) => write!(
                f,
                "the AWS endpoint {} answered GetCallerIdentity with an error: {a}; {ENDPOINT_HINT}",
                a.endpoint
            ),
            PreflightError::KeptFailing {
                endpoint,
                summary,
                last,
            } => write!(
                f,
                "the AWS endpoint {endpoint} kept failing GetCallerIdentity ({summary}); last answer: {}; {OVERLOADED_HINT}",
                last.answer()
            ),
        }
    }
}

impl std::error::Error for PreflightError {}

/// The innermost error's Display (the one that says what happened), never a `Debug`.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
