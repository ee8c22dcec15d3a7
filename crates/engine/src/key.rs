//! Key schemas (DM-19..DM-24) and [`ItemKey`], the encoded primary key used as the
//! storage map key here and by other crates.

use crate::error::EngineError;
use crate::number::Number;
use crate::value::{AttributeValue, Item};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest partition key value in bytes (DM-20).
pub const HASH_KEY_BYTES_MAX: usize = 2048;
/// Largest sort key value in bytes (DM-20).
pub const RANGE_KEY_BYTES_MAX: usize = 1024;

/// Key attribute types (DM-19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ScalarAttributeType {
    S,
    N,
    B,
}

impl ScalarAttributeType {
    pub fn tag(self) -> &'static str {
        match self {
            ScalarAttributeType::S => "S",
            ScalarAttributeType::N => "N",
            ScalarAttributeType::B => "B",
        }
    }
}

/// `HASH` (partition) or `RANGE` (sort).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyType {
    Hash,
    Range,
}

/// One element of a request's `KeySchema`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: KeyType,
}

/// One element of a request's `AttributeDefinitions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: ScalarAttributeType,
}

/// A key attribute: its name and declared type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyAttribute {
    pub name: String,
    pub attribute_type: ScalarAttributeType,
}

/// A validated primary key: a partition key and an optional sort key (CP-03).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeySchema {
    pub hash: KeyAttribute,
    pub range: Option<KeyAttribute>,
}

impl KeySchema {
    /// A schema with only a partition key.
    pub fn hash_only(name: impl Into<String>, attribute_type: ScalarAttributeType) -> KeySchema {
        KeySchema {
            hash: KeyAttribute {
                name: name.into(),
                attribute_type,
            },
            range: None,
        }
    }
    /// A schema with a partition key and a sort key.
    pub fn composite(
        hash: impl Into<String>,
        hash_type: ScalarAttributeType,
        range: impl Into<String>,
        range_type: ScalarAttributeType,
    ) -> KeySchema {
        KeySchema {
            hash: KeyAttribute {
                name: hash.into(),
                attribute_type: hash_type,
            },
            range: Some(KeyAttribute {
                name: range.into(),
                attribute_type: range_type,
            }),
        }
    }

    /// Key attributes in schema order (hash first).
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.hash).chain(self.range.as_ref())
    }

    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.attributes().any(|k| k.name == name)
    }

    /// The request form, for DescribeTable-style output.
    pub fn to_elements(&self) -> Vec<KeySchemaElement> {
        self.attributes()
            .zip([KeyType::Hash, KeyType::Range])
            .map(|(k, key_type)| KeySchemaElement {
                attribute_name: k.name.clone(),
                key_type,
            })
            .collect()
    }

    /// Validates `KeySchema` + `AttributeDefinitions` from a CreateTable request (CP-03).
    pub fn from_request(
        elements: &[KeySchemaElement],
        definitions: &[AttributeDefinition],
        reject_unused_definitions: bool,
    ) -> Result<KeySchema, EngineError> {
        let invalid =
            |m: &str| EngineError::validation(format!("1 validation error detected: {m}"));
        if elements.is_empty() || elements.len() > 2 {
            return Err(invalid(&format!(
                "Value '{elements:?}' at 'keySchema' failed to satisfy constraint: Member must have length {}",
                if elements.is_empty() {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 2"
                }
            )));
        }
        let lookup = |name: &str| -> Result<ScalarAttributeType, EngineError> {
            definitions.iter().find(|d| d.attribute_name == name).map(|d| d.attribute_type).ok_or_else(|| {
                EngineError::validation(
                    "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [".to_string()
                        + name
                        + "], AttributeDefinitions: ["
                        + &definitions.iter().map(|d| d.attribute_name.as_str()).collect::<Vec<_>>().join(", ")
                        + "]",
                )
            })
        };
        if elements[0].key_type != KeyType::Hash {
            return Err(EngineError::validation(
                "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
            ));
        }
        let hash = KeyAttribute {
            name: elements[0].attribute_name.clone(),
            attribute_type: lookup(&elements[0].attribute_name)?,
        };
        let range = match elements.get(1) {
            None => None,
            Some(e) if e.key_type != KeyType::Range => {
                return Err(EngineError::validation(
                    "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
                ));
            }
            Some(e) if e.attribute_name == hash.name => {
                return Err(EngineError::validation(
                    "Both the Hash Key and the Range Key element in the KeySchema have the same name",
                ));
            }
            Some(e) => Some(KeyAttribute {
                name: e.attribute_name.clone(),
                attribute_type: lookup(&e.attribute_name)?,
            }),
        };
        let schema = KeySchema { hash, range };
        for key in schema.attributes() {
            crate::value::validate_attribute_name(&key.name)?;
        }
        if reject_unused_definitions && definitions.len() != schema.attributes().count() {
            return Err(EngineError::validation(
                "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
            ));
        }
        Ok(schema)
    }
}

