//! Errors of the upstream ([`crate::upstream`]): [`InvalidUpstream`] for a URL that cannot be
//! one, [`UpstreamError`] for a call to the emulator that failed. They name nothing above the
//! upstream, so the modules that talk to the emulator (routes, models) can use them freely.

/// An upstream URL that cannot be used; the public API reports it as
/// [`crate::Error::InvalidUpstream`].
#[derive(Debug, thiserror::Error)]
#[error("upstream {url}: {reason}")]
pub struct InvalidUpstream {
    pub url: String,
    pub reason: String,
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
