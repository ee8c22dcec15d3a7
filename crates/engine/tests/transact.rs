//! Batches and transactions (BA-01..BA-07, TX-01..TX-10): limits, duplicates,
//! validation before any write, cancellation reasons, idempotency, atomicity.

use dynasim_core::SimTime;
use dynasim_engine::*;
use proptest::prelude::*;
use serde_json::json;

const NOW: SimTime = SimTime::ZERO;
const T: &str = "tab";

fn engine() -> Engine {
    let mut engine = Engine::default();
    let input: CreateTableInput = serde_json::from_value(json!({
        "TableName": T,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [{"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}]
    }))
    .unwrap();
    engine.create_table(input, NOW).unwrap();
    engine
}

fn item(pk: &str, n: i64) -> Item {
    serde_json::from_value(json!({"pk": {"S": pk}, "n": {"N": n.to_string()}})).unwrap()
}

fn key(pk: &str) -> Item {
    serde_json::from_value(json!({"pk": {"S": pk}})).unwrap()
}

fn items(engine: &Engine) -> Vec<Item> {
    engine
        .iter_items(T)
        .unwrap()
        .map(|(_, v)| v.clone())
        .collect()
}

fn write_batch(requests: Vec<serde_json::Value>) -> BatchWriteItemInput {
    serde_json::from_value(json!({"RequestItems": {T: requests}})).unwrap()
}

/// BA-04, BA-05: every rejection leaves the table untouched.
#[test]
fn batch_write_validates_before_writing() {
    let put = |pk: &str| json!({"PutRequest": {"Item": {"pk": {"S": pk}}}});
    let cases: Vec<(BatchWriteItemInput, ErrorKind, &str)> = vec![
        (
            write_batch((0..26).map(|i| put(&format!("k{i}"))).collect()),
            ErrorKind::ValidationException,
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
        ),
        (
            write_batch(vec![put("a"), put("a")]),
            ErrorKind::ValidationException,
            "Provided list of item keys contains duplicates",
        ),
        (
            write_batch(vec![
                put("a"),
                json!({"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}),
            ]),
            ErrorKind::ValidationException,
            "Provided list of item keys contains duplicates",
        ),
        (
            write_batch(vec![
                put("a"),
                json!({"PutRequest": {"Item": {"pk": {"N": "1"}}}}),
            ]),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ),
        (
            write_batch(vec![
                put("a"),
                json!({"PutRequest": {"Item": {"pk": {"S": "b"}, "g": {"N": "1"}}}}),
            ]),
            ErrorKind::ValidationException,
            "One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N IndexName: byg",
        ),
        (
            write_batch(vec![
                put("a"),
                json!({"PutRequest": {"Item": {"pk": {"S": "b"}, "big": {"S": "x".repeat(400 * 1024)}}}}),
            ]),
            ErrorKind::ValidationException,
            "Item size has exceeded the maximum allowed size",
        ),
        (
            serde_json::from_value(json!({"RequestItems": {T: [put("a")], "missing": [put("a")]}}))
                .unwrap(),
            ErrorKind::ResourceNotFoundException,
            "Requested resource not found",
        ),
    ];
    for (i, (input, kind, message)) in cases.into_iter().enumerate() {
        let mut engine = engine();
        let err = engine.batch_write_item(&input, NOW).unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (kind, message),
            "case {i}"
        );
        assert!(items(&engine).is_empty(), "case {i} wrote something");
    }
}

#[test]
fn batch_write_and_get() {
    // BA-01..BA-03, BA-07
    let mut engine = engine();
    let requests: Vec<serde_json::Value> = (0..25)
        .map(
            |i| json!({"PutRequest": {"Item": {"pk": {"S": format!("k{i:02}")}, "g": {"S": "G"}}}}),
        )
        .collect();
    let mut input = write_batch(requests);
    input.return_consumed_capacity = Some("INDEXES".into());
    let out = engine.batch_write_item(&input, NOW).unwrap();
    assert_eq!(out.changes.len(), 25);
    assert!(out.output.unprocessed_items.is_empty());
    let cc = &out.output.consumed_capacity.unwrap()[0];
    assert_eq!(
        cc.capacity_units, 50.0,
        "25 table writes + 25 index writes of 1 WCU"
    );
    assert_eq!(
        cc.global_secondary_indexes.as_ref().unwrap()["byg"].capacity_units,
        25.0
    );
    let deletes = write_batch(vec![
        json!({"DeleteRequest": {"Key": {"pk": {"S": "k00"}}}}),
    ]);
    let out = engine.batch_write_item(&deletes, NOW).unwrap();
    assert!(out.changes[0].new_image.is_none());

    let get: BatchGetItemInput = serde_json::from_value(json!({"RequestItems": {T: {"Keys": [{"pk": {"S": "k00"}}, {"pk": {"S": "k01"}}, {"pk": {"S": "k02"}}], "ProjectionExpression": "pk"}}, "ReturnConsumedCapacity": "TOTAL"})).unwrap();
    let out = engine.batch_get_item(&get, NOW).unwrap();
    assert_eq!(out.responses[T].len(), 2, "missing keys are simply absent");
    assert_eq!(
        out.consumed_capacity.unwrap()[0].capacity_units,
        1.5,
        "three eventually consistent reads of 0.5"
    );
    let too_many: Vec<serde_json::Value> = (0..101)
        .map(|i| json!({"pk": {"S": format!("k{i}")}}))
        .collect();
    let get: BatchGetItemInput =
        serde_json::from_value(json!({"RequestItems": {T: {"Keys": too_many}}})).unwrap();
    assert_eq!(
        engine.batch_get_item(&get, NOW).unwrap_err().message,
        "Too many items requested for the BatchGetItem call"
    );
    let get: BatchGetItemInput = serde_json::from_value(
        json!({"RequestItems": {T: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]}}}),
    )
    .unwrap();
    assert_eq!(
        engine.batch_get_item(&get, NOW).unwrap_err().message,
        "Provided list of item keys contains duplicates"
    );
}

#[test]
fn batch_get_16_mb_leaves_unprocessed_keys() {
    // BA-02: 100 items of ~300 KB: what fits in 16 MB is returned, the rest unprocessed.
    let mut engine = engine();
    let pad = "x".repeat(300 * 1024);
    for i in 0..100 {
        let item: Item =
            serde_json::from_value(json!({"pk": {"S": format!("k{i:03}")}, "pad": {"S": pad}}))
                .unwrap();
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
    let keys: Vec<serde_json::Value> = (0..100)
        .map(|i| json!({"pk": {"S": format!("k{i:03}")}}))
        .collect();
    let get: BatchGetItemInput =
        serde_json::from_value(json!({"RequestItems": {T: {"Keys": keys}}})).unwrap();
    let out = engine.batch_get_item(&get, NOW).unwrap();
    let returned = out.responses[T].len();
    let unprocessed = out.unprocessed_keys[T].keys.len();
    assert_eq!(returned + unprocessed, 100);
    assert_eq!(returned, 54);
}

fn transact(body: serde_json::Value) -> TransactWriteItemsInput {
    serde_json::from_value(body).unwrap()
}

fn put_action(pk: &str, n: i64) -> serde_json::Value {
    json!({"Put": {"TableName": T, "Item": {"pk": {"S": pk}, "n": {"N": n.to_string()}}}})
}

#[test]
fn transaction_errors() {
    // TX-01, TX-10
    let mut engine = engine();
    let cases: Vec<(serde_json::Value, ErrorKind, &str)> = vec![
        (
            json!({"TransactItems": []}),
            ErrorKind::ValidationException,
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            json!({"TransactItems": (0..101).map(|i| put_action(&format!("k{i}"), 1)).collect::<Vec<_>>()}),
            ErrorKind::ValidationException,
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100",
        ),
        (
            json!({"TransactItems": [put_action("a", 1), {"Delete": {"TableName": T, "Key": {"pk": {"S": "a"}}}}]}),
            ErrorKind::ValidationException,
            "Transaction request cannot include multiple operations on one item",
        ),
        (
            json!({"TransactItems": [put_action("a", 1), {"Delete": {"TableName": T, "Key": {"pk": {"N": "1"}}}}]}),
            ErrorKind::ValidationException,
            "The provided key element does not match the schema",
        ),
        (
            json!({"TransactItems": [{"Put": {"TableName": "nope", "Item": {"pk": {"S": "a"}}}}]}),
            ErrorKind::ResourceNotFoundException,
            "Requested resource not found",
        ),
        (
            json!({"TransactItems": [{}]}),
            ErrorKind::ValidationException,
            "TransactItems can only contain one of Check, Put, Update or Delete",
        ),
    ];
    for (body, kind, message) in cases {
        let err = engine
            .transact_write_items(&transact(body.clone()), NOW)
            .unwrap_err();
        assert_eq!((err.kind, err.message.as_str()), (kind, message), "{body}");
        assert!(items(&engine).is_empty());
    }
}

#[test]
fn transaction_cancellation_reasons() {
    // TX-09, IT-06
    let mut engine = engine();
    engine
        .put_item(
            PutItemInput {
                table_name: T.into(),
                item: item("a", 1),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    let body = json!({"TransactItems": [
        put_action("b", 2),
        {"ConditionCheck": {"TableName": T, "Key": {"pk": {"S": "a"}}, "ConditionExpression": "n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Update": {"TableName": T, "Key": {"pk": {"S": "c"}}, "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}
    ]});
    let err = engine
        .transact_write_items(&transact(body), NOW)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::TransactionCanceledException);
    assert_eq!(
        err.message,
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, ValidationError]"
    );
    let codes: Vec<&str> = err
        .cancellation_reasons
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    assert_eq!(codes, ["None", "ConditionalCheckFailed", "ValidationError"]);
    assert_eq!(err.cancellation_reasons[1].item, Some(item("a", 1)));
    assert_eq!(
        err.cancellation_reasons[1].message.as_deref(),
        Some("The conditional request failed")
    );
    assert_eq!(err.to_json_body()["CancellationReasons"][0]["Code"], "None");
    assert_eq!(items(&engine), vec![item("a", 1)], "nothing written");
}

#[test]
fn transaction_success_capacity_and_idempotency() {
    // TX-04, TX-05
    let mut engine = engine();
    let body = json!({"TransactItems": [put_action("a", 1), put_action("b", 2), put_action("c", 3)], "ClientRequestToken": "tok", "ReturnConsumedCapacity": "TOTAL"});
    let out = engine
        .transact_write_items(&transact(body.clone()), NOW)
        .unwrap();
    assert_eq!(out.changes.len(), 3);
    assert_eq!(
        out.output.consumed_capacity.unwrap()[0].capacity_units,
        6.0,
        "three small items at 2 WCU"
    );
    engine
        .delete_item(
            DeleteItemInput {
                table_name: T.into(),
                key: key("a"),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    // Same token and payload within 10 minutes: success, nothing re-applied.
    let again = engine
        .transact_write_items(&transact(body.clone()), SimTime::from_secs(599))
        .unwrap();
    assert!(again.changes.is_empty());
    assert_eq!(items(&engine).len(), 2);
    let mut other = body.clone();
    other["TransactItems"] = json!([put_action("z", 1)]);
    let err = engine
        .transact_write_items(&transact(other), SimTime::from_secs(599))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::IdempotentParameterMismatchException);
    // After 10 minutes the token is new.
    let late = engine
        .transact_write_items(&transact(body), SimTime::from_secs(601))
        .unwrap();
    assert_eq!(late.changes.len(), 3);
    // TransactGetItems: a missing item is an empty response (TX-02).
    let get: TransactGetItemsInput = serde_json::from_value(json!({"TransactItems": [{"Get": {"TableName": T, "Key": {"pk": {"S": "a"}}}}, {"Get": {"TableName": T, "Key": {"pk": {"S": "zz"}}}}], "ReturnConsumedCapacity": "TOTAL"})).unwrap();
    let out = engine.transact_get_items(&get, NOW).unwrap();
    assert_eq!(out.responses[0].item.as_deref(), Some(&item("a", 1)));
    assert_eq!(out.responses[1].item, None);
    assert_eq!(out.consumed_capacity.unwrap()[0].capacity_units, 4.0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// TX-01: with conditions that fail at random, a transaction either applies every
    /// action or none, and its changes are exactly the difference.
    #[test]
    fn transactions_are_atomic(
        initial in proptest::collection::vec(0i64..3, 6),
        actions in proptest::collection::vec((0usize..6, 0u8..3, 0i64..3), 1..6),
    ) {
        let mut engine = engine();
        for (i, n) in initial.iter().enumerate() {
            engine.put_item(PutItemInput { table_name: T.into(), item: item(&format!("k{i}"), *n), ..Default::default() }, NOW).unwrap();
        }
        let mut used = std::collections::BTreeSet::new();
        let mut list = Vec::new();
        for (k, kind, expect) in actions {
            if !used.insert(k) { continue; }
            let pk = format!("k{k}");
            let cond = json!({":e": {"N": expect.to_string()}});
            list.push(match kind {
                0 => json!({"ConditionCheck": {"TableName": T, "Key": {"pk": {"S": pk}}, "ConditionExpression": "n = :e", "ExpressionAttributeValues": cond}}),
                1 => json!({"Update": {"TableName": T, "Key": {"pk": {"S": pk}}, "UpdateExpression": "SET n = n + :e", "ConditionExpression": "n >= :e", "ExpressionAttributeValues": cond}}),
                _ => json!({"Delete": {"TableName": T, "Key": {"pk": {"S": pk}}, "ConditionExpression": "n <> :e", "ExpressionAttributeValues": cond}}),
            });
        }
        let before = items(&engine);
        let result = engine.transact_write_items(&transact(json!({"TransactItems": list})), NOW);
        let after = items(&engine);
        match result {
            Err(e) => {
                prop_assert_eq!(e.kind, ErrorKind::TransactionCanceledException);
                prop_assert_eq!(before, after);
            }
            Ok(out) => {
                let writes = list.iter().filter(|a| a.get("ConditionCheck").is_none()).count();
                prop_assert_eq!(out.changes.len(), writes);
                let mut model = before.clone();
                for change in &out.changes {
                    let pos = model.iter().position(|i| i["pk"] == change.key_attrs["pk"]).unwrap();
                    prop_assert_eq!(Some(&model[pos]), change.old_image.as_deref());
                    match &change.new_image {
                        Some(new) => model[pos] = Item::clone(new),
                        None => { model.remove(pos); }
                    }
                }
                prop_assert_eq!(model, after);
            }
        }
    }
}
