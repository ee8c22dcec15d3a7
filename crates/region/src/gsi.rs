//! Global secondary indexes of a simulated table (CP-06, CA-06, CA-16).
//!
//! The engine maintains each index on every write; this module adds what a region does
//! around that: each GSI has its own capacity (provisioned units with burst, or on-demand
//! peak doubling), a write is admitted only if the table **and every GSI** have capacity
//! (CA-06 back-pressure: an under-provisioned index throttles writes to the base table),
//! every change that touches an index entry consumes that index's write units
//! (replicated writes too, GT-07), and each index can auto-scale on its own (CA-16).
//!
//! Index maintenance is asynchronous (RC-08, LT-05): the engine updates its index
//! entries with the base write, and [`IndexLag`] holds back what an index *read* shows
//! until a sampled propagation delay has passed, per item in write order, so a Query on
//! a GSI can return an older version than the table holds (never a newer one).
//!
//! The workload's items carry the index key attributes: an index partition key gets one
//! of `partition_values` values derived from the item's key (so index partitions are
//! shared by many items, as a `status` or `customer` index is), and an index sort key
//! gets the writing op's value id (so every write moves the item's index entry: a delete
//! plus a put, CA-06).

use crate::autoscale::{AutoScaler, AutoScalingSpec};
use crate::capacity::{OnDemand, TokenBucket};
use crate::{KeyTypeSpec, RegionConfig, VALUE_ATTRIBUTE};
use dynasim_core::history::{ReadValue, ValueId};
use dynasim_engine::ItemKey;
use dynasim_engine::api::{GlobalSecondaryIndex, Projection};
use dynasim_engine::{AttributeValue, KeySchemaElement, KeyType};
use rand::Rng;
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// One GSI of a table replica.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GsiSpec {
    pub name: String,
    pub partition_key: (String, KeyTypeSpec),
    pub sort_key: Option<(String, KeyTypeSpec)>,
    /// `KEYS_ONLY` projection (the default is `ALL`); decides the index entry's size and
    /// so its write units.
    pub keys_only: bool,
    /// Provisioned units per second (ignored when the table is on demand).
    pub read_units: f64,
    pub write_units: f64,
    pub read_auto_scaling: Option<AutoScalingSpec>,
    pub write_auto_scaling: Option<AutoScalingSpec>,
    /// Distinct index partition key values the workload writes (at least 1).
    pub partition_values: u64,
    /// Mean delay from a base write to its index entry, exponential (RC-08: "a fraction
    /// of a second", **unconfirmed**); 0 makes the index synchronous.
    #[serde(default = "propagation_mean_us_default")]
    pub propagation_mean_us: u64,
}

fn propagation_mean_us_default() -> u64 {
    50_000
}

impl GsiSpec {
    /// The engine's CreateTable entry for this index.
    pub(crate) fn engine_index(&self) -> GlobalSecondaryIndex {
        let mut key_schema = vec![KeySchemaElement {
            attribute_name: self.partition_key.0.clone(),
            key_type: KeyType::Hash,
        }];
        if let Some((name, _)) = &self.sort_key {
            key_schema.push(KeySchemaElement {
                attribute_name: name.clone(),
                key_type: KeyType::Range,
            });
        }
        GlobalSecondaryIndex {
            index_name: self.name.clone(),
            key_schema,
            projection: Projection {
                projection_type: Some(if self.keys_only { "KEYS_ONLY" } else { "ALL" }.into()),
                non_key_attributes: None,
            },
            provisioned_throughput: None,
        }
    }

    /// The key attributes of this index with their types.
    pub(crate) fn key_attributes(&self) -> impl Iterator<Item = &(String, KeyTypeSpec)> {
        std::iter::once(&self.partition_key).chain(self.sort_key.as_ref())
    }
}

/// Consumed and provisioned units of one GSI, for metrics and plots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GsiCapacityUse {
    pub index: String,
    pub provisioned_read_units: f64,
    pub provisioned_write_units: f64,
    /// Cumulative units consumed since the start (replicated writes included).
    pub consumed_read_units: f64,
    pub consumed_write_units: f64,
}

