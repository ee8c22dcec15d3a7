//! Query and Scan (QS-01..QS-14): key conditions, order, pages, filters, Select,
//! indexes, segments; property tests that pages add up to one pass and that indexes
//! always equal a recomputation from the table.

use dynasim_core::SimTime;
use dynasim_engine::*;
use proptest::prelude::*;
use serde_json::json;

const NOW: SimTime = SimTime::ZERO;
const T: &str = "tab";

fn engine() -> Engine {
    engine_with(EngineConfig::default())
}

fn engine_with(config: EngineConfig) -> Engine {
    let mut engine = Engine::new(config);
    let input: CreateTableInput = serde_json::from_value(json!({
        "TableName": T,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "h", "AttributeType": "N"},
            {"AttributeName": "l", "AttributeType": "S"}
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "h", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}},
            {"IndexName": "gall", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
        ],
        "LocalSecondaryIndexes": [
            {"IndexName": "byl", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}
        ]
    }))
    .unwrap();
    engine.create_table(input, NOW).unwrap();
    engine
}

fn put(engine: &mut Engine, item: serde_json::Value) {
    let item: Item = serde_json::from_value(item).unwrap();
    engine
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item,
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
}

/// Partition "a" with sk 1..=10, l = "l<sk>", g = "G" for even sk; partition "b" with sk 1..=3.
fn loaded() -> Engine {
    let mut engine = engine();
    for sk in 1..=10 {
        let mut item = json!({"pk": {"S": "a"}, "sk": {"N": sk.to_string()}, "l": {"S": format!("l{sk:02}")}, "x": {"N": sk.to_string()}, "y": {"S": "big"}});
        if sk % 2 == 0 {
            item["g"] = json!({"S": "G"});
            item["h"] = json!({"N": (100 - sk).to_string()});
        }
        put(&mut engine, item);
    }
    for sk in 1..=3 {
        put(
            &mut engine,
            json!({"pk": {"S": "b"}, "sk": {"N": sk.to_string()}}),
        );
    }
    engine
}

fn query(engine: &mut Engine, body: serde_json::Value) -> Result<QueryOutput, EngineError> {
    let mut body = body;
    body["TableName"] = json!(T);
    let input: QueryInput = serde_json::from_value(body).unwrap();
    engine.query(&input, NOW)
}

fn sks(out: &QueryOutput) -> Vec<i64> {
    out.items
        .as_ref()
        .unwrap()
        .iter()
        .map(|i| match &i["sk"] {
            AttributeValue::N(n) => n.to_i128().unwrap() as i64,
            other => panic!("{other:?}"),
        })
        .collect()
}

/// QS-01, QS-02: every allowed sort-key operator.
#[test]
fn key_conditions() {
    let mut engine = loaded();
    let cases: Vec<(&str, serde_json::Value, Vec<i64>)> = vec![
        ("pk = :p", json!({}), (1..=10).collect()),
        ("pk = :p AND sk = :a", json!({":a": {"N": "4"}}), vec![4]),
        (
            "pk = :p AND sk < :a",
            json!({":a": {"N": "4"}}),
            vec![1, 2, 3],
        ),
        (
            "pk = :p AND sk <= :a",
            json!({":a": {"N": "4"}}),
            vec![1, 2, 3, 4],
        ),
        (
            "pk = :p AND sk > :a",
            json!({":a": {"N": "8"}}),
            vec![9, 10],
        ),
        (
            "pk = :p AND sk >= :a",
            json!({":a": {"N": "8"}}),
            vec![8, 9, 10],
        ),
        (
            "pk = :p AND sk BETWEEN :a AND :b",
            json!({":a": {"N": "3"}, ":b": {"N": "5"}}),
            vec![3, 4, 5],
        ),
        (
            "sk BETWEEN :a AND :b AND pk = :p",
            json!({":a": {"N": "3"}, ":b": {"N": "3"}}),
            vec![3],
        ),
        (":a > sk AND pk = :p", json!({":a": {"N": "3"}}), vec![1, 2]),
        ("pk = :p AND sk > :a", json!({":a": {"N": "10"}}), vec![]),
        ("pk = :p AND sk < :a", json!({":a": {"N": "-5"}}), vec![]),
    ];
    for (expr, values, expected) in cases {
        let mut values = values;
        values[":p"] = json!({"S": "a"});
        let out = query(
            &mut engine,
            json!({"KeyConditionExpression": expr, "ExpressionAttributeValues": values}),
        )
        .unwrap();
        assert_eq!(sks(&out), expected, "{expr}");
        let out = query(&mut engine, json!({"KeyConditionExpression": expr, "ExpressionAttributeValues": values, "ScanIndexForward": false})).unwrap();
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(sks(&out), reversed, "{expr} backwards");
    }
    // begins_with on an S sort key (the LSI's `l`).
    let out = query(&mut engine, json!({"IndexName": "byl", "KeyConditionExpression": "pk = :p AND begins_with(l, :b)", "ExpressionAttributeValues": {":p": {"S": "a"}, ":b": {"S": "l0"}}})).unwrap();
    assert_eq!(sks(&out), (1..=9).collect::<Vec<_>>());
}

