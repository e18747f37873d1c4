"""Runs the case table (cases.py) against a proxy started by `harness up`, with boto3 and the AWS
CLI v1, and prints one line per case:

    PASS  slr-delay / boto3 CreateService: InvalidParameterException 400 'Unable to ...' (0.03 s)
    FAIL  ... expected ..., got ...
    NOT YET MODELLED: cluster-read-after-create / cli CreateService (the proxy reports none of ...)

then `SUMMARY {json}`. Exit status 1 when any enabled case failed. The environment is what
`harness up` prints (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) plus
nothing else. FOREIGN_CLIENTS_FORCE=1 runs the not-yet-modelled rows
too (to develop a model against its rows).
"""

import json
import os
import re
import sys
import time
import traceback

import botocore.exceptions

from cases import CASES, ECS_SLR, Answer, Error
from support import Cx, Proxy, SetupFailed, say

FORCE_VAR = "FOREIGN_CLIENTS_FORCE"
CLI_SERVICE_ERROR_EXIT = 255  # AWS CLI v1: awscli/clidriver.py, any ClientError


def model_status(proxy):
    """(registered, switched on) model names, from GET /_harness/presets: `models.windows` has a
    range for every model the proxy knows, `models.models` lists those that are on. Any other
    word of the answer counts as registered too (an older proxy lists presets only)."""
    status, view = proxy.control("GET", "presets")
    if status != 200 or not isinstance(view, dict):
        raise SystemExit(f"foreign clients: GET /_harness/presets answered {status}: {view}")
    registered, enabled = set(), set()

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                registered.update(words(k))
                if k == "models" and isinstance(v, list):
                    enabled.update(x for x in v if isinstance(x, str))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            registered.update(words(value))

    walk(view)
    return registered, enabled


def words(text):
    return set(re.split(r"[^a-z0-9-]+", text.lower().replace("_", "-"))) - {""}


def not_modelled_reason(case, registered, enabled, force):
    """None when the row runs, else why it does not."""
    if not case.requires or force or enabled.intersection(case.requires):
        return None
    names = ", ".join(case.requires)
    if registered.intersection(case.requires):
        return f"the proxy has {names} but it is off: harness up ran without the fresh-account profile"
    return f"the proxy reports no model {names}"


class Accounts:
    """Fresh accounts on demand, and one shared "warm" account whose ECS service-linked role is
    already usable (for rows about other models that need CreateService to get through)."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.warm = None

    def get(self, kind):
        if kind == "fresh":
            return self.proxy.fresh_account()
        if self.warm is None:
            account = self.proxy.fresh_account()
            cx = Cx(self.proxy, account, "warm")
            started = time.monotonic()
            cx.settle("CreateCluster (warm-up)", lambda: cx.client("ecs").create_cluster(clusterName=cx.name("warm")))
            cx.settle("GetRole AWSServiceRoleForECS (warm-up)", lambda: cx.client("iam").get_role(RoleName=ECS_SLR))
            say(f"      warm account {account}: service-linked role usable after {time.monotonic() - started:.1f} s")
            self.warm = account
        return self.warm


def run_case(case, cx):
    """Returns (ok, what was seen)."""
    try:
        if case.client == "cli":
            cx.prime_cli()
        if case.setup:
            case.setup(cx)
        if case.client == "cli":
            return judge_cli(case, cx, *cx.cli(case.call(cx)))
        return judge_boto3(case, cx)
    finally:
        cx.close()
        if case.teardown:
            case.teardown(cx)


def judge_boto3(case, cx):
    try:
        answer = case.call(cx)
    except botocore.exceptions.ClientError as e:
        err, meta = e.response.get("Error", {}), e.response.get("ResponseMetadata", {})
        seen = (e.operation_name, err.get("Code"), err.get("Message"), meta.get("HTTPStatusCode"))
        text = f"{seen[1]} {seen[3]} {seen[2]!r} ({seen[0]})"
        if not isinstance(case.expect, Error):
            return False, f"an answer, got the error {text}"
        want = (case.op, case.expect.code, message(case, cx), case.expect.status)
        return seen == want, text
    if isinstance(case.expect, Error):
        return False, f"no error: the call succeeded with {short(answer)}"
    return check_fields(case.expect, answer, cx)


def judge_cli(case, cx, code, stdout, stderr):
    if isinstance(case.expect, Error):
        # awscli/utils.py + botocore.exceptions.ClientError: the line a user sees, with the retry
        # note botocore adds once retries ran out.
        want = re.compile(
            re.escape(f"An error occurred ({case.expect.code}) when calling the {case.op} operation")
            + r"( \(reached max retries: \d+\))?: "
            + re.escape(message(case, cx))
        )
        ok = code == CLI_SERVICE_ERROR_EXIT and want.fullmatch(stderr.strip()) is not None
        return ok, f"exit {code}, stderr {stderr.strip()!r}"
    if code != 0:
        return False, f"exit {code}, stderr {stderr.strip()!r}"
    try:
        answer = json.loads(stdout)
    except ValueError:
        return False, f"exit 0 but stdout is not JSON: {stdout[:200]!r}"
    return check_fields(case.expect, answer, cx)


def check_fields(expect, answer, cx):
    seen = []
    ok = True
    for path, values in expect.checks:
        value = answer
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                value = f"<no {'.'.join(map(str, path))}>"
                break
        seen.append(f"{'.'.join(map(str, path))}={value!r}")
        ok = ok and value in [v.format_map(cx.vars) if isinstance(v, str) else v for v in values]
    return ok, ", ".join(seen)


def call_lag(case, cx):
    """Seconds from the end of the setup's last request to the arrival of the row's call, read
    from the proxy's journal for the row's account (the trailing entries of the row's operation
    are the call and its client retries); None when the journal does not show it. This is the
    margin a model's window needs: a CLI row pays its argument parsing and signing here."""
    status, entries = cx.proxy.control("GET", f"journal?account={cx.account}")
    if status != 200 or not isinstance(entries, list):
        return None
    entries = sorted(entries, key=lambda e: e.get("seq", 0))
    first = len(entries)
    while first > 0 and entries[first - 1].get("operation") == case.op:
        first -= 1
    if first == len(entries) or first == 0:
        return None
    before, call = entries[first - 1], entries[first]
    return (call["at_ms"] - before["at_ms"] - before.get("duration_ms", 0)) / 1000


