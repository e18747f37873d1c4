"""Runs every catalogue row through boto3 against `harness up --profile fresh-account`.

Why this file exists: a row is only right if botocore parses what the proxy sends into the row's
error. The rows come from the proxy itself (`faultproxy::catalogue::rows_json()`, written to the
JSON file named on the command line), so no code or message is written twice: for each row, in an
account of its own, it creates the principal with the row's first trigger, makes the row's call
at once (which must raise the row's code, message, HTTP status and, where botocore models one, its
typed exception), then repeats the call until it succeeds (the window closed). A read-after-create
row creates the resource and reads it at once (the row's not-found error), then until it is found.

The only thing written here per (service, operation) is how to make that call: the recipes.
With `--cli`, the row's own call goes through the AWS CLI instead of boto3 (the same recipe's
parameters as `--cli-input-json`; setup stays on boto3), and the first call must print the row's
error exactly as the CLI prints it: `An error occurred (CODE) when calling the OP operation:
MESSAGE` (the CLI prints no HTTP status and raises no typed exception, so those are boto3's run's).
Prints `PASS <row>` / `FAIL <row>: ...` and a last `SUMMARY {json}` line.
"""

import concurrent.futures
import io
import json
import os
import re
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "foreign_clients"))
from support import Cx, Proxy, say  # noqa: E402

import botocore.exceptions  # noqa: E402

# How long a later call may keep failing before the window counts as never closing (every row's
# window in this test is a few seconds; see catalogue_clients.rs).
LATER_DEADLINE_S = 90.0
PAUSE_S = 0.5
WORKERS = 6


def trust(service):
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"},
                       "Action": "sts:AssumeRole"}],
    })


def trust_naming(arn):
    """A trust policy whose only principal is `arn` (IAM allows only sts:AssumeRole* actions)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}],
    })


def naming(arn, resource="*"):
    """A policy document whose only principal is `arn`."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "p", "Effect": "Allow", "Principal": {"AWS": arn}, "Action": "*",
                       "Resource": resource}],
    })


def lambda_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


# The AWS CLI's line for an error answer (awscli/clidriver.py, ClientError's str()).
CLI_ERROR = re.compile(r"An error occurred \((?P<code>[^)]+)\) when calling the (?P<op>\w+) operation"
                       r"(?: \(reached max retries: \d+\))?: (?P<message>.*)", re.S)
# botocore service names whose AWS CLI command is another (`aws s3` is the high-level one).
CLI_SERVICE = {"s3": "s3api"}
CLI = "--cli" in sys.argv


def kebab(operation):
    """`CreateDBInstance` -> `create-db-instance`, as the AWS CLI names commands."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", operation).lower()


class CliClient:
    """A boto3 client whose one operation (the row's) runs through the AWS CLI; every other
    method is boto3's. An error the CLI prints is raised as botocore's ClientError with the code
    and message parsed from the CLI's line (and no HTTP status: the CLI prints none)."""

    def __init__(self, row, client, service, operation):
        self._row, self._client = row, client
        self._service, self._operation = service, operation

    def __getattr__(self, method):
        if self._client.meta.method_to_api_mapping.get(method) != self._operation:
            return getattr(self._client, method)
        return lambda **kwargs: self._cli(kwargs)

    def _cli(self, kwargs):
        args = [CLI_SERVICE.get(self._service, self._service), kebab(self._operation)]
        code = kwargs.get("Code", {})
        if isinstance(code.get("ZipFile"), bytes):
            # The CLI takes a blob from a file (fileb://), not from --cli-input-json.
            f = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)
            f.write(code["ZipFile"])
            f.close()
            kwargs = {k: v for k, v in kwargs.items() if k != "Code"}
            args += ["--zip-file", f"fileb://{f.name}"]
        args += ["--cli-input-json", json.dumps(kwargs)]
        rc, out, err = self._row.cx.cli(args)
        if rc == 0:
            return json.loads(out) if out.strip() else {}
        m = CLI_ERROR.search(err)
        if m is None:
            raise RuntimeError(f"aws {' '.join(args[:2])} exited {rc} without an error line: {err}")
        response = {"Error": {"Code": m["code"], "Message": m["message"].strip()},
                    "ResponseMetadata": {}, "CliOperation": m["op"]}
        raise botocore.exceptions.ClientError(response, self._operation)


