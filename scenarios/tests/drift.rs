//! Drift: a setting changed out of band (through the AWS SDK, as a colleague in
//! the console would) shows up in the plan as exactly that one change, and apply restores it.

use harness::env::{test_env_or_skip, TestEnv};
use provisioner::{Action, SlrMode};
use rstest::rstest;

use crate::common::*;

/// What is changed behind the provisioner's back.
#[derive(Debug, Clone, Copy)]
enum Drift {
    /// Log retention 30 -> 7 days (PutRetentionPolicy).
    LogRetention,
    /// Container Insights enabled -> disabled (UpdateCluster with settings).
    ContainerInsights,
}

impl Drift {
    /// (kind, attribute, before, after) the plan must show.
    fn expected(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Drift::LogRetention => ("cloudwatch_log_group", "retention_in_days", "7", "14"),
            Drift::ContainerInsights => {
                ("ecs_cluster", "container_insights", "disabled", "enabled")
            }
        }
    }

    async fn induce(self, aws: &Aws, names: &provisioner::Names) {
        match self {
            Drift::LogRetention => {
                aws.logs
                    .put_retention_policy()
                    .log_group_name(&names.log_group)
                    .retention_in_days(7)
                    .send()
                    .await
                    .expect("PutRetentionPolicy");
            }
            Drift::ContainerInsights => {
                aws.ecs
                    .update_cluster()
                    .cluster(&names.cluster)
                    .settings(
                        aws_sdk_ecs::types::ClusterSetting::builder()
                            .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                            .value("disabled")
                            .build(),
                    )
                    .send()
                    .await
                    .expect("UpdateCluster");
            }
        }
    }

    /// The value as AWS reports it now.
    async fn current(self, aws: &Aws, names: &provisioner::Names) -> String {
        match self {
            Drift::LogRetention => format!("{:?}", aws.log_group(&names.log_group).await.flatten()),
            Drift::ContainerInsights => {
                let out = aws
                    .ecs
                    .describe_clusters()
                    .clusters(&names.cluster)
                    .include(aws_sdk_ecs::types::ClusterField::Settings)
                    .send()
                    .await
                    .expect("DescribeClusters");
                let value = out.clusters().first().and_then(|c| {
                    c.settings()
                        .iter()
                        .find(|s| {
                            s.name()
                                == Some(&aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                        })
                        .and_then(|s| s.value().map(str::to_owned))
                });
                format!("{value:?}")
            }
        }
    }
}

#[rstest]
#[case::log_retention(Drift::LogRetention)]
#[case::container_insights(Drift::ContainerInsights)]
#[tokio::test]
async fn out_of_band_change_is_planned_exactly_and_apply_restores_it(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
    #[case] drift: Drift,
) {
    fixture_env!(env, test_env_or_skip, "drift");
    let aws = Aws::new(&env);
    let stack = env.stack(spec(&env, "drift", SlrMode::Ensure).await);
    let names = stack.names().clone();
    apply_ok(&stack, retry_fast()).await;
    let converged = drift.current(&aws, &names).await;

    drift.induce(&aws, &names).await;
    assert_ne!(
        drift.current(&aws, &names).await,
        converged,
        "the out-of-band change did not land"
    );

    let planned = plan(&stack).await;
    println!("plan after {drift:?}:\n{planned}");
    let (kind, attribute, before, after) = drift.expected();
    assert_eq!(
        planned.changes.len(),
        1,
        "expected exactly one change:\n{planned}"
    );
    let change = &planned.changes[0];
    assert_eq!(change.action, Action::Update, "{planned}");
    assert_eq!(change.kind, kind, "{planned}");
    assert_eq!(change.attributes.len(), 1, "{planned}");
    let a = &change.attributes[0];
    assert_eq!(
        (
            a.attribute.as_str(),
            a.before.as_deref(),
            a.after.as_deref()
        ),
        (attribute, Some(before), Some(after)),
        "{planned}"
    );

    let report = apply_ok(&stack, retry_fast()).await;
    assert_eq!(report.changes, 1, "{:?}", report.steps);
    assert_eq!(
        drift.current(&aws, &names).await,
        converged,
        "apply did not restore it"
    );
    assert!(plan(&stack).await.is_empty());
}
