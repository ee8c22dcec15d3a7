//! Single-item operations end to end: return values, conditions, changes, limits and
//! error types (IT-01..IT-10, EX-21, EX-22, DM-13, DM-20..DM-26, §2.2).

use dynasim_core::SimTime;
use dynasim_engine::*;

const T: &str = "users";
const NOW: SimTime = SimTime::ZERO;

fn engine() -> Engine {
    let mut engine = Engine::default();
    engine
        .create_table(
            CreateTableInput {
                table_name: T.into(),
                key_schema: vec![
                    KeySchemaElement {
                        attribute_name: "pk".into(),
                        key_type: KeyType::Hash,
                    },
                    KeySchemaElement {
                        attribute_name: "sk".into(),
                        key_type: KeyType::Range,
                    },
                ],
                attribute_definitions: vec![
                    AttributeDefinition {
                        attribute_name: "pk".into(),
                        attribute_type: ScalarAttributeType::S,
                    },
                    AttributeDefinition {
                        attribute_name: "sk".into(),
                        attribute_type: ScalarAttributeType::N,
                    },
                ],
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    engine
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> T {
    serde_json::from_str(s).unwrap()
}

fn key(pk: &str, sk: i64) -> Item {
    [
        ("pk".to_string(), AttributeValue::s(pk)),
        ("sk".to_string(), AttributeValue::N(Number::from(sk))),
    ]
    .into_iter()
    .collect()
}

fn with(mut item: Item, name: &str, value: AttributeValue) -> Item {
    item.insert(name, value);
    item
}

fn put(engine: &mut Engine, item: Item) -> Result<WriteOutcome<PutItemOutput>, EngineError> {
    engine.put_item(
        PutItemInput {
            table_name: T.into(),
            item,
            ..Default::default()
        },
        NOW,
    )
}

fn get(engine: &mut Engine, key: Item) -> Option<Item> {
    engine
        .get_item(
            &GetItemInput {
                table_name: T.into(),
                key,
                ..Default::default()
            },
            NOW,
        )
        .unwrap()
        .item
        .map(|i| Item::clone(&i))
}

#[test]
fn it01_put_replaces_whole_item_and_reports_the_change() {
    let mut e = engine();
    let first = with(key("a", 1), "x", AttributeValue::n("1"));
    let out = put(&mut e, first.clone()).unwrap();
    assert_eq!(out.output.attributes, None);
    assert_eq!(out.change.old_image, None);
    assert_eq!(out.change.new_image.as_deref(), Some(&first));
    assert_eq!(out.change.key_attrs, key("a", 1));
    assert_eq!(out.change.table, T);
    let second = with(key("a", 1), "y", AttributeValue::s("z"));
    let out = e
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item: second.clone(),
                return_values: Some("ALL_OLD".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert_eq!(out.output.attributes.as_deref(), Some(&first));
    assert_eq!(out.change.old_image.as_deref(), Some(&first));
    assert_eq!(get(&mut e, key("a", 1)), Some(second));
}

#[test]
fn it02_get_miss_has_no_item_field() {
    let mut e = engine();
    let out = e
        .get_item(
            &GetItemInput {
                table_name: T.into(),
                key: key("nope", 1),
                consistent_read: Some(true),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert_eq!(serde_json::to_string(&out).unwrap(), "{}");
}

#[test]
fn it04_delete_of_missing_item_is_not_an_error() {
    let mut e = engine();
    let out = e
        .delete_item(
            DeleteItemInput {
                table_name: T.into(),
                key: key("a", 1),
                return_values: Some("ALL_OLD".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert_eq!(out.output.attributes, None);
    assert!(out.change.is_noop());
    put(&mut e, with(key("a", 1), "x", AttributeValue::Null)).unwrap();
    let out = e
        .delete_item(
            DeleteItemInput {
                table_name: T.into(),
                key: key("a", 1),
                return_values: Some("ALL_OLD".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert!(out.output.attributes.unwrap().contains_key("x"));
    assert_eq!(out.change.new_image, None);
    assert_eq!(get(&mut e, key("a", 1)), None);
}

#[test]
fn it05_return_values_rules() {
    let mut e = engine();
    let err = e
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item: key("a", 1),
                return_values: Some("ALL_NEW".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.message, "Return values set to invalid value");
    let err = e
        .delete_item(
            DeleteItemInput {
                table_name: T.into(),
                key: key("a", 1),
                return_values: Some("UPDATED_OLD".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.message, "Return values set to invalid value");
    let err = e
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item: key("a", 1),
                return_values: Some("SOME".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value 'SOME' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
    );
    let err = e
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item: key("a", 1),
                return_values_on_condition_check_failure: Some("ALL_NEW".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert!(
        err.message
            .ends_with("Member must satisfy enum value set: [ALL_OLD, NONE]")
    );
    let err = e
        .get_item(
            &GetItemInput {
                table_name: T.into(),
                key: key("a", 1),
                return_consumed_capacity: Some("ALL".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value 'ALL' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
    );
}

#[test]
fn it05_update_return_values() {
    let mut e = engine();
    put(
        &mut e,
        with(
            with(key("a", 1), "x", AttributeValue::n("1")),
            "m",
            json(r#"{"M":{"p":{"N":"1"},"q":{"N":"2"}}}"#),
        ),
    )
    .unwrap();
    let update = |e: &mut Engine, rv: &str| {
        e.update_item(
            UpdateItemInput {
                table_name: T.into(),
                key: key("a", 1),
                update_expression: Some("SET x = x + :one, m.p = :one".into()),
                expression_attribute_values: Some(json(r#"{":one":{"N":"1"}}"#)),
                return_values: Some(rv.into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap()
        .output
        .attributes
        .map(|a| serde_json::to_string(&a).unwrap())
    };
    assert_eq!(
        update(&mut e, "UPDATED_OLD").unwrap(),
        r#"{"m":{"M":{"p":{"N":"1"}}},"x":{"N":"1"}}"#
    );
    assert_eq!(
        update(&mut e, "UPDATED_NEW").unwrap(),
        r#"{"m":{"M":{"p":{"N":"1"}}},"x":{"N":"3"}}"#
    );
    assert_eq!(
        update(&mut e, "ALL_NEW").unwrap(),
        r#"{"m":{"M":{"p":{"N":"1"},"q":{"N":"2"}}},"pk":{"S":"a"},"sk":{"N":"1"},"x":{"N":"4"}}"#
    );
    assert!(
        update(&mut e, "ALL_OLD")
            .unwrap()
            .contains(r#""x":{"N":"4"}"#)
    );
    assert_eq!(update(&mut e, "NONE"), None);
}

#[test]
fn it03_update_upserts_and_without_expression_creates_the_key_only() {
    let mut e = engine();
    let out = e
        .update_item(
            UpdateItemInput {
                table_name: T.into(),
                key: key("new", 7),
                return_values: Some("ALL_NEW".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert_eq!(out.output.attributes.as_deref(), Some(&key("new", 7)));
    assert_eq!(out.change.old_image, None);
    let out = e
        .update_item(
            UpdateItemInput {
                table_name: T.into(),
                key: key("new", 8),
                update_expression: Some("ADD hits :one".into()),
                expression_attribute_values: Some(json(r#"{":one":{"N":"1"}}"#)),
                return_values: Some("UPDATED_OLD".into()),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert_eq!(out.output.attributes, None);
    assert_eq!(
        get(&mut e, key("new", 8)).unwrap()["hits"],
        AttributeValue::n("1")
    );
}

#[test]
fn ex21_ex22_it06_conditions_and_failures() {
    let mut e = engine();
    let create_only = |item: Item, rvf: Option<&str>| PutItemInput {
        table_name: T.into(),
        item,
        condition_expression: Some("attribute_not_exists(pk)".into()),
        return_values_on_condition_check_failure: rvf.map(str::to_string),
        ..Default::default()
    };
    let first = with(key("a", 1), "v", AttributeValue::n("1"));
    e.put_item(create_only(first.clone(), None), NOW).unwrap();
    let err = e
        .put_item(
            create_only(with(key("a", 1), "v", AttributeValue::n("2")), None),
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConditionalCheckFailedException);
    assert_eq!(err.message, "The conditional request failed");
    assert_eq!(err.item, None);
    let err = e
        .put_item(create_only(key("a", 1), Some("ALL_OLD")), NOW)
        .unwrap_err();
    assert_eq!(err.item.as_ref(), Some(&first));
    let body = err.to_json_body();
    assert_eq!(
        body["__type"],
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    );
    assert_eq!(body["Item"]["v"]["N"], "1");
    assert_eq!(err.http_status(), 400);
    assert!(!err.retryable());
    assert_eq!(get(&mut e, key("a", 1)), Some(first));
    // A failed update or delete changes nothing either.
    let err = e
        .delete_item(
            DeleteItemInput {
                table_name: T.into(),
                key: key("a", 1),
                condition_expression: Some("v = :two".into()),
                expression_attribute_values: Some(json(r#"{":two":{"N":"2"}}"#)),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConditionalCheckFailedException);
    assert!(get(&mut e, key("a", 1)).is_some());
}

#[test]
fn dm26_item_size_limits_on_put_and_update() {
    let mut e = engine();
    // pk "a" (2+1) + sk 1 (2+2) + name "big" (3) + value = 409600 exactly.
    let exact = with(
        key("a", 1),
        "big",
        AttributeValue::s("x".repeat(409_600 - 3 - 4 - 3)),
    );
    assert_eq!(item_size(&exact, e.config()), ITEM_BYTES_MAX);
    put(&mut e, exact.clone()).unwrap();
    let over = with(
        key("a", 2),
        "big",
        AttributeValue::s("x".repeat(409_600 - 3 - 4 - 2)),
    );
    assert_eq!(
        put(&mut e, over).unwrap_err().message,
        "Item size has exceeded the maximum allowed size"
    );
    let err = e
        .update_item(
            UpdateItemInput {
                table_name: T.into(),
                key: key("a", 1),
                update_expression: Some("SET y = :one".into()),
                expression_attribute_values: Some(json(r#"{":one":{"N":"1"}}"#)),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "Item size to update has exceeded the maximum allowed size"
    );
    assert_eq!(get(&mut e, key("a", 1)), Some(exact));
}

#[test]
fn dm13_dm20_dm22_key_rules() {
    let mut e = engine();
    put(&mut e, with(key("a", 1), "empty", AttributeValue::s(""))).unwrap();
    let err = put(&mut e, key("", 1)).unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
    );
    let err = put(&mut e, with(key("a", 1), "sk", AttributeValue::s("1"))).unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S"
    );
    let err = e
        .get_item(
            &GetItemInput {
                table_name: T.into(),
                key: with(key("a", 1), "x", AttributeValue::Null),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "The provided key element does not match the schema"
    );
    let mut only_hash = key("a", 1);
    only_hash.remove("sk");
    let err = e
        .get_item(
            &GetItemInput {
                table_name: T.into(),
                key: only_hash,
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "The provided key element does not match the schema"
    );
}

#[test]
fn dm11_number_overflow_through_add() {
    let mut e = engine();
    let max = format!("9.{}e125", "9".repeat(37));
    put(&mut e, with(key("a", 1), "n", AttributeValue::n(&max))).unwrap();
    let err = e
        .update_item(
            UpdateItemInput {
                table_name: T.into(),
                key: key("a", 1),
                update_expression: Some("ADD n :n".into()),
                expression_attribute_values: Some(json(&format!(r#"{{":n":{{"N":"{max}"}}}}"#))),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    );
}

#[test]
fn dm18_nesting_limit_in_values() {
    let mut e = engine();
    let mut deep = AttributeValue::Null;
    for _ in 0..33 {
        deep = AttributeValue::L(vec![deep]);
    }
    let err = put(&mut e, with(key("a", 1), "d", deep)).unwrap_err();
    assert_eq!(err.message, "Nesting Levels have exceeded supported limits");
}

#[test]
fn errors_carry_dynamodb_types() {
    let mut e = engine();
    let err = e
        .get_item(
            &GetItemInput {
                table_name: "nope".into(),
                key: key("a", 1),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceNotFoundException);
    assert_eq!(err.message, "Requested resource not found");
    let err = e
        .create_table(
            CreateTableInput {
                table_name: T.into(),
                key_schema: vec![KeySchemaElement {
                    attribute_name: "pk".into(),
                    key_type: KeyType::Hash,
                }],
                attribute_definitions: vec![AttributeDefinition {
                    attribute_name: "pk".into(),
                    attribute_type: ScalarAttributeType::S,
                }],
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceInUseException);
    let err = e
        .get_item(
            &GetItemInput {
                table_name: "a!".into(),
                key: key("a", 1),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "2 validation errors detected: Value 'a!' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value 'a!' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"
    );
    assert_eq!(
        err.type_name(),
        "com.amazon.coral.validate#ValidationException"
    );
    assert!(ErrorKind::ProvisionedThroughputExceededException.retryable());
    assert_eq!(ErrorKind::InternalServerError.http_status(), 500);
    assert_eq!(
        ErrorKind::TransactionCanceledException.message_field(),
        "Message"
    );
}

#[test]
fn it10_legacy_parameters() {
    let mut e = engine();
    let err = e
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item: key("a", 1),
                condition_expression: Some("attribute_exists(pk)".into()),
                expected: Some(serde_json::json!({"pk": {"Exists": false}})),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"
    );
}

#[test]
fn wp_requests_decode_from_dynamodb_json() {
    let body = br#"{"TableName":"users","Item":{"pk":{"S":"a"},"sk":{"N":"1.50"}},"ConditionExpression":"attribute_not_exists(pk)","ReturnValues":"ALL_OLD"}"#;
    let input: PutItemInput = decode_request(body).unwrap();
    assert_eq!(input.item["sk"], AttributeValue::n("1.5"));
    let mut e = engine();
    e.put_item(input, NOW).unwrap();
    let err =
        decode_request::<PutItemInput>(br#"{"TableName":"users","Item":{"pk":{"NULL":false}}}"#)
            .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ValidationException);
    assert_eq!(
        err.message,
        "Null attribute value types must have the value of true"
    );
    let err =
        decode_request::<PutItemInput>(br#"{"TableName":"users","Item":{"pk":{"N":"1e200"}}}"#)
            .unwrap_err();
    assert_eq!(
        err.message,
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    );
    let err = decode_request::<PutItemInput>(br#"{"TableName": 5}"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::SerializationException);
    let err =
        decode_request::<GetItemInput>(br#"{"TableName":"users","Key":{"pk":{}}}"#).unwrap_err();
    assert_eq!(
        err.message,
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
    );
}

#[test]
fn replication_api_applies_whole_images_and_iterates_in_key_order() {
    let mut e = engine();
    let image = with(key("b", 2), "v", AttributeValue::s("remote"));
    let change = e
        .apply_replicated(T, &key("b", 2), Some(image.clone().into()))
        .unwrap();
    assert_eq!(change.old_image, None);
    assert_eq!(change.new_image.as_deref(), Some(&image));
    let schema = e.table(T).unwrap().schema().clone();
    let item_key = ItemKey::from_item(&schema, &image).unwrap();
    assert_eq!(change.key, item_key);
    assert_eq!(e.get_raw(T, &item_key), Some(&image));
    put(&mut e, key("a", 10)).unwrap();
    put(&mut e, key("b", -1)).unwrap();
    put(&mut e, key("a", 9)).unwrap();
    let order: Vec<(String, String)> = e
        .iter_items(T)
        .unwrap()
        .map(|(_, item)| (format!("{:?}", item["pk"]), item["sk"].clone()))
        .map(|(pk, sk)| (pk, format!("{sk:?}")))
        .collect();
    assert_eq!(
        order,
        vec![
            (r#"{"S":"a"}"#.to_string(), r#"{"N":"9"}"#.to_string()),
            (r#"{"S":"a"}"#.to_string(), r#"{"N":"10"}"#.to_string()),
            (r#"{"S":"b"}"#.to_string(), r#"{"N":"-1"}"#.to_string()),
            (r#"{"S":"b"}"#.to_string(), r#"{"N":"2"}"#.to_string()),
        ]
    );
    let err = e
        .apply_replicated(T, &key("b", 2), Some(key("c", 3).into()))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ValidationException);
    let change = e.apply_replicated(T, &key("b", 2), None).unwrap();
    assert_eq!(change.old_image.as_deref(), Some(&image));
    assert_eq!(e.get_raw(T, &item_key), None);
    assert!(e.apply_replicated("nope", &key("b", 2), None).is_err());
}