def message(case, cx):
    return case.expect.message.format_map(cx.vars)


def expected_text(case, cx):
    if isinstance(case.expect, Error):
        status = f" {case.expect.status}" if case.client == "boto3" else f" (exit {CLI_SERVICE_ERROR_EXIT})"
        return f"{case.expect.code}{status} {message(case, cx)!r}"
    return ", ".join(f"{'.'.join(map(str, p))} in {list(v)}" for p, v in case.expect.checks)


def short(answer):
    answer = dict(answer or {})
    answer.pop("ResponseMetadata", None)
    return json.dumps(answer, default=str)[:200]


def main():
    proxy = Proxy()
    registered, enabled = model_status(proxy)
    say(f"      models on: {', '.join(sorted(enabled)) or 'none'}")
    force = os.environ.get(FORCE_VAR) == "1"
    accounts = Accounts(proxy)
    results = []
    for i, case in enumerate(CASES):
        label = f"{case.model} / {case.client} {case.op}"
        reason = not_modelled_reason(case, registered, enabled, force)
        if reason:
            say(f"NOT YET MODELLED: {label} ({reason})")
            results.append({"case": label, "outcome": "not-modelled"})
            continue
        started = time.monotonic()
        cx, lag = None, None
        try:
            cx = Cx(proxy, accounts.get(case.account), i)
            ok, seen = run_case(case, cx)
            detail = seen if ok else f"expected {expected_text(case, cx)}, got {seen}"
            lag = call_lag(case, cx) if case.setup else None
            if lag is not None:
                detail += f"; call {lag:.2f} s after setup"
        except SetupFailed as e:
            ok, detail = False, f"setup failed: {e}"
        except Exception as e:  # a client crash is a failure of the row, not of the run
            ok, detail = False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
        took = time.monotonic() - started
        say(f"{'PASS' if ok else 'FAIL'}  {label}: {detail} ({took:.2f} s)")
        results.append({"case": label, "outcome": "pass" if ok else "fail", "seconds": round(took, 3), "call_lag_s": lag})
    summary = {
        "passed": sum(r["outcome"] == "pass" for r in results),
        "failed": sum(r["outcome"] == "fail" for r in results),
        "not_modelled": [r["case"] for r in results if r["outcome"] == "not-modelled"],
        "cases": results,
    }
    say("SUMMARY " + json.dumps(summary))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
