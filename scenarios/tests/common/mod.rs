//! Helpers shared by the scenario families: how a scenario gets its environment, the retry
//! knobs that keep the suite fast, raw AWS SDK clients for checking the account behind the
//! provisioner's back, journal queries, and condition waits with deadlines (no bare sleeps).
#![allow(dead_code)]

pub mod chaos;
pub mod fresh;
pub mod held;
pub mod listing;
pub mod sweep;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_iam::error::ProvideErrorMetadata;
use faultproxy::{FaultKind, JournalEntry};
use harness::env::TestEnv;
use provisioner::{
    ApplyOptions, ApplyReport, DestroyOptions, DestroyReport, Error, Names, Outputs, Plan,
    Progress, RetryPolicy, SlrMode, Stack, StackSpec,
};

/// The seed's error, verbatim.
pub const SLR_MESSAGE: &str =
    "Unable to assume the service linked role. Please verify that the ECS service linked role exists.";
pub const SLR_CODE: &str = "InvalidParameterException";
pub const SLR_ROLE: &str = "AWSServiceRoleForECS";

/// `scenario_env!(env, "name", &["preset"])` binds `env`: a fresh account behind its own proxy
/// on the process's shared emulator, announced on the test's output, and times the test
/// ([`Timer`]). Returns from the test after a loud `SKIPPED` line when the backend is unavailable
/// or serves no ECS/ECR (a failure with `HARNESS_REQUIRE_DOCKER=1` / `HARNESS_REQUIRE_ECS=1`).
macro_rules! scenario_env {
    ($env:ident, $name:expr) => {
        scenario_env!($env, $name, &[])
    };
    ($env:ident, $name:expr, $presets:expr) => {
        let _timer = $crate::common::Timer::start();
        let $env = harness::test_env_or_skip!($presets);
        harness::require_ecs!($env);
        $crate::common::announce(&$env, $name);
    };
}

/// `fixture_env!(env, test_env_or_skip, "name")` binds `env` from the `test_env_or_skip`
/// fixture (returning after the fixture's loud skip), checks ECS/ECR are served, announces, times.
macro_rules! fixture_env {
    ($env:ident, $fixture:expr, $name:expr) => {
        let _timer = $crate::common::Timer::start();
        let Some($env) = $fixture else { return };
        harness::require_ecs!($env);
        $crate::common::announce(&$env, $name);
    };
}

/// Prints `scenarios: <test> took N s` on stderr (past the runner's capture) when dropped,
/// also when the test panics: per-test timings of a concurrent run.
pub struct Timer(Instant);

impl Timer {
    pub fn start() -> Timer {
        Timer(Instant::now())
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        let outcome = if std::thread::panicking() {
            " (FAILED)"
        } else {
            ""
        };
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr().lock(),
            format_args!(
                "scenarios: {name} took {:.1} s{outcome}\n",
                self.0.elapsed().as_secs_f64()
            ),
        );
    }
}

/// One line naming the backend, the account and the proxy of this test.
pub fn announce(env: &TestEnv, test: &str) {
    println!(
        "[{test}] backend {} ({}), account {}, region {}, proxy {}",
        env.emulator.backend().name(),
        env.emulator.describe(),
        env.account_id,
        env.region,
        env.endpoint_url()
    );
}

/// Set to `1` for the exhaustive sweeps (every crash point, 100 chaos seeds).
pub const EXHAUSTIVE_ENV: &str = "SCENARIOS_EXHAUSTIVE";

/// Whether [`EXHAUSTIVE_ENV`] asks for the exhaustive sweeps.
pub fn exhaustive() -> bool {
    matches!(
        std::env::var(EXHAUSTIVE_ENV).as_deref().map(str::trim),
        Ok("1" | "true" | "yes")
    )
}

/// Written straight to stderr so the test runner's capture cannot hide it.
pub fn loud(message: &str) {
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr().lock(),
        format_args!("scenarios: {message}\n"),
    );
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The provisioner's retry loop with small backoff (50 ms doubling to 250 ms) and a 30 s
/// deadline: absorbs a 1–3 s propagation window within ~250 ms of its end.
pub fn retry_fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_backoff(ms(50), ms(250))
        .with_deadline(Duration::from_secs(30))
}

/// `--no-retry`, with the same small backoff for the wait loops that still run.
pub fn retry_off() -> RetryPolicy {
    RetryPolicy::disabled()
        .with_backoff(ms(50), ms(250))
        .with_deadline(Duration::from_secs(30))
}

/// Progress lines go to the test's captured output (shown when it fails).
pub fn progress() -> Progress {
    Progress::custom(|e| println!("    {e}"))
}

pub fn apply_opts(retry: RetryPolicy) -> ApplyOptions {
    ApplyOptions::new(retry).with_progress(progress())
}

pub fn destroy_opts(delete_service_linked_role: bool) -> DestroyOptions {
    DestroyOptions {
        delete_service_linked_role,
        retry: retry_fast(),
        progress: progress(),
    }
}

