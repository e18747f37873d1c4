"""The case table: per modelled behaviour, a client call (boto3 or the AWS CLI) and what AWS's own
SDK must parse out of the proxy's answer (error code, message, HTTP status; or a field of a
successful answer). A new model is a new group of rows; `requires` names the model as the proxy
reports it (GET /_harness/presets), and rows whose model the proxy does not report are printed
as NOT YET MODELLED instead of run. Rows without `requires` are modelled today and always run.

Texts are AWS's wire text (sources next to each constant; see also docs/src/aws-facts.md).
"""

import json
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple, Union

import botocore.exceptions

from support import Cx

# --- AWS texts -----------------------------------------------------------------------------
# ECS CreateService/CreateCluster while AWSServiceRoleForECS is not yet usable
# (aws/containers-roadmap#2614; terraform-provider-aws internal/service/ecs/service.go).
UNABLE_TO_ASSUME = "Unable to assume the service linked role. Please verify that the ECS service linked role exists."
# IAM GetRole of a role it does not (yet) see (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html, NoSuchEntity).
NO_SUCH_ROLE = "The role with name {role} cannot be found."
# IAM GetRolePolicy of an inline policy it does not (yet) see (same error family as GetRole).
NO_SUCH_ROLE_POLICY = "The role policy with name {policy} cannot be found."
# ECR SetRepositoryPolicy naming a just-created role (terraform-provider-aws#39064).
PRINCIPAL_NOT_FOUND = "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'"
# Throttling (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html;
# IAM's query protocol names it Throttling).
RATE_EXCEEDED = "Rate exceeded"
# 5xx as the flaky preset sends them (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html).
INTERNAL_FAILURE = "We encountered an internal error. Please try again."
SERVICE_UNAVAILABLE = "Service is unavailable. Please try again later."
# IAM's second CreateServiceLinkedRole for ECS (docs/src/aws-facts.md, "The ECS service-linked
# role": probed on AWS and LocalStack).
NAME_TAKEN = "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix."
# ECS right after CreateCluster (terraform-provider-aws internal/service/ecs/service.go retryServiceCreate).
CLUSTER_NOT_FOUND = "Cluster not found."
# ECS while capacity-provider attachments update (terraform-provider-aws
# internal/service/ecs/cluster_capacity_providers.go retryClusterCapacityProvidersPut).
ATTACHMENTS_BUSY = (
    "The specified cluster is in a busy state. Cluster attachments must be in UPDATE_COMPLETE "
    "or UPDATE_FAILED state before they can be updated."
)
# ECS DeleteCluster while a service drains (terraform-provider-aws internal/service/ecs/cluster.go).
CLUSTER_HAS_SERVICES = "The Cluster cannot be deleted while Services are active."
# ECS CreateService of a name whose namesake drains (terraform-provider-aws#2283).
NOT_IDEMPOTENT = "Creation of service was not idempotent."
# CloudWatch Logs right after CreateLogGroup (terraform-provider-aws internal/service/logs/group.go).
LOGS_CONFLICT = "A conflicting operation is currently in progress against this resource. Please try again."

ECS_SLR = "AWSServiceRoleForECS"
TRUST_ECS_TASKS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
)
INLINE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:CreateLogStream", "Resource": "*"}]})


# --- expectations --------------------------------------------------------------------------
@dataclass(frozen=True)
class Error:
    """A parsed AWS error: ClientError code/message/status (boto3), exit code 255 and
    `An error occurred (code) when calling the op operation: message` (AWS CLI v1)."""

    code: str
    message: str  # a template: `{role}` etc. are filled from the row's setup (cx.vars)
    status: int


@dataclass(frozen=True)
class Answer:
    """A successful answer whose fields must hold one of the given values: ((path, values), ...).
    String values are templates like Error.message (`{region}` from cx.vars)."""

    checks: Tuple[Tuple[tuple, tuple], ...]


@dataclass
class Case:
    model: str
    client: str  # "boto3" (call does the call) or "cli" (call returns the argv after `aws`)
    op: str
    call: Callable[[Cx], object]
    expect: Union[Error, Answer]
    setup: Optional[Callable[[Cx], None]] = None
    teardown: Optional[Callable[[Cx], None]] = None
    account: str = "fresh"  # "fresh": an account of its own; "warm": shared, its ECS role usable
    requires: Tuple[str, ...] = field(default_factory=tuple)


