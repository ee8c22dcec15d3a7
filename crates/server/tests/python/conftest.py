"""Fixtures for the boto3 suite against `dynasim serve`.

The cargo test `crates/server/tests/boto3.rs` starts the servers and passes their
addresses in the environment: DYNASIM_ENDPOINTS (JSON region -> URL), DYNASIM_CONTROL,
and for the auth suite DYNASIM_AUTH_ENDPOINT / DYNASIM_AUTH_REGION.
"""
import json
import os
import time
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config

ENDPOINTS = json.loads(os.environ.get("DYNASIM_ENDPOINTS", "{}"))
CONTROL = os.environ.get("DYNASIM_CONTROL", "")
REGIONS = list(ENDPOINTS)
# No retries: every test sees each request's own outcome. (botocore's `max_attempts`
# counts retries, so `max_attempts: 1` meant one retry after a random backoff of up to a
# second, which let a 2-per-second throttle refill and made its test flaky.)
CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def client(region, service="dynamodb", key="dynasim", secret="dynasim", endpoint=None):
    return boto3.client(
        service,
        endpoint_url=endpoint or ENDPOINTS[region],
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=CONFIG,
    )


def control(path, body=None):
    """One control API call; POST when body is given."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(CONTROL + path, data=data, method="GET" if body is None else "POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def wait_for(predicate, timeout=5.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def regions():
    if not ENDPOINTS:
        pytest.skip("DYNASIM_ENDPOINTS not set: run through `cargo test -p dynasim-server --test boto3`")
    return REGIONS


@pytest.fixture
def ddb(regions):
    """Clients by region name."""
    return {r: client(r) for r in regions}


@pytest.fixture
def table_name():
    return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def heal_after():
    """Every test leaves the fault state clean."""
    yield
    if CONTROL:
        control("/heal", {})
        for r in REGIONS:
            control("/region", {"region": r, "up": True})
            control("/skew", {"region": r, "ms": 0})
            for az in range(3):
                control("/az", {"region": r, "az": az, "up": True})


def create_table(c, name, sort_key=False, gsi=False, stream=False):
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if sort_key:
        attrs.append({"AttributeName": "sk", "AttributeType": "N"})
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
    kwargs = dict(TableName=name, KeySchema=schema, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")
    if gsi:
        attrs.append({"AttributeName": "g", "AttributeType": "S"})
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return c.create_table(**kwargs)


def make_global(ddb, name, home, others):
    create_table(ddb[home], name)
    ddb[home].update_table(
        TableName=name, ReplicaUpdates=[{"Create": {"RegionName": r}} for r in others]
    )
