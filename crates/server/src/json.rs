//! The item-bearing responses (GetItem, Query, Scan) written straight as JSON: the same
//! bytes `serde_json` writes for these types, without serde's generic serializer. Items
//! are most of what a read answers (a 50-item Query page is thousands of map entries), and
//! the generic path costs a call chain per entry plus a byte-by-byte escape scan of every
//! string, where most strings need no escaping at all.

use dynasim_engine::value::{AttributeValue, Item};
use dynasim_engine::{GetItemOutput, QueryOutput};
use std::io::Write as _;

/// `GetItemOutput` as JSON.
pub(crate) fn get_item(output: &GetItemOutput) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.push(b'{');
    let mut first = true;
    if let Some(item) = &output.item {
        out.extend_from_slice(b"\"Item\":");
        write_item(&mut out, item);
        first = false;
    }
    if let Some(capacity) = &output.consumed_capacity {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(b"\"ConsumedCapacity\":");
        serde_json::to_writer(&mut out, capacity).expect("capacity serializes");
    }
    out.push(b'}');
    out
}

/// `QueryOutput` (and `ScanOutput`, the same type) as JSON.
pub(crate) fn query(output: &QueryOutput) -> Vec<u8> {
    let items = output.items.as_deref().unwrap_or_default();
    let mut out = Vec::with_capacity(128 + items.len() * 256);
    out.push(b'{');
    if let Some(items) = &output.items {
        out.extend_from_slice(b"\"Items\":[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_item(&mut out, item);
        }
        out.extend_from_slice(b"],");
    }
    let _ = write!(
        out,
        "\"Count\":{},\"ScannedCount\":{}",
        output.count, output.scanned_count
    );
    if let Some(key) = &output.last_evaluated_key {
        out.extend_from_slice(b",\"LastEvaluatedKey\":");
        write_item(&mut out, key);
    }
    if let Some(capacity) = &output.consumed_capacity {
        out.extend_from_slice(b",\"ConsumedCapacity\":");
        serde_json::to_writer(&mut out, capacity).expect("capacity serializes");
    }
    out.push(b'}');
    out
}

fn write_item(out: &mut Vec<u8>, item: &Item) {
    out.push(b'{');
    for (i, (name, value)) in item.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, name);
        out.push(b':');
        write_value(out, value);
    }
    out.push(b'}');
}

fn write_value(out: &mut Vec<u8>, value: &AttributeValue) {
    match value {
        AttributeValue::S(s) => {
            out.extend_from_slice(b"{\"S\":");
            write_str(out, s);
            out.push(b'}');
        }
        // Numbers print as digits, sign, point and exponent: nothing to escape.
        AttributeValue::N(n) => {
            out.extend_from_slice(b"{\"N\":\"");
            let _ = write!(out, "{n}");
            out.extend_from_slice(b"\"}");
        }
        AttributeValue::Bool(b) => {
            let _ = write!(out, "{{\"BOOL\":{b}}}");
        }
        AttributeValue::Null => out.extend_from_slice(b"{\"NULL\":true}"),
        AttributeValue::M(m) => {
            out.extend_from_slice(b"{\"M\":");
            write_item(out, m);
            out.push(b'}');
        }
        AttributeValue::L(list) => {
            out.extend_from_slice(b"{\"L\":[");
            for (i, v) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, v);
            }
            out.extend_from_slice(b"]}");
        }
        // Binary values and sets are rarer: the serde path writes them.
        AttributeValue::B(_)
        | AttributeValue::Ss(_)
        | AttributeValue::Ns(_)
        | AttributeValue::Bs(_) => {
            serde_json::to_writer(&mut *out, value).expect("attribute values serialize");
        }
    }
}

