//! Why this file exists: the stack needs exactly three read-only EC2 calls (the default VPC, its
//! subnets, its default security group). `aws-sdk-ec2` would add ~5 minutes to every cold build,
//! so this is a minimal EC2 Query-protocol client instead: a form-encoded POST
//! `Action=...&Version=2016-11-15`, SigV4-signed with `aws-sigv4` using the SdkConfig's
//! credentials (request.rs), sent through the SDK's own hyper/rustls connector (already in the
//! dependency tree), the XML answer read with quick-xml (xml.rs). EC2 errors
//! (`<Response><Errors><Error>`) surface as [`AwsError`]s with AWS's code and message. Works over
//! https against real AWS (`https://ec2.{region}.amazonaws.com`) and over plain http against an
//! endpoint override. The harness uses the same client for its default-VPC lookups.

mod request;
mod xml;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::byte_stream::ByteStream;
use aws_types::SdkConfig;

use crate::error::AwsError;
use crate::retry::TransientRetry;
use request::{construction_failure, failure};

pub use xml::{items_at, parse_error, texts_at};

pub const EC2_API_VERSION: &str = "2016-11-15";
/// Per-request timeout (connect + response).
pub const EC2_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Deadline of one call, all its transient retries included (the SDK clients' operation timeout).
pub const EC2_OPERATION_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Environment variable naming an EC2-only endpoint (the SDK's service-specific override).
pub const EC2_ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_EC2";

/// Timeout and retry settings of an [`Ec2Client`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ec2Settings {
    /// One attempt: connect, send, read the answer.
    pub request_timeout: Duration,
    /// One call: every attempt and every pause between them.
    pub operation_timeout: Duration,
    /// Transient failures (throttling, 5xx, no answer): the policy every client shares.
    pub transient: TransientRetry,
}

impl Default for Ec2Settings {
    fn default() -> Ec2Settings {
        Ec2Settings {
            request_timeout: EC2_REQUEST_TIMEOUT,
            operation_timeout: EC2_OPERATION_TIMEOUT,
            transient: TransientRetry::default(),
        }
    }
}

/// A tiny EC2 client: signs and sends Query-protocol requests.
#[derive(Clone)]
pub struct Ec2Client {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    settings: Ec2Settings,
    connector: OnceLock<Connector>,
}

impl std::fmt::Debug for Ec2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2Client")
            .field("endpoint", &self.endpoint())
            .field("region", &self.inner.region)
            .field("settings", &self.inner.settings)
            .finish()
    }
}

impl Ec2Client {
    /// Endpoint: `AWS_ENDPOINT_URL_EC2`, else the SdkConfig's endpoint override, else the regional
    /// AWS endpoint. Default settings.
    pub fn from_sdk_config(cfg: &SdkConfig) -> Ec2Client {
        Ec2Client::from_sdk_config_with(cfg, Ec2Settings::default())
    }

    /// [`Ec2Client::from_sdk_config`] with other timeout/retry settings.
    pub fn from_sdk_config_with(cfg: &SdkConfig, settings: Ec2Settings) -> Ec2Client {
        let endpoint = std::env::var(EC2_ENDPOINT_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| cfg.endpoint_url().map(str::to_owned));
        Ec2Client::new(
            endpoint,
            cfg.region().map(|r| r.to_string()),
            cfg.credentials_provider(),
            settings,
        )
    }

    /// A client from explicit parts; reads no environment. `endpoint: None` is the regional AWS
    /// endpoint.
    pub fn new(
        endpoint: Option<String>,
        region: Option<String>,
        credentials: Option<SharedCredentialsProvider>,
        settings: Ec2Settings,
    ) -> Ec2Client {
        Ec2Client {
            inner: Arc::new(Inner {
                endpoint,
                region,
                credentials,
                settings,
                connector: OnceLock::new(),
            }),
        }
    }

    pub fn endpoint(&self) -> String {
        match (&self.inner.endpoint, &self.inner.region) {
            (Some(e), _) => e.trim_end_matches('/').to_owned(),
            (None, Some(r)) if r.starts_with("cn-") => format!("https://ec2.{r}.amazonaws.com.cn"),
            (None, Some(r)) => format!("https://ec2.{r}.amazonaws.com"),
            (None, None) => "https://ec2.us-east-1.amazonaws.com".to_owned(),
        }
    }

    pub fn settings(&self) -> &Ec2Settings {
        &self.inner.settings
    }

    fn connector(&self) -> &Connector {
        self.inner.connector.get_or_init(|| {
            Connector::builder()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build()
        })
    }

    /// Sends `Action=action` with `params`; returns the XML body of a 2xx answer. Transient
    /// failures are retried by the shared transient-retry policy (`retry/transient.rs`), within
    /// the operation timeout; anything else surfaces as AWS's code + message.
    pub async fn call(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        let settings = &self.inner.settings;
        settings
            .transient
            .run(action, settings.operation_timeout, || {
                self.call_once(action, params)
            })
            .await
    }

    /// One attempt: sign, send (bounded by the request timeout), read the answer.
    async fn call_once(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        let (region, identity) = self.signing_identity(action).await?;
        let url = format!("{}/", self.endpoint());
        let body = request::form_body(action, params);
        let req = request::signed_request(action, &url, body, &region, &identity)?;
        let timeout = self.inner.settings.request_timeout;
        let (status, text) = tokio::time::timeout(timeout, self.exchange(action, &url, req))
            .await
            .map_err(|_| {
                failure(
                    action,
                    "TimeoutError",
                    format!("no answer from {url} within {timeout:?}"),
                )
            })??;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        Err(error_answer(action, status, &text))
    }

