//! The proxy's limits and deadlines as a server: how long a client may take to send its headers,
//! how large headers and bodies may be, how long the emulator may take to accept a connection and
//! to answer, how many journal entries are kept, and who may use the control API. Every limit
//! has a default that real AWS clients never reach, a `faultproxy` flag, and an AWS-shaped answer
//! when it is hit (see `pipeline.rs`).

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::journal::JOURNAL_CAPACITY;

/// Default largest request body the proxy buffers (AWS API calls are far below; ECR layer parts fit).
pub const MAX_REQUEST_BODY: usize = 32 * 1024 * 1024;

/// Default time a client has to send a request's whole head (a slowloris client is cut then).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default largest request head (request line and headers). AWS SDK requests carry about 1-2 KiB.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Default time to open a TCP connection to the emulator.
pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time the emulator has to answer a forwarded request completely.
pub const UPSTREAM_ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// Who may call the control API (`/_harness/...`, `/_localstack/chaos/...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ControlAccess {
    /// Only clients connecting from a loopback address (the default).
    #[default]
    Loopback,
    /// Any client that can reach the listener (containers whose port is published to the host).
    Any,
}

impl ControlAccess {
    /// Whether a client connecting from `peer` may use the control API.
    pub fn allows(self, peer: IpAddr) -> bool {
        match self {
            ControlAccess::Any => true,
            ControlAccess::Loopback => is_loopback(peer),
        }
    }
}

/// Loopback, including IPv4 loopback mapped into IPv6 (`::ffff:127.0.0.1`, from a dual-stack
/// listener).
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The proxy's limits; [`Limits::default`] gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Time a client has to send a request's head; the connection is closed after it.
    pub header_read_timeout: Duration,
    /// Largest request head; larger ones get 431 `RequestHeaderSectionTooLarge`.
    pub max_header_bytes: usize,
    /// Largest request body; larger ones get 413 `RequestEntityTooLarge`.
    pub max_body_bytes: usize,
    /// Time to connect to the emulator; then 503 `ServiceUnavailable`.
    pub upstream_connect_timeout: Duration,
    /// Time the emulator has to answer; then 504 `RequestTimeout`.
    pub upstream_answer_timeout: Duration,
    /// Journal entries kept (the oldest are dropped and counted beyond it).
    pub journal_capacity: usize,
    /// Who may use the control API.
    pub control_access: ControlAccess,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_header_bytes: MAX_HEADER_BYTES,
            max_body_bytes: MAX_REQUEST_BODY,
            upstream_connect_timeout: UPSTREAM_CONNECT_TIMEOUT,
            upstream_answer_timeout: UPSTREAM_ANSWER_TIMEOUT,
            journal_capacity: JOURNAL_CAPACITY,
            control_access: ControlAccess::Loopback,
        }
    }
}

impl Limits {
    /// Checks the limits are usable; the error names the setting and what to change.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("header read timeout", self.header_read_timeout),
            ("upstream connect timeout", self.upstream_connect_timeout),
            ("upstream answer timeout", self.upstream_answer_timeout),
        ];
        for (what, d) in positive {
            if d.is_zero() {
                return Err(format!("{what} must be greater than 0"));
            }
        }
        if self.max_header_bytes < 1024 {
            return Err(format!(
                "max header bytes must be at least 1024 (an AWS SDK request head is 1-2 KiB), got {}",
                self.max_header_bytes
            ));
        }
        if self.journal_capacity == 0 {
            return Err("journal capacity must be at least 1".into());
        }
        Ok(())
    }

    /// The read buffer hyper may fill with a request head: above the limit, so that a head a
    /// little over it still reaches the pipeline and gets the AWS-shaped 431 (hyper answers a bare
    /// 431 only to heads beyond this).
    pub(crate) fn hyper_buffer(&self) -> usize {
        (self.max_header_bytes.saturating_mul(2)).max(8192 + 4096 * 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn control_access_by_peer() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let lan = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        assert!(ControlAccess::Loopback.allows(lo));
        assert!(ControlAccess::Loopback.allows(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert!(ControlAccess::Loopback.allows(mapped));
        assert!(!ControlAccess::Loopback.allows(lan));
        assert!(ControlAccess::Any.allows(lan));
    }

    #[test]
    fn validation_names_the_setting() {
        assert!(Limits::default().validate().is_ok());
        let l = Limits {
            header_read_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("header read timeout"));
        let l = Limits {
            max_header_bytes: 10,
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("max header bytes"));
        let l = Limits {
            journal_capacity: 0,
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("journal capacity"));
    }
}
