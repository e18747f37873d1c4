//! Why this file exists: moto builds an account's backends (IAM's managed policies, EC2's
//! default VPC, ...) on the first call of each service in that account, which makes the first
//! apply in a fresh account ~1.8x slower than in a warm one. The pool keeps a few
//! accounts already initialised: one cheap read-only call per service the stack uses
//! ([`WARMUP_CALLS`]: ECS, EC2 `DescribeVpcs` in the test region, IAM, ECR, Logs), made in the
//! background on a thread of its own and replenished as accounts are handed out. A miss (pool
//! empty) hands out a cold account at once. Every id comes from [`accounts::fresh_account_id`]
//! and leaves the pool exactly once, so accounts stay isolated.
//!
//! Services the endpoint routes to another emulator (`localstack+moto`: IAM, STS and Logs go to
//! LocalStack) are not warmed on this one ([`skipped_services`]): it saves their calls and the
//! Logs backend. It does not save IAM's managed policies: moto builds an account's IAM on that
//! account's first request to any service (~9 ms of moto CPU with the launcher).
//!
//! With several moto processes (`HARNESS_MOTO_SHARDS`, `emulator/moto_shards.rs`) the pool
//! draws its accounts for each shard in turn and warms each on its own shard
//! ([`Endpoint::url_for_account`]), where the proxy will send its requests.
//!
//! The warm-up calls only read, so a warmed account holds nothing a fresh AWS account would
//! not (moto's default VPC stands for AWS's). They go straight to the emulator (moto's
//! `x-moto-account-id` header, plus the account as access key id for LocalStack or a proxy),
//! never through a test's proxy, so no test's journal or behaviour models see them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::accounts;
use crate::emulator::readiness::WARMUP_CALLS;
use crate::emulator::Endpoint;

/// Accounts kept warm per process: `HARNESS_ACCOUNT_POOL` (0 turns the pool off).
pub const POOL_SIZE_ENV: &str = "HARNESS_ACCOUNT_POOL";
/// Default pool size: two tests start at once on a 2-core machine.
pub const DEFAULT_POOL_SIZE: usize = 2;
/// Bound on one warm-up call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Hit and miss counts, for the bench.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Accounts handed out warm.
    pub hits: u64,
    /// Accounts handed out cold (pool empty).
    pub misses: u64,
    /// Accounts warmed so far.
    pub warmed: u64,
    /// Warm-ups that failed (the account is dropped, never handed out).
    pub failed: u64,
}

/// An account handed out by the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// Initialised on the emulator before it was handed out.
    Warm(String),
    /// Fresh and cold (the pool was empty).
    Cold(String),
}

impl Account {
    pub fn id(&self) -> &str {
        match self {
            Account::Warm(id) | Account::Cold(id) => id,
        }
    }
}

/// A pool of warm accounts on one emulator, in one region.
#[derive(Debug, Clone)]
pub struct AccountPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The emulator's processes (one, or its shards in order): accounts are drawn for each in
    /// turn and warmed on it.
    endpoints: Vec<String>,
    region: String,
    size: usize,
    /// Warm-up services left out (answered by another emulator).
    skip: Vec<&'static str>,
    ready: Mutex<VecDeque<String>>,
    wake: tokio::sync::Notify,
    hits: AtomicU64,
    misses: AtomicU64,
    warmed: AtomicU64,
    failed: AtomicU64,
}

impl AccountPool {
    /// Starts a pool of `size` accounts warmed through `endpoint` (the emulator's base URL)
    /// in `region`, on a thread of its own (it outlives every test's runtime).
    pub fn start(endpoint: &str, region: &str, size: usize) -> std::io::Result<AccountPool> {
        AccountPool::start_skipping(&[endpoint.to_string()], region, size, Vec::new())
    }