    /// The region and credentials to sign with.
    async fn signing_identity(&self, action: &str) -> Result<(String, Identity), AwsError> {
        let region = self
            .inner
            .region
            .clone()
            .ok_or_else(|| construction_failure(action, "no region configured".into()))?;
        let provider = self.inner.credentials.as_ref().ok_or_else(|| {
            construction_failure(action, "no credentials provider configured".into())
        })?;
        let creds = provider.provide_credentials().await.map_err(|e| {
            failure(
                action,
                "CredentialsError",
                format!("could not load AWS credentials: {e}"),
            )
        })?;
        Ok((region, creds.into()))
    }

    /// Sends `req` and reads the whole answer: `(status, body)`.
    async fn exchange(
        &self,
        action: &str,
        url: &str,
        req: aws_smithy_runtime_api::http::Request,
    ) -> Result<(u16, String), AwsError> {
        let resp = self.connector().call(req).await.map_err(|e| {
            failure(
                action,
                "DispatchFailure",
                format!(
                    "EC2 {url}: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ),
            )
        })?;
        let status = resp.status().as_u16();
        let bytes = ByteStream::new(resp.into_body())
            .collect()
            .await
            .map_err(|e| {
                failure(
                    action,
                    "ResponseError",
                    format!("reading EC2 response: {e}"),
                )
            })?
            .into_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The default VPC's id, if the region has one.
    pub async fn default_vpc_id(&self) -> Result<Option<String>, AwsError> {
        let xml = self
            .call("DescribeVpcs", &filters(&[("isDefault", "true")]))
            .await?;
        Ok(texts_at(&xml, &["vpcSet", "item", "vpcId"])
            .into_iter()
            .next())
    }

    /// All subnet ids of `vpc_id`, sorted.
    pub async fn subnet_ids(&self, vpc_id: &str) -> Result<Vec<String>, AwsError> {
        let mut out: Vec<String> = self
            .subnets(vpc_id)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// All subnet ids of `vpc_id`, ordered by availability zone (then id).
    pub async fn subnet_ids_by_zone(&self, vpc_id: &str) -> Result<Vec<String>, AwsError> {
        let mut subnets = self.subnets(vpc_id).await?;
        subnets.sort_by(|a, b| (&a.zone, &a.id).cmp(&(&b.zone, &b.id)));
        subnets.dedup_by(|a, b| a.id == b.id);
        Ok(subnets.into_iter().map(|s| s.id).collect())
    }

    /// Every subnet of `vpc_id` (all pages of DescribeSubnets), in answer order.
    async fn subnets(&self, vpc_id: &str) -> Result<Vec<Subnet>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut p = filters(&[("vpc-id", vpc_id)]);
            if let Some(t) = &token {
                p.push(("NextToken".into(), t.clone()));
            }
            let xml = self.call("DescribeSubnets", &p).await?;
            out.extend(
                items_at(
                    &xml,
                    &["subnetSet", "item"],
                    &["subnetId", "availabilityZone"],
                )
                .into_iter()
                .filter_map(|mut item| {
                    Some(Subnet {
                        id: item.remove("subnetId")?,
                        zone: item.remove("availabilityZone").unwrap_or_default(),
                    })
                }),
            );
            token = texts_at(&xml, &["nextToken"])
                .into_iter()
                .find(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// The id of `vpc_id`'s security group named `default`.
    pub async fn default_security_group(&self, vpc_id: &str) -> Result<Option<String>, AwsError> {
        let xml = self
            .call(
                "DescribeSecurityGroups",
                &filters(&[("vpc-id", vpc_id), ("group-name", "default")]),
            )
            .await?;
        Ok(texts_at(&xml, &["securityGroupInfo", "item", "groupId"])
            .into_iter()
            .next())
    }
}

/// One subnet of a DescribeSubnets answer.
struct Subnet {
    id: String,
    zone: String,
}

/// The error of a non-2xx answer: EC2's own code and message when the body carries them, else
/// `HTTP<status>` (`InternalError` for 5xx) with the start of the body.
fn error_answer(action: &str, status: u16, text: &str) -> AwsError {
    let mut err = parse_error(action, text).unwrap_or_else(|| {
        let snippet: String = text.chars().take(300).collect();
        failure(action, &format!("HTTP{status}"), snippet)
    });
    err.status = Some(status);
    if err.code.starts_with("HTTP") && status >= 500 {
        err.code = "InternalError".into();
    }
    err
}

/// `Filter.N.Name` / `Filter.N.Value.1` parameters.
pub fn filters(f: &[(&str, &str)]) -> Vec<(String, String)> {
    f.iter()
        .enumerate()
        .flat_map(|(i, (name, value))| {
            [
                (format!("Filter.{}.Name", i + 1), (*name).to_owned()),
                (format!("Filter.{}.Value.1", i + 1), (*value).to_owned()),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::is_transient;

    #[test]
    fn filter_params() {
        let f = filters(&[("vpc-id", "vpc-1"), ("group-name", "default")]);
        assert_eq!(f[0], ("Filter.1.Name".to_owned(), "vpc-id".to_owned()));
        assert_eq!(f[3], ("Filter.2.Value.1".to_owned(), "default".to_owned()));
    }

    #[test]
    fn error_answers_keep_aws_codes_and_map_bare_5xx() {
        let e = error_answer(
            "DescribeVpcs",
            400,
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow</Message></Error></Errors></Response>",
        );
        assert_eq!(
            (e.code.as_str(), e.status),
            ("RequestLimitExceeded", Some(400))
        );
        assert!(is_transient(&e));
        let e = error_answer("DescribeVpcs", 502, "bad gateway");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("InternalError", "bad gateway")
        );
        let e = error_answer("DescribeVpcs", 403, "nope");
        assert_eq!(e.code, "HTTP403");
        assert!(!is_transient(&e));
    }
}