class Row:
    """One row, its account and what its setup made."""

    def __init__(self, proxy, index, row, codes):
        self.row = row
        self.cx = Cx(proxy, proxy.fresh_account(), f"c{index}")
        self.codes = codes
        self.ctx = {}
        # Off while the principal is made: only the row's own call goes through the AWS CLI
        # (IAM CreateRole is both a trigger and a row's call).
        self.cli_on = True

    def client(self, service):
        client = self.cx.client(service)
        if CLI and self.cli_on and service == self.row["service"]:
            op = self.row.get("operation") or self.row["read"]
            return CliClient(self, client, service, op)
        return client

    def name(self, what):
        return self.cx.name(what)

    def settle(self, what, call):
        """A setup call, waiting out the catalogue's own errors (another row's window)."""
        deadline = time.monotonic() + LATER_DEADLINE_S
        while True:
            try:
                return call()
            except botocore.exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code not in self.codes or time.monotonic() > deadline:
                    raise RuntimeError(f"setup {what}: {code}: {e}") from e
                time.sleep(PAUSE_S)

    def role(self, what="role"):
        iam = self.client("iam")
        r = iam.create_role(RoleName=self.name(what), AssumeRolePolicyDocument=trust(self.row["service"]))
        return {"name": r["Role"]["RoleName"], "arn": r["Role"]["Arn"]}

    def bucket(self):
        s3, b = self.client("s3"), self.name("bucket")
        region = self.cx.proxy.region
        if region == "us-east-1":
            s3.create_bucket(Bucket=b)
        else:
            s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": region})
        return b

    def ami(self):
        return self.client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def instance(self):
        ec2 = self.client("ec2")
        r = ec2.run_instances(ImageId=self.ami(), MinCount=1, MaxCount=1, InstanceType="t2.micro")
        return r["Instances"][0]["InstanceId"]


# --- recipes: (service, operation, where the principal goes) -> (prepare, call) -------------
# `call(row, p)` makes the request naming principal `p` ({"name", "arn"}) and returns the value
# it named it by (what the row's `{value}` is).

def _ec2_profile(field):
    def call(r, p):
        value = p["name"] if field == "Name" else p["arn"]
        r.client("ec2").run_instances(ImageId=r.ctx["ami"], MinCount=1, MaxCount=1,
                                      InstanceType="t2.micro", IamInstanceProfile={field: value})
        return value
    return call


def _prepare_function(r):
    role0 = r.role("role0")
    fn = r.name("fn")
    r.settle("CreateFunction", lambda: r.client("lambda").create_function(
        FunctionName=fn, Runtime="python3.12", Role=role0["arn"], Handler="index.handler",
        Code={"ZipFile": lambda_zip()}))
    r.ctx["fn"] = fn


def _prepare_state_machine(r):
    role0 = r.role("role0")
    sfn = r.client("stepfunctions")
    arn = r.settle("CreateStateMachine", lambda: sfn.create_state_machine(
        name=r.name("sm"), definition=SFN_DEFINITION, roleArn=role0["arn"]))["stateMachineArn"]
    r.ctx["sm"] = arn


def _prepare_association(r):
    r.ctx["ami"] = r.ami()
    iid = r.instance()
    iam, ec2 = r.client("iam"), r.client("ec2")
    p0 = iam.create_instance_profile(InstanceProfileName=r.name("profile0"))["InstanceProfile"]
    assoc = r.settle("AssociateIamInstanceProfile", lambda: ec2.associate_iam_instance_profile(
        IamInstanceProfile={"Name": p0["InstanceProfileName"]}, InstanceId=iid))
    r.ctx["association"] = assoc["IamInstanceProfileAssociation"]["AssociationId"]


SFN_DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

