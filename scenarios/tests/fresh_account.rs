//! A fresh account, modelled: the proxy's behaviour models, one at a time
//! and all together.
//!
//! (a) Per model, retries off: the model's exact AWS error (operation, code, message verbatim,
//!     HTTP status) surfaces through the provisioner, and the journal names the model as the
//!     one that answered. Each case drives what its model needs: the first apply, the destroy
//!     right after it, or a bystander (a service or cluster the provisioner does not own).
//!
//! (b) The whole `fresh-account` profile under 20 seeds at once (scaled time): apply, empty
//!     second plan, clean destroy, and every model met across the seeds.
//! (c) Apply right after the stack went away (destroyed, or its service deleted and not
//!     waited for) waits out the draining service.
//!
//! Windows are fixed per case and long (20 s at time scale 1) where the test only needs to be
//! inside them: the error comes back at once, nothing waits the window out.

use std::time::Duration;

use faultproxy::models::ecs_service_draining as draining;
use faultproxy::models::{ModelId, ModelSettings, ResourceKey, WindowRange};
use faultproxy::{FaultKind, JournalEntry};
use harness::env::{test_env_or_skip, TestEnv};
use provisioner::{Error, Names, SlrMode, Stack};
use rstest::rstest;

use crate::common::fresh::*;
use crate::common::held::apply_holding_model;
use crate::common::*;

/// A window the provisioner's calls land in however loaded the machine is (never waited out).
const WIDE: Duration = Duration::from_secs(20);

/// What a case does to meet its model.
#[derive(Debug, Clone, Copy)]
enum Drive {
    /// The first apply (retries off) meets the model.
    FirstApply,
    /// The first apply succeeds; the destroy right after it (retries off) meets the model.
    DestroyRightAfterApply,
    /// A colleague's service in our cluster was deleted a moment before our destroy and still
    /// drains when destroy deletes the cluster (our own service's drain is short).
    DestroyWhileABystanderServiceDrains,
}

/// The AWS error a case expects, as AWS sends it.
struct Expected {
    /// The operation(s) that may meet the model first (parallel steps race).
    operations: &'static [&'static str],
    code: &'static str,
    /// Every message the model may answer, given the stack's names.
    messages: fn(&Names) -> Vec<String>,
    status: u16,
}

/// ECS, the seed's error: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
fn slr_not_assumable(_: &Names) -> Vec<String> {
    vec![SLR_MESSAGE.to_owned()]
}

/// ECR, terraform-provider-aws#39064.
fn principal_not_found(_: &Names) -> Vec<String> {
    vec![
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'"
            .into(),
    ]
}

/// ECS ClusterNotFoundException: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html#API_CreateService_Errors
fn cluster_not_found(_: &Names) -> Vec<String> {
    vec!["Cluster not found.".into()]
}

/// ECS UpdateInProgressException: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html#API_PutClusterCapacityProviders_Errors
fn attachments_busy(_: &Names) -> Vec<String> {
    vec!["The specified cluster is in a busy state. Cluster attachments must be in UPDATE_COMPLETE or UPDATE_FAILED state before they can be updated.".into()]
}

/// ECS ClusterContainsServicesException: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html#API_DeleteCluster_Errors
fn contains_services(_: &Names) -> Vec<String> {
    vec!["The Cluster cannot be deleted while Services are active.".into()]
}

/// IAM NoSuchEntity for GetRole / GetRolePolicy of the stack's roles and inline policy:
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html#API_GetRole_Errors
fn no_such_entity(n: &Names) -> Vec<String> {
    vec![
        format!("The role with name {} cannot be found.", n.execution_role),
        format!("The role with name {} cannot be found.", n.task_role),
        format!(
            "The role policy with name {} cannot be found.",
            n.task_policy
        ),
    ]
}

/// CloudWatch Logs OperationAbortedException: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html#API_PutRetentionPolicy_Errors
fn operation_aborted(_: &Names) -> Vec<String> {
    vec![
        "A conflicting operation is currently in progress against this resource. Please try again."
            .into(),
    ]
}

#[rstest]
#[case::slr_delay("slr-delay", SlrMode::Implicit, Drive::FirstApply, Expected {
    operations: &["CreateService"], code: SLR_CODE, messages: slr_not_assumable, status: 400 })]