/// The tutorial's spec for `project` in the env's account (network filled in), in `mode`.
pub async fn spec(env: &TestEnv, project: &str, mode: SlrMode) -> StackSpec {
    let mut spec = env
        .spec(project)
        .await
        .unwrap_or_else(|e| panic!("default network of account {}: {e:#}", env.account_id));
    spec.service_linked_role = mode;
    spec
}

// The provisioner's futures are large (every step's AWS SDK futures, joined), and
// `#[tokio::test]` keeps the test body's future on the test thread's 2 MiB stack: every call
// into the provisioner goes through these helpers, which box the future onto the heap.

pub async fn try_apply(stack: &Stack, retry: RetryPolicy) -> Result<ApplyReport, Error> {
    Box::pin(stack.apply(&apply_opts(retry))).await
}

pub async fn try_destroy(stack: &Stack, delete_slr: bool) -> Result<DestroyReport, Error> {
    Box::pin(stack.destroy(&destroy_opts(delete_slr))).await
}

pub async fn plan(stack: &Stack) -> Plan {
    match Box::pin(stack.plan()).await {
        Ok(p) => p,
        Err(e) => panic!("plan of {} failed: {e}", stack.names().stack),
    }
}

pub async fn outputs(stack: &Stack) -> Outputs {
    match Box::pin(stack.outputs()).await {
        Ok(o) => o,
        Err(e) => panic!("outputs of {} failed: {e}", stack.names().stack),
    }
}

/// Apply that must succeed; the error is printed in full otherwise.
pub async fn apply_ok(stack: &Stack, retry: RetryPolicy) -> ApplyReport {
    match try_apply(stack, retry).await {
        Ok(r) => r,
        Err(e) => panic!("apply of {} failed: {e}", stack.names().stack),
    }
}

pub async fn destroy_ok(stack: &Stack, delete_slr: bool) -> DestroyReport {
    match try_destroy(stack, delete_slr).await {
        Ok(r) => r,
        Err(e) => panic!("destroy of {} failed: {e}", stack.names().stack),
    }
}

// ---------------------------------------------------------------------------------------------
// The account, read directly through the AWS SDK (not through the provisioner).
// ---------------------------------------------------------------------------------------------

