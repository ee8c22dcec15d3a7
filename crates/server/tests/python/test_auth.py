"""SigV4 verification and the IAM-shaped policy (a second server started with
--credentials and --policy): tampering, unknown keys, denials, LeadingKeys."""
import json
import os
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import client

ENDPOINT = os.environ.get("DYNASIM_AUTH_ENDPOINT", "")
REGION = os.environ.get("DYNASIM_AUTH_REGION", "us-east-1")
TABLE = "orders"


@pytest.fixture
def as_user():
    if not ENDPOINT:
        pytest.skip("DYNASIM_AUTH_ENDPOINT not set")
    users = {"admin": ("AKIDADMIN", "admin-secret"), "alice": ("AKIDALICE", "alice-secret"), "bob": ("AKIDBOB", "bob-secret")}
    def make(name, secret=None):
        key, real = users[name]
        return client(REGION, key=key, secret=secret or real, endpoint=ENDPOINT)
    admin = make("admin")
    if TABLE not in admin.list_tables()["TableNames"]:
        admin.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST")
    return make


def code(e):
    return e.value.response["Error"]["Code"]


def test_admin_is_allowed_everything(as_user):
    as_user("admin").put_item(TableName=TABLE, Item={"user": {"S": "bob"}, "n": {"N": "1"}})


def test_missing_signature_is_rejected(as_user):
    req = urllib.request.Request(ENDPOINT + "/", data=b"{}", method="POST")
    req.add_header("X-Amz-Target", "DynamoDB_20120810.ListTables")
    req.add_header("Content-Type", "application/x-amz-json-1.0")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    body = json.loads(e.value.read())
    assert body["__type"].endswith("#MissingAuthenticationTokenException")


def test_unknown_access_key_is_unrecognized_client(as_user):
    c = client(REGION, key="AKIDNOBODY", secret="x", endpoint=ENDPOINT)
    with pytest.raises(ClientError) as e:
        c.list_tables()
    assert code(e) == "UnrecognizedClientException"


def test_wrong_secret_is_invalid_signature(as_user):
    with pytest.raises(ClientError) as e:
        as_user("alice", secret="not-her-secret").list_tables()
    assert code(e) == "InvalidSignatureException"


def test_tampered_body_is_invalid_signature(as_user):
    c = as_user("admin")
    def tamper(request, **kwargs):
        # After signing: swap the key the request reads.
        request.body = request.body.replace(b'"alice"', b'"mallo"')
    c.meta.events.register("before-send.dynamodb.GetItem", tamper)
    with pytest.raises(ClientError) as e:
        c.get_item(TableName=TABLE, Key={"user": {"S": "alice"}})
    assert code(e) == "InvalidSignatureException"


def test_wrong_region_scope_is_invalid_signature(as_user):
    c = client("eu-west-1", key="AKIDADMIN", secret="admin-secret", endpoint=ENDPOINT)
    with pytest.raises(ClientError) as e:
        c.list_tables()
    assert code(e) == "InvalidSignatureException"


def test_leading_keys_allow_own_items_only(as_user):
    alice = as_user("alice")
    alice.put_item(TableName=TABLE, Item={"user": {"S": "alice"}, "n": {"N": "1"}})
    assert alice.get_item(TableName=TABLE, Key={"user": {"S": "alice"}})["Item"]["n"] == {"N": "1"}
    alice.query(TableName=TABLE, KeyConditionExpression="#u = :u",
                ExpressionAttributeNames={"#u": "user"}, ExpressionAttributeValues={":u": {"S": "alice"}})
    with pytest.raises(ClientError) as e:
        alice.get_item(TableName=TABLE, Key={"user": {"S": "bob"}})
    assert code(e) == "AccessDeniedException"
    assert "is not authorized to perform: dynamodb:GetItem" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        alice.batch_write_item(RequestItems={TABLE: [
            {"PutRequest": {"Item": {"user": {"S": "alice"}}}},
            {"PutRequest": {"Item": {"user": {"S": "bob"}}}},
        ]})
    assert code(e) == "AccessDeniedException"


def test_explicit_deny_wins(as_user):
    with pytest.raises(ClientError) as e:
        as_user("alice").delete_table(TableName=TABLE)
    assert code(e) == "AccessDeniedException"
    assert "explicit deny" in e.value.response["Error"]["Message"]


def test_user_without_statements_is_denied(as_user):
    with pytest.raises(ClientError) as e:
        as_user("bob").get_item(TableName=TABLE, Key={"user": {"S": "bob"}})
    assert code(e) == "AccessDeniedException"
