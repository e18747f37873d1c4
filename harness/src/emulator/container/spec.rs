//! Why this file exists: what a container backend hands the runner, the way testcontainers-rs
//! separates an image description from the runner that starts it: the image (`name:tag`, which
//! may come from an environment variable or a locally built fallback), the port, environment
//! (secrets kept out of every printout), the readiness condition (an HTTP path answering 2xx
//! within a deadline) and how to get the image where it cannot be pulled.

use std::fmt;
use std::time::Duration;

use super::engine::DockerApi;
use crate::emulator::{Backend, EmulatorError};

/// `name:tag`, overridable by an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub name: String,
    pub tag: String,
}

impl ImageRef {
    /// Parses `name[:tag]` (a registry host with a port, `host:5000/x`, keeps its port).
    pub fn parse(text: &str) -> Option<ImageRef> {
        let text = text.trim();
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        let slash = text.rfind('/').map(|i| i + 1).unwrap_or(0);
        match text[slash..].rfind(':') {
            Some(i) if slash + i + 1 < text.len() => Some(ImageRef {
                name: text[..slash + i].to_string(),
                tag: text[slash + i + 1..].to_string(),
            }),
            Some(_) => None,
            None => Some(ImageRef {
                name: text.to_string(),
                tag: "latest".to_string(),
            }),
        }
    }

    /// `var` if set and non-empty, else `default`. A malformed value is a configuration error.
    pub fn from_env_or(var: &str, default: &str) -> Result<ImageRef, EmulatorError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => ImageRef::parse(&v).ok_or_else(|| {
                EmulatorError::Config(format!(
                    "{var}={v:?} is not an image reference (name[:tag])"
                ))
            }),
            _ => ImageRef::parse(default).ok_or_else(|| {
                EmulatorError::Config(format!("{default:?} is not an image reference"))
            }),
        }
    }

    /// Like [`ImageRef::from_env_or`], but when `var` is unset, the default image is not on
    /// this machine and the locally built `local` one is, `local` is used: after
    /// `scripts/build-images.sh` the container backends work here without further settings.
    /// (On a machine with a registry the default is pulled as usual.) The engine is asked off
    /// the runtime threads.
    pub async fn from_env_or_local(
        var: &str,
        default: &str,
        local: &str,
    ) -> Result<ImageRef, EmulatorError> {
        let chosen = ImageRef::from_env_or(var, default)?;
        let explicit = std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
        if explicit {
            return Ok(chosen);
        }
        let Some(api) = DockerApi::from_env() else {
            return Ok(chosen);
        };
        let (default_ref, local_ref) = (default.to_string(), local.to_string());
        let use_local = api
            .unblocked(move |api| {
                let has = |r: &str| api.image_exists(r).unwrap_or(false);
                Ok(!has(&default_ref) && has(&local_ref))
            })
            .await
            .unwrap_or(false);
        match (use_local, ImageRef::parse(local)) {
            (true, Some(local)) => Ok(local),
            _ => Ok(chosen),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// What the runner needs to know about a container, besides the testcontainers `Image`.
#[derive(Clone)]
pub struct ContainerSpec {
    pub backend: Backend,
    pub image: ImageRef,
    /// The port the emulator listens on inside the container (mapped to an ephemeral host port).
    pub port: u16,
    pub env: Vec<(String, String)>,
    /// Passed to the container like `env`, never printed.
    pub secret_env: Vec<(String, String)>,
    /// GET path that answers 2xx once the emulator is ready.
    pub ready_path: String,
    /// Readiness deadline unless `HARNESS_READY_TIMEOUT` says otherwise.
    pub ready_timeout: Duration,
    /// How to get the image on a machine that cannot pull (shown when it is missing).
    pub image_hint: String,
}

impl fmt::Debug for ContainerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secrets: Vec<String> = self
            .secret_env
            .iter()
            .map(|(k, _)| format!("{k}=<redacted>"))
            .collect();
        f.debug_struct("ContainerSpec")
            .field("backend", &self.backend)
            .field("image", &self.image.to_string())
            .field("port", &self.port)
            .field("env", &self.env)
            .field("secret_env", &secrets)
            .field("ready_path", &self.ready_path)
            .field("ready_timeout", &self.ready_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = ImageRef::parse("motoserver/moto:5.2.5").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("motoserver/moto", "5.2.5")
        );
        let r = ImageRef::parse("harness-moto").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("harness-moto", "latest")
        );
        let r = ImageRef::parse("registry:5000/team/moto:1").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("registry:5000/team/moto", "1")
        );
        let r = ImageRef::parse("registry:5000/team/moto").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("registry:5000/team/moto", "latest")
        );
        assert_eq!(ImageRef::parse("moto:"), None);
        assert_eq!(ImageRef::parse(" "), None);
        assert_eq!(ImageRef::parse("a b:1"), None);
    }

    #[test]
    fn spec_debug_redacts_secrets() {
        let spec = ContainerSpec {
            backend: Backend::LocalStack,
            image: ImageRef::parse("localstack/localstack:4.13").unwrap(),
            port: 4566,
            env: vec![("DEBUG".into(), "0".into())],
            secret_env: vec![("LOCALSTACK_AUTH_TOKEN".into(), "ls-SECRET-123".into())],
            ready_path: "/_localstack/health".into(),
            ready_timeout: Duration::from_secs(1),
            image_hint: String::new(),
        };
        let text = format!("{spec:?}");
        assert!(text.contains("LOCALSTACK_AUTH_TOKEN=<redacted>"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
