"""What the case table needs to talk to the proxy as a user would: boto3 clients and the AWS CLI
configured from the variables `harness up` prints, the proxy's control API, fresh accounts,
unique resource names, and a bounded "settle" loop for setup steps that a fresh account may
refuse for a while.

Nothing here knows a particular model; the rows in cases.py do.
"""

import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.config
import botocore.exceptions

# The variables `harness up` prints (dotenv lines) and the test passes on unchanged.
ENDPOINT_VAR = "AWS_ENDPOINT_URL"
ACCESS_KEY_VAR = "AWS_ACCESS_KEY_ID"
SECRET_KEY_VAR = "AWS_SECRET_ACCESS_KEY"
REGION_VAR = "AWS_REGION"

# How long a setup step may wait out a fresh account's refusals (every default window of the
# fresh-account profile is <= 60 s; see docs/src/behaviours.md).
SETTLE_DEADLINE_S = 90.0
SETTLE_PAUSE_S = 0.5
# Services whose models a primed CLI process loads ahead (every service the case table calls).
CLI_SERVICES = ("ecs", "iam", "ecr", "logs")
# A CLI call is a process start (~1 s); bound it.
CLI_TIMEOUT_S = 120

# Errors a fresh account answers for a while and a setup step waits out (terraform-provider-aws
# retries each: internal/service/ecs/errors.go, internal/service/iam/wait.go, internal/service/logs/group.go).
TRANSIENT_CODES = {
    "ClusterNotFoundException",
    "UpdateInProgressException",
    "NoSuchEntity",
    "OperationAbortedException",
    "ThrottlingException",
    "Throttling",
}
# InvalidParameterException is transient only with this text (ECS service-linked role delay).
TRANSIENT_MESSAGES = ("Unable to assume the service linked role",)


# What the venv's `bin/aws` runs (awscli 1.x: `awscli.clidriver.main()`, i.e. create_clidriver()
# then driver.main()), split so that the interpreter start, the imports and the loading of the
# service models (about a second on a 2-core machine) happen before the row's setup, and the
# command itself runs the moment its arguments arrive on stdin. Otherwise a model's window of a
# second or less (cluster read-after-create, Logs) could end while the CLI is still loading.
# Warming = one throwaway botocore client per service the table uses (fills the session's loader
# caches that the CLI's own client then reads); nothing is sent.
CLI_PRIMER = """
import json, os, sys
if os.environ.get("LC_CTYPE", "") == "UTF-8":
    os.environ["LC_CTYPE"] = "en_US.UTF-8"
import awscli.clidriver
driver = awscli.clidriver.create_clidriver()
for service in %r:
    driver.session.create_client(service, region_name=os.environ["AWS_DEFAULT_REGION"], endpoint_url="http://127.0.0.1:9")
print("primed", flush=True)
rc = driver.main(json.loads(sys.stdin.readline()))
awscli.clidriver.HISTORY_RECORDER.record("CLI_RC", rc, "CLI")
sys.exit(rc)
""" % (CLI_SERVICES,)
CLI_PRIMED = "primed"


class PrimedCli:
    """One `aws` invocation in a process of its own, started ahead of its arguments."""

    def __init__(self, child_env):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CLI_PRIMER],
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        if line != CLI_PRIMED:
            _, err = self.proc.communicate(timeout=CLI_TIMEOUT_S)
            raise SetupFailed(f"the AWS CLI did not start ({self.proc.returncode}): {line} {err}")

    def run(self, args):
        out, err = self.proc.communicate(json.dumps(args) + "\n", timeout=CLI_TIMEOUT_S)
        return self.proc.returncode, out, err

    def discard(self):
        """Ends a primed process whose row never got to its CLI call."""
        self.proc.kill()
        self.proc.communicate()


class SetupFailed(Exception):
    """A row's setup could not be completed (not a mismatch of the modelled answer)."""


def env(name):
    value = os.environ.get(name, "").strip()
    if not value:
        raise SystemExit(f"foreign clients: {name} is not set (the test passes harness up's variables)")
    return value


