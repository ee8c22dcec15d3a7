//! Workload transactions in a region: TransactWriteItems putting a group of items and
//! TransactGetItems reading one (TX-01, TX-02).
//!
//! Both run on the partitions' leaders (TX-06: serializable against every other
//! operation in the region), cost twice the units of each item (TX-05), and take two
//! round trips, prepare then commit (LT-02). A committed transaction's items are stamped
//! and replicated one by one (GT-09, TX-11): other regions may show part of it for a
//! while, its own region never does. The known bug `strong_reads_from_follower` also
//! routes each transactional read to a random replica, which tears transactions.

use crate::capacity::{ThrottleReason, read_units, write_units};
use crate::{ClientOp, Region, Served, TxnItemServed, failed, op_value};
use dynasim_core::SimTime;
use dynasim_core::history::{OpKind, OpResult, ReadValue, Written};
use dynasim_engine::transact::{
    TransactGet, TransactGetItem, TransactGetItemsInput, TransactPut, TransactWriteItem,
    TransactWriteItemsInput,
};
use dynasim_engine::{ErrorKind, Item, ItemKey};
use rand::Rng;
use std::sync::Arc;

/// The keys of one transaction as the table addresses them.
struct TxnKeys {
    keys: Vec<u64>,
    key_items: Vec<Item>,
    encoded: Vec<ItemKey>,
    placements: Vec<crate::Placement>,
}

impl Region {
    /// Serve a workload transaction: `op.items` consecutive keys from `op.key`.
    pub(crate) fn execute_transaction(
        &mut self,
        op: &ClientOp,
        now_us: u64,
        wall_us: u64,
        rng: &mut impl Rng,
    ) -> Served {
        let write = op.kind == OpKind::Transaction;
        debug_assert!(write || op.kind == OpKind::TransactGet);
        let front_end_us = self.config.latency.front_end.sample(rng);
        let txn = self.txn_keys(op);
        let mut partitions: Vec<usize> = txn.placements.iter().map(|p| p.partition).collect();
        partitions.sort_unstable();
        partitions.dedup();
        let from_followers = !write && self.config.strong_reads_from_follower;
        if !from_followers {
            for &p in &partitions {
                if self.leader(op.table, p, now_us).is_none() {
                    return failed(ErrorKind::InternalServerError, front_end_us + 5_000);
                }
            }
        }
        if write && !self.tables[op.table].replicator.has_room() {
            return failed(ErrorKind::ThrottlingException, front_end_us);
        }
        if let Some(reason) = self.admit_transaction(op, write, &txn, now_us) {
            return self.throttled(op.table, reason, front_end_us);
        }
        if write {
            self.transact_write(op, txn, now_us, wall_us, rng)
        } else {
            self.transact_get(op, txn, now_us, rng)
        }
    }

    fn txn_keys(&self, op: &ClientOp) -> TxnKeys {
        let table = &self.tables[op.table];
        let keys: Vec<u64> = (op.key..op.key + u64::from(op.items.max(1))).collect();
        let key_items: Vec<Item> = keys.iter().map(|k| table.key_item(*k)).collect();
        let encoded: Vec<ItemKey> = key_items.iter().map(|i| table.item_key(i)).collect();
        let placements = encoded.iter().map(|k| table.place(k)).collect();
        TxnKeys {
            keys,
            key_items,
            encoded,
            placements,
        }
    }

    /// TX-05: every item is read or written twice, so it costs twice its units. Items
    /// admitted before a throttled one keep their cost (a cancelled transaction still
    /// consumes capacity).
    fn admit_transaction(
        &mut self,
        op: &ClientOp,
        write: bool,
        txn: &TxnKeys,
        now_us: u64,
    ) -> Option<ThrottleReason> {
        let units = if write {
            2.0 * write_units(op.item_bytes)
        } else {
            2.0 * read_units(op.item_bytes, true)
        };
        let table = &mut self.tables[op.table];
        txn.placements
            .iter()
            .find_map(|&p| table.admit_units(op, write, units, p, now_us))
    }

