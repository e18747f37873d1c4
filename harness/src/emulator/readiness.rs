//! Why this file exists: "ready" means "answers HTTP", for every backend. One small probe, one
//! deadline setting (`HARNESS_READY_TIMEOUT`, default 30 s), shared by all backends; and, for
//! moto (process or container), a warm-up so its slow first call per service is paid here.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::accounts::MOTO_DEFAULT_ACCOUNT;

/// Default readiness deadline when `HARNESS_READY_TIMEOUT` is not set.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Time between two readiness probes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Upper bound for a single probe (connect + response head).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness deadline: `HARNESS_READY_TIMEOUT` (`"45s"`, `"2m"`, or plain seconds), else `default`.
pub fn ready_timeout(default: Duration) -> Result<Duration, super::EmulatorError> {
    match std::env::var("HARNESS_READY_TIMEOUT") {
        Ok(v) if !v.trim().is_empty() => parse_duration(&v).ok_or_else(|| {
            super::EmulatorError::Config(format!(
                "HARNESS_READY_TIMEOUT={v:?} is not a duration (examples: 30s, 2m, 45)"
            ))
        }),
        _ => Ok(default),
    }
}

/// Parses `"30s"`, `"1m 30s"`, `"500ms"` or a plain number of seconds (`"30"`, `"0.5"`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(text).ok()
}

/// One HTTP GET bounded by `timeout` (at most 2 s); `Ok(status)` for any answer,
/// `Err(description)` otherwise.
pub async fn probe(url: &str, timeout: Duration) -> Result<u16, String> {
    let timeout = timeout.min(PROBE_TIMEOUT).max(Duration::from_millis(10));
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: http::Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
    let request = http::Request::get(uri)
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(timeout, client.request(request)).await {
        Err(_) => Err(format!("no answer within {timeout:?}")),
        Ok(Err(e)) => Err(describe_client_error(&e)),
        Ok(Ok(response)) => {
            let status = response.status().as_u16();
            // Drain (bounded) so the connection closes cleanly.
            let _ = tokio::time::timeout(timeout, response.into_body().collect()).await;
            Ok(status)
        }
    }
}

/// One GET returning status and body text, for backends that sniff what is listening (a probe:
/// at most 2 s).
pub async fn get_text(url: &str) -> Result<(u16, String), String> {
    get_text_within(url, PROBE_TIMEOUT).await
}

/// [`get_text`] with a deadline of the caller's: a call that does work on a busy emulator (moto's
/// `/moto-api/seed`) may take longer than a probe is given.
pub async fn get_text_within(url: &str, timeout: Duration) -> Result<(u16, String), String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: http::Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
    let request = http::Request::get(uri)
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
        .map_err(|e| describe_client_error(&e))?;
    let status = response.status().as_u16();
    let body = tokio::time::timeout(timeout, response.into_body().collect())
        .await
        .map_err(|_| "body not received in time".to_string())?
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn describe_client_error(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One read-only call per service the provisioner uses, in moto's default account (never a
/// test account). moto imports a service's code on its first request: ~2.5 s for ECS and ~1 s
/// for EC2 on these machines. Paying that here keeps it out of the first test's timings
/// (fault windows of a few seconds are measured against them). Failures are ignored: this is
/// only a warm-up. The calls name the default account with `x-moto-account-id`, as every other
/// request the harness sends does: without it moto looks the access key up in every account's
/// IAM backend of every partition, building the six it lacks (~0.3 s of moto CPU at each start).
pub const WARMUP_CALLS: [(&str, &str, &str); 5] = [
    (
        "ecs",
        "AmazonEC2ContainerServiceV20141113.ListClusters",
        "{}",
    ),
    ("ec2", "", "Action=DescribeVpcs&Version=2016-11-15"),
    ("iam", "", "Action=ListRoles&Version=2010-05-08"),
    (
        "ecr",
        "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        "{}",
    ),
    ("logs", "Logs_20140328.DescribeLogGroups", "{}"),
];

pub async fn warm_up_moto(base: &url::Url) -> Duration {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let started = std::time::Instant::now();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    for (service, target, body) in WARMUP_CALLS {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={MOTO_DEFAULT_ACCOUNT}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let mut request = http::Request::post(base.as_str())
            .header("authorization", auth)
            .header("x-moto-account-id", MOTO_DEFAULT_ACCOUNT);
        request = if target.is_empty() {
            request.header("content-type", "application/x-www-form-urlencoded")
        } else {
            request
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", target)
        };
        let Ok(request) = request.body(Full::new(Bytes::from_static(body.as_bytes()))) else {
            continue;
        };
        if let Ok(Ok(response)) =
            tokio::time::timeout(Duration::from_secs(30), client.request(request)).await
        {
            let _ = response.into_body().collect().await;
        }
    }
    started.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m 30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-1"), None);
    }
}
