//! TTL sweeps and DynamoDB Streams (TTL-03..TTL-06, ST-01..ST-11).

use dynasim_core::SimTime;
use dynasim_engine::*;
use serde_json::json;

const T: &str = "tab";
const EPOCH: u64 = 1_767_225_600;

fn engine(config: EngineConfig, view: &str) -> Engine {
    let mut engine = Engine::new(config);
    let input: CreateTableInput = serde_json::from_value(json!({
        "TableName": T,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [{"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": view}
    }))
    .unwrap();
    engine.create_table(input, SimTime::ZERO).unwrap();
    engine
}

fn put(engine: &mut Engine, item: serde_json::Value, now: SimTime) {
    let item: Item = serde_json::from_value(item).unwrap();
    engine
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item,
                ..Default::default()
            },
            now,
        )
        .unwrap();
}

fn arn(engine: &Engine) -> String {
    engine
        .describe_table(T)
        .unwrap()
        .table
        .latest_stream_arn
        .unwrap()
}

fn records(engine: &Engine) -> Vec<StreamRecord> {
    engine
        .stream(&arn(engine))
        .unwrap()
        .records()
        .cloned()
        .collect()
}

#[test]
fn ttl_sweep_deletes_after_the_delay_and_marks_the_service() {
    let config = EngineConfig {
        ttl_delete_delay_us: 60_000_000,
        ..EngineConfig::default()
    };
    let mut engine = engine(config, "NEW_AND_OLD_IMAGES");
    engine
        .update_time_to_live(
            UpdateTimeToLiveInput {
                table_name: T.into(),
                time_to_live_specification: TimeToLiveSpecification {
                    enabled: true,
                    attribute_name: "exp".into(),
                },
            },
            SimTime::ZERO,
        )
        .unwrap();
    let at = |secs: u64| json!({"N": (EPOCH + secs).to_string()});
    put(
        &mut engine,
        json!({"pk": {"S": "soon"}, "g": {"S": "G"}, "exp": at(10)}),
        SimTime::ZERO,
    );
    put(
        &mut engine,
        json!({"pk": {"S": "later"}, "exp": at(1000)}),
        SimTime::ZERO,
    );
    put(
        &mut engine,
        json!({"pk": {"S": "text"}, "exp": {"S": "10"}}),
        SimTime::ZERO,
    );
    put(
        &mut engine,
        json!({"pk": {"S": "ancient"}, "exp": {"N": "1000"}}),
        SimTime::ZERO,
    );
    put(
        &mut engine,
        json!({"pk": {"S": "frac"}, "exp": {"N": format!("{}.5", EPOCH + 10)}}),
        SimTime::ZERO,
    );
    // TTL-04: expired but not yet swept items are still returned.
    assert!(
        engine.sweep_ttl(SimTime::from_secs(30)).is_empty(),
        "the 60 s delay has not passed"
    );
    let got = engine
        .get_item(
            &GetItemInput {
                table_name: T.into(),
                key: serde_json::from_value(json!({"pk": {"S": "soon"}})).unwrap(),
                ..Default::default()
            },
            SimTime::from_secs(30),
        )
        .unwrap();
    assert!(got.item.is_some());
    let changes = engine.sweep_ttl(SimTime::from_secs(71));
    let deleted: Vec<&AttributeValue> = changes.iter().map(|c| &c.key_attrs["pk"]).collect();
    assert_eq!(
        deleted,
        [&AttributeValue::s("frac"), &AttributeValue::s("soon")]
    );
    assert!(
        engine.table(T).unwrap().index("byg").unwrap().is_empty(),
        "TTL-05: index entries go too"
    );
    let last = records(&engine).pop().unwrap();
    assert_eq!(last.event_name, "REMOVE");
    assert_eq!(last.user_identity, Some(UserIdentity::dynamodb_service()));
    assert_eq!(
        serde_json::to_value(&last).unwrap()["userIdentity"],
        json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
    );
    assert_eq!(engine.table(T).unwrap().len(), 3);
}

