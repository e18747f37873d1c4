//! Several moto processes behind one proxy (`HARNESS_MOTO_SHARDS`, emulator/moto_shards.rs):
//! two accounts on different shards both work and see nothing of each other; every request of
//! an account goes to the same shard (the journal's `shard`, and the state each moto process
//! holds, read straight from it); a killed shard is a loud error naming it (shard number, port,
//! pid, log) while the other shard keeps serving; and the run-wide shared server stops as a
//! whole when one of its shards dies. The shard count is given in code (2), never read from the
//! environment, so the tests mean the same on any machine.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_ecs::error::DisplayErrorContext;
use aws_types::region::Region;
use aws_types::SdkConfig;
use bytes::Bytes;
use faultproxy::{shard_of, ProxyHandle};
use harness::accounts::fresh_account_id_on_shard;
use harness::emulator::moto_process::MotoOptions;
use harness::emulator::moto_shards::MotoShards;
use harness::emulator::sharing::keeper::wait_gone;
use harness::emulator::sharing::{attach_or_start_shards, Scope, ServerState};
use harness::emulator::Emulator;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const REGION: &str = "ap-northeast-1";
const CLUSTER: &str = "shards-demo";
const ROLE: &str = "shards-demo-role";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

async fn two_shards() -> MotoShards {
    let options = MotoOptions::from_env().await.expect("moto");
    MotoShards::start(&options, 2)
        .await
        .expect("two moto processes")
}