/// QS-01, QS-05..QS-08: errors with DynamoDB's messages.
#[test]
fn query_errors() {
    let mut engine = loaded();
    let v = |extra: serde_json::Value| {
        let mut values = json!({":p": {"S": "a"}});
        for (k, x) in extra.as_object().unwrap() {
            values[k] = x.clone();
        }
        values
    };
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            json!({"KeyConditionExpression": "pk = :p OR sk = :a", "ExpressionAttributeValues": v(json!({":a": {"N": "1"}}))}),
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p AND sk <> :a", "ExpressionAttributeValues": v(json!({":a": {"N": "1"}}))}),
            "Invalid operator used in KeyConditionExpression: <>",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p AND sk IN (:a)", "ExpressionAttributeValues": v(json!({":a": {"N": "1"}}))}),
            "Invalid operator used in KeyConditionExpression: IN",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p AND attribute_exists(sk)", "ExpressionAttributeValues": v(json!({}))}),
            "Invalid operator used in KeyConditionExpression: attribute_exists",
        ),
        (
            json!({"KeyConditionExpression": "sk = :a", "ExpressionAttributeValues": {":a": {"N": "1"}}}),
            "Query condition missed key schema element: pk",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p AND x = :a", "ExpressionAttributeValues": v(json!({":a": {"N": "1"}}))}),
            "Query condition missed key schema element: sk",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p AND sk = :a AND sk = :a", "ExpressionAttributeValues": v(json!({":a": {"N": "1"}}))}),
            "KeyConditionExpressions must only contain one condition per key",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p AND sk.x = :a", "ExpressionAttributeValues": v(json!({":a": {"N": "1"}}))}),
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        (
            json!({"KeyConditionExpression": "pk > :p", "ExpressionAttributeValues": v(json!({}))}),
            "Query key condition not supported",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p AND sk = :a", "ExpressionAttributeValues": v(json!({":a": {"S": "1"}}))}),
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p AND begins_with(sk, :a)", "ExpressionAttributeValues": v(json!({":a": {"N": "1"}}))}),
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p", "FilterExpression": "sk > :a", "ExpressionAttributeValues": v(json!({":a": {"N": "1"}}))}),
            "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk",
        ),
        (
            json!({"IndexName": "byg", "ConsistentRead": true, "KeyConditionExpression": "g = :p", "ExpressionAttributeValues": v(json!({}))}),
            "Consistent reads are not supported on global secondary indexes",
        ),
        (
            json!({"IndexName": "nope", "KeyConditionExpression": "g = :p", "ExpressionAttributeValues": v(json!({}))}),
            "The table does not have the specified index: nope",
        ),
        (
            json!({"IndexName": "byg", "Select": "ALL_ATTRIBUTES", "KeyConditionExpression": "g = :p", "ExpressionAttributeValues": v(json!({}))}),
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index byg because its projection type is not ALL",
        ),
        (
            json!({"Select": "ALL_PROJECTED_ATTRIBUTES", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": v(json!({}))}),
            "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is supported only for index queries",
        ),
        (
            json!({"Limit": 0, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": v(json!({}))}),
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p", "ExclusiveStartKey": {"pk": {"S": "a"}}, "ExpressionAttributeValues": v(json!({}))}),
            "The provided starting key is invalid: The provided key element does not match the schema",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p", "ExclusiveStartKey": {"pk": {"S": "b"}, "sk": {"N": "1"}}, "ExpressionAttributeValues": v(json!({}))}),
            "The provided starting key is outside query boundaries based on provided conditions",
        ),
        (
            json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": v(json!({":unused": {"N": "1"}}))}),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}",
        ),
    ];
    for (body, message) in cases {
        let err = query(&mut engine, body.clone()).unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::ValidationException, message),
            "{body}"
        );
    }
}

/// QS-03, QS-04: Limit counts evaluated items; the filter runs after the read; a page
/// that stops on the last item still has a LastEvaluatedKey.
#[test]
fn limit_filter_and_last_evaluated_key() {
    let mut engine = loaded();
    let base = json!({"KeyConditionExpression": "pk = :p", "FilterExpression": "x > :big", "ExpressionAttributeValues": {":p": {"S": "a"}, ":big": {"N": "8"}}, "Limit": 3});
    let out = query(&mut engine, base.clone()).unwrap();
    assert_eq!((out.count, out.scanned_count), (0, 3));
    assert_eq!(out.items.as_deref(), Some(&[][..]));
    let lek = out.last_evaluated_key.unwrap();
    assert_eq!(
        lek,
        serde_json::from_value::<Item>(json!({"pk": {"S": "a"}, "sk": {"N": "3"}})).unwrap()
    );
    let out = query(&mut engine, json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}, "Limit": 3})).unwrap();
    assert_eq!(out.count, 3);
    assert!(
        out.last_evaluated_key.is_some(),
        "Limit stopping on the final item still returns a key"
    );
    let out = query(&mut engine, json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}, "Limit": 4})).unwrap();
    assert!(out.last_evaluated_key.is_none());
    let out = query(&mut engine, json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}, "Select": "COUNT"})).unwrap();
    assert_eq!((out.items, out.count), (None, 3));
}