/// An encoded primary key: bytes whose order is the storage order (partition key, then
/// sort key; bytes order for S and B, numeric for N, DM-24). Equal keys encode equally,
/// so `ItemKey` is a map key for any crate (Ord + Hash). Keys of up to 30 encoded bytes
/// are stored inline, so comparing keys inside a map does not chase pointers.
/// Serialized as its byte sequence.
#[derive(Clone)]
pub struct ItemKey(Repr);

const INLINE_BYTES_MAX: usize = 30;

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        bytes: [u8; INLINE_BYTES_MAX],
    },
    Heap(Box<[u8]>),
}

impl PartialEq for ItemKey {
    /// Inline keys compare their fixed-size arrays (zero-padded, so equal keys have equal
    /// arrays): no `memcmp` call per hash map probe.
    #[inline]
    fn eq(&self, other: &ItemKey) -> bool {
        match (&self.0, &other.0) {
            (
                Repr::Inline {
                    len: len_a,
                    bytes: a,
                },
                Repr::Inline {
                    len: len_b,
                    bytes: b,
                },
            ) => len_a == len_b && a == b,
            _ => self.as_bytes() == other.as_bytes(),
        }
    }
}
impl Eq for ItemKey {}
impl PartialOrd for ItemKey {
    fn partial_cmp(&self, other: &ItemKey) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ItemKey {
    /// Byte order of the encodings. Inline keys are zero-padded, so comparing the padded
    /// arrays in big-endian words and then the lengths gives the same order as comparing
    /// the slices (a zero-padded prefix ties and the shorter key sorts first), without a
    /// `memcmp` call per comparison inside map searches.
    #[inline]
    fn cmp(&self, other: &ItemKey) -> std::cmp::Ordering {
        match (&self.0, &other.0) {
            (
                Repr::Inline {
                    len: len_a,
                    bytes: a,
                },
                Repr::Inline {
                    len: len_b,
                    bytes: b,
                },
            ) => {
                // Word by word, stopping at the first difference: most keys in a map
                // search differ in their first eight bytes.
                for at in INLINE_WORD_STARTS {
                    let ordering = inline_word(a, at).cmp(&inline_word(b, at));
                    if ordering.is_ne() {
                        return ordering;
                    }
                }
                len_a.cmp(len_b)
            }
            _ => self.as_bytes().cmp(other.as_bytes()),
        }
    }
}

/// Where the four big-endian words of the inline bytes start.
const INLINE_WORD_STARTS: [usize; 4] = [0, 8, 16, 24];

/// Eight inline bytes from `at` as a big-endian word (the last one padded with zeros):
/// comparing the words in order gives the byte order.
#[inline]
fn inline_word(bytes: &[u8; INLINE_BYTES_MAX], at: usize) -> u64 {
    let mut word = [0u8; 8];
    let end = (at + 8).min(INLINE_BYTES_MAX);
    word[..end - at].copy_from_slice(&bytes[at..end]);
    u64::from_be_bytes(word)
}
impl std::hash::Hash for ItemKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}
impl Serialize for ItemKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.as_bytes())
    }
}
impl<'de> Deserialize<'de> for ItemKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ItemKey, D::Error> {
        Ok(ItemKey::from_encoded(&Vec::<u8>::deserialize(
            deserializer,
        )?))
    }
}

thread_local! {
    /// The encoding buffer of [`ItemKey::from_item`] and friends: a key is encoded here
    /// and copied into the key (inline for almost every key), so building a key allocates
    /// nothing (every read and write builds one).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with the thread's empty encoding buffer (a fresh one if it is in use).
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut bytes) => {
            bytes.clear();
            f(&mut bytes)
        }
        Err(_) => f(&mut Vec::with_capacity(32)),
    })
}

