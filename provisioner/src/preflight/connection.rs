//! Why this file exists: what a failed connection to the endpoint means for the check before
//! planning. Nobody there (refused, a host with no address) ends the check at once with a line
//! naming the endpoint; a connection lost before a complete answer (a dropped connection, as AWS
//! and the fault proxy's `flaky` preset both do) is transient and tried again.

use super::error::{root_cause, PreflightError, CONNECT_DEADLINE};

/// Fails at once when the endpoint's host has no address: a retry does not change that in the
/// time a CLI waits, and a typo in `--endpoint-url` deserves its one-line error now. (A lookup
/// that fails later, inside an attempt, is retried like any lost connection.)
pub(super) async fn resolve(endpoint: &str) -> Result<(), PreflightError> {
    let unreachable = |detail: String| PreflightError::Unreachable {
        endpoint: endpoint.to_owned(),
        detail,
    };
    let uri: http::Uri = match endpoint.parse() {
        Ok(uri) => uri,
        // Not a URI: the request builder reports it as a bad endpoint.
        Err(_) => return Ok(()),
    };
    let Some(host) = uri.host() else {
        return Ok(());
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let lookup = tokio::time::timeout(
        CONNECT_DEADLINE,
        tokio::net::lookup_host((host.clone(), port)),
    )
    .await
    .map(|found| found.map(|_| ()));
    match lookup {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(unreachable(format!("cannot resolve the host {host}: {e}"))),
        Err(_) => Err(unreachable(format!(
            "cannot resolve the host {host} within {}s",
            CONNECT_DEADLINE.as_secs()
        ))),
    }
}

/// What a failed connector call means: no connection in time, nobody there (refused, an
/// unresolvable host, a TLS failure), or a connection lost before the answer was complete.
pub(super) fn connection_error(
    endpoint: &str,
    e: &aws_smithy_runtime_api::client::result::ConnectorError,
) -> PreflightError {
    let endpoint = endpoint.to_owned();
    if e.is_timeout() {
        return PreflightError::ConnectTimeout { endpoint };
    }
    let detail = root_cause(e);
    if never_connected(e) {
        PreflightError::Unreachable { endpoint, detail }
    } else {
        PreflightError::Lost { endpoint, detail }
    }
}

/// True when the error chain says no connection was made: refused, or no address to reach.
fn never_connected(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused | ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        next = err.source();
    }
    false
}
