//! Real-client tests with the Rust AWS SDK (`aws-sdk-dynamodb`, `aws-sdk-dynamodbstreams`):
//! starts `dynasim serve` in-process on free ports and drives every operation family, the
//! global-table flow (partition, concurrent writes, heal, LWW) and SigV4/policy rejections.
//! The SDK signs every request with SigV4 and talks plain HTTP/1.1 to loopback (no TLS).

use aws_sdk_dynamodb as ddb;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::error::{BoxError, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck,
    CreateReplicationGroupMemberAction, Get, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, Put, PutRequest, ReplicationGroupUpdate,
    ReturnValue, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
    TimeToLiveStatus, TransactGetItem, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodbstreams as streams;
use dynasim_server::{Auth, Credentials as ServerCredentials, Policy, ServeOptions, Server};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk))])
}

/// One SDK client for a region endpoint: SigV4 with the given keys, plain HTTP, no retries
/// (a retried request would hide the first error the server returned).
fn client(region: &str, addr: SocketAddr, access_key: &str, secret: &str) -> ddb::Client {
    let config = ddb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            access_key,
            secret,
            None,
            None,
            "rust-sdk-test",
        ))
        .endpoint_url(format!("http://{addr}"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(ddb::config::retry::RetryConfig::disabled())
        .build();
    ddb::Client::from_conf(config)
}

fn streams_client(region: &str, addr: SocketAddr) -> streams::Client {
    let config = streams::Config::builder()
        .behavior_version(streams::config::BehaviorVersion::latest())
        .region(streams::config::Region::new(region.to_string()))
        .credentials_provider(streams::config::Credentials::new(
            "dynasim",
            "dynasim",
            None,
            None,
            "rust-sdk-test",
        ))
        .endpoint_url(format!("http://{addr}"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    streams::Client::from_conf(config)
}

async fn start(regions: &[&str], auth: Option<Auth>) -> Server {
    let mut options = ServeOptions::for_regions(regions);
    options.auth = auth;
    Server::start(options).await.expect("server starts")
}

fn region_client(server: &Server, i: usize) -> ddb::Client {
    let (name, addr) = &server.endpoints()[i];
    client(name, *addr, "dynasim", "dynasim")
}

/// A control API call (blocking std I/O, so off the runtime's workers).
async fn control(server: &Server, path: &'static str, body: serde_json::Value) {
    let address = server.control_addr().to_string();
    tokio::task::spawn_blocking(move || {
        dynasim_server::ctl_request(&address, path, Some(&body)).expect("control API call")
    })
    .await
    .expect("control call joins");
}

async fn create_table(c: &ddb::Client, name: &str, sort_key: bool, stream: bool) {
    let mut request = c
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        );
    if sort_key {
        request = request
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("sk")
                    .key_type(KeyType::Range)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("sk")
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .unwrap(),
            );
    }
    if stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        );
    }
    let out = request.send().await.expect("CreateTable");
    let description = out.table_description().expect("a description");
    assert_eq!(description.table_name(), Some(name));
}

async fn get(c: &ddb::Client, table: &str, pk: &str) -> Option<Item> {
    c.get_item()
        .table_name(table)
        .set_key(Some(key(pk)))
        .send()
        .await
        .expect("GetItem")
        .item()
        .cloned()
}

