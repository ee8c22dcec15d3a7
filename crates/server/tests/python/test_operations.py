"""Every operation family through boto3 against one region (reference rule ids in names)."""
import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import ENDPOINTS, client, create_table


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_cp_table_lifecycle(ddb, regions, table_name):
    c = ddb[regions[0]]
    out = create_table(c, table_name, sort_key=True)
    assert out["TableDescription"]["TableName"] == table_name
    assert table_name in c.list_tables()["TableNames"]
    d = c.describe_table(TableName=table_name)["Table"]
    assert d["KeySchema"][0] == {"AttributeName": "pk", "KeyType": "HASH"}
    assert d["TableStatus"] == "ACTIVE"
    with pytest.raises(ClientError) as e:
        create_table(c, table_name)
    assert error_code(e) == "ResourceInUseException"
    c.update_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {"Create": {"IndexName": "gix", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "KEYS_ONLY"}}}
        ],
    )
    d = c.describe_table(TableName=table_name)["Table"]
    assert [i["IndexName"] for i in d["GlobalSecondaryIndexes"]] == ["gix"]
    c.delete_table(TableName=table_name)
    with pytest.raises(ClientError) as e:
        c.describe_table(TableName=table_name)
    assert error_code(e) == "ResourceNotFoundException"


def test_ttl_update_and_describe(ddb, regions, table_name):
    c = ddb[regions[0]]
    create_table(c, table_name)
    c.update_time_to_live(TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    d = c.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert d["TimeToLiveStatus"] == "ENABLED"
    assert d["AttributeName"] == "exp"


def test_it_item_crud_and_conditions(ddb, regions, table_name):
    c = ddb[regions[0]]
    create_table(c, table_name)
    c.put_item(TableName=table_name, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "l": {"L": [{"S": "x"}]}})
    assert c.get_item(TableName=table_name, Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    out = c.update_item(
        TableName=table_name,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET n = n + :one, s = :s",
        ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"SS": ["p", "q"]}},
        ReturnValues="ALL_NEW",
    )
    assert out["Attributes"]["n"] == {"N": "2"}
    with pytest.raises(ClientError) as e:
        c.put_item(TableName=table_name, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
                   ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert error_code(e) == "ConditionalCheckFailedException"
    assert e.value.response["Item"]["n"] == {"N": "2"}  # IT-06
    old = c.delete_item(TableName=table_name, Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD")
    assert old["Attributes"]["pk"] == {"S": "a"}
    assert "Item" not in c.get_item(TableName=table_name, Key={"pk": {"S": "a"}})  # IT-02


def test_dm_validation_errors_carry_dynamodb_messages(ddb, regions, table_name):
    c = ddb[regions[0]]
    create_table(c, table_name)
    with pytest.raises(ClientError) as e:
        c.put_item(TableName=table_name, Item={"nokey": {"S": "a"}})
    assert error_code(e) == "ValidationException"
    assert "key" in e.value.response["Error"]["Message"].lower()


def test_qs_query_scan_and_gsi(ddb, regions, table_name):
    c = ddb[regions[0]]
    create_table(c, table_name, sort_key=True, gsi=True)
    for i in range(10):
        c.put_item(TableName=table_name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "g": {"S": "even" if i % 2 == 0 else "odd"}})
    q = c.query(TableName=table_name, KeyConditionExpression="pk = :p AND sk >= :s",
                ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"N": "5"}}, ScanIndexForward=False)
    assert [i["sk"]["N"] for i in q["Items"]] == ["9", "8", "7", "6", "5"]
    page = c.query(TableName=table_name, KeyConditionExpression="pk = :p",
                   ExpressionAttributeValues={":p": {"S": "p"}}, Limit=3)
    assert page["Count"] == 3 and "LastEvaluatedKey" in page
    g = c.query(TableName=table_name, IndexName="by-g", KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "odd"}})
    assert g["Count"] == 5
    s = c.scan(TableName=table_name, FilterExpression="sk < :three", ExpressionAttributeValues={":three": {"N": "3"}})
    assert s["Count"] == 3 and s["ScannedCount"] == 10


def test_ba_batch_get_and_write(ddb, regions, table_name):
    c = ddb[regions[0]]
    create_table(c, table_name)
    c.batch_write_item(RequestItems={table_name: [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}}}} for i in range(25)]})
    got = c.batch_get_item(RequestItems={table_name: {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(30)]}})
    assert len(got["Responses"][table_name]) == 25
    c.batch_write_item(RequestItems={table_name: [{"DeleteRequest": {"Key": {"pk": {"S": "k0"}}}}]})
    assert "Item" not in c.get_item(TableName=table_name, Key={"pk": {"S": "k0"}})
    with pytest.raises(ClientError) as e:
        c.batch_write_item(RequestItems={table_name: [{"PutRequest": {"Item": {"pk": {"S": f"x{i}"}}}} for i in range(26)]})
    assert error_code(e) == "ValidationException"  # BA-04


