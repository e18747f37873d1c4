//! Why this file exists: what the proxy injects and what the provisioner absorbs must not drift
//! apart. Both read their codes and messages from one definition (faultproxy/src/aws/facts.rs),
//! and this test closes the loop: it applies and destroys the seed's stack through the proxy,
//! takes the operations the provisioner called from the journal, and for every catalogue row
//! that can fire in that run (its operation called, and the write that opens its window called
//! too) asserts the provisioner's retry catalogue absorbs the row's error, with the row's
//! message filled in as the proxy sends it. A row added on an operation the provisioner calls,
//! without a retry entry, fails here by name.

use std::collections::BTreeSet;
use std::time::Duration;

use faultproxy::catalogue::{FIDELITY_ROWS, PRINCIPAL_ROWS, READ_ROWS};
use harness::env::TestEnv;
use provisioner::{retry, ApplyOptions, AwsError, DestroyOptions, Progress, RetryPolicy};

/// What a row's placeholders are filled with (any principal: the matcher must not care).
fn filled(message: &str) -> String {
    message
        .replace("{value}", "arn:aws:iam::123456789012:role/app-task")
        .replace("{name}", "app-task")
        .replace("{arn}", "arn:aws:iam::123456789012:role/app-task")
        .replace("{caller}", "arn:aws:iam::123456789012:root")
        .replace("{id}", "subnet-0123456789abcdef0")
}

/// (service, operation) of every request the journal shows for the env's account.
fn called(env: &TestEnv) -> BTreeSet<(String, String)> {
    env.proxy
        .journal_for(&env.account_id)
        .into_iter()
        .filter_map(|e| Some((e.service?, e.operation?)))
        .collect()
}

/// The rows that can fire in a run that called `called`: (row name, the error it answers).
fn rows_that_can_fire(called: &BTreeSet<(String, String)>) -> Vec<(&'static str, AwsError)> {
    let has = |service: &str, op: &str| called.contains(&(service.to_string(), op.to_string()));
    let mut out = Vec::new();
    for r in PRINCIPAL_ROWS {
        let opened = r.triggers.iter().any(|t| has("iam", t.operation()));
        if opened && has(r.service.name(), r.operation) {
            out.push((
                r.spec.name,
                AwsError::new(r.operation, r.code, &filled(r.message)),
            ));
        }
    }
    for r in READ_ROWS {
        if has(r.service.name(), r.create) && has(r.service.name(), r.read) {
            out.push((
                r.spec.name,
                AwsError::new(r.read, r.code, &filled(r.message)),
            ));
        }
    }
    for r in FIDELITY_ROWS {
        if has(r.service.name(), r.operation) {
            out.push((
                r.spec.name,
                AwsError::new(r.operation, r.code, &filled(r.message)),
            ));
        }
    }
    out
}

#[tokio::test]
async fn every_row_the_provisioner_can_meet_is_absorbed() {
    let env = harness::test_env_or_skip!();
    harness::require_ecs!(env);
    let spec = env
        .spec("drift")
        .await
        .unwrap_or_else(|e| panic!("default network: {e:#}"));
    let stack = env.stack(spec);
    let retry_policy = RetryPolicy::default().with_deadline(Duration::from_secs(60));
    let opts = ApplyOptions::new(retry_policy.clone()).with_progress(Progress::silent());
    Box::pin(stack.apply(&opts))
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    let destroy = DestroyOptions {
        delete_service_linked_role: false,
        retry: retry_policy,
        progress: Progress::silent(),
    };
    Box::pin(stack.destroy(&destroy))
        .await
        .unwrap_or_else(|e| panic!("destroy: {e}"));

    let called = called(&env);
    let rows = rows_that_can_fire(&called);
    let names: Vec<&str> = rows.iter().map(|(n, _)| *n).collect();
    println!("rows the provisioner's calls can meet: {names:?}");
    // The stack creates an IAM role and names it in its ECR repository policy: at least that
    // row fires in every run, so the check below is never empty.
    assert!(
        names.contains(&"iam-propagation"),
        "the journal shows no CreateRole + SetRepositoryPolicy: {called:?}"
    );
    let unabsorbed: Vec<String> = rows
        .iter()
        .filter(|(_, e)| retry::classify(e, true).is_none())
        .map(|(n, e)| format!("{n}: {} {} \"{}\"", e.operation, e.code, e.message))
        .collect();
    assert!(
        unabsorbed.is_empty(),
        "rows that can fire on the provisioner's operations with no retry entry absorbing them \
         (add one to provisioner/src/retry/catalogue.rs):\n{}",
        unabsorbed.join("\n")
    );
}

/// The check itself: a row on an operation the provisioner calls, whose error no entry lists,
/// is reported (so the test above cannot pass by matching everything).
#[test]
fn an_error_no_entry_lists_is_not_absorbed() {
    let e = AwsError::new("SetRepositoryPolicy", "InvalidParameterException", "other");
    assert!(retry::classify(&e, true).is_none());
    let called = BTreeSet::from([
        ("iam".to_string(), "CreateRole".to_string()),
        ("ecr".to_string(), "SetRepositoryPolicy".to_string()),
    ]);
    let rows = rows_that_can_fire(&called);
    assert!(rows.iter().any(|(n, _)| *n == "iam-propagation"));
    assert!(
        !rows.iter().any(|(n, _)| n.starts_with("lambda-")),
        "a row whose operation was not called cannot fire"
    );
}
