//! Table-driven expression tests: each row is (expression, ExpressionAttributeNames,
//! ExpressionAttributeValues, expected) with DynamoDB's exact message for errors.
//! Rule ids from the reference are cited per row group.

use dynasim_core::SimTime;
use dynasim_engine::expr::{Bindings, ExprCache, evaluate_condition};
use dynasim_engine::*;

/// The item every condition and projection row runs against (DynamoDB JSON).
const ITEM: &str = r#"{
  "pk": {"S": "k1"},
  "s": {"S": "hello"},
  "n": {"N": "10"},
  "b": {"B": "AQID"},
  "t": {"BOOL": true},
  "z": {"NULL": true},
  "l": {"L": [{"S": "a"}, {"N": "2"}, {"M": {"c": {"S": "deep"}}}]},
  "m": {"M": {"x": {"N": "1"}, "y": {"L": [{"N": "5"}]}, "dot.name": {"S": "dotted"}}},
  "ss": {"SS": ["a", "b"]},
  "ns": {"NS": ["1", "2"]},
  "bs": {"BS": ["AQ=="]},
  "a.b": {"S": "literal dotted"},
  "blank": {"S": ""}
}"#;

fn item() -> Item {
    serde_json::from_str(ITEM).unwrap()
}

fn names(json: &str) -> Option<AttributeNames> {
    (!json.is_empty()).then(|| serde_json::from_str(json).unwrap())
}

fn values(json: &str) -> Option<AttributeValues> {
    (!json.is_empty()).then(|| serde_json::from_str(json).unwrap())
}