def test_tx_transactions_commit_and_cancel(ddb, regions, table_name):
    c = ddb[regions[0]]
    create_table(c, table_name)
    c.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_name, "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}},
        {"Put": {"TableName": table_name, "Item": {"pk": {"S": "b"}, "n": {"N": "2"}}}},
    ])
    got = c.transact_get_items(TransactItems=[
        {"Get": {"TableName": table_name, "Key": {"pk": {"S": "a"}}}},
        {"Get": {"TableName": table_name, "Key": {"pk": {"S": "b"}}}},
    ])
    assert [r["Item"]["n"]["N"] for r in got["Responses"]] == ["1", "2"]
    with pytest.raises(ClientError) as e:
        c.transact_write_items(TransactItems=[
            {"Put": {"TableName": table_name, "Item": {"pk": {"S": "c"}}}},
            {"ConditionCheck": {"TableName": table_name, "Key": {"pk": {"S": "a"}},
                                "ConditionExpression": "n = :nine", "ExpressionAttributeValues": {":nine": {"N": "9"}}}},
        ])
    assert error_code(e) == "TransactionCanceledException"
    codes = [r["Code"] for r in e.value.response["CancellationReasons"]]  # TX-09
    assert codes == ["None", "ConditionalCheckFailed"]
    assert "Item" not in c.get_item(TableName=table_name, Key={"pk": {"S": "c"}})


def test_st_streams_api(ddb, regions, table_name):
    region = regions[0]
    c = ddb[region]
    create_table(c, table_name, stream=True)
    c.put_item(TableName=table_name, Item={"pk": {"S": "a"}})
    c.delete_item(TableName=table_name, Key={"pk": {"S": "a"}})
    streams = client(region, service="dynamodbstreams")
    arn = [s["StreamArn"] for s in streams.list_streams(TableName=table_name)["Streams"]][0]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]


def raw_post(region, body, target="DynamoDB_20120810.ListTables", headers=None):
    req = urllib.request.Request(ENDPOINTS[region] + "/", data=body, method="POST")
    req.add_header("Content-Type", "application/x-amz-json-1.0")
    if target:
        req.add_header("X-Amz-Target", target)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"{}")


def test_wp03_crc32_header_matches_body(regions):
    import zlib
    req = urllib.request.Request(ENDPOINTS[regions[0]] + "/", data=b"{}", method="POST")
    req.add_header("X-Amz-Target", "DynamoDB_20120810.ListTables")
    req.add_header("Content-Type", "application/x-amz-json-1.0")
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
        assert int(resp.headers["x-amz-crc32"]) == zlib.crc32(body)
        assert resp.headers["Content-Type"] == "application/x-amz-json-1.0"
        assert resp.headers["x-amzn-RequestId"]


def test_wp04_unknown_operation(regions):
    status, _, body = raw_post(regions[0], b"{}", target="DynamoDB_20120810.Frobnicate")
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#UnknownOperationException"
    status, _, body = raw_post(regions[0], b"{}", target=None)
    assert body["__type"].endswith("#UnknownOperationException")


def test_wp04_malformed_json_is_serialization_exception(regions):
    status, _, body = raw_post(regions[0], b"{not json", target="DynamoDB_20120810.GetItem")
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#SerializationException"


def test_wp06_oversize_body_gets_413(regions):
    # The cargo test sets the body limit to 1 MiB; the server answers before reading it.
    host, port = ENDPOINTS[regions[0]].removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
              b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2097152\r\n\r\n{")
    assert s.recv(1024).startswith(b"HTTP/1.1 413")
    # A body that lies about its length is cut at the limit too.
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 65536
    try:
        for _ in range(20):
            s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    except OSError:
        pass
    # The server answers 413 and closes while the client is still sending: the kernel
    # may then reset the connection before the client reads the answer (no lingering
    # close), so a reset or an empty read is the other accepted outcome (WP-06: an error
    # or a closed connection, never a crash).
    try:
        answer = s.recv(1024)
    except ConnectionResetError:
        answer = b""
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer
    # Either way the server lives on.
    status, _, _ = raw_post(regions[0], b"{}", target="DynamoDB_20120810.ListTables")
    assert status < 500


def test_slow_client_connection_is_closed(regions):
    # Headers never finish: the server closes the connection (header timeout 1 s in tests).
    host, port = ENDPOINTS[regions[0]].removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
    started = time.time()
    data = s.recv(1024)
    assert time.time() - started < 8
    assert data == b"" or data.startswith(b"HTTP/1.1 408")
    # and the server still serves others
    status, _, _ = raw_post(regions[0], b"{}")
    assert status == 200
