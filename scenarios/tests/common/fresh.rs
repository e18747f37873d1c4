//! Helpers of the fresh-account scenarios (fresh_account.rs): the proxy's model settings for one
//! model or for the whole `fresh-account` profile, which models the journal shows answering, and
//! the bystanders (a service or a cluster the provisioner does not own) some models need to be
//! met through the provisioner.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, LaunchType, NetworkConfiguration};
use faultproxy::models::{self, WindowRange};
use faultproxy::{JournalEntry, ModelSettings};
use harness::env::TestEnv;

use super::Aws;

/// The names of the models the seed's stack meets, in registry order (every model the
/// `fresh-account` profile turns on that this stack can reach).
pub fn model_names() -> Vec<&'static str> {
    models::seed_stack_specs().map(|s| s.name).collect()
}

/// Only model `name` on, its window fixed at `window` (time scale 1), every other model off.
/// Panics naming the registry's models when `name` is not one of them (a typo in a test case).
pub fn only_model(name: &str, window: Duration) -> ModelSettings {
    let mut s = ModelSettings::default();
    s.set_range(name, WindowRange::fixed(window))
        .and_then(|()| s.set_enabled(name, true))
        .unwrap_or_else(|e| panic!("test case names a model the registry lacks: {e}"));
    s
}

/// The `fresh-account` profile: every model on with its default range, `seed`, `scale`.
pub fn fresh_account(seed: u64, scale: f64) -> ModelSettings {
    let mut s = ModelSettings::fresh_account();
    s.seed = seed;
    s.set_time_scale(scale)
        .unwrap_or_else(|e| panic!("time scale {scale}: {e}"));
    s
}

/// The model a journal entry's answer came from (`model:NAME` rule), if any.
pub fn model_of(e: &JournalEntry) -> Option<&str> {
    e.fault.as_ref()?.rule.strip_prefix("model:")
}

/// The names of the models that answered at least once in `entries`.
pub fn fired_models(entries: &[JournalEntry]) -> BTreeSet<String> {
    entries
        .iter()
        .filter_map(model_of)
        .map(str::to_owned)
        .collect()
}

/// The entries model `name` answered.
pub fn answered_by<'a>(entries: &'a [JournalEntry], name: &str) -> Vec<&'a JournalEntry> {
    entries
        .iter()
        .filter(|e| model_of(e) == Some(name))
        .collect()
}

impl Aws {
    /// Creates service `name` (desired count 0, Fargate, the env's default network) in
    /// `cluster` from task definition `task_definition`, behind the provisioner's back (a
    /// colleague's service in our cluster). Returns its ARN.
    pub async fn create_bystander_service(
        &self,
        env: &TestEnv,
        cluster: &str,
        name: &str,
        task_definition: &str,
    ) -> String {
        let net = env
            .network()
            .await
            .unwrap_or_else(|e| panic!("default network of {}: {e:#}", env.account_id));
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(net.subnets))
            .set_security_groups(Some(net.security_groups))
            .assign_public_ip(AssignPublicIp::Enabled)
            .build()
            .unwrap_or_else(|e| panic!("awsvpc configuration: {e}"));
        let out = self
            .ecs
            .create_service()
            .cluster(cluster)
            .service_name(name)
            .task_definition(task_definition)
            .desired_count(0)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateService {name} in {cluster}: {e:?}"));
        out.service()
            .and_then(|s| s.service_arn())
            .unwrap_or_else(|| panic!("CreateService {name} answered no ARN"))
            .to_owned()
    }

    /// DeleteService `name` of `cluster` (forced), behind the provisioner's back: a colleague's
    /// service going away, or our own as an interrupted destroy leaves it (deleted, not waited).
    pub async fn delete_service_behind_our_back(&self, cluster: &str, name: &str) {
        self.ecs
            .delete_service()
            .cluster(cluster)
            .service(name)
            .force(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteService {name} of {cluster}: {e:?}"));
    }

    /// Creates an empty cluster `name` behind the provisioner's back. Returns its ARN.
    pub async fn create_bystander_cluster(&self, name: &str) -> String {
        let out = self
            .ecs
            .create_cluster()
            .cluster_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateCluster {name}: {e:?}"));
        out.cluster()
            .and_then(|c| c.cluster_arn())
            .unwrap_or_else(|| panic!("CreateCluster {name} answered no ARN"))
            .to_owned()
    }

    /// DeleteCluster `name`, behind the provisioner's back.
    pub async fn delete_bystander_cluster(&self, name: &str) {
        self.ecs
            .delete_cluster()
            .cluster(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteCluster {name}: {e:?}"));
    }
}