impl ItemKey {
    /// The key of an item (or of a `Key` argument): every key attribute must be
    /// present with its declared type and a valid size (IT-01, DM-13, DM-20, DM-21).
    /// Other attributes are ignored.
    pub fn from_item(schema: &KeySchema, item: &Item) -> Result<ItemKey, EngineError> {
        with_scratch(|bytes| {
            for (position, key) in schema.attributes().enumerate() {
                let value = item.get(&key.name).ok_or_else(|| {
                    EngineError::validation(format!(
                        "One or more parameter values were invalid: Missing the key {} in the item",
                        key.name
                    ))
                })?;
                check_key_value(key, value, position == 0, TypeMismatch::Item)?;
                encode_component(value, bytes);
            }
            Ok(ItemKey::from_encoded(bytes))
        })
    }

    /// Appends the key encoding of `item` to `out` and returns true when
    /// [`ItemKey::from_item`] would accept it; false (with `out` partly written)
    /// otherwise. For callers that only need to know whether the key exists (sparse
    /// indexes) and build a longer key, without the error message and extra copies.
    pub(crate) fn encode_item_key(schema: &KeySchema, item: &Item, out: &mut Vec<u8>) -> bool {
        for (position, key) in schema.attributes().enumerate() {
            let Some(value) = item.get(&key.name) else {
                return false;
            };
            if check_key_value(key, value, position == 0, TypeMismatch::Item).is_err() {
                return false;
            }
            encode_component(value, out);
        }
        true
    }

    /// The key whose attributes have `values`, in schema order (hash, then range): what
    /// [`ItemKey::from_key`] gives for a map of exactly these, without building the map.
    pub fn from_values(
        schema: &KeySchema,
        values: &[&AttributeValue],
    ) -> Result<ItemKey, EngineError> {
        let mismatch =
            || EngineError::validation("The provided key element does not match the schema");
        if values.len() != schema.attributes().count() {
            return Err(mismatch());
        }
        with_scratch(|bytes| {
            for (position, (attribute, value)) in schema.attributes().zip(values).enumerate() {
                check_key_value(attribute, value, position == 0, TypeMismatch::Key)?;
                encode_component(value, bytes);
            }
            Ok(ItemKey::from_encoded(bytes))
        })
    }

    /// The key of a `Key` request argument: exactly the key attributes, nothing else,
    /// with matching types (DM-22: "The provided key element does not match the schema").
    pub fn from_key(schema: &KeySchema, key: &Item) -> Result<ItemKey, EngineError> {
        let mismatch =
            || EngineError::validation("The provided key element does not match the schema");
        if key.len() != schema.attributes().count() {
            return Err(mismatch());
        }
        with_scratch(|bytes| {
            for (position, attribute) in schema.attributes().enumerate() {
                let value = key.get(&attribute.name).ok_or_else(mismatch)?;
                check_key_value(attribute, value, position == 0, TypeMismatch::Key)?;
                encode_component(value, bytes);
            }
            Ok(ItemKey::from_encoded(bytes))
        })
    }

    /// The encoded bytes (what ordering and hashing use).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(b) => b,
        }
    }

    /// Rebuilds a key from [`ItemKey::as_bytes`] output.
    pub fn from_encoded(encoded: &[u8]) -> ItemKey {
        if encoded.len() <= INLINE_BYTES_MAX {
            let mut bytes = [0u8; INLINE_BYTES_MAX];
            bytes[..encoded.len()].copy_from_slice(encoded);
            let len = u8::try_from(encoded.len()).expect("inline length fits in u8");
            ItemKey(Repr::Inline { len, bytes })
        } else {
            ItemKey(Repr::Heap(encoded.into()))
        }
    }
}