/// QS-03: a page stops once it has read 1 MB.
#[test]
fn one_megabyte_page() {
    let mut engine = engine();
    let pad = "p".repeat(100 * 1024);
    for sk in 0..20 {
        put(
            &mut engine,
            json!({"pk": {"S": "a"}, "sk": {"N": sk.to_string()}, "pad": {"S": pad}}),
        );
    }
    let body = json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}});
    let out = query(&mut engine, body.clone()).unwrap();
    assert_eq!(
        out.count, 11,
        "10 items are under 1 MB, the 11th crosses it"
    );
    assert!(out.last_evaluated_key.is_some());
    let mut with_limit = body.clone();
    with_limit["Limit"] = json!(5);
    assert_eq!(query(&mut engine, with_limit).unwrap().count, 5);
    let mut rest = body;
    rest["ExclusiveStartKey"] = serde_json::to_value(out.last_evaluated_key.unwrap()).unwrap();
    let out = query(&mut engine, rest).unwrap();
    assert_eq!(out.count, 9);
    assert!(out.last_evaluated_key.is_none());
}

/// QS-05, QS-07, QS-10: index queries, projections, LSI fetches and index keys in LEK.
#[test]
fn index_queries() {
    let mut engine = loaded();
    let out = query(&mut engine, json!({"IndexName": "byg", "KeyConditionExpression": "g = :g AND h > :h", "ExpressionAttributeValues": {":g": {"S": "G"}, ":h": {"N": "92"}}, "Limit": 2})).unwrap();
    // h = 100 - sk, so ascending h is descending sk.
    assert_eq!(sks(&out), vec![6, 4]);
    let first = &out.items.as_ref().unwrap()[0];
    assert_eq!(
        first.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["g", "h", "pk", "sk", "x"],
        "INCLUDE projects keys and x only"
    );
    let lek = out.last_evaluated_key.unwrap();
    assert_eq!(
        lek.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["g", "h", "pk", "sk"]
    );
    let out = query(&mut engine, json!({"IndexName": "byg", "KeyConditionExpression": "g = :g AND h > :h", "ExpressionAttributeValues": {":g": {"S": "G"}, ":h": {"N": "92"}}, "ExclusiveStartKey": lek})).unwrap();
    assert_eq!(sks(&out), vec![2]);
    // LSI with KEYS_ONLY: ALL_ATTRIBUTES fetches the rest from the table.
    let out = query(&mut engine, json!({"IndexName": "byl", "Select": "ALL_ATTRIBUTES", "KeyConditionExpression": "pk = :p AND l = :l", "ExpressionAttributeValues": {":p": {"S": "a"}, ":l": {"S": "l03"}}})).unwrap();
    assert_eq!(out.items.unwrap()[0]["y"], AttributeValue::s("big"));
    let out = query(&mut engine, json!({"IndexName": "byl", "KeyConditionExpression": "pk = :p AND l = :l", "ExpressionAttributeValues": {":p": {"S": "a"}, ":l": {"S": "l03"}}})).unwrap();
    assert!(!out.items.unwrap()[0].contains_key("y"));
    let out = query(&mut engine, json!({"IndexName": "gall", "KeyConditionExpression": "g = :g", "ProjectionExpression": "sk, y", "ExpressionAttributeValues": {":g": {"S": "G"}}})).unwrap();
    assert_eq!(out.count, 5);
    assert_eq!(out.items.unwrap()[0].len(), 2);
}