/// A GSI's capacity and propagation state in one region.
pub(crate) struct GsiRuntime {
    pub(crate) spec: GsiSpec,
    write: TokenBucket,
    on_demand_write: OnDemand,
    read: TokenBucket,
    on_demand_read: OnDemand,
    /// What index reads see of items whose latest writes have not reached the index.
    pub(crate) lag: IndexLag,
    pub(crate) consumed_read_units: f64,
    pub(crate) consumed_write_units: f64,
    pub(crate) read_scaler: Option<AutoScaler>,
    pub(crate) write_scaler: Option<AutoScaler>,
    /// CP-16: the index's own decrease budget.
    pub(crate) decreases: dynasim_engine::DecreaseBudget,
}

impl GsiRuntime {
    pub(crate) fn new(spec: GsiSpec, config: &RegionConfig) -> Self {
        GsiRuntime {
            write: TokenBucket::new(spec.write_units, config.burst_s),
            // CA-18: a new on-demand GSI starts with the table's initial throughput.
            on_demand_write: OnDemand::new(config.on_demand_initial_write_units),
            read: TokenBucket::new(spec.read_units, config.burst_s),
            on_demand_read: OnDemand::new(config.on_demand_initial_read_units),
            lag: IndexLag::default(),
            consumed_read_units: 0.0,
            consumed_write_units: 0.0,
            read_scaler: spec.read_auto_scaling.map(AutoScaler::new),
            write_scaler: spec.write_auto_scaling.map(AutoScaler::new),
            decreases: dynasim_engine::DecreaseBudget::default(),
            spec,
        }
    }

    /// CA-06: whether the index can take a write of about `units` now (nothing is spent;
    /// the exact units are charged after the write, when the engine knows them).
    pub(crate) fn admits_write(&mut self, on_demand: bool, units: f64, now_us: u64) -> bool {
        if on_demand {
            self.on_demand_write.has(units, now_us)
        } else {
            self.write.has(units, now_us)
        }
    }

    /// Spend the units a change cost this index (may go into debt, like a replicated
    /// write on the table: the debt throttles later writes).
    pub(crate) fn charge_write(&mut self, on_demand: bool, units: f64, now_us: u64) {
        debug_assert!(units >= 0.0);
        self.consumed_write_units += units;
        if on_demand {
            self.on_demand_write.force(units, now_us);
        } else {
            self.write.force(units, now_us);
        }
    }

    pub(crate) fn set_write_units(&mut self, units: f64, now_us: u64) {
        self.spec.write_units = units;
        self.write.set_rate(units, now_us);
    }

    pub(crate) fn set_read_units(&mut self, units: f64, now_us: u64) {
        self.spec.read_units = units;
        self.read.set_rate(units, now_us);
    }

    /// An index read of `units` (QS-08: always eventually consistent): admitted and
    /// charged to the index's own read capacity, not the table's (CP-06).
    pub(crate) fn admit_read(&mut self, on_demand: bool, units: f64, now_us: u64) -> bool {
        let ok = if on_demand {
            self.on_demand_read.admit(units, now_us)
        } else if self.read.has(units, now_us) {
            self.read.take(units, now_us);
            true
        } else {
            false
        };
        if ok {
            self.consumed_read_units += units;
        }
        ok
    }

    /// When a base write made at `now_us` reaches this index: the configured mean times
    /// `slowdown` (1 unless the `lagging_index` known bug is on), exponential.
    pub(crate) fn propagation_delay_us(&self, slowdown: f64, rng: &mut impl Rng) -> u64 {
        let mean_us = self.spec.propagation_mean_us as f64 * slowdown;
        if mean_us < 1.0 {
            return 0;
        }
        match Exp::new(1.0 / mean_us) {
            Ok(d) => d.sample(rng) as u64,
            Err(_) => 0,
        }
    }

    pub(crate) fn capacity_use(&self) -> GsiCapacityUse {
        GsiCapacityUse {
            index: self.spec.name.clone(),
            provisioned_read_units: self.spec.read_units,
            provisioned_write_units: self.spec.write_units,
            consumed_read_units: self.consumed_read_units,
            consumed_write_units: self.consumed_write_units,
        }
    }
}