/// Plain AWS SDK clients for the env's account, through the env's proxy.
pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub iam: aws_sdk_iam::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Aws {
    pub fn new(env: &TestEnv) -> Aws {
        Aws::from_config(&env.sdk_config())
    }

    /// Clients from an SDK config (e.g. `env.sdk_config_for(other_account)`).
    pub fn from_config(cfg: &aws_config::SdkConfig) -> Aws {
        Aws {
            ecs: aws_sdk_ecs::Client::new(cfg),
            iam: aws_sdk_iam::Client::new(cfg),
            ecr: aws_sdk_ecr::Client::new(cfg),
            logs: aws_sdk_cloudwatchlogs::Client::new(cfg),
        }
    }

    /// `Some(arn)` when IAM GetRole finds the role, `None` on NoSuchEntity.
    pub async fn role_arn(&self, name: &str) -> Option<String> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role().map(|r| r.arn().to_owned()),
            Err(e) if e.code() == Some("NoSuchEntity") => None,
            Err(e) => panic!("GetRole {name}: {:?}", e.code()),
        }
    }

    pub async fn role_path(&self, name: &str) -> Option<String> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role().map(|r| r.path().to_owned()),
            Err(e) if e.code() == Some("NoSuchEntity") => None,
            Err(e) => panic!("GetRole {name}: {:?}", e.code()),
        }
    }

    /// ARNs of the ACTIVE clusters of the account (ListClusters, then DescribeClusters).
    pub async fn active_clusters(&self) -> Vec<String> {
        let arns = self
            .ecs
            .list_clusters()
            .send()
            .await
            .expect("ListClusters")
            .cluster_arns()
            .to_vec();
        if arns.is_empty() {
            return arns;
        }
        let out = self
            .ecs
            .describe_clusters()
            .set_clusters(Some(arns))
            .send()
            .await
            .expect("DescribeClusters");
        out.clusters()
            .iter()
            .filter(|c| c.status() == Some("ACTIVE"))
            .filter_map(|c| c.cluster_arn().map(str::to_owned))
            .collect()
    }

    /// Status of one cluster by name (`None` when DescribeClusters does not know it).
    pub async fn cluster_status(&self, name: &str) -> Option<String> {
        let out = self
            .ecs
            .describe_clusters()
            .clusters(name)
            .send()
            .await
            .expect("DescribeClusters");
        out.clusters()
            .first()
            .and_then(|c| c.status().map(str::to_owned))
    }

    /// ARNs of the services of `cluster` that are not INACTIVE (ListServices, then
    /// DescribeServices: a deleted service stays listed as INACTIVE for a while).
    pub async fn services(&self, cluster: &str) -> Vec<String> {
        let arns = match self.ecs.list_services().cluster(cluster).send().await {
            Ok(out) => out.service_arns().to_vec(),
            Err(e) if e.code() == Some("ClusterNotFoundException") => return vec![],
            Err(e) => panic!("ListServices {cluster}: {:?}", e.code()),
        };
        if arns.is_empty() {
            return arns;
        }
        match self
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(arns))
            .send()
            .await
        {
            Ok(out) => out
                .services()
                .iter()
                .filter(|s| s.status() != Some("INACTIVE"))
                .filter_map(|s| s.service_arn().map(str::to_owned))
                .collect(),
            Err(e) if e.code() == Some("ClusterNotFoundException") => vec![],
            Err(e) => panic!("DescribeServices {cluster}: {:?}", e.code()),
        }
    }

    /// ACTIVE revisions of a task-definition family.
    pub async fn task_definitions(&self, family: &str) -> Vec<String> {
        self.ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .send()
            .await
            .expect("ListTaskDefinitions")
            .task_definition_arns()
            .iter()
            // familyPrefix is a prefix: keep exactly this family.
            .filter(|arn| {
                arn.rsplit('/')
                    .next()
                    .and_then(|fr| fr.rsplit_once(':'))
                    .map(|(f, _)| f)
                    == Some(family)
            })
            .cloned()
            .collect()
    }

    pub async fn repository_exists(&self, name: &str) -> bool {
        match self
            .ecr
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
        {
            Ok(out) => !out.repositories().is_empty(),
            Err(e) if e.code() == Some("RepositoryNotFoundException") => false,
            Err(e) => panic!("DescribeRepositories {name}: {:?}", e.code()),
        }
    }

    /// The log group's retention, `Some(None)` when it exists without one, `None` when absent.
    pub async fn log_group(&self, name: &str) -> Option<Option<i32>> {
        let out = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .expect("DescribeLogGroups");
        out.log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .map(|g| g.retention_in_days())
    }

    /// Everything of the stack `names` that still exists, described; empty = all gone.
    pub async fn leftovers(&self, names: &Names) -> Vec<String> {
        let mut left = Vec::new();
        if let Some(s) = self.cluster_status(&names.cluster).await {
            if s != "INACTIVE" {
                left.push(format!("ECS cluster {} ({s})", names.cluster));
            }
        }
        for arn in self.active_clusters().await {
            if arn.ends_with(&format!("/{}", names.cluster)) {
                left.push(format!("ECS cluster {arn} in ListClusters"));
            }
        }
        for s in self.services(&names.cluster).await {
            left.push(format!("ECS service {s}"));
        }
        for td in self.task_definitions(&names.task_family).await {
            left.push(format!("ECS task definition {td}"));
        }
        for role in [&names.execution_role, &names.task_role] {
            if self.role_arn(role).await.is_some() {
                left.push(format!("IAM role {role}"));
            }
        }
        if self.repository_exists(&names.ecr_repository).await {
            left.push(format!("ECR repository {}", names.ecr_repository));
        }
        if self.log_group(&names.log_group).await.is_some() {
            left.push(format!("log group {}", names.log_group));
        }
        left
    }
}

// ---------------------------------------------------------------------------------------------
// Journal queries.
// ---------------------------------------------------------------------------------------------

/// The env's account's requests, in arrival order.
pub fn journal(env: &TestEnv) -> Vec<JournalEntry> {
    env.proxy.journal_for(&env.account_id)
}

/// `ecs:CreateService`.
pub fn op(e: &JournalEntry) -> String {
    format!(
        "{}:{}",
        e.service.as_deref().unwrap_or("?"),
        e.operation.as_deref().unwrap_or("?")
    )
}

/// Injected failures (error, throttle, drop; not latency) on `service` (`None` = any).
pub fn injected<'a>(entries: &'a [JournalEntry], service: Option<&str>) -> Vec<&'a JournalEntry> {
    entries
        .iter()
        .filter(|e| e.is_injected_failure())
        .filter(|e| service.is_none() || e.service.as_deref() == service)
        .collect()
}

/// Per operation, the ordered fault decisions (`-` = none) it received.
pub fn decisions_per_operation(entries: &[JournalEntry]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.operation.is_some()) {
        let d = match &e.fault {
            Some(f) if f.kind != FaultKind::Latency => {
                format!("{}:{}", f.kind, f.code.as_deref().unwrap_or("-"))
            }
            _ => "-".to_owned(),
        };
        out.entry(op(e)).or_default().push(d);
    }
    out
}

pub fn render(entries: &[JournalEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("  #{:<4} {:>6} ms  {}", e.seq, e.at_ms, e.summary()))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Waiting on conditions.
// ---------------------------------------------------------------------------------------------

/// Polls `check` every 50 ms until it holds; panics naming `what` after `deadline`.
pub async fn wait_until<F, Fut>(what: &str, deadline: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(ms(50)).await;
    }
}

/// Waits until IAM GetRole sees the ECS service-linked role (the end of the `slr-delay` window).
pub async fn wait_slr_visible(aws: &Aws, deadline: Duration) -> Duration {
    wait_until("AWSServiceRoleForECS to be visible", deadline, || async {
        aws.role_arn(SLR_ROLE).await.is_some()
    })
    .await
}
