//! Why this file exists: a scenario test needs, in one line, an AWS environment of its own:
//! the shared emulator of this test process, a fault proxy of its own in front of it, a fresh
//! 12-digit account nobody else uses, the region of the tutorial, and an AWS SDK config wired
//! to all of that. [`TestEnv`] is that, and [`test_env`] is the rstest fixture.
//!
//! When the selected backend cannot run here (a container backend without Docker), a test
//! must say so loudly and skip — or fail when `HARNESS_REQUIRE_DOCKER=1`. A fixture cannot make
//! its test return, so tests that must tolerate that use [`test_env_or_skip`] (fixture giving
//! `Option<TestEnv>`) or the [`crate::test_env_or_skip!`] macro; the plain [`test_env`] fixture
//! panics with the reason.

mod stack;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use provisioner::clients::ClientsBuilder;
use provisioner::ec2::{Ec2Client, Ec2Settings};
use provisioner::retry::TransientRetry;
use rstest::fixture;

use crate::accounts;
use crate::emulator::{self, Emulator, EmulatorError};
use faultproxy::{ModelSettings, Preset, ProxyHandle};

/// The region tests use (the tutorial's).
pub const DEFAULT_REGION: &str = "ap-northeast-1";

/// Secret access key of every test credential (emulators do not verify signatures).
pub const TEST_SECRET_KEY: &str = "test";

/// Backoff base and cap of the transient-retry policy in tests (production: 1 s and 20 s): the
/// proxy injects throttling, 5xx and dropped connections, and a test should not wait seconds for
/// them. Attempts and codes stay the production ones.
const TEST_TRANSIENT_INITIAL_BACKOFF: Duration = Duration::from_millis(10);
const TEST_TRANSIENT_MAX_BACKOFF: Duration = Duration::from_millis(150);

/// Set to `1` to turn "no Docker engine / backend unavailable" skips into failures.
pub const REQUIRE_DOCKER_ENV: &str = "HARNESS_REQUIRE_DOCKER";

/// Set to `1` to turn "this endpoint serves no ECS/ECR" skips into failures.
pub const REQUIRE_ECS_ENV: &str = "HARNESS_REQUIRE_ECS";

/// One test's AWS environment. Dropping it stops its proxy; the shared emulator stays up for
/// the other tests of the process (and dies with the process).
pub struct TestEnv {
    pub emulator: Arc<dyn Emulator>,
    pub proxy: ProxyHandle,
    pub account_id: String,
    pub region: String,
    network: tokio::sync::OnceCell<Network>,
}

impl fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestEnv")
            .field("emulator", &self.emulator)
            .field("proxy", &self.proxy.url())
            .field("account_id", &self.account_id)
            .field("region", &self.region)
            .finish()
    }
}

impl TestEnv {
    /// Shared emulator, own proxy, fresh account, region `ap-northeast-1`, no presets.
    pub async fn new() -> anyhow::Result<TestEnv> {
        TestEnv::with_presets(&[]).await
    }

    /// Like [`TestEnv::new`], with proxy presets such as `"slr-delay=2s"`.
    /// An unavailable backend comes back as an [`EmulatorError`] inside the `anyhow::Error`
    /// (see [`skip_or_panic`]).
    pub async fn with_presets(presets: &[&str]) -> anyhow::Result<TestEnv> {
        let emulator = emulator::shared().await?;
        // Warm accounts only on a moto the harness shares (see pool.rs); else a cold one.
        let account = match emulator.endpoint().flavor {
            faultproxy::UpstreamFlavor::Moto => {
                crate::pool::shared(emulator.endpoint(), DEFAULT_REGION)
                    .map(|p| p.take().id().to_string())
            }
            _ => None,
        };
        let mut env = TestEnv::on(emulator, presets).await?;
        if let Some(account) = account {
            env.account_id = account;
        }
        Ok(env)
    }

    /// A TestEnv on a given emulator (not the shared one).
    pub async fn on(emulator: Arc<dyn Emulator>, presets: &[&str]) -> anyhow::Result<TestEnv> {
        let presets = presets
            .iter()
            .map(|p| Preset::parse(p).map_err(|e| anyhow!("proxy preset {p:?}: {e}")))
            .collect::<anyhow::Result<Vec<Preset>>>()?;
        let endpoint = emulator.endpoint();
        // On the test's own runtime, not `start_on_threads` as `harness up`/`run` do: a test
        // process runs many TestEnvs at once, each briefly and at a few requests a second, so
        // threads per env would multiply threads and idle runtimes for no per-request gain.
        let proxy = faultproxy::start(endpoint.proxy_config(presets))
            .await
            .with_context(|| format!("starting the fault proxy in front of {}", endpoint.url))?;
        Ok(TestEnv {
            emulator,
            proxy,
            account_id: accounts::fresh_account_id(),
            region: DEFAULT_REGION.to_string(),
            network: tokio::sync::OnceCell::new(),
        })
    }