/// Pending index updates per item are capped: past this many, the oldest is dropped and
/// the index shows a newer version sooner than sampled (fresher, never staler).
const PENDING_PER_ITEM_MAX: usize = 64;
/// Items with pending index updates kept before fully propagated ones are swept out.
const PENDING_ITEMS_SWEEP_MIN: usize = 4_096;

/// Asynchronous index maintenance (RC-08, LT-05) as index reads observe it: for every
/// item whose latest base writes have not reached the index yet, those writes in order,
/// each with the version the index showed before it and the time it arrives. Arrival
/// times never decrease per item: the index applies an item's writes in order.
#[derive(Debug, Default)]
pub(crate) struct IndexLag {
    pending: BTreeMap<ItemKey, VecDeque<(ReadValue, u64)>>,
    /// Sweep fully propagated items once `pending` holds this many.
    sweep_at: usize,
}

impl IndexLag {
    /// A base write of `key` at `now_us`, replacing version `before`, reaches the index
    /// `delay_us` later (or after the item's previous write, if that arrives later).
    pub(crate) fn note_write(
        &mut self,
        key: ItemKey,
        before: ReadValue,
        now_us: u64,
        delay_us: u64,
    ) {
        let queue = self.pending.entry(key).or_default();
        while queue.front().is_some_and(|(_, at)| *at <= now_us) {
            queue.pop_front();
        }
        let arrives_us = queue
            .back()
            .map_or(0, |(_, at)| *at)
            .max(now_us.saturating_add(delay_us));
        if queue.len() == PENDING_PER_ITEM_MAX {
            queue.pop_front();
        }
        queue.push_back((before, arrives_us));
        if self.pending.len() >= self.sweep_at.max(PENDING_ITEMS_SWEEP_MIN) {
            self.pending
                .retain(|_, q| q.back().is_some_and(|(_, at)| *at > now_us));
            // Sweep again only when the map has doubled: linear cost per write overall.
            self.sweep_at = self.pending.len() * 2;
        }
    }

    /// The version of `key` an index read at `now_us` shows, when it is not the table's
    /// current one: the version before the item's first write still in flight.
    pub(crate) fn shown(&self, key: &ItemKey, now_us: u64) -> Option<&ReadValue> {
        self.pending
            .get(key)?
            .iter()
            .find(|(_, at)| *at > now_us)
            .map(|(before, _)| before)
    }

    /// Items with index updates still in flight at `now_us` (for metrics and tests).
    pub(crate) fn in_flight(&self, now_us: u64) -> usize {
        self.pending
            .values()
            .filter(|q| q.back().is_some_and(|(_, at)| *at > now_us))
            .count()
    }
}

/// The index key attributes a workload write sets on item `key` with value id `value`:
/// every GSI key attribute that is not already a table key attribute or the value
/// attribute, once each (two indexes may share an attribute).
pub(crate) fn workload_attributes(
    gsis: &[GsiSpec],
    table_keys: &[&str],
    key: u64,
    value: ValueId,
) -> Vec<(String, AttributeValue)> {
    let mut out: Vec<(String, AttributeValue)> = Vec::new();
    for gsi in gsis {
        let (name, ty) = &gsi.partition_key;
        let group = key % gsi.partition_values.max(1);
        push_once(&mut out, table_keys, name, || match ty {
            KeyTypeSpec::S => AttributeValue::S(format!("g{group}")),
            KeyTypeSpec::N => AttributeValue::n(&group.to_string()),
            KeyTypeSpec::B => AttributeValue::B(group.to_be_bytes().to_vec()),
        });
        if let Some((name, ty)) = &gsi.sort_key {
            push_once(&mut out, table_keys, name, || match ty {
                KeyTypeSpec::S => AttributeValue::S(format!("{value:020}")),
                KeyTypeSpec::N => AttributeValue::n(&value.to_string()),
                KeyTypeSpec::B => AttributeValue::B(value.to_be_bytes().to_vec()),
            });
        }
    }
    out
}