fn scan(engine: &mut Engine, body: serde_json::Value) -> Result<ScanOutput, EngineError> {
    let mut body = body;
    body["TableName"] = json!(T);
    engine.scan(&serde_json::from_value(body).unwrap(), NOW)
}

/// QS-11, QS-12: scans, filters and segments.
#[test]
fn scans_and_segments() {
    let mut engine = loaded();
    let out = scan(&mut engine, json!({})).unwrap();
    assert_eq!(out.count, 13);
    let out = scan(
        &mut engine,
        json!({"FilterExpression": "pk = :b", "ExpressionAttributeValues": {":b": {"S": "b"}}}),
    )
    .unwrap();
    assert_eq!(
        (out.count, out.scanned_count),
        (3, 13),
        "Scan filters may use key attributes"
    );
    let out = scan(&mut engine, json!({"IndexName": "byg"})).unwrap();
    assert_eq!(out.count, 5);
    let errors: Vec<(serde_json::Value, &str)> = vec![
        (
            json!({"Segment": 0}),
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
        ),
        (
            json!({"TotalSegments": 2}),
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
        ),
        (
            json!({"Segment": 2, "TotalSegments": 2}),
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 2 is not less than TotalSegments: 2",
        ),
        (
            json!({"IndexName": "gall", "ConsistentRead": true}),
            "Consistent reads are not supported on global secondary indexes",
        ),
    ];
    for (body, message) in errors {
        assert_eq!(scan(&mut engine, body).unwrap_err().message, message);
    }
}

fn seeded(items: &[(u8, u8, Option<u8>)]) -> Engine {
    let mut engine = engine();
    for (pk, sk, g) in items {
        let mut item = json!({"pk": {"S": format!("p{pk}")}, "sk": {"N": sk.to_string()}, "pad": {"S": "x".repeat(usize::from(*sk) * 5)}});
        if sk % 2 == 0 {
            item["x"] = json!({"N": "1"});
        }
        if let Some(g) = g {
            item["g"] = json!({"S": format!("g{}", g % 3)});
            item["h"] = json!({"N": g.to_string()});
        }
        put(&mut engine, item);
    }
    engine
}

