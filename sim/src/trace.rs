//! What a run produces: the history, replication applies, events, final replica states,
//! and a trace hash over all of it (the determinism fingerprint).

use dynasim_core::RegionId;
use dynasim_core::history::{ApplyRecord, OpRecord};
pub use dynasim_core::history::{
    Event, EventKind, RegionCounters, ReplicaState, ReplicationCounters, RunOutput,
    TableReplicaCounters,
};
use dynasim_region::Region;
use dynasim_scenario::Scenario;
use xxhash_rust::xxh3::Xxh3Default;

/// Build the empty output of a run (the core crate does not know scenarios).
pub(crate) fn new_output(scenario: &Scenario, seed: u64) -> RunOutput {
    RunOutput {
        capacity: Vec::new(),
        deliveries: Vec::new(),
        consumers: Vec::new(),
        scenario: scenario.meta.name.clone(),
        seed,
        epoch_unix_us: scenario.sim.epoch_unix_us,
        duration_us: 0,
        region_names: scenario.regions.iter().map(|r| r.name.clone()).collect(),
        history: Vec::new(),
        applies: Vec::new(),
        events: Vec::new(),
        replicas: Vec::new(),
        region_counters: Vec::new(),
        replication_counters: Vec::new(),
        table_counters: Vec::new(),
        trace_hash: String::new(),
    }
}

pub(crate) fn finish(
    out: &mut RunOutput,
    regions: &[Region],
    global_table: &[Vec<usize>],
    table_names: &[String],
    duration_us: u64,
    mut hasher: TraceHasher,
) {
    out.duration_us = duration_us;
    for (r, region) in regions.iter().enumerate() {
        for (local, table) in global_table[r].iter().enumerate() {
            out.table_counters.push(table_counters(
                region,
                RegionId(r as u16),
                local,
                *table,
                &table_names[*table],
            ));
            let versions = region.final_versions(local, *table as u16);
            for v in &versions {
                hasher.record(v, "versions serialize");
            }
            let replicator = region.replicator(local);
            let counters = replicator.counters();
            let peers = replicator_peers(regions.len(), r);
            out.replicas.push(ReplicaState {
                region: RegionId(r as u16),
                table: *table,
                versions,
                tombstones: replicator.tombstone_count(),
                backlog: peers
                    .into_iter()
                    .map(|p| (p, replicator.backlog(p)))
                    .collect(),
            });
            out.replication_counters.push(ReplicationCounters {
                region: RegionId(r as u16),
                table: *table,
                entries_sent: counters.entries_sent,
                entries_resent: counters.entries_resent,
                remote_applied: counters.remote_applied,
                remote_discarded: counters.remote_discarded,
                lww_overwrites: counters.lww_overwrites,
                tombstones_collected: counters.tombstones_collected,
                applied_out_of_order: counters.applied_out_of_order,
            });
        }
        let c = region.counters();
        let lag = region.lag_summary();
        out.region_counters.push(RegionCounters {
            throttles_by_reason: region
                .throttles_by_reason()
                .map(|(reason, n)| (reason.name().to_string(), n))
                .collect(),
            replica_lag_us_p50: lag.replica_lag_us_p50,
            replica_lag_us_p99: lag.replica_lag_us_p99,
            replica_lag_us_max: lag.replica_lag_us_max,
            index_lag_us_p50: lag.index_lag_us_p50,
            index_lag_us_p99: lag.index_lag_us_p99,
            index_lag_us_max: lag.index_lag_us_max,
            ops_ok: c.ops_ok,
            ops_failed: c.ops_failed,
            throttles: c.throttles,
            dax_hits: c.dax_hits,
            dax_misses: c.dax_misses,
            leader_elections: c.leader_elections,
            stale_replica_reads: c.stale_replica_reads,
            index_throttles: c.index_throttles,
            partition_splits: c.partition_splits,
            stale_index_reads: c.stale_index_reads,
        });
    }
    // The driver appends the history in history order (see `crate::completions`), and
    // history order keys are unique (op id, and key within a transaction).
    debug_assert!(
        out.history
            .windows(2)
            .all(|w| w[0].history_order() < w[1].history_order()),
        "the history is in history order, and its order keys are unique"
    );
    out.trace_hash = format!("{:016x}", hasher.finish());
}