    /// [`AccountPool::start`] on the processes `endpoints` (shards in order: each account is
    /// drawn for one of them, in turn, and warmed there), leaving out the warm-up calls of the
    /// services in `skip` (see [`skipped_services`]).
    pub fn start_skipping(
        endpoints: &[String],
        region: &str,
        size: usize,
        skip: Vec<&'static str>,
    ) -> std::io::Result<AccountPool> {
        let inner = Arc::new(Inner {
            endpoints: endpoints
                .iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            region: region.to_string(),
            size,
            skip,
            ready: Mutex::new(VecDeque::new()),
            wake: tokio::sync::Notify::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            warmed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let worker = Arc::clone(&inner);
        std::thread::Builder::new()
            .name("harness-account-pool".into())
            .spawn(move || runtime.block_on(refill(worker)))?;
        Ok(AccountPool { inner })
    }

    /// A warm account if one is ready (the pool then warms a replacement), else a cold one.
    pub fn take(&self) -> Account {
        let warm = self.inner.queue().pop_front();
        self.inner.wake.notify_one();
        match warm {
            Some(id) => {
                self.inner.hits.fetch_add(1, Ordering::Relaxed);
                Account::Warm(id)
            }
            None => {
                self.inner.misses.fetch_add(1, Ordering::Relaxed);
                Account::Cold(accounts::fresh_account_id())
            }
        }
    }

    /// Accounts ready to hand out now.
    pub fn ready(&self) -> usize {
        self.inner.queue().len()
    }

    /// Waits until `n` accounts are ready (at most `deadline`); true if they are.
    pub async fn wait_ready(&self, n: usize, deadline: Duration) -> bool {
        let started = std::time::Instant::now();
        while self.ready() < n {
            if started.elapsed() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    pub fn stats(&self) -> PoolStats {
        let i = &self.inner;
        PoolStats {
            hits: i.hits.load(Ordering::Relaxed),
            misses: i.misses.load(Ordering::Relaxed),
            warmed: i.warmed.load(Ordering::Relaxed),
            failed: i.failed.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pool's loop: keep `size` accounts ready, one warm-up at a time.
async fn refill(inner: Arc<Inner>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let shards = inner.endpoints.len();
    let mut turn = 0;
    loop {
        while inner.queue().len() < inner.size {
            let shard = turn % shards;
            turn += 1;
            let id = accounts::fresh_account_id_on_shard(shard, shards);
            let endpoint = &inner.endpoints[shard];
            match warm_up(&client, endpoint, &id, &inner.region, &inner.skip).await {
                Ok(()) => {
                    inner.warmed.fetch_add(1, Ordering::Relaxed);
                    inner.queue().push_back(id);
                }
                Err(why) => {
                    inner.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(account = %id, %why, "account warm-up failed; not pooled");
                    // Do not spin against an emulator that is gone.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        inner.wake.notified().await;
    }
}

/// The warm-up services `endpoint` does not serve itself: those its routes send to another
/// emulator (empty for single-emulator backends).
pub fn skipped_services(endpoint: &Endpoint) -> Vec<&'static str> {
    WARMUP_CALLS
        .iter()
        .map(|(service, _, _)| *service)
        .filter(|service| {
            endpoint
                .routes
                .iter()
                .any(|route| route.services.iter().any(|s| s.name() == *service))
        })
        .collect()
}

/// One read-only call per service in `account` (but those in `skip`); an error if any call
/// gets no HTTP answer or a 5xx (an account is pooled only when every backend was built).
pub async fn warm_up(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    endpoint: &str,
    account: &str,
    region: &str,
    skip: &[&str],
) -> Result<(), String> {
    for (service, target, body) in WARMUP_CALLS {
        if skip.contains(&service) {
            continue;
        }
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let mut request = http::Request::post(format!("{endpoint}/"))
            .header("authorization", auth)
            .header("x-moto-account-id", account);
        request = if target.is_empty() {
            request.header("content-type", "application/x-www-form-urlencoded")
        } else {
            request
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", target)
        };
        let request = request
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .map_err(|e| format!("{service}: {e}"))?;
        let response = tokio::time::timeout(CALL_TIMEOUT, client.request(request))
            .await
            .map_err(|_| format!("{service}: no answer within {CALL_TIMEOUT:?}"))?
            .map_err(|e| format!("{service}: {e}"))?;
        let status = response.status();
        let _ = response.into_body().collect().await;
        if status.is_server_error() {
            return Err(format!("{service}: HTTP {status}"));
        }
    }
    Ok(())
}

static POOL: OnceLock<Option<AccountPool>> = OnceLock::new();

/// The pool of this process's shared emulator (started on the first call, for that call's
/// endpoint and region), `None` when `HARNESS_ACCOUNT_POOL=0` or its thread cannot start.
pub fn shared(endpoint: &Endpoint, region: &str) -> Option<&'static AccountPool> {
    POOL.get_or_init(|| {
        let size = match std::env::var(POOL_SIZE_ENV) {
            Ok(v) if !v.trim().is_empty() => v.trim().parse::<usize>().unwrap_or_else(|_| {
                tracing::warn!("{POOL_SIZE_ENV}={v:?} is not a number; using {DEFAULT_POOL_SIZE}");
                DEFAULT_POOL_SIZE
            }),
            _ => DEFAULT_POOL_SIZE,
        };
        if size == 0 {
            return None;
        }
        AccountPool::start_skipping(
            &shard_urls(endpoint),
            region,
            size,
            skipped_services(endpoint),
        )
        .map_err(|e| tracing::warn!(error = %e, "account pool not started"))
        .ok()
    })
    .as_ref()
}

/// The base URLs of `endpoint`'s processes: its shards in order, or its one URL.
pub fn shard_urls(endpoint: &Endpoint) -> Vec<String> {
    if endpoint.shards.is_empty() {
        return vec![endpoint.base_url()];
    }
    endpoint
        .shards
        .iter()
        .map(|s| s.url.as_str().trim_end_matches('/').to_string())
        .collect()
}

/// Hit/miss counts of this process's shared pool (all zero when it never started).
pub fn shared_stats() -> PoolStats {
    POOL.get()
        .and_then(Option::as_ref)
        .map(AccountPool::stats)
        .unwrap_or_default()
}

/// Warms `account` now, on its shard (`harness up`/`harness run` hand it out right after); a failed warm-up
/// is a warning, the account is then used cold.
pub async fn warm(endpoint: &Endpoint, region: &str, account: &str) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let base = endpoint.url_for_account(account);
    let skip = skipped_services(endpoint);
    if let Err(why) = warm_up(&client, &base, account, region, &skip).await {
        tracing::warn!(account = %account, %why, "account warm-up failed; handing it out cold");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(routes: &[&str]) -> Endpoint {
        Endpoint {
            url: "http://127.0.0.1:5000/".parse().unwrap(),
            flavor: faultproxy::UpstreamFlavor::Moto,
            serves_ecs: true,
            routes: routes.iter().map(|r| r.parse().unwrap()).collect(),
            shards: Vec::new(),
        }
    }

    #[test]
    fn a_single_emulator_warms_every_service() {
        assert!(skipped_services(&endpoint(&[])).is_empty());
    }

    #[test]
    fn services_routed_to_another_emulator_are_not_warmed_on_this_one() {
        let routed = endpoint(&["iam,sts,logs=http://127.0.0.1:4566@localstack"]);
        assert_eq!(skipped_services(&routed), vec!["iam", "logs"]);
    }
}