async fn put(c: &ddb::Client, table: &str, pk: &str, v: &str) {
    c.put_item()
        .table_name(table)
        .item("pk", s(pk))
        .item("v", s(v))
        .send()
        .await
        .expect("PutItem");
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `timeout`.
async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout; // real time: a test's patience
    while !check().await {
        assert!(
            Instant::now() < deadline, // real time
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_control_plane_and_ttl() {
    let server = start(&["us-east-1"], None).await;
    let c = region_client(&server, 0);
    create_table(&c, "tables", true, false).await;
    let again = c
        .create_table()
        .table_name("tables")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect_err("a second CreateTable fails");
    assert_eq!(again.code(), Some("ResourceInUseException"));
    let listed = c.list_tables().send().await.expect("ListTables");
    assert_eq!(listed.table_names(), ["tables"]);
    let table = c
        .describe_table()
        .table_name("tables")
        .send()
        .await
        .expect("DescribeTable")
        .table
        .expect("a table");
    assert_eq!(table.key_schema().len(), 2);
    assert_eq!(table.key_schema()[1].attribute_name(), "sk");
    assert_eq!(table.table_status().map(|s| s.as_str()), Some("ACTIVE"));

    // TTL: enable, describe, and an expired item is deleted by the sweep.
    c.update_time_to_live()
        .table_name("tables")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("exp")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("UpdateTimeToLive");
    let ttl = c
        .describe_time_to_live()
        .table_name("tables")
        .send()
        .await
        .expect("DescribeTimeToLive");
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some("exp"));
    let past = std::time::SystemTime::now() // real time: TTL compares with the Unix clock
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 10;
    for (pk, exp) in [("expired", past), ("alive", past + 3_600)] {
        c.put_item()
            .table_name("tables")
            .item("pk", s(pk))
            .item("sk", n(0))
            .item("exp", n(exp))
            .send()
            .await
            .expect("PutItem with exp");
    }
    let scan_keys = || async {
        let out = c.scan().table_name("tables").send().await.expect("Scan");
        let mut keys: Vec<String> = out
            .items()
            .iter()
            .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
            .collect();
        keys.sort();
        keys
    };
    wait_for("the TTL sweep", Duration::from_secs(5), || async {
        scan_keys().await == ["alive"]
    })
    .await;

    c.delete_table()
        .table_name("tables")
        .send()
        .await
        .expect("DeleteTable");
    let gone = c
        .describe_table()
        .table_name("tables")
        .send()
        .await
        .expect_err("the table is gone");
    assert!(gone.into_service_error().is_resource_not_found_exception());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_conditions_expressions_query_scan_batches() {
    let server = start(&["us-east-1"], None).await;
    let c = region_client(&server, 0);
    create_table(&c, "items", true, false).await;

    // PutItem with a condition: the second insert of the same key fails.
    let insert = || {
        c.put_item()
            .table_name("items")
            .item("pk", s("a"))
            .item("sk", n(1))
            .item("count", n(1))
            .item("tags", AttributeValue::Ss(vec!["x".into()]))
            .condition_expression("attribute_not_exists(pk)")
    };
    insert().send().await.expect("first conditional put");
    let failed = insert().send().await.expect_err("second conditional put");
    assert!(
        failed
            .into_service_error()
            .is_conditional_check_failed_exception()
    );

    // UpdateItem with names, values, an arithmetic SET, ADD to a set, and ALL_NEW.
    let updated = c
        .update_item()
        .table_name("items")
        .key("pk", s("a"))
        .key("sk", n(1))
        .update_expression("SET #c = #c + :one, note = :note ADD tags :more")
        .condition_expression("#c = :one")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":note", s("hello"))
        .expression_attribute_values(":more", AttributeValue::Ss(vec!["y".into()]))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .expect("UpdateItem");
    let attributes = updated.attributes().expect("ALL_NEW attributes");
    assert_eq!(attributes["count"], n(2));
    assert_eq!(attributes["note"], s("hello"));
    let mut tags = attributes["tags"].as_ss().expect("a string set").clone();
    tags.sort();
    assert_eq!(tags, ["x", "y"]);

    // GetItem with a projection.
    let projected = c
        .get_item()
        .table_name("items")
        .key("pk", s("a"))
        .key("sk", n(1))
        .projection_expression("note")
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    assert_eq!(
        projected
            .item()
            .expect("the item")
            .keys()
            .collect::<Vec<_>>(),
        ["note"]
    );

    // DeleteItem with a failing, then a passing condition, returning the old image.
    let refused = c
        .delete_item()
        .table_name("items")
        .key("pk", s("a"))
        .key("sk", n(1))
        .condition_expression("#c > :ten")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":ten", n(10))
        .send()
        .await
        .expect_err("condition fails");
    assert_eq!(refused.code(), Some("ConditionalCheckFailedException"));
    let deleted = c
        .delete_item()
        .table_name("items")
        .key("pk", s("a"))
        .key("sk", n(1))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .expect("DeleteItem");
    assert_eq!(deleted.attributes().expect("old image")["count"], n(2));

    // A validation error keeps DynamoDB's type.
    let invalid = c
        .put_item()
        .table_name("items")
        .item("pk", s("no-sort-key"))
        .send()
        .await
        .expect_err("missing sort key");
    assert_eq!(invalid.code(), Some("ValidationException"));

    // BatchWriteItem 25 items into one partition, 5 into another.
    let puts: Vec<WriteRequest> = (0..25)
        .map(|i| ("q", i))
        .chain((0..5).map(|i| ("other", i)))
        .map(|(pk, i)| {
            let request = PutRequest::builder()
                .item("pk", s(pk))
                .item("sk", n(i))
                .item("v", n(i * 10))
                .build()
                .unwrap();
            WriteRequest::builder().put_request(request).build()
        })
        .collect();
    for chunk in puts.chunks(25) {
        let out = c
            .batch_write_item()
            .request_items("items", chunk.to_vec())
            .send()
            .await
            .expect("BatchWriteItem");
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }

    // BatchGetItem.
    let keys = KeysAndAttributes::builder()
        .keys(HashMap::from([
            ("pk".to_string(), s("q")),
            ("sk".to_string(), n(3)),
        ]))
        .keys(HashMap::from([
            ("pk".to_string(), s("other")),
            ("sk".to_string(), n(4)),
        ]))
        .build()
        .unwrap();
    let got = c
        .batch_get_item()
        .request_items("items", keys)
        .send()
        .await
        .expect("BatchGetItem");
    let mut values: Vec<String> = got.responses().expect("responses")["items"]
        .iter()
        .map(|i| i["v"].as_n().unwrap().clone())
        .collect();
    values.sort();
    assert_eq!(values, ["30", "40"]);

    // Query with manual pagination (Limit + ExclusiveStartKey), backwards, with a filter.
    let mut seen = Vec::new();
    let mut start: Option<Item> = None;
    let mut pages = 0;
    loop {
        let page = c
            .query()
            .table_name("items")
            .key_condition_expression("pk = :p AND sk >= :from")
            .filter_expression("v <> :skip")
            .expression_attribute_values(":p", s("q"))
            .expression_attribute_values(":from", n(5))
            .expression_attribute_values(":skip", n(100))
            .scan_index_forward(false)
            .limit(7)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("Query page");
        pages += 1;
        seen.extend(
            page.items()
                .iter()
                .map(|i| i["sk"].as_n().unwrap().parse::<i64>().unwrap()),
        );
        match page.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
        assert!(pages < 10, "Query pagination does not end");
    }
    let expected: Vec<i64> = (5..25).rev().filter(|i| *i != 10).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3, "20 items read 7 at a time");

    // Query through the SDK's paginator, and a Count.
    let all: Vec<Item> = c
        .query()
        .table_name("items")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("q"))
        .limit(4)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("Query paginator");
    assert_eq!(all.len(), 25);
    let counted = c
        .query()
        .table_name("items")
        .key_condition_expression("pk = :p AND sk BETWEEN :lo AND :hi")
        .expression_attribute_values(":p", s("q"))
        .expression_attribute_values(":lo", n(0))
        .expression_attribute_values(":hi", n(9))
        .select(ddb::types::Select::Count)
        .send()
        .await
        .expect("Query Count");
    assert_eq!(counted.count(), 10);

    // Scan through the paginator and in two parallel segments.
    let scanned: Vec<Item> = c
        .scan()
        .table_name("items")
        .limit(6)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("Scan paginator");
    assert_eq!(scanned.len(), 30);
    let mut segmented = 0;
    for segment in 0..2 {
        let all: Vec<Item> = c
            .scan()
            .table_name("items")
            .segment(segment)
            .total_segments(2)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .expect("Scan segment");
        segmented += all.len();
    }
    assert_eq!(segmented, 30);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_and_cancel_with_reasons() {
    let server = start(&["us-east-1"], None).await;
    let c = region_client(&server, 0);
    create_table(&c, "txns", false, false).await;
    let put = |pk: &str, v: i64| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("txns")
                    .item("pk", s(pk))
                    .item("n", n(v))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    c.transact_write_items()
        .transact_items(put("a", 1))
        .transact_items(put("b", 2))
        .send()
        .await
        .expect("TransactWriteItems");
    let get = |pk: &str| {
        TransactGetItem::builder()
            .get(
                Get::builder()
                    .table_name("txns")
                    .set_key(Some(key(pk)))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let got = c
        .transact_get_items()
        .transact_items(get("a"))
        .transact_items(get("b"))
        .send()
        .await
        .expect("TransactGetItems");
    let values: Vec<&AttributeValue> = got
        .responses()
        .iter()
        .map(|r| &r.item().expect("an item")["n"])
        .collect();
    assert_eq!(values, [&n(1), &n(2)]);

    // The check on `a` fails: nothing is written and the reasons say which item failed.
    let check = ConditionCheck::builder()
        .table_name("txns")
        .set_key(Some(key("a")))
        .condition_expression("n = :nine")
        .expression_attribute_values(":nine", n(9))
        .build()
        .unwrap();
    let cancelled = c
        .transact_write_items()
        .transact_items(put("c", 3))
        .transact_items(TransactWriteItem::builder().condition_check(check).build())
        .send()
        .await
        .expect_err("the transaction is cancelled");
    match cancelled.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            let codes: Vec<Option<&str>> =
                e.cancellation_reasons().iter().map(|r| r.code()).collect();
            assert_eq!(codes, [Some("None"), Some("ConditionalCheckFailed")]);
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
    assert!(get_none(&c, "txns", "c").await);
    server.shutdown().await;
}

async fn get_none(c: &ddb::Client, table: &str, pk: &str) -> bool {
    get(c, table, pk).await.is_none()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_api_with_the_streams_sdk() {
    let server = start(&["us-east-1"], None).await;
    let c = region_client(&server, 0);
    create_table(&c, "streamed", false, true).await;
    put(&c, "streamed", "a", "1").await;
    put(&c, "streamed", "a", "2").await;
    c.delete_item()
        .table_name("streamed")
        .key("pk", s("a"))
        .send()
        .await
        .expect("DeleteItem");
    let (name, addr) = &server.endpoints()[0];
    let st = streams_client(name, *addr);
    let listed = st
        .list_streams()
        .table_name("streamed")
        .send()
        .await
        .expect("ListStreams");
    assert_eq!(listed.streams().len(), 1);
    let arn = listed.streams()[0]
        .stream_arn()
        .expect("an ARN")
        .to_string();
    let described = st
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("DescribeStream");
    let description = described.stream_description().expect("a description");
    assert_eq!(
        description.stream_view_type(),
        Some(&streams::types::StreamViewType::NewAndOldImages)
    );
    let shard = description.shards()[0].shard_id().expect("a shard id");
    let iterator = st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(shard)
        .shard_iterator_type(streams::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator");
    let records = st
        .get_records()
        .shard_iterator(iterator.shard_iterator().expect("an iterator"))
        .send()
        .await
        .expect("GetRecords");
    let events: Vec<&str> = records
        .records()
        .iter()
        .map(|r| r.event_name().map(|e| e.as_str()).unwrap_or("?"))
        .collect();
    assert_eq!(events, ["INSERT", "MODIFY", "REMOVE"]);
    let modify = records.records()[1].dynamodb().expect("a stream record");
    let old = modify.old_image().expect("old image");
    let new = modify.new_image().expect("new image");
    assert_eq!(old["v"], streams::types::AttributeValue::S("1".into()));
    assert_eq!(new["v"], streams::types::AttributeValue::S("2".into()));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_table_partition_concurrent_writes_heal_lww() {
    let server = start(&["us-east-1", "eu-west-1"], None).await;
    let us = region_client(&server, 0);
    let eu = region_client(&server, 1);
    create_table(&us, "orders", false, false).await;
    let out = us
        .update_table()
        .table_name("orders")
        .replica_updates(
            ReplicationGroupUpdate::builder()
                .create(
                    CreateReplicationGroupMemberAction::builder()
                        .region_name("eu-west-1")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("UpdateTable ReplicaUpdates");
    let mut replicas: Vec<&str> = out
        .table_description()
        .expect("a description")
        .replicas()
        .iter()
        .filter_map(|r| r.region_name())
        .collect();
    replicas.sort();
    assert_eq!(replicas, ["eu-west-1", "us-east-1"]);
    let described = eu
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .expect("DescribeTable in the new replica");
    assert_eq!(
        described.table().and_then(|t| t.global_table_version()),
        Some("2019.11.21")
    );

    // Write in one region, read it in the other after replication (~35 ms one way).
    put(&us, "orders", "k", "initial").await;
    wait_for(
        "replication to eu-west-1",
        Duration::from_secs(5),
        || async { get(&eu, "orders", "k").await.is_some() },
    )
    .await;

    // Cut us-east-1 off, write the same key on both sides, eu-west-1 last.
    control(&server, "/partition", serde_json::json!({"a": "us-east-1"})).await;
    put(&us, "orders", "k", "us-write").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    put(&eu, "orders", "k", "eu-write").await;
    put(&us, "orders", "only-us", "x").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let value = |item: Option<Item>| item.map(|i| i["v"].clone());
    assert_eq!(value(get(&us, "orders", "k").await), Some(s("us-write")));
    assert_eq!(value(get(&eu, "orders", "k").await), Some(s("eu-write")));
    assert_eq!(get(&eu, "orders", "only-us").await, None, "partitioned");

    // Heal: both replicas converge on the write with the larger stamp (eu-west-1's).
    control(&server, "/heal", serde_json::json!({})).await;
    wait_for("LWW convergence", Duration::from_secs(5), || async {
        value(get(&us, "orders", "k").await) == Some(s("eu-write"))
    })
    .await;
    wait_for("resend after the heal", Duration::from_secs(5), || async {
        get(&eu, "orders", "only-us").await.is_some()
    })
    .await;
    assert_eq!(value(get(&eu, "orders", "k").await), Some(s("eu-write")));

    // Concurrent writers on both sides converge on one value per key.
    let writers = [(us.clone(), "us"), (eu.clone(), "eu")].map(|(c, tag)| {
        tokio::spawn(async move {
            for i in 0..20 {
                put(&c, "orders", &format!("c{}", i % 4), &format!("{tag}-{i}")).await;
            }
        })
    });
    for w in writers {
        w.await.expect("writer");
    }
    let view = |c: ddb::Client| async move {
        let out = c
            .scan()
            .table_name("orders")
            .consistent_read(true)
            .send()
            .await
            .expect("Scan");
        let mut pairs: Vec<(String, String)> = out
            .items()
            .iter()
            .map(|i| {
                let pk = i["pk"].as_s().unwrap().clone();
                let v = i["v"].as_s().unwrap().clone();
                (pk, v)
            })
            .collect();
        pairs.sort();
        pairs
    };
    wait_for(
        "convergence of concurrent writers",
        Duration::from_secs(10),
        || {
            let (us, eu) = (us.clone(), eu.clone());
            async move {
                let a = view(us).await;
                a.len() == 6 && a == view(eu).await
            }
        },
    )
    .await;
    server.shutdown().await;
}

fn auth() -> Auth {
    let credentials: ServerCredentials = serde_json::from_value(serde_json::json!({
        "Users": [
            {"UserName": "admin", "AccessKeyId": "AKIDADMIN", "SecretAccessKey": "admin-secret"},
            {"UserName": "alice", "AccessKeyId": "AKIDALICE", "SecretAccessKey": "alice-secret"}
        ]
    }))
    .expect("credentials parse");
    let policy: Policy = serde_json::from_value(serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "admin"}, "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "alice"},
             "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
             "Resource": "arn:aws:dynamodb:*:*:table/orders",
             "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}},
            {"Effect": "Deny", "Principal": "*", "Action": "dynamodb:DeleteTable",
             "Resource": "arn:aws:dynamodb:*:*:table/orders"}
        ]
    }))
    .expect("policy parses");
    Auth::new(credentials, Some(policy)).expect("policy is supported")
}

/// Rewrites `"alice"` to `"mallo"` in the body after the SDK signed it.
#[derive(Debug)]
struct Tamper;

impl Intercept for Tamper {
    fn name(&self) -> &'static str {
        "Tamper"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let body = request.body().bytes().ok_or("a streaming body")?;
        let tampered = String::from_utf8(body.to_vec())?.replace("\"alice\"", "\"mallo\"");
        *request.body_mut() = tampered.into();
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_and_policy_rejections() {
    let server = start(&["us-east-1"], Some(auth())).await;
    let addr = server.endpoints()[0].1;
    let admin = client("us-east-1", addr, "AKIDADMIN", "admin-secret");
    let alice = client("us-east-1", addr, "AKIDALICE", "alice-secret");
    create_table(&admin, "orders", false, false).await;

    // Allowed: alice reads and writes her own items.
    put(&alice, "orders", "alice", "mine").await;
    assert!(get(&alice, "orders", "alice").await.is_some());

    // Policy denials: another user's leading key, an action not granted, an explicit Deny.
    let denied = alice
        .get_item()
        .table_name("orders")
        .set_key(Some(key("bob")))
        .send()
        .await
        .expect_err("bob's item");
    assert_eq!(denied.code(), Some("AccessDeniedException"));
    assert_eq!(
        denied.raw_response().map(|r| r.status().as_u16()),
        Some(400)
    );
    let scan = alice
        .scan()
        .table_name("orders")
        .send()
        .await
        .expect_err("Scan not granted");
    assert_eq!(scan.code(), Some("AccessDeniedException"));
    let dropped = admin
        .delete_table()
        .table_name("orders")
        .send()
        .await
        .expect_err("explicit Deny");
    assert_eq!(dropped.code(), Some("AccessDeniedException"));

    // Signature failures.
    let tampered_config = admin.config().to_builder().interceptor(Tamper).build();
    let tampered = ddb::Client::from_conf(tampered_config)
        .get_item()
        .table_name("orders")
        .set_key(Some(key("alice")))
        .send()
        .await
        .expect_err("tampered body");
    assert_eq!(tampered.code(), Some("InvalidSignatureException"));
    let wrong_secret = client("us-east-1", addr, "AKIDALICE", "not-her-secret")
        .list_tables()
        .send()
        .await
        .expect_err("wrong secret");
    assert_eq!(wrong_secret.code(), Some("InvalidSignatureException"));
    let unknown = client("us-east-1", addr, "AKIDNOBODY", "x")
        .list_tables()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(unknown.code(), Some("UnrecognizedClientException"));
    let wrong_scope = client("eu-west-1", addr, "AKIDADMIN", "admin-secret")
        .list_tables()
        .send()
        .await
        .expect_err("signed for another region");
    assert_eq!(wrong_scope.code(), Some("InvalidSignatureException"));
    server.shutdown().await;
}

/// A table `indexed` with a GSI `byg` on the string attribute `g` (ALL projection).
async fn create_indexed_table(c: &ddb::Client) {
    let element = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .unwrap()
    };
    let definition = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    c.create_table()
        .table_name("indexed")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(element("pk", KeyType::Hash))
        .attribute_definitions(definition("pk"))
        .attribute_definitions(definition("g"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byg")
                .key_schema(element("g", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("CreateTable with a GSI");
}

/// Items a Query of GSI `byg` for g = "G" returns.
async fn byg_count(c: &ddb::Client) -> i32 {
    c.query()
        .table_name("indexed")
        .index_name("byg")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("G"))
        .send()
        .await
        .expect("Query on the GSI")
        .count()
}

/// RC-08 through `--gsi-lag` (`ServeOptions::gsi_propagation_us`): with a lag, a GSI
/// Query misses a write that GetItem already returns, and shows it once the lag has
/// passed; without one (the default) the GSI has it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsi_lag_makes_index_reads_eventually_consistent() {
    for lag_us in [dynasim_server::GSI_PROPAGATION_US_MAX, 150_000, 0] {
        let mut options = ServeOptions::for_regions(&["us-east-1"]);
        options.gsi_propagation_us = lag_us;
        let server = Server::start(options).await.expect("server starts");
        let c = region_client(&server, 0);
        create_indexed_table(&c).await;
        c.put_item()
            .table_name("indexed")
            .item("pk", s("a"))
            .item("g", s("G"))
            .send()
            .await
            .expect("PutItem");
        assert!(
            get(&c, "indexed", "a").await.is_some(),
            "the table has the write at once"
        );
        match lag_us {
            0 => assert_eq!(byg_count(&c).await, 1, "synchronous by default"),
            dynasim_server::GSI_PROPAGATION_US_MAX => {
                assert_eq!(byg_count(&c).await, 0, "a minute's lag: not there yet")
            }
            _ => {
                wait_for(
                    "the GSI to receive the write",
                    Duration::from_secs(10),
                    || {
                        let c = c.clone();
                        async move { byg_count(&c).await == 1 }
                    },
                )
                .await
            }
        }
        server.shutdown().await;
    }
}