    /// Builder step: the proxy's behaviour models set to `settings`, e.g. the fresh-account
    /// profile (`ModelSettings::fresh_account()` with a seed and a time scale).
    pub fn with_models(self, settings: ModelSettings) -> TestEnv {
        self.proxy.set_model_settings(settings);
        self
    }

    /// The URL clients talk to: the proxy, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint_url(&self) -> String {
        self.proxy.url()
    }

    /// SDK config for this env's account: endpoint = proxy, region, access key id = account id,
    /// secret `test`, standard retry mode (3 attempts) and bounded timeouts. Built without
    /// reading the environment or profile files, so a developer's AWS settings cannot leak in.
    pub fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_for(&self.account_id)
    }

    /// SDK config for another account on the same proxy and emulator.
    pub fn sdk_config_for(&self, account_id: &str) -> SdkConfig {
        ClientsBuilder::new(self.region.clone())
            .endpoint_url(self.endpoint_url())
            .account(account_id, TEST_SECRET_KEY)
            .sdk_config()
            .to_builder()
            .retry_config(RetryConfig::standard())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build()
    }

    /// The default VPC's subnets and default security group in this account and region
    /// (looked up once through the proxy with the provisioner's EC2 client, then cached).
    pub async fn network(&self) -> anyhow::Result<Network> {
        self.network
            .get_or_try_init(|| async {
                default_network(&self.endpoint_url(), &self.account_id, &self.region).await
            })
            .await
            .cloned()
    }

    /// `Ok(())` when the endpoint serves ECS and ECR; otherwise the reason (LocalStack without
    /// a token). Use [`crate::require_ecs!`] in tests.
    pub fn require_ecs(&self) -> Result<(), String> {
        if self.emulator.endpoint().serves_ecs {
            Ok(())
        } else {
            Err(format!(
                "{} serves no ECS/ECR (LocalStack's free edition does not include them; \
                 set LOCALSTACK_AUTH_TOKEN for the licensed image)",
                self.emulator.describe()
            ))
        }
    }
}

/// The default VPC of one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub vpc_id: String,
    /// Subnet ids of the default VPC, sorted by availability zone.
    pub subnets: Vec<String>,
    /// The default VPC's `default` security group (one id).
    pub security_groups: Vec<String>,
}

/// The transient-retry policy of test clients: the provisioner's, with a short backoff.
pub fn test_transient_retry() -> TransientRetry {
    TransientRetry::default()
        .with_backoff(TEST_TRANSIENT_INITIAL_BACKOFF, TEST_TRANSIENT_MAX_BACKOFF)
}

/// The EC2 settings of test lookups: the provisioner's, with a short backoff.
pub fn test_ec2_settings() -> Ec2Settings {
    Ec2Settings {
        transient: test_transient_retry(),
        ..Ec2Settings::default()
    }
}

/// Looks up the default VPC, its subnets and its default security group of `account_id` in
/// `region` at `endpoint_url` (an emulator or a proxy: the access key id is the account, the
/// secret [`TEST_SECRET_KEY`]; no environment variable is read).
pub async fn default_network(
    endpoint_url: &str,
    account_id: &str,
    region: &str,
) -> anyhow::Result<Network> {
    let credentials = Credentials::new(account_id, TEST_SECRET_KEY, None, None, "harness-test-env");
    let ec2 = Ec2Client::new(
        Some(endpoint_url.to_string()),
        Some(region.to_string()),
        Some(SharedCredentialsProvider::new(credentials)),
        test_ec2_settings(),
    );
    let via = || format!("EC2 via {}", ec2.endpoint());
    let vpc_id = ec2
        .default_vpc_id()
        .await
        .with_context(via)?
        .ok_or_else(|| anyhow!("account {account_id} has no default VPC in {region}"))?;
    let subnets = ec2.subnet_ids_by_zone(&vpc_id).await.with_context(via)?;
    if subnets.is_empty() {
        bail!("default VPC {vpc_id} of account {account_id} has no subnets in {region}");
    }
    let group = ec2
        .default_security_group(&vpc_id)
        .await
        .with_context(via)?
        .ok_or_else(|| {
            anyhow!("default VPC {vpc_id} of account {account_id} has no default security group")
        })?;
    Ok(Network {
        vpc_id,
        subnets,
        security_groups: vec![group],
    })
}

