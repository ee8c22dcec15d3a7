//! Transaction atomicity as TransactGetItems observes it (TX-06, TX-11).
//!
//! A workload transaction puts a group of items; a transactional get reads a group. In
//! the region where a transaction committed, it is atomic: once a get sees its value on
//! one item, every other item of it must show that write or a later one (a stamp at least
//! as large: LWW installs only larger stamps, so an item never goes back). A get that
//! sees a transaction on one item and an older version on another is TORN: a bug. In any
//! other region the items replicate one by one (GT-09), so a partial view is what
//! DynamoDB promises; those are counted, not failed.

use crate::describe as d;
use crate::reads::ReadIndex;
use dynasim_core::RegionId;
use dynasim_core::Stamp;
use dynasim_core::history::{KeyRef, OpKind, OpRecord, OpResult, ReadValue, RunOutput};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TransactionSummary {
    /// Write transactions that may have committed (acknowledged, or a server error).
    pub transactions: u64,
    /// Successful transactional gets.
    pub transact_gets: u64,
    /// Gets that saw part of a transaction in the region where it committed (bugs).
    pub torn_reads: u64,
    /// Gets that saw part of a transaction in another region (TX-11: expected).
    pub partial_remote_reads: u64,
    pub examples: Vec<String>,
}

/// A write transaction: where it committed and the stamp of each item it wrote.
struct Committed {
    region: RegionId,
    items: Vec<(KeyRef, Stamp)>,
}

pub(crate) fn check(run: &RunOutput, index: &ReadIndex, examples_max: usize) -> TransactionSummary {
    let mut out = TransactionSummary::default();
    let mut committed: BTreeMap<u64, Committed> = BTreeMap::new();
    let mut gets: BTreeMap<u64, Vec<&OpRecord>> = BTreeMap::new();
    for op in &run.history {
        match op.kind {
            OpKind::Transaction if crate::may_have_applied(op) => {
                let written = op.written.as_ref().expect("may_have_applied has a write");
                committed
                    .entry(op.id)
                    .or_insert_with(|| Committed {
                        region: op.region,
                        items: Vec::new(),
                    })
                    .items
                    .push((op.key, written.stamp));
            }
            OpKind::TransactGet if op.result == OpResult::Ok && op.read.is_some() => {
                gets.entry(op.id).or_default().push(op);
            }
            _ => {}
        }
    }
    out.transactions = committed.len() as u64;
    out.transact_gets = gets.len() as u64;
    for parts in gets.values() {
        let Some(tear) = first_tear(parts, &committed, index) else {
            continue;
        };
        let get = parts[0];
        let origin = committed[&tear.txn].region;
        let local = origin == get.region;
        if local {
            out.torn_reads += 1;
        } else {
            out.partial_remote_reads += 1;
        }
        if local && out.examples.len() < examples_max {
            out.examples.push(format!(
                "TORN: transact_get op {} in {} at {} saw transaction op {} on {} but on {} \
                 {}, older than the transaction's stamp {} there",
                get.id,
                d::region(run, get.region),
                d::time(get.invoke_us),
                tear.txn,
                d::key(tear.seen_on),
                d::key(tear.missed_on),
                crate::reads::describe_read(run, tear.missed_read),
                d::stamp(run, tear.missed_stamp),
            ));
        }
    }
    out
}

/// A get that saw transaction `txn` on `seen_on` but not on `missed_on`.
struct Tear<'a> {
    txn: u64,
    seen_on: KeyRef,
    missed_on: KeyRef,
    missed_read: &'a ReadValue,
    missed_stamp: Stamp,
}

fn first_tear<'a>(
    parts: &[&'a OpRecord],
    committed: &BTreeMap<u64, Committed>,
    index: &ReadIndex,
) -> Option<Tear<'a>> {
    let read_of = |key: KeyRef| {
        parts
            .iter()
            .find(|p| p.key == key)
            .and_then(|p| p.read.as_ref())
    };
    for part in parts {
        let read = part.read.as_ref()?;
        let Some(txn) = read.value.and_then(|v| committed.get(&v).map(|c| (v, c))) else {
            continue;
        };
        // The value id is the writer's op id; it is this transaction's write only if the
        // transaction wrote this key.
        if !txn.1.items.iter().any(|(k, _)| *k == part.key) {
            continue;
        }
        for (other, stamp) in &txn.1.items {
            let Some(other_read) = read_of(*other) else {
                continue;
            };
            if !index.observes(*other, other_read, *stamp, false) {
                return Some(Tear {
                    txn: txn.0,
                    seen_on: part.key,
                    missed_on: *other,
                    missed_read: other_read,
                    missed_stamp: *stamp,
                });
            }
        }
    }
    None
}
