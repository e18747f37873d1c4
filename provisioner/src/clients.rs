//! Why this file exists: one place builds every AWS client the stack talks to, with our SDK-level
//! settings (the transient-retry policy of `retry/transient.rs` as every client's retry config,
//! connect and per-attempt timeouts so nothing hangs). Endpoint, region and credentials come from the caller, so the same
//! code works against real AWS, an emulator, or the fault proxy: the provisioner's CLI loads the
//! standard AWS chain ([`Clients::connect`]), the harness names an account on its proxy and
//! shorter backoffs ([`ClientsBuilder`]).

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_ecs::config::retry::RetryPartition;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;
use aws_types::SdkConfig;

use crate::ec2::{Ec2Client, Ec2Settings, EC2_REQUEST_TIMEOUT};
use crate::retry::TransientRetry;
use crate::spec::StackSpec;

/// TCP (+TLS) connect deadline: a regional AWS endpoint (or a local emulator) connects in
/// milliseconds; 3 s covers a slow network and fails fast on a black hole.
pub const SDK_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Per-attempt deadline: the control-plane calls the stack makes (ECS, IAM, ECR, Logs) answer in
/// well under 2 s on AWS; 20 s is ten times that, then the SDK retries the attempt.
pub const SDK_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// Per-operation deadline, all attempts and backoffs included (the SDK's standard mode backs
/// off up to 20 s between attempts): 2 minutes, Terraform's IAM propagation timeout
/// (terraform-provider-aws `internal/service/iam/wait.go`, `PropagationTimeout`).
pub const SDK_OPERATION_TIMEOUT: Duration = Duration::from_secs(2 * 60);

/// Provider name of credentials made by [`ClientsBuilder::account`].
const ACCOUNT_CREDENTIALS_PROVIDER: &str = "provisioner-account";

/// The AWS clients of one stack (one account, one region).
#[derive(Clone, Debug)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub iam: aws_sdk_iam::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Hand-written EC2 Query client (three read-only calls).
    pub ec2: Ec2Client,
    /// The region the clients talk to.
    pub region: String,
}

/// SDK-level retry and timeout settings of every client of one [`Clients`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSettings {
    /// Throttling, 5xx, no answer: attempts and backoff of every client, the EC2 one included.
    pub transient: TransientRetry,
    pub connect_timeout: Duration,
    pub attempt_timeout: Duration,
    pub operation_timeout: Duration,
    /// A retry partition of its own. The SDK keeps one retry token bucket per partition name
    /// in a process-wide map (default: the service name); `None` shares the default one.
    pub retry_partition: Option<String>,
    /// One attempt of the EC2 Query client (its calls share `transient` and
    /// `operation_timeout` with the SDK clients).
    pub ec2_request_timeout: Duration,
}

impl Default for ClientSettings {
    /// The provisioner's production settings (the `SDK_*` constants).
    fn default() -> ClientSettings {
        ClientSettings {
            transient: TransientRetry::default(),
            connect_timeout: SDK_CONNECT_TIMEOUT,
            attempt_timeout: SDK_ATTEMPT_TIMEOUT,
            operation_timeout: SDK_OPERATION_TIMEOUT,
            retry_partition: None,
            ec2_request_timeout: EC2_REQUEST_TIMEOUT,
        }
    }
}

impl ClientSettings {
    /// The EC2 client's settings: the same transient policy and operation deadline.
    pub fn ec2_settings(&self) -> Ec2Settings {
        Ec2Settings {
            request_timeout: self.ec2_request_timeout,
            operation_timeout: self.operation_timeout,
            transient: self.transient.clone(),
        }
    }

    fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.operation_timeout)
            .build()
    }
}

/// Builds [`Clients`]: a base (an SdkConfig, or nothing but a region), optional overrides of
/// endpoint and credentials, and the [`ClientSettings`].
///
/// ```no_run
/// # use provisioner::clients::{ClientSettings, ClientsBuilder};
/// let clients = ClientsBuilder::new("ap-northeast-1")
///     .endpoint_url("http://127.0.0.1:5000")
///     .account("123456789012", "test")
///     .settings(ClientSettings::default())
///     .build();
/// ```
#[derive(Clone, Debug)]
pub struct ClientsBuilder {
    base: SdkConfig,
    settings: ClientSettings,
}