fn push_once(
    out: &mut Vec<(String, AttributeValue)>,
    table_keys: &[&str],
    name: &str,
    value: impl FnOnce() -> AttributeValue,
) {
    if table_keys.contains(&name) || name == VALUE_ATTRIBUTE || out.iter().any(|(n, _)| n == name) {
        return;
    }
    out.push((name.to_string(), value()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gsi(name: &str, pk: &str, sk: Option<&str>) -> GsiSpec {
        GsiSpec {
            name: name.into(),
            partition_key: (pk.into(), KeyTypeSpec::S),
            sort_key: sk.map(|s| (s.to_string(), KeyTypeSpec::N)),
            keys_only: false,
            read_units: 5.0,
            write_units: 5.0,
            read_auto_scaling: None,
            write_auto_scaling: None,
            partition_values: 10,
            propagation_mean_us: 50_000,
        }
    }

    fn item_key(i: u64) -> ItemKey {
        let schema =
            dynasim_engine::KeySchema::hash_only("pk", dynasim_engine::ScalarAttributeType::S);
        let mut item = dynasim_engine::Item::new();
        item.insert("pk", AttributeValue::S(format!("k{i}")));
        ItemKey::from_item(&schema, &item).expect("a valid key")
    }

    fn read(value: u64) -> ReadValue {
        ReadValue {
            value: Some(value),
            stamp: None,
        }
    }

    #[test]
    fn index_lag_shows_the_version_before_the_first_write_in_flight() {
        let mut lag = IndexLag::default();
        let key = item_key(0);
        lag.note_write(key.clone(), read(1), 100, 50); // write 2 arrives at 150
        lag.note_write(key.clone(), read(2), 110, 10); // write 3 queued behind it: 150
        lag.note_write(key.clone(), read(3), 120, 100); // write 4 arrives at 220
        assert_eq!(lag.shown(&key, 149), Some(&read(1)));
        assert_eq!(
            lag.shown(&key, 150),
            Some(&read(3)),
            "writes 2 and 3 arrived"
        );
        assert_eq!(
            lag.shown(&key, 220),
            None,
            "the index caught up with the table"
        );
        assert_eq!(lag.in_flight(219), 1);
        assert_eq!(lag.in_flight(220), 0);
    }

    #[test]
    fn index_lag_bounds_pending_writes_per_item_and_sweeps_propagated_items() {
        let mut lag = IndexLag::default();
        let key = item_key(0);
        for i in 0..1_000u64 {
            lag.note_write(key.clone(), read(i), i, 1_000_000);
        }
        assert_eq!(lag.pending[&key].len(), PENDING_PER_ITEM_MAX);
        // Dropping the oldest makes the index fresher, never staler.
        assert_eq!(
            lag.shown(&key, 1_000),
            Some(&read(1_000 - PENDING_PER_ITEM_MAX as u64))
        );
        let mut lag = IndexLag::default();
        for i in 0..20_000u64 {
            lag.note_write(item_key(i), read(i), i * 10, 5);
        }
        assert!(lag.pending.len() <= 2 * PENDING_ITEMS_SWEEP_MIN);
    }

    #[test]
    fn workload_index_attributes_group_keys_and_follow_the_value() {
        let gsis = [
            gsi("by_status", "status", Some("updated")),
            gsi("by_status_v", "status", Some("v")),
        ];
        let attrs = workload_attributes(&gsis, &["pk"], 42, 7);
        assert_eq!(
            attrs,
            vec![
                ("status".to_string(), AttributeValue::S("g2".into())),
                ("updated".to_string(), AttributeValue::n("7")),
            ],
            "shared attributes once; the value attribute is already on the item"
        );
        let by_pk = [gsi("inverted", "pk", None)];
        assert!(workload_attributes(&by_pk, &["pk"], 42, 7).is_empty());
    }

    #[test]
    fn ca06_an_index_admits_a_write_only_with_capacity_left() {
        let config = RegionConfig::default();
        let mut g = GsiRuntime::new(gsi("i", "status", None), &config);
        // 5 units/s with 300 s of burst: 1,500 units in the bucket at the start.
        assert!(g.admits_write(false, 1.0, 0));
        g.charge_write(false, 1_500.0, 0);
        assert!(!g.admits_write(false, 1.0, 0), "the burst is spent");
        assert!(
            g.admits_write(false, 1.0, 200_000),
            "one unit refilled after 0.2 s"
        );
        assert_eq!(g.capacity_use().consumed_write_units, 1_500.0);
    }
}
