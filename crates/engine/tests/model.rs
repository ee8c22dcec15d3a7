//! Model-based property test: random operation sequences run against the engine and a
//! plain `BTreeMap` model must give the same results, the same final contents in the
//! same order (DM-24), and a replica fed only the `ItemChange`s through
//! `apply_replicated` must end identical.

use dynasim_core::SimTime;
use dynasim_engine::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const T: &str = "model";

#[derive(Clone, Debug)]
enum Op {
    Put { pk: u8, sk: i8, v: i32 },
    PutIfAbsent { pk: u8, sk: i8, v: i32 },
    Add { pk: u8, sk: i8, by: i32 },
    SetIfEquals { pk: u8, sk: i8, expect: i32, v: i32 },
    Remove { pk: u8, sk: i8 },
    Delete { pk: u8, sk: i8 },
    DeleteIfExists { pk: u8, sk: i8 },
    Get { pk: u8, sk: i8 },
}

fn op() -> impl Strategy<Value = Op> {
    let pk = 0u8..4;
    let sk = -3i8..3;
    let v = -5i32..5;
    prop_oneof![
        (pk.clone(), sk.clone(), v.clone()).prop_map(|(pk, sk, v)| Op::Put { pk, sk, v }),
        (pk.clone(), sk.clone(), v.clone()).prop_map(|(pk, sk, v)| Op::PutIfAbsent { pk, sk, v }),
        (pk.clone(), sk.clone(), v.clone()).prop_map(|(pk, sk, by)| Op::Add { pk, sk, by }),
        (pk.clone(), sk.clone(), v.clone(), v.clone())
            .prop_map(|(pk, sk, expect, v)| Op::SetIfEquals { pk, sk, expect, v }),
        (pk.clone(), sk.clone()).prop_map(|(pk, sk)| Op::Remove { pk, sk }),
        (pk.clone(), sk.clone()).prop_map(|(pk, sk)| Op::Delete { pk, sk }),
        (pk.clone(), sk.clone()).prop_map(|(pk, sk)| Op::DeleteIfExists { pk, sk }),
        (pk, sk).prop_map(|(pk, sk)| Op::Get { pk, sk }),
    ]
}

/// Model state: (partition key, sort key) -> value of attribute `v` (None = absent).
type Model = BTreeMap<(String, i64), Option<i64>>;

fn pk_text(pk: u8) -> String {
    // Mixed case and a multi-byte character exercise byte ordering (DM-12).
    ["A", "a", "b", "\u{bf}"][usize::from(pk)].to_string()
}

fn key(pk: u8, sk: i8) -> Item {
    [
        ("pk".to_string(), AttributeValue::s(pk_text(pk))),
        (
            "sk".to_string(),
            AttributeValue::N(Number::from(i64::from(sk))),
        ),
    ]
    .into_iter()
    .collect()
}

fn item(pk: u8, sk: i8, v: Option<i64>) -> Item {
    let mut item = key(pk, sk);
    if let Some(v) = v {
        item.insert("v", AttributeValue::N(Number::from(v)));
    }
    item
}

fn num(v: i64) -> AttributeValue {
    AttributeValue::N(Number::from(v))
}

fn values(pairs: &[(&str, i64)]) -> Option<AttributeValues> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), num(*v)))
            .collect(),
    )
}

fn new_engine() -> Engine {
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
            SimTime::ZERO,
        )
        .expect("create table");
    engine
}

