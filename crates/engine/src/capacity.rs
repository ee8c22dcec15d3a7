//! ConsumedCapacity (CA-01..CA-07, QS-09, BA-03, BA-07, TX-05): DynamoDB's unit
//! arithmetic and the TOTAL / INDEXES report shapes.

use crate::config::EngineConfig;
use crate::engine::{ItemChange, Table};
use crate::error::EngineError;
use crate::index::{IndexKind, SecondaryIndex};
use crate::size::item_size;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Read units are per 4 KB (CA-01).
pub const READ_UNIT_BYTES: usize = 4 * 1024;
/// Write units are per 1 KB (CA-02).
pub const WRITE_UNIT_BYTES: usize = 1024;

/// `ConsumedCapacity` of one table (TOTAL, or INDEXES with the breakdown).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumedCapacity {
    pub table_name: String,
    pub capacity_units: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_capacity_units: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_capacity_units: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Capacity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<BTreeMap<String, Capacity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_secondary_indexes: Option<BTreeMap<String, Capacity>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Capacity {
    pub capacity_units: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_capacity_units: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_capacity_units: Option<f64>,
}

/// ReturnConsumedCapacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityMode {
    None,
    Total,
    Indexes,
}

/// Units of a read of `bytes` in one call, rounded up to 4 KB once, at least one
/// unit; half for an eventually consistent read (CA-04, CA-07, QS-09).
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// Units of writing an item of `bytes`, rounded up to 1 KB, at least one (CA-04, BA-07).
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1) as f64
}

/// Write units of one change: the table (larger of old and new image, CA-05) and each
/// index whose entry it changes (CA-06: a moved entry is a delete plus a put).
pub fn change_units(
    table: &Table,
    change: &ItemChange,
    config: &EngineConfig,
) -> (f64, BTreeMap<String, (IndexKind, f64)>) {
    let size =
        |i: &Option<crate::stored::SharedItem>| i.as_ref().map_or(0, |i| item_size(i, config));
    let table_units = write_units(size(&change.old_image).max(size(&change.new_image)));
    let mut indexes = BTreeMap::new();
    for index in table.indexes.values() {
        let units = index_units(index, table, change, config);
        if units > 0.0 {
            indexes.insert(index.name.clone(), (index.kind, units));
        }
    }
    (table_units, indexes)
}

fn index_units<'a>(
    index: &SecondaryIndex,
    table: &Table,
    change: &'a ItemChange,
    config: &EngineConfig,
) -> f64 {
    // The projection borrows the image when the index projects everything.
    let entry = |i: &'a Option<crate::stored::SharedItem>| {
        let item = i.as_deref()?;
        let key = index.entry_key(&change.key, item)?;
        Some((key, index.projected(&table.schema, item)))
    };
    match (entry(&change.old_image), entry(&change.new_image)) {
        (None, None) => 0.0,
        (Some((_, old)), None) => write_units(item_size(&old, config)),
        (None, Some((_, new))) => write_units(item_size(&new, config)),
        (Some((old_key, old)), Some((new_key, new))) => {
            if old_key != new_key {
                write_units(item_size(&old, config)) + write_units(item_size(&new, config))
            } else if old == new {
                0.0
            } else {
                write_units(item_size(&new, config))
            }
        }
    }
}

impl CapacityMode {
    pub fn parse(value: Option<&str>) -> Result<CapacityMode, EngineError> {
        match value {
            None | Some("NONE") => Ok(CapacityMode::None),
            Some("TOTAL") => Ok(CapacityMode::Total),
            Some("INDEXES") => Ok(CapacityMode::Indexes),
            Some(other) => Err(EngineError::validation(format!(
                "1 validation error detected: Value '{other}' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
            ))),
        }
    }

    /// The report of a read of `units` from the table or one of its indexes.
    pub fn read(
        self,
        table: &Table,
        index: Option<&SecondaryIndex>,
        units: f64,
    ) -> Option<ConsumedCapacity> {
        let mut out = match self {
            CapacityMode::None => return None,
            _ => ConsumedCapacity {
                table_name: table.name.clone(),
                capacity_units: units,
                read_capacity_units: Some(units),
                ..ConsumedCapacity::default()
            },
        };
        if self == CapacityMode::Indexes {
            let part = Capacity {
                capacity_units: units,
                read_capacity_units: Some(units),
                write_capacity_units: None,
            };
            match index {
                None => out.table = Some(part),
                Some(i) => {
                    out.table = Some(Capacity {
                        capacity_units: 0.0,
                        read_capacity_units: Some(0.0),
                        write_capacity_units: None,
                    });
                    let map = [(i.name.clone(), part)].into_iter().collect();
                    match i.kind {
                        IndexKind::Global => out.global_secondary_indexes = Some(map),
                        IndexKind::Local => out.local_secondary_indexes = Some(map),
                    }
                }
            }
        }
        Some(out)
    }

    /// The report of writes: table units and per-index units, times `factor`
    /// (2 for transactions, TX-05).
    pub fn write(
        self,
        table_name: &str,
        table_units: f64,
        indexes: &BTreeMap<String, (IndexKind, f64)>,
        factor: f64,
    ) -> Option<ConsumedCapacity> {
        if self == CapacityMode::None {
            return None;
        }
        let index_total: f64 = indexes.values().map(|(_, u)| u).sum();
        let total = (table_units + index_total) * factor;
        let mut out = ConsumedCapacity {
            table_name: table_name.to_string(),
            capacity_units: total,
            write_capacity_units: Some(total),
            ..ConsumedCapacity::default()
        };
        if self == CapacityMode::Indexes {
            let part = |u: f64| Capacity {
                capacity_units: u * factor,
                read_capacity_units: None,
                write_capacity_units: Some(u * factor),
            };
            out.table = Some(part(table_units));
            let of_kind = |kind: IndexKind| {
                let map: BTreeMap<String, Capacity> = indexes
                    .iter()
                    .filter(|(_, (k, _))| *k == kind)
                    .map(|(n, (_, u))| (n.clone(), part(*u)))
                    .collect();
                (!map.is_empty()).then_some(map)
            };
            out.global_secondary_indexes = of_kind(IndexKind::Global);
            out.local_secondary_indexes = of_kind(IndexKind::Local);
        }
        Some(out)
    }
}
