//! Query and Scan (QS-01..QS-14): key conditions turned into ranges of the ordered
//! storage, pages bounded by `Limit` (items evaluated) and 1 MB, filters applied after
//! the read, `Select`, indexes, and parallel scan segments.

use crate::api::{AttributeNames, AttributeValues};
use crate::capacity::{CapacityMode, ConsumedCapacity, read_units};
use crate::engine::{Engine, Table};
use crate::error::EngineError;
use crate::expr::ast::{Comparator, CondFunction, Condition, Operand, ResolvedPath, Step};
use crate::expr::eval::Evaluator;
use crate::expr::projection::project;
use crate::expr::{Bindings, ExprTexts, prepare};
use crate::index::{IndexKind, ProjectionSpec, SecondaryIndex};
use crate::key::{ItemKey, KeySchema, ScalarAttributeType, key_attributes};
use crate::keymap::KeyMap;
use crate::stored::{SharedItem, StoredItem};
use crate::value::{AttributeValue, Item};
use dynasim_core::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// Most bytes one Query or Scan page reads (QS-03).
pub const PAGE_BYTES_MAX: usize = 1024 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryInput {
    pub table_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<AttributeNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<AttributeValues>,
    /// ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES, SPECIFIC_ATTRIBUTES or COUNT (QS-07).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_index_forward: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive_start_key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScanInput {
    pub table_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<AttributeNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<AttributeValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive_start_key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_segments: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

/// Query and Scan output (QS-04).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryOutput {
    /// Absent for `Select=COUNT`. The stored items themselves unless projected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<SharedItem>>,
    /// Items after the filter.
    pub count: u64,
    /// Items evaluated (before the filter).
    pub scanned_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated_key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
}

pub type ScanOutput = QueryOutput;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Select {
    AllAttributes,
    AllProjected,
    Specific,
    Count,
}