/// Runs one op on both; returns the engine's change (if it wrote).
fn step(engine: &mut Engine, model: &mut Model, op: &Op, now: SimTime) -> Option<ItemChange> {
    let mk = |pk: u8, sk: i8| (pk_text(pk), i64::from(sk));
    match *op {
        Op::Put { pk, sk, v } => {
            let out = engine
                .put_item(
                    PutItemInput {
                        table_name: T.into(),
                        item: item(pk, sk, Some(v.into())),
                        return_values: Some("ALL_OLD".into()),
                        ..Default::default()
                    },
                    now,
                )
                .expect("put");
            let old = model.insert(mk(pk, sk), Some(v.into()));
            assert_eq!(
                out.output.attributes.as_deref(),
                old.map(|o| item(pk, sk, o)).as_ref()
            );
            Some(out.change)
        }
        Op::PutIfAbsent { pk, sk, v } => {
            let result = engine.put_item(
                PutItemInput {
                    table_name: T.into(),
                    item: item(pk, sk, Some(v.into())),
                    condition_expression: Some("attribute_not_exists(pk)".into()),
                    ..Default::default()
                },
                now,
            );
            if let std::collections::btree_map::Entry::Vacant(e) = model.entry(mk(pk, sk)) {
                e.insert(Some(v.into()));
                Some(result.expect("absent put").change)
            } else {
                assert_eq!(
                    result.expect_err("must fail").kind,
                    ErrorKind::ConditionalCheckFailedException
                );
                None
            }
        }
        Op::Add { pk, sk, by } => {
            let out = engine
                .update_item(
                    UpdateItemInput {
                        table_name: T.into(),
                        key: key(pk, sk),
                        update_expression: Some("ADD v :by".into()),
                        expression_attribute_values: values(&[(":by", by.into())]),
                        return_values: Some("UPDATED_NEW".into()),
                        ..Default::default()
                    },
                    now,
                )
                .expect("add");
            let entry = model.entry(mk(pk, sk)).or_insert(None);
            let new = entry.unwrap_or(0) + i64::from(by);
            *entry = Some(new);
            assert_eq!(out.output.attributes.expect("updated")["v"], num(new));
            Some(out.change)
        }
        Op::SetIfEquals { pk, sk, expect, v } => {
            let result = engine.update_item(
                UpdateItemInput {
                    table_name: T.into(),
                    key: key(pk, sk),
                    update_expression: Some("SET v = :v".into()),
                    condition_expression: Some("v = :expect".into()),
                    expression_attribute_values: values(&[
                        (":v", v.into()),
                        (":expect", expect.into()),
                    ]),
                    return_values_on_condition_check_failure: Some("ALL_OLD".into()),
                    ..Default::default()
                },
                now,
            );
            match model.get(&mk(pk, sk)).copied() {
                Some(Some(current)) if current == i64::from(expect) => {
                    model.insert(mk(pk, sk), Some(v.into()));
                    Some(result.expect("condition holds").change)
                }
                current => {
                    let err = result.expect_err("condition fails");
                    assert_eq!(err.kind, ErrorKind::ConditionalCheckFailedException);
                    assert_eq!(err.item, current.map(|c| item(pk, sk, c)));
                    None
                }
            }
        }
        Op::Remove { pk, sk } => {
            let out = engine
                .update_item(
                    UpdateItemInput {
                        table_name: T.into(),
                        key: key(pk, sk),
                        update_expression: Some("REMOVE v".into()),
                        ..Default::default()
                    },
                    now,
                )
                .expect("remove");
            model.insert(mk(pk, sk), None);
            Some(out.change)
        }
        Op::Delete { pk, sk } => {
            let out = engine
                .delete_item(
                    DeleteItemInput {
                        table_name: T.into(),
                        key: key(pk, sk),
                        return_values: Some("ALL_OLD".into()),
                        ..Default::default()
                    },
                    now,
                )
                .expect("delete");
            let old = model.remove(&mk(pk, sk));
            assert_eq!(
                out.output.attributes.as_deref(),
                old.map(|o| item(pk, sk, o)).as_ref()
            );
            Some(out.change)
        }
        Op::DeleteIfExists { pk, sk } => {
            let result = engine.delete_item(
                DeleteItemInput {
                    table_name: T.into(),
                    key: key(pk, sk),
                    condition_expression: Some("attribute_exists(pk)".into()),
                    ..Default::default()
                },
                now,
            );
            if model.remove(&mk(pk, sk)).is_some() {
                Some(result.expect("exists").change)
            } else {
                assert_eq!(
                    result.expect_err("missing").kind,
                    ErrorKind::ConditionalCheckFailedException
                );
                None
            }
        }
        Op::Get { pk, sk } => {
            let out = engine
                .get_item(
                    &GetItemInput {
                        table_name: T.into(),
                        key: key(pk, sk),
                        ..Default::default()
                    },
                    now,
                )
                .expect("get");
            assert_eq!(
                out.item.as_deref(),
                model.get(&mk(pk, sk)).map(|v| item(pk, sk, *v)).as_ref()
            );
            None
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_btreemap_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut engine = new_engine();
        let mut replica = new_engine();
        let mut model = Model::new();
        for (i, op) in ops.iter().enumerate() {
            if let Some(change) = step(&mut engine, &mut model, op, SimTime::from_ms(i as u64)) {
                let applied = replica.apply_replicated(T, &change.key_attrs, change.new_image.clone()).expect("replicate");
                prop_assert_eq!(&applied.key, &change.key);
                prop_assert_eq!(&applied.new_image, &change.new_image);
            }
        }
        // Same contents, in the model's order: partition key bytes, then numeric sort key.
        let engine_items: Vec<Item> = engine.iter_items(T).expect("table").map(|(_, i)| i.clone()).collect();
        let model_items: Vec<Item> = model
            .iter()
            .map(|((pk, sk), v)| {
                let mut it = Item::new();
                it.insert("pk", AttributeValue::s(pk.clone()));
                it.insert("sk", num(*sk));
                if let Some(v) = v {
                    it.insert("v", num(*v));
                }
                it
            })
            .collect();
        prop_assert_eq!(&engine_items, &model_items);
        let replica_items: Vec<(ItemKey, Item)> = replica.iter_items(T).expect("table").map(|(k, i)| (k.clone(), i.clone())).collect();
        let engine_pairs: Vec<(ItemKey, Item)> = engine.iter_items(T).expect("table").map(|(k, i)| (k.clone(), i.clone())).collect();
        prop_assert_eq!(replica_items, engine_pairs);
    }
}
