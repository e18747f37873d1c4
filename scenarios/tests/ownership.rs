//! Ownership: a resource that already exists under the stack's name but lacks the
//! ownership tag is not ours. Apply stops before any mutation with a conflict naming it, and
//! destroy reports it as not ours and leaves it in place.

use aws_sdk_iam::error::ProvideErrorMetadata;
use harness::env::{test_env_or_skip, TestEnv};
use provisioner::{Names, SlrMode};
use rstest::rstest;

use crate::common::*;

#[derive(Debug, Clone, Copy)]
enum Foreign {
    ExecutionRole,
    EcrRepository,
    LogGroup,
}

impl Foreign {
    fn name(self, n: &Names) -> String {
        match self {
            Foreign::ExecutionRole => n.execution_role.clone(),
            Foreign::EcrRepository => n.ecr_repository.clone(),
            Foreign::LogGroup => n.log_group.clone(),
        }
    }

    /// Creates it through the SDK, tagged as somebody else's.
    ///
    /// The account is fresh, so a resource of this name that already exists can only come from
    /// an earlier attempt of this very call: on a slow emulator the SDK's attempt times out,
    /// the emulator still creates it, and the SDK's retry is told it exists. That is success.
    async fn create(self, aws: &Aws, name: &str) {
        let failed = match self {
            Foreign::ExecutionRole => {
                let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
                aws.iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust)
                    .tags(
                        aws_sdk_iam::types::Tag::builder()
                            .key("team")
                            .value("someone-else")
                            .build()
                            .expect("tag"),
                    )
                    .send()
                    .await
                    .err()
                    .map(|e| (e.code().map(str::to_owned), format!("{e:?}")))
            }
            Foreign::EcrRepository => aws
                .ecr
                .create_repository()
                .repository_name(name)
                .send()
                .await
                .err()
                .map(|e| (e.code().map(str::to_owned), format!("{e:?}"))),
            Foreign::LogGroup => aws
                .logs
                .create_log_group()
                .log_group_name(name)
                .send()
                .await
                .err()
                .map(|e| (e.code().map(str::to_owned), format!("{e:?}"))),
        };
        if let Some((code, e)) = failed {
            let exists = matches!(
                code.as_deref(),
                Some(
                    "EntityAlreadyExists"
                        | "RepositoryAlreadyExistsException"
                        | "ResourceAlreadyExistsException"
                )
            );
            assert!(exists, "creating the foreign {self:?} {name}: {e}");
        }
    }

    async fn exists(self, aws: &Aws, name: &str) -> bool {
        match self {
            Foreign::ExecutionRole => aws.role_arn(name).await.is_some(),
            Foreign::EcrRepository => aws.repository_exists(name).await,
            Foreign::LogGroup => aws.log_group(name).await.is_some(),
        }
    }
}

#[rstest]
#[case::execution_role(Foreign::ExecutionRole)]
#[case::ecr_repository(Foreign::EcrRepository)]
#[case::log_group(Foreign::LogGroup)]
#[tokio::test]
async fn a_foreign_resource_under_our_name_stops_apply_and_survives_destroy(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
    #[case] foreign: Foreign,
) {
    fixture_env!(env, test_env_or_skip, "ownership");
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "owned", SlrMode::Ensure).await);
    let name = foreign.name(stack.names());
    foreign.create(&aws, &name).await;

    env.proxy.clear_journal();
    let err = try_apply(&stack, retry_fast())
        .await
        .expect_err("apply must refuse to adopt a resource that is not ours");
    println!("apply refused: {err}");
    assert!(err.is_not_ours(), "{err}");
    let text = err.to_string();
    assert!(text.contains(&name) && text.contains("not ours"), "{text}");
    let j = journal(&env);
    assert!(
        !j.iter().any(|e| e.is_mutating()),
        "apply mutated before refusing:\n{}",
        render(&j)
    );

    let report = destroy_ok(&stack, false).await;
    assert!(
        report.not_ours.iter().any(|r| r.contains(&name)),
        "destroy did not report {name} as not ours: {:?}",
        report.not_ours
    );
    assert!(report.deleted.is_empty(), "{:?}", report.deleted);
    assert!(foreign.exists(&aws, &name).await, "destroy deleted {name}");
}
