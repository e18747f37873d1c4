#!/usr/bin/env python3
"""Writes one request per operation of every service botocore models, as botocore sends it.

Run by harness/tests/operation_corpus.rs with the pinned boto3/botocore venv
(foreign_clients/requirements.txt). For every service and operation, a real botocore client
(endpoint http://localhost:4566, region us-east-1, access key 123456789012) builds the request from
the smallest input its model allows: every required member, recursively, with placeholder values.
A `before-send` handler records the signed request and stops it, so nothing leaves the machine.
S3 is sent twice: virtual-hosted style (botocore's default) and path style.

Output, one JSON object a line: {"service", "operation", "variant", "method", "url", "headers",
"body"} (hex; only for form-encoded requests, where the Action is); a request botocore
cannot build is a line {"service", "operation", "variant", "error"}.

Usage: corpus.py OUT_FILE
"""
import datetime
import json
import sys

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, prepare_request_dict
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.serialize import create_serializer

ENDPOINT = "http://localhost:4566"
MAX_DEPTH = 6


class Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def capture(request, **_):
    raise Captured(request)


# Placeholders that endpoint rules and host labels accept: lower-case, DNS-safe.
NAMED = {
    "AccountId": "123456789012",
    "Bucket": "amzn-bucket",
    "Key": "dir/key.txt",
    # cloudfront-keyvaluestore's endpoint rules parse it.
    "KvsARN": "arn:aws:cloudfront::123456789012:key-value-store/abc1",
    # machinelearning's Predict is sent to this endpoint.
    "PredictEndpoint": ENDPOINT,
}


def value_for(shape, name, depth):
    t = shape.type_name
    if t == "structure":
        if depth > MAX_DEPTH:
            return {}
        out = {}
        for member in shape.required_members:
            out[member] = value_for(shape.members[member], member, depth + 1)
        return out
    if t == "list":
        if depth > MAX_DEPTH:
            return []
        return [value_for(shape.member, name, depth + 1)]
    if t == "map":
        return {}
    if t == "string":
        if shape.enum:
            return shape.enum[0]
        return NAMED.get(name, "abc1")
    if t in ("integer", "long", "short", "byte"):
        return 1
    if t in ("float", "double"):
        return 1.0
    if t == "boolean":
        return True
    if t == "timestamp":
        return datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    if t == "blob":
        return b"x"
    return {}


def requests(session, service, variant, config):
    client = session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="123456789012",
        aws_secret_access_key="not-a-secret",
        config=config,
    )
    client.meta.events.register_first("before-send", capture)
    model = client.meta.service_model
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        params = value_for(op.input_shape, "", 0) if op.input_shape is not None else {}
        row = {"service": service, "operation": op_name, "variant": variant}
        method = getattr(client, botocore.xform_name(op_name), None)
        try:
            if method is None:
                # The client hides it (an HTTP/2 bidirectional event stream); botocore's own
                # serializer and SigV4 signer still build its request.
                row["variant"] = "serializer"
                raise Captured(serialized(model, op, params))
            method(**params)
            row["error"] = "the request was not captured"
        except Captured as c:
            r = c.request
            headers = {k: (v.decode("latin-1") if isinstance(v, bytes) else str(v))
                       for k, v in r.headers.items()}
            row.update(method=r.method, url=r.url, headers=headers, body="")
            ctype = headers.get("Content-Type", "")
            if ctype.startswith("application/x-www-form-urlencoded") and r.body:
                body = r.body if isinstance(r.body, bytes) else str(r.body).encode()
                row["body"] = body.hex()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none hidden
            row["error"] = f"{type(e).__name__}: {e}"[:300]
        yield row


def serialized(model, op, params):
    """The request botocore's serializer makes of `params`, SigV4-signed, prepared."""
    body = create_serializer(model.protocol, include_validation=False).serialize_to_request(
        params, op)
    prepare_request_dict(body, endpoint_url=ENDPOINT)
    request = AWSRequest(method=body["method"], url=body["url"], data=body["body"],
                         headers=body["headers"])
    signing = model.signing_name or model.endpoint_prefix
    SigV4Auth(Credentials("123456789012", "not-a-secret"), signing, "us-east-1").add_auth(request)
    return request.prepare()


def main():
    out = sys.argv[1]
    session = botocore.session.get_session()
    base = dict(
        retries={"total_max_attempts": 1},
        parameter_validation=False,
        request_checksum_calculation="when_required",
    )
    n = 0
    with open(out, "w") as f:
        for service in sorted(session.get_available_services()):
            variants = [("default", Config(**base))]
            if service == "s3":
                variants.append(("path-style", Config(s3={"addressing_style": "path"}, **base)))
            for variant, config in variants:
                try:
                    for row in requests(session, service, variant, config):
                        f.write(json.dumps(row) + "\n")
                        n += 1
                except Exception as e:  # noqa: BLE001
                    f.write(json.dumps({"service": service, "operation": "*", "variant": variant,
                                        "error": f"client: {type(e).__name__}: {e}"[:300]}) + "\n")
    print(f"corpus: {n} requests -> {out}")


if __name__ == "__main__":
    main()