#[case::iam_propagation("iam-propagation", SlrMode::Ensure, Drive::FirstApply, Expected {
    operations: &["SetRepositoryPolicy"], code: "InvalidParameterException",
    messages: principal_not_found, status: 400 })]
#[case::ecs_cluster_not_found("ecs-cluster-not-found", SlrMode::Ensure, Drive::FirstApply, Expected {
    operations: &["CreateService", "PutClusterCapacityProviders"], code: "ClusterNotFoundException",
    messages: cluster_not_found, status: 400 })]
#[case::ecs_capacity_provider_attachments("ecs-capacity-provider-attachments", SlrMode::Ensure,
    Drive::DestroyRightAfterApply, Expected {
    operations: &["PutClusterCapacityProviders", "DeleteCluster"], code: "UpdateInProgressException",
    messages: attachments_busy, status: 400 })]
#[case::ecs_service_draining("ecs-service-draining", SlrMode::Ensure,
    Drive::DestroyWhileABystanderServiceDrains, Expected {
    operations: &["DeleteCluster"], code: "ClusterContainsServicesException",
    messages: contains_services, status: 400 })]
#[case::iam_read_after_write("iam-read-after-write", SlrMode::Ensure, Drive::FirstApply, Expected {
    operations: &["GetRole", "GetRolePolicy"], code: "NoSuchEntity", messages: no_such_entity,
    status: 404 })]
#[case::logs_conflicting_operation("logs-conflicting-operation", SlrMode::Ensure, Drive::FirstApply,
    Expected { operations: &["PutRetentionPolicy", "TagResource"], code: "OperationAbortedException",
    messages: operation_aborted, status: 400 })]
#[tokio::test]
async fn with_retries_off_the_models_exact_error_surfaces_verbatim(
    #[case] model: &str,
    #[case] mode: SlrMode,
    #[case] drive: Drive,
    #[case] expected: Expected,
) {
    scenario_env!(env, model);
    let env = env.with_models(only_model(model, WIDE));
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "fresh", mode).await);

    let err = match drive {
        Drive::FirstApply => try_apply(&stack, retry_off()).await.map(|_| ()),
        Drive::DestroyRightAfterApply => {
            apply_ok(&stack, retry_off()).await;
            destroy_without_retry(&stack, false).await.map(|_| ())
        }
        Drive::DestroyWhileABystanderServiceDrains => {
            apply_ok(&stack, retry_off()).await;
            drain_a_bystander(&env, &aws, &stack).await;
            destroy_without_retry(&stack, false).await.map(|_| ())
        }
    }
    .expect_err("the model's error must stop the provisioner when retries are off");
    println!("[{model}] {drive:?} failed as AWS fails: {err}");
    let j = journal(&env);
    let aws_err = err
        .aws_error()
        .unwrap_or_else(|| panic!("not an AWS error: {err}\n{}", render(&j)));
    assert!(
        expected.operations.contains(&aws_err.operation.as_str()),
        "{err}: expected one of {:?}",
        expected.operations
    );
    assert_eq!(aws_err.code, expected.code, "{err}");
    let messages = (expected.messages)(stack.names());
    assert!(
        messages.contains(&aws_err.message),
        "{err}: message not verbatim, expected one of {messages:?}"
    );
    assert_eq!(aws_err.status, Some(expected.status), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: {}: {}",
            aws_err.operation, aws_err.code, aws_err.message
        ),
        "the provisioner prints AWS's error as sent"
    );
    assert!(!err.is_retry_deadline_exceeded(), "retries were off: {err}");

    // The journal: that very answer came from the model, nothing else injected anything.
    let from_model = answered_by(&j, model);
    assert!(
        from_model.iter().any(|e| {
            e.operation.as_deref() == Some(aws_err.operation.as_str())
                && e.status == Some(expected.status)
                && e.fault.as_ref().and_then(|f| f.code.as_deref()) == Some(expected.code)
        }),
        "no {} answer of model {model} in the journal:\n{}",
        aws_err.operation,
        render(&j)
    );
    let others = fired_models(&j)
        .into_iter()
        .filter(|m| m != model)
        .collect::<Vec<_>>();
    assert!(others.is_empty(), "other models answered: {others:?}");
}