fn drain(engine: &mut Engine, body: serde_json::Value, is_query: bool) -> Vec<Item> {
    let mut all = Vec::new();
    let mut body = body;
    for _ in 0..1000 {
        let out = if is_query {
            query(engine, body.clone())
        } else {
            scan(engine, body.clone())
        }
        .unwrap();
        all.extend(out.items.unwrap().iter().map(|i| Item::clone(i)));
        match out.last_evaluated_key {
            Some(k) => body["ExclusiveStartKey"] = serde_json::to_value(k).unwrap(),
            None => return all,
        }
    }
    panic!("pagination did not end");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// QS-03..QS-05, QS-11, QS-12: paging with any Limit returns exactly one pass, and
    /// parallel segments are disjoint and complete.
    #[test]
    fn pages_equal_one_pass(
        items in proptest::collection::vec((0u8..4, 0u8..30, proptest::option::of(0u8..20)), 0..60),
        limit in 1i64..7,
        forward in any::<bool>(),
        low in 0u8..30,
        total_segments in 1i64..5,
        use_index in any::<bool>(),
    ) {
        let mut engine = seeded(&items);
        let q = if use_index {
            json!({"IndexName": "byg", "KeyConditionExpression": "g = :g AND h >= :low", "ExpressionAttributeValues": {":g": {"S": "g1"}, ":low": {"N": low.to_string()}}, "ScanIndexForward": forward, "FilterExpression": "attribute_exists(x)"})
        } else {
            json!({"KeyConditionExpression": "pk = :p AND sk >= :low", "ExpressionAttributeValues": {":p": {"S": "p1"}, ":low": {"N": low.to_string()}}, "ScanIndexForward": forward})
        };
        let whole = query(&mut engine, q.clone()).unwrap();
        prop_assert!(whole.last_evaluated_key.is_none());
        let mut paged = q.clone();
        paged["Limit"] = json!(limit);
        prop_assert_eq!(drain(&mut engine, paged, true), whole.items.unwrap().iter().map(|i| Item::clone(i)).collect::<Vec<_>>());

        let whole = scan(&mut engine, json!({})).unwrap().items.unwrap();
        let mut segments: Vec<Item> = Vec::new();
        for s in 0..total_segments {
            segments.extend(drain(&mut engine, json!({"Segment": s, "TotalSegments": total_segments, "Limit": limit}), false));
        }
        let key = |i: &Item| serde_json::to_string(i).unwrap();
        let mut a: Vec<String> = whole.iter().map(|i| key(i)).collect();
        let mut b: Vec<String> = segments.iter().map(key).collect();
        a.sort();
        b.sort();
        prop_assert_eq!(a, b);
    }

    /// Every index always equals a recomputation from the table, across puts,
    /// updates, deletes and replicated writes (including rejected type mismatches);
    /// with asynchronous GSIs (RC-08, any backlog bound), once their delay has passed.
    #[test]
    fn indexes_match_recomputation(
        ops in proptest::collection::vec((0u8..5, 0u8..4, 0u8..5, 0u8..8), 1..80),
        lag_us in prop_oneof![Just(0u64), Just(250u64)],
        backlog_max in 1usize..6,
    ) {
        let mut engine = engine_with(EngineConfig { gsi_propagation_us: lag_us, gsi_backlog_max: backlog_max, ..Default::default() });
        for (i, (op, pk, sk, v)) in ops.into_iter().enumerate() {
            let now = SimTime(i as u64 * 100);
            let key: Item = serde_json::from_value(json!({"pk": {"S": format!("p{pk}")}, "sk": {"N": sk.to_string()}})).unwrap();
            let mut item = key.clone();
            if v % 2 == 0 { item.insert("g", AttributeValue::s(format!("g{}", v % 3))); }
            if v % 3 == 0 { item.insert("h", AttributeValue::n(&v.to_string())); }
            if v == 7 { item.insert("g", AttributeValue::n("1")); }
            if v % 4 == 1 { item.insert("l", AttributeValue::s(format!("l{v}"))); }
            item.insert("x", AttributeValue::n(&v.to_string()));
            let _ = match op {
                0 => engine.put_item(PutItemInput { table_name: T.into(), item, ..Default::default() }, now).map(|_| ()),
                1 => engine.delete_item(DeleteItemInput { table_name: T.into(), key, ..Default::default() }, now).map(|_| ()),
                2 => engine.update_item(UpdateItemInput { table_name: T.into(), key, update_expression: Some("SET h = :v REMOVE l".into()), expression_attribute_values: Some([(":v".to_string(), AttributeValue::n(&v.to_string()))].into_iter().collect()), ..Default::default() }, now).map(|_| ()),
                3 => engine.apply_replicated_at(T, &key, Some(item.into()), now).map(|_| ()),
                _ => engine.apply_replicated_at(T, &key, None, now).map(|_| ()),
            };
        }
        // A read of a GSI after every delay has passed.
        let settled: ScanInput = serde_json::from_value(json!({"TableName": T, "IndexName": "gall"})).unwrap();
        engine.scan(&settled, SimTime(1_000_000)).unwrap();
        prop_assert_eq!(engine.table(T).unwrap().gsi_backlog_len(), 0);
        let table = engine.table(T).unwrap();
        for index in table.indexes().values() {
            let mut expected: Vec<(ItemKey, Item)> = table
                .iter()
                .filter_map(|(k, item)| index.entry(table.schema(), k, item))
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let actual: Vec<(ItemKey, Item)> = index.entries().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(actual, expected, "index {}", index.name);
        }
    }
}