/// One table replica's counters, in the output's (string-keyed) form.
fn table_counters(
    region: &Region,
    region_id: RegionId,
    local: usize,
    table: usize,
    table_name: &str,
) -> TableReplicaCounters {
    let c = region.table_counters(local);
    let capacity = region.capacity_use(local);
    let mut ops = std::collections::BTreeMap::new();
    for (kind, n) in &c.ops_ok {
        ops.insert(format!("{}/ok", kind.name()), *n);
    }
    for (kind, n) in &c.ops_failed {
        ops.insert(format!("{}/failed", kind.name()), *n);
    }
    TableReplicaCounters {
        region: region_id,
        table,
        table_name: table_name.to_string(),
        ops,
        throttles_by_reason: c
            .throttles_by_reason
            .iter()
            .map(|(reason, n)| (reason.name().to_string(), *n))
            .collect(),
        consumed_read_units: capacity.consumed_read_units,
        consumed_write_units: capacity.consumed_write_units,
        dax_hits: c.dax_hits,
        dax_misses: c.dax_misses,
        stale_replica_reads: c.stale_replica_reads,
        stale_index_reads: c.stale_index_reads,
        leader_elections: c.leader_elections,
        partition_splits: c.partition_splits,
        partitions: region.partition_count(local) as u64,
    }
}

fn replicator_peers(n: usize, me: usize) -> Vec<RegionId> {
    (0..n)
        .filter(|p| *p != me)
        .map(|p| RegionId(p as u16))
        .collect()
}

/// A streaming XXH3-64 hash of the trace. Not cryptographic: a fingerprint that two
/// runs with one seed must share. Each record is hashed as its fixed-width encoding
/// ([`crate::trace_encoding`]). Encodings collect in a buffer that the hash consumes in
/// large chunks (the streaming hash costs per call, and a record is some dozens of
/// bytes): the hash of the concatenation does not depend on the chunking.
#[derive(Clone)]
pub struct TraceHasher {
    state: Xxh3Default,
    pending: Vec<u8>,
}

/// Bytes buffered before the hash consumes them.
const PENDING_BYTES_MAX: usize = 16 * 1024;

impl std::fmt::Debug for TraceHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TraceHasher({:016x})", self.finish())
    }
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher {
            state: Xxh3Default::new(),
            // Room for a full buffer plus a typical record, so appending rarely grows it.
            pending: Vec::with_capacity(2 * PENDING_BYTES_MAX),
        }
    }
}

impl TraceHasher {
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        self.consume_if_full();
    }
    fn record(&mut self, value: &impl serde::Serialize, what: &str) {
        // Only a hand-written `Serialize` can fail, and the trace's types derive theirs.
        crate::trace_encoding::encode_into(value, &mut self.pending)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        self.consume_if_full();
    }
    fn consume_if_full(&mut self) {
        if self.pending.len() >= PENDING_BYTES_MAX {
            self.state.update(&self.pending);
            self.pending.clear();
        }
    }
    pub fn op(&mut self, op: &OpRecord) {
        self.record(op, "ops serialize");
    }
    pub fn apply(&mut self, apply: &ApplyRecord) {
        self.record(apply, "applies serialize");
    }
    pub fn event(&mut self, event: &Event) {
        self.record(event, "events serialize");
    }
    pub fn finish(&self) -> u64 {
        let mut state = self.state.clone();
        state.update(&self.pending);
        state.digest()
    }
}

#[cfg(test)]
mod tests {
    use super::TraceHasher;

    /// The hash is XXH3-64 of the bytes fed, whatever the buffering: fed in pieces of
    /// every size, across several buffer flushes, it equals the one-shot hash.
    #[test]
    fn trace_hasher_is_xxh3_of_the_concatenation() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let expected = xxhash_rust::xxh3::xxh3_64(&data);
        for piece in [1usize, 3, 64, 1000, 40_000] {
            let mut h = TraceHasher::default();
            for chunk in data.chunks(piece) {
                h.bytes(chunk);
            }
            assert_eq!(h.finish(), expected, "pieces of {piece} bytes");
        }
        let empty = TraceHasher::default();
        assert_eq!(empty.finish(), xxhash_rust::xxh3::xxh3_64(&[]));
    }

    /// A record is hashed as its fixed-width encoding, however large.
    #[test]
    fn records_hash_as_their_encoding_small_or_large() {
        let small = (7u64, "put".to_string(), vec![1u64, 2, 300]);
        let large = vec![9u8; 3 * super::PENDING_BYTES_MAX];
        let mut expected = Vec::new();
        let encode = crate::trace_encoding::encode_into::<(u64, String, Vec<u64>)>;
        encode(&small, &mut expected).expect("encodes");
        crate::trace_encoding::encode_into(&large, &mut expected).expect("encodes");
        encode(&small, &mut expected).expect("encodes");
        let mut h = TraceHasher::default();
        h.record(&small, "small");
        h.record(&large, "large");
        h.record(&small, "small");
        assert_eq!(h.finish(), xxhash_rust::xxh3::xxh3_64(&expected));
    }
}
