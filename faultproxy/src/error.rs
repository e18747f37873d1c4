//! The crate's errors: [`Error`] for the public API (starting a proxy, changing its rules and
//! presets), [`UpstreamError`] for calls to the emulator behind it. No call of the public API
//! panics on bad input; each returns one of these, naming what to change.

use std::net::SocketAddr;

use crate::presets::PresetError;
use crate::rules::RuleError;

/// What went wrong in a public call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The upstream URL cannot be used.
    #[error("upstream {url}: {reason}")]
    InvalidUpstream { url: String, reason: String },
    /// A per-service route cannot be used (bad syntax, a service routed twice).
    #[error(transparent)]
    Route(crate::routes::RouteError),
    /// The listen address could not be bound.
    #[error("proxy cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A limit of [`crate::Limits`] cannot be used.
    #[error("invalid proxy limits: {0}")]
    InvalidLimits(String),
    /// A rule set was rejected.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// A preset could not be parsed.
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// Local I/O of the command line (writing the endpoint line).
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// A call to the emulator that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP exchange with the upstream failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("cannot build the upstream request: {0}")]
    Request(#[from] http::Error),
    #[error("invalid header value for the upstream request: {0}")]
    Header(#[from] http::header::InvalidHeaderValue),
    #[error("{what} timed out after {after:?}")]
    Timeout {
        what: String,
        after: std::time::Duration,
    },
    /// The emulator answered, but not with what the model needed.
    #[error("upstream {what} answered HTTP {status}: {body}")]
    Answered {
        what: String,
        status: u16,
        body: String,
    },
    #[error("upstream answer is not the JSON expected: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{what}: {source}")]
    Call {
        what: String,
        #[source]
        source: Box<UpstreamError>,
    },
}

impl UpstreamError {
    /// The same error, saying which call it broke.
    pub(crate) fn within(self, what: String) -> UpstreamError {
        UpstreamError::Call {
            what,
            source: Box::new(self),
        }
    }
}