impl fmt::Debug for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ItemKey(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Copies the key attributes out of an item (the item must hold them).
pub fn key_attributes(schema: &KeySchema, item: &Item) -> Item {
    // Inserted one by one: collecting into a map buffers and sorts first, which costs
    // more than the two inserts on every write.
    // Sized exactly: a stored change keeps these attributes for as long as it lives.
    let mut key = Item::with_capacity(1 + usize::from(schema.range.is_some()));
    for attribute in schema.attributes() {
        if let Some((name, value)) = item.get_key_value(&attribute.name) {
            key.insert(name.clone(), value.clone());
        }
    }
    key
}

#[derive(Clone, Copy)]
enum TypeMismatch {
    Item,
    Key,
}

fn check_key_value(
    key: &KeyAttribute,
    value: &AttributeValue,
    is_hash: bool,
    mismatch: TypeMismatch,
) -> Result<(), EngineError> {
    let (len, kind) = match (key.attribute_type, value) {
        (ScalarAttributeType::S, AttributeValue::S(s)) => (s.len(), "string"),
        (ScalarAttributeType::B, AttributeValue::B(b)) => (b.len(), "binary"),
        (ScalarAttributeType::N, AttributeValue::N(_)) => return Ok(()),
        _ => {
            return Err(match mismatch {
                TypeMismatch::Key => {
                    EngineError::validation("The provided key element does not match the schema")
                }
                TypeMismatch::Item => EngineError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
                    key.name,
                    key.attribute_type.tag(),
                    value.value_type().tag()
                )),
            });
        }
    };
    if len == 0 {
        return Err(EngineError::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {}",
            key.name
        )));
    }
    if is_hash && len > HASH_KEY_BYTES_MAX {
        return Err(EngineError::validation(
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ));
    }
    if !is_hash && len > RANGE_KEY_BYTES_MAX {
        return Err(EngineError::validation(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ));
    }
    Ok(())
}

/// Length in bytes of the first encoded component of `bytes`, a value of type `ty`
/// (see [`encode_component`]); the whole slice if it is malformed.
pub fn component_len(bytes: &[u8], ty: ScalarAttributeType) -> usize {
    match ty {
        ScalarAttributeType::N => match bytes.first() {
            Some(0x02) | None => bytes.len().min(1),
            Some(sign) => {
                let end = if *sign == 0x01 { 0xFF } else { 0x00 };
                bytes
                    .iter()
                    .skip(3)
                    .position(|b| *b == end)
                    .map_or(bytes.len(), |p| p + 4)
            }
        },
        ScalarAttributeType::S | ScalarAttributeType::B => {
            let mut i = 0;
            while i + 1 < bytes.len() {
                if bytes[i] == 0 {
                    if bytes[i + 1] == 0 {
                        return i + 2;
                    }
                    i += 2;
                } else {
                    i += 1;
                }
            }
            bytes.len()
        }
    }
}

/// Order-preserving, self-delimiting encoding of one key value.
///
/// S/B: bytes with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x00 (so a prefix sorts
/// first and the sort key that follows cannot disturb the order).
/// N: 0x01 negative / 0x02 zero / 0x03 positive, then a biased big-endian exponent and
/// one byte per digit, complemented for negatives so larger magnitudes sort lower.
pub(crate) fn encode_component(value: &AttributeValue, out: &mut Vec<u8>) {
    match value {
        AttributeValue::S(s) => encode_bytes(s.as_bytes(), out),
        AttributeValue::B(b) => encode_bytes(b, out),
        AttributeValue::N(n) => encode_number(n, out),
        _ => unreachable!("key values are checked to be S, N or B before encoding"),
    }
}

