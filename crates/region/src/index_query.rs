//! Workload reads through a global secondary index (QS-08, RC-08, CP-06).
//!
//! An index query looks one item up the way an application finds an order by its
//! status: a Query on the GSI's partition key value (the item's group, see
//! [`crate::gsi`]) with a filter on the table key, paging until the item is found. It is
//! always eventually consistent (QS-08), reads any AZ replica of the index, and is paid
//! for by the index's own read capacity (CP-06), never the table's.
//!
//! The engine maintains its index entries with each base write; what the read returns
//! is what the asynchronously maintained index shows at that moment ([`IndexLag`]): the
//! table's current version once every write to the item has propagated, otherwise the
//! version before the first write still in flight. DAX does not cache index queries here
//! (a simplification: DAX's query cache would add its own staleness on top).
//!
//! [`IndexLag`]: crate::gsi::IndexLag

use crate::capacity::ThrottleReason;
use crate::{ClientOp, Region, Served, TableRuntime, failed, gsi, ok_read};
use dynasim_core::SimTime;
use dynasim_core::history::ReadValue;
use dynasim_engine::{AttributeValue, EngineError, ErrorKind, ItemKey, QueryInput};
use rand::Rng;

/// Pages one index query may read before giving up on finding its item (a 1 MB page
/// holds at least two 400 KB items, so this covers 64 MB of one index partition).
const INDEX_PAGES_MAX: usize = 64;

impl Region {
    /// Serve `op` (an [`OpKind::IndexQuery`](dynasim_core::history::OpKind::IndexQuery))
    /// on the table's GSI `op.index`.
    pub(crate) fn index_query(&mut self, op: &ClientOp, now_us: u64, rng: &mut impl Rng) -> Served {
        let latency = self.config.latency.clone();
        let front_end_us = latency.front_end.sample(rng);
        let g = usize::from(op.index);
        if g >= self.tables[op.table].gsis.len() {
            // The scenario loader only sends index queries to tables with this GSI.
            debug_assert!(false, "index query on table {} without GSI {g}", op.table);
            return failed(ErrorKind::ResourceNotFoundException, front_end_us);
        }
        let Some(az) = crate::random_up_az(&self.az_up, rng) else {
            return failed(ErrorKind::InternalServerError, front_end_us + 5_000);
        };
        let table = &self.tables[op.table];
        let key = table.encoded_key(op.key);
        let (found, units) = match table.index_lookup(&mut self.engine, g, op.key, now_us) {
            Ok(result) => result,
            Err(e) => return failed(e.kind, latency.read_us(true, rng)),
        };
        let table = &mut self.tables[op.table];
        let on_demand = table.spec.capacity.on_demand;
        if !table.gsis[g].admit_read(on_demand, units, now_us) {
            let reason = if on_demand {
                ThrottleReason::IndexReadMaxOnDemandThroughputExceeded
            } else {
                ThrottleReason::IndexReadProvisionedThroughputExceeded
            };
            return self.throttled(op.table, reason, front_end_us);
        }
        let current = table.current_value(&self.engine, &key);
        // Both sides of the engine boundary agree: the engine's (synchronous) index
        // holds the item exactly when the table does.
        debug_assert_eq!(
            found,
            current.value.is_some(),
            "index and table disagree on key {}",
            op.key
        );
        let value = index_view(&table.gsis[g].lag, &key, current, now_us);
        if value.1 {
            self.counters.stale_index_reads += 1;
            table.counters.stale_index_reads += 1;
        }
        let remote = az != (op.key % 3) as u8;
        ok_read(value.0, latency.read_us(remote, rng), false)
    }
}

/// What the index shows of `key` at `now_us` given the table's `current` version, and
/// whether that is older than the table's.
fn index_view(
    lag: &gsi::IndexLag,
    key: &ItemKey,
    current: ReadValue,
    now_us: u64,
) -> (ReadValue, bool) {
    match lag.shown(key, now_us) {
        Some(shown) if *shown != current => (shown.clone(), true),
        _ => (current, false),
    }
}

impl TableRuntime {
    /// Query GSI `g` for workload item `key` as a client would: the item's index
    /// partition, filtered on the table's partition key, page by page. Returns whether
    /// the index holds the item and the read units the pages cost (eventually
    /// consistent, QS-10: projected sizes).
    fn index_lookup(
        &self,
        engine: &mut dynasim_engine::Engine,
        g: usize,
        key: u64,
        now_us: u64,
    ) -> Result<(bool, f64), EngineError> {
        let gsi = &self.spec.gsis[g];
        let key_item = self.key_item(key);
        let index_pk = self.index_partition_value(g, key, &key_item);
        let table_pk = key_item
            .get(&self.spec.partition_key)
            .cloned()
            .expect("key items hold the partition key");
        let mut input = QueryInput {
            table_name: self.spec.name.clone(),
            index_name: Some(gsi.name.clone()),
            key_condition_expression: Some("#g = :g".into()),
            filter_expression: Some("#pk = :pk".into()),
            expression_attribute_names: Some(
                [
                    ("#g".to_string(), gsi.partition_key.0.clone()),
                    ("#pk".to_string(), self.spec.partition_key.clone()),
                ]
                .into_iter()
                .collect(),
            ),
            expression_attribute_values: Some(
                [(":g".to_string(), index_pk), (":pk".to_string(), table_pk)]
                    .into_iter()
                    .collect(),
            ),
            return_consumed_capacity: Some("TOTAL".into()),
            ..Default::default()
        };
        let mut units = 0.0;
        for _ in 0..INDEX_PAGES_MAX {
            let output = engine.query(&input, SimTime(now_us))?;
            units += output
                .consumed_capacity
                .as_ref()
                .map_or(0.0, |c| c.capacity_units);
            if output.count > 0 {
                return Ok((true, units));
            }
            match output.last_evaluated_key {
                Some(last) => input.exclusive_start_key = Some(last),
                None => return Ok((false, units)),
            }
        }
        Ok((false, units))
    }

    /// The value of GSI `g`'s partition key on workload item `key`: the group value the
    /// workload writes, or the table's own key attribute when the index reuses it.
    fn index_partition_value(
        &self,
        g: usize,
        key: u64,
        key_item: &dynasim_engine::Item,
    ) -> AttributeValue {
        let gsi = &self.spec.gsis[g];
        let name = &gsi.partition_key.0;
        if let Some(v) = key_item.get(name) {
            return v.clone();
        }
        gsi::workload_attributes(std::slice::from_ref(gsi), &[], key, 0)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .expect("a GSI partition key that is not a table key is one the workload writes")
    }
}
