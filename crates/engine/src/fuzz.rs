//! Entry points for the cargo-fuzz targets in `crates/fuzz`; ordinary tests call them
//! too, so the fuzz corpus doubles as a regression suite. Nothing here may panic.

use crate::api::{AttributeNames, AttributeValues};
use crate::expr::parser::{parse_condition, parse_projection, parse_update};
use crate::expr::{Bindings, ExprCache, ExprKind, ExprTexts, prepare};
use crate::value::AttributeValue;

/// Parses arbitrary bytes as every kind of expression, then binds each successful
/// parse to a fixed set of placeholders. Returns how many parses succeeded.
pub fn parse_any_expression(data: &[u8]) -> usize {
    let Ok(text) = std::str::from_utf8(data) else {
        return 0;
    };
    let mut ok = 0;
    ok += usize::from(parse_condition(text, ExprKind::Condition).is_ok());
    ok += usize::from(parse_update(text, false).is_ok());
    ok += usize::from(parse_update(text, true).is_ok());
    ok += usize::from(parse_projection(text).is_ok());
    let names: AttributeNames = [("#a", "a"), ("#b", "b.c"), ("#n", "name")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let values: AttributeValues = [
        (":s", AttributeValue::s("x")),
        (":n", AttributeValue::n("1")),
        (":l", AttributeValue::L(vec![AttributeValue::Null])),
        (
            ":ss",
            AttributeValue::Ss(["a".to_string()].into_iter().collect()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut cache = ExprCache::new(8);
    let bindings = Bindings {
        names: Some(&names),
        values: Some(&values),
    };
    for texts in [
        ExprTexts {
            condition: Some(text),
            ..ExprTexts::default()
        },
        ExprTexts {
            update: Some(text),
            ..ExprTexts::default()
        },
        ExprTexts {
            projection: Some(text),
            ..ExprTexts::default()
        },
    ] {
        let _ = prepare(&mut cache, texts, bindings, false);
    }
    ok
}