/// DM-24, QS-01, QS-05, QS-11, QS-12: a table with a sort key stores its items grouped
/// by partition (a partition past 256 items switches representation). Scan order, Query
/// results in both directions, pages of any Limit and segments are exactly the order of
/// the encoded keys, as one ordered map of all items gives.
#[test]
fn partition_layout_keeps_key_order() {
    let mut engine = engine();
    let partitions = ["a", "a\u{0}", "a\u{0}b", "ab", "b", "p"];
    let mut keys: Vec<Item> = Vec::new();
    for (n, pk) in partitions.iter().enumerate() {
        let count: i64 = if *pk == "p" { 300 } else { 6 };
        for i in 0..count {
            // Scrambled insertion order, negative and positive sort keys.
            let sk = (i * 7) % count - count / 2;
            let item =
                json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}, "n": {"N": n.to_string()}});
            put(&mut engine, item.clone());
            keys.push(serde_json::from_value(json!({"pk": item["pk"], "sk": item["sk"]})).unwrap());
        }
    }
    // Deletes, including every item of one partition.
    keys.retain(|key| {
        let sk = match &key["sk"] {
            AttributeValue::N(n) => n.to_i128().unwrap(),
            _ => unreachable!(),
        };
        let gone = key["pk"] == AttributeValue::s("ab") || sk % 13 == 0;
        if gone {
            engine
                .delete_item(
                    DeleteItemInput {
                        table_name: T.into(),
                        key: key.clone(),
                        ..Default::default()
                    },
                    NOW,
                )
                .unwrap();
        }
        !gone
    });
    let schema = KeySchema::composite("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::N);
    let storage_key = |item: &Item| ItemKey::from_item(&schema, item).unwrap();
    keys.sort_by_key(|k| storage_key(k));
    let key_of = |item: &Item| -> Item {
        ["pk", "sk"]
            .iter()
            .map(|a| (a.to_string(), item[*a].clone()))
            .collect()
    };
    let stored: Vec<Item> = engine
        .iter_items(T)
        .unwrap()
        .map(|(_, item)| key_of(item))
        .collect();
    assert_eq!(stored, keys);
    assert_eq!(engine.iter_items(T).unwrap().len(), keys.len());
    let reversed: Vec<Item> = engine
        .iter_items(T)
        .unwrap()
        .rev()
        .map(|(_, item)| key_of(item))
        .collect();
    assert_eq!(reversed, keys.iter().rev().cloned().collect::<Vec<_>>());
    let scanned: Vec<Item> = scan(&mut engine, json!({}))
        .unwrap()
        .items
        .unwrap()
        .iter()
        .map(|i| key_of(i))
        .collect();
    assert_eq!(scanned, keys);
    for limit in [1, 7, 256, 1000] {
        let paged: Vec<Item> = drain(&mut engine, json!({"Limit": limit}), false)
            .iter()
            .map(key_of)
            .collect();
        assert_eq!(paged, keys, "Scan pages of {limit}");
        let mut segments: Vec<Item> = (0..3)
            .flat_map(|s| {
                drain(
                    &mut engine,
                    json!({"Segment": s, "TotalSegments": 3, "Limit": limit}),
                    false,
                )
            })
            .map(|i| key_of(&i))
            .collect();
        segments.sort_by_key(|k| storage_key(k));
        assert_eq!(segments, keys, "segments of {limit}");
    }
    type Keep = fn(i128) -> bool;
    let conditions: [(&str, Keep); 6] = [
        ("", |_| true),
        (" AND sk > :v", |sk| sk > 5),
        (" AND sk <= :v", |sk| sk <= 5),
        (" AND sk = :v", |sk| sk == 5),
        (" AND sk >= :v", |sk| sk >= 5),
        (" AND sk BETWEEN :v AND :w", |sk| (5..=40).contains(&sk)),
    ];
    for pk in partitions.iter().chain(&["a\u{0}a", "zz"]) {
        for (condition, keep) in conditions {
            let mut values = json!({":p": {"S": pk}});
            if condition.contains(":v") {
                values[":v"] = json!({"N": "5"});
            }
            if condition.contains(":w") {
                values[":w"] = json!({"N": "40"});
            }
            let expected: Vec<Item> = keys
                .iter()
                .filter(|k| k["pk"] == AttributeValue::s(*pk))
                .filter(|k| match &k["sk"] {
                    AttributeValue::N(n) => keep(n.to_i128().unwrap()),
                    _ => false,
                })
                .cloned()
                .collect();
            for forward in [true, false] {
                for limit in [None, Some(1), Some(9)] {
                    let mut body = json!({"KeyConditionExpression": format!("pk = :p{condition}"), "ExpressionAttributeValues": values, "ScanIndexForward": forward});
                    if let Some(limit) = limit {
                        body["Limit"] = json!(limit);
                    }
                    let mut got: Vec<Item> =
                        drain(&mut engine, body, true).iter().map(key_of).collect();
                    if !forward {
                        got.reverse();
                    }
                    assert_eq!(
                        got, expected,
                        "{pk:?}{condition} forward {forward} limit {limit:?}"
                    );
                }
            }
        }
    }
}

