"""Global tables through boto3: replica management (GT-19), replication across regions in
real time (GT-09, GT-10), partitions and heal through the control API (GT-20), LWW (GT-12),
clock skew (SD-02), region and AZ outages (RC-12), capacity (CA), metrics (GT-11)."""
import time

import pytest
from botocore.exceptions import ClientError

from conftest import control, make_global, wait_for


def get(c, table, key):
    return c.get_item(TableName=table, Key={"pk": {"S": key}}).get("Item")


def put(c, table, key, value):
    c.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"S": value}})


def test_gt19_replica_create_describe_and_delete(ddb, regions, table_name):
    home, other = regions[0], regions[1]
    make_global(ddb, table_name, home, [other])
    for r in (home, other):
        d = ddb[r].describe_table(TableName=table_name)["Table"]
        assert sorted(x["RegionName"] for x in d["Replicas"]) == sorted([home, other])
        assert all(x["ReplicaStatus"] == "ACTIVE" for x in d["Replicas"])
        assert d["GlobalTableVersion"] == "2019.11.21"
        # GT-16: replication needs a stream; a table without one gets NEW_AND_OLD_IMAGES.
        assert d["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ddb[home].update_table(TableName=table_name, ReplicaUpdates=[{"Delete": {"RegionName": other}}])
    with pytest.raises(ClientError) as e:
        ddb[other].describe_table(TableName=table_name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "Replicas" not in ddb[home].describe_table(TableName=table_name)["Table"]


def test_gt19_new_replica_is_backfilled(ddb, regions, table_name):
    home, other = regions[0], regions[1]
    from conftest import create_table
    create_table(ddb[home], table_name)
    for i in range(20):
        put(ddb[home], table_name, f"k{i}", "before")
    ddb[home].update_table(TableName=table_name, ReplicaUpdates=[{"Create": {"RegionName": other}}])
    assert ddb[other].scan(TableName=table_name)["Count"] == 20


def test_gt09_write_in_one_region_read_in_every_other(ddb, regions, table_name):
    make_global(ddb, table_name, regions[0], regions[1:])
    put(ddb[regions[0]], table_name, "a", "from-home")
    for r in regions[1:]:
        item = wait_for(lambda: get(ddb[r], table_name, "a"), what=f"replication to {r}")
        assert item["v"] == {"S": "from-home"}
    # and back: a write in the last region reaches the first
    put(ddb[regions[-1]], table_name, "b", "from-last")
    wait_for(lambda: get(ddb[regions[0]], table_name, "b"), what="replication back")


def test_gt11_replication_lag_is_visible(ddb, regions, table_name):
    home, other = regions[0], regions[1]
    make_global(ddb, table_name, home, [other])
    put(ddb[home], table_name, "a", "x")
    wait_for(lambda: get(ddb[other], table_name, "a"), what="replication")
    lag = control("/metrics")["regions"][other]["tables"][table_name]["peers"][home]["lag_ms_last"]
    # The configured one-way delay of the link (us-east-1 -> eu-west-1: 35 ms) is felt.
    assert lag >= 20, lag
    text = [x for x in ddb[other].describe_table(TableName=table_name)["Table"]["Replicas"] if x["RegionName"] == home]
    assert "replication lag" in text[0]["ReplicaStatusDescription"]


def test_gt20_partition_concurrent_writes_heal_lww(ddb, regions, table_name):
    us, eu = regions[0], regions[1]
    make_global(ddb, table_name, us, [eu])
    put(ddb[us], table_name, "k", "initial")
    wait_for(lambda: get(ddb[eu], table_name, "k"), what="initial replication")
    control("/partition", {"a": us})
    put(ddb[us], table_name, "k", "us-write")
    time.sleep(0.05)
    put(ddb[eu], table_name, "k", "eu-write")  # later wall clock: LWW winner
    put(ddb[us], table_name, "only-us", "x")
    time.sleep(0.3)
    # Both sides accepted writes; neither sees the other's (GT-20).
    assert get(ddb[us], table_name, "k")["v"] == {"S": "us-write"}
    assert get(ddb[eu], table_name, "k")["v"] == {"S": "eu-write"}
    assert get(ddb[eu], table_name, "only-us") is None
    assert control("/metrics")["regions"][us]["tables"][table_name]["peers"][eu]["unacknowledged_to"] >= 2
    control("/heal", {})
    # After the heal every replica converges on the later write (GT-12).
    wait_for(lambda: get(ddb[us], table_name, "k")["v"] == {"S": "eu-write"}, what="LWW convergence")
    wait_for(lambda: get(ddb[eu], table_name, "only-us"), what="resend after heal")
    assert get(ddb[eu], table_name, "k")["v"] == {"S": "eu-write"}


def test_sd02_clock_skew_lets_an_earlier_write_win(ddb, regions, table_name):
    us, eu = regions[0], regions[1]
    make_global(ddb, table_name, us, [eu])
    control("/skew", {"region": us, "ms": 10_000})  # us-east-1 clock 10 s ahead
    control("/partition", {"a": us, "b": eu})
    put(ddb[us], table_name, "k", "us-first")
    time.sleep(0.05)
    put(ddb[eu], table_name, "k", "eu-later")
    control("/heal", {})
    # The causally unrelated but later eu write loses to the skewed stamp (a skew inversion).
    wait_for(lambda: get(ddb[eu], table_name, "k")["v"] == {"S": "us-first"}, what="skewed LWW")
    assert get(ddb[us], table_name, "k")["v"] == {"S": "us-first"}


def test_gt12_concurrent_writers_converge_everywhere(ddb, regions, table_name):
    make_global(ddb, table_name, regions[0], regions[1:])
    for i in range(20):
        for r in regions:
            put(ddb[r], table_name, f"k{i % 4}", f"{r}-{i}")
    def converged():
        views = [sorted((i["pk"]["S"], i["v"]["S"]) for i in ddb[r].scan(TableName=table_name, ConsistentRead=True)["Items"]) for r in regions]
        return all(v == views[0] for v in views) and len(views[0]) == 4
    wait_for(converged, timeout=10, what="convergence of concurrent writers")


def test_gt20_region_down_returns_503_and_catches_up(ddb, regions, table_name):
    us, eu = regions[0], regions[1]
    make_global(ddb, table_name, us, [eu])
    control("/region", {"region": eu, "up": False})
    with pytest.raises(ClientError) as e:
        get(ddb[eu], table_name, "a")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    put(ddb[us], table_name, "a", "while-down")
    control("/region", {"region": eu, "up": True})
    wait_for(lambda: get(ddb[eu], table_name, "a"), what="catch-up after region up")


def test_rc12_two_azs_down_refuse_writes_and_strong_reads(ddb, regions, table_name):
    r = regions[0]
    from conftest import create_table
    create_table(ddb[r], table_name)
    control("/az", {"region": r, "az": 0, "up": False})
    put(ddb[r], table_name, "a", "one-az-down-is-fine")
    control("/az", {"region": r, "az": 1, "up": False})
    with pytest.raises(ClientError) as e:
        put(ddb[r], table_name, "b", "no-quorum")
    assert e.value.response["Error"]["Code"] == "InternalServerError"
    with pytest.raises(ClientError):
        ddb[r].get_item(TableName=table_name, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    assert get(ddb[r], table_name, "a")  # eventually consistent reads still served


def test_ca_capacity_limit_throttles(ddb, regions, table_name):
    r = regions[0]
    from conftest import create_table
    create_table(ddb[r], table_name)
    control("/capacity", {"region": r, "table": table_name, "write": 2})
    codes = []
    for i in range(10):
        try:
            put(ddb[r], table_name, f"k{i}", "x")
            codes.append("ok")
        except ClientError as e:
            codes.append(e.response["Error"]["Code"])
    assert "ProvisionedThroughputExceededException" in codes
    control("/capacity", {"region": r, "table": table_name})
    put(ddb[r], table_name, "after", "x")


def test_gt17_ttl_expiry_is_replicated(ddb, regions, table_name):
    us, eu = regions[0], regions[1]
    make_global(ddb, table_name, us, [eu])
    ddb[us].update_time_to_live(TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert ddb[eu].describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    past = str(int(time.time()) - 10)
    ddb[us].put_item(TableName=table_name, Item={"pk": {"S": "old"}, "exp": {"N": past}})
    wait_for(lambda: get(ddb[eu], table_name, "old") is None and get(ddb[us], table_name, "old") is None
             and control("/metrics")["regions"][us]["tables"][table_name]["local_writes"] >= 2,
             timeout=5, what="TTL delete everywhere")