async fn sdk(proxy: &ProxyHandle, account: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(proxy.url())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(account, "test", None, None, "shards"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// The cluster names moto process `base` holds for `account` (asked straight, not through the
/// proxy: moto's own account header).
async fn clusters_on(base: &str, account: &str) -> Vec<String> {
    let request = http::Request::post(format!("{base}/"))
        .header("x-moto-account-id", account)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.ListClusters",
        )
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential={account}/20260101/{REGION}/ecs/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client.request(request).await.expect("moto answers");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    json["clusterArns"]
        .as_array()
        .expect("clusterArns")
        .iter()
        .filter_map(|arn| arn.as_str()?.rsplit('/').next().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn accounts_on_two_shards_both_work_stay_isolated_and_always_hit_their_shard() {
    let moto = two_shards().await;
    let endpoint = moto.endpoint().clone();
    assert_eq!(endpoint.shard_count(), 2);
    let proxy = faultproxy::start(endpoint.proxy_config(Vec::new()))
        .await
        .expect("proxy");
    let accounts = [
        fresh_account_id_on_shard(0, 2),
        fresh_account_id_on_shard(1, 2),
    ];

    for account in &accounts {
        let cfg = sdk(&proxy, account).await;
        let ecs = aws_sdk_ecs::Client::new(&cfg);
        ecs.create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .expect("CreateCluster");
        let listed = ecs.list_clusters().send().await.expect("ListClusters");
        assert_eq!(listed.cluster_arns().len(), 1, "{account}: {listed:?}");
    }
    // Only the first account has the role: the second one's IAM does not see it.
    let iam = |account: &str| {
        let account = account.to_string();
        let proxy = proxy.clone();
        async move { aws_sdk_iam::Client::new(&sdk(&proxy, &account).await) }
    };
    iam(&accounts[0])
        .await
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("CreateRole");
    iam(&accounts[0])
        .await
        .get_role()
        .role_name(ROLE)
        .send()
        .await
        .expect("the role in its own account");
    let other = iam(&accounts[1])
        .await
        .get_role()
        .role_name(ROLE)
        .send()
        .await;
    let code = other
        .expect_err("another account must not see the role")
        .into_service_error()
        .meta()
        .code()
        .map(str::to_string);
    assert_eq!(code.as_deref(), Some("NoSuchEntity"));

    for (i, account) in accounts.iter().enumerate() {
        let journal = proxy.journal_for(account);
        assert!(journal.len() >= 3, "{account}: {journal:?}");
        for e in &journal {
            assert_eq!(
                e.shard,
                Some(i as u16 + 1),
                "#{} {} of {account} went to another shard",
                e.seq,
                e.summary()
            );
        }
        // Each moto process holds the account's cluster only if it is the account's shard.
        for (s, shard) in endpoint.shards.iter().enumerate() {
            let base = shard.url.as_str().trim_end_matches('/');
            let held = clusters_on(base, account).await;
            if s == shard_of(account, 2) {
                assert_eq!(held, [CLUSTER], "shard {} of {account}", s + 1);
            } else {
                assert!(held.is_empty(), "shard {} holds {account}: {held:?}", s + 1);
            }
        }
    }
}

#[tokio::test]
async fn a_killed_shard_is_a_loud_error_naming_it_and_the_other_shard_keeps_serving() {
    let moto = two_shards().await;
    let endpoint = moto.endpoint().clone();
    let proxy = faultproxy::start(endpoint.proxy_config(Vec::new()))
        .await
        .expect("proxy");
    let (alive, doomed) = (
        fresh_account_id_on_shard(0, 2),
        fresh_account_id_on_shard(1, 2),
    );
    let killed = &moto.processes()[1];
    let (pid, log) = (
        killed.pid(),
        killed.log_path().unwrap().display().to_string(),
    );
    let port = endpoint.shards[1].url.port().unwrap();
    killed.stop();

    let ecs = aws_sdk_ecs::Client::new(&sdk(&proxy, &doomed).await);
    let err = ecs
        .list_clusters()
        .send()
        .await
        .expect_err("the account's shard is dead");
    let message = format!("{}", DisplayErrorContext(&err));
    for part in [
        "ServiceUnavailable".to_string(),
        "moto shard 2 of 2".to_string(),
        format!("127.0.0.1:{port}"),
        format!("pid {pid}"),
        format!("log {log}"),
    ] {
        assert!(message.contains(&part), "no {part:?} in: {message}");
    }
    let ecs = aws_sdk_ecs::Client::new(&sdk(&proxy, &alive).await);
    ecs.list_clusters()
        .send()
        .await
        .expect("shard 1 still serves its accounts");
}

#[tokio::test]
async fn the_shared_server_runs_every_shard_and_stops_whole_when_one_dies() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::at(dir.path());
    let shared = attach_or_start_shards(&scope, 2)
        .await
        .expect("shared server");
    let state = ServerState::read(&scope).expect("state file");
    let shards = state.shards();
    assert_eq!(shards.len(), 2, "{state:?}");
    assert_eq!(shared.endpoint().shard_count(), 2);
    assert!(shards
        .iter()
        .all(|s| s.keeper.is_alive() && s.moto.is_alive()));
    // An attaching process gets the same shards, whatever count it would start.
    let again = attach_or_start_shards(&scope, 1).await.expect("attach");
    assert!(!again.started_here());
    assert_eq!(again.endpoint().shards, shared.endpoint().shards);

    // Shard 2's moto dies: its keeper stops shard 1's keeper too and forgets the server.
    // SAFETY: plain syscall on the moto process this test started (alive, checked above).
    unsafe {
        libc::kill(shards[1].moto.pid as libc::pid_t, libc::SIGKILL);
    }
    for s in &shards {
        assert!(
            wait_gone(s.keeper, Duration::from_secs(30)).await,
            "keeper {} outlived a dead shard",
            s.keeper
        );
        assert!(wait_gone(s.moto, Duration::from_secs(30)).await);
    }
    assert!(
        ServerState::read(&scope).is_none(),
        "state file left behind"
    );
    let log = std::fs::read_to_string(&shards[1].log).unwrap();
    assert!(log.contains("moto exited"), "{log}");

    // The next process starts a whole new server.
    let next = attach_or_start_shards(&scope, 2).await.expect("new server");
    assert!(next.started_here());
    next.release();
    assert!(wait_gone(next.moto(), Duration::from_secs(30)).await);
}
