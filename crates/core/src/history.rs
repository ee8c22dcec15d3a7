//! The recorded history of a run: every client operation and every replication apply,
//! in true simulated time. The checkers read only this (plus final replica states).

use crate::{RegionId, Stamp};
use serde::{Deserialize, Serialize};

/// A workload key: which table (index in the scenario's table list) and which key index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyRef {
    pub table: u16,
    pub key: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Get,
    Put,
    Update,
    Delete,
    Query,
    ConditionalPut,
    /// A TransactWriteItems putting a group of items: one record per item (see [`TxnPart`]).
    Transaction,
    /// A TransactGetItems reading a group of items: one record per item, a serializable
    /// snapshot of the serving region (TX-02, TX-06).
    TransactGet,
    /// A Query on a global secondary index that looks one item up by its index keys
    /// (QS-08: always eventually consistent). GSIs are maintained asynchronously after
    /// the base write (RC-08, LT-05), so it can return an older version than the table.
    IndexQuery,
    /// A delete made by the service's TTL sweeper, not by a client (TTL-04..07). It is a
    /// real, stamped write that replicates, so the checkers see it; client statistics
    /// (latency, throughput, availability) leave it out.
    TtlDelete,
}

impl OpKind {
    pub const ALL: [OpKind; 10] = [
        OpKind::Get,
        OpKind::Put,
        OpKind::Update,
        OpKind::Delete,
        OpKind::Query,
        OpKind::ConditionalPut,
        OpKind::Transaction,
        OpKind::TransactGet,
        OpKind::IndexQuery,
        OpKind::TtlDelete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Put => "put",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
            OpKind::Query => "query",
            OpKind::ConditionalPut => "conditional_put",
            OpKind::Transaction => "transaction",
            OpKind::TransactGet => "transact_get",
            OpKind::IndexQuery => "index_query",
            OpKind::TtlDelete => "ttl_delete",
        }
    }

    /// Sent by a client (everything but the service's own TTL deletes).
    pub fn is_client(self) -> bool {
        self != OpKind::TtlDelete
    }

    pub fn is_write(self) -> bool {
        !matches!(
            self,
            OpKind::Get | OpKind::Query | OpKind::TransactGet | OpKind::IndexQuery
        )
    }
}

/// How a client operation ended, as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "error")]
pub enum OpResult {
    Ok,
    /// The service answered with an error (DynamoDB's error type name).
    Failed(String),
    /// No answer (timeout, region down): a write may or may not have happened (ER-01).
    Unknown,
}

/// A value written by the workload is identified by the id of the op that wrote it.
pub type ValueId = u64;

/// What a write installed (or tried to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub stamp: Stamp,
    /// `None` for a delete.
    pub value: Option<ValueId>,
    /// Writes to this item the region had seen before this one: `context[r]` is the
    /// highest sequence of region `r`'s writes seen (dense by region id).
    pub context: Vec<u64>,
    /// Set when the stored version already had a larger stamp: acknowledged, but lost
    /// at once (LWW by timestamp).
    pub superseded_by: Option<Stamp>,
}

/// An op's place in the history: (completion time, op id, key); see
/// [`OpRecord::history_order`].
pub type HistoryOrder = (u64, u64, KeyRef);

/// What a read returned for its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadValue {
    /// `None`: item absent.
    pub value: Option<ValueId>,
    pub stamp: Option<Stamp>,
}

/// The session of the service's own writes (TTL deletes): no client reads in it.
pub const SERVICE_SESSION: u32 = u32::MAX;

/// One client operation (or a service write, see [`OpKind::TtlDelete`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpRecord {
    pub id: u64,
    /// Client session (stable per simulated client) for session guarantees.
    pub session: u32,
    /// The region whose endpoint served (or was asked to serve) the op.
    pub region: RegionId,
    pub key: KeyRef,
    pub kind: OpKind,
    pub strong: bool,
    pub invoke_us: u64,
    pub complete_us: u64,
    /// The serving region's wall clock at completion.
    pub region_clock_us: u64,
    pub result: OpResult,
    pub written: Option<Written>,
    pub read: Option<ReadValue>,
    /// Client attempts (1 = no retry).
    pub attempts: u32,
    /// Set on the records of a transaction: which of its items this record is. A
    /// transaction is one client op (one `id`, one latency) recorded once per item, so
    /// the per-key checkers see every item it wrote or read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn: Option<TxnPart>,
}

/// Which item of a transaction an [`OpRecord`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnPart {
    /// 0 for the record that stands for the whole op in client statistics.
    pub index: u16,
    pub items: u16,
}

/// Sort records into history order ([`OpRecord::history_order`]; its keys are unique).
///
/// The simulator appends its history in order (`sim/src/completions.rs`), so this is a
/// fallback that should find nothing to do, and the check for the shards of a spilled
/// history: a sequential scan when the records are already sorted.
pub fn sort_history(records: &mut [OpRecord]) {
    if !records.is_sorted_by_key(OpRecord::history_order) {
        records.sort_unstable_by_key(OpRecord::history_order);
    }
}

