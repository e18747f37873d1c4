#!/usr/bin/env python3
"""boto3 through the proxy's LocalStack Chaos API, on REST services.

For each case: set one Chaos API fault rule naming a REST operation (S3 in REST-XML, Lambda and
API Gateway in REST-JSON), call that operation (boto3 must raise ClientError with the rule's code
and HTTP status), call a sibling operation of the same service that shares its path or method
(it must reach moto and succeed), then clear the rules. Prints one line per check and a final
`N passed, M failed` line; exits 1 on any failure.

Usage: cases.py PROXY_URL ACCOUNT
"""
import json
import sys
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

PROXY, ACCOUNT = sys.argv[1].rstrip("/"), sys.argv[2]
CONFIG = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
BUCKET = "chaos-rest-bucket"
results = {"passed": 0, "failed": 0}


def client(service):
    return boto3.client(service, endpoint_url=PROXY, region_name="us-east-1",
                        aws_access_key_id=ACCOUNT, aws_secret_access_key="not-a-secret",
                        config=CONFIG)


def chaos(rules):
    req = urllib.request.Request(PROXY + "/_localstack/chaos/faults", method="POST",
                                 data=json.dumps(rules).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200, resp.status


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {name} {detail}".rstrip(), flush=True)


def case(service, operation, status, code, faulted, sibling_name, sibling):
    chaos([{"service": service, "operation": operation,
            "error": {"statusCode": status, "code": code}}])
    try:
        faulted()
        check(f"{service}:{operation} faulted", False, "no error raised")
    except ClientError as e:
        got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
        check(f"{service}:{operation} faulted", got == (code, status), f"got {got}")
    try:
        sibling()
        check(f"{service}:{sibling_name} passes", True)
    except ClientError as e:
        check(f"{service}:{sibling_name} passes", False, f"got {e.response['Error']}")
    chaos([])


def main():
    s3, lam, apigw = client("s3"), client("lambda"), client("apigateway")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="src.txt", Body=b"x")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    api = apigw.create_rest_api(name="chaos-rest")["id"]

    # PutObject and CopyObject are both PUT /{Bucket}/{Key+}: only the copy-source header and
    # botocore's x-id tell them apart.
    case("s3", "PutObject", 503, "SlowDown",
         lambda: s3.put_object(Bucket=BUCKET, Key="k.txt", Body=b"y"),
         "CopyObject",
         lambda: s3.copy_object(Bucket=BUCKET, Key="copy.txt",
                                CopySource={"Bucket": BUCKET, "Key": "src.txt"}))
    # GetBucketPolicy is GET /{Bucket}?policy, a sub-resource of the bucket.
    case("s3", "GetBucketPolicy", 403, "AccessDenied",
         lambda: s3.get_bucket_policy(Bucket=BUCKET),
         "ListObjectsV2", lambda: s3.list_objects_v2(Bucket=BUCKET))
    case("lambda", "ListFunctions", 429, "TooManyRequestsException",
         lambda: lam.list_functions(),
         "ListLayers", lambda: lam.list_layers())
    case("apigateway", "GetRestApis", 400, "BadRequestException",
         lambda: apigw.get_rest_apis(),
         "GetRestApi", lambda: apigw.get_rest_api(restApiId=api))
    print(f"{results['passed']} passed, {results['failed']} failed", flush=True)
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
