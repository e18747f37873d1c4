//! Which emulator answered what: every request of an apply names in the journal the
//! upstream the proxy routed it to (`JournalEntry::upstream`). On `localstack+moto`
//! IAM, STS and CloudWatch Logs go to LocalStack and ECS, ECR and EC2 to moto, and one account
//! id is the same account on both (the ARNs each emulator hands out name it, another account
//! sees none of it); on a single-emulator backend every request goes to that emulator.

use harness::emulator::localstack_moto::LOCALSTACK_SERVICES;
use harness::emulator::Backend;
use provisioner::SlrMode;
use rstest::rstest;

use crate::common::*;

/// The upstream that must answer `service` on this env's endpoint: its route's, else the main one.
fn expected_upstream(env: &harness::env::TestEnv, service: &str) -> String {
    let endpoint = env.emulator.endpoint();
    endpoint
        .routes
        .iter()
        .find(|r| r.services.iter().any(|s| s.name() == service))
        .map(|r| r.flavor)
        .unwrap_or(endpoint.flavor)
        .to_string()
}

#[rstest]
#[tokio::test]
async fn every_request_names_its_upstream_and_one_account_spans_both_emulators() {
    scenario_env!(env, "upstreams");
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "route", SlrMode::Ensure).await);
    let report = apply_ok(&stack, retry_fast()).await;

    let j = journal(&env);
    for e in &j {
        let Some(service) = e.service.as_deref() else {
            continue;
        };
        assert_eq!(
            e.upstream,
            expected_upstream(&env, service),
            "#{} {} went to the wrong upstream:\n{}",
            e.seq,
            op(e),
            render(&j)
        );
    }
    let upstream_of = |service: &str| -> Vec<&str> {
        j.iter()
            .filter(|e| e.service.as_deref() == Some(service))
            .map(|e| e.upstream.as_str())
            .collect()
    };
    for service in ["iam", "logs", "ecs", "ecr", "ec2"] {
        assert!(
            !upstream_of(service).is_empty(),
            "the apply made no {service} request?\n{}",
            render(&j)
        );
    }
    if env.emulator.backend() == Backend::LocalStackMoto {
        // Spelled out for this backend, not derived from the routes, so a wrong route table fails.
        for service in ["iam", "logs"] {
            assert!(
                upstream_of(service).iter().all(|u| *u == "localstack"),
                "{service} must be answered by LocalStack:\n{}",
                render(&j)
            );
        }
        for service in ["ecs", "ecr", "ec2"] {
            assert!(
                upstream_of(service).iter().all(|u| *u == "moto"),
                "{service} must be answered by moto:\n{}",
                render(&j)
            );
        }
        let names: Vec<&str> = LOCALSTACK_SERVICES.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["iam", "sts", "logs"]);
    }

    // One account on both: the IAM and Logs ARNs (LocalStack's on localstack+moto) and the
    // cluster's (moto's) all name the env's account.
    let out = &report.outputs;
    let arns = [
        ("execution role", out.ecs_execution_role_arn.as_deref()),
        (
            "service-linked role",
            out.service_linked_role_arn.as_deref(),
        ),
        ("log group", out.cloudwatch_log_group_arn.as_deref()),
        ("cluster", out.ecs_cluster_arn.as_deref()),
        ("service", out.ecs_service_arn.as_deref()),
    ];
    for (what, arn) in arns {
        let arn = arn.unwrap_or_else(|| panic!("no {what} ARN in {out:?}"));
        assert_eq!(
            arn.split(':').nth(4),
            Some(env.account_id.as_str()),
            "the {what} ARN {arn} is not in account {}",
            env.account_id
        );
    }
    // ... and only there: another account of the same emulators sees none of it.
    let other = harness::accounts::fresh_account_id();
    let other_aws = Aws::from_config(&env.sdk_config_for(&other));
    let names = stack.names();
    assert_eq!(other_aws.role_arn(&names.execution_role).await, None);
    assert_eq!(other_aws.log_group(&names.log_group).await, None);
    assert!(other_aws.cluster_status(&names.cluster).await.is_none());
    assert!(aws.role_arn(&names.execution_role).await.is_some());
}