/// The service-linked role's deletion task (slr-deletion-status) runs over a window
/// (`NOT_STARTED`, `IN_PROGRESS`) and ends `FAILED` with the usage list while a cluster uses
/// the role: destroy with `--delete-service-linked-role`, retries off, reports AWS's reason and
/// the bystander cluster, after waiting the task out (a wait, not a retry).
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLinkedRoleDeletionStatus.html
#[rstest]
#[tokio::test]
async fn with_retries_off_the_slr_deletion_task_fails_with_its_usage_list() {
    let model = "slr-deletion-status";
    scenario_env!(env, model);
    // 2 s: long enough that the provisioner polls through NOT_STARTED/IN_PROGRESS, short enough
    // to be waited out.
    let env = env.with_models(only_model(model, Duration::from_secs(2)));
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "fresh", SlrMode::Ensure).await);
    apply_ok(&stack, retry_off()).await;
    let bystander = aws.create_bystander_cluster("bystander").await;

    let err = destroy_without_retry(&stack, true)
        .await
        .expect_err("the role is in use by the bystander cluster");
    println!("[{model}] destroy --delete-service-linked-role: {err}");
    let Error::SlrDeletionFailed {
        role,
        reason,
        usage,
    } = &err
    else {
        panic!("expected the deletion task to end FAILED, got: {err}");
    };
    assert_eq!(role, SLR_ROLE);
    assert!(
        reason.contains("in use") && reason.contains(SLR_ROLE),
        "AWS's reason names the role and its use: {reason}"
    );
    let here = usage
        .iter()
        .find(|u| u.region == env.region)
        .unwrap_or_else(|| panic!("no usage in {}: {usage:?}", env.region));
    assert_eq!(here.resources, vec![bystander.clone()], "{usage:?}");

    let j = journal(&env);
    let lagging = answered_by(&j, model);
    assert!(
        !lagging.is_empty()
            && lagging.iter().all(|e| {
                e.operation.as_deref() == Some("GetServiceLinkedRoleDeletionStatus")
                    && e.fault.as_ref().map(|f| f.kind) == Some(FaultKind::ReadLag)
            }),
        "the task must be seen unfinished (NOT_STARTED/IN_PROGRESS) first:\n{}",
        render(&j)
    );
    assert_eq!(aws.leftovers(stack.names()).await, Vec::<String>::new());
    assert!(aws.role_arn(SLR_ROLE).await.is_some(), "the role is kept");
    aws.delete_bystander_cluster("bystander").await;
}

/// Destroy with the retry loop off (its waits still run), as `provisioner destroy` with
/// `--no-retry` would.
async fn destroy_without_retry(stack: &Stack, delete_slr: bool) -> Result<(), Error> {
    let opts = provisioner::DestroyOptions {
        delete_service_linked_role: delete_slr,
        retry: retry_off(),
        progress: progress(),
    };
    Box::pin(stack.destroy(&opts)).await.map(|_| ())
}

/// How long a deleted service of `cluster` named `service` drains under `settings`: the length the
/// draining model computes at each check (a draw keyed by the seed, the region and
/// `cluster/service`; the account plays no part).
fn drain_of(settings: &ModelSettings, region: &str, cluster: &str, service: &str) -> Duration {
    let key = ResourceKey::new("", region, &format!("{cluster}/{service}"));
    settings.draw(ModelId::ECS_SERVICE_DRAINING, &draining::SPEC, &key, 0)
}