/// The sort-key part of a key condition (QS-01).
#[derive(Clone, Debug)]
enum SortCondition {
    Compare(Comparator, AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

/// What a page reads: the map, its key range and direction.
struct Plan<'a> {
    table: &'a Table,
    index: Option<&'a SecondaryIndex>,
    lo: Vec<u8>,
    /// Exclusive upper bound; `None` means unbounded.
    hi: Option<Vec<u8>>,
    start_after: Option<ItemKey>,
    forward: bool,
    segment: Option<(u64, u64)>,
    limit: Option<usize>,
}

fn invalid(message: impl AsRef<str>) -> EngineError {
    EngineError::validation(format!(
        "One or more parameter values were invalid: {}",
        message.as_ref()
    ))
}

fn parse_select(value: Option<&str>) -> Result<Option<Select>, EngineError> {
    Ok(match value {
        None => None,
        Some("ALL_ATTRIBUTES") => Some(Select::AllAttributes),
        Some("ALL_PROJECTED_ATTRIBUTES") => Some(Select::AllProjected),
        Some("SPECIFIC_ATTRIBUTES") => Some(Select::Specific),
        Some("COUNT") => Some(Select::Count),
        Some(other) => {
            return Err(EngineError::validation(format!(
                "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
            )));
        }
    })
}

fn parse_limit(limit: Option<i64>) -> Result<Option<usize>, EngineError> {
    match limit {
        None => Ok(None),
        Some(n) if n >= 1 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        Some(n) => Err(EngineError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
    }
}

/// Resolves Select against the index and the projection expression (QS-07).
fn resolve_select(
    select: Option<Select>,
    index: Option<&SecondaryIndex>,
    has_projection: bool,
) -> Result<Select, EngineError> {
    let select = match select {
        Some(s) => s,
        None if has_projection => Select::Specific,
        None if index.is_some() => Select::AllProjected,
        None => Select::AllAttributes,
    };
    if has_projection && select != Select::Specific {
        return Err(invalid(format!(
            "Cannot specify the ProjectionExpression when choosing to get {}",
            match select {
                Select::AllAttributes => "ALL_ATTRIBUTES",
                Select::AllProjected => "ALL_PROJECTED_ATTRIBUTES",
                _ => "COUNT",
            }
        )));
    }
    if select == Select::Specific && !has_projection {
        return Err(invalid(
            "Select type SPECIFIC_ATTRIBUTES requires a ProjectionExpression",
        ));
    }
    match (select, index) {
        (Select::AllProjected, None) => Err(invalid(
            "Select type ALL_PROJECTED_ATTRIBUTES is supported only for index queries",
        )),
        (Select::AllAttributes, Some(i))
            if i.kind == IndexKind::Global && i.projection != ProjectionSpec::All =>
        {
            Err(invalid(format!(
                "Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                i.name
            )))
        }
        _ => Ok(select),
    }
}

fn find_index<'a>(
    table: &'a Table,
    index_name: Option<&str>,
    consistent: bool,
) -> Result<Option<&'a SecondaryIndex>, EngineError> {
    let Some(name) = index_name else {
        return Ok(None);
    };
    let index = table.index(name).ok_or_else(|| {
        EngineError::validation(format!(
            "The table does not have the specified index: {name}"
        ))
    })?;
    if consistent && index.kind == IndexKind::Global {
        return Err(EngineError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    Ok(Some(index))
}

/// Smallest byte string greater than every string starting with `prefix`; `None` if
/// there is none (all 0xFF).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn encoded(prefix: &[u8], value: &AttributeValue) -> Vec<u8> {
    let mut out = prefix.to_vec();
    crate::key::encode_component(value, &mut out);
    out
}

/// Splits a key condition into the partition value and an optional sort condition,
/// with DynamoDB's messages (QS-01).
fn analyse_key_condition(
    condition: &Condition,
    schema: &KeySchema,
    bindings: &Bindings<'_>,
) -> Result<(AttributeValue, Option<SortCondition>), EngineError> {
    let not_supported = || EngineError::validation("Query key condition not supported");
    let operator = |op: &str| {
        EngineError::validation(format!(
            "Invalid operator used in KeyConditionExpression: {op}"
        ))
    };
    let mut leaves: Vec<&Condition> = Vec::new();
    let mut stack = vec![condition];
    while let Some(c) = stack.pop() {
        match c {
            Condition::And(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            Condition::Or(..) => return Err(operator("OR")),
            Condition::Not(..) => return Err(operator("NOT")),
            Condition::In(..) => return Err(operator("IN")),
            Condition::Compare(Comparator::Ne, ..) => return Err(operator("<>")),
            Condition::Function(f, _) if *f != CondFunction::BeginsWith => {
                return Err(operator(f.name()));
            }
            leaf => leaves.push(leaf),
        }
    }
    let name_of = |op: &Operand| -> Result<Option<String>, EngineError> {
        match op {
            Operand::Path(p) if p.0.len() > 1 => Err(EngineError::validation(
                "KeyConditionExpressions cannot have conditions on nested attributes",
            )),
            Operand::Path(p) => Ok(bindings.step_name(&p.0[0]).map(str::to_string)),
            _ => Ok(None),
        }
    };
    let value_of = |op: &Operand| -> Result<AttributeValue, EngineError> {
        match op {
            Operand::Value(v) => bindings.value(v).cloned().ok_or_else(not_supported),
            _ => Err(not_supported()),
        }
    };
    let mut by_name: BTreeMap<String, (AttributeValue, Option<SortCondition>)> = BTreeMap::new();
    for leaf in leaves {
        let (name, value, sort) = match leaf {
            Condition::Compare(op, x, y) => match (name_of(x)?, name_of(y)?) {
                (Some(n), None) => {
                    let v = value_of(y)?;
                    (n, v.clone(), SortCondition::Compare(*op, v))
                }
                (None, Some(n)) => {
                    let flipped = match op {
                        Comparator::Lt => Comparator::Gt,
                        Comparator::Le => Comparator::Ge,
                        Comparator::Gt => Comparator::Lt,
                        Comparator::Ge => Comparator::Le,
                        other => *other,
                    };
                    let v = value_of(x)?;
                    (n, v.clone(), SortCondition::Compare(flipped, v))
                }
                _ => return Err(not_supported()),
            },
            Condition::Between(x, lo, hi) => {
                let n = name_of(x)?.ok_or_else(not_supported)?;
                let (lo, hi) = (value_of(lo)?, value_of(hi)?);
                if crate::expr::eval::order(&lo, &hi) == Some(std::cmp::Ordering::Greater) {
                    return Err(EngineError::validation(
                        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
                    ));
                }
                (n, lo.clone(), SortCondition::Between(lo, hi))
            }
            Condition::Function(_, args) => {
                let [x, v] = args.as_slice() else {
                    return Err(not_supported());
                };
                let n = name_of(x)?.ok_or_else(not_supported)?;
                let v = value_of(v)?;
                (n, v.clone(), SortCondition::BeginsWith(v))
            }
            _ => return Err(not_supported()),
        };
        if by_name.contains_key(&name) {
            return Err(EngineError::validation(
                "KeyConditionExpressions must only contain one condition per key",
            ));
        }
        let key = schema.attributes().find(|k| k.name == name);
        let Some(key) = key else {
            let missing = match &schema.range {
                Some(r) if by_name.contains_key(&schema.hash.name) || name != schema.hash.name => {
                    &r.name
                }
                _ => &schema.hash.name,
            };
            return Err(EngineError::validation(format!(
                "Query condition missed key schema element: {missing}"
            )));
        };
        let type_ok = |v: &AttributeValue| {
            matches!(
                (key.attribute_type, v),
                (ScalarAttributeType::S, AttributeValue::S(_))
                    | (ScalarAttributeType::N, AttributeValue::N(_))
                    | (ScalarAttributeType::B, AttributeValue::B(_))
            )
        };
        let values_ok = match &sort {
            SortCondition::Between(a, b) => type_ok(a) && type_ok(b),
            _ => type_ok(&value),
        };
        if !values_ok {
            return Err(invalid(
                "Condition parameter type does not match schema type",
            ));
        }
        if name == schema.hash.name {
            if !matches!(sort, SortCondition::Compare(Comparator::Eq, _)) {
                return Err(not_supported());
            }
            by_name.insert(name, (value, None));
        } else {
            by_name.insert(name, (value, Some(sort)));
        }
    }
    let (hash, _) = by_name.remove(&schema.hash.name).ok_or_else(|| {
        EngineError::validation(format!(
            "Query condition missed key schema element: {}",
            schema.hash.name
        ))
    })?;
    let sort = by_name.into_values().next().and_then(|(_, s)| s);
    Ok((hash, sort))
}

/// Byte range [lo, hi) of a partition and sort condition.
fn key_range(hash: &AttributeValue, sort: Option<&SortCondition>) -> (Vec<u8>, Option<Vec<u8>>) {
    let partition = encoded(&[], hash);
    let partition_end = prefix_end(&partition);
    let Some(sort) = sort else {
        return (partition, partition_end);
    };
    match sort {
        SortCondition::Compare(op, v) => {
            let e = encoded(&partition, v);
            match op {
                Comparator::Eq => (e.clone(), prefix_end(&e)),
                Comparator::Lt => (partition, Some(e)),
                Comparator::Le => (partition, prefix_end(&e)),
                Comparator::Gt => (prefix_end(&e).unwrap_or(e), partition_end),
                Comparator::Ge => (e, partition_end),
                Comparator::Ne => unreachable!("<> is rejected in key conditions"),
            }
        }
        SortCondition::Between(a, b) => {
            (encoded(&partition, a), prefix_end(&encoded(&partition, b)))
        }
        SortCondition::BeginsWith(v) => {
            let mut p = partition.clone();
            match v {
                AttributeValue::S(s) => crate::key::encode_prefix(s.as_bytes(), &mut p),
                AttributeValue::B(b) => crate::key::encode_prefix(b, &mut p),
                _ => unreachable!("begins_with operands are checked to be S or B"),
            }
            let end = prefix_end(&p);
            (p, end)
        }
    }
}

/// FNV-1a: a fixed hash so segments are the same on every run (QS-12).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The ExclusiveStartKey as a storage key of the map being read (QS-05).
fn start_key(
    table: &Table,
    index: Option<&SecondaryIndex>,
    esk: &Item,
) -> Result<ItemKey, EngineError> {
    let bad = || {
        EngineError::validation(
            "The provided starting key is invalid: The provided key element does not match the schema",
        )
    };
    for value in esk.values() {
        if !matches!(
            value,
            AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
        ) {
            return Err(bad());
        }
    }
    let table_key = ItemKey::from_item(&table.schema, esk).map_err(|_| bad())?;
    let Some(index) = index else {
        if esk.len() != table.schema.attributes().count() {
            return Err(bad());
        }
        return Ok(table_key);
    };
    let mut names: Vec<&str> = table
        .schema
        .attributes()
        .chain(index.schema.attributes())
        .map(|k| k.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    if esk.len() != names.len() {
        return Err(bad());
    }
    let index_key = ItemKey::from_item(&index.schema, esk).map_err(|_| bad())?;
    let mut bytes = index_key.as_bytes().to_vec();
    bytes.extend_from_slice(table_key.as_bytes());
    Ok(ItemKey::from_encoded(&bytes))
}

/// Entries a page reserves room for before reading: a whole page of a typical Query.
const PAGE_ENTRIES_RESERVED: usize = 64;

/// The result of reading one page, before filtering.
struct Page<'a> {
    entries: Vec<&'a StoredItem>,
    bytes: usize,
    last: Option<&'a Item>,
}

impl Plan<'_> {
    fn map(&self) -> &KeyMap {
        match self.index {
            Some(index) => &index.entries,
            None => &self.table.items,
        }
    }

    fn partition_schema(&self) -> &KeySchema {
        self.index.map_or(&self.table.schema, |i| &i.schema)
    }

    fn read(&self) -> Page<'_> {
        let mut page = Page {
            // Room for a typical page up front: growing from empty reallocates several
            // times per Query.
            entries: Vec::with_capacity(
                self.limit
                    .unwrap_or(PAGE_ENTRIES_RESERVED)
                    .min(PAGE_ENTRIES_RESERVED),
            ),
            bytes: 0,
            last: None,
        };
        let lo = ItemKey::from_encoded(&self.lo);
        let hi = self.hi.as_ref().map(|h| ItemKey::from_encoded(h));
        let mut lower = Bound::Included(lo);
        let mut upper = hi.map_or(Bound::Unbounded, Bound::Excluded);
        if let Some(start) = &self.start_after {
            if self.forward {
                if matches!(&lower, Bound::Included(l) if start >= l) {
                    lower = Bound::Excluded(start.clone());
                }
            } else if match &upper {
                Bound::Excluded(u) => start < u,
                _ => true,
            } {
                upper = Bound::Excluded(start.clone());
            }
        }
        let empty = match (&lower, &upper) {
            (Bound::Included(l), Bound::Excluded(u)) => l >= u,
            (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
            _ => false,
        };
        if empty {
            return page;
        }
        let entries = self.map().range(lower, upper);
        if self.forward {
            self.fill(&mut page, entries);
        } else {
            self.fill(&mut page, entries.rev());
        }
        page
    }

    /// Adds entries to the page until the limit or the page size is reached; `last`
    /// stays set only when the walk stopped early (there may be more).
    fn fill<'a>(
        &self,
        page: &mut Page<'a>,
        entries: impl Iterator<Item = (&'a ItemKey, &'a StoredItem)>,
    ) {
        let hash_type = self.partition_schema().hash.attribute_type;
        for (key, entry) in entries {
            if let Some((segment, total)) = self.segment {
                let bytes = key.as_bytes();
                let partition = &bytes[..crate::key::component_len(bytes, hash_type)];
                if fnv1a(partition) % total != segment {
                    continue;
                }
            }
            page.bytes += entry.size_bytes;
            page.entries.push(entry);
            page.last = Some(&entry.item);
            if self.limit.is_some_and(|l| page.entries.len() >= l) || page.bytes >= PAGE_BYTES_MAX {
                return;
            }
        }
        page.last = None;
    }