/// The encoding of every S or B value starting with `prefix`, minus the rest: the
/// escaped bytes without the terminator (a begins_with range, QS-01).
pub(crate) fn encode_prefix(prefix: &[u8], out: &mut Vec<u8>) {
    for &b in prefix {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

fn encode_number(n: &Number, out: &mut Vec<u8>) {
    if n.is_zero() {
        out.push(0x02);
        return;
    }
    // Exponent -130..=125 biased into 0..=255 ... stored as u16 for headroom.
    let biased = u16::try_from(n.exponent() + 1000).expect("exponent in range");
    if n.is_negative() {
        out.push(0x01);
        out.extend_from_slice(&(u16::MAX - biased).to_be_bytes());
        out.extend(n.digits().map(|d| 11 - d));
        out.push(0xFF);
    } else {
        out.push(0x03);
        out.extend_from_slice(&biased.to_be_bytes());
        out.extend(n.digits().map(|d| d + 1));
        out.push(0x00);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The word-wise comparison of inline keys is the byte order of the encodings,
        /// zero bytes, prefixes and heap keys (over 30 bytes) included.
        #[test]
        fn key_order_is_byte_order(
            a in proptest::collection::vec(proptest::sample::select(vec![0u8, 1, 0x7f, 0x80, 0xff]), 0..40),
            b in proptest::collection::vec(proptest::sample::select(vec![0u8, 1, 0x7f, 0x80, 0xff]), 0..40),
        ) {
            let (x, y) = (ItemKey::from_encoded(&a), ItemKey::from_encoded(&b));
            proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            proptest::prop_assert_eq!(x == y, a == b);
        }
    }

    fn key_n(schema: &KeySchema, text: &str) -> ItemKey {
        let item: Item = [(schema.hash.name.clone(), AttributeValue::n(text))]
            .into_iter()
            .collect();
        ItemKey::from_item(schema, &item).unwrap()
    }

    #[test]
    fn dm24_number_keys_order_numerically() {
        let schema = KeySchema::hash_only("pk", ScalarAttributeType::N);
        let ordered = [
            "-1e10", "-100", "-1.5", "-1.25", "-1", "-0.5", "0", "1e-130", "0.5", "1", "1.25",
            "1.5", "2", "10", "1e125",
        ];
        for w in ordered.windows(2) {
            assert!(
                key_n(&schema, w[0]) < key_n(&schema, w[1]),
                "{} < {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(key_n(&schema, "1.0"), key_n(&schema, "1"));
    }

    #[test]
    fn dm24_composite_keys_order_by_partition_then_sort_bytes() {
        let schema =
            KeySchema::composite("pk", ScalarAttributeType::S, "sk", ScalarAttributeType::B);
        let key = |pk: &str, sk: &[u8]| {
            let item: Item = [
                ("pk".to_string(), AttributeValue::s(pk)),
                ("sk".to_string(), AttributeValue::B(sk.to_vec())),
            ]
            .into_iter()
            .collect();
            ItemKey::from_item(&schema, &item).unwrap()
        };
        assert!(key("a", &[0xFF]) < key("a\0", &[0]));
        assert!(key("a", &[0]) < key("a", &[0, 0]));
        assert!(key("a", &[0x7F]) < key("a", &[0x80]));
        assert!(key("A", &[1]) < key("a", &[0]));
        assert!(key("z", &[1]) < key("¿", &[0]));
    }

    #[test]
    fn long_and_short_keys_order_and_round_trip() {
        let schema = KeySchema::hash_only("pk", ScalarAttributeType::S);
        let key = |s: &str| {
            let item: Item = [("pk".to_string(), AttributeValue::s(s))]
                .into_iter()
                .collect();
            ItemKey::from_item(&schema, &item).unwrap()
        };
        let long_a = key(&"a".repeat(100));
        let long_b = key(&format!("{}b", "a".repeat(99)));
        let short = key("ab");
        assert!(long_a < long_b);
        assert!(long_a < short);
        assert!(key("a") < long_a);
        for k in [long_a, short] {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<ItemKey>(&json).unwrap(), k);
            assert_eq!(ItemKey::from_encoded(k.as_bytes()), k);
        }
    }

    #[test]
    fn dm20_dm21_dm22_key_errors() {
        let schema = KeySchema::hash_only("pk", ScalarAttributeType::S);
        let item = |v: AttributeValue| -> Item { [("pk".to_string(), v)].into_iter().collect() };
        let err = |i: &Item| ItemKey::from_item(&schema, i).unwrap_err().message;
        assert_eq!(
            err(&item(AttributeValue::s("x".repeat(2049)))),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
        );
        assert_eq!(
            err(&item(AttributeValue::n("1"))),
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
        );
        assert_eq!(
            err(&item(AttributeValue::s(""))),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
        );
        assert_eq!(
            err(&Item::new()),
            "One or more parameter values were invalid: Missing the key pk in the item"
        );
        let mut extra = item(AttributeValue::s("a"));
        extra.insert("x", AttributeValue::Null);
        assert_eq!(
            ItemKey::from_key(&schema, &extra).unwrap_err().message,
            "The provided key element does not match the schema"
        );
    }
}