enum Expect {
    True,
    False,
    Fails(&'static str),
}
use Expect::*;

const CONDITIONS: &[(&str, &str, &str, Expect)] = &[
    // EX-12 comparators, EX-14 ordering by type
    ("s = :v", "", r#"{":v":{"S":"hello"}}"#, True),
    ("n > :v", "", r#"{":v":{"N":"9.5"}}"#, True),
    ("n >= :v", "", r#"{":v":{"N":"10.0"}}"#, True),
    ("n < :v", "", r#"{":v":{"N":"1e2"}}"#, True),
    ("s < :v", "", r#"{":v":{"S":"hellp"}}"#, True),
    ("b < :v", "", r#"{":v":{"B":"AQIE"}}"#, True),
    ("s <= :v", "", r#"{":v":{"S":"hello"}}"#, True),
    ("z = :v", "", r#"{":v":{"NULL":true}}"#, True),
    ("t = :v", "", r#"{":v":{"BOOL":true}}"#, True),
    ("ss = :v", "", r#"{":v":{"SS":["b","a"]}}"#, True),
    ("m.y = :v", "", r#"{":v":{"L":[{"N":"5"}]}}"#, True),
    ("blank = :v", "", r#"{":v":{"S":""}}"#, True),
    // EX-13 mixed types and missing paths
    ("n > :v", "", r#"{":v":{"S":"9"}}"#, False),
    ("n = :v", "", r#"{":v":{"S":"10"}}"#, False),
    ("n <> :v", "", r#"{":v":{"S":"10"}}"#, True),
    ("nope = :v", "", r#"{":v":{"S":"x"}}"#, False),
    ("nope <> :v", "", r#"{":v":{"S":"x"}}"#, True),
    ("nope < :v", "", r#"{":v":{"S":"x"}}"#, False),
    ("t < :v", "", r#"{":v":{"BOOL":true}}"#, False),
    // BETWEEN and IN
    (
        "n BETWEEN :a AND :b",
        "",
        r#"{":a":{"N":"1"},":b":{"N":"10"}}"#,
        True,
    ),
    (
        "n between :a and :b",
        "",
        r#"{":a":{"N":"11"},":b":{"N":"20"}}"#,
        False,
    ),
    (
        "s BETWEEN :a AND :b",
        "",
        r#"{":a":{"N":"1"},":b":{"N":"10"}}"#,
        False,
    ),
    (
        "n IN (:a, :b)",
        "",
        r#"{":a":{"N":"1"},":b":{"N":"10"}}"#,
        True,
    ),
    ("n in (:a)", "", r#"{":a":{"S":"10"}}"#, False),
    // EX-15..EX-19 functions
    ("attribute_exists(m.x)", "", "", True),
    ("attribute_exists(l[5])", "", "", False),
    ("attribute_not_exists(m.q)", "", "", True),
    ("attribute_not_exists(pk)", "", "", False),
    ("attribute_type(ss, :t)", "", r#"{":t":{"S":"SS"}}"#, True),
    ("attribute_type(n, :t)", "", r#"{":t":{"S":"S"}}"#, False),
    ("begins_with(s, :p)", "", r#"{":p":{"S":"he"}}"#, True),
    ("begins_with(b, :p)", "", r#"{":p":{"B":"AQI="}}"#, True),
    ("begins_with(n, :p)", "", r#"{":p":{"S":"1"}}"#, False),
    ("contains(s, :v)", "", r#"{":v":{"S":"ell"}}"#, True),
    ("contains(ss, :v)", "", r#"{":v":{"S":"a"}}"#, True),
    ("contains(ns, :v)", "", r#"{":v":{"N":"2.0"}}"#, True),
    ("contains(ns, :v)", "", r#"{":v":{"S":"2"}}"#, False),
    ("contains(l, :v)", "", r#"{":v":{"S":"a"}}"#, True),
    ("contains(bs, :v)", "", r#"{":v":{"B":"AQ=="}}"#, True),
    ("size(s) = :v", "", r#"{":v":{"N":"5"}}"#, True),
    ("size(b) = :v", "", r#"{":v":{"N":"3"}}"#, True),
    ("size(l) = :v", "", r#"{":v":{"N":"3"}}"#, True),
    ("size(m) = :v", "", r#"{":v":{"N":"3"}}"#, True),
    ("size(ss) < :v", "", r#"{":v":{"N":"3"}}"#, True),
    ("size(nope) = :v", "", r#"{":v":{"N":"0"}}"#, False),
    ("size(n) = :v", "", r#"{":v":{"N":"2"}}"#, False),
    // EX-08 nested paths
    ("l[1] = :v", "", r#"{":v":{"N":"2"}}"#, True),
    ("l[2].c = :v", "", r#"{":v":{"S":"deep"}}"#, True),
    ("m.y[0] = :v", "", r#"{":v":{"N":"5"}}"#, True),
    ("m.x[0] = :v", "", r#"{":v":{"N":"1"}}"#, False),
    // EX-03 placeholders substitute one path component
    (
        "#d = :v",
        r##"{"#d":"a.b"}"##,
        r#"{":v":{"S":"literal dotted"}}"#,
        True,
    ),
    (
        "m.#k = :v",
        r##"{"#k":"dot.name"}"##,
        r#"{":v":{"S":"dotted"}}"#,
        True,
    ),
    (
        "#name = :v",
        r##"{"#name":"s"}"##,
        r#"{":v":{"S":"hello"}}"#,
        True,
    ),
    // EX-12 precedence: NOT > AND > OR
    (
        "s = :x OR n = :y AND t = :f",
        "",
        r#"{":x":{"S":"hello"},":y":{"N":"0"},":f":{"BOOL":false}}"#,
        True,
    ),
    (
        "(s = :x OR n = :y) AND t = :f",
        "",
        r#"{":x":{"S":"hello"},":y":{"N":"0"},":f":{"BOOL":false}}"#,
        False,
    ),
    ("NOT s = :x", "", r#"{":x":{"S":"hello"}}"#, False),
    (
        "NOT (s = :x) OR t = :t",
        "",
        r#"{":x":{"S":"hello"},":t":{"BOOL":true}}"#,
        True,
    ),
    ("not not s = :x", "", r#"{":x":{"S":"hello"}}"#, True),
    ("(s) = :x", "", r#"{":x":{"S":"hello"}}"#, True),
    ("s = (:x)", "", r#"{":x":{"S":"hello"}}"#, True),
    (
        "s=:x AND(n>:y)",
        "",
        r#"{":x":{"S":"hello"},":y":{"N":"1"}}"#,
        True,
    ),
    // EX-04 / EX-05 / EX-06 / EX-07 placeholders
    (
        "s = :v",
        "",
        "",
        Fails(
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v",
        ),
    ),
    (
        "#x = :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails(
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x",
        ),
    ),
    (
        "s = :v",
        "",
        r#"{":v":{"S":"a"},":w":{"S":"b"},":a":{"S":"c"}}"#,
        Fails("Value provided in ExpressionAttributeValues unused in expressions: keys: {:a, :w}"),
    ),
    (
        "s = :v",
        r##"{"#u":"x"}"##,
        r#"{":v":{"S":"a"}}"#,
        Fails("Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}"),
    ),
    (
        "s = :v",
        "{}",
        r#"{":v":{"S":"a"}}"#,
        Fails("ExpressionAttributeNames must not be empty"),
    ),
    (
        "s = :v",
        "",
        "{}",
        Fails("ExpressionAttributeValues must not be empty"),
    ),
    (
        "s = :v",
        r#"{"u":"x"}"#,
        r#"{":v":{"S":"a"}}"#,
        Fails("ExpressionAttributeNames contains invalid key: Syntax error; key: \"u\""),
    ),
    (
        "s = :v",
        "",
        r#"{":v":{"S":"a"},"v-2":{"S":"b"}}"#,
        Fails("ExpressionAttributeValues contains invalid key: Syntax error; key: \"v-2\""),
    ),
    // EX-03 reserved words
    (
        "name = :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails(
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name",
        ),
    ),
    (
        "m.Status = :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails(
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: Status",
        ),
    ),
    // EX-10 redundant parentheses
    (
        "((s = :v))",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: The expression has redundant parentheses;"),
    ),
    (
        "((s)) = :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: The expression has redundant parentheses;"),
    ),
    // EX-11 syntax errors
    (
        "s = ",
        "",
        "",
        Fails("Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"= \""),
    ),
    (
        "s == :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: Syntax error; token: \"=\", near: \"== :v\""),
    ),
    (
        "s = :v AND",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\""),
    ),
    (
        "s = :v!",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: Syntax error; token: \"!\", near: \":v!\""),
    ),
    (
        "_a = :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: Syntax error; token: \"_\", near: \"_a\""),
    ),
    (
        "l[-1] = :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: Syntax error; token: \"-\", near: \"[-1\""),
    ),
    (
        "l[0.4] = :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: Syntax error; token: \".\", near: \"0.4\""),
    ),
    (
        "n IN ()",
        "",
        "",
        Fails("Invalid ConditionExpression: Syntax error; token: \")\", near: \"()\""),
    ),
    (
        "s",
        "",
        "",
        Fails("Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"s\""),
    ),
    (
        "s = :v :v",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails("Invalid ConditionExpression: Syntax error; token: \":v\", near: \":v :v\""),
    ),
    (
        "",
        "",
        "",
        Fails("Invalid ConditionExpression: The expression can not be empty;"),
    ),
    (
        "  ",
        "",
        "",
        Fails("Invalid ConditionExpression: The expression can not be empty;"),
    ),
    // EX-15..EX-20 function rules
    (
        "foo(s)",
        "",
        "",
        Fails("Invalid ConditionExpression: Invalid function name; function: foo"),
    ),
    (
        "Size(s) = :v",
        "",
        r#"{":v":{"N":"1"}}"#,
        Fails("Invalid ConditionExpression: Invalid function name; function: Size"),
    ),
    (
        "size(s)",
        "",
        "",
        Fails(
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size",
        ),
    ),
    (
        "begins_with(s, :p) = :v",
        "",
        r#"{":p":{"S":"a"},":v":{"BOOL":true}}"#,
        Fails(
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: begins_with",
        ),
    ),
    (
        "attribute_exists(:v)",
        "",
        r#"{":v":{"S":"a"}}"#,
        Fails(
            "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists",
        ),
    ),
    (
        "attribute_exists(s, n)",
        "",
        "",
        Fails(
            "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2",
        ),
    ),
    (
        "attribute_type(s, :t)",
        "",
        r#"{":t":{"S":"X"}}"#,
        Fails(
            "Invalid ConditionExpression: Invalid attribute type name found; type: X, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
    ),
    (
        "attribute_type(s, :t)",
        "",
        r#"{":t":{"N":"1"}}"#,
        Fails(
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N",
        ),
    ),
    (
        "begins_with(s, :n)",
        "",
        r#"{":n":{"N":"1"}}"#,
        Fails(
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
    ),
    (
        "contains(s, s)",
        "",
        "",
        Fails(
            "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [s]",
        ),
    ),
    (
        "m.#a = m.x",
        r##"{"#a":"x"}"##,
        "",
        Fails(
            "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [m, x]",
        ),
    ),
    (
        "n BETWEEN :b AND :a",
        "",
        r#"{":a":{"N":"1"},":b":{"N":"10"}}"#,
        Fails(
            "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:1}",
        ),
    ),
    (
        "n BETWEEN :a AND :s",
        "",
        r#"{":a":{"N":"1"},":s":{"S":"x"}}"#,
        Fails(
            "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:x}",
        ),
    ),
    (
        "size(:n) > :m",
        "",
        r#"{":n":{"N":"1"},":m":{"N":"1"}}"#,
        Fails(
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N",
        ),
    ),
];

#[test]
fn ex_condition_table() {
    let item = item();
    let config = EngineConfig::default();
    let mut cache = ExprCache::new(64);
    let mut failures = Vec::new();
    for (expr, n, v, expected) in CONDITIONS {
        let (n, v) = (names(n), values(v));
        let bindings = Bindings {
            names: n.as_ref(),
            values: v.as_ref(),
        };
        let got =
            evaluate_condition(&mut cache, expr, bindings, &item, &config).map_err(|e| e.message);
        let ok = match (expected, &got) {
            (True, Ok(true)) | (False, Ok(false)) => true,
            (Fails(m), Err(g)) => m == g,
            _ => false,
        };
        if !ok {
            failures.push(format!("{expr:?}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// DM-18 and EX-02 bounds whose DynamoDB wording is unknown: the simulator's own
/// messages, pinned so they stay stable.
#[test]
fn dm18_ex02_path_depth_and_in_operand_limits() {
    let item = item();
    let config = EngineConfig::default();
    let mut cache = ExprCache::new(8);
    let values = values(r#"{":v":{"S":"a"}}"#);
    let bindings = Bindings {
        names: None,
        values: values.as_ref(),
    };
    let deep_ok = format!("a{} = :v", ".b".repeat(32));
    assert!(evaluate_condition(&mut cache, &deep_ok, bindings, &item, &config).is_ok());
    let too_deep = format!("a{} = :v", ".b".repeat(33));
    assert_eq!(
        evaluate_condition(&mut cache, &too_deep, bindings, &item, &config)
            .unwrap_err()
            .message,
        "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 33"
    );
    let in_100 = format!("s IN ({})", vec![":v"; 100].join(", "));
    assert!(evaluate_condition(&mut cache, &in_100, bindings, &item, &config).is_ok());
    let in_101 = format!("s IN ({})", vec![":v"; 101].join(", "));
    assert_eq!(
        evaluate_condition(&mut cache, &in_101, bindings, &item, &config)
            .unwrap_err()
            .message,
        "Invalid ConditionExpression: Too many operands for the IN operator; operator: IN, number of operands: 101, maximum: 100"
    );
}

#[test]
fn ex02_expression_size_limit() {
    let expr = format!("s = :v{}", " ".repeat(4091));
    let values = values(r#"{":v":{"S":"a"}}"#);
    let err = evaluate_condition(
        &mut ExprCache::new(4),
        &expr,
        Bindings {
            names: None,
            values: values.as_ref(),
        },
        &item(),
        &EngineConfig::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.message,
        "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097"
    );
}

/// The item every update row starts from.
const UPDATE_ITEM: &str = r#"{
  "pk": {"S": "k1"},
  "n": {"N": "10"},
  "l": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]},
  "m": {"M": {"x": {"N": "1"}}},
  "ss": {"SS": ["a", "b"]}
}"#;

/// Values every update row may use; rows list only the ones they use.
fn update_values(used: &[&str]) -> Option<AttributeValues> {
    let all: AttributeValues = serde_json::from_str(
        r#"{":one":{"N":"1"},":zero":{"N":"0"},":s":{"S":"str"},":l2":{"L":[{"N":"4"}]},
            ":a":{"S":"A"},":b":{"S":"B"},":ss2":{"SS":["c"]},":ssa":{"SS":["a"]},":ssab":{"SS":["a","b"]}}"#,
    )
    .unwrap();
    let picked: AttributeValues = all
        .into_iter()
        .filter(|(k, _)| used.contains(&k.as_str()))
        .collect();
    (!picked.is_empty()).then_some(picked)
}

fn placeholders_in(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' {
            let start = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(&expr[start..i]);
        } else {
            i += 1;
        }
    }
    out
}

/// (update expression, names, expected ALL_NEW item or error message).
const UPDATES: &[(&str, &str, Result<&str, &str>)] = &[
    // UX-02 SET, + and -
    (
        "SET a = :s",
        "",
        Ok(
            r#"{"a":{"S":"str"},"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET n = n + :one",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"11"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "set n = :one - n",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"-9"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET n = (n + :one)",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"11"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    // UX-03 if_not_exists, list_append
    (
        "SET a = if_not_exists(a, :zero), n = if_not_exists(n, :zero)",
        "",
        Ok(
            r#"{"a":{"N":"0"},"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET l = list_append(l, :l2)",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"},{"N":"4"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET l = list_append(:l2, l)",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"4"},{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET q = list_append(if_not_exists(q, :l2), :l2)",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"q":{"L":[{"N":"4"},{"N":"4"}]},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    // UX-04 list elements
    (
        "SET l[1] = :s",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"S":"str"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET l[10] = :s",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"},{"S":"str"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET l[5] = :a, l[4] = :b",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"},{"S":"B"},{"S":"A"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET m.y = :s",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"},"y":{"S":"str"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "SET #k = :s",
        r##"{"#k":"a.b"}"##,
        Ok(
            r#"{"a.b":{"S":"str"},"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    // UX-05 REMOVE
    (
        "REMOVE l[0], l[2]",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"2"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "REMOVE nope, m.x, l[7]",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    // UX-06 ADD
    (
        "ADD n :one, newn :one",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"11"},"newn":{"N":"1"},"pk":{"S":"k1"},"ss":{"SS":["a","b"]}}"#,
        ),
    ),
    (
        "ADD ss :ss2, fresh :ss2",
        "",
        Ok(
            r#"{"fresh":{"SS":["c"]},"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["a","b","c"]}}"#,
        ),
    ),
    // UX-07 DELETE
    (
        "DELETE ss :ssa",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"},"ss":{"SS":["b"]}}"#,
        ),
    ),
    (
        "DELETE ss :ssab, nothing :ssa",
        "",
        Ok(
            r#"{"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"},"pk":{"S":"k1"}}"#,
        ),
    ),
    // UX-01 clauses in any order, once each
    (
        "REMOVE m ADD n :one SET a = :s DELETE ss :ssa",
        "",
        Ok(
            r#"{"a":{"S":"str"},"l":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"n":{"N":"11"},"pk":{"S":"k1"},"ss":{"SS":["b"]}}"#,
        ),
    ),
    (
        "SET a = :s SET b = :s",
        "",
        Err(
            "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;",
        ),
    ),
    (
        "REMOVE a remove b",
        "",
        Err(
            "Invalid UpdateExpression: The \"REMOVE\" section can only be used once in an update expression;",
        ),
    ),
    // UX-02 operand errors
    (
        "SET n = n + :s",
        "",
        Err(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S",
        ),
    ),
    (
        "SET a = nope + :one",
        "",
        Err("The provided expression refers to an attribute that does not exist in the item"),
    ),
    (
        "SET a = :one + :one + :one",
        "",
        Err("Invalid UpdateExpression: Syntax error; token: \"+\", near: \":one + :one\""),
    ),
    (
        "SET l = list_append(l, :s)",
        "",
        Err(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S",
        ),
    ),
    (
        "SET n = list_append(n, :l2)",
        "",
        Err("An operand in the update expression has an incorrect data type"),
    ),
    (
        "SET a = foo(n)",
        "",
        Err("Invalid UpdateExpression: Invalid function name; function: foo"),
    ),
    (
        "SET a = size(n)",
        "",
        Err("Invalid UpdateExpression: Invalid function name; function: size"),
    ),
    (
        "SET a = if_not_exists(:s, n)",
        "",
        Err(
            "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists",
        ),
    ),
    (
        "SET a = list_append(l)",
        "",
        Err(
            "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1",
        ),
    ),
    // UX-04 invalid document paths, DM-23 keys
    (
        "SET m.q.r = :s",
        "",
        Err("The document path provided in the update expression is invalid for update"),
    ),
    (
        "SET n.x = :s",
        "",
        Err("The document path provided in the update expression is invalid for update"),
    ),
    (
        "SET pk = :s",
        "",
        Err("Cannot update attribute pk. This attribute is part of the key"),
    ),
    (
        "REMOVE pk",
        "",
        Err("Cannot update attribute pk. This attribute is part of the key"),
    ),
    // UX-09 overlaps and conflicts
    (
        "SET a = :s, a = :one",
        "",
        Err(
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
    ),
    (
        "SET m = :s REMOVE m.x",
        "",
        Err(
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, x]",
        ),
    ),
    (
        "SET l[0] = :s REMOVE l.x",
        "",
        Err(
            "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [l, [0]], path two: [l, x]",
        ),
    ),
    (
        "SET #a = :s, a = :one",
        r##"{"#a":"a"}"##,
        Err(
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
    ),
    // UX-06 / UX-07 / UX-10 types
    (
        "ADD a :s",
        "",
        Err(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
        ),
    ),
    (
        "ADD a :l2",
        "",
        Err(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: LIST",
        ),
    ),
    (
        "DELETE ss :one",
        "",
        Err(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER",
        ),
    ),
    (
        "ADD ss :one",
        "",
        Err("An operand in the update expression has an incorrect data type"),
    ),
    (
        "ADD n :ss2",
        "",
        Err("An operand in the update expression has an incorrect data type"),
    ),
    (
        "DELETE n :ss2",
        "",
        Err("An operand in the update expression has an incorrect data type"),
    ),
    // EX-03, EX-11 syntax and reserved words
    (
        "SET data = :s",
        "",
        Err(
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: data",
        ),
    ),
    (
        "REMOVE",
        "",
        Err("Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"REMOVE\""),
    ),
    (
        "SET a :s",
        "",
        Err("Invalid UpdateExpression: Syntax error; token: \":s\", near: \"a :s\""),
    ),
    (
        "ADD a = :one",
        "",
        Err("Invalid UpdateExpression: Syntax error; token: \"=\", near: \"a = :one\""),
    ),
    (
        "UPDATE a = :s",
        "",
        Err("Invalid UpdateExpression: Syntax error; token: \"UPDATE\", near: \"UPDATE a\""),
    ),
    (
        "SET _123 = :s",
        "",
        Err("Invalid UpdateExpression: Syntax error; token: \"_\", near: \"SET _123\""),
    ),
    (
        "",
        "",
        Err("Invalid UpdateExpression: The expression can not be empty;"),
    ),
];

fn table_engine() -> Engine {
    let mut engine = Engine::default();
    engine
        .create_table(
            CreateTableInput {
                table_name: "tbl".into(),
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

#[test]
fn ux_update_table() {
    let mut failures = Vec::new();
    for (expr, n, expected) in UPDATES {
        let mut engine = table_engine();
        let start: Item = serde_json::from_str(UPDATE_ITEM).unwrap();
        engine
            .put_item(
                PutItemInput {
                    table_name: "tbl".into(),
                    item: start,
                    ..Default::default()
                },
                SimTime::ZERO,
            )
            .unwrap();
        let input = UpdateItemInput {
            table_name: "tbl".into(),
            key: serde_json::from_str(r#"{"pk":{"S":"k1"}}"#).unwrap(),
            update_expression: Some(expr.to_string()),
            expression_attribute_names: names(n),
            expression_attribute_values: update_values(&placeholders_in(expr)),
            return_values: Some("ALL_NEW".into()),
            ..Default::default()
        };
        let got = engine
            .update_item(input, SimTime::ZERO)
            .map(|o| serde_json::to_string(&o.output.attributes.unwrap()).unwrap())
            .map_err(|e| e.message);
        let ok = match (expected, &got) {
            (Ok(want), Ok(g)) => want == g,
            (Err(want), Err(g)) => want == g,
            _ => false,
        };
        if !ok {
            failures.push(format!("{expr:?}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// (projection expression, names, expected projected item or error message) — PX-01.
const PROJECTIONS: &[(&str, &str, Result<&str, &str>)] = &[
    (
        "n, l[1], m.x",
        "",
        Ok(r#"{"l":{"L":[{"N":"2"}]},"m":{"M":{"x":{"N":"1"}}},"n":{"N":"10"}}"#),
    ),
    (
        "l[0], l[2].c",
        "",
        Ok(r#"{"l":{"L":[{"S":"a"},{"M":{"c":{"S":"deep"}}}]}}"#),
    ),
    (
        "m.x, m.y[0]",
        "",
        Ok(r#"{"m":{"M":{"x":{"N":"1"},"y":{"L":[{"N":"5"}]}}}}"#),
    ),
    ("nope, m.nothing, l[9]", "", Ok("{}")),
    (
        "#k, m.#d",
        r##"{"#k":"a.b","#d":"dot.name"}"##,
        Ok(r#"{"a.b":{"S":"literal dotted"},"m":{"M":{"dot.name":{"S":"dotted"}}}}"#),
    ),
    (
        "n, n",
        "",
        Err(
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [n], path two: [n]",
        ),
    ),
    (
        "m, m.x",
        "",
        Err(
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, x]",
        ),
    ),
    (
        "l[0], l.x",
        "",
        Err(
            "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [l, [0]], path two: [l, x]",
        ),
    ),
    (
        "name",
        "",
        Err(
            "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name",
        ),
    ),
    (
        "#x",
        "",
        Err(
            "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #x",
        ),
    ),
    (
        "n",
        r##"{"#x":"n"}"##,
        Err("Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}"),
    ),
    (
        "n,",
        "",
        Err("Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\""),
    ),
    (
        "n = :v",
        "",
        Err("Invalid ProjectionExpression: Syntax error; token: \"=\", near: \"n = :v\""),
    ),
];

#[test]
fn px_projection_table() {
    let mut engine = table_engine();
    engine
        .put_item(
            PutItemInput {
                table_name: "tbl".into(),
                item: item(),
                ..Default::default()
            },
            SimTime::ZERO,
        )
        .unwrap();
    let mut failures = Vec::new();
    for (expr, n, expected) in PROJECTIONS {
        let input = GetItemInput {
            table_name: "tbl".into(),
            key: serde_json::from_str(r#"{"pk":{"S":"k1"}}"#).unwrap(),
            projection_expression: Some(expr.to_string()),
            expression_attribute_names: names(n),
            ..Default::default()
        };
        let got = engine
            .get_item(&input, SimTime::ZERO)
            .map(|o| serde_json::to_string(&o.item.unwrap()).unwrap())
            .map_err(|e| e.message);
        let ok = match (expected, &got) {
            (Ok(want), Ok(g)) => want == g,
            (Err(want), Err(g)) => want == g,
            _ => false,
        };
        if !ok {
            failures.push(format!("{expr:?}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn repeated_update_does_not_reparse() {
    let mut engine = table_engine();
    for i in 0..50 {
        let input = UpdateItemInput {
            table_name: "tbl".into(),
            key: serde_json::from_str(r#"{"pk":{"S":"k1"}}"#).unwrap(),
            update_expression: Some("ADD n :one".into()),
            condition_expression: Some("attribute_not_exists(n) OR n < :max".into()),
            expression_attribute_values: serde_json::from_str(
                r#"{":one":{"N":"1"},":max":{"N":"1000"}}"#,
            )
            .unwrap(),
            ..Default::default()
        };
        engine.update_item(input, SimTime::from_ms(i)).unwrap();
    }
    assert_eq!(engine.expression_parses(), 2);
}
