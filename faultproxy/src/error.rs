//! [`Error`], the error of the crate's public API (starting a proxy, changing its rules and
//! presets). No call of the public API panics on bad input; each returns an [`Error`] naming what
//! to change. It gathers the errors of the modules below it, which never name it themselves.

use std::net::SocketAddr;

use crate::presets::PresetError;
use crate::routes::RouteError;
use crate::rules::RuleError;
use crate::upstream_error::InvalidUpstream;

/// What went wrong in a public call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The upstream URL cannot be used.
    #[error("upstream {url}: {reason}")]
    InvalidUpstream { url: String, reason: String },
    /// More processes of the main upstream than the proxy spreads accounts over.
    #[error("{given} shards of the upstream (the upstream and --shard); at most {max}")]
    TooManyShards { given: usize, max: usize },
    /// A per-service route cannot be used (bad syntax, a service routed twice).
    #[error(transparent)]
    Route(#[from] RouteError),
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

impl From<InvalidUpstream> for Error {
    fn from(e: InvalidUpstream) -> Error {
        Error::InvalidUpstream {
            url: e.url,
            reason: e.reason,
        }
    }
}
