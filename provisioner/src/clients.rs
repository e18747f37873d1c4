//! Why this file exists: one place builds every AWS client the stack talks to, with our SDK-level
//! settings (standard retry mode with more attempts than the default 3, connect and per-attempt
//! timeouts so nothing hangs). Endpoint and region come from the caller, so the same code works
//! against real AWS, an emulator, or the fault proxy.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;
use aws_types::SdkConfig;

use crate::ec2::Ec2Client;
use crate::spec::StackSpec;

/// SDK standard-mode attempts (SDK default 3; Terraform uses 25).
pub const SDK_MAX_ATTEMPTS: u32 = 8;
pub const SDK_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const SDK_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
pub const SDK_OPERATION_TIMEOUT: Duration = Duration::from_secs(5 * 60);

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

impl Clients {
    /// Builds the clients from an SdkConfig, applying our SDK retry and timeout settings.
    pub fn from_sdk_config(cfg: &SdkConfig) -> Clients {
        let retry = RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS);
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(SDK_CONNECT_TIMEOUT)
            .operation_attempt_timeout(SDK_ATTEMPT_TIMEOUT)
            .operation_timeout(SDK_OPERATION_TIMEOUT)
            .build();
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(cfg)
                        .retry_config(retry.clone())
                        .timeout_config(timeouts.clone())
                        .build(),
                )
            };
        }
        Clients {
            ecs: client!(aws_sdk_ecs),
            iam: client!(aws_sdk_iam),
            ecr: client!(aws_sdk_ecr),
            logs: client!(aws_sdk_cloudwatchlogs),
            ec2: Ec2Client::from_sdk_config(cfg),
            region: cfg.region().map(|r| r.to_string()).unwrap_or_default(),
        }
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
        Ok(Clients::from_sdk_config(&cfg))
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