    /// LastEvaluatedKey of an entry: the table key, plus the index key on an index.
    fn last_key(&self, entry: &Item) -> Item {
        let mut key = key_attributes(&self.table.schema, entry);
        if let Some(index) = self.index {
            key.extend(key_attributes(&index.schema, entry));
        }
        key
    }
}

/// Request pieces shared by Query and Scan.
struct Common<'a> {
    filter_text: Option<&'a str>,
    projection_text: Option<&'a str>,
    key_condition_text: Option<&'a str>,
    names: Option<&'a AttributeNames>,
    values: Option<&'a AttributeValues>,
    select: Option<&'a str>,
    limit: Option<i64>,
    consistent: bool,
    return_consumed_capacity: Option<&'a str>,
}

impl Engine {
    /// Query (QS-01..QS-10).
    pub fn query(&mut self, input: &QueryInput, now: SimTime) -> Result<QueryOutput, EngineError> {
        let common = Common {
            filter_text: input.filter_expression.as_deref(),
            projection_text: input.projection_expression.as_deref(),
            key_condition_text: input.key_condition_expression.as_deref(),
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref(),
            select: input.select.as_deref(),
            limit: input.limit,
            consistent: input.consistent_read.unwrap_or(false),
            return_consumed_capacity: input.return_consumed_capacity.as_deref(),
        };
        if input.key_condition_expression.is_none() {
            return Err(EngineError::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            ));
        }
        self.read_pages(
            &input.table_name,
            input.index_name.as_deref(),
            common,
            |table, index, key_condition, bindings| {
                let schema = index.map_or(&table.schema, |i| &i.schema);
                let (hash, sort) = analyse_key_condition(
                    key_condition.expect("query has a key condition"),
                    schema,
                    bindings,
                )?;
                let (lo, hi) = key_range(&hash, sort.as_ref());
                let start_after = match &input.exclusive_start_key {
                    Some(esk) => {
                        let key = start_key(table, index, esk)?;
                        if esk.get(&schema.hash.name) != Some(&hash) {
                            return Err(EngineError::validation(
                                "The provided starting key is outside query boundaries based on provided conditions",
                            ));
                        }
                        Some(key)
                    }
                    None => None,
                };
                Ok((lo, hi, start_after, input.scan_index_forward.unwrap_or(true), None))
            },
            now,
        )
    }

    /// Scan (QS-11..QS-14), with parallel segments split by a fixed hash of the
    /// partition key (QS-12, the split itself is **unconfirmed**).
    pub fn scan(&mut self, input: &ScanInput, now: SimTime) -> Result<ScanOutput, EngineError> {
        let segment = match (input.segment, input.total_segments) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(EngineError::validation(
                    "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
                ));
            }
            (None, Some(_)) => {
                return Err(EngineError::validation(
                    "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
                ));
            }
            (Some(s), Some(t)) => {
                if !(1..=1_000_000).contains(&t) {
                    return Err(EngineError::validation(format!(
                        "1 validation error detected: Value '{t}' at 'totalSegments' failed to satisfy constraint: Member must have value {}",
                        if t < 1 {
                            "greater than or equal to 1"
                        } else {
                            "less than or equal to 1000000"
                        }
                    )));
                }
                if s < 0 {
                    return Err(EngineError::validation(format!(
                        "1 validation error detected: Value '{s}' at 'segment' failed to satisfy constraint: Member must have value greater than or equal to 0"
                    )));
                }
                if s >= t {
                    return Err(EngineError::validation(format!(
                        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
                    )));
                }
                Some((s.unsigned_abs(), t.unsigned_abs()))
            }
        };
        let common = Common {
            filter_text: input.filter_expression.as_deref(),
            projection_text: input.projection_expression.as_deref(),
            key_condition_text: None,
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref(),
            select: input.select.as_deref(),
            limit: input.limit,
            consistent: input.consistent_read.unwrap_or(false),
            return_consumed_capacity: input.return_consumed_capacity.as_deref(),
        };
        self.read_pages(
            &input.table_name,
            input.index_name.as_deref(),
            common,
            |table, index, _, _| {
                let start_after = match &input.exclusive_start_key {
                    Some(esk) => {
                        let key = start_key(table, index, esk)?;
                        if let Some((s, t)) = segment {
                            let schema = index.map_or(&table.schema, |i| &i.schema);
                            let bytes = key.as_bytes();
                            let len = crate::key::component_len(bytes, schema.hash.attribute_type);
                            if fnv1a(&bytes[..len]) % t != s {
                                return Err(EngineError::validation(format!(
                                    "The provided starting key is invalid: Please use ExclusiveStartKey with correct Segment. TotalSegments: {t} Segment: {s}"
                                )));
                            }
                        }
                        Some(key)
                    }
                    None => None,
                };
                Ok((Vec::new(), None, start_after, true, segment))
            },
            now,
        )
    }

    #[allow(clippy::type_complexity)]
    fn read_pages(
        &mut self,
        table_name: &str,
        index_name: Option<&str>,
        common: Common<'_>,
        plan: impl FnOnce(
            &Table,
            Option<&SecondaryIndex>,
            Option<&Condition>,
            &Bindings<'_>,
        ) -> Result<
            (
                Vec<u8>,
                Option<Vec<u8>>,
                Option<ItemKey>,
                bool,
                Option<(u64, u64)>,
            ),
            EngineError,
        >,
        now: SimTime,
    ) -> Result<QueryOutput, EngineError> {
        self.observe(now);
        crate::engine::validate_table_name(table_name)?;
        if index_name.is_some() && self.config.gsi_propagation_us > 0 {
            // RC-08: a GSI read sees the base changes whose propagation is done.
            let config = &self.config;
            if let Some(table) = self.tables.get_mut(table_name) {
                table.propagate_to_gsis(now.0, config);
            }
        }
        let select = parse_select(common.select)?;
        let limit = parse_limit(common.limit)?;
        let capacity_mode = CapacityMode::parse(common.return_consumed_capacity)?;
        let bindings = Bindings {
            names: common.names,
            values: common.values,
        };
        let texts = ExprTexts {
            key_condition: common.key_condition_text,
            filter: common.filter_text,
            projection: common.projection_text,
            ..ExprTexts::default()
        };
        let config = &self.config;
        let prepared = prepare(
            &mut self.cache,
            texts,
            bindings,
            config.update_arithmetic_chain,
        )?;
        let table = self
            .tables
            .get(table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let index = find_index(table, index_name, common.consistent)?;
        let select = resolve_select(select, index, prepared.projection.is_some())?;
        if let (Some(filter), Some(_)) = (&prepared.filter, &prepared.key_condition) {
            let schema = index.map_or(&table.schema, |i| &i.schema);
            check_filter_keys(filter, schema, &bindings)?;
        }
        let (lo, hi, start_after, forward, segment) =
            plan(table, index, prepared.key_condition.as_deref(), &bindings)?;
        let plan = Plan {
            table,
            index,
            lo,
            hi,
            start_after,
            forward,
            segment,
            limit,
        };
        let page = plan.read();
        // An LSI fetches from the table what it does not project (QS-07).
        let fetch = index.is_some_and(|i| {
            i.kind == IndexKind::Local
                && i.projection != ProjectionSpec::All
                && (select == Select::AllAttributes
                    || prepared
                        .projection_paths
                        .iter()
                        .any(|p| !path_projected(p, i, &table.schema)))
        });
        let mut bytes_read = page.bytes;
        let mut items = Vec::with_capacity(if select == Select::Count {
            0
        } else {
            page.entries.len()
        });
        if select != Select::Count && !fetch {
            warm_headers(&page.entries);
        }
        let mut count = 0u64;
        for entry in &page.entries {
            let item: &SharedItem = if fetch {
                let key = ItemKey::from_item(&table.schema, &entry.item)
                    .expect("index entries carry the table key");
                let full = table
                    .items
                    .get(&key)
                    .expect("index entries have a table item");
                bytes_read += full.size_bytes;
                &full.item
            } else {
                &entry.item
            };
            if let Some(filter) = &prepared.filter {
                let evaluator = Evaluator {
                    item,
                    bindings: &bindings,
                    config,
                };
                if !evaluator.condition(filter) {
                    continue;
                }
            }
            count += 1;
            match select {
                Select::Count => {}
                Select::Specific => {
                    items.push(Arc::new(project(item, &prepared.projection_paths)));
                }
                _ => items.push(Arc::clone(item)),
            }
        }
        let units = read_units(bytes_read, common.consistent);
        let consumed_capacity = capacity_mode.read(table, index, units);
        Ok(QueryOutput {
            items: (select != Select::Count).then_some(items),
            count,
            scanned_count: page.entries.len() as u64,
            last_evaluated_key: page.last.map(|e| plan.last_key(e)),
            consumed_capacity,
        })
    }
}