/// A JSON string; only strings with a quote, a backslash or a control character take
/// serde_json's escaping path (which escapes exactly those).
fn write_str(out: &mut Vec<u8>, s: &str) {
    // No early exit: the loop over every byte compiles to wide compares, several times
    // faster than stopping at the first byte that needs escaping, which is rare.
    let mut escape = false;
    for &b in s.as_bytes() {
        escape |= (b < 0x20) | (b == b'"') | (b == b'\\');
    }
    if !escape {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("strings serialize");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynasim_engine::Number;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    fn n(text: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(text).expect("a number"))
    }

    /// Every type, nesting, and strings that need escaping.
    fn sample() -> Item {
        let mut inner = Item::new();
        inner.insert("q\"uote", AttributeValue::S("tab\there \\ \u{1} é".into()));
        inner.insert("n", n("-12.5e3"));
        let mut item = Item::new();
        item.insert("pk", AttributeValue::S("k1".into()));
        item.insert("sk", n("0"));
        item.insert("big", n("123456789012345678901234567890.5"));
        item.insert("small", n("0.000001"));
        item.insert("b", AttributeValue::B(vec![0, 1, 2, 255]));
        item.insert("t", AttributeValue::Bool(true));
        item.insert("f", AttributeValue::Bool(false));
        item.insert("nul", AttributeValue::Null);
        item.insert("m", AttributeValue::M(inner.clone()));
        item.insert(
            "l",
            AttributeValue::L(vec![
                AttributeValue::M(inner),
                n("1"),
                AttributeValue::L(vec![]),
            ]),
        );
        item.insert(
            "ss",
            AttributeValue::Ss(BTreeSet::from(["a".to_string(), "b\"".to_string()])),
        );
        item.insert(
            "ns",
            AttributeValue::Ns(BTreeSet::from([
                Number::parse("1").expect("a number"),
                Number::parse("2.5").expect("a number"),
            ])),
        );
        item.insert(
            "bs",
            AttributeValue::Bs(BTreeSet::from([vec![1u8], vec![2u8, 3]])),
        );
        item.insert("empty", AttributeValue::M(Item::new()));
        item.insert("", AttributeValue::S(String::new()));
        item
    }

    #[test]
    fn get_item_answers_are_the_bytes_serde_json_writes() {
        let capacity: dynasim_engine::ConsumedCapacity =
            serde_json::from_str(r#"{"TableName":"t","CapacityUnits":0.5}"#).expect("a capacity");
        for output in [
            GetItemOutput::default(),
            GetItemOutput {
                item: Some(Arc::new(sample())),
                consumed_capacity: None,
            },
            GetItemOutput {
                item: None,
                consumed_capacity: Some(capacity.clone()),
            },
            GetItemOutput {
                item: Some(Arc::new(sample())),
                consumed_capacity: Some(capacity),
            },
        ] {
            assert_eq!(
                String::from_utf8(get_item(&output)).expect("UTF-8"),
                serde_json::to_string(&output).expect("serializes")
            );
        }
    }

    #[test]
    fn query_answers_are_the_bytes_serde_json_writes() {
        let capacity: dynasim_engine::ConsumedCapacity =
            serde_json::from_str(r#"{"TableName":"t","CapacityUnits":2.0}"#).expect("a capacity");
        let mut key = Item::new();
        key.insert("pk", AttributeValue::S("k1".into()));
        for output in [
            QueryOutput {
                items: None,
                count: 3,
                scanned_count: 7,
                last_evaluated_key: None,
                consumed_capacity: None,
            },
            QueryOutput {
                items: Some(vec![]),
                count: 0,
                scanned_count: 0,
                last_evaluated_key: None,
                consumed_capacity: None,
            },
            QueryOutput {
                items: Some(vec![Arc::new(sample()), Arc::new(key.clone())]),
                count: 2,
                scanned_count: 2,
                last_evaluated_key: Some(key),
                consumed_capacity: Some(capacity),
            },
        ] {
            assert_eq!(
                String::from_utf8(query(&output)).expect("UTF-8"),
                serde_json::to_string(&output).expect("serializes")
            );
        }
    }
}