# --- setups --------------------------------------------------------------------------------
def new_cluster(cx, **extra):
    cx.vars["cluster"] = cx.name("cluster")
    cx.settle("CreateCluster", lambda: cx.client("ecs").create_cluster(clusterName=cx.vars["cluster"], **extra))


def role_and_repository(cx):
    cx.vars["role"] = cx.name("role")
    cx.vars["repo"] = cx.name("repo")
    cx.client("iam").create_role(RoleName=cx.vars["role"], AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    cx.client("ecr").create_repository(repositoryName=cx.vars["repo"])


def repo_policy(cx):
    principal = f"arn:aws:iam::{cx.account}:role/{cx.vars['role']}"
    stmt = {"Sid": "pull", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": ["ecr:BatchGetImage"]}
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


def throttle_rule(service, operation):
    return lambda cx: cx.proxy.add_rule(
        {"name": cx.name("rule"), "service": service, "operation": operation, "account": cx.account, "throttle": True}
    )


def error_rule(service, operation, status, code, message):
    error = {"statusCode": status, "code": code, "message": message}
    return lambda cx: cx.proxy.add_rule(
        {"name": cx.name("rule"), "service": service, "operation": operation, "account": cx.account, "error": error}
    )


def drop_rule(cx):
    cx.proxy.remove_rule(cx.name("rule"))


def busy_cluster(cx):
    """A visible cluster whose capacity-provider attachment update has just started."""
    new_cluster(cx)
    ecs = cx.client("ecs")
    cx.settle("DescribeClusters until found", lambda: found(ecs, cx.vars["cluster"]))
    cx.settle(
        "PutClusterCapacityProviders",
        lambda: ecs.put_cluster_capacity_providers(
            cluster=cx.vars["cluster"], capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[]
        ),
    )


def found(ecs, cluster):
    answer = ecs.describe_clusters(clusters=[cluster])
    if not answer.get("clusters"):
        raise_transient("ClusterNotFoundException", f"{cluster} still MISSING")
    return answer


def raise_transient(code, message):
    raise botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, "Setup")


def draining_service(cx):
    """A service deleted a moment ago (DRAINING on AWS for minutes)."""
    new_cluster(cx)
    ecs = cx.client("ecs")
    cx.vars["service"] = cx.name("svc")
    family = cx.name("td")
    ecs.register_task_definition(family=family, containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}])
    cx.vars["td"] = family
    create = lambda: ecs.create_service(
        cluster=cx.vars["cluster"], serviceName=cx.vars["service"], taskDefinition=family, desiredCount=0
    )
    cx.settle("CreateService", create)
    ecs.delete_service(cluster=cx.vars["cluster"], service=cx.vars["service"], force=True)


def new_role(cx):
    cx.vars["role"] = cx.name("role")
    cx.client("iam").create_role(RoleName=cx.vars["role"], AssumeRolePolicyDocument=TRUST_ECS_TASKS)


def role_with_inline_policy(cx):
    new_role(cx)
    cx.vars["policy"] = cx.name("policy")
    put = lambda: cx.client("iam").put_role_policy(
        RoleName=cx.vars["role"], PolicyName=cx.vars["policy"], PolicyDocument=INLINE_POLICY
    )
    cx.settle("PutRolePolicy", put)


def slr_deletion_started(cx):
    iam = cx.client("iam")
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    delete_slr(cx)


def slr_deletion_with_a_cluster(cx):
    """A deletion task started while a cluster uses the role."""
    new_cluster(cx)
    cx.vars["region"] = cx.proxy.region
    delete_slr(cx)


def delete_slr(cx):
    iam = cx.client("iam")
    cx.vars["task"] = cx.settle("DeleteServiceLinkedRole", lambda: iam.delete_service_linked_role(RoleName=ECS_SLR))[
        "DeletionTaskId"
    ]


def deletion_statuses(cx):
    """Polls the deletion task to its end: the first and the last status seen, the last answer."""
    iam, seen, answer = cx.client("iam"), [], {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = iam.get_service_linked_role_deletion_status(DeletionTaskId=cx.vars["task"])
        seen.append(answer["Status"])
        if seen[-1] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.5)
    return {"first": seen[0], "last": seen[-1], "seen": seen, "answer": answer}


def new_log_group(cx):
    cx.vars["group"] = cx.name("group")
    cx.client("logs").create_log_group(logGroupName=cx.vars["group"])