impl ClientsBuilder {
    /// Nothing but `region` (no environment, no profile files): set endpoint and credentials.
    pub fn new(region: impl Into<String>) -> ClientsBuilder {
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.into()))
            .build();
        ClientsBuilder {
            base,
            settings: ClientSettings::default(),
        }
    }

    /// Endpoint, region, credentials (and the rest) of `cfg`.
    pub fn from_sdk_config(cfg: &SdkConfig) -> ClientsBuilder {
        ClientsBuilder {
            base: cfg.clone(),
            settings: ClientSettings::default(),
        }
    }

    /// Every client talks to `url` (EC2: unless `AWS_ENDPOINT_URL_EC2` is set).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> ClientsBuilder {
        self.base = self.base.to_builder().endpoint_url(url).build();
        self
    }

    pub fn credentials(mut self, provider: SharedCredentialsProvider) -> ClientsBuilder {
        self.base = self
            .base
            .to_builder()
            .credentials_provider(provider)
            .build();
        self
    }

    /// Static credentials whose access key id is `account_id`: emulators (moto, LocalStack)
    /// and the fault proxy read the account from it and verify no signature.
    pub fn account(self, account_id: &str, secret_access_key: &str) -> ClientsBuilder {
        let credentials = Credentials::new(
            account_id,
            secret_access_key,
            None,
            None,
            ACCOUNT_CREDENTIALS_PROVIDER,
        );
        self.credentials(SharedCredentialsProvider::new(credentials))
    }

    pub fn settings(mut self, settings: ClientSettings) -> ClientsBuilder {
        self.settings = settings;
        self
    }

    /// The SdkConfig the clients are built from (the base with the overrides).
    pub fn sdk_config(&self) -> SdkConfig {
        self.base.clone()
    }

    /// The clients, every one with the settings.
    pub fn build(&self) -> Clients {
        let cfg = self.sdk_config();
        let s = &self.settings;
        let (retry, timeouts) = (s.transient.retry_config(), s.timeout_config());
        let partition = s.retry_partition.clone().map(RetryPartition::new);
        macro_rules! client {
            ($sdk:ident) => {{
                let mut b = $sdk::config::Builder::from(&cfg)
                    .retry_config(retry.clone())
                    .timeout_config(timeouts.clone());
                if let Some(p) = &partition {
                    b = b.retry_partition(p.clone());
                }
                $sdk::Client::from_conf(b.build())
            }};
        }
        Clients {
            ecs: client!(aws_sdk_ecs),
            iam: client!(aws_sdk_iam),
            ecr: client!(aws_sdk_ecr),
            logs: client!(aws_sdk_cloudwatchlogs),
            ec2: Ec2Client::from_sdk_config_with(&cfg, s.ec2_settings()),
            region: cfg.region().map(|r| r.to_string()).unwrap_or_default(),
        }
    }
}

impl Clients {
    /// Builds the clients from an SdkConfig, applying our SDK retry and timeout settings.
    pub fn from_sdk_config(cfg: &SdkConfig) -> Clients {
        ClientsBuilder::from_sdk_config(cfg).build()
    }

    /// Loads the standard AWS chain (credentials, profile, ...). Endpoint: `endpoint_url`, else
    /// `AWS_ENDPOINT_URL` (read by the SDK itself). Region: `region`, else `AWS_REGION`, else the
    /// spec's.
    pub async fn connect(
        endpoint_url: Option<&str>,
        region: Option<&str>,
        spec: &StackSpec,
    ) -> anyhow::Result<Clients> {
        let cfg = Clients::load_sdk_config(endpoint_url, region, spec).await;
        if cfg.credentials_provider().is_none() {
            anyhow::bail!("no AWS credentials provider could be configured");
        }
        Ok(ClientsBuilder::from_sdk_config(&cfg).build())
    }

    /// The SdkConfig [`Clients::connect`] uses.
    pub async fn load_sdk_config(
        endpoint_url: Option<&str>,
        region: Option<&str>,
        spec: &StackSpec,
    ) -> SdkConfig {
        let region = resolve_region(region, spec);
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region));
        if let Some(url) = endpoint_url.filter(|u| !u.is_empty()) {
            loader = loader.endpoint_url(url);
        }
        loader.load().await
    }
}

/// `--region`, else `AWS_REGION`, else the spec.
pub fn resolve_region(region: Option<&str>, spec: &StackSpec) -> String {
    region
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .unwrap_or_else(|| spec.region.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::ProvideCredentials;

    fn test_settings() -> ClientSettings {
        ClientSettings {
            transient: TransientRetry::default()
                .with_max_attempts(4)
                .with_backoff(Duration::from_millis(10), Duration::from_millis(150)),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(120),
            retry_partition: Some("test-partition".into()),
            ec2_request_timeout: Duration::from_secs(7),
        }
    }

    #[tokio::test]
    async fn builder_applies_endpoint_account_and_settings() {
        let clients = ClientsBuilder::new("ap-northeast-1")
            .endpoint_url("http://127.0.0.1:9")
            .account("123456789012", "test")
            .settings(test_settings())
            .build();
        assert_eq!(clients.region, "ap-northeast-1");
        let ec2 = clients.ec2.settings();
        assert_eq!(ec2.transient, test_settings().transient);
        assert_eq!(ec2.operation_timeout, Duration::from_secs(120));
        assert_eq!(ec2.request_timeout, Duration::from_secs(7));
        let conf = clients.ecs.config();
        let retry = conf.retry_config().unwrap();
        assert_eq!(retry.max_attempts(), 4);
        assert_eq!(retry.initial_backoff(), Duration::from_millis(10));
        assert_eq!(retry.max_backoff(), Duration::from_millis(150));
        let timeouts = conf.timeout_config().unwrap();
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(120)));
        assert_eq!(
            conf.retry_partition().map(|p| p.to_string()).as_deref(),
            Some("test-partition")
        );
        let b = ClientsBuilder::new("ap-northeast-1").account("123456789012", "test");
        let creds = b
            .sdk_config()
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(creds.access_key_id(), "123456789012");
    }

    #[test]
    fn from_sdk_config_keeps_the_production_settings() {
        let cfg = ClientsBuilder::new("eu-west-1")
            .endpoint_url("http://127.0.0.1:9")
            .sdk_config();
        let clients = Clients::from_sdk_config(&cfg);
        let conf = clients.iam.config();
        assert_eq!(
            conf.retry_config().unwrap().max_attempts(),
            crate::retry::TRANSIENT_MAX_ATTEMPTS
        );
        assert_eq!(
            conf.timeout_config().unwrap().connect_timeout(),
            Some(SDK_CONNECT_TIMEOUT)
        );
        assert_eq!(clients.region, "eu-west-1");
        assert_eq!(
            clients.ec2.settings(),
            &ClientSettings::default().ec2_settings()
        );
        assert_eq!(clients.ec2.settings().transient, TransientRetry::default());
    }
}