impl OpRecord {
    /// The history's order: by completion, then op id, then key (a transaction's item
    /// records share the first two and are recorded in key order).
    pub fn history_order(&self) -> HistoryOrder {
        (self.complete_us, self.id, self.key)
    }

    pub fn latency_us(&self) -> u64 {
        self.complete_us - self.invoke_us
    }
    /// One client request, counted once: not a service write (see
    /// [`OpKind::TtlDelete`]) and not a transaction's second or later item record.
    pub fn is_client(&self) -> bool {
        self.kind.is_client() && self.txn.is_none_or(|t| t.index == 0)
    }
    pub fn acknowledged_write(&self) -> Option<&Written> {
        match self.result {
            OpResult::Ok => self.written.as_ref(),
            _ => None,
        }
    }
}

/// One replication apply at a destination region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyRecord {
    pub at_us: u64,
    pub region: RegionId,
    pub key: KeyRef,
    pub stamp: Stamp,
    pub written_at_us: u64,
    /// `None` when the write was applied; otherwise the stored, larger stamp that won.
    pub lost_to: Option<Stamp>,
    /// Applied and replaced a concurrent write (an LWW overwrite).
    pub overwrote_concurrent: Option<Stamp>,
}

/// The version of one item a replica holds at the end of a run (tombstones included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalVersion {
    pub key: KeyRef,
    pub stamp: Stamp,
    /// `None`: deleted (a tombstone) or a value the workload did not write.
    pub value: Option<ValueId>,
    pub deleted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Fault,
    LwwOverwrite,
    LeaderElection,
    Finding,
    /// Auto scaling changed a table's provisioned capacity (CA-16).
    AutoScaling,
    /// A table partition split (CA-11: heat, size or capacity).
    PartitionSplit,
    /// A stream consumer with the `notify` behaviour processed a batch.
    Notify,
    /// An interactive action (dashboard key), re-injected by `dynasim replay`.
    Action,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_us: u64,
    pub kind: EventKind,
    pub detail: String,
}

impl Event {
    pub fn new(at_us: u64, kind: EventKind, detail: String) -> Self {
        Event {
            at_us,
            kind,
            detail,
        }
    }
}

/// Final state of one table replica.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaState {
    pub region: RegionId,
    pub table: usize,
    /// Sorted by key.
    pub versions: Vec<FinalVersion>,
    pub tombstones: usize,
    /// Replication backlog to each peer at the end (entries not yet acknowledged).
    pub backlog: Vec<(RegionId, u64)>,
}

/// Everything a run recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunOutput {
    pub scenario: String,
    pub seed: u64,
    pub epoch_unix_us: i64,
    pub duration_us: u64,
    pub region_names: Vec<String>,
    pub history: Vec<OpRecord>,
    pub applies: Vec<ApplyRecord>,
    pub events: Vec<Event>,
    pub replicas: Vec<ReplicaState>,
    pub region_counters: Vec<RegionCounters>,
    pub replication_counters: Vec<ReplicationCounters>,
    /// Provisioned and consumed capacity of every table replica over time (derived from
    /// the run, not part of the trace hash).
    #[serde(default)]
    pub capacity: Vec<CapacitySample>,
    /// Every stream record a consumer processed (redeliveries included), in order.
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
    /// Per consumer and region, at the end of the run.
    #[serde(default)]
    pub consumers: Vec<ConsumerStats>,
    /// Counters of every table replica at the end of the run (metrics, not part of the
    /// trace hash).
    #[serde(default)]
    pub table_counters: Vec<TableReplicaCounters>,
    /// XXH3-64 over every op, apply and event in the order they happened, and the final
    /// replica versions.
    pub trace_hash: String,
}

/// Counters of one table replica at the end of a run: the metrics "per region and per
/// table". The region's [`RegionCounters`] are their sums over its tables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableReplicaCounters {
    pub region: RegionId,
    /// The table's index in the scenario.
    pub table: usize,
    pub table_name: String,
    /// Client operations by `<kind>/ok` and `<kind>/failed` (throttles are failures).
    pub ops: std::collections::BTreeMap<String, u64>,
    /// Throttled requests per ER-03 reason.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub throttles_by_reason: std::collections::BTreeMap<String, u64>,
    /// Units consumed by client requests and replicated writes (CA-).
    pub consumed_read_units: f64,
    pub consumed_write_units: f64,
    pub dax_hits: u64,
    pub dax_misses: u64,
    pub stale_replica_reads: u64,
    pub stale_index_reads: u64,
    pub leader_elections: u64,
    pub partition_splits: u64,
    /// Partitions at the end of the run.
    pub partitions: u64,
}

/// One stream record processed by a consumer (side effects done).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Index in the scenario's consumer list.
    pub consumer: u16,
    pub region: RegionId,
    pub key: KeyRef,
    /// The workload value of the record's new image (`None` for a REMOVE).
    pub value: Option<ValueId>,
    /// The record's sequence number in the region's stream.
    pub sequence: u64,
    pub at_us: u64,
    /// Iterator age: how long after the write the record was processed.
    pub age_us: u64,
}

