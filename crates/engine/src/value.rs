//! The attribute-value model (DM-01..DM-18) and its DynamoDB JSON form.
//!
//! `{"S":"x"}`, `{"N":"1.5"}`, `{"B":"<base64>"}`, `{"BOOL":true}`, `{"NULL":true}`,
//! `{"M":{..}}`, `{"L":[..]}`, `{"SS":[..]}`, `{"NS":[..]}`, `{"BS":[..]}`.
//! Deserialising checks the wire rules (exactly one tag, NULL true, number syntax and
//! range, no duplicates, no empty sets) with DynamoDB's messages; the engine checks the
//! structural rules again (`validate_value`) for values built in code.

use crate::error::EngineError;
use crate::number::Number;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;

/// An item: attribute name to value, iterated in name order (deterministic).
pub type Item = crate::attr_map::AttrMap;

/// Deepest nesting of maps and lists (DM-18).
pub const NESTING_LEVELS_MAX: usize = 32;

/// One DynamoDB attribute value (DM-01). Sets are ordered sets: duplicates are
/// impossible by construction and iteration is deterministic (DM-15: order not kept).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(crate::attr_map::AttrMap),
    L(Vec<AttributeValue>),
    Ss(BTreeSet<String>),
    Ns(BTreeSet<Number>),
    Bs(BTreeSet<Vec<u8>>),
}

/// The ten wire type tags (DM-01).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl ValueType {
    /// The wire tag, e.g. `BOOL`.
    pub fn tag(self) -> &'static str {
        match self {
            ValueType::S => "S",
            ValueType::N => "N",
            ValueType::B => "B",
            ValueType::Bool => "BOOL",
            ValueType::Null => "NULL",
            ValueType::M => "M",
            ValueType::L => "L",
            ValueType::Ss => "SS",
            ValueType::Ns => "NS",
            ValueType::Bs => "BS",
        }
    }
    pub fn from_tag(tag: &str) -> Option<ValueType> {
        Some(match tag {
            "S" => ValueType::S,
            "N" => ValueType::N,
            "B" => ValueType::B,
            "BOOL" => ValueType::Bool,
            "NULL" => ValueType::Null,
            "M" => ValueType::M,
            "L" => ValueType::L,
            "SS" => ValueType::Ss,
            "NS" => ValueType::Ns,
            "BS" => ValueType::Bs,
            _ => return None,
        })
    }
    /// The long upper-case name some messages use (`STRING`, `NUMBER`, ...).
    pub fn long_name(self) -> &'static str {
        match self {
            ValueType::S => "STRING",
            ValueType::N => "NUMBER",
            ValueType::B => "BINARY",
            ValueType::Bool => "BOOLEAN",
            ValueType::Null => "NULL",
            ValueType::M => "MAP",
            ValueType::L => "LIST",
            ValueType::Ss => "STRING_SET",
            ValueType::Ns => "NUMBER_SET",
            ValueType::Bs => "BINARY_SET",
        }
    }
    pub fn is_set(self) -> bool {
        matches!(self, ValueType::Ss | ValueType::Ns | ValueType::Bs)
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl AttributeValue {
    pub fn value_type(&self) -> ValueType {
        match self {
            AttributeValue::S(_) => ValueType::S,
            AttributeValue::N(_) => ValueType::N,
            AttributeValue::B(_) => ValueType::B,
            AttributeValue::Bool(_) => ValueType::Bool,
            AttributeValue::Null => ValueType::Null,
            AttributeValue::M(_) => ValueType::M,
            AttributeValue::L(_) => ValueType::L,
            AttributeValue::Ss(_) => ValueType::Ss,
            AttributeValue::Ns(_) => ValueType::Ns,
            AttributeValue::Bs(_) => ValueType::Bs,
        }
    }

    /// Convenience constructor for a string value.
    pub fn s(text: impl Into<String>) -> AttributeValue {
        AttributeValue::S(text.into())
    }
    /// Convenience constructor for a number value; panics on an invalid literal, so
    /// use it only with constants (tests, examples). Parse input with [`Number::parse`].
    pub fn n(text: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(text).expect("valid number literal"))
    }

    /// Checks the rules a value must satisfy wherever it appears (DM-14, DM-18):
    /// no empty set at any depth, at most 32 levels of maps and lists.
    pub fn validate(&self) -> Result<(), EngineError> {
        self.validate_at(1)
    }

    fn validate_at(&self, depth: usize) -> Result<(), EngineError> {
        match self {
            AttributeValue::Ss(set) if set.is_empty() => Err(empty_set()),
            AttributeValue::Ns(set) if set.is_empty() => Err(empty_set()),
            AttributeValue::Bs(set) if set.is_empty() => Err(empty_set()),
            AttributeValue::M(map) => {
                check_depth(depth)?;
                map.values().try_for_each(|v| v.validate_at(depth + 1))
            }
            AttributeValue::L(list) => {
                check_depth(depth)?;
                list.iter().try_for_each(|v| v.validate_at(depth + 1))
            }
            _ => Ok(()),
        }
    }
}

