//! Why this file exists: a tiny Docker Engine API client (ping, image presence, inspect, list by
//! label, remove) that needs no async runtime: the exit hook runs when none may exist. Its calls
//! are plain blocking socket I/O (HTTP/1.0 over the unix socket or TCP, bounded by
//! [`API_IO_TIMEOUT`]); async code goes through [`DockerApi::unblocked`], which runs them on
//! tokio's blocking pool instead of a runtime thread.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::MANAGED_LABEL;

/// A container's labels.
pub type Labels = BTreeMap<String, String>;

/// Read/write timeout of one engine API request.
pub const API_IO_TIMEOUT: Duration = Duration::from_secs(20);

/// Docker's default socket when `DOCKER_HOST` is unset.
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Where the Docker engine listens: `DOCKER_HOST` (`unix://` or `tcp://`), else the default socket.
#[derive(Debug, Clone)]
pub enum DockerApi {
    Unix(PathBuf),
    Tcp(String),
}

impl DockerApi {
    /// `None` for a `DOCKER_HOST` scheme this client does not speak (ssh://, npipe://).
    pub fn from_env() -> Option<DockerApi> {
        match std::env::var("DOCKER_HOST") {
            Ok(h) if !h.trim().is_empty() => DockerApi::parse(h.trim()),
            _ => Some(DockerApi::Unix(PathBuf::from(DEFAULT_SOCKET))),
        }
    }

    pub(super) fn parse(host: &str) -> Option<DockerApi> {
        if let Some(path) = host.strip_prefix("unix://") {
            return Some(DockerApi::Unix(PathBuf::from(path)));
        }
        host.strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
            .map(|addr| DockerApi::Tcp(addr.trim_end_matches('/').to_string()))
    }

    /// `unix:///var/run/docker.sock` or `tcp://host:port`.
    pub fn describe(&self) -> String {
        match self {
            DockerApi::Unix(p) => format!("unix://{}", p.display()),
            DockerApi::Tcp(a) => format!("tcp://{a}"),
        }
    }

    /// Runs blocking engine calls `f` on tokio's blocking pool, so an async caller's runtime
    /// thread never waits on the socket.
    pub async fn unblocked<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&DockerApi) -> Result<T, String> + Send + 'static,
    {
        let api = self.clone();
        tokio::task::spawn_blocking(move || f(&api))
            .await
            .unwrap_or_else(|e| Err(format!("docker API task failed: {e}")))
    }

    /// One HTTP/1.0 request (the engine then answers without chunking and closes).
    fn request(&self, method: &str, path: &str) -> Result<(u16, String), String> {
        let req =
            format!("{method} {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: harness\r\n\r\n");
        let raw = match self {
            DockerApi::Unix(p) => {
                let s = std::os::unix::net::UnixStream::connect(p)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                s.set_read_timeout(Some(API_IO_TIMEOUT)).ok();
                s.set_write_timeout(Some(API_IO_TIMEOUT)).ok();
                exchange(s, &req)?
            }
            DockerApi::Tcp(a) => {
                let s = std::net::TcpStream::connect(a).map_err(|e| format!("{a}: {e}"))?;
                s.set_read_timeout(Some(API_IO_TIMEOUT)).ok();
                s.set_write_timeout(Some(API_IO_TIMEOUT)).ok();
                exchange(s, &req)?
            }
        };
        parse_answer(&raw)
    }

    /// `GET /_ping` answers `OK`.
    pub fn ping(&self) -> Result<(), String> {
        match self.request("GET", "/_ping")? {
            (200, _) => Ok(()),
            (status, body) => Err(format!("engine answered HTTP {status}: {}", body.trim())),
        }
    }

    pub fn image_exists(&self, reference: &str) -> Result<bool, String> {
        let (status, _) = self.request("GET", &format!("/images/{reference}/json"))?;
        Ok(status == 200)
    }

    /// `Some(state)` (`running`, `exited`, ...) of a container, `None` when it does not exist.
    pub fn container_state(&self, id: &str) -> Result<Option<String>, String> {
        match self.request("GET", &format!("/containers/{id}/json"))? {
            (404, _) => Ok(None),
            (200, body) => {
                let doc: serde_json::Value =
                    serde_json::from_str(&body).map_err(|e| format!("inspect: {e}"))?;
                Ok(Some(
                    doc.pointer("/State/Status")
                        .and_then(|v| v.as_str())
                        .unwrap_or("unknown")
                        .to_string(),
                ))
            }
            (status, body) => Err(format!("HTTP {status}: {}", body.trim())),
        }
    }

    /// Force-removes a container and its anonymous volumes; a missing container is success.
    pub fn remove_container(&self, id: &str) -> Result<(), String> {
        match self.request("DELETE", &format!("/containers/{id}?force=1&v=1"))? {
            (200..=299, _) | (404, _) => Ok(()),
            (status, body) => Err(format!("HTTP {status}: {}", body.trim())),
        }
    }

    /// Every container (running or not) with `harness.managed=true`: id and labels.
    pub fn managed_containers(&self) -> Result<Vec<(String, Labels)>, String> {
        let filters = format!(r#"{{"label":["{MANAGED_LABEL}=true"]}}"#);
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("all", "1")
            .append_pair("filters", &filters)
            .finish();
        let (status, body) = self.request("GET", &format!("/containers/json?{query}"))?;
        if status != 200 {
            return Err(format!("HTTP {status}: {}", body.trim()));
        }
        let list: Vec<serde_json::Value> =
            serde_json::from_str(&body).map_err(|e| format!("container list: {e}"))?;
        Ok(list.iter().filter_map(id_and_labels).collect())
    }
}

