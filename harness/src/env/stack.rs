//! Why this file exists: scenarios and `harness repro` drive the provisioner against a
//! [`TestEnv`]. These helpers build the provisioner's [`StackSpec`], [`Clients`] and [`Stack`]
//! for the env's account, region and network, so a test reads `env.stack(env.spec("p").await?)`.
//!
//! The clients are the provisioner's ([`ClientsBuilder`]) with settings that differ from the
//! production ones in two test-only ways, both about the SDK's own transient retries (the
//! provisioner's retry catalogue is untouched):
//! - the transient-retry policy with a short backoff (10 ms base, 150 ms cap instead of 1 s and
//!   20 s; same codes, same 25 attempts), so injected throttling, 5xx and dropped connections cost
//!   milliseconds, not seconds;
//! - a retry partition of their own. The SDK keeps one retry token bucket per partition name in
//!   a process-wide map (default partition: the service name), so without this, chaos in one test
//!   would drain the bucket of every other test running in the same process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use provisioner::clients::{ClientSettings, ClientsBuilder};
use provisioner::{Clients, Stack, StackSpec};

use super::{test_ec2_settings, test_transient_retry, TestEnv};

/// SDK timeouts of test clients.
const TEST_SDK_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TEST_SDK_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const TEST_SDK_OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// The settings of test clients, in retry partition `partition`.
pub fn test_client_settings(partition: String) -> ClientSettings {
    ClientSettings {
        transient: test_transient_retry(),
        connect_timeout: TEST_SDK_CONNECT_TIMEOUT,
        attempt_timeout: TEST_SDK_ATTEMPT_TIMEOUT,
        operation_timeout: TEST_SDK_OPERATION_TIMEOUT,
        retry_partition: Some(partition),
        ec2_request_timeout: test_ec2_settings().request_timeout,
    }
}

impl TestEnv {
    /// The tutorial's stack ([`StackSpec::example`]) renamed to `project`, in this env's region,
    /// with the service placed in this account's default-VPC subnets and default security group
    /// (so the provisioner needs no EC2 lookups).
    pub async fn spec(&self, project: &str) -> anyhow::Result<StackSpec> {
        let network = self.network().await?;
        let mut spec = StackSpec::example();
        spec.project = project.to_string();
        spec.region = self.region.clone();
        spec.tags.insert("Project".into(), project.to_string());
        spec.service.subnets = network.subnets;
        spec.service.security_groups = network.security_groups;
        Ok(spec)
    }

    /// Provisioner clients for this env's account (see the module docs for the SDK settings).
    pub fn clients(&self) -> Clients {
        self.clients_for(&self.account_id)
    }

    /// Provisioner clients for another account on the same proxy.
    pub fn clients_for(&self, account_id: &str) -> Clients {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let partition = format!(
            "harness-{account_id}-{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ClientsBuilder::from_sdk_config(&self.sdk_config_for(account_id))
            .settings(test_client_settings(partition))
            .build()
    }

    /// A provisioner [`Stack`] for `spec` in this env's account.
    pub fn stack(&self, spec: StackSpec) -> Stack {
        Stack::new(spec, self.clients())
    }
}