fn check_depth(depth: usize) -> Result<(), EngineError> {
    if depth > NESTING_LEVELS_MAX {
        return Err(EngineError::validation(
            "Nesting Levels have exceeded supported limits",
        ));
    }
    Ok(())
}

fn empty_set() -> EngineError {
    EngineError::validation(
        "One or more parameter values were invalid: An AttributeValue may not contain an empty set.",
    )
}

/// Checks every attribute of an item: names non-empty and at most 64 KB (DM-32),
/// values valid (DM-14, DM-18).
pub fn validate_item(item: &Item) -> Result<(), EngineError> {
    for (name, value) in item {
        validate_attribute_name(name)?;
        value.validate()?;
    }
    Ok(())
}

/// Largest attribute name in bytes (DM-32).
pub const ATTRIBUTE_NAME_BYTES_MAX: usize = 65_535;

/// DM-32: an attribute name is 1 to 65,535 bytes.
pub fn validate_attribute_name(name: &str) -> Result<(), EngineError> {
    if name.is_empty() {
        return Err(EngineError::validation(
            "One or more parameter values were invalid: An attribute name can not be empty",
        ));
    }
    if name.len() > ATTRIBUTE_NAME_BYTES_MAX {
        return Err(EngineError::validation(
            "One or more parameter values were invalid: Attribute name exceeds the maximum length of 65535 bytes",
        ));
    }
    Ok(())
}

impl fmt::Debug for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(json) => f.write_str(&json),
            Err(_) => f.write_str("<unserializable>"),
        }
    }
}

impl Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct B64<'a>(&'a [u8]);
        impl Serialize for B64<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&BASE64.encode(self.0))
            }
        }
        struct B64Set<'a>(&'a BTreeSet<Vec<u8>>);
        impl Serialize for B64Set<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
                for bytes in self.0 {
                    seq.serialize_element(&B64(bytes))?;
                }
                seq.end()
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        let tag = self.value_type().tag();
        match self {
            AttributeValue::S(s) => map.serialize_entry(tag, s)?,
            AttributeValue::N(n) => map.serialize_entry(tag, n)?,
            AttributeValue::B(b) => map.serialize_entry(tag, &B64(b))?,
            AttributeValue::Bool(b) => map.serialize_entry(tag, b)?,
            AttributeValue::Null => map.serialize_entry(tag, &true)?,
            AttributeValue::M(m) => map.serialize_entry(tag, m)?,
            AttributeValue::L(l) => map.serialize_entry(tag, l)?,
            AttributeValue::Ss(s) => map.serialize_entry(tag, s)?,
            AttributeValue::Ns(s) => map.serialize_entry(tag, s)?,
            AttributeValue::Bs(s) => map.serialize_entry(tag, &B64Set(s))?,
        }
        map.end()
    }
}

