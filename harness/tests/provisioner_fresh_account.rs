//! The provisioner against a fresh account with every behaviour model on (`fresh-account`,
//! scaled time), on moto: for a few seeds and both service-linked-role modes, apply succeeds with
//! retries on, a second plan is empty, destroy succeeds and leaves nothing, apply right after the
//! destroy succeeds, and an apply right after the service was deleted behind the provisioner's
//! back (still DRAINING) waits the drain out instead of failing "Creation of service was not
//! idempotent.". Prints which models fired and what the retry loop absorbed. (The 20-seed
//! scenario family is scenarios/tests/fresh_account.rs.)

use std::collections::BTreeSet;
use std::time::Duration;

use faultproxy::models::WindowRange;
use faultproxy::ModelSettings;
use harness::env::TestEnv;
use provisioner::{
    ApplyOptions, ApplyReport, DestroyOptions, Progress, RetryPolicy, SlrMode, Stack,
};
use rstest::rstest;

/// 0.05: a 20 s window of AWS's runs in 1 s.
const TIME_SCALE: f64 = 0.05;

/// Retries on with the default fixed poll; a deadline far beyond every scaled window.
fn retry() -> RetryPolicy {
    RetryPolicy::default().with_deadline(Duration::from_secs(60))
}

fn progress(label: String) -> Progress {
    Progress::custom(move |e| println!("    [{label}] {e}"))
}

async fn apply(stack: &Stack, label: &str) -> ApplyReport {
    let opts = ApplyOptions::new(retry()).with_progress(progress(label.to_string()));
    match Box::pin(stack.apply(&opts)).await {
        Ok(r) => {
            for a in &r.absorbed {
                println!(
                    "  {label}: absorbed {}: {}: {} (attempt {}, {:?} in)",
                    a.operation, a.code, a.message, a.attempt, a.waited
                );
            }
            r
        }
        Err(e) => panic!("{label}: apply failed: {e}"),
    }
}

async fn destroy(stack: &Stack, label: &str) {
    let opts = DestroyOptions {
        delete_service_linked_role: false,
        retry: retry(),
        progress: progress(label.to_string()),
    };
    if let Err(e) = Box::pin(stack.destroy(&opts)).await {
        panic!("{label}: destroy failed: {e}");
    }
    let left = Box::pin(stack.plan_destroy(false))
        .await
        .unwrap_or_else(|e| panic!("{label}: destroy plan: {e}"));
    assert!(left.is_empty(), "{label}: destroy left {}", left.summary());
}

async fn assert_plan_empty(stack: &Stack, label: &str) {
    let plan = Box::pin(stack.plan())
        .await
        .unwrap_or_else(|e| panic!("{label}: plan: {e}"));
    assert!(
        plan.is_empty(),
        "{label}: plan not empty: {}",
        plan.summary()
    );
}

fn models_fired(env: &TestEnv) -> BTreeSet<String> {
    env.proxy
        .journal_for(&env.account_id)
        .iter()
        .filter_map(|e| e.fault.as_ref().map(|f| f.rule.clone()))
        .filter(|r| r.starts_with("model:"))
        .collect()
}

#[rstest]
#[case::seed_1_ensure(1, SlrMode::Ensure)]
#[case::seed_2_implicit(2, SlrMode::Implicit)]
#[case::seed_3_ensure(3, SlrMode::Ensure)]
#[tokio::test]
async fn the_stack_survives_a_fresh_account(#[case] seed: u64, #[case] mode: SlrMode) {
    let env = harness::test_env_or_skip!();
    harness::require_ecs!(env);
    // The network lookup (EC2) happens before the models are on: the harness's, not the stack's.
    let mut spec = env
        .spec(&format!("fa{seed}"))
        .await
        .unwrap_or_else(|e| panic!("default network: {e:#}"));
    spec.service_linked_role = mode;
    let mut models = ModelSettings::fresh_account();
    models.seed = seed;
    models.set_time_scale(TIME_SCALE).expect("time scale");
    let env = env.with_models(models);
    let stack = env.stack(spec);
    let label = format!("seed {seed} {mode:?}");

    let first = apply(&stack, &format!("{label} first apply")).await;
    assert!(
        first.changes > 0,
        "{label}: the first apply created nothing"
    );
    assert_plan_empty(&stack, &format!("{label} after apply")).await;
    destroy(&stack, &format!("{label} destroy")).await;
    apply(&stack, &format!("{label} apply after destroy")).await;
    assert_plan_empty(&stack, &format!("{label} after re-apply")).await;

    // The destroy-then-apply trap: the service deleted by someone else, still DRAINING.
    let ecs = aws_sdk_ecs::Client::new(&env.sdk_config());
    let names = stack.names().clone();
    ecs.delete_service()
        .cluster(&names.cluster)
        .service(&names.service)
        .force(true)
        .send()
        .await
        .expect("DeleteService behind the provisioner's back");
    apply(&stack, &format!("{label} apply while the service drains")).await;
    assert_plan_empty(&stack, &format!("{label} after the drain")).await;
    destroy(&stack, &format!("{label} final destroy")).await;

    let fired = models_fired(&env);
    println!("{label}: models that answered: {fired:?}");
    assert!(
        fired.contains("model:ecs-service-draining"),
        "{label}: the draining model never answered: {fired:?}"
    );
}

/// With `--no-retry` nothing is waited out: CreateService beside a DRAINING namesake answers
/// ECS's exact error, and the provisioner surfaces it verbatim.
#[tokio::test]
async fn with_retries_off_the_draining_namesake_error_surfaces_verbatim() {
    let env = harness::test_env_or_skip!();
    harness::require_ecs!(env);
    let mut spec = env
        .spec("faoff")
        .await
        .unwrap_or_else(|e| panic!("default network: {e:#}"));
    spec.service_linked_role = SlrMode::Ensure;
    // A wide window (10 s, unscaled): a loaded machine still calls CreateService inside it.
    let draining = faultproxy::models::ecs_service_draining::SPEC.name;
    let mut models = ModelSettings::default();
    models.set_enabled(draining, true).expect("model");
    models
        .set_range(draining, WindowRange::fixed(Duration::from_secs(10)))
        .expect("window");
    let env = env.with_models(models);
    let stack = env.stack(spec);
    apply(&stack, "no-retry setup").await;
    let names = stack.names().clone();
    aws_sdk_ecs::Client::new(&env.sdk_config())
        .delete_service()
        .cluster(&names.cluster)
        .service(&names.service)
        .force(true)
        .send()
        .await
        .expect("DeleteService behind the provisioner's back");
    let opts =
        ApplyOptions::new(RetryPolicy::disabled()).with_progress(progress("no-retry".into()));
    let err = Box::pin(stack.apply(&opts))
        .await
        .expect_err("CreateService while the namesake drains");
    assert_eq!(
        err.to_string(),
        format!(
            "CreateService: InvalidParameterException: {}",
            faultproxy::models::ecs_service_draining::NOT_IDEMPOTENT
        )
    );
    destroy(&stack, "no-retry cleanup").await;
}
