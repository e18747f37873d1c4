# Fixtures for running pytest against the harness: `harness run -- python -m pytest` sets
# AWS_ENDPOINT_URL, a fresh account's credentials and a region; each test gets an account of its
# own on top (any 12-digit access key id is an account of its own behind the harness).
import os
import random

import boto3
import pytest


@pytest.fixture
def aws():
    """A boto3 session in an account no other test uses."""
    if "AWS_ENDPOINT_URL" not in os.environ:
        pytest.fail("AWS_ENDPOINT_URL is not set: run under `harness run -- python -m pytest ...`")
    account = "".join(random.choices("0123456789", k=12))
    return boto3.session.Session(
        aws_access_key_id=account,
        aws_secret_access_key="test",
        region_name=os.environ.get("AWS_REGION", "ap-northeast-1"),
    )