/// rstest fixture: a fresh [`TestEnv`]. Panics when the environment cannot be set up,
/// including when the backend is unavailable (use [`test_env_or_skip`] to skip loudly instead).
#[fixture]
pub async fn test_env() -> TestEnv {
    match TestEnv::new().await {
        Ok(env) => env,
        Err(err) => panic!("harness: no test environment: {err:#}"),
    }
}

/// rstest fixture: `Some(TestEnv)`, or `None` after printing a loud `SKIPPED` line when the
/// backend is unavailable here (fails instead when `HARNESS_REQUIRE_DOCKER=1`). Any other
/// failure panics. In the test: `let Some(env) = test_env_or_skip else { return };`.
#[fixture]
pub async fn test_env_or_skip() -> Option<TestEnv> {
    match TestEnv::new().await {
        Ok(env) => Some(env),
        Err(err) => {
            skip_or_panic(err);
            None
        }
    }
}

/// [`test_env_or_skip`] for a test that needs ECS: a backend that cannot serve it (LocalStack
/// without a token) is a loud skip too, or a failure under `HARNESS_REQUIRE_ECS=1`.
pub async fn ecs_test_env_or_skip() -> Option<TestEnv> {
    let env = test_env_or_skip().await?;
    if let Err(e) = env.require_ecs() {
        skip_or_fail_ecs(e);
        return None;
    }
    Some(env)
}

/// For an error from [`TestEnv::new`]: an unavailable backend is a loud skip (returns, the
/// caller then returns from its test) unless `HARNESS_REQUIRE_DOCKER=1`; anything else panics.
pub fn skip_or_panic(err: anyhow::Error) {
    match err.downcast_ref::<EmulatorError>() {
        Some(e @ EmulatorError::Unavailable { .. }) => skip_or_fail(e),
        _ => panic!("harness: no test environment: {err:#}"),
    }
}

/// A loud skip: prints `SKIPPED (<reason>): set HARNESS_REQUIRE_DOCKER=1 to make this a
/// failure` on stderr and returns, or panics with the reason when `HARNESS_REQUIRE_DOCKER=1`.
pub fn skip_or_fail(reason: impl fmt::Display) {
    skip_or_fail_unless(REQUIRE_DOCKER_ENV, reason)
}

/// Like [`skip_or_fail`] for endpoints without ECS/ECR, governed by `HARNESS_REQUIRE_ECS=1`.
pub fn skip_or_fail_ecs(reason: impl fmt::Display) {
    skip_or_fail_unless(REQUIRE_ECS_ENV, reason)
}

/// Loud skip, or a panic when the environment variable `require` is `1`/`true`.
pub fn skip_or_fail_unless(require: &str, reason: impl fmt::Display) {
    let test = std::thread::current()
        .name()
        .map(|n| format!("{n}: "))
        .unwrap_or_default();
    if is_set(require) {
        panic!("{test}cannot run ({reason}) and {require}=1 forbids skipping");
    }
    let mut stderr = std::io::stderr().lock();
    let _ = std::io::Write::write_fmt(
        &mut stderr,
        format_args!("{test}SKIPPED ({reason}): set {require}=1 to make this a failure\n"),
    );
}

fn is_set(var: &str) -> bool {
    matches!(
        std::env::var(var)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref(),
        Ok("1" | "true" | "yes")
    )
}

/// `let env = harness::test_env_or_skip!();` (or `!(&["slr-delay=2s"])`): a [`TestEnv`], or a
/// loud skip (`return` from the test) when the backend is unavailable here.
#[macro_export]
macro_rules! test_env_or_skip {
    () => {
        $crate::test_env_or_skip!(&[])
    };
    ($presets:expr) => {
        match $crate::env::TestEnv::with_presets($presets).await {
            Ok(env) => env,
            Err(err) => {
                $crate::env::skip_or_panic(err);
                return;
            }
        }
    };
}

/// `harness::require_ecs!(env);`: loud skip (`return`) when the endpoint serves no ECS/ECR,
/// unless `HARNESS_REQUIRE_ECS=1`.
#[macro_export]
macro_rules! require_ecs {
    ($env:expr) => {
        if let Err(reason) = $env.require_ecs() {
            $crate::env::skip_or_fail_ecs(reason);
            return;
        }
    };
}