/// Messages of wire-level validation errors raised while deserialising; the request
/// decoder ([`crate::api::decode_request`]) maps them to ValidationException.
pub(crate) const VALIDATION_MESSAGE_PREFIXES: &[&str] = &[
    "Supplied AttributeValue",
    "One or more parameter values were invalid",
    "Null attribute value types must have the value of true",
    "Number overflow",
    "Number underflow",
    "Attempting to store more than 38 significant digits",
    "The parameter cannot be converted to a numeric value",
    "Input collection contains duplicates",
    "Nesting Levels have exceeded supported limits",
];

fn decode_base64<E: de::Error>(text: &str) -> Result<Vec<u8>, E> {
    BASE64
        .decode(text)
        .map_err(|e| E::custom(format!("'{text}' can not be converted to a Blob: {e}")))
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AttributeValue, D::Error> {
        deserializer.deserialize_map(ValueVisitor)
    }
}

struct ValueVisitor;

/// Reads a value's type tag (`"S"`, `"N"`, ...) straight from the input, without a
/// `String` per attribute value (requests are mostly such tags); an unknown tag comes
/// back as text for the error message.
struct TagSeed;

impl<'de> de::DeserializeSeed<'de> for TagSeed {
    type Value = Result<ValueType, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(TagSeed)
    }
}

impl<'de> Visitor<'de> for TagSeed {
    type Value = Result<ValueType, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AttributeValue type tag")
    }

    fn visit_str<E: de::Error>(self, tag: &str) -> Result<Self::Value, E> {
        Ok(ValueType::from_tag(tag).ok_or_else(|| tag.to_string()))
    }
}

/// Reads an `N` value (a string, or null for "not set") and parses it where it lies in
/// the input, without a `String` per number; a bad number comes back as its message.
/// Accepts and rejects exactly what `Option<String>` does, with the same messages.
struct NumberSeed;

impl<'de> de::DeserializeSeed<'de> for NumberSeed {
    type Value = Option<Result<Number, String>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(NumberSeed)
    }
}

impl<'de> Visitor<'de> for NumberSeed {
    type Value = Option<Result<Number, String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_string(NumberText).map(Some)
    }
}

struct NumberText;

impl<'de> Visitor<'de> for NumberText {
    type Value = Result<Number, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Number::parse(text).map_err(|e| e.message))
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a DynamoDB AttributeValue object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<AttributeValue, A::Error> {
        let mut found: Option<AttributeValue> = None;
        let mut tags = 0usize;
        let mut first_error: Option<String> = None;
        while let Some(tag) = access.next_key_seed(TagSeed)? {
            let value_type = match tag {
                Ok(value_type) => value_type,
                Err(tag) => {
                    return Err(de::Error::custom(format!("Unexpected field type: {tag}")));
                }
            };
            // A JSON null counts as "not set", as in DynamoDB's request parser.
            let parsed = match value_type {
                ValueType::S => access
                    .next_value::<Option<String>>()?
                    .map(AttributeValue::S),
                ValueType::N => access
                    .next_value_seed(NumberSeed)?
                    .map(|parsed| match parsed {
                        Ok(n) => AttributeValue::N(n),
                        Err(message) => {
                            first_error.get_or_insert(message);
                            AttributeValue::Null
                        }
                    }),
                ValueType::B => match access.next_value::<Option<String>>()? {
                    Some(text) => Some(AttributeValue::B(decode_base64(&text)?)),
                    None => None,
                },
                ValueType::Bool => access
                    .next_value::<Option<bool>>()?
                    .map(AttributeValue::Bool),
                ValueType::Null => match access.next_value::<Option<bool>>()? {
                    Some(true) => Some(AttributeValue::Null),
                    Some(false) => {
                        first_error.get_or_insert(
                            "Null attribute value types must have the value of true".into(),
                        );
                        Some(AttributeValue::Null)
                    }
                    None => None,
                },
                ValueType::M => access
                    .next_value::<Option<crate::attr_map::AttrMap>>()?
                    .map(AttributeValue::M),
                ValueType::L => access
                    .next_value::<Option<Vec<AttributeValue>>>()?
                    .map(AttributeValue::L),
                ValueType::Ss => access.next_value::<Option<Vec<String>>>()?.map(|list| {
                    string_set(list).unwrap_or_else(|m| {
                        first_error.get_or_insert(m);
                        AttributeValue::Null
                    })
                }),
                ValueType::Ns => access.next_value::<Option<Vec<String>>>()?.map(|list| {
                    number_set(list).unwrap_or_else(|m| {
                        first_error.get_or_insert(m);
                        AttributeValue::Null
                    })
                }),
                ValueType::Bs => match access.next_value::<Option<Vec<String>>>()? {
                    Some(list) => Some(binary_set::<A::Error>(list)?.unwrap_or_else(|m| {
                        first_error.get_or_insert(m);
                        AttributeValue::Null
                    })),
                    None => None,
                },
            };
            if let Some(value) = parsed {
                tags += 1;
                found = Some(value);
            }
        }
        if let Some(message) = first_error {
            return Err(de::Error::custom(message));
        }
        match (tags, found) {
            (1, Some(value)) => Ok(value),
            (0, _) | (_, None) => Err(de::Error::custom(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            )),
            _ => Err(de::Error::custom(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            )),
        }
    }
}

