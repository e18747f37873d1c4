"""The ECS service-linked role's lifecycle as boto3 sees it, run through `harness run` in a fresh
account (only the environment it sets: AWS_ENDPOINT_URL, the access key that picks the account,
the secret, AWS_REGION/AWS_DEFAULT_REGION).

1. CreateCluster creates AWSServiceRoleForECS as AWS does: that name, path
   /aws-service-role/ecs.amazonaws.com/, trusted by ecs.amazonaws.com, AmazonECSServiceRolePolicy
   attached (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html).
2. A second CreateServiceLinkedRole is 400 InvalidInput "Service role name AWSServiceRoleForECS
   has been taken in this account, please try a different suffix." (docs/src/aws-facts.md,
   "The ECS service-linked role": probed).
3. DeleteServiceLinkedRole while a cluster lives: the deletion task ends FAILED with
   Reason.RoleUsageList naming the region and the cluster's ARN; the role stays.
4. After DeleteCluster it ends SUCCEEDED and the role is gone
   (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLinkedRoleDeletionStatus.html).

Each check prints PASS or FAIL; the last line is `SUMMARY {"passed": N, "failed": M}`; any FAIL
exits 1.
"""

import json
import os
import sys
import time
import uuid

import boto3
import botocore.exceptions

SLR = "AWSServiceRoleForECS"
SLR_PATH = "/aws-service-role/ecs.amazonaws.com/"
SLR_POLICY = "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy"
TAKEN = "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix."
# Waits are bounded: every model window of the harness is at most 60 s (docs/src/behaviours.md).
DEADLINE_S = 90.0
PAUSE_S = 0.5

results = {"passed": 0, "failed": 0}


def check(what, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {what}" + ("" if ok else f": {detail}"), flush=True)
    return ok


def error_of(call):
    """(code, message, HTTP status) of the ClientError `call` raises, or None when it succeeds."""
    try:
        call()
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        return err.get("Code"), err.get("Message"), e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None


def until(what, attempt):
    """Calls `attempt` until it returns something other than None; fails after DEADLINE_S."""
    started = time.monotonic()
    while True:
        value = attempt()
        if value is not None:
            return value
        if time.monotonic() - started > DEADLINE_S:
            raise SystemExit(f"FAIL {what}: still waiting after {DEADLINE_S}s")
        time.sleep(PAUSE_S)


def readable_role(iam):
    try:
        return iam.get_role(RoleName=SLR)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return None


def deletion_status(iam):
    """DeleteServiceLinkedRole, then polls the task until it ends; returns the last answer."""
    task = iam.delete_service_linked_role(RoleName=SLR)["DeletionTaskId"]
    seen = []

    def poll():
        answer = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
        if not seen or seen[-1] != answer["Status"]:
            seen.append(answer["Status"])
        return answer if answer["Status"] in ("SUCCEEDED", "FAILED") else None

    answer = until(f"deletion task {task}", poll)
    print(f"     deletion task statuses: {' -> '.join(seen)}", flush=True)
    return answer


def main():
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region or not os.environ.get("AWS_ENDPOINT_URL"):
        raise SystemExit("slr_lifecycle.py: AWS_ENDPOINT_URL and AWS_REGION must be set (run it with `harness run -- python slr_lifecycle.py`)")
    session = boto3.session.Session(region_name=region)
    ecs, iam = session.client("ecs"), session.client("iam")
    check("a fresh account has no AWSServiceRoleForECS", error_of(lambda: iam.get_role(RoleName=SLR)) is not None)
    cluster = ecs.create_cluster(clusterName=f"slr-{uuid.uuid4().hex[:8]}")["cluster"]
    account = cluster["clusterArn"].split(":")[4]
    print(f"     account {account}, region {region}, endpoint {os.environ['AWS_ENDPOINT_URL']}", flush=True)
    role = until("GetRole AWSServiceRoleForECS after CreateCluster", lambda: readable_role(iam))
    check("CreateCluster created the role named AWSServiceRoleForECS", role["RoleName"] == SLR, role["RoleName"])
    check(f"its path is {SLR_PATH}", role["Path"] == SLR_PATH, role["Path"])
    check("its ARN is the path's", role["Arn"] == f"arn:aws:iam::{account}:role{SLR_PATH}{SLR}", role["Arn"])
    principals = [s.get("Principal", {}).get("Service") for s in role["AssumeRolePolicyDocument"]["Statement"]]
    check("it is trusted by ecs.amazonaws.com", "ecs.amazonaws.com" in principals, principals)
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=SLR)["AttachedPolicies"]]
    check("AmazonECSServiceRolePolicy is attached", attached == [SLR_POLICY], attached)

    duplicate = error_of(lambda: iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com"))
    check("a second CreateServiceLinkedRole is 400 InvalidInput, 'has been taken'",
          duplicate == ("InvalidInput", TAKEN, 400), duplicate)

    failed = deletion_status(iam)
    check("deletion while a cluster lives ends FAILED", failed["Status"] == "FAILED", failed["Status"])
    usage = failed.get("Reason", {}).get("RoleUsageList", [])
    regions = [u.get("Region") for u in usage]
    check(f"its RoleUsageList names {region}", region in regions, json.dumps(usage))
    resources = [r for u in usage for r in u.get("Resources", [])]
    check("its RoleUsageList names the cluster's ARN", cluster["clusterArn"] in resources, resources)
    check("the role is still there", readable_role(iam) is not None)

    ecs.delete_cluster(cluster=cluster["clusterArn"])
    succeeded = deletion_status(iam)
    check("deletion after DeleteCluster ends SUCCEEDED", succeeded["Status"] == "SUCCEEDED", succeeded["Status"])
    gone = error_of(lambda: iam.get_role(RoleName=SLR))
    check("then GetRole is 404 NoSuchEntity", gone is not None and gone[0] == "NoSuchEntity" and gone[2] == 404, gone)

    print("SUMMARY " + json.dumps(results), flush=True)
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
