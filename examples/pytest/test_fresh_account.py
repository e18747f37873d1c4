# Tests that expect a fresh account's service-linked-role delay. Run them with the delay on:
#   harness run --preset slr-delay=30s -- python -m pytest examples/pytest
import pytest
from botocore.exceptions import ClientError

SLR_ERROR = (
    "Unable to assume the service linked role. Please verify that the ECS service linked role exists."
)


def test_each_test_has_its_own_account(aws):
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="mine")
    assert ecs.list_clusters()["clusterArns"] == [
        ecs.describe_clusters(clusters=["mine"])["clusters"][0]["clusterArn"]
    ]


def test_a_service_right_after_its_cluster_meets_the_delay(aws):
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="demo")
    with pytest.raises(ClientError) as err:
        ecs.create_service(cluster="demo", serviceName="web", desiredCount=0)
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert err.value.response["Error"]["Message"] == SLR_ERROR


def test_creating_the_role_first_avoids_it(aws):
    iam, ecs = aws.client("iam"), aws.client("ecs")
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    # Wait until IAM returns the role: then ECS can assume it.
    iam.get_waiter("role_exists").wait(
        RoleName="AWSServiceRoleForECS", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    ecs.create_cluster(clusterName="demo")
    task = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(
        cluster="demo", serviceName="web", taskDefinition=task, desiredCount=0
    )["service"]
    assert service["status"] == "ACTIVE"
