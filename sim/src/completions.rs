//! Ops enter the history in history order, as simulated time passes their completion.
//!
//! The driver records an op when it serves it, but the op completes a request's latency
//! later, so records arrive nearly, not quite, in history order
//! ([`OpRecord::history_order`]: completion time first). Sorting the whole history at
//! the end moved each of hundreds of MB of records to a random place: about a fifth of
//! a 60 s run's last-level cache misses. [`Completions`] instead holds the few records
//! still in flight and appends each to the history once no record yet to come can
//! precede it, so the history grows in order and the final sort finds nothing to do.

use dynasim_core::history::{HistoryOrder, OpRecord};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Records not yet released into the history, by history order.
///
/// Contract with the driver: every record held while the driver serves the window
/// starting at `t` completes at or after `t`, and the driver calls
/// [`Completions::release_before`] with the next window's start once a window is done.
#[derive(Debug, Default)]
pub(crate) struct Completions {
    /// Held records; `free` lists the empty slots (records stay put while held: the
    /// heap orders 40-byte keys, not 250-byte records).
    slots: Vec<Option<OpRecord>>,
    free: Vec<u32>,
    /// Held records' keys, least history order first.
    order: BinaryHeap<Reverse<(HistoryOrder, u32)>>,
    /// Every record completing before this has been released.
    released_before_us: u64,
    /// Records that arrived completing before `released_before_us` (a broken contract):
    /// they were released after later records, so the history needs its final sort.
    late_records: u64,
}

impl Completions {
    /// Hold `record` until its completion time has passed.
    pub(crate) fn hold(&mut self, record: OpRecord) {
        if record.complete_us < self.released_before_us {
            self.late_records += 1;
        }
        let key = record.history_order();
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(record);
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("under 2^32 ops in flight");
                self.slots.push(Some(record));
                slot
            }
        };
        self.order.push(Reverse((key, slot)));
    }

    /// Append to `history`, in history order, every held record completing before
    /// `before_us`; no record held later may complete before it.
    pub(crate) fn release_before(&mut self, before_us: u64, history: &mut Vec<OpRecord>) {
        while let Some(Reverse(((complete_us, _, _), slot))) = self.order.peek()
            && *complete_us < before_us
        {
            let slot = *slot;
            self.order.pop();
            let record = self.slots[slot as usize]
                .take()
                .expect("a held key names a held record");
            self.free.push(slot);
            history.push(record);
        }
        self.released_before_us = self.released_before_us.max(before_us);
    }

    /// Append every held record (the run is over).
    pub(crate) fn release_all(&mut self, history: &mut Vec<OpRecord>) {
        self.release_before(u64::MAX, history);
        debug_assert!(self.order.is_empty() && self.free.len() == self.slots.len());
    }

    /// Whether every record released so far went out in history order.
    pub(crate) fn released_in_order(&self) -> bool {
        self.late_records == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynasim_core::RegionId;
    use dynasim_core::history::{KeyRef, OpKind, OpResult};

    fn record(id: u64, key: u64, invoke_us: u64, complete_us: u64) -> OpRecord {
        OpRecord {
            id,
            session: 0,
            region: RegionId(0),
            key: KeyRef { table: 0, key },
            kind: OpKind::Get,
            strong: false,
            invoke_us,
            complete_us,
            region_clock_us: complete_us,
            result: OpResult::Ok,
            written: None,
            read: None,
            attempts: 1,
            txn: None,
        }
    }

    fn orders(history: &[OpRecord]) -> Vec<HistoryOrder> {
        history.iter().map(OpRecord::history_order).collect()
    }

    #[test]
    fn windows_of_overlapping_ops_come_out_in_history_order() {
        // Ops served in 1 ms windows with latencies up to 7 ms, ties on completion
        // time included: the released history is the sorted history, and a window
        // releases only what completed before the next one starts.
        let mut held = Completions::default();
        let mut history = Vec::new();
        let mut all = Vec::new();
        let mut id = 0;
        for window in 0..50u64 {
            let start_us = window * 1_000;
            for step in 0..7u64 {
                id += 1;
                let invoke_us = start_us + step * 137 % 1_000;
                let complete_us = invoke_us + (id * 7_919) % 7_000 / 500 * 500;
                let r = record(id, id % 5, invoke_us, complete_us);
                all.push(r.clone());
                held.hold(r);
            }
            let next_us = start_us + 1_000;
            held.release_before(next_us, &mut history);
            assert!(history.iter().all(|r| r.complete_us < next_us));
        }
        held.release_all(&mut history);
        assert!(held.released_in_order());
        all.sort_by_key(OpRecord::history_order);
        assert_eq!(orders(&history), orders(&all));
        assert_eq!(history, all);
    }

    #[test]
    fn a_record_completing_before_the_released_time_is_counted_as_late() {
        let mut held = Completions::default();
        let mut history = Vec::new();
        held.hold(record(1, 1, 0, 500));
        held.release_before(1_000, &mut history);
        assert!(held.released_in_order());
        held.hold(record(2, 1, 0, 400));
        held.hold(record(3, 1, 0, 1_200));
        held.release_all(&mut history);
        assert!(!held.released_in_order());
        // Nothing is lost; the caller sorts a history released out of order.
        let ids: Vec<u64> = history.iter().map(|r| r.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert!(!history.is_sorted_by_key(OpRecord::history_order));
    }
}
