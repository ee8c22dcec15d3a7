//! ConsumedCapacity arithmetic (CA-01..CA-07, QS-09, BA-07): rows of (operation, item
//! size, expected units), taken from the developer guide's examples.

use dynasim_core::SimTime;
use dynasim_engine::*;
use serde_json::json;

const NOW: SimTime = SimTime::ZERO;
const T: &str = "tab";

fn engine() -> Engine {
    let mut engine = Engine::default();
    let input: CreateTableInput = serde_json::from_value(json!({
        "TableName": T,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [{"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}]
    }))
    .unwrap();
    engine.create_table(input, NOW).unwrap();
    engine
}

/// An item of exactly `bytes` bytes (DM-27 sizes).
fn sized(pk: &str, sk: i64, bytes: usize) -> Item {
    let mut item: Item =
        serde_json::from_value(json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}})).unwrap();
    let config = EngineConfig::default();
    let used = item_size(&item, &config) + 1;
    item.insert("p", AttributeValue::s("x".repeat(bytes - used)));
    assert_eq!(item_size(&item, &config), bytes);
    item
}

fn key(pk: &str, sk: i64) -> Item {
    serde_json::from_value(json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}})).unwrap()
}

fn put(engine: &mut Engine, item: Item) -> f64 {
    engine
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item,
                return_consumed_capacity: Some("TOTAL".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap()
        .output
        .consumed_capacity
        .unwrap()
        .capacity_units
}

#[test]
fn unit_arithmetic() {
    // CA-04: reads round to 4 KB, writes to 1 KB; eventual reads cost half.
    assert_eq!(read_units(3584, true), 1.0);
    assert_eq!(read_units(10 * 1024, true), 3.0);
    assert_eq!(read_units(8 * 1024, true), 2.0);
    assert_eq!(read_units(8 * 1024, false), 1.0);
    assert_eq!(
        read_units(0, false),
        0.5,
        "CA-07: a miss still costs the minimum"
    );
    assert_eq!(write_units(2 * 1024), 2.0);
    assert_eq!(write_units(500), 1.0);
    assert_eq!(write_units(3584), 4.0);
}

#[test]
fn write_capacity_follows_the_larger_image() {
    // CA-05, BA-07
    let mut engine = engine();
    let rows: Vec<(usize, f64)> = vec![(500, 1.0), (2048, 2.0), (1000, 2.0), (3500, 4.0)];
    for (bytes, expected) in rows {
        assert_eq!(
            put(&mut engine, sized("a", 1, bytes)),
            expected,
            "put {bytes} B over the previous image"
        );
    }
    let delete = |engine: &mut Engine, sk: i64| {
        engine
            .delete_item(
                DeleteItemInput {
                    table_name: T.into(),
                    key: key("a", sk),
                    return_consumed_capacity: Some("TOTAL".into()),
                    ..Default::default()
                },
                NOW,
            )
            .unwrap()
            .output
            .consumed_capacity
            .unwrap()
            .capacity_units
    };
    assert_eq!(delete(&mut engine, 1), 4.0, "the deleted item's size");
    assert_eq!(
        delete(&mut engine, 1),
        1.0,
        "deleting a missing item costs 1 WCU"
    );
    // CA-06: index writes are counted, and reported per index with INDEXES.
    let mut item = sized("b", 1, 500);
    item.insert("g", AttributeValue::s("G"));
    let out = engine
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item,
                return_consumed_capacity: Some("INDEXES".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap()
        .output
        .consumed_capacity
        .unwrap();
    assert_eq!(out.capacity_units, 2.0);
    assert_eq!(out.table.unwrap().capacity_units, 1.0);
    assert_eq!(
        out.global_secondary_indexes.unwrap()["byg"].capacity_units,
        1.0
    );
    // Moving the index key is a delete and a put in the index.
    let out = engine
        .update_item(
            UpdateItemInput {
                table_name: T.into(),
                key: key("b", 1),
                update_expression: Some("SET g = :h".into()),
                expression_attribute_values: Some(
                    [(":h".to_string(), AttributeValue::s("H"))]
                        .into_iter()
                        .collect(),
                ),
                return_consumed_capacity: Some("INDEXES".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap()
        .output
        .consumed_capacity
        .unwrap();
    assert_eq!(
        out.global_secondary_indexes.unwrap()["byg"].capacity_units,
        2.0
    );
}

#[test]
fn read_capacity_of_get_and_query() {
    // CA-04: an 8 KB item is 2 RCU strong, 1 eventual.
    let mut engine = engine();
    put(&mut engine, sized("big", 1, 8 * 1024));
    let get = |engine: &mut Engine, consistent: bool| {
        engine
            .get_item(
                &GetItemInput {
                    table_name: T.into(),
                    key: key("big", 1),
                    consistent_read: Some(consistent),
                    return_consumed_capacity: Some("TOTAL".into()),
                    ..Default::default()
                },
                NOW,
            )
            .unwrap()
            .consumed_capacity
            .unwrap()
            .capacity_units
    };
    assert_eq!(get(&mut engine, true), 2.0);
    assert_eq!(get(&mut engine, false), 1.0);
    // QS-09: 1500 items of 64 bytes = 96 KB -> 24 RCU strongly consistent, rounded once.
    for sk in 0..1500 {
        put(&mut engine, sized("q", sk, 64));
    }
    let query = |engine: &mut Engine, pk: &str, consistent: bool| {
        let input: QueryInput = serde_json::from_value(json!({"TableName": T, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}}, "ConsistentRead": consistent, "ReturnConsumedCapacity": "TOTAL"})).unwrap();
        engine
            .query(&input, NOW)
            .unwrap()
            .consumed_capacity
            .unwrap()
            .capacity_units
    };
    assert_eq!(query(&mut engine, "q", true), 24.0);
    assert_eq!(query(&mut engine, "q", false), 12.0);
    assert_eq!(
        query(&mut engine, "none", false),
        0.5,
        "QS-09: an empty Query still costs the minimum"
    );
}