fn empty_set_message() -> String {
    "One or more parameter values were invalid: An AttributeValue may not contain an empty set."
        .to_string()
}

fn string_set(list: Vec<String>) -> Result<AttributeValue, String> {
    if list.is_empty() {
        return Err(empty_set_message());
    }
    let shown = format!("[{}]", list.join(", "));
    let count = list.len();
    let set: BTreeSet<String> = list.into_iter().collect();
    if set.len() != count {
        return Err(format!(
            "One or more parameter values were invalid: Input collection {shown} contains duplicates."
        ));
    }
    Ok(AttributeValue::Ss(set))
}

/// DM-15: "1" and "1.0" are the same number, so they count as duplicates.
fn number_set(list: Vec<String>) -> Result<AttributeValue, String> {
    if list.is_empty() {
        return Err(empty_set_message());
    }
    let count = list.len();
    let mut set = BTreeSet::new();
    for text in &list {
        set.insert(Number::parse(text).map_err(|e| e.message)?);
    }
    if set.len() != count {
        return Err("Input collection contains duplicates".to_string());
    }
    Ok(AttributeValue::Ns(set))
}

fn binary_set<E: de::Error>(list: Vec<String>) -> Result<Result<AttributeValue, String>, E> {
    if list.is_empty() {
        return Ok(Err(empty_set_message()));
    }
    let shown = format!("[{}]", list.join(", "));
    let count = list.len();
    let mut set = BTreeSet::new();
    for text in &list {
        set.insert(decode_base64::<E>(text)?);
    }
    if set.len() != count {
        return Ok(Err(format!(
            "One or more parameter values were invalid: Input collection {shown}of type BS contains duplicates."
        )));
    }
    Ok(Ok(AttributeValue::Bs(set)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<AttributeValue, String> {
        serde_json::from_str::<AttributeValue>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn dm01_round_trips_every_type() {
        for json in [
            r#"{"S":"x"}"#,
            r#"{"N":"1.5"}"#,
            r#"{"B":"AAEC"}"#,
            r#"{"BOOL":false}"#,
            r#"{"NULL":true}"#,
            r#"{"M":{"a":{"S":""},"b":{"L":[]}}}"#,
            r#"{"L":[{"N":"1"},{"S":"a"}]}"#,
            r#"{"SS":["a","b"]}"#,
            r#"{"NS":["-1","2"]}"#,
            r#"{"BS":["AA==","AQ=="]}"#,
        ] {
            let value = parse(json).unwrap();
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
        }
    }

    #[test]
    fn dm03_dm04_dm15_wire_errors() {
        assert!(
            parse("{}")
                .unwrap_err()
                .starts_with("Supplied AttributeValue is empty")
        );
        assert!(
            parse(r#"{"S":null}"#)
                .unwrap_err()
                .starts_with("Supplied AttributeValue is empty")
        );
        assert!(
            parse(r#"{"S":"a","N":"1"}"#)
                .unwrap_err()
                .starts_with("Supplied AttributeValue has more than one datatypes set")
        );
        assert!(
            parse(r#"{"NULL":false}"#)
                .unwrap_err()
                .starts_with("Null attribute value types must have the value of true")
        );
        assert!(
            parse(r#"{"NS":["1","1.0"]}"#)
                .unwrap_err()
                .starts_with("Input collection contains duplicates")
        );
        assert!(
            parse(r#"{"SS":["a","a"]}"#)
                .unwrap_err()
                .starts_with("One or more parameter values were invalid: Input collection [a, a] contains duplicates.")
        );
        assert!(
            parse(r#"{"SS":[]}"#)
                .unwrap_err()
                .contains("may not contain an empty set")
        );
        assert!(
            parse(r#"{"N":"x"}"#)
                .unwrap_err()
                .starts_with("The parameter cannot be converted to a numeric value: x")
        );
        assert!(
            parse(r#"{"B":"!!"}"#)
                .unwrap_err()
                .contains("can not be converted to a Blob")
        );
    }

    /// `N` is read in place (no `String`): its answers must be those of reading it as an
    /// `Option<String>` and parsing that, as it was done before, errors included.
    #[test]
    fn numbers_decode_as_through_an_optional_string() {
        let through_string = |json: &str| -> Result<AttributeValue, String> {
            let text: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
            let n: Option<String> =
                serde_json::from_value(text["N"].clone()).map_err(|e| e.to_string())?;
            match n {
                None => Err("Supplied AttributeValue is empty".into()),
                Some(n) => Number::parse(&n)
                    .map(AttributeValue::N)
                    .map_err(|e| e.message),
            }
        };
        for json in [
            r#"{"N":"12.50"}"#,
            r#"{"N":"-0.000e5"}"#,
            r#"{"N":"1\u0030"}"#,
            r#"{"N":""}"#,
            r#"{"N":"1e200"}"#,
            r#"{"N":"x"}"#,
        ] {
            let strip = |m: String| m.split(" at line").next().unwrap_or_default().to_string();
            assert_eq!(parse(json).map_err(strip), through_string(json), "{json}");
        }
        assert!(
            parse(r#"{"N":null}"#)
                .unwrap_err()
                .starts_with("Supplied AttributeValue is empty")
        );
        for json in [r#"{"N":5}"#, r#"{"N":true}"#, r#"{"N":["1"]}"#] {
            let message = parse(json).unwrap_err();
            let expected = serde_json::from_str::<Option<String>>(&json[5..json.len() - 1])
                .unwrap_err()
                .to_string();
            assert_eq!(
                message.split(" at line").next(),
                expected.split(" at line").next(),
                "{json}"
            );
        }
    }

    #[test]
    fn dm18_nesting_limit() {
        let mut value = AttributeValue::s("leaf");
        for _ in 0..NESTING_LEVELS_MAX {
            value = AttributeValue::L(vec![value]);
        }
        assert!(value.validate().is_ok());
        let too_deep = AttributeValue::M([("k".to_string(), value)].into_iter().collect());
        assert_eq!(
            too_deep.validate().unwrap_err().message,
            "Nesting Levels have exceeded supported limits"
        );
    }

    #[test]
    fn dm14_empty_set_rejected_in_code_built_values() {
        let value = AttributeValue::L(vec![AttributeValue::Ss(BTreeSet::new())]);
        assert!(value.validate().unwrap_err().message.contains("empty set"));
    }
}