fn enable_ttl(engine: &mut Engine) {
    engine
        .update_time_to_live(
            UpdateTimeToLiveInput {
                table_name: T.into(),
                time_to_live_specification: TimeToLiveSpecification {
                    enabled: true,
                    attribute_name: "exp".into(),
                },
            },
            SimTime::ZERO,
        )
        .unwrap();
}

#[test]
fn ttl_sweep_reads_the_sweepers_own_clock() {
    // TTL-08: a sweeper whose clock runs 20 s ahead deletes an item expiring at 10 s
    // when true time is only 1 s.
    let mut engine = engine(EngineConfig::default(), "KEYS_ONLY");
    enable_ttl(&mut engine);
    let exp = json!({"N": (EPOCH + 10).to_string()});
    put(
        &mut engine,
        json!({"pk": {"S": "a"}, "exp": exp}),
        SimTime::ZERO,
    );
    let true_now = SimTime::from_secs(1);
    let honest_clock_us = i128::from(EPOCH + 1) * 1_000_000;
    assert!(
        engine
            .sweep_ttl_by_clock(true_now, honest_clock_us)
            .is_empty()
    );
    let fast_clock_us = honest_clock_us + 20_000_000;
    assert_eq!(engine.sweep_ttl_by_clock(true_now, fast_clock_us).len(), 1);
}

#[test]
fn ttl_sweep_delay_per_table_and_salted_jitter() {
    // TTL-08: the delay is a table setting; the jitter falls differently per salt, so
    // replicas in different regions do not all sweep a key at the same moment.
    let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    let due_secs = |salt: u64| -> Vec<u64> {
        let config = EngineConfig {
            ttl_jitter_salt: salt,
            ..EngineConfig::default()
        };
        let mut engine = engine(config, "KEYS_ONLY");
        enable_ttl(&mut engine);
        engine.set_ttl_sweep(T, 5_000_000, 20_000_000).unwrap();
        for k in &keys {
            let exp = json!({"N": EPOCH.to_string()});
            put(
                &mut engine,
                json!({"pk": {"S": k}, "exp": exp}),
                SimTime::ZERO,
            );
        }
        let mut due = vec![0; keys.len()];
        for second in 1..=26 {
            for change in engine.sweep_ttl(SimTime::from_secs(second)) {
                let AttributeValue::S(k) = &change.key_attrs["pk"] else {
                    panic!("string keys")
                };
                due[keys.iter().position(|x| x == k).unwrap()] = second;
            }
        }
        due
    };
    let a = due_secs(1);
    let b = due_secs(2);
    assert!(
        a.iter().chain(&b).all(|s| (5..=26).contains(s)),
        "{a:?} {b:?}"
    );
    assert!(
        a.iter().any(|s| *s > 10),
        "jitter spreads the deletes: {a:?}"
    );
    assert_ne!(a, b, "different salts, different sweep times");
    assert_eq!(
        Engine::new(EngineConfig::default())
            .set_ttl_sweep(T, 0, 0)
            .unwrap_err()
            .kind,
        ErrorKind::ResourceNotFoundException
    );
}

