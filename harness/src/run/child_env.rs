//! Why this file exists: the command `harness run` wraps must talk to the emulator, in the fresh
//! account, and to nothing else. Its environment is the user's, with every AWS setting that could
//! pick other credentials, another profile or another endpoint removed or overridden, so a user's
//! real credentials are never used against the emulator and never sent anywhere by mistake.
//!
//! Precedence of the AWS SDKs and CLIs (environment first, then the shared config and credentials
//! files, then container/instance metadata):
//! https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html and the variable
//! list https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html#EVarSettings.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use crate::env::TEST_SECRET_KEY;

/// Variables removed from the command's environment: credentials the harness does not hand out
/// (session token, web identity, container credentials), profile selection, the user's account,
/// and switches that would bypass `AWS_ENDPOINT_URL`.
pub const REMOVED: &[&str] = &[
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCOUNT_ID",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
];

/// Prefix of the per-service endpoint variables (`AWS_ENDPOINT_URL_S3`, ...): removed, so every
/// service goes to the harness.
pub const SERVICE_ENDPOINT_PREFIX: &str = "AWS_ENDPOINT_URL_";

/// The account id again, under a name of the harness's own, for scripts.
pub const ACCOUNT_ID_VAR: &str = "HARNESS_ACCOUNT_ID";

/// What the command gets, besides the user's environment.
#[derive(Debug, Clone)]
pub struct ChildSettings<'a> {
    pub endpoint_url: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    /// An empty file the harness owns, for `AWS_CONFIG_FILE`.
    pub config_file: &'a Path,
    /// An empty file the harness owns, for `AWS_SHARED_CREDENTIALS_FILE`.
    pub credentials_file: &'a Path,
}

/// The changes to make to the user's environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChildEnv {
    /// Variables to remove (present in the parent, not wanted in the child).
    pub remove: Vec<OsString>,
    /// Variables to set (overriding the parent's).
    pub set: Vec<(String, OsString)>,
}

impl ChildEnv {
    /// The changes for a parent environment `parent` (names only are looked at).
    pub fn new<'p>(parent: impl IntoIterator<Item = &'p OsStr>, s: &ChildSettings) -> ChildEnv {
        let remove = parent
            .into_iter()
            .filter(|name| {
                let name = name.to_string_lossy();
                REMOVED.contains(&name.as_ref()) || name.starts_with(SERVICE_ENDPOINT_PREFIX)
            })
            .map(OsStr::to_os_string)
            .collect();
        let set = vec![
            ("AWS_ENDPOINT_URL".to_string(), s.endpoint_url.into()),
            ("AWS_ACCESS_KEY_ID".to_string(), s.account.into()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), TEST_SECRET_KEY.into()),
            ("AWS_REGION".to_string(), s.region.into()),
            ("AWS_DEFAULT_REGION".to_string(), s.region.into()),
            (
                "AWS_CONFIG_FILE".to_string(),
                s.config_file.as_os_str().to_os_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".to_string(),
                s.credentials_file.as_os_str().to_os_string(),
            ),
            // No instance-metadata lookups (they wait for a timeout off EC2).
            ("AWS_EC2_METADATA_DISABLED".to_string(), "true".into()),
            (ACCOUNT_ID_VAR.to_string(), s.account.into()),
        ];
        ChildEnv { remove, set }
    }

    /// Applies the changes to a command about to be spawned.
    pub fn apply(&self, command: &mut tokio::process::Command) {
        for name in &self.remove {
            command.env_remove(name);
        }
        for (name, value) in &self.set {
            command.env(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn removes_foreign_credentials_and_sets_the_harness_ones() {
        let config = PathBuf::from("/t/aws-config");
        let creds = PathBuf::from("/t/aws-credentials");
        let s = ChildSettings {
            endpoint_url: "http://127.0.0.1:4000",
            account: "111122223333",
            region: "ap-northeast-1",
            config_file: &config,
            credentials_file: &creds,
        };
        let parent = [
            "PATH",
            "HOME",
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ACCESS_KEY_ID",
            "AWS_PAGER",
        ];
        let env = ChildEnv::new(parent.iter().map(OsStr::new), &s);
        assert_eq!(
            env.remove,
            ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"]
                .map(OsString::from)
                .to_vec()
        );
        let get = |k: &str| {
            env.set
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(
            get("AWS_ENDPOINT_URL").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(get("AWS_ACCESS_KEY_ID").as_deref(), Some("111122223333"));
        assert_eq!(get("HARNESS_ACCOUNT_ID").as_deref(), Some("111122223333"));
        assert_eq!(get("AWS_SECRET_ACCESS_KEY").as_deref(), Some("test"));
        assert_eq!(get("AWS_REGION"), get("AWS_DEFAULT_REGION"));
        assert_eq!(get("AWS_CONFIG_FILE").as_deref(), Some("/t/aws-config"));
        assert_eq!(
            get("AWS_SHARED_CREDENTIALS_FILE").as_deref(),
            Some("/t/aws-credentials")
        );
        assert_eq!(get("AWS_EC2_METADATA_DISABLED").as_deref(), Some("true"));
        // Nothing set is also removed.
        for (name, _) in &env.set {
            assert!(!env.remove.iter().any(|r| r == name.as_str()), "{name}");
        }
    }
}