RECIPES = {
    ("lambda", "CreateFunction", "Role"): (None, lambda r, p: (r.client("lambda").create_function(
        FunctionName=r.name("fn"), Runtime="python3.12", Role=p["arn"], Handler="index.handler",
        Code={"ZipFile": lambda_zip()}), p["arn"])[1]),
    ("lambda", "UpdateFunctionConfiguration", "Role"): (_prepare_function, lambda r, p: (
        r.client("lambda").update_function_configuration(FunctionName=r.ctx["fn"], Role=p["arn"]),
        p["arn"])[1]),
    ("ec2", "RunInstances", "IamInstanceProfile.Name"): (
        lambda r: r.ctx.update(ami=r.ami()), _ec2_profile("Name")),
    ("ec2", "RunInstances", "IamInstanceProfile.Arn"): (
        lambda r: r.ctx.update(ami=r.ami()), _ec2_profile("Arn")),
    ("ec2", "AssociateIamInstanceProfile", "IamInstanceProfile.Name"): (
        lambda r: r.ctx.update(iid=r.instance()), lambda r, p: (
            r.client("ec2").associate_iam_instance_profile(
                IamInstanceProfile={"Name": p["name"]}, InstanceId=r.ctx["iid"]), p["name"])[1]),
    ("ec2", "ReplaceIamInstanceProfileAssociation", "IamInstanceProfile.Name"): (
        _prepare_association, lambda r, p: (
            r.client("ec2").replace_iam_instance_profile_association(
                IamInstanceProfile={"Name": p["name"]}, AssociationId=r.ctx["association"]),
            p["name"])[1]),
    ("ec2", "RequestSpotInstances", "LaunchSpecification.IamInstanceProfile.Name"): (
        lambda r: r.ctx.update(ami=r.ami()), lambda r, p: (
            r.client("ec2").request_spot_instances(LaunchSpecification={
                "ImageId": r.ctx["ami"], "InstanceType": "t2.micro",
                "IamInstanceProfile": {"Name": p["name"]}}), p["name"])[1]),
    ("iam", "CreateRole", "AssumeRolePolicyDocument"): (None, lambda r, p: (
        r.client("iam").create_role(RoleName=r.name("trusting"),
                                    AssumeRolePolicyDocument=trust_naming(p["arn"])), p["arn"])[1]),
    ("iam", "UpdateAssumeRolePolicy", "PolicyDocument"): (
        lambda r: r.ctx.update(trusting=r.role("trusting")), lambda r, p: (
            r.client("iam").update_assume_role_policy(RoleName=r.ctx["trusting"]["name"],
                                                      PolicyDocument=trust_naming(p["arn"])),
            p["arn"])[1]),
    ("iam", "AddRoleToInstanceProfile", "RoleName"): (
        lambda r: r.ctx.update(profile=r.client("iam").create_instance_profile(
            InstanceProfileName=r.name("profile"))["InstanceProfile"]["InstanceProfileName"]),
        lambda r, p: (r.client("iam").add_role_to_instance_profile(
            InstanceProfileName=r.ctx["profile"], RoleName=p["name"]), p["name"])[1]),
    ("iam", "CreateAccessKey", "UserName"): (None, lambda r, p: (
        r.client("iam").create_access_key(UserName=p["name"]), p["name"])[1]),
    ("sts", "AssumeRole", "RoleArn"): (None, lambda r, p: (
        r.client("sts").assume_role(RoleArn=p["arn"], RoleSessionName="session"), p["arn"])[1]),
    ("kms", "CreateKey", "Policy"): (None, lambda r, p: (
        r.client("kms").create_key(Policy=naming(p["arn"])), p["arn"])[1]),
    ("kms", "PutKeyPolicy", "Policy"): (
        lambda r: r.ctx.update(key=r.client("kms").create_key()["KeyMetadata"]["KeyId"]),
        lambda r, p: (r.client("kms").put_key_policy(KeyId=r.ctx["key"], PolicyName="default",
                                                     Policy=naming(p["arn"])), p["arn"])[1]),
    ("firehose", "CreateDeliveryStream", "*.RoleARN"): (
        lambda r: r.ctx.update(bucket=r.bucket()), lambda r, p: (
            r.client("firehose").create_delivery_stream(
                DeliveryStreamName=r.name("stream"), DeliveryStreamType="DirectPut",
                ExtendedS3DestinationConfiguration={
                    "RoleARN": p["arn"], "BucketARN": f"arn:aws:s3:::{r.ctx['bucket']}"}),
            p["arn"])[1]),
    ("codebuild", "CreateProject", "serviceRole"): (None, lambda r, p: (
        r.client("codebuild").create_project(
            name=r.name("project"), source={"type": "S3", "location": "bucket/source.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                         "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=p["arn"]), p["arn"])[1]),
    ("stepfunctions", "CreateStateMachine", "roleArn"): (None, lambda r, p: (
        r.client("stepfunctions").create_state_machine(
            name=r.name("sm"), definition=SFN_DEFINITION, roleArn=p["arn"]), p["arn"])[1]),
    ("stepfunctions", "UpdateStateMachine", "roleArn"): (_prepare_state_machine, lambda r, p: (
        r.client("stepfunctions").update_state_machine(stateMachineArn=r.ctx["sm"],
                                                       roleArn=p["arn"]), p["arn"])[1]),
    ("sns", "SetTopicAttributes", "AttributeValue"): (
        lambda r: r.ctx.update(topic=r.client("sns").create_topic(Name=r.name("topic"))["TopicArn"]),
        lambda r, p: (r.client("sns").set_topic_attributes(
            TopicArn=r.ctx["topic"], AttributeName="Policy", AttributeValue=naming(p["arn"])),
            p["arn"])[1]),
    ("sns", "CreateTopic", "Attributes.entry.*.value"): (None, lambda r, p: (
        r.client("sns").create_topic(Name=r.name("topic"), Attributes={"Policy": naming(p["arn"])}),
        p["arn"])[1]),
    ("s3", "PutBucketPolicy", ""): (
        lambda r: r.ctx.update(bucket=r.bucket()), lambda r, p: (
            r.client("s3").put_bucket_policy(
                Bucket=r.ctx["bucket"],
                Policy=naming(p["arn"], f"arn:aws:s3:::{r.ctx['bucket']}/*")), p["arn"])[1]),
    ("sqs", "SetQueueAttributes", "Attributes.Policy"): (
        lambda r: r.ctx.update(queue=r.client("sqs").create_queue(QueueName=r.name("q"))["QueueUrl"]),
        lambda r, p: (r.client("sqs").set_queue_attributes(
            QueueUrl=r.ctx["queue"], Attributes={"Policy": naming(p["arn"])}), p["arn"])[1]),
    ("sqs", "CreateQueue", "Attributes.Policy"): (None, lambda r, p: (
        r.client("sqs").create_queue(QueueName=r.name("q"), Attributes={"Policy": naming(p["arn"])}),
        p["arn"])[1]),
    ("glue", "CreateCrawler", "Role"): (None, lambda r, p: (
        r.client("glue").create_crawler(Name=r.name("crawler"), Role=p["arn"],
                                        Targets={"S3Targets": [{"Path": "s3://bucket/prefix"}]}),
        p["arn"])[1]),
    ("events", "PutRule", "RoleArn"): (None, lambda r, p: (
        r.client("events").put_rule(Name=r.name("rule"), ScheduleExpression="rate(5 minutes)",
                                    RoleArn=p["arn"]), p["arn"])[1]),
    ("rds", "CreateDBInstance", "MonitoringRoleArn"): (None, lambda r, p: (
        r.client("rds").create_db_instance(
            DBInstanceIdentifier=r.name("db"), DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="admin1", MasterUserPassword="password-123", AllocatedStorage=20,
            MonitoringInterval=60, MonitoringRoleArn=p["arn"]), p["arn"])[1]),
    ("secretsmanager", "PutResourcePolicy", "ResourcePolicy"): (
        lambda r: r.ctx.update(secret=r.client("secretsmanager").create_secret(
            Name=r.name("secret"), SecretString="x")["ARN"]),
        lambda r, p: (r.client("secretsmanager").put_resource_policy(
            SecretId=r.ctx["secret"], ResourcePolicy=naming(p["arn"])), p["arn"])[1]),
    ("ecr", "SetRepositoryPolicy", "policyText"): (
        lambda r: r.ctx.update(repo=r.client("ecr").create_repository(
            repositoryName=r.name("repo"))["repository"]["repositoryName"]),
        lambda r, p: (r.client("ecr").set_repository_policy(
            repositoryName=r.ctx["repo"], policyText=ecr_pull(p["arn"])), p["arn"])[1]),
}


def ecr_pull(arn):
    """A repository policy letting `arn` pull (ECR's policies name no Resource)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "pull", "Effect": "Allow", "Principal": {"AWS": arn},
                       "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}],
    })


def principal(r, trigger, call):
    """Performs the row's first trigger (through boto3); returns the principal it made."""
    r.cli_on = False
    try:
        return _principal(r, trigger, call)
    finally:
        r.cli_on = True


def _principal(r, trigger, call):
    iam = r.client("iam")
    if trigger in ("CreateRole", "UpdateAssumeRolePolicy", "PutRolePolicy", "AttachRolePolicy"):
        return r.role("p")
    if trigger == "CreateUser":
        u = iam.create_user(UserName=r.name("user"))["User"]
        return {"name": u["UserName"], "arn": u["Arn"]}
    if trigger == "CreateInstanceProfile":
        p = iam.create_instance_profile(InstanceProfileName=r.name("profile"))["InstanceProfile"]
        return {"name": p["InstanceProfileName"], "arn": p["Arn"]}
    if trigger == "AddRoleToInstanceProfile":
        # The profile and its role first; the row's call is waited through until the profile
        # itself is visible (its own rows' windows closed), then the role is added.
        role = r.role("prole")
        p = iam.create_instance_profile(InstanceProfileName=r.name("profile"))["InstanceProfile"]
        made = {"name": p["InstanceProfileName"], "arn": p["Arn"]}
        r.settle("the call before AddRoleToInstanceProfile", lambda: call(r, made))
        r.settle("AddRoleToInstanceProfile", lambda: iam.add_role_to_instance_profile(
            InstanceProfileName=made["name"], RoleName=role["name"]))
        return made
    raise RuntimeError(f"no principal for trigger {trigger}")


def expected_message(row, value, p, account):
    return (row["message"].replace("{value}", value).replace("{name}", p["name"])
            .replace("{arn}", p["arn"]).replace("{caller}", f"arn:aws:iam::{account}:root"))


def first_error_problem(e, row, operation, message, client):
    """What is wrong with the first call's error `e`, or None: boto3 must see the row's code,
    message, HTTP status and typed exception; the AWS CLI must print the row's code and message
    for the row's operation."""
    err, meta = e.response.get("Error", {}), e.response.get("ResponseMetadata", {})
    if CLI:
        got = (err.get("Code"), e.response.get("CliOperation"), err.get("Message"))
        want = (row["code"], operation, message)
        return None if got == want else f"the AWS CLI printed {got}, want {want}"
    got = (err.get("Code"), err.get("Message"), meta.get("HTTPStatusCode"))
    want = (row["code"], message, row["status"])
    if got != want:
        return f"got {got}, want {want}"
    exc = row["exception"]
    if exc and not isinstance(e, getattr(client.exceptions, exc)):
        return f"{type(e).__name__} is not botocore's {exc}"
    return None


def run_row(proxy, index, row, codes):
    name = row["spec"]["name"]
    names = row["names"]
    path = names["path"][0] if names["in"] == "field" else names["path"]
    recipe = RECIPES.get((row["service"], row["operation"], path))
    if recipe is None:
        return name, f"no recipe for {row['service']} {row['operation']} ({path}) in run_rows.py"
    prepare, call = recipe
    r = Row(proxy, index, row, codes)
    try:
        if prepare:
            prepare(r)
        if CLI:
            r.cx.prime_cli()  # the CLI's start-up must not eat the window
        # Nor botocore's loading of the service's model (RDS's took seconds on a loaded machine).
        client = r.client(row["service"])
        p = principal(r, row["triggers"][0], call)
        try:
            value = call(r, p)
            return name, f"the first call right after {row['triggers'][0]} succeeded ({value})"
        except botocore.exceptions.ClientError as e:
            # Fields ending in `Name` carry the name (RoleName, IamInstanceProfile.Name); the
            # others and every policy carry the ARN.
            by_name = names["in"] == "field" and path.endswith("Name")
            value = p["name"] if by_name else p["arn"]
            problem = first_error_problem(e, row, row["operation"],
                                          expected_message(row, value, p, r.cx.account), client)
            if problem:
                return name, f"first call: {problem}"
        deadline = time.monotonic() + LATER_DEADLINE_S
        while True:
            time.sleep(PAUSE_S)
            try:
                call(r, p)
                return name, None
            except botocore.exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                if code != row["code"] or time.monotonic() > deadline:
                    return name, f"a later call failed: {code}: {e}"
    except Exception as e:  # noqa: BLE001 (every failure is reported with its row)
        return name, f"{type(e).__name__}: {e}"


# --- read-after-create recipes: (service, create) -> (create(row) -> id, read(row, id)) -----------

def _vpc(r):
    return r.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


READ_RECIPES = {
    ("ec2", "CreateSubnet"): (
        lambda r: r.client("ec2").create_subnet(VpcId=r.settle("CreateVpc", lambda: _vpc(r)),
                                                CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"],
        lambda r, i: r.client("ec2").describe_subnets(SubnetIds=[i])),
    ("ec2", "CreateSecurityGroup"): (
        lambda r: r.client("ec2").create_security_group(
            GroupName=r.name("sg"), Description="catalogue")["GroupId"],
        lambda r, i: r.client("ec2").describe_security_groups(GroupIds=[i])),
    ("ec2", "CreateRouteTable"): (
        lambda r: r.client("ec2").create_route_table(VpcId=_vpc(r))["RouteTable"]["RouteTableId"],
        lambda r, i: r.client("ec2").describe_route_tables(RouteTableIds=[i])),
    ("ec2", "CreateVpc"): (_vpc, lambda r, i: r.client("ec2").describe_vpcs(VpcIds=[i])),
    ("s3", "CreateBucket"): (
        lambda r: r.bucket(), lambda r, i: r.client("s3").get_bucket_location(Bucket=i)),
}


def run_read_row(proxy, index, row, codes):
    name = row["spec"]["name"]
    recipe = READ_RECIPES.get((row["service"], row["create"]))
    if recipe is None:
        return name, f"no recipe for {row['service']} {row['create']} in run_rows.py"
    create, read = recipe
    r = Row(proxy, index, row, codes)
    try:
        if CLI:
            r.cx.prime_cli()
        client = r.client(row["service"])  # loaded before the window opens, as in run_row
        made = create(r)
        try:
            read(r, made)
            return name, f"the read right after {row['create']} found {made}"
        except botocore.exceptions.ClientError as e:
            problem = first_error_problem(e, row, row["read"],
                                          row["message"].replace("{id}", made), client)
            if problem:
                return name, f"first read: {problem}"
        deadline = time.monotonic() + LATER_DEADLINE_S
        while True:
            time.sleep(PAUSE_S)
            try:
                read(r, made)
                return name, None
            except botocore.exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                if code != row["code"] or time.monotonic() > deadline:
                    return name, f"a later read failed: {code}: {e}"
    except Exception as e:  # noqa: BLE001 (every failure is reported with its row)
        return name, f"{type(e).__name__}: {e}"


def run_fidelity_row(proxy, index, row, codes):
    """RunInstances naming a profile that does not exist gets AWS's error, not the emulator's;
    once the profile exists (and its own rows' windows closed) the call succeeds."""
    name = row["spec"]["name"]
    if (row["service"], row["operation"]) != ("ec2", "RunInstances"):
        return name, f"no recipe for {row['service']} {row['operation']} in run_rows.py"
    r = Row(proxy, index, row, codes)
    try:
        ec2, ami = r.client("ec2"), r.ami()
        profile = r.name("profile")
        arn = f"arn:aws:iam::{r.cx.account}:instance-profile/{profile}"
        key = row["field"].split(".")[-1]
        value = profile if key == "Name" else arn

        def run():
            return ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro",
                                     IamInstanceProfile={key: value})
        try:
            run()
            return name, f"RunInstances with the missing profile {value} succeeded"
        except botocore.exceptions.ClientError as e:
            problem = first_error_problem(e, row, row["operation"],
                                          row["message"].replace("{value}", value), ec2)
            if problem:
                return name, f"missing profile: {problem}"
        r.client("iam").create_instance_profile(InstanceProfileName=profile)
        r.settle("RunInstances once the profile exists", run)
        return name, None
    except Exception as e:  # noqa: BLE001 (every failure is reported with its row)
        return name, f"{type(e).__name__}: {e}"


def main():
    with open(next(a for a in sys.argv[1:] if not a.startswith("--")), encoding="utf-8") as f:
        catalogue = json.load(f)
    rows, reads = catalogue["principal_propagation"], catalogue["read_after_create"]
    fidelity = catalogue["fidelity"]
    codes = {r["code"] for r in rows + reads}
    proxy = Proxy()
    passed, failed = [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(run_row, proxy, i, row, codes) for i, row in enumerate(rows)]
        futures += [pool.submit(run_read_row, proxy, len(rows) + i, row, codes)
                    for i, row in enumerate(reads)]
        futures += [pool.submit(run_fidelity_row, proxy, len(rows) + len(reads) + i, row, codes)
                    for i, row in enumerate(fidelity)]
        for fut in concurrent.futures.as_completed(futures):
            name, problem = fut.result()
            if problem is None:
                passed.append(name)
                say(f"PASS {name}")
            else:
                failed.append(name)
                say(f"FAIL {name}: {problem}")
    say("SUMMARY " + json.dumps({"passed": sorted(passed), "failed": sorted(failed)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