#[test]
fn stream_records_follow_the_view_type() {
    // ST-03..ST-05
    for (view, new, old) in [
        ("KEYS_ONLY", false, false),
        ("NEW_IMAGE", true, false),
        ("OLD_IMAGE", false, true),
        ("NEW_AND_OLD_IMAGES", true, true),
    ] {
        let mut engine = engine(EngineConfig::default(), view);
        put(
            &mut engine,
            json!({"pk": {"S": "a"}, "n": {"N": "1"}}),
            SimTime::from_ms(1500),
        );
        put(
            &mut engine,
            json!({"pk": {"S": "a"}, "n": {"N": "1"}}),
            SimTime::from_ms(1600),
        );
        put(
            &mut engine,
            json!({"pk": {"S": "a"}, "n": {"N": "2"}}),
            SimTime::from_ms(2500),
        );
        engine
            .delete_item(
                DeleteItemInput {
                    table_name: T.into(),
                    key: serde_json::from_value(json!({"pk": {"S": "a"}})).unwrap(),
                    ..Default::default()
                },
                SimTime::from_secs(3),
            )
            .unwrap();
        let records = records(&engine);
        let names: Vec<&str> = records.iter().map(|r| r.event_name.as_str()).collect();
        assert_eq!(
            names,
            ["INSERT", "MODIFY", "REMOVE"],
            "{view}: the no-op write has no record"
        );
        for r in &records {
            assert_eq!(r.dynamodb.stream_view_type, view);
            assert_eq!(
                r.dynamodb.keys,
                serde_json::from_value::<Item>(json!({"pk": {"S": "a"}})).unwrap()
            );
            assert_eq!(r.dynamodb.sequence_number.len(), 21);
            assert!(r.user_identity.is_none());
        }
        assert_eq!(records[0].dynamodb.new_image.is_some(), new, "{view}");
        assert_eq!(records[1].dynamodb.old_image.is_some(), old, "{view}");
        assert!(records[0].dynamodb.old_image.is_none());
        assert_eq!(
            records[0].dynamodb.approximate_creation_date_time,
            EPOCH + 1
        );
        let seqs: Vec<&String> = records
            .iter()
            .map(|r| &r.dynamodb.sequence_number)
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ST-02: increasing");
    }
}

