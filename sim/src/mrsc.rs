//! Multi-Region strong consistency (MRSC, reference GT-21..GT-28), on top of the same
//! regions and replication as MREC.
//!
//! A write is acknowledged only after the nearest reachable other member region has
//! applied it synchronously (one round trip more); strongly consistent reads consult that
//! region too and return the newer version, so any two members intersect and strong reads
//! are correct in every region. An isolated member completes neither writes nor strong
//! reads (InternalServerError, retryable). A write to an item that another region is
//! writing at the same moment gets ReplicatedWriteConflictException (GT-25). Eventually
//! consistent reads stay local. The third member catches up through normal replication.

use crate::faults::ActiveFaults;
use crate::world::Shared;
use dynasim_core::RegionId;
use dynasim_core::history::OpResult;
use dynasim_region::{ClientOp, Served};
use std::collections::BTreeMap;

/// How long an isolated member keeps a client waiting before it gives up (GT-28: the
/// error is unconfirmed; InternalServerError is the likely one).
const QUORUM_TIMEOUT_US: u64 = 2_000_000;

#[derive(Default)]
pub(crate) struct Mrsc {
    /// (table, key) -> the region writing it and until when (its write's completion).
    in_flight: BTreeMap<(usize, u64), (RegionId, u64)>,
}

fn failure(kind: &str, latency_us: u64) -> Served {
    Served {
        result: OpResult::Failed(kind.to_string()),
        latency_us,
        written: None,
        read: None,
        throttle: None,
        dax_hit: false,
        sync: None,
        items: Vec::new(),
    }
}

impl Mrsc {
    /// Serve `op` (its `table` is the scenario table index) at member `target`.
    pub(crate) fn serve(
        &mut self,
        s: &mut Shared,
        faults: &ActiveFaults,
        target: RegionId,
        op: &ClientOp,
        at_us: u64,
        wall_us: u64,
    ) -> Served {
        let table = op.table;
        let t = target.0 as usize;
        let local = s.local_table[t][table].expect("the client's region is a member");
        let mut local_op = *op;
        local_op.table = local;
        let strong_read = !op.kind.is_write() && op.strong;
        if !op.kind.is_write() && !strong_read {
            return s.regions[t].execute(&local_op, at_us, wall_us, &mut s.region_rngs[t]);
        }
        let peer = (0..s.regions.len())
            .map(|r| RegionId(r as u16))
            .filter(|r| *r != target && s.local_table[r.0 as usize][table].is_some())
            .filter(|r| !faults.region_down(*r, at_us))
            .filter(|r| {
                !faults.partitioned(target, *r, at_us) && !faults.partitioned(*r, target, at_us)
            })
            .min_by_key(|r| (faults.one_way_us[t][r.0 as usize], *r));
        let Some(peer) = peer else {
            return failure("InternalServerError", QUORUM_TIMEOUT_US);
        };
        let p = peer.0 as usize;
        let peer_table = s.local_table[p][table].expect("filtered to members");
        let round_trip_us = 2 * faults.one_way_us[t][p];
        if strong_read {
            let mut served = s.regions[t].execute(&local_op, at_us, wall_us, &mut s.region_rngs[t]);
            if served.result == OpResult::Ok {
                // Compare whole versions (tombstones included): the newer one answers.
                let mine = s.regions[t].current_write(local, op.key).map(|w| w.stamp);
                let theirs = s.regions[p]
                    .current_write(peer_table, op.key)
                    .map(|w| w.stamp);
                if theirs > mine {
                    served.read = Some(s.regions[p].value_of(peer_table, op.key));
                }
                served.latency_us += round_trip_us;
            }
            return served;
        }
        if let Some((writer, until_us)) = self.in_flight.get(&(table, op.key))
            && *writer != target
            && *until_us > at_us
        {
            return failure("ReplicatedWriteConflictException", round_trip_us);
        }
        // Conditions are checked against the latest version (GT-24): bring this member up
        // to the peer's version first.
        let mine = s.regions[t].current_write(local, op.key).map(|w| w.stamp);
        let theirs = s.regions[p].current_write(peer_table, op.key);
        if let Some(latest) = theirs.filter(|w| Some(w.stamp) > mine && w.stamp.region != target) {
            let apply =
                s.regions[t].apply_synchronous(local, &latest, at_us, &mut s.region_rngs[t]);
            s.record_apply(t, table, &apply);
        }
        let mut served = s.regions[t].execute(&local_op, at_us, wall_us, &mut s.region_rngs[t]);
        if let Some(sync) = served.sync.clone() {
            let apply =
                s.regions[p].apply_synchronous(peer_table, &sync, at_us, &mut s.region_rngs[p]);
            s.record_apply(p, table, &apply);
            served.latency_us += round_trip_us;
            self.in_flight
                .insert((table, op.key), (target, at_us + served.latency_us));
        }
        served
    }
}