def ecs_create_service(cx):
    return cx.client("ecs").create_service(cluster=cx.vars["cluster"], serviceName=cx.name("svc"), desiredCount=0)


def cli_create_service(cx, name=None):
    return ["ecs", "create-service", "--cluster", cx.vars["cluster"], "--service-name", name or cx.name("svc"), "--desired-count", "0"]


# Model names as the proxy's registry names them (faultproxy/src/models/*.rs, `SPEC.name`).
CLUSTER_READ = ("ecs-cluster-not-found",)
ATTACHMENT_BUSY = ("ecs-capacity-provider-attachments",)
DRAINING = ("ecs-service-draining",)
IAM_READ = ("iam-read-after-write",)
SLR_DELETION = ("slr-deletion-status",)
LOGS_ABORTED = ("logs-conflicting-operation",)


# --- the table -----------------------------------------------------------------------------
E, A = Error, Answer
ecs = lambda cx: cx.client("ecs")
iam = lambda cx: cx.client("iam")
CASES = [
    # Modelled today: slr-delay (faultproxy/src/models/service_linked_role.rs).
    Case("slr-delay", "boto3", "CreateService", ecs_create_service, E("InvalidParameterException", UNABLE_TO_ASSUME, 400), setup=new_cluster),
    Case("slr-delay", "cli", "CreateService", cli_create_service, E("InvalidParameterException", UNABLE_TO_ASSUME, 400), setup=new_cluster),
    Case("slr-delay", "boto3", "CreateCluster", lambda cx: ecs(cx).create_cluster(clusterName=cx.name("second")),
         E("InvalidParameterException", UNABLE_TO_ASSUME, 400), setup=new_cluster),
    Case("slr-delay", "boto3", "GetRole", lambda cx: iam(cx).get_role(RoleName=ECS_SLR),
         E("NoSuchEntity", NO_SUCH_ROLE.format(role=ECS_SLR), 404), setup=new_cluster),
    Case("slr-delay", "cli", "GetRole", lambda cx: ["iam", "get-role", "--role-name", ECS_SLR],
         E("NoSuchEntity", NO_SUCH_ROLE.format(role=ECS_SLR), 404), setup=new_cluster),
    # Modelled today: the service-linked-role lifecycle (same file): duplicate, deletion while used.
    Case("service-linked-role", "boto3", "CreateServiceLinkedRole", lambda cx: iam(cx).create_service_linked_role(AWSServiceName="ecs.amazonaws.com"),
         E("InvalidInput", NAME_TAKEN, 400), setup=new_cluster),
    Case("service-linked-role", "cli", "CreateServiceLinkedRole", lambda cx: ["iam", "create-service-linked-role", "--aws-service-name", "ecs.amazonaws.com"],
         E("InvalidInput", NAME_TAKEN, 400), setup=new_cluster),
    Case("service-linked-role", "boto3", "GetServiceLinkedRoleDeletionStatus", deletion_statuses,
         A(((("last",), ("FAILED",)), (("answer", "Reason", "RoleUsageList", 0, "Region"), ("{region}",)))), setup=slr_deletion_with_a_cluster),
    # Modelled today: iam-propagation (faultproxy/src/models/iam_propagation.rs).
    Case("iam-propagation", "boto3", "SetRepositoryPolicy",
         lambda cx: cx.client("ecr").set_repository_policy(repositoryName=cx.vars["repo"], policyText=repo_policy(cx)),
         E("InvalidParameterException", PRINCIPAL_NOT_FOUND, 400), setup=role_and_repository),
    Case("iam-propagation", "cli", "SetRepositoryPolicy",
         lambda cx: ["ecr", "set-repository-policy", "--repository-name", cx.vars["repo"], "--policy-text", repo_policy(cx)],
         E("InvalidParameterException", PRINCIPAL_NOT_FOUND, 400), setup=role_and_repository),
    # Modelled today: throttling and 5xx rules (faultproxy/src/faults/, wire.rs), per protocol.
    Case("throttle", "boto3", "ListClusters", lambda cx: ecs(cx).list_clusters(),
         E("ThrottlingException", RATE_EXCEEDED, 400), setup=throttle_rule("ecs", "ListClusters"), teardown=drop_rule),
    Case("throttle", "cli", "ListClusters", lambda cx: ["ecs", "list-clusters"],
         E("ThrottlingException", RATE_EXCEEDED, 400), setup=throttle_rule("ecs", "ListClusters"), teardown=drop_rule),
    Case("throttle", "boto3", "ListRoles", lambda cx: iam(cx).list_roles(),
         E("Throttling", RATE_EXCEEDED, 400), setup=throttle_rule("iam", "ListRoles"), teardown=drop_rule),
    Case("throttle", "cli", "ListRoles", lambda cx: ["iam", "list-roles"],
         E("Throttling", RATE_EXCEEDED, 400), setup=throttle_rule("iam", "ListRoles"), teardown=drop_rule),
    Case("5xx", "boto3", "DescribeClusters", lambda cx: ecs(cx).describe_clusters(clusters=["default"]),
         E("InternalFailure", INTERNAL_FAILURE, 500),
         setup=error_rule("ecs", "DescribeClusters", 500, "InternalFailure", INTERNAL_FAILURE), teardown=drop_rule),
    Case("5xx", "cli", "DescribeClusters", lambda cx: ["ecs", "describe-clusters", "--clusters", "default"],
         E("InternalFailure", INTERNAL_FAILURE, 500),
         setup=error_rule("ecs", "DescribeClusters", 500, "InternalFailure", INTERNAL_FAILURE), teardown=drop_rule),
    Case("5xx", "boto3", "ListRoles", lambda cx: iam(cx).list_roles(),
         E("ServiceUnavailable", SERVICE_UNAVAILABLE, 503),
         setup=error_rule("iam", "ListRoles", 503, "ServiceUnavailable", SERVICE_UNAVAILABLE), teardown=drop_rule),
    # Fresh-account model 1: cluster read-after-create.
    Case("ecs-cluster-not-found", "boto3", "CreateService", ecs_create_service,
         E("ClusterNotFoundException", CLUSTER_NOT_FOUND, 400), setup=new_cluster, account="warm", requires=CLUSTER_READ),
    Case("ecs-cluster-not-found", "cli", "CreateService", cli_create_service,
         E("ClusterNotFoundException", CLUSTER_NOT_FOUND, 400), setup=new_cluster, account="warm", requires=CLUSTER_READ),
    Case("ecs-cluster-not-found", "boto3", "PutClusterCapacityProviders",
         lambda cx: ecs(cx).put_cluster_capacity_providers(cluster=cx.vars["cluster"], capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[]),
         E("ClusterNotFoundException", CLUSTER_NOT_FOUND, 400), setup=new_cluster, account="warm", requires=CLUSTER_READ),
    Case("ecs-cluster-not-found", "boto3", "DescribeClusters", lambda cx: ecs(cx).describe_clusters(clusters=[cx.vars["cluster"]]),
         A(((("failures", 0, "reason"), ("MISSING",)), (("clusters",), ([],)))), setup=new_cluster, account="warm", requires=CLUSTER_READ),
    # Fresh-account model 2: capacity-provider attachments busy.
    Case("ecs-capacity-provider-attachments", "boto3", "PutClusterCapacityProviders",
         lambda cx: ecs(cx).put_cluster_capacity_providers(cluster=cx.vars["cluster"], capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[]),
         E("UpdateInProgressException", ATTACHMENTS_BUSY, 400), setup=busy_cluster, account="warm", requires=ATTACHMENT_BUSY),
    Case("ecs-capacity-provider-attachments", "boto3", "DeleteCluster", lambda cx: ecs(cx).delete_cluster(cluster=cx.vars["cluster"]),
         E("UpdateInProgressException", ATTACHMENTS_BUSY, 400), setup=busy_cluster, account="warm", requires=ATTACHMENT_BUSY),
    Case("ecs-capacity-provider-attachments", "cli", "DeleteCluster", lambda cx: ["ecs", "delete-cluster", "--cluster", cx.vars["cluster"]],
         E("UpdateInProgressException", ATTACHMENTS_BUSY, 400), setup=busy_cluster, account="warm", requires=ATTACHMENT_BUSY),
    Case("ecs-capacity-provider-attachments", "boto3", "DescribeClusters",
         lambda cx: ecs(cx).describe_clusters(clusters=[cx.vars["cluster"]], include=["ATTACHMENTS"]),
         A(((("clusters", 0, "attachmentsStatus"), ("UPDATE_IN_PROGRESS",)),)), setup=busy_cluster, account="warm", requires=ATTACHMENT_BUSY),
    # Fresh-account model 3: service draining.
    Case("ecs-service-draining", "boto3", "DescribeServices",
         lambda cx: ecs(cx).describe_services(cluster=cx.vars["cluster"], services=[cx.vars["service"]]),
         A(((("services", 0, "status"), ("DRAINING",)),)), setup=draining_service, account="warm", requires=DRAINING),
    Case("ecs-service-draining", "boto3", "DeleteCluster", lambda cx: ecs(cx).delete_cluster(cluster=cx.vars["cluster"]),
         E("ClusterContainsServicesException", CLUSTER_HAS_SERVICES, 400), setup=draining_service, account="warm", requires=DRAINING),
    Case("ecs-service-draining", "boto3", "CreateService",
         lambda cx: ecs(cx).create_service(cluster=cx.vars["cluster"], serviceName=cx.vars["service"], taskDefinition=cx.vars["td"], desiredCount=0),
         E("InvalidParameterException", NOT_IDEMPOTENT, 400), setup=draining_service, account="warm", requires=DRAINING),
    Case("ecs-service-draining", "cli", "CreateService",
         lambda cx: cli_create_service(cx, cx.vars["service"]) + ["--task-definition", cx.vars["td"]],
         E("InvalidParameterException", NOT_IDEMPOTENT, 400), setup=draining_service, account="warm", requires=DRAINING),
    # Fresh-account model 4: IAM read-after-write.
    Case("iam-read-after-write", "boto3", "GetRole", lambda cx: iam(cx).get_role(RoleName=cx.vars["role"]),
         E("NoSuchEntity", NO_SUCH_ROLE, 404), setup=new_role, requires=IAM_READ),
    Case("iam-read-after-write", "cli", "GetRole", lambda cx: ["iam", "get-role", "--role-name", cx.vars["role"]],
         E("NoSuchEntity", NO_SUCH_ROLE, 404), setup=new_role, requires=IAM_READ),
    Case("iam-read-after-write", "boto3", "GetRolePolicy",
         lambda cx: iam(cx).get_role_policy(RoleName=cx.vars["role"], PolicyName=cx.vars["policy"]),
         E("NoSuchEntity", NO_SUCH_ROLE_POLICY, 404), setup=role_with_inline_policy, requires=IAM_READ),
    # Fresh-account model 5: service-linked role deletion is a task.
    Case("slr-deletion-status", "boto3", "GetServiceLinkedRoleDeletionStatus", deletion_statuses,
         A(((("first",), ("NOT_STARTED", "IN_PROGRESS")), (("last",), ("SUCCEEDED",)))), setup=slr_deletion_started, requires=SLR_DELETION),
    Case("slr-deletion-status", "cli", "GetServiceLinkedRoleDeletionStatus",
         lambda cx: ["iam", "get-service-linked-role-deletion-status", "--deletion-task-id", cx.vars["task"]],
         A(((("Status",), ("NOT_STARTED", "IN_PROGRESS")),)), setup=slr_deletion_started, requires=SLR_DELETION),
    # Fresh-account model 6: CloudWatch Logs conflicting operation.
    Case("logs-conflicting-operation", "boto3", "PutRetentionPolicy",
         lambda cx: cx.client("logs").put_retention_policy(logGroupName=cx.vars["group"], retentionInDays=7),
         E("OperationAbortedException", LOGS_CONFLICT, 400), setup=new_log_group, requires=LOGS_ABORTED),
    Case("logs-conflicting-operation", "boto3", "TagResource",
         lambda cx: cx.client("logs").tag_resource(resourceArn=cx.arn("logs", f"log-group:{cx.vars['group']}"), tags={"team": "fc"}),
         E("OperationAbortedException", LOGS_CONFLICT, 400), setup=new_log_group, requires=LOGS_ABORTED),
    Case("logs-conflicting-operation", "boto3", "DeleteLogGroup", lambda cx: cx.client("logs").delete_log_group(logGroupName=cx.vars["group"]),
         E("OperationAbortedException", LOGS_CONFLICT, 400), setup=new_log_group, requires=LOGS_ABORTED),
    Case("logs-conflicting-operation", "cli", "PutRetentionPolicy",
         lambda cx: ["logs", "put-retention-policy", "--log-group-name", cx.vars["group"], "--retention-in-days", "7"],
         E("OperationAbortedException", LOGS_CONFLICT, 400), setup=new_log_group, requires=LOGS_ABORTED),
]