#[test]
fn shards_iterators_and_get_records() {
    // ST-06..ST-08, ST-11
    let config = EngineConfig {
        stream_shard_rollover_us: 3600 * 1_000_000,
        ..EngineConfig::default()
    };
    let mut engine = engine(config, "KEYS_ONLY");
    let arn = arn(&engine);
    for i in 0..5 {
        put(
            &mut engine,
            json!({"pk": {"S": format!("k{i}")}}),
            SimTime::from_secs(i),
        );
    }
    put(
        &mut engine,
        json!({"pk": {"S": "after-rollover"}}),
        SimTime::from_secs(3700),
    );
    let now = SimTime::from_secs(3700);
    let d = engine
        .describe_stream(
            &DescribeStreamInput {
                stream_arn: arn.clone(),
                ..Default::default()
            },
            now,
        )
        .unwrap()
        .stream_description;
    assert_eq!(d.stream_status, "ENABLED");
    assert_eq!(d.shards.len(), 2);
    assert!(
        d.shards[0]
            .sequence_number_range
            .ending_sequence_number
            .is_some(),
        "the first shard is closed"
    );
    assert_eq!(
        d.shards[1].parent_shard_id.as_deref(),
        Some(d.shards[0].shard_id.as_str())
    );
    let iterator = |engine: &mut Engine, kind: &str, seq: Option<String>| {
        engine
            .get_shard_iterator(
                &GetShardIteratorInput {
                    stream_arn: arn.clone(),
                    shard_id: d.shards[0].shard_id.clone(),
                    shard_iterator_type: kind.into(),
                    sequence_number: seq,
                },
                now,
            )
            .unwrap()
            .shard_iterator
    };
    let it = iterator(&mut engine, "TRIM_HORIZON", None);
    let page = engine
        .get_records(
            &GetRecordsInput {
                shard_iterator: it,
                limit: Some(2),
            },
            now,
        )
        .unwrap();
    assert_eq!(page.records.len(), 2);
    let page = engine
        .get_records(
            &GetRecordsInput {
                shard_iterator: page.next_shard_iterator.unwrap(),
                limit: None,
            },
            now,
        )
        .unwrap();
    assert_eq!(page.records.len(), 3);
    assert!(page.next_shard_iterator.is_none(), "closed and drained");
    let third = page.records[0].dynamodb.sequence_number.clone();
    let it = iterator(&mut engine, "AT_SEQUENCE_NUMBER", Some(third.clone()));
    let page = engine
        .get_records(
            &GetRecordsInput {
                shard_iterator: it,
                limit: None,
            },
            now,
        )
        .unwrap();
    assert_eq!(page.records[0].dynamodb.sequence_number, third);
    let it = iterator(&mut engine, "AFTER_SEQUENCE_NUMBER", Some(third.clone()));
    let page = engine
        .get_records(
            &GetRecordsInput {
                shard_iterator: it,
                limit: None,
            },
            now,
        )
        .unwrap();
    assert_eq!(page.records.len(), 2);
    // LATEST on the open shard sees only later records.
    let latest = engine
        .get_shard_iterator(
            &GetShardIteratorInput {
                stream_arn: arn.clone(),
                shard_id: d.shards[1].shard_id.clone(),
                shard_iterator_type: "LATEST".into(),
                sequence_number: None,
            },
            now,
        )
        .unwrap()
        .shard_iterator;
    put(&mut engine, json!({"pk": {"S": "new"}}), now);
    let page = engine
        .get_records(
            &GetRecordsInput {
                shard_iterator: latest.clone(),
                limit: None,
            },
            now,
        )
        .unwrap();
    assert_eq!(page.records.len(), 1);
    assert!(page.next_shard_iterator.is_some());
    // Errors: limits, expiry, trimmed data.
    let err = engine
        .get_records(
            &GetRecordsInput {
                shard_iterator: latest.clone(),
                limit: Some(1001),
            },
            now,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitExceededException);
    let err = engine
        .get_records(
            &GetRecordsInput {
                shard_iterator: latest,
                limit: None,
            },
            SimTime::from_secs(3700 + 16 * 60),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ExpiredIteratorException);
    let it = iterator(&mut engine, "TRIM_HORIZON", None);
    let err = engine
        .get_records(
            &GetRecordsInput {
                shard_iterator: it,
                limit: None,
            },
            SimTime::from_secs(25 * 3600),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ExpiredIteratorException);
    let late = SimTime::from_secs(27 * 3600);
    let err = engine
        .get_shard_iterator(
            &GetShardIteratorInput {
                stream_arn: arn.clone(),
                shard_id: d.shards[1].shard_id.clone(),
                shard_iterator_type: "AT_SEQUENCE_NUMBER".into(),
                sequence_number: Some(
                    d.shards[1]
                        .sequence_number_range
                        .starting_sequence_number
                        .clone(),
                ),
            },
            late,
        )
        .unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::TrimmedDataAccessException,
        "ST-01: 24 h retention"
    );
    // ListStreams and disabling (ST-11).
    let listed = engine
        .list_streams(&ListStreamsInput {
            table_name: Some(T.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.streams.len(), 1);
    let off: UpdateTableInput = serde_json::from_value(
        json!({"TableName": T, "StreamSpecification": {"StreamEnabled": false}}),
    )
    .unwrap();
    engine.update_table(off, now).unwrap();
    let d = engine
        .describe_stream(
            &DescribeStreamInput {
                stream_arn: arn.clone(),
                ..Default::default()
            },
            now,
        )
        .unwrap()
        .stream_description;
    assert_eq!(d.stream_status, "DISABLED");
    assert!(
        d.shards
            .iter()
            .all(|s| s.sequence_number_range.ending_sequence_number.is_some())
    );
}

#[test]
fn replicated_and_batch_writes_are_streamed() {
    let mut engine = engine(EngineConfig::default(), "NEW_IMAGE");
    let key: Item = serde_json::from_value(json!({"pk": {"S": "r"}})).unwrap();
    let image: Item = serde_json::from_value(json!({"pk": {"S": "r"}, "v": {"N": "1"}})).unwrap();
    engine
        .apply_replicated(T, &key, Some(image.into()))
        .unwrap();
    let batch: BatchWriteItemInput = serde_json::from_value(
        json!({"RequestItems": {T: [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]}}),
    )
    .unwrap();
    engine.batch_write_item(&batch, SimTime::ZERO).unwrap();
    let image: Item = serde_json::from_value(json!({"pk": {"S": "r"}, "v": {"N": "2"}})).unwrap();
    engine
        .apply_replicated_at(T, &key, Some(image.into()), SimTime::from_secs(42))
        .unwrap();
    let records = records(&engine);
    let names: Vec<&str> = records.iter().map(|r| r.event_name.as_str()).collect();
    assert_eq!(names, ["INSERT", "INSERT", "MODIFY"]);
    assert_eq!(
        records[2].dynamodb.approximate_creation_date_time,
        EPOCH + 42
    );
}