/// A colleague's service in our cluster, deleted now: it drains for at least [`BYSTANDER_DRAIN`],
/// while our own service, deleted later by our destroy, drains for at most [`OWN_DRAIN`], so
/// destroy waits its own drain out and reaches DeleteCluster while the bystander still drains.
/// Both are windows of one model, and a window's length is computed from the range in force at
/// each check, so the two lengths come from the draw itself: with the range [`DRAIN_RANGE`], the
/// seed is the first whose draw for our service is short, the bystander's name the first whose
/// draw is long. Nothing here depends on how fast the machine is, but for destroy's steps
/// between its own service and DeleteCluster taking less than the difference (over 40 s).
async fn drain_a_bystander(env: &TestEnv, aws: &Aws, stack: &Stack) {
    let cluster = &stack.names().cluster;
    let mut settings = only_model("ecs-service-draining", WIDE);
    settings
        .set_range("ecs-service-draining", DRAIN_RANGE)
        .expect("the registry has ecs-service-draining");
    settings.seed = (0..)
        .find(|&seed| {
            let mut s = settings;
            s.seed = seed;
            drain_of(&s, &env.region, cluster, &stack.names().service) <= OWN_DRAIN
        })
        .expect("some seed draws a short drain");
    let bystander = (0..)
        .map(|i| format!("bystander-{i}"))
        .find(|name| drain_of(&settings, &env.region, cluster, name) >= BYSTANDER_DRAIN)
        .expect("some name draws a long drain");
    let task_definition = aws
        .task_definitions(&stack.names().task_family)
        .await
        .pop()
        .expect("the stack's task definition");
    env.proxy.set_model_settings(settings);
    aws.create_bystander_service(env, cluster, &bystander, &task_definition)
        .await;
    aws.delete_service_behind_our_back(cluster, &bystander)
        .await;
}

/// The draining range of [`drain_a_bystander`]: wide, so short and long draws both exist.
const DRAIN_RANGE: WindowRange = WindowRange::secs(0, 60);
/// Our own service's drain in [`drain_a_bystander`]: destroy waits it out.
const OWN_DRAIN: Duration = Duration::from_secs(3);
/// The bystander's drain in [`drain_a_bystander`]: it outlasts destroy's way to DeleteCluster.
const BYSTANDER_DRAIN: Duration = Duration::from_secs(45);

// ---------------------------------------------------------------------------------------------
// (b) The whole profile, many seeds.
// ---------------------------------------------------------------------------------------------

/// Seeds of the profile run; each gets an account and a proxy of its own, all run at once.
const SEEDS: u64 = 20;
/// 0.1: AWS's windows (up to a minute) last up to 6 s here. At 0.05 a model with short windows
/// (slr-delay 0.1-1 s, iam-propagation 0.1-1.5 s) went unanswered across all 20 seeds in 1 of 3
/// full-suite runs on a loaded 2-core machine: its calls landed after the window had closed.
const SCALE: f64 = 0.1;
/// The waited-out windows of the profile whose default ranges end far beyond the others
/// (draining 10-60 s, capacity-provider attachments 5-30 s: up to 6 s and 3 s at [`SCALE`]),
/// capped for (b): the slowest of the 20 seeds waits out the longest draws, and the provisioner's
/// wait is the same code for a window of 2 s as for one of 6 s. The lower ends stay the
/// registry's, so every model opens its windows as often as with AWS's ranges.
///
/// And iam-propagation (registry 2-30 s), raised to 30-60 s (3-6 s): its window opens at the
/// execution role's CreateRole and is met by SetRepositoryPolicy, which waits for the rest of
/// the role's step (AttachRolePolicy, the read-after-write wait, the reads that verify it).
/// With every test of the suite at once on a loaded 2-core machine that took 2.1-7.1 s across
/// the 20 seeds (one seed under 3 s), and the model went unmet in 2 of 4 such runs.
const RANGES: [(&str, WindowRange); 3] = [
    ("ecs-service-draining", WindowRange::secs(10, 20)),
    (
        "ecs-capacity-provider-attachments",
        WindowRange::secs(5, 15),
    ),
    ("iam-propagation", WindowRange::secs(30, 60)),
];

/// The shortest window of (b), before scaling (1 s at [`SCALE`]). A model whose window opens
/// at one call is met by the next call of the same step (PutRetentionPolicy right after
/// CreateLogGroup, GetRole right after CreateRole, CreateService after the cluster): with every
/// test of the suite at once on a loaded 2-core machine, that gap outlasted the registry's
/// shortest windows (logs-conflicting-operation: 50-300 ms at [`SCALE`]) in all 20 seeds, and
/// the model went unmet. Raising the lower ends only lengthens windows (the provisioner waits
/// more, never less), so every model still opens its windows as often.
const FLOOR: Duration = Duration::from_secs(10);

