//! The **unconfirmed** points of the reference are `EngineConfig` options (SD-04); each
//! test flips one away from its default and checks the other behaviour.

use dynasim_core::SimTime;
use dynasim_engine::expr::{Bindings, ExprCache, evaluate_condition};
use dynasim_engine::*;

fn engine(config: EngineConfig) -> Engine {
    let mut engine = Engine::new(config);
    engine
        .create_table(
            CreateTableInput {
                table_name: "cfg".into(),
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
            SimTime::ZERO,
        )
        .unwrap();
    engine
}

fn update(engine: &mut Engine, expr: &str, values: &str) -> Result<Item, EngineError> {
    engine
        .update_item(
            UpdateItemInput {
                table_name: "cfg".into(),
                key: serde_json::from_str(r#"{"pk":{"S":"k"}}"#).unwrap(),
                update_expression: Some(expr.into()),
                expression_attribute_values: Some(serde_json::from_str(values).unwrap()),
                return_values: Some("ALL_NEW".into()),
                ..Default::default()
            },
            SimTime::ZERO,
        )
        .map(|o| Item::clone(&o.output.attributes.unwrap()))
}

#[test]
fn ux02_chained_arithmetic_is_an_option() {
    let values = r#"{":a":{"N":"1"},":b":{"N":"2"},":c":{"N":"4"}}"#;
    let err = update(
        &mut engine(EngineConfig::default()),
        "SET n = :a + :b - :c",
        values,
    )
    .unwrap_err();
    assert!(
        err.message
            .starts_with("Invalid UpdateExpression: Syntax error; token: \"-\"")
    );
    let chained = EngineConfig {
        update_arithmetic_chain: true,
        ..EngineConfig::default()
    };
    let item = update(&mut engine(chained), "SET n = :a + :b - :c", values).unwrap();
    assert_eq!(item["n"], AttributeValue::n("-1"));
}

#[test]
fn ux08_strict_top_level_add_delete_is_an_option() {
    let mut lenient = engine(EngineConfig::default());
    update(&mut lenient, "SET m = :m", r#"{":m":{"M":{}}}"#).unwrap();
    assert_eq!(
        update(&mut lenient, "ADD m.n :one", r#"{":one":{"N":"1"}}"#).unwrap()["m"],
        {
            let mut m = dynasim_engine::AttrMap::new();
            m.insert("n".to_string(), AttributeValue::n("1"));
            AttributeValue::M(m)
        }
    );
    let mut strict = engine(EngineConfig {
        nested_add_delete: false,
        ..EngineConfig::default()
    });
    update(&mut strict, "SET m = :m", r#"{":m":{"M":{}}}"#).unwrap();
    let err = update(&mut strict, "ADD m.n :one", r#"{":one":{"N":"1"}}"#).unwrap_err();
    assert_eq!(
        err.message,
        "Invalid UpdateExpression: ADD and DELETE actions are only supported on top-level attributes"
    );
}

#[test]
fn ex19_size_of_strings_counts_bytes_or_chars() {
    let item: Item = serde_json::from_str(r#"{"s":{"S":"héllo"}}"#).unwrap();
    let values: AttributeValues = serde_json::from_str(r#"{":v":{"N":"6"}}"#).unwrap();
    let check = |config: EngineConfig| {
        evaluate_condition(
            &mut ExprCache::new(4),
            "size(s) = :v",
            Bindings {
                names: None,
                values: Some(&values),
            },
            &item,
            &config,
        )
        .unwrap()
    };
    assert!(check(EngineConfig::default()));
    assert!(!check(EngineConfig {
        string_size_unit: StringSizeUnit::Chars,
        ..EngineConfig::default()
    }));
}

#[test]
fn dm27_number_size_model_is_an_option() {
    let item: Item = serde_json::from_str(r#"{"n":{"N":"1.2"}}"#).unwrap();
    assert_eq!(item_size(&item, &EngineConfig::default()), 1 + 3);
    let simple = EngineConfig {
        number_size: NumberSizeModel::Simple,
        ..EngineConfig::default()
    };
    assert_eq!(item_size(&item, &simple), 1 + 2);
}

#[test]
fn cp03_unused_attribute_definitions_are_an_option() {
    let input = CreateTableInput {
        table_name: "cfg2".into(),
        key_schema: vec![KeySchemaElement {
            attribute_name: "pk".into(),
            key_type: KeyType::Hash,
        }],
        attribute_definitions: vec![
            AttributeDefinition {
                attribute_name: "pk".into(),
                attribute_type: ScalarAttributeType::S,
            },
            AttributeDefinition {
                attribute_name: "extra".into(),
                attribute_type: ScalarAttributeType::N,
            },
        ],
        ..Default::default()
    };
    let err = Engine::default()
        .create_table(input.clone(), SimTime::ZERO)
        .unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
    );
    let lenient = EngineConfig {
        reject_unused_attribute_definitions: false,
        ..EngineConfig::default()
    };
    Engine::new(lenient)
        .create_table(input, SimTime::ZERO)
        .unwrap();
}
