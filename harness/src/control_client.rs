//! Why this file exists: `harness run` attached to a running `harness up`, `harness status` and
//! `harness down` talk to that `up`'s proxy through its control API (`/_harness/`, served by
//! faultproxy/src/control.rs). This is their one small HTTP client: plain HTTP to a loopback or
//! LAN proxy, every call bounded by [`CALL_TIMEOUT`], every failure one line naming the URL.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

/// Bound on one control call: a proxy that serves answers in milliseconds.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A proxy's control API, at `base` (`http://HOST:PORT`).
#[derive(Debug, Clone)]
pub struct Control {
    base: String,
}

impl Control {
    /// Checks that `url` is an `http://HOST:PORT` URL.
    pub fn new(url: &str) -> Result<Control, String> {
        let parsed = url::Url::parse(url)
            .map_err(|e| format!("{url:?} is not a URL ({e}); expected http://HOST:PORT"))?;
        if parsed.scheme() != "http" || parsed.host_str().is_none() {
            return Err(format!(
                "{url:?} is not an http://HOST:PORT URL (the proxy serves plain HTTP)"
            ));
        }
        Ok(Control {
            base: url.trim_end_matches('/').to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// One call; `Ok((status, body))` for any HTTP answer.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: &str,
    ) -> Result<(StatusCode, Bytes), String> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", self.base))
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| format!("{}{path_and_query}: {e}", self.base))?;
        let answer = async {
            let response = client.request(request).await.map_err(|e| {
                // The innermost cause names it best ("Connection refused (os error 111)").
                let mut cause: &dyn std::error::Error = &e;
                while let Some(inner) = cause.source() {
                    cause = inner;
                }
                format!("no harness answers at {} ({cause})", self.base)
            })?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the answer of {}: {e}", self.base))?
                .to_bytes();
            Ok((status, bytes))
        };
        tokio::time::timeout(CALL_TIMEOUT, answer)
            .await
            .map_err(|_| {
                format!(
                    "{} did not answer {path_and_query} within {CALL_TIMEOUT:?}",
                    self.base
                )
            })?
    }

    /// A call that must answer 2xx with JSON of type `T`; otherwise the proxy's own error text.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: &str,
    ) -> Result<T, String> {
        let (status, bytes) = self.call(method.clone(), path_and_query, body).await?;
        if !status.is_success() {
            let said = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
            return Err(format!(
                "{method} {}{path_and_query} answered {status}: {said}",
                self.base
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{method} {}{path_and_query}: the answer is not what a harness proxy sends ({e}); is it a harness?",
                self.base
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls() {
        assert!(Control::new("http://127.0.0.1:4566/").is_ok());
        let e = Control::new("localhost:4566").unwrap_err();
        assert!(e.contains("http://HOST:PORT"), "{e}");
        let e = Control::new("https://x:1").unwrap_err();
        assert!(e.contains("plain HTTP"), "{e}");
        let e = Control::new("not a url").unwrap_err();
        assert!(e.contains("is not a URL"), "{e}");
    }

    #[tokio::test]
    async fn nothing_listening_is_one_line_naming_the_url() {
        // A port from a listener that is closed again: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Control::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let e = c
            .call(Method::GET, "/_harness/health", "")
            .await
            .unwrap_err();
        assert!(e.contains("no harness answers at http://127.0.0.1:"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