/// The `fresh-account` profile of (b): [`fresh_account`] at [`SCALE`], every range raised to
/// [`FLOOR`], then the [`RANGES`].
fn profile_of_the_seeds(seed: u64) -> faultproxy::ModelSettings {
    let mut models = fresh_account(seed, SCALE);
    for spec in faultproxy::models::seed_stack_specs() {
        let r = models.range(spec);
        let floored = WindowRange {
            min: r.min.max(FLOOR),
            max: r.max.max(FLOOR),
        };
        models
            .set_range(spec.name, floored)
            .expect("a registry model");
    }
    for (name, range) in RANGES {
        models.set_range(name, range).expect("a registry model");
    }
    models
}

/// Seeds whose first apply holds a model's windows open until the model answered
/// (common/held.rs): slr-delay (met by CreateService in `implicit` mode: an odd seed) and
/// iam-propagation (met by SetRepositoryPolicy after the execution role's whole step), the two
/// whose windows a loaded machine's slow emulator let close before the apply got there, so that
/// the profile's "every model met" does not depend on how fast the emulator answers.
const HELD: [(u64, &str); 2] = [(1, "slr-delay"), (2, "iam-propagation")];

/// One seed: first apply succeeds with retries, second plan empty, destroy (service-linked role
/// included) clean, nothing left. Returns the account's journal.
async fn one_seed(seed: u64) -> Result<Vec<JournalEntry>, String> {
    let env = TestEnv::with_presets(&[])
        .await
        .map_err(|e| format!("seed {seed}: env: {e:#}"))?
        .with_models(profile_of_the_seeds(seed));
    let aws = Aws::new(&env);
    // Both service-linked-role modes: the default (`ensure`) and the one that meets slr-delay
    // at CreateService (`implicit`).
    let mode = if seed % 2 == 0 {
        SlrMode::Ensure
    } else {
        SlrMode::Implicit
    };
    let stack = env.stack(spec(&env, "fresh", mode).await);
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        let j = journal(&env);
        let faults: Vec<_> = j.iter().filter(|e| e.fault.is_some()).cloned().collect();
        format!(
            "seed {seed} ({mode:?}, account {}): {what}: {e}\n  model answers:\n{}",
            env.account_id,
            render(&faults)
        )
    };
    let apply = try_apply(&stack, retry_fast());
    let report = match HELD.iter().find(|(s, _)| *s == seed) {
        Some((_, name)) => apply_holding_model(&env, name, apply).await,
        None => apply.await,
    }
    .map_err(|e| fail("first apply", &e))?;
    let plan = Box::pin(stack.plan())
        .await
        .map_err(|e| fail("second plan", &e))?;
    if !plan.is_empty() {
        return Err(fail("second plan not empty", &plan.summary()));
    }
    try_destroy(&stack, true)
        .await
        .map_err(|e| fail("destroy", &e))?;
    let left = aws.leftovers(stack.names()).await;
    if !left.is_empty() {
        return Err(fail("left after destroy", &format!("{left:?}")));
    }
    if aws.role_arn(SLR_ROLE).await.is_some() {
        return Err(fail("left after destroy", &SLR_ROLE));
    }
    println!(
        "seed {seed:>2} ({mode:?}): apply {:.1} s, {} error(s) absorbed",
        report.elapsed.as_secs_f64(),
        report.absorbed.len()
    );
    Ok(journal(&env))
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_seeds_of_a_fresh_account_converge_destroy_clean_and_meet_every_model(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    // The fixture proves the backend is usable (or skips loudly); each seed gets its own env.
    fixture_env!(env, test_env_or_skip, "fresh_account_seeds");
    drop(env);
    let results = futures::future::join_all((1..=SEEDS).map(one_seed)).await;
    let mut failures = Vec::new();
    let mut fired: std::collections::BTreeMap<String, usize> = Default::default();
    for r in results {
        match r {
            Ok(j) => {
                for m in fired_models(&j) {
                    *fired.entry(m).or_default() += 1;
                }
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {SEEDS} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("models that answered, in how many of the {SEEDS} accounts: {fired:?}");
    let silent: Vec<&str> = model_names()
        .into_iter()
        .filter(|m| !fired.contains_key(*m))
        .collect();
    assert!(
        silent.is_empty(),
        "never answered across {SEEDS} seeds: {silent:?} (answered: {fired:?})"
    );
}

// ---------------------------------------------------------------------------------------------
// (c) Destroy, then apply again at once.
// ---------------------------------------------------------------------------------------------

/// How the previous stack went away right before the new apply.
#[derive(Debug, Clone, Copy)]
enum Gone {
    /// `provisioner destroy` ran to its end.
    Destroyed,
    /// A destroy interrupted after DeleteService (or the console): the service still drains.
    ServiceDeletedNotWaited,
}

impl Gone {
    /// The draining window as the test sees it (already scaled: [`REAPPLY_SCALE`] is divided
    /// out when it is set). After a full destroy, destroy itself waits the drain out and the new
    /// apply never meets it, so the length only sets how long destroy waits (0.5 s here). After
    /// an interrupted destroy the namesake must still drain when the new apply's first calls
    /// land, which on a loaded machine can be seconds after DeleteService: 4 s.
    fn draining(self) -> Duration {
        match self {
            Gone::Destroyed => Duration::from_millis(500),
            Gone::ServiceDeletedNotWaited => Duration::from_secs(4),
        }
    }
}

/// The time scale of (c)'s other models: 0.05, half of (b)'s. (c) checks the draining wait,
/// not that every model answers, and the whole profile's other windows (up to 3 s at 0.1:
/// service-linked role, IAM propagation, capacity-provider attachments, the role's deletion
/// task) are each waited out in two applies and two destroys, one after the other; at 0.05 the
/// case costs about half as much waiting. `harness repro` runs the profile at the same scale.
const REAPPLY_SCALE: f64 = 0.05;

/// With the whole profile on (its draining window fixed, [`Gone::draining`]), applying right after
/// the stack went away succeeds: the provisioner waits out a draining namesake instead of
/// failing "Creation of service was not idempotent." (terraform-provider-aws#2283).
#[rstest]
#[case::after_destroy(Gone::Destroyed)]
#[case::after_an_interrupted_destroy(Gone::ServiceDeletedNotWaited)]
#[tokio::test]
async fn apply_right_after_the_stack_went_away_waits_out_the_draining_service(#[case] gone: Gone) {
    scenario_env!(env, "fresh_account_reapply");
    let mut models = fresh_account(7, REAPPLY_SCALE);
    let draining = gone.draining().div_f64(REAPPLY_SCALE);
    models
        .set_range("ecs-service-draining", WindowRange::fixed(draining))
        .expect("a registry model");
    let env = env.with_models(models);
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "fresh", SlrMode::Ensure).await);
    apply_ok(&stack, retry_fast()).await;
    let names = stack.names();
    match gone {
        Gone::Destroyed => {
            destroy_ok(&stack, false).await;
        }
        Gone::ServiceDeletedNotWaited => {
            aws.delete_service_behind_our_back(&names.cluster, &names.service)
                .await;
        }
    }
    let before = journal(&env).len();

    let report = apply_ok(&stack, retry_fast()).await;
    println!(
        "{gone:?}: apply again in {:.1} s, absorbed {:?}",
        report.elapsed.as_secs_f64(),
        report.absorbed
    );
    assert!(report.outputs.ecs_service_arn.is_some());
    assert_eq!(aws.services(&names.cluster).await.len(), 1);
    assert!(plan(&stack).await.is_empty());
    let j = journal(&env);
    let again = &j[before..];
    assert!(
        again
            .iter()
            .any(|e| op(e) == "ecs:CreateService" && e.status == Some(200)),
        "the service was created again:\n{}",
        render(again)
    );
    if let Gone::ServiceDeletedNotWaited = gone {
        assert!(
            !answered_by(again, "ecs-service-draining").is_empty(),
            "the namesake was still draining when apply began:\n{}",
            render(again)
        );
    }
    // The final destroy's own drain only sets how long it waits (as after a full destroy);
    // windows keep the length drawn when they opened, so this changes only that one.
    let mut models = env.proxy.model_settings();
    models
        .set_range(
            "ecs-service-draining",
            WindowRange::fixed(Gone::Destroyed.draining().div_f64(REAPPLY_SCALE)),
        )
        .expect("a registry model");
    env.proxy.set_model_settings(models);
    destroy_ok(&stack, true).await;
    assert_eq!(aws.leftovers(names).await, Vec::<String>::new());
}
