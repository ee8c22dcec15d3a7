//! Control plane and secondary-index maintenance (CP-01..CP-22, TTL-01, TTL-02, CA-13).

use dynasim_core::SimTime;
use dynasim_engine::*;
use serde_json::json;

const NOW: SimTime = SimTime::ZERO;

fn create(engine: &mut Engine, body: serde_json::Value) -> Result<CreateTableOutput, EngineError> {
    let input: CreateTableInput = serde_json::from_value(body).unwrap();
    engine.create_table(input, NOW)
}

fn base(extra: serde_json::Value) -> serde_json::Value {
    let mut body = json!({
        "TableName": "tab",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "l", "AttributeType": "N"}
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        "LocalSecondaryIndexes": [{"IndexName": "lsi", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}}]
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

fn gsi(name: &str) -> serde_json::Value {
    json!({"IndexName": name, "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}})
}

/// CP-03..CP-07: each row is a CreateTable body change and the expected error.
#[test]
fn create_table_errors() {
    let many_gsis: Vec<serde_json::Value> = (0..21).map(|i| gsi(&format!("gsi{i:02}"))).collect();
    let lsi = |name: &str| json!({"IndexName": name, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}});
    let many_lsis: Vec<serde_json::Value> = (0..6).map(|i| lsi(&format!("lsi{i}"))).collect();
    let attrs: Vec<String> = (0..101).map(|i| format!("a{i}")).collect();
    let cases: Vec<(serde_json::Value, ErrorKind, &str)> = vec![
        (
            json!({"GlobalSecondaryIndexes": many_gsis}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20",
        ),
        (
            json!({"LocalSecondaryIndexes": many_lsis}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5",
        ),
        (
            json!({"GlobalSecondaryIndexes": [{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": attrs}}]}),
            ErrorKind::LimitExceededException,
            "One or more parameter values were invalid: Number of projected attributes in all indexes exceeds limit of 100",
        ),
        (
            json!({"LocalSecondaryIndexes": [{"IndexName": "lsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}]}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: lsi. index hash key: g, table hash key: pk",
        ),
        (
            json!({"GlobalSecondaryIndexes": [{"IndexName": "gsi", "KeySchema": [{"AttributeName": "zz", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}]}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [zz], AttributeDefinitions: [pk, sk, g, l]",
        ),
        (
            json!({"GlobalSecondaryIndexes": [{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL", "NonKeyAttributes": ["x"]}}]}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: ProjectionType is ALL, but NonKeyAttributes is specified",
        ),
        (
            json!({"GlobalSecondaryIndexes": [gsi("lsi")]}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: Duplicate index name: lsi",
        ),
        (
            json!({"ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ),
        (
            json!({"BillingMode": "FREE"}),
            ErrorKind::ValidationException,
            "1 validation error detected: Value 'FREE' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]",
        ),
        (
            json!({"GlobalSecondaryIndexes": [{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}, "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: gsi when BillingMode is PAY_PER_REQUEST",
        ),
        (
            json!({"LocalSecondaryIndexes": null}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ),
        (
            json!({"StreamSpecification": {"StreamEnabled": true}}),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: StreamViewType must be specified when StreamEnabled is true",
        ),
    ];
    for (i, (change, kind, message)) in cases.into_iter().enumerate() {
        let mut engine = Engine::default();
        let err = create(&mut engine, base(change)).unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (kind, message),
            "case {i}"
        );
        assert!(engine.table("tab").is_none(), "case {i}");
    }
}

#[test]
fn provisioned_throughput_required_when_configured() {
    // CP-04
    let mut engine = Engine::new(EngineConfig {
        require_provisioned_throughput: true,
        ..EngineConfig::default()
    });
    let err = create(&mut engine, base(json!({"BillingMode": null, "GlobalSecondaryIndexes": null, "LocalSecondaryIndexes": null, "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]}))).unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
    );
}

#[test]
fn describe_table_reports_indexes_stream_and_counts() {
    // CP-20, CP-02
    let mut engine = Engine::default();
    let out = create(
        &mut engine,
        base(
            json!({"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}),
        ),
    )
    .unwrap();
    assert_eq!(out.table_description.table_status, "CREATING");
    let err = create(&mut engine, base(json!({}))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceInUseException);
    assert_eq!(err.message, "Table already exists: tab");
    put(&mut engine, json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "x"}, "l": {"N": "5"}, "x": {"S": "kept"}, "y": {"S": "dropped"}})).unwrap();
    let d = engine.describe_table("tab").unwrap().table;
    assert_eq!(d.table_status, "ACTIVE");
    assert_eq!(d.item_count, 1);
    assert!(d.table_size_bytes > 0);
    assert_eq!(
        d.billing_mode_summary.unwrap().billing_mode,
        "PAY_PER_REQUEST"
    );
    let g = &d.global_secondary_indexes.unwrap()[0];
    assert_eq!((g.index_name.as_str(), g.item_count), ("gsi", 1));
    assert_eq!(g.index_status.as_deref(), Some("ACTIVE"));
    let l = &d.local_secondary_indexes.unwrap()[0];
    assert_eq!(l.projection.non_key_attributes, Some(vec!["x".to_string()]));
    assert_eq!(
        d.latest_stream_arn.as_deref(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/tab/stream/2026-01-01T00:00:00.000")
    );
    assert_eq!(
        d.latest_stream_label.as_deref(),
        Some("2026-01-01T00:00:00.000")
    );
    let err = engine.describe_table("nope").unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceNotFoundException);
}

fn put(engine: &mut Engine, item: serde_json::Value) -> Result<ItemChange, EngineError> {
    let item: Item = serde_json::from_value(item).unwrap();
    engine
        .put_item(
            PutItemInput {
                table_name: "tab".into(),
                item,
                ..Default::default()
            },
            NOW,
        )
        .map(|o| o.change)
}

fn index_items(engine: &Engine, index: &str) -> Vec<Item> {
    engine
        .table("tab")
        .unwrap()
        .index(index)
        .unwrap()
        .entries()
        .map(|(_, v)| v.clone())
        .collect()
}

#[test]
fn indexes_are_sparse_projected_and_type_checked() {
    let mut engine = Engine::default();
    create(&mut engine, base(json!({}))).unwrap();
    // Sparse: no `g`, so not in the GSI; no `l`, so not in the LSI.
    put(&mut engine, json!({"pk": {"S": "a"}, "sk": {"S": "1"}})).unwrap();
    assert!(index_items(&engine, "gsi").is_empty());
    assert!(index_items(&engine, "lsi").is_empty());
    put(&mut engine, json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "G"}, "l": {"N": "2"}, "x": {"N": "1"}, "y": {"N": "2"}})).unwrap();
    assert_eq!(
        index_items(&engine, "gsi"),
        vec![
            serde_json::from_value::<Item>(
                json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "G"}})
            )
            .unwrap()
        ]
    );
    assert_eq!(
        index_items(&engine, "lsi"),
        vec![
            serde_json::from_value::<Item>(
                json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "l": {"N": "2"}, "x": {"N": "1"}})
            )
            .unwrap()
        ]
    );
    // Type mismatch on an index key is rejected and changes nothing.
    let err = put(
        &mut engine,
        json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"N": "1"}}),
    )
    .unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N IndexName: gsi"
    );
    let err = put(
        &mut engine,
        json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": ""}}),
    )
    .unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: gsi, IndexKey: g"
    );
    assert_eq!(index_items(&engine, "gsi").len(), 1);
    // Update that removes the index key drops the entry; delete drops everything.
    let key: Item = serde_json::from_value(json!({"pk": {"S": "a"}, "sk": {"S": "1"}})).unwrap();
    engine
        .update_item(
            UpdateItemInput {
                table_name: "tab".into(),
                key: key.clone(),
                update_expression: Some("REMOVE g".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert!(index_items(&engine, "gsi").is_empty());
    assert_eq!(index_items(&engine, "lsi").len(), 1);
    let err = engine
        .update_item(
            UpdateItemInput {
                table_name: "tab".into(),
                key: key.clone(),
                update_expression: Some("SET l = :s".into()),
                expression_attribute_values: Some(
                    [(":s".to_string(), AttributeValue::s("x"))]
                        .into_iter()
                        .collect(),
                ),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values were invalid: Type mismatch for Index Key l Expected: N Actual: S IndexName: lsi"
    );
    engine
        .delete_item(
            DeleteItemInput {
                table_name: "tab".into(),
                key: key.clone(),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert!(index_items(&engine, "lsi").is_empty());
    // Replicated writes maintain indexes too.
    let image: Item =
        serde_json::from_value(json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "R"}}))
            .unwrap();
    engine
        .apply_replicated("tab", &key, Some(image.into()))
        .unwrap();
    assert_eq!(index_items(&engine, "gsi").len(), 1);
    engine.apply_replicated("tab", &key, None).unwrap();
    assert!(index_items(&engine, "gsi").is_empty());
}

#[test]
fn lsi_item_collection_limit() {
    // CA-13, with a small limit so the test stays small.
    let mut engine = Engine::new(EngineConfig {
        item_collection_bytes_max: 100,
        ..EngineConfig::default()
    });
    create(&mut engine, base(json!({}))).unwrap();
    put(&mut engine, json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "pad": {"S": "0123456789012345678901234567890123456789"}})).unwrap();
    let err = put(&mut engine, json!({"pk": {"S": "a"}, "sk": {"S": "2"}, "l": {"N": "1"}, "pad": {"S": "0123456789012345678901234567890123456789"}})).unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::ItemCollectionSizeLimitExceededException
    );
    // Another partition is its own collection.
    put(&mut engine, json!({"pk": {"S": "b"}, "sk": {"S": "2"}, "pad": {"S": "0123456789012345678901234567890123456789"}})).unwrap();
}

#[test]
fn update_table_adds_and_removes_gsis_and_streams() {
    // CP-15, CP-18
    let mut engine = Engine::default();
    create(&mut engine, base(json!({}))).unwrap();
    put(
        &mut engine,
        json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "h": {"N": "7"}}),
    )
    .unwrap();
    put(
        &mut engine,
        json!({"pk": {"S": "b"}, "sk": {"S": "1"}, "h": {"S": "wrong type"}}),
    )
    .unwrap();
    let add: UpdateTableInput = serde_json::from_value(json!({
        "TableName": "tab",
        "AttributeDefinitions": [{"AttributeName": "h", "AttributeType": "N"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byh", "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]
    })).unwrap();
    engine.update_table(add.clone(), NOW).unwrap();
    assert_eq!(
        index_items(&engine, "byh").len(),
        1,
        "backfilled, skipping the mismatched item"
    );
    let err = engine.update_table(add, NOW).unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values were invalid: Attempting to create an index which already exists"
    );
    let del: UpdateTableInput = serde_json::from_value(json!({"TableName": "tab", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "byh"}}]})).unwrap();
    engine.update_table(del.clone(), NOW).unwrap();
    assert!(engine.table("tab").unwrap().index("byh").is_none());
    let err = engine.update_table(del, NOW).unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::ResourceNotFoundException,
            "Requested resource not found: Index: byh not found"
        )
    );
    let two: UpdateTableInput = serde_json::from_value(json!({"TableName": "tab", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "gsi"}}, {"Delete": {"IndexName": "gsi"}}]})).unwrap();
    assert_eq!(
        engine.update_table(two, NOW).unwrap_err().kind,
        ErrorKind::LimitExceededException
    );
    let on: UpdateTableInput = serde_json::from_value(json!({"TableName": "tab", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}})).unwrap();
    engine.update_table(on.clone(), NOW).unwrap();
    assert_eq!(
        engine.update_table(on.clone(), NOW).unwrap_err().message,
        "Table already has an enabled stream: TableName: tab"
    );
    let off: UpdateTableInput = serde_json::from_value(
        json!({"TableName": "tab", "StreamSpecification": {"StreamEnabled": false}}),
    )
    .unwrap();
    engine.update_table(off.clone(), NOW).unwrap();
    assert_eq!(
        engine.update_table(off, NOW).unwrap_err().message,
        "Table does not have a stream to disable: TableName: tab"
    );
    // Re-enabling gives a new ARN and label (CP-18).
    let first = engine
        .describe_table("tab")
        .unwrap()
        .table
        .latest_stream_arn
        .unwrap();
    engine.update_table(on, SimTime::from_secs(5)).unwrap();
    let second = engine
        .describe_table("tab")
        .unwrap()
        .table
        .latest_stream_arn
        .unwrap();
    assert_ne!(first, second);
    let billing: UpdateTableInput = serde_json::from_value(json!({"TableName": "tab", "BillingMode": "PROVISIONED", "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}})).unwrap();
    engine.update_table(billing, NOW).unwrap();
    assert_eq!(
        engine.table("tab").unwrap().billing_mode(),
        BillingMode::Provisioned
    );
}

#[test]
fn list_tables_paginates_and_delete_table_removes() {
    // CP-21, CP-22
    let mut engine = Engine::default();
    for name in ["ccc", "aaa", "bbb", "ddd"] {
        create(&mut engine, base(json!({"TableName": name}))).unwrap();
    }
    let page = engine
        .list_tables(&ListTablesInput {
            limit: Some(3),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.table_names, ["aaa", "bbb", "ccc"]);
    assert_eq!(page.last_evaluated_table_name.as_deref(), Some("ccc"));
    let page = engine
        .list_tables(&ListTablesInput {
            exclusive_start_table_name: Some("ccc".into()),
            limit: Some(3),
        })
        .unwrap();
    assert_eq!(page.table_names, ["ddd"]);
    assert_eq!(page.last_evaluated_table_name, None);
    let err = engine
        .list_tables(&ListTablesInput {
            limit: Some(101),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
    );
    let d = engine.delete_table("bbb", NOW).unwrap();
    assert_eq!(d.table_status, "DELETING");
    assert_eq!(
        engine.delete_table("bbb", NOW).unwrap_err().kind,
        ErrorKind::ResourceNotFoundException
    );
    let page = engine.list_tables(&ListTablesInput::default()).unwrap();
    assert_eq!(page.table_names, ["aaa", "ccc", "ddd"]);
}

#[test]
fn time_to_live_settings() {
    // TTL-01, TTL-02
    let mut engine = Engine::default();
    create(&mut engine, base(json!({}))).unwrap();
    let spec = |enabled: bool, name: &str| UpdateTimeToLiveInput {
        table_name: "tab".into(),
        time_to_live_specification: TimeToLiveSpecification {
            enabled,
            attribute_name: name.into(),
        },
    };
    assert_eq!(
        engine
            .describe_time_to_live("tab")
            .unwrap()
            .time_to_live_description
            .time_to_live_status,
        "DISABLED"
    );
    assert_eq!(
        engine
            .update_time_to_live(spec(false, "exp"), NOW)
            .unwrap_err()
            .message,
        "TimeToLive is already disabled"
    );
    engine.update_time_to_live(spec(true, "exp"), NOW).unwrap();
    let d = engine
        .describe_time_to_live("tab")
        .unwrap()
        .time_to_live_description;
    assert_eq!(
        (d.time_to_live_status.as_str(), d.attribute_name.as_deref()),
        ("ENABLED", Some("exp"))
    );
    assert_eq!(
        engine
            .update_time_to_live(spec(true, "exp"), NOW)
            .unwrap_err()
            .message,
        "TimeToLive is already enabled"
    );
    assert_eq!(
        engine
            .update_time_to_live(spec(false, "exp"), SimTime::from_secs(60))
            .unwrap_err()
            .message,
        "Time to live has been modified multiple times within a fixed interval"
    );
    engine
        .update_time_to_live(spec(false, "exp"), SimTime::from_secs(3600))
        .unwrap();
}

#[test]
fn cp16_throughput_decreases_are_rationed_per_table_and_per_gsi() {
    let mut engine = Engine::new(EngineConfig::default());
    let throughput = json!({"ReadCapacityUnits": 100, "WriteCapacityUnits": 100});
    let mut index = gsi("gsi");
    index["ProvisionedThroughput"] = throughput.clone();
    create(
        &mut engine,
        base(json!({
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": throughput,
            "GlobalSecondaryIndexes": [index]
        })),
    )
    .unwrap();
    let table_units = |units: i64| -> UpdateTableInput {
        serde_json::from_value(json!({
            "TableName": "tab",
            "ProvisionedThroughput": {"ReadCapacityUnits": units, "WriteCapacityUnits": units}
        }))
        .unwrap()
    };
    let index_units = |units: i64| -> UpdateTableInput {
        serde_json::from_value(json!({
            "TableName": "tab",
            "GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": "gsi",
                "ProvisionedThroughput": {"ReadCapacityUnits": units, "WriteCapacityUnits": units}}}]
        }))
        .unwrap()
    };
    let minute = |m: u64| SimTime::from_secs(60 * m);
    for (i, units) in [90, 80, 70, 60].into_iter().enumerate() {
        engine
            .update_table(table_units(units), minute(i as u64))
            .unwrap();
    }
    let err = engine.update_table(table_units(50), minute(5)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitExceededException);
    assert!(
        err.message.starts_with("Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day."),
        "{}",
        err.message
    );
    assert_eq!(
        engine
            .describe_table("tab")
            .unwrap()
            .table
            .provisioned_throughput
            .unwrap()
            .read_capacity_units,
        60,
        "the refused request changed nothing"
    );
    engine.update_table(table_units(500), minute(6)).unwrap(); // increases are unlimited
    engine.update_table(index_units(50), minute(7)).unwrap(); // the index has its own budget
    engine.update_table(table_units(400), minute(64)).unwrap(); // a quiet hour later
}