/// An engine whose GSIs receive base changes `lag_us` after them (RC-08), holding at
/// most `backlog_max` of them back.
fn lagged(lag_us: u64, backlog_max: usize) -> Engine {
    engine_with(EngineConfig {
        gsi_propagation_us: lag_us,
        gsi_backlog_max: backlog_max,
        ..Default::default()
    })
}

fn write_at(engine: &mut Engine, item: serde_json::Value, at_us: u64) {
    let item: Item = serde_json::from_value(item).unwrap();
    let input = PutItemInput {
        table_name: T.into(),
        item,
        ..Default::default()
    };
    engine.put_item(input, SimTime(at_us)).unwrap();
}

/// The sort keys a Query of GSI `gall` for `g` returns at `at_us`.
fn gall_at(engine: &mut Engine, g: &str, at_us: u64) -> Vec<i64> {
    let input: QueryInput = serde_json::from_value(json!({"TableName": T, "IndexName": "gall", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": g}}})).unwrap();
    sks(&engine.query(&input, SimTime(at_us)).unwrap())
}

fn lsi_count_at(engine: &mut Engine, at_us: u64) -> u64 {
    let input: QueryInput = serde_json::from_value(json!({"TableName": T, "IndexName": "byl", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}})).unwrap();
    engine.query(&input, SimTime(at_us)).unwrap().count
}

/// RC-08 with `gsi_propagation_us`: a GSI receives each base change (put, index key
/// moved, delete) that long after the write, in write order; the table and its LSI
/// have it at once.
#[test]
fn rc08_gsis_receive_base_changes_after_the_propagation_delay() {
    const LAG_US: u64 = 100_000;
    let mut engine = lagged(LAG_US, 1 << 20);
    let item = |g: &str| json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "l": {"S": "l1"}, "g": {"S": g}, "h": {"N": "7"}});
    write_at(&mut engine, item("G"), 1_000);
    assert_eq!(lsi_count_at(&mut engine, 1_000), 1, "an LSI is synchronous");
    let key: Item = serde_json::from_value(json!({"pk": {"S": "a"}, "sk": {"N": "1"}})).unwrap();
    assert!(
        engine
            .get_raw(
                T,
                &ItemKey::from_key(engine.table(T).unwrap().schema(), &key).unwrap()
            )
            .is_some()
    );
    assert_eq!(
        gall_at(&mut engine, "G", 1_000 + LAG_US - 1),
        Vec::<i64>::new()
    );
    assert_eq!(engine.table(T).unwrap().gsi_backlog_len(), 1);
    assert_eq!(gall_at(&mut engine, "G", 1_000 + LAG_US), vec![1]);
    assert_eq!(engine.table(T).unwrap().gsi_backlog_len(), 0);

    // The index key moves: the entry stays under "G" until the change arrives.
    write_at(&mut engine, item("H"), 200_000);
    assert_eq!(gall_at(&mut engine, "G", 250_000), vec![1]);
    assert_eq!(gall_at(&mut engine, "H", 250_000), Vec::<i64>::new());
    assert_eq!(gall_at(&mut engine, "G", 300_000), Vec::<i64>::new());
    assert_eq!(gall_at(&mut engine, "H", 300_000), vec![1]);

    // A delete, and a Scan of the index, follow the same delay.
    let input: DeleteItemInput = serde_json::from_value(
        json!({"TableName": T, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
    )
    .unwrap();
    engine.delete_item(input, SimTime(400_000)).unwrap();
    assert_eq!(lsi_count_at(&mut engine, 400_000), 0);
    let scan_at = |engine: &mut Engine, at_us| {
        let input: ScanInput =
            serde_json::from_value(json!({"TableName": T, "IndexName": "gall"})).unwrap();
        engine.scan(&input, SimTime(at_us)).unwrap().count
    };
    assert_eq!(scan_at(&mut engine, 450_000), 1);
    assert_eq!(scan_at(&mut engine, 500_000), 0);
}

/// RC-08: the default keeps GSIs synchronous, as DynamoDB Local does.
#[test]
fn rc08_gsis_are_synchronous_by_default() {
    let mut engine = engine();
    write_at(
        &mut engine,
        json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "G"}}),
        1_000,
    );
    assert_eq!(gall_at(&mut engine, "G", 1_000), vec![1]);
    assert_eq!(engine.table(T).unwrap().gsi_backlog_len(), 0);
}

