//! TestEnv: fresh accounts on one shared emulator are isolated from each other, the SDK config
//! reaches the emulator through the proxy, and the default network is found per account.

use aws_sdk_iam::Client as Iam;
use harness::env::{test_env, TestEnv, DEFAULT_REGION};
use rstest::rstest;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

async fn role_names(iam: &Iam) -> Vec<String> {
    iam.list_roles()
        .send()
        .await
        .expect("ListRoles")
        .roles()
        .iter()
        .map(|r| r.role_name().to_string())
        .collect()
}

#[tokio::test]
async fn two_accounts_on_one_emulator_are_isolated() {
    let a = TestEnv::new().await.expect("env A");
    let b = TestEnv::new().await.expect("env B");
    assert_ne!(a.account_id, b.account_id);
    assert_eq!(
        a.emulator.pid(),
        b.emulator.pid(),
        "both envs use the process's shared emulator"
    );
    assert_ne!(
        a.endpoint_url(),
        b.endpoint_url(),
        "each env has its own proxy"
    );

    let iam_a = Iam::new(&a.sdk_config());
    let iam_b = Iam::new(&b.sdk_config());
    let created = iam_a
        .create_role()
        .role_name("isolation-probe")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("CreateRole in A");
    let arn = created.role().unwrap().arn();
    assert!(
        arn.starts_with(&format!("arn:aws:iam::{}:role/", a.account_id)),
        "{arn}"
    );

    assert!(role_names(&iam_a)
        .await
        .contains(&"isolation-probe".to_string()));
    assert!(
        !role_names(&iam_b)
            .await
            .contains(&"isolation-probe".to_string()),
        "B sees A's role"
    );
    let err = iam_b
        .get_role()
        .role_name("isolation-probe")
        .send()
        .await
        .expect_err("B must not find A's role");
    assert!(err.into_service_error().is_no_such_entity_exception());

    // Same role name in B is a different role, in B's account.
    let in_b = iam_b
        .create_role()
        .role_name("isolation-probe")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("CreateRole in B");
    assert!(in_b.role().unwrap().arn().contains(&b.account_id));

    // One proxy can serve several accounts: the access key id selects the account.
    let iam_b_via_a = Iam::new(&a.sdk_config_for(&b.account_id));
    let seen = iam_b_via_a
        .get_role()
        .role_name("isolation-probe")
        .send()
        .await
        .expect("GetRole");
    assert!(seen.role().unwrap().arn().contains(&b.account_id));
}

#[tokio::test]
async fn sdk_config_points_at_the_proxy_with_the_account_as_access_key() {
    use aws_credential_types::provider::ProvideCredentials;
    let env = TestEnv::new().await.unwrap();
    let config = env.sdk_config();
    assert_eq!(config.region().unwrap().as_ref(), DEFAULT_REGION);
    assert_eq!(config.endpoint_url(), Some(env.endpoint_url().as_str()));
    let credentials = config
        .credentials_provider()
        .unwrap()
        .provide_credentials()
        .await
        .unwrap();
    assert_eq!(credentials.access_key_id(), env.account_id);
    assert_eq!(credentials.secret_access_key(), "test");
    assert!(env.endpoint_url().starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn network_is_the_default_vpc_of_each_account() {
    let a = TestEnv::new().await.unwrap();
    let b = TestEnv::new().await.unwrap();
    let net_a = a.network().await.expect("network A");
    assert!(net_a.vpc_id.starts_with("vpc-"), "{net_a:?}");
    assert!(
        !net_a.subnets.is_empty() && net_a.subnets.iter().all(|s| s.starts_with("subnet-")),
        "{net_a:?}"
    );
    assert_eq!(net_a.security_groups.len(), 1, "{net_a:?}");
    assert!(net_a.security_groups[0].starts_with("sg-"), "{net_a:?}");
    assert_eq!(a.network().await.unwrap(), net_a, "cached and stable");
    let net_b = b.network().await.expect("network B");
    assert_ne!(
        net_a.vpc_id, net_b.vpc_id,
        "each account has its own default VPC"
    );
    assert_ne!(net_a.security_groups, net_b.security_groups);
}

#[rstest]
#[tokio::test]
async fn the_fixture_gives_a_ready_env(#[future(awt)] test_env: TestEnv) {
    assert!(harness::accounts::is_account_id(&test_env.account_id));
    assert_ne!(test_env.account_id, harness::accounts::MOTO_DEFAULT_ACCOUNT);
    let iam = Iam::new(&test_env.sdk_config());
    assert!(
        role_names(&iam).await.is_empty(),
        "a fresh account has no roles"
    );
}