/// Reads the reference count of every entry of a page before any is cloned. Taking a
/// reference is an atomic increment, which on x86 waits for its cache line before the
/// next one may start, so cloning 50 items that are not in the cache costs 50 memory
/// round trips one after another; plain loads of the same lines overlap, and the
/// increments that follow find them in the cache. Changes nothing observable.
fn warm_headers(entries: &[&StoredItem]) {
    let mut sum = 0usize;
    for entry in entries {
        sum = sum.wrapping_add(Arc::strong_count(&entry.item));
    }
    std::hint::black_box(sum);
}

fn path_projected(path: &ResolvedPath, index: &SecondaryIndex, schema: &KeySchema) -> bool {
    match path.first() {
        Some(Step::Name(n)) => index.projects(schema, n),
        _ => true,
    }
}

/// QS-06: a Query's filter may not use the (index) key attributes.
fn check_filter_keys(
    filter: &Condition,
    schema: &KeySchema,
    bindings: &Bindings<'_>,
) -> Result<(), EngineError> {
    let mut found: Option<String> = None;
    let mut visit = |op: &Operand| {
        let mut op = op;
        while let Operand::Size(inner) = op {
            op = inner;
        }
        if let Operand::Path(p) = op
            && let Some(name) = p.0.first().and_then(|e| bindings.step_name(e))
            && schema.is_key_attribute(name)
            && found.is_none()
        {
            found = Some(name.to_string());
        }
    };
    let mut stack = vec![filter];
    while let Some(c) = stack.pop() {
        match c {
            Condition::Compare(_, x, y) => {
                visit(x);
                visit(y);
            }
            Condition::Between(x, y, z) => {
                visit(x);
                visit(y);
                visit(z);
            }
            Condition::In(x, list) => {
                visit(x);
                list.iter().for_each(&mut visit);
            }
            Condition::Function(_, args) => args.iter().for_each(&mut visit),
            Condition::Not(a) => stack.push(a),
            Condition::And(a, b) | Condition::Or(a, b) => {
                stack.push(a);
                stack.push(b);
            }
        }
    }
    match found {
        Some(name) => Err(EngineError::validation(format!(
            "Filter Expression can only contain non-primary key attributes: Primary key attribute: {name}"
        ))),
        None => Ok(()),
    }
}