/// Changes held back stay in write order even when a later write's delay would end
/// first (the clock a caller passes may step back), and past `gsi_backlog_max` the
/// oldest reach the GSIs early rather than pile up.
#[test]
fn rc08_gsi_backlog_keeps_write_order_and_its_bound() {
    let mut engine = lagged(100_000, 3);
    let item =
        |sk: u32, g: &str| json!({"pk": {"S": "a"}, "sk": {"N": sk.to_string()}, "g": {"S": g}});
    write_at(&mut engine, item(1, "G"), 50_000);
    // Written "earlier" by a caller's clock: still applied after the first.
    write_at(&mut engine, item(1, "H"), 10_000);
    assert_eq!(
        gall_at(&mut engine, "H", 110_000),
        Vec::<i64>::new(),
        "not before the write ahead of it"
    );
    assert_eq!(gall_at(&mut engine, "G", 150_000), Vec::<i64>::new());
    assert_eq!(gall_at(&mut engine, "H", 150_000), vec![1]);

    for sk in 2..=6 {
        write_at(&mut engine, item(sk, "G"), 200_000);
    }
    assert_eq!(
        engine.table(T).unwrap().gsi_backlog_len(),
        3,
        "the bound holds"
    );
    assert_eq!(
        gall_at(&mut engine, "G", 200_000),
        vec![2, 3],
        "the oldest two went early"
    );
    assert_eq!(gall_at(&mut engine, "G", 300_000), vec![2, 3, 4, 5, 6]);
}

/// A GSI created or deleted by UpdateTable works on the indexes as they stand: what
/// the GSIs were still owed is handed over first, and the new index is backfilled from
/// the table with no entry twice.
#[test]
fn rc08_update_table_hands_the_backlog_over_before_changing_indexes() {
    let mut engine = lagged(100_000, 1 << 20);
    write_at(
        &mut engine,
        json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "G"}, "h": {"N": "3"}}),
        1_000,
    );
    let input: UpdateTableInput = serde_json::from_value(json!({
        "TableName": T,
        "AttributeDefinitions": [{"AttributeName": "h", "AttributeType": "N"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byh", "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]
    }))
    .unwrap();
    engine.update_table(input, SimTime(2_000)).unwrap();
    assert_eq!(engine.table(T).unwrap().gsi_backlog_len(), 0);
    assert_eq!(gall_at(&mut engine, "G", 2_000), vec![1]);
    let input: QueryInput = serde_json::from_value(json!({"TableName": T, "IndexName": "byh", "KeyConditionExpression": "h = :h", "ExpressionAttributeValues": {":h": {"N": "3"}}})).unwrap();
    assert_eq!(sks(&engine.query(&input, SimTime(2_000)).unwrap()), vec![1]);
}