class Proxy:
    """The proxy as `harness up` advertised it: endpoint, base account, region, control API."""

    def __init__(self):
        self.endpoint = env(ENDPOINT_VAR).rstrip("/")
        self.base_account = env(ACCESS_KEY_VAR)
        self.secret = env(SECRET_KEY_VAR)
        self.region = env(REGION_VAR)
        self._next_account = 0

    def fresh_account(self):
        """Another 12-digit account on the same proxy (harness up: "any 12 digits is an account of
        its own"). The first call hands out the advertised account itself, later ones random
        accounts nobody used before (so a second run against the same proxy starts fresh too)."""
        self._next_account += 1
        if self._next_account == 1:
            return self.base_account
        return f"{random.SystemRandom().randrange(10**11, 10**12)}"

    def control(self, method, path, body=None):
        """A control API call; returns (status, parsed JSON or None)."""
        data = None if body is None else body.encode()
        req = urllib.request.Request(f"{self.endpoint}/_harness/{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, _json_or_none(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, _json_or_none(e.read())

    def add_rule(self, rule):
        status, answer = self.control("PATCH", "faults", json.dumps([rule]))
        if status != 200:
            raise SetupFailed(f"PATCH /_harness/faults {rule} answered {status}: {answer}")

    def remove_rule(self, name):
        self.control("DELETE", f"faults?name={name}")

    def apply_presets(self, text):
        status, answer = self.control("POST", "presets", text)
        return status == 200, answer


def _json_or_none(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None


class Cx:
    """One row's world: its account, its names, its clients, what its setup left behind."""

    def __init__(self, proxy, account, row_id):
        self.proxy = proxy
        self.account = account
        self.row_id = row_id
        self.vars = {}
        self._clients = {}
        self._tag = uuid.uuid4().hex[:6]

    def name(self, what):
        """A resource name unique to this row and run, e.g. `fc-7-cluster-1a2b3c`."""
        return f"fc-{self.row_id}-{what}-{self._tag}"

    def arn(self, service, resource):
        return f"arn:aws:{service}:{self.proxy.region if service != 'iam' else ''}:{self.account}:{resource}"

    def client(self, service):
        """A boto3 client on the proxy for this account, without retries, so the first answer
        is the one asserted."""
        if service not in self._clients:
            self._clients[service] = boto3.session.Session().client(
                service,
                endpoint_url=self.proxy.endpoint,
                region_name=self.proxy.region,
                aws_access_key_id=self.account,
                aws_secret_access_key=self.proxy.secret,
                config=botocore.config.Config(
                    retries={"mode": "standard", "total_max_attempts": 1},
                    connect_timeout=5,
                    read_timeout=60,
                ),
            )
        return self._clients[service]

    def cli_env(self):
        """The environment of an `aws` process for this account: harness up's variables only."""
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        child_env.update(
            {
                "AWS_ACCESS_KEY_ID": self.account,
                "AWS_SECRET_ACCESS_KEY": self.proxy.secret,
                "AWS_DEFAULT_REGION": self.proxy.region,
                "AWS_REGION": self.proxy.region,
                # The CLI as users run it (standard mode, 3 attempts): throttling and 5xx are retried
                # and its error line then says "(reached max retries: 2)".
                "AWS_RETRY_MODE": "standard",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_PAGER": "",
            }
        )
        return child_env

    def prime_cli(self):
        """Starts an `aws` process for this account up to the point where it reads its arguments
        (see PrimedCli); call before the setup whose window the CLI call must land in."""
        if "_cli" not in self.vars:
            self.vars["_cli"] = PrimedCli(self.cli_env())

    def cli(self, args):
        """Runs `aws --endpoint-url PROXY --output json ARGS`; returns (exit code, stdout, stderr)."""
        self.prime_cli()
        return self.vars.pop("_cli").run(["--endpoint-url", self.proxy.endpoint, "--output", "json"] + list(args))

    def close(self):
        """Ends what the row left running (a primed CLI its failed setup never used)."""
        cli = self.vars.pop("_cli", None)
        if cli is not None:
            cli.discard()

    def settle(self, what, call):
        """Runs a setup call, waiting out a fresh account's transient refusals (bounded)."""
        deadline = time.monotonic() + SETTLE_DEADLINE_S
        while True:
            try:
                return call()
            except botocore.exceptions.ClientError as e:
                err = e.response.get("Error", {})
                code, message = err.get("Code", ""), err.get("Message", "")
                transient = code in TRANSIENT_CODES or any(t in message for t in TRANSIENT_MESSAGES)
                if not transient:
                    raise SetupFailed(f"{what}: {code}: {message}") from e
                if time.monotonic() > deadline:
                    raise SetupFailed(f"{what}: still {code} after {SETTLE_DEADLINE_S:.0f} s: {message}") from e
                time.sleep(SETTLE_PAUSE_S)


def say(line):
    print(line, flush=True)


def warn(line):
    print(line, file=sys.stderr, flush=True)
