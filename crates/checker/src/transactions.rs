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
use dynasim_core::history::{KeyRef, OpKind, OpResult, ReadValue, RunOutput};
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

/// One item of a transactional get, with what the checker needs of its key's history:
/// the largest delete stamp on the key (an absent item is newer than a write only if a
/// later delete removed it).
struct GetPart {
    id: u64,
    region: RegionId,
    invoke_us: u64,
    key: KeyRef,
    read: ReadValue,
    max_delete: Option<Stamp>,
}

impl GetPart {
    /// Whether this read shows the item at stamp `x` or newer (as [`ReadIndex`] judges a
    /// read against a put).
    fn observes(&self, x: Stamp) -> bool {
        match self.read.stamp {
            Some(s) => s >= x,
            None if self.read.value.is_some() => true,
            None => self.max_delete.is_some_and(|d| d > x),
        }
    }
}

/// The transaction check over a history that comes in key shards: a transaction's items
/// may sit in different shards, so the few facts it needs of each record are kept until
/// every shard has been seen.
#[derive(Default)]
pub(crate) struct TransactionPartial {
    committed: BTreeMap<u64, Committed>,
    gets: BTreeMap<u64, Vec<GetPart>>,
}

impl TransactionPartial {
    pub(crate) fn add_shard(&mut self, shard: &RunOutput, index: &ReadIndex) {
        for op in &shard.history {
            match op.kind {
                OpKind::Transaction if crate::may_have_applied(op) => {
                    let written = op.written.as_ref().expect("may_have_applied has a write");
                    self.committed
                        .entry(op.id)
                        .or_insert_with(|| Committed {
                            region: op.region,
                            items: Vec::new(),
                        })
                        .items
                        .push((op.key, written.stamp));
                }
                OpKind::TransactGet if op.result == OpResult::Ok => {
                    let Some(read) = &op.read else { continue };
                    self.gets.entry(op.id).or_default().push(GetPart {
                        id: op.id,
                        region: op.region,
                        invoke_us: op.invoke_us,
                        key: op.key,
                        read: read.clone(),
                        max_delete: index.max_delete(op.key),
                    });
                }
                _ => {}
            }
        }
    }

    /// `None` when the run had no transactions at all.
    pub(crate) fn finish(
        mut self,
        run: &RunOutput,
        examples_max: usize,
    ) -> Option<TransactionSummary> {
        if self.committed.is_empty() && self.gets.is_empty() {
            return None;
        }
        for c in self.committed.values_mut() {
            c.items.sort_unstable_by_key(|(k, _)| *k);
        }
        let mut out = TransactionSummary {
            transactions: self.committed.len() as u64,
            transact_gets: self.gets.len() as u64,
            ..TransactionSummary::default()
        };
        for parts in self.gets.values_mut() {
            parts.sort_unstable_by_key(|p| p.key);
            let Some(tear) = first_tear(parts, &self.committed) else {
                continue;
            };
            let get = &parts[0];
            let local = self.committed[&tear.txn].region == get.region;
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
        Some(out)
    }
}

/// A get that saw transaction `txn` on `seen_on` but not on `missed_on`.
struct Tear<'a> {
    txn: u64,
    seen_on: KeyRef,
    missed_on: KeyRef,
    missed_read: &'a ReadValue,
    missed_stamp: Stamp,
}

fn first_tear<'a>(parts: &'a [GetPart], committed: &BTreeMap<u64, Committed>) -> Option<Tear<'a>> {
    let part_of = |key: KeyRef| parts.iter().find(|p| p.key == key);
    for part in parts {
        let Some((txn, c)) = part
            .read
            .value
            .and_then(|v| committed.get(&v).map(|c| (v, c)))
        else {
            continue;
        };
        // The value id is the writer's op id; it is this transaction's write only if the
        // transaction wrote this key.
        if !c.items.iter().any(|(k, _)| *k == part.key) {
            continue;
        }
        for (other, stamp) in &c.items {
            let Some(other_part) = part_of(*other) else {
                continue;
            };
            if !other_part.observes(*stamp) {
                return Some(Tear {
                    txn,
                    seen_on: part.key,
                    missed_on: *other,
                    missed_read: &other_part.read,
                    missed_stamp: *stamp,
                });
            }
        }
    }
    None
}