/// What one consumer did in one region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerStats {
    pub consumer: u16,
    pub region: RegionId,
    pub invocations: u64,
    pub failed_invocations: u64,
    pub records_delivered: u64,
    /// Deliveries of a record already delivered (retries of partly processed batches).
    pub duplicates: u64,
    /// Records dropped by the origin-region filter.
    pub filtered: u64,
    /// Records sent to the failure destination after the last retry.
    pub to_failure_destination: u64,
    /// Records that aged out of the stream (24 h) before they were processed.
    pub expired: u64,
    /// Records read but not yet processed at the end.
    pub backlog: u64,
    /// Materialised views: keys on which the view and the table differ at the end.
    pub view_mismatches: Option<u64>,
}

/// Capacity of one table replica (or one of its GSIs) over one sampling interval ending
/// at `at_us`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacitySample {
    pub at_us: u64,
    pub region: RegionId,
    /// Index in the scenario's table list.
    pub table: usize,
    pub on_demand: bool,
    pub provisioned_read_units: f64,
    pub provisioned_write_units: f64,
    /// Units consumed per second over the interval (replicated writes included).
    pub consumed_read_per_s: f64,
    pub consumed_write_per_s: f64,
    /// The GSI this sample is of; `None` for the table itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
}

impl RunOutput {
    /// The replica state of `table` in `region`, if it holds one.
    pub fn replica(&self, region: RegionId, table: usize) -> Option<&ReplicaState> {
        self.replicas
            .iter()
            .find(|s| s.region == region && s.table == table)
    }
}

/// Per-region service counters at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionCounters {
    pub ops_ok: u64,
    pub ops_failed: u64,
    pub throttles: u64,
    pub dax_hits: u64,
    pub dax_misses: u64,
    pub leader_elections: u64,
    pub stale_replica_reads: u64,
    /// Writes throttled because a GSI lacked write capacity (CA-06); also in `throttles`.
    #[serde(default)]
    pub index_throttles: u64,
    /// Partition splits in all tables (CA-11).
    #[serde(default)]
    pub partition_splits: u64,
    /// Index queries that returned an older version than the table held (RC-08).
    #[serde(default)]
    pub stale_index_reads: u64,
    /// Throttled requests per ER-03 reason (`TableWriteKeyRangeThroughputExceeded`, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub throttles_by_reason: std::collections::BTreeMap<String, u64>,
    /// Sampled delay of the lagging third AZ replica behind each write (RC-14), us.
    #[serde(default)]
    pub replica_lag_us_p50: u64,
    #[serde(default)]
    pub replica_lag_us_p99: u64,
    #[serde(default)]
    pub replica_lag_us_max: u64,
    /// Sampled GSI propagation delay behind each base write (RC-08), us; 0 without GSIs.
    #[serde(default)]
    pub index_lag_us_p50: u64,
    #[serde(default)]
    pub index_lag_us_p99: u64,
    #[serde(default)]
    pub index_lag_us_max: u64,
}

/// Replication counters of one table replica at the end of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationCounters {
    pub region: RegionId,
    pub table: usize,
    pub entries_sent: u64,
    pub entries_resent: u64,
    pub remote_applied: u64,
    pub remote_discarded: u64,
    pub lww_overwrites: u64,
    pub tombstones_collected: u64,
    /// GT-09: remote writes applied before an earlier write of the same origin.
    #[serde(default)]
    pub applied_out_of_order: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, complete_us: u64, key: u64) -> OpRecord {
        OpRecord {
            id,
            session: 0,
            region: RegionId(0),
            key: KeyRef { table: 0, key },
            kind: OpKind::Get,
            strong: false,
            invoke_us: 0,
            complete_us,
            region_clock_us: 0,
            result: OpResult::Ok,
            written: None,
            read: None,
            attempts: 1,
            txn: None,
        }
    }

    /// Against a stable sort of the records: near-sorted and shuffled inputs, equal
    /// completion times (told apart by id, then by key for a transaction's parts), and
    /// the trivial sizes.
    #[test]
    fn sort_history_orders_as_a_comparison_sort_does() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for len in [0_u64, 1, 2, 3, 17, 300, 5_000] {
            for spread in [1_u64, 7, 5_000, 1 << 50] {
                let mut records: Vec<OpRecord> = (0..len)
                    .map(|i| {
                        let id = i / 2; // pairs share an id, as a transaction's parts do
                        let complete_us = i * 3 + next(spread);
                        record(id, complete_us, next(1_000) * 2 + i % 2)
                    })
                    .collect();
                let mut expected = records.clone();
                expected.sort_by_key(OpRecord::history_order);
                sort_history(&mut records);
                assert_eq!(records, expected, "len {len}, spread {spread}");
            }
        }
    }
}
