//! Why this file exists: a LocalStack Chaos API rule from LocalStack's own docs names REST
//! operations (S3, Lambda, API Gateway), and a fault is only useful if boto3 parses it into the
//! rule's code and status. This runs `chaos_rest/cases.py` with the pinned boto3
//! (foreign_clients/pyclients.rs) against a proxy in front of moto: each faulted operation fails
//! with exactly the rule's error, a sibling operation of the same service reaches moto, and the
//! journal shows faults on exactly the named operations.
//!
//! Run: `cargo test -p harness --test chaos_rest -- --nocapture`.

mod proxy_support;
#[path = "foreign_clients/pyclients.rs"]
#[allow(dead_code)]
mod pyclients;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn boto3_meets_chaos_api_faults_on_rest_operations() {
    let clients = pyclients::ensure().unwrap_or_else(|e| panic!("pinned boto3: {e}"));
    if let Some(took) = clients.installed_in {
        println!("installed the pinned clients in {took:?}");
    }
    let proxy = proxy_support::proxy_with(&[]).await;
    let account = proxy_support::fresh_account();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chaos_rest/cases.py");
    let python = clients.python.clone();
    let url = proxy.url();
    let acct = account.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python).arg(script).arg(url).arg(acct).output()
    })
    .await
    .unwrap()
    .expect("cases.py starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "cases.py failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("8 passed, 0 failed"), "{stdout}");
    let faulted: BTreeSet<(String, String)> = proxy
        .journal_for(&account)
        .iter()
        .filter(|e| e.is_injected_failure())
        .map(|e| {
            (
                e.service.clone().unwrap_or_default(),
                e.operation.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("apigateway", "GetRestApis"),
        ("lambda", "ListFunctions"),
        ("s3", "GetBucketPolicy"),
        ("s3", "PutObject"),
    ]
    .iter()
    .map(|(s, o)| (s.to_string(), o.to_string()))
    .collect();
    assert_eq!(faulted, want);
}