    fn transact_write(
        &mut self,
        op: &ClientOp,
        txn: TxnKeys,
        now_us: u64,
        wall_us: u64,
        rng: &mut impl Rng,
    ) -> Served {
        let table = &self.tables[op.table];
        let befores: Vec<ReadValue> = txn
            .encoded
            .iter()
            .map(|k| table.current_value(&self.engine, k))
            .collect();
        let transact_items = txn
            .keys
            .iter()
            .zip(&txn.key_items)
            .map(|(key, key_item)| {
                let item_op = ClientOp { key: *key, ..*op };
                TransactWriteItem {
                    put: Some(TransactPut {
                        table_name: table.spec.name.clone(),
                        item: table.put_image(&item_op, key_item.clone(), wall_us),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect();
        let input = TransactWriteItemsInput {
            transact_items,
            ..Default::default()
        };
        let round_trip_us = self.config.latency.write_us(true, rng);
        let changes = match self.engine.transact_write_items(&input, SimTime(now_us)) {
            Ok(outcome) => outcome.changes,
            Err(e) => return failed(e.kind, 2 * round_trip_us),
        };
        debug_assert_eq!(changes.len(), txn.keys.len(), "a put changes every item");
        let mut items = Vec::with_capacity(changes.len());
        for mut change in changes {
            let Some(i) = txn.encoded.iter().position(|k| *k == change.key) else {
                continue;
            };
            self.tables[op.table].charge_gsis(&self.engine, &change, now_us);
            let image = change.new_image.take();
            let table_key = crate::TableKey {
                encoded: change.key.clone(),
                attrs: Arc::new(txn.key_items[i].clone()),
            };
            let local = self.stamp_local(
                op.table,
                table_key,
                image,
                &change,
                befores[i].clone(),
                now_us,
                wall_us,
                rng,
            );
            let written = Written {
                stamp: local.stamp,
                value: op_value(op),
                context: local.context_before,
                superseded_by: local.superseded_by,
            };
            self.fill_dax_after_transaction(op.table, &change.key, &written, now_us);
            items.push(TxnItemServed {
                key: txn.keys[i],
                written: Some(written),
                read: None,
            });
        }
        items.sort_by_key(|item| item.key);
        committed(items, 2 * round_trip_us)
    }

    /// DX-09: a transaction goes to the table; DAX then reads each item back to fill its
    /// item cache, at 2 read units per item.
    fn fill_dax_after_transaction(
        &mut self,
        table: usize,
        key: &ItemKey,
        written: &Written,
        now_us: u64,
    ) {
        let table = &mut self.tables[table];
        if written.superseded_by.is_some() {
            return;
        }
        let Some(dax) = &mut table.dax else {
            return;
        };
        let value = ReadValue {
            value: written.value,
            stamp: Some(written.stamp),
        };
        dax.put(key.clone(), value, now_us);
        table.consume(false, 2.0);
    }

    /// TransactGetItems: one snapshot of the items from their leaders (DX-04: never
    /// through DAX). With the known bug each item comes from a random up replica, which
    /// may still miss the newest write (RC-14).
    fn transact_get(
        &mut self,
        op: &ClientOp,
        txn: TxnKeys,
        now_us: u64,
        rng: &mut impl Rng,
    ) -> Served {
        let table = &self.tables[op.table];
        let input = TransactGetItemsInput {
            transact_items: txn
                .key_items
                .iter()
                .map(|key| TransactGetItem {
                    get: TransactGet {
                        table_name: table.spec.name.clone(),
                        key: key.clone(),
                        ..Default::default()
                    },
                })
                .collect(),
            ..Default::default()
        };
        let round_trip_us = self.config.latency.read_us(true, rng);
        let responses = match self.engine.transact_get_items(&input, SimTime(now_us)) {
            Ok(output) => output.responses,
            Err(e) => return failed(e.kind, 2 * round_trip_us),
        };
        let table = &self.tables[op.table];
        let mut items = Vec::with_capacity(responses.len());
        for (i, response) in responses.iter().enumerate() {
            let key = &txn.encoded[i];
            let value = response.item.as_deref().and_then(crate::value_id);
            let stamp = table
                .replicator
                .version(key)
                .filter(|v| !v.deleted)
                .map(|v| v.stamp);
            let mut read = ReadValue {
                value,
                stamp: if value.is_some() { stamp } else { None },
            };
            if self.config.strong_reads_from_follower
                && let Some(az) = crate::random_up_az(&self.az_up, rng)
                && let Some(l) = table.lagging.get(key)
                && l.visible_at_us[az as usize] > now_us
            {
                read = l.prev.clone();
            }
            items.push(TxnItemServed {
                key: txn.keys[i],
                written: None,
                read: Some(read),
            });
        }
        committed(items, 2 * round_trip_us)
    }
}

/// A transaction that went through: its items, and the latency of both round trips.
fn committed(items: Vec<TxnItemServed>, latency_us: u64) -> Served {
    Served {
        result: OpResult::Ok,
        latency_us,
        written: None,
        read: None,
        throttle: None,
        dax_hit: false,
        sync: None,
        items,
    }
}