/// Writes `req` and reads the whole answer.
fn exchange(mut stream: impl Read + Write, req: &str) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    stream
        .write_all(req.as_bytes())
        .map_err(|e| e.to_string())?;
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    Ok(raw)
}

/// `(status, body)` of a raw HTTP/1.0 answer.
fn parse_answer(raw: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            format!(
                "not an HTTP answer: {:?}",
                head.chars().take(80).collect::<String>()
            )
        })?;
    Ok((status, body.to_string()))
}

/// `Id` and `Labels` of one entry of `GET /containers/json`.
fn id_and_labels(c: &serde_json::Value) -> Option<(String, Labels)> {
    let id = c.get("Id")?.as_str()?.to_string();
    let labels = c
        .get("Labels")
        .and_then(|l| l.as_object())
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Some((id, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn docker_hosts() {
        assert!(
            matches!(DockerApi::parse("unix:///run/docker.sock"), Some(DockerApi::Unix(p)) if p == Path::new("/run/docker.sock"))
        );
        assert!(
            matches!(DockerApi::parse("tcp://127.0.0.1:2375"), Some(DockerApi::Tcp(a)) if a == "127.0.0.1:2375")
        );
        assert!(DockerApi::parse("ssh://me@host").is_none());
    }

    #[test]
    fn answers_and_listings() {
        let raw = b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such container";
        assert_eq!(
            parse_answer(raw).unwrap(),
            (404, "no such container".to_string())
        );
        assert!(parse_answer(b"garbage").is_err());
        let entry = serde_json::json!({"Id": "abc", "Labels": {"harness.pid": "7", "n": 1}});
        let (id, labels) = id_and_labels(&entry).unwrap();
        assert_eq!(id, "abc");
        assert_eq!(labels.get("harness.pid").map(String::as_str), Some("7"));
        assert!(!labels.contains_key("n"), "non-string labels are skipped");
    }

    #[tokio::test]
    async fn unblocked_calls_report_engine_errors() {
        let api = DockerApi::Unix(PathBuf::from("/nonexistent/docker.sock"));
        let err = api.unblocked(|api| api.ping()).await.unwrap_err();
        assert!(err.contains("/nonexistent/docker.sock"), "{err}");
    }
}
