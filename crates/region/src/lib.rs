//! dynasim-region: one simulated AWS region, as a sans-IO state machine.
//!
//! A region hosts one replica of each global table it takes part in. Inside, each table
//! is split into partitions by hashed partition key (which split for heat, size and
//! capacity, see [`partitions`]); each partition has three storage
//! replicas, one per AZ, and a leader (RC-01..RC-04). Writes go to the leader and are
//! acknowledged at 2 of 3 replicas; the third applies after a sampled lag, so an
//! eventually consistent read routed to it can be stale (RC-14). When the leader's AZ
//! fails, strong reads and writes of its partitions fail until the old lease expires
//! (RC-10); with two AZs down writes fail (RC-12). Capacity is enforced per table and per
//! partition with burst (CA-08..CA-10) or on-demand peak doubling (CA-17). An optional
//! DAX-like item cache serves eventually consistent reads (section 9). A request's latency
//! is composed of sampled parts (LT-01..LT-04) plus the wait in its partition's queue;
//! GSIs receive base writes after their own propagation delay (RC-08, [`gsi`]).
//!
//! Architecture invariants: no clock, no RNG of its own, no I/O. Time (true simulated time
//! and the region's wall clock) and a seeded RNG come in as arguments; messages for other
//! regions go out as values. The table data lives in a [`dynasim_engine::Engine`]; the
//! replicator ([`dynasim_replication::Replicator`]) owns the LWW stamps.

pub mod autoscale;
pub mod capacity;
mod dax;
pub mod gsi;
mod index_query;
pub mod latency;
pub mod partitions;
mod transaction;

use autoscale::{AutoScaler, AutoScalingSpec, ScalingAction};
use capacity::{OnDemand, PartitionQueue, ThrottleReason, TokenBucket, read_units, write_units};
use dax::DaxCache;
use dynasim_core::history::{FinalVersion, KeyRef, OpKind, OpResult, ReadValue, ValueId, Written};
use dynasim_core::{RegionId, SimTime};
use dynasim_engine::api::{CreateTableInput, DeleteItemInput, PutItemInput, UpdateItemInput};
use dynasim_engine::{
    AttributeDefinition, AttributeValue, Engine, EngineConfig, EngineError, ErrorKind, Item,
    ItemChange, ItemKey, KeySchema, KeySchemaElement, KeyType, ScalarAttributeType,
};
use dynasim_replication::{Apply, Message, Replicator, ReplicatorConfig};
use gsi::{GsiCapacityUse, GsiRuntime, GsiSpec};
use latency::LatencyModel;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use dynasim_replication::KnownBug;

/// The attribute holding the workload's value id (which op wrote this version).
pub const VALUE_ATTRIBUTE: &str = "v";
/// Filler attribute that brings an item to its configured size.
pub const PAD_ATTRIBUTE: &str = "pad";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacitySpec {
    pub on_demand: bool,
    /// Provisioned units per second (ignored on demand).
    pub read_units: f64,
    pub write_units: f64,
    /// Target-tracking auto scaling of provisioned reads and writes (CA-16).
    pub read_auto_scaling: Option<AutoScalingSpec>,
    pub write_auto_scaling: Option<AutoScalingSpec>,
}

/// Reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CapacityDimension {
    Read,
    Write,
}

impl CapacityDimension {
    pub fn name(self) -> &'static str {
        match self {
            CapacityDimension::Read => "read",
            CapacityDimension::Write => "write",
        }
    }
}

/// Provisioned and consumed units of one table replica, for metrics and plots.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityUse {
    pub on_demand: bool,
    pub provisioned_read_units: f64,
    pub provisioned_write_units: f64,
    /// Cumulative units consumed since the start (replicated writes included).
    pub consumed_read_units: f64,
    pub consumed_write_units: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DaxSpec {
    pub item_ttl_us: u64,
    /// TTL of the query cache (DX-05, DX-06), separate from the item cache's.
    #[serde(default = "default_dax_query_ttl_us")]
    pub query_ttl_us: u64,
    /// LRU budget of each of the two caches.
    pub size_bytes: u64,
}

fn split_for_heat_default() -> bool {
    true
}

fn default_dax_query_ttl_us() -> u64 {
    5 * 60 * 1_000_000
}

/// One table replica as this region sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableSpec {
    pub name: String,
    pub partition_key: String,
    pub partition_key_type: KeyTypeSpec,
    pub sort_key: Option<(String, KeyTypeSpec)>,
    /// The other regions holding replicas.
    pub peers: Vec<RegionId>,
    pub capacity: CapacitySpec,
    pub dax: Option<DaxSpec>,
    /// Multi-Region strong consistency: local writes are stamped after every version
    /// this region has seen (no LWW ambiguity, GT-24).
    pub mrsc: bool,
    /// Time to live, if enabled on the table (TTL-01..08).
    pub ttl: Option<TtlSpec>,
    /// DynamoDB Streams view type (e.g. "NEW_AND_OLD_IMAGES"), if the table has a stream.
    pub stream_view: Option<String>,
    /// Client writes carry [`ORIGIN_ATTRIBUTE`], the writing region's id, as applications
    /// do so that stream consumers can tell local writes from replicated ones (UC-03).
    pub origin_attribute: bool,
    /// CA-11: split partitions that stay hot (DynamoDB always does).
    #[serde(default = "split_for_heat_default")]
    pub split_for_heat: bool,
    /// Global secondary indexes, each with its own capacity (CP-06, CA-06).
    #[serde(default)]
    pub gsis: Vec<GsiSpec>,
}

/// The attribute holding the id of the region a client wrote an item in.
pub const ORIGIN_ATTRIBUTE: &str = "origin_region";

/// A table's TTL: the attribute holding expiry epoch seconds, and when the sweeper
/// deletes an expired item (`delete_delay_us` plus a per-key, per-region share of
/// `delete_jitter_us`, TTL-08).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtlSpec {
    pub attribute: String,
    pub delete_delay_us: u64,
    pub delete_jitter_us: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyTypeSpec {
    S,
    N,
    B,
}

/// Region settings; every figure the reference marks unconfirmed is here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionConfig {
    pub latency: LatencyModel,
    /// Leader lease: after the leader's AZ fails, its partitions serve no writes or strong
    /// reads until this much time has passed (RC-10).
    pub lease_us: u64,
    /// Seconds of unused provisioned capacity kept as burst (CA-09).
    pub burst_s: f64,
    /// Per-partition limits (CA-08).
    pub partition_read_units_max: f64,
    pub partition_write_units_max: f64,
    /// Partitions a table starts with, before capacity-driven ones.
    pub partitions_min: u32,
    /// On-demand initial throughput (CA-18).
    pub on_demand_initial_read_units: f64,
    pub on_demand_initial_write_units: f64,
    /// Deliberately broken: strong reads served by a follower.
    pub strong_reads_from_follower: bool,
    /// GSI propagation delays are the configured ones times this (1; the known bug
    /// `lagging_index` makes indexes fall minutes behind).
    pub index_propagation_slowdown: f64,
    /// How often the TTL sweeper runs (TTL-04: a background process).
    pub ttl_sweep_interval_us: u64,
    /// When partitions split (CA-11, CA-13).
    pub split: partitions::SplitPolicy,
}

impl Default for RegionConfig {
    fn default() -> Self {
        RegionConfig {
            latency: LatencyModel::default(),
            lease_us: 2_000_000,
            burst_s: 300.0,
            partition_read_units_max: 3_000.0,
            partition_write_units_max: 1_000.0,
            partitions_min: 4,
            on_demand_initial_read_units: 12_000.0,
            on_demand_initial_write_units: 4_000.0,
            strong_reads_from_follower: false,
            index_propagation_slowdown: 1.0,
            ttl_sweep_interval_us: 1_000_000,
            split: partitions::SplitPolicy::default(),
        }
    }
}

/// A client operation in workload terms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientOp {
    pub kind: OpKind,
    pub table: usize,
    pub key: u64,
    /// The id this op writes as its value (the op id).
    pub value: ValueId,
    pub item_bytes: u64,
    pub strong: bool,
    /// Puts and updates set the table's TTL attribute to the region's clock plus this
    /// (the client asks for expiry; ignored on tables without TTL).
    pub expire_after_us: Option<u64>,
    /// Transactions only: how many consecutive keys from `key` the transaction covers
    /// (TX-01); 1 for single-item ops.
    pub items: u16,
    /// Index queries only: which of the table's GSIs is read.
    pub index: u8,
}

/// What serving one op produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Served {
    pub result: OpResult,
    pub latency_us: u64,
    pub written: Option<Written>,
    pub read: Option<ReadValue>,
    pub throttle: Option<ThrottleReason>,
    pub dax_hit: bool,
    /// A successful write as another region applies it synchronously (MRSC).
    pub sync: Option<SyncWrite>,
    /// A transaction's items in key order (`written` and `read` above stay `None`).
    pub items: Vec<TxnItemServed>,
}

/// One item of a served transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct TxnItemServed {
    pub key: u64,
    pub written: Option<Written>,
    pub read: Option<ReadValue>,
}

/// A write to apply synchronously in another region (MRSC, GT-24): the whole new image,
/// its stamp and its causal context.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncWrite {
    pub key: TableKey,
    pub image: Option<Arc<Item>>,
    pub stamp: dynasim_core::Stamp,
    pub context: dynasim_replication::Context,
}

/// A replicated item's key: the engine's encoded key (which orders and compares) and the
/// key attributes themselves (which a replicated delete needs to address the item).
/// The attributes are shared: a key is cloned into the log, every peer's batch, the
/// version map and each apply, and a clone must not copy the attribute map.
#[derive(Clone, Debug)]
pub struct TableKey {
    pub encoded: ItemKey,
    pub attrs: Arc<Item>,
}

impl PartialEq for TableKey {
    fn eq(&self, other: &Self) -> bool {
        self.encoded == other.encoded
    }
}
impl Eq for TableKey {}
impl PartialOrd for TableKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TableKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.encoded.cmp(&other.encoded)
    }
}
/// Hashes as its encoded key does, as `Borrow<ItemKey>` requires.
impl std::hash::Hash for TableKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.encoded.hash(state);
    }
}
impl std::borrow::Borrow<ItemKey> for TableKey {
    fn borrow(&self) -> &ItemKey {
        &self.encoded
    }
}

/// An item the TTL sweeper deleted: a service write in the history ([`OpKind::TtlDelete`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TtlDeleted {
    /// The region's local table index.
    pub table: usize,
    /// The workload key.
    pub key: u64,
    pub written: Written,
}

/// A replication message addressed to another region.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: RegionId,
    pub table: usize,
    pub message: Message<TableKey, Arc<Item>>,
}

/// Per-region counters for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionCounters {
    pub ops_ok: u64,
    pub ops_failed: u64,
    pub throttles: u64,
    pub dax_hits: u64,
    pub dax_misses: u64,
    pub leader_elections: u64,
    pub stale_replica_reads: u64,
    /// Writes throttled because a GSI had no write capacity (CA-06), also in `throttles`.
    pub index_throttles: u64,
    pub partition_splits: u64,
    /// Index queries that returned an older version than the table held (RC-08).
    pub stale_index_reads: u64,
}

/// Counters of one table replica (the metrics "per region and per table"): the
/// region's [`RegionCounters`] are the sums of these over its tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableCounters {
    /// Client operations by type that succeeded / failed (throttles included).
    pub ops_ok: BTreeMap<OpKind, u64>,
    pub ops_failed: BTreeMap<OpKind, u64>,
    pub throttles_by_reason: BTreeMap<ThrottleReason, u64>,
    pub dax_hits: u64,
    pub dax_misses: u64,
    pub stale_replica_reads: u64,
    pub stale_index_reads: u64,
    pub leader_elections: u64,
    pub partition_splits: u64,
}

/// Replication lag inside a region: the sampled delays of the third AZ replica and of
/// every GSI behind the base write, microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LagSummary {
    pub replica_lag_us_p50: u64,
    pub replica_lag_us_p99: u64,
    pub replica_lag_us_max: u64,
    pub index_lag_us_p50: u64,
    pub index_lag_us_p99: u64,
    pub index_lag_us_max: u64,
}

/// Sampled delays (microseconds, up to a day; longer ones saturate).
fn lag_histogram() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(1, 86_400_000_000, 3).expect("valid bounds")
}

/// The size below which [`TableRuntime::lagging`] is never pruned.
///
/// Why it is small and the threshold adapts: entries matter only for the follower lag
/// (milliseconds), so a few hundred are live at 10,000 writes per second, while every
/// write probes the map. Pruned only past 4,096 entries, the map spread those probes
/// over hundreds of KB that the item maps keep evicting: in callgrind's cache model of
/// a 3-region run, 1.1 M of its 21 M last-level read misses and 1.8 M of its 12 M write
/// misses; pruned at twice the live entries, 0.01 M and 0.2 M. An AZ outage (whose
/// writes lag until it returns) still grows it as far as it needs.
const LAGGING_PRUNE_MIN: usize = 256;

/// The lagging follower's view of an item after its latest write.
#[derive(Clone, Debug)]
struct Lagging {
    prev: ReadValue,
    /// Per AZ: when that replica has the latest write.
    visible_at_us: [u64; 3],
}

struct TableRuntime {
    spec: TableSpec,
    replicator: Replicator<TableKey, Arc<Item>>,
    schema: KeySchema,
    read: TokenBucket,
    write: TokenBucket,
    partition_read: Vec<TokenBucket>,
    partition_write: Vec<TokenBucket>,
    /// Each partition's storage node as a queue, reads and writes apart.
    read_queues: Vec<PartitionQueue>,
    write_queues: Vec<PartitionQueue>,
    on_demand_read: OnDemand,
    on_demand_write: OnDemand,
    /// Hashed: looked up on every read and write; only ever iterated to update or drop
    /// entries one by one, so its order never matters.
    lagging: HashMap<ItemKey, Lagging, foldhash::fast::FixedState>,
    /// `lagging` drops its caught-up entries when it grows past this: twice the entries
    /// still lagging at the last pruning, at least [`LAGGING_PRUNE_MIN`].
    lagging_prune_at: usize,
    counters: TableCounters,
    dax: Option<DaxCache>,
    /// DAX's query cache (DX-05): Query results by parameters, never updated or
    /// invalidated by writes, only by its TTL and LRU.
    dax_query: Option<DaxCache>,
    /// Partition leaders: AZ index per partition.
    leaders: Vec<u8>,
    /// Which partition holds a key; demand per partition for split-for-heat.
    partition_map: partitions::PartitionMap,
    consumed_read_units: f64,
    consumed_write_units: f64,
    read_scaler: Option<AutoScaler>,
    write_scaler: Option<AutoScaler>,
    /// CP-16: decreases left today, shared by manual changes and auto scaling.
    decreases: dynasim_engine::DecreaseBudget,
    gsis: Vec<GsiRuntime>,
}

/// A key's partition and its position in the partition's range.
#[derive(Clone, Copy, Debug)]
struct Placement {
    partition: usize,
    position: u64,
}

/// A partition split (CA-11), already in effect.
pub struct SplitEvent {
    pub table: usize,
    pub split: partitions::Split,
    /// The table's partitions after the split.
    pub partitions: usize,
}

/// An auto scaling action on a table (`index: None`) or one of its GSIs, already in
/// effect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalingEvent {
    pub table: usize,
    pub index: Option<usize>,
    pub dimension: CapacityDimension,
    pub action: ScalingAction,
}

pub struct Region {
    id: RegionId,
    config: RegionConfig,
    engine: Engine,
    tables: Vec<TableRuntime>,
    az_up: [bool; 3],
    az_down_since_us: [u64; 3],
    counters: RegionCounters,
    throttles_by_reason: BTreeMap<ThrottleReason, u64>,
    replica_lag_us: hdrhistogram::Histogram<u64>,
    index_lag_us: hdrhistogram::Histogram<u64>,
}

impl Region {
    pub fn new(
        id: RegionId,
        tables: &[TableSpec],
        config: RegionConfig,
        replication: ReplicatorConfig,
    ) -> Self {
        let mut engine = Engine::new(EngineConfig {
            // Each region's sweeper reaches a key at its own point of the jitter window.
            ttl_jitter_salt: u64::from(id.0) + 1,
            ..EngineConfig::default()
        });
        let mut runtimes = Vec::with_capacity(tables.len());
        for spec in tables {
            engine
                .create_table(create_table_input(spec), SimTime::ZERO)
                .expect("table specs are validated when the scenario loads");
            if let Some(ttl) = &spec.ttl {
                enable_ttl(&mut engine, &spec.name, ttl);
            }
            runtimes.push(TableRuntime::new(
                spec.clone(),
                id,
                &config,
                replication.clone(),
            ));
        }
        Region {
            id,
            config,
            engine,
            tables: runtimes,
            az_up: [true; 3],
            az_down_since_us: [0; 3],
            counters: RegionCounters::default(),
            throttles_by_reason: BTreeMap::new(),
            replica_lag_us: lag_histogram(),
            index_lag_us: lag_histogram(),
        }
    }

    pub fn id(&self) -> RegionId {
        self.id
    }

    /// Throttled requests per ER-03 reason, in reason order.
    pub fn throttles_by_reason(&self) -> impl Iterator<Item = (ThrottleReason, u64)> + '_ {
        self.throttles_by_reason.iter().map(|(r, n)| (*r, *n))
    }

    /// The replica and index lag inside this region so far (RC-14, RC-08).
    pub fn lag_summary(&self) -> LagSummary {
        let quantiles = |h: &hdrhistogram::Histogram<u64>| {
            if h.is_empty() {
                (0, 0, 0)
            } else {
                (h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max())
            }
        };
        let (r50, r99, rmax) = quantiles(&self.replica_lag_us);
        let (i50, i99, imax) = quantiles(&self.index_lag_us);
        LagSummary {
            replica_lag_us_p50: r50,
            replica_lag_us_p99: r99,
            replica_lag_us_max: rmax,
            index_lag_us_p50: i50,
            index_lag_us_p99: i99,
            index_lag_us_max: imax,
        }
    }

    pub fn counters(&self) -> RegionCounters {
        self.counters
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Make room for `keys` more versions in `table`'s replicator up front (see
    /// [`Replicator::reserve_versions`]).
    pub fn reserve_versions(&mut self, table: usize, keys: usize) {
        self.tables[table].replicator.reserve_versions(keys);
    }

    pub fn replicator(&self, table: usize) -> &Replicator<TableKey, Arc<Item>> {
        &self.tables[table].replicator
    }

    pub fn az_up(&self) -> [bool; 3] {
        self.az_up
    }

    /// Take an AZ down or bring it back. Partitions led from a failed AZ elect a new
    /// leader once the lease expires; a returning AZ's replicas catch up.
    pub fn set_az(&mut self, az: u8, up: bool, now_us: u64) {
        let i = az as usize;
        assert!(i < 3, "three AZs per region");
        if self.az_up[i] == up {
            return;
        }
        self.az_up[i] = up;
        if !up {
            self.az_down_since_us[i] = now_us;
        } else {
            // The returning replica catches up from its peers' logs. The entries the
            // outage kept lagging are caught up now: prune them, or a map grown to the
            // keys written meanwhile would wait for as many new keys to be pruned again.
            for t in &mut self.tables {
                for l in t.lagging.values_mut() {
                    l.visible_at_us[i] = l.visible_at_us[i].min(now_us);
                }
                t.prune_lagging(now_us);
            }
        }
    }

    /// The leader AZ of a partition now, electing a new one when the old lease expired.
    /// `None` while no leader may serve (lease not expired, or no quorum).
    fn leader(&mut self, table: usize, partition: usize, now_us: u64) -> Option<u8> {
        let up_count = self.az_up.iter().filter(|u| **u).count();
        if up_count < 2 {
            return None; // RC-12: no quorum for writes or strong reads.
        }
        let current = self.tables[table].leaders[partition];
        if self.az_up[current as usize] {
            return Some(current);
        }
        if now_us < self.az_down_since_us[current as usize] + self.config.lease_us {
            return None; // RC-10: the old leader's lease still holds.
        }
        let next = (1..3u8)
            .map(|d| (current + d) % 3)
            .find(|a| self.az_up[*a as usize])?;
        self.tables[table].leaders[partition] = next;
        self.tables[table].counters.leader_elections += 1;
        self.counters.leader_elections += 1;
        Some(next)
    }

    /// Serve one client operation arriving at `now_us` (true time); `wall_us` is this
    /// region's clock. Returns the result and its latency.
    pub fn execute(
        &mut self,
        op: &ClientOp,
        now_us: u64,
        wall_us: u64,
        rng: &mut impl Rng,
    ) -> Served {
        let served = self.execute_inner(op, now_us, wall_us, rng);
        let table = &mut self.tables[op.table].counters;
        match served.result {
            OpResult::Ok => {
                self.counters.ops_ok += 1;
                *table.ops_ok.entry(op.kind).or_default() += 1;
            }
            _ => {
                self.counters.ops_failed += 1;
                *table.ops_failed.entry(op.kind).or_default() += 1;
            }
        }
        if let Some(reason) = served.throttle {
            self.counters.throttles += 1;
            *self.throttles_by_reason.entry(reason).or_default() += 1;
            *table.throttles_by_reason.entry(reason).or_default() += 1;
            if matches!(
                reason,
                ThrottleReason::IndexWriteProvisionedThroughputExceeded
                    | ThrottleReason::IndexWriteMaxOnDemandThroughputExceeded
            ) {
                self.counters.index_throttles += 1;
            }
        }
        served
    }

    fn execute_inner(
        &mut self,
        op: &ClientOp,
        now_us: u64,
        wall_us: u64,
        rng: &mut impl Rng,
    ) -> Served {
        if matches!(op.kind, OpKind::Transaction | OpKind::TransactGet) {
            return self.execute_transaction(op, now_us, wall_us, rng);
        }
        if op.kind == OpKind::IndexQuery {
            return self.index_query(op, now_us, rng);
        }
        // A write needs the key item for its engine request; a read only the encoded key.
        let (key, key_item) = if op.kind.is_write() {
            let (key, item) = self.tables[op.table].key_item_and_key(op.key);
            (key, Some(item))
        } else {
            (self.tables[op.table].encoded_key(op.key), None)
        };
        let placement = self.tables[op.table].place(&key);
        let partition = placement.partition;
        let front_end_us = self.config.latency.front_end.sample(rng);
        if op.kind.is_write() || op.strong {
            let strong_from_follower =
                self.config.strong_reads_from_follower && !op.kind.is_write();
            if !strong_from_follower && self.leader(op.table, partition, now_us).is_none() {
                return failed(ErrorKind::InternalServerError, front_end_us + 5_000);
            }
        }
        if op.kind.is_write() && !self.tables[op.table].replicator.has_room() {
            // Replication back-pressure: the change log to a peer is full.
            return failed(ErrorKind::ThrottlingException, front_end_us);
        }
        if let Some(reason) = self.tables[op.table].admit(op, placement, now_us) {
            return self.throttled(op.table, reason, front_end_us);
        }
        match key_item {
            None => self.read(op, key, partition, now_us, rng),
            Some(key_item) => self.write(op, key_item, key, partition, now_us, wall_us, rng),
        }
    }

    /// A throttled request: on-demand tables answer ThrottlingException, provisioned ones
    /// ProvisionedThroughputExceededException, both with the reason (CA-).
    fn throttled(&self, table: usize, reason: ThrottleReason, latency_us: u64) -> Served {
        let kind = if self.tables[table].spec.capacity.on_demand {
            ErrorKind::ThrottlingException
        } else {
            ErrorKind::ProvisionedThroughputExceededException
        };
        let mut s = failed(kind, latency_us);
        s.throttle = Some(reason);
        s
    }

    fn read(
        &mut self,
        op: &ClientOp,
        key: ItemKey,
        partition: usize,
        now_us: u64,
        rng: &mut impl Rng,
    ) -> Served {
        let latency = self.config.latency.clone();
        let table = &mut self.tables[op.table];
        let cache = if op.kind == OpKind::Query {
            &mut table.dax_query
        } else {
            &mut table.dax
        };
        if let (false, Some(dax)) = (op.strong, cache) {
            if let Some(hit) = dax.get(&key, now_us) {
                self.counters.dax_hits += 1;
                table.counters.dax_hits += 1;
                return ok_read(hit, latency.dax_hit_us(rng), true);
            }
            self.counters.dax_misses += 1;
            table.counters.dax_misses += 1;
        }
        let leader = table.leaders[partition];
        let az = if op.strong && !self.config.strong_reads_from_follower {
            leader
        } else {
            match random_up_az(&self.az_up, rng) {
                Some(az) => az,
                None => {
                    return failed(
                        ErrorKind::InternalServerError,
                        latency.front_end.sample(rng) + 5_000,
                    );
                }
            }
        };
        let current = if op.kind == OpKind::Query {
            // A Query on the partition key, as a client would send it (QS-): the table
            // keeps one item per partition key, so it returns at most that item.
            match table.query_value(&mut self.engine, op.key, now_us) {
                Ok(value) => value,
                Err(e) => return failed(e.kind, latency.read_us(true, rng)),
            }
        } else {
            table.current_value(&self.engine, &key)
        };
        let value = match table.lagging.get(&key) {
            Some(l) if l.visible_at_us[az as usize] > now_us => {
                self.counters.stale_replica_reads += 1;
                table.counters.stale_replica_reads += 1;
                l.prev.clone()
            }
            _ => current,
        };
        let cache = if op.kind == OpKind::Query {
            &mut table.dax_query
        } else {
            &mut table.dax
        };
        if let (false, Some(dax)) = (op.strong, cache) {
            dax.put(key, value.clone(), now_us);
        }
        let units = read_units(op.item_bytes, op.strong);
        let wait_us = table.queue_wait_us(
            partition,
            false,
            units,
            now_us,
            latency.partition_queue_wait_max_us,
        );
        let remote = az != (op.key % 3) as u8;
        ok_read(value, latency.read_us(remote, rng) + wait_us, false)
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        op: &ClientOp,
        key_item: Item,
        key: ItemKey,
        partition: usize,
        now_us: u64,
        wall_us: u64,
        rng: &mut impl Rng,
    ) -> Served {
        let table = &mut self.tables[op.table];
        let before_stamp = table.stamp_of(&key);
        let outcome = table.engine_write(&mut self.engine, op, key_item, now_us, wall_us);
        let mut change = match outcome {
            Ok(change) => change,
            Err(e) => {
                let mut s = failed(e.kind, self.config.latency.write_us(true, rng));
                s.result = OpResult::Failed(e.kind.name().to_string());
                return s;
            }
        };
        table.charge_gsis(&self.engine, &change, now_us);
        // What the write replaced, as `current_value` would have read it just before
        // (the engine hands back the old image: no second search of the table).
        let before_value = change.old_image.as_deref().and_then(value_id);
        let before = ReadValue {
            value: before_value,
            stamp: before_value.and(before_stamp),
        };
        // The engine built the key attributes already: share them rather than copy.
        let table_key = TableKey {
            encoded: key.clone(),
            attrs: Arc::new(std::mem::take(&mut change.key_attrs)),
        };
        // The replicator keeps the engine's stored image itself (shared, not copied).
        let image = change.new_image.take();
        // Only an MRSC table hands the write to another region synchronously: an MREC
        // write does not pay for the copy (a clock and a key per write).
        let mrsc = table.spec.mrsc;
        let sync_parts = mrsc.then(|| (table_key.clone(), image.clone()));
        let local = self.stamp_local(
            op.table, table_key, image, &change, before, now_us, wall_us, rng,
        );
        let table = &mut self.tables[op.table];
        if local.superseded_by.is_none()
            && let Some(dax) = &mut table.dax
        {
            // Write-through: writes made through DAX refresh its item cache.
            let value = ReadValue {
                value: op_value(op),
                stamp: Some(local.stamp),
            };
            dax.put(key, value, now_us);
        }
        let remote = (op.key % 3) as u8 != table.leaders[partition];
        let wait_max_us = self.config.latency.partition_queue_wait_max_us;
        let wait_us = table.queue_wait_us(
            partition,
            true,
            write_units(op.item_bytes),
            now_us,
            wait_max_us,
        );
        let sync = sync_parts
            .filter(|_| local.superseded_by.is_none())
            .map(|(key, image)| SyncWrite {
                key,
                image,
                stamp: local.stamp,
                context: dynasim_replication::Context::from_dense(&local.context_before)
                    .with(self.id, local.stamp.seq),
            });
        debug_assert!(mrsc || sync.is_none(), "only MRSC writes are synchronous");
        let written = Written {
            stamp: local.stamp,
            value: op_value(op),
            context: local.context_before,
            superseded_by: local.superseded_by,
        };
        Served {
            result: OpResult::Ok,
            latency_us: self.config.latency.write_us(remote, rng) + wait_us,
            written: Some(written),
            read: None,
            throttle: None,
            dax_hit: false,
            sync,
            items: Vec::new(),
        }
    }

    /// Run the TTL sweeper (TTL-04..07) at `now_us` (true time); `wall_us` is this
    /// region's clock, which decides what has expired. Each expired item is deleted as a
    /// stamped local write that replicates like any other (TTL-07), costs no write
    /// capacity here (TTL-05), and leaves DAX alone (the cache serves the expired item
    /// until its own TTL, as a cache in front of the table would). Returns the deletes
    /// of workload items, for the history.
    pub fn sweep_ttl(&mut self, now_us: u64, wall_us: u64, rng: &mut impl Rng) -> Vec<TtlDeleted> {
        if self.az_up.iter().filter(|u| **u).count() < 2 {
            return Vec::new(); // RC-12: without a quorum the sweeper cannot delete.
        }
        let changes = self
            .engine
            .sweep_ttl_by_clock(SimTime(now_us), i128::from(wall_us));
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let Some(t) = self.tables.iter().position(|t| t.spec.name == change.table) else {
                continue;
            };
            if let Some(deleted) = self.record_ttl_delete(t, change, now_us, wall_us, rng) {
                out.push(deleted);
            }
        }
        out
    }

    /// Stamp a local change in the replication log and keep the engine true to LWW: when
    /// the stored version already carries a larger stamp, the change loses at once and
    /// the stored image goes back; otherwise the lagging follower starts catching up.
    #[allow(clippy::too_many_arguments)]
    fn stamp_local(
        &mut self,
        t: usize,
        table_key: TableKey,
        image: Option<Arc<Item>>,
        change: &ItemChange,
        before: ReadValue,
        now_us: u64,
        wall_us: u64,
        rng: &mut impl Rng,
    ) -> dynasim_replication::LocalWrite {
        let table = &mut self.tables[t];
        let key = table_key.encoded.clone();
        let key_attrs = table_key.attrs.clone();
        let local = table
            .replicator
            .record_local(table_key, image, wall_us, now_us);
        if local.superseded_by.is_some() {
            self.engine
                .apply_replicated_image(&table.spec.name, &key_attrs, change.old_image.clone())
                .expect("restoring a stored image cannot fail");
        } else {
            let lag_us = self.config.latency.follower_lag_us(rng);
            let partition = table.partition_of(&key);
            let slowdown = self.config.index_propagation_slowdown;
            table.note_index_write(&key, &before, now_us, slowdown, rng, &mut self.index_lag_us);
            self.replica_lag_us.saturating_record(lag_us.max(1));
            table.note_write(key, before, partition, now_us, lag_us, &self.az_up);
        }
        local
    }

    fn record_ttl_delete(
        &mut self,
        t: usize,
        change: ItemChange,
        now_us: u64,
        wall_us: u64,
        rng: &mut impl Rng,
    ) -> Option<TtlDeleted> {
        let table = &self.tables[t];
        let key = change.key.clone();
        let before = ReadValue {
            value: change.old_image.as_deref().and_then(value_id),
            stamp: table
                .replicator
                .version(&key)
                .filter(|v| !v.deleted)
                .map(|v| v.stamp),
        };
        let table_key = TableKey {
            encoded: key,
            attrs: Arc::new(change.key_attrs.clone()),
        };
        let local = self.stamp_local(t, table_key, None, &change, before, now_us, wall_us, rng);
        let table = &self.tables[t];
        let workload_key = workload_key(&table.spec.partition_key, &change.key_attrs)?;
        Some(TtlDeleted {
            table: t,
            key: workload_key,
            written: Written {
                stamp: local.stamp,
                value: None,
                context: local.context_before,
                superseded_by: local.superseded_by,
            },
        })
    }

    /// Replication messages due now, for every table.
    pub fn poll_replication(&mut self, now_us: u64) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for (i, t) in self.tables.iter_mut().enumerate() {
            for (to, message) in t.replicator.poll(now_us) {
                out.push(Outgoing {
                    to,
                    table: i,
                    message,
                });
            }
        }
        out
    }

    /// Apply a replication message from a peer. Replicated writes bypass DAX (GT-18) and
    /// consume this region's write capacity (GT-07).
    pub fn on_replication(
        &mut self,
        table: usize,
        message: Message<TableKey, Arc<Item>>,
        now_us: u64,
        rng: &mut impl Rng,
    ) -> dynasim_replication::Handled<TableKey, Arc<Item>> {
        let (applies, ack) = self.tables[table].replicator.on_message(message, now_us);
        for apply in &applies {
            self.install(table, apply, now_us, rng);
        }
        (applies, ack)
    }

    /// GT-09: apply what every table's partition streams release by `now_us` (entries
    /// received earlier and held). Drivers call it at least every batch interval and
    /// record the applies as they record those of [`Region::on_replication`].
    pub fn release_replication(
        &mut self,
        now_us: u64,
        rng: &mut impl Rng,
    ) -> Vec<(usize, Apply<TableKey, Arc<Item>>)> {
        let mut out = Vec::new();
        for table in 0..self.tables.len() {
            for apply in self.tables[table].replicator.release(now_us) {
                self.install(table, &apply, now_us, rng);
                out.push((table, apply));
            }
        }
        out
    }

    /// MRSC: apply another region's write synchronously (before it is acknowledged there).
    pub fn apply_synchronous(
        &mut self,
        table: usize,
        write: &SyncWrite,
        now_us: u64,
        rng: &mut impl Rng,
    ) -> Apply<TableKey, Arc<Item>> {
        let apply = self.tables[table].replicator.apply_synchronous(
            write.key.clone(),
            write.image.clone(),
            write.stamp,
            write.context,
            now_us,
        );
        self.install(table, &apply, now_us, rng);
        apply
    }

    /// The newest version this region holds of a workload key, as a write another
    /// region can apply (MRSC read repair before a conditional write).
    pub fn current_write(&self, table: usize, key: u64) -> Option<SyncWrite> {
        let t = &self.tables[table];
        let key_item = t.key_item(key);
        let encoded = t.item_key(&key_item);
        let version = t.replicator.version(&encoded)?;
        let image = if version.deleted {
            None
        } else {
            Some(Arc::clone(self.engine.get_shared(&t.spec.name, &encoded)?))
        };
        Some(SyncWrite {
            key: TableKey {
                encoded,
                attrs: Arc::new(key_item),
            },
            image,
            stamp: version.stamp,
            context: version.context,
        })
    }

    /// Install an applied remote write in the table (engine, follower lag, capacity).
    fn install(
        &mut self,
        table: usize,
        apply: &Apply<TableKey, Arc<Item>>,
        now_us: u64,
        rng: &mut impl Rng,
    ) {
        let Apply::Applied {
            key,
            image,
            replaced,
            ..
        } = apply
        else {
            return;
        };
        let t = &mut self.tables[table];
        let key_item = &key.attrs;
        let key = &key.encoded;
        // Sized once: for capacity here and for the table's size in the engine.
        let image_bytes = image.as_deref().map(item_bytes);
        let units = image_bytes.map_or(1.0, write_units);
        t.charge_replicated(units, now_us);
        let old_image = if t.gsis.is_empty() {
            let image_bytes = image_bytes.unwrap_or(0) as usize;
            self.engine
                .apply_validated_image(
                    &t.spec.name,
                    key.clone(),
                    key_item,
                    image.clone(),
                    image_bytes,
                )
                .expect("replicated images were validated at their origin")
        } else {
            // GT-07: the receiver's indexes pay for the change too, which needs the
            // old and new images the engine hands back.
            let change = self
                .engine
                .apply_replicated(&t.spec.name, key_item, image.clone())
                .expect("replicated images were validated at their origin");
            t.charge_gsis(&self.engine, &change, now_us);
            change.old_image
        };
        // The replicator already holds the new stamp: pair the engine's old value
        // with the stamp it replaced.
        let old_value = old_image.as_deref().and_then(value_id);
        let before = ReadValue {
            value: old_value,
            stamp: old_value.and(*replaced),
        };
        let partition = t.partition_of(key);
        // Replicated writes keep the partition busy too (their own wait is not seen).
        let wait_max_us = self.config.latency.partition_queue_wait_max_us;
        t.queue_wait_us(partition, true, units, now_us, wait_max_us);
        let lag = self.config.latency.follower_lag_us(rng);
        let slowdown = self.config.index_propagation_slowdown;
        t.note_index_write(key, &before, now_us, slowdown, rng, &mut self.index_lag_us);
        self.replica_lag_us.saturating_record(lag.max(1));
        t.note_write(key.clone(), before, partition, now_us, lag, &self.az_up);
    }

    /// A region restart after an outage: durable data stays, in-flight sends are lost.
    pub fn restart(&mut self, now_us: u64) {
        for t in &mut self.tables {
            t.replicator.restart(now_us);
            for dax in [&mut t.dax, &mut t.dax_query].into_iter().flatten() {
                dax.clear();
            }
        }
    }

    /// Change provisioned capacity (UpdateTable) or billing mode. A decrease spends the
    /// table's CP-16 budget; past it the whole change is refused with DynamoDB's
    /// LimitExceededException and nothing changes.
    pub fn set_capacity(
        &mut self,
        table: usize,
        on_demand: Option<bool>,
        read: Option<f64>,
        write: Option<f64>,
        now_us: u64,
    ) -> Result<(), EngineError> {
        let t = &mut self.tables[table];
        let decrease = !t.spec.capacity.on_demand
            && (read.is_some_and(|r| r < t.spec.capacity.read_units)
                || write.is_some_and(|w| w < t.spec.capacity.write_units));
        if decrease {
            t.decreases
                .check(now_us, &format!("Table: {}", t.spec.name))?;
            t.decreases.note(now_us);
        }
        if let Some(od) = on_demand {
            t.spec.capacity.on_demand = od;
        }
        if let Some(r) = read {
            t.spec.capacity.read_units = r;
            t.read.set_rate(r, now_us);
        }
        if let Some(w) = write {
            t.spec.capacity.write_units = w;
            t.write.set_rate(w, now_us);
        }
        Ok(())
    }

    /// Run the auto scaling controllers of every provisioned table and GSI (CA-16); each
    /// action has already taken effect when it is returned.
    pub fn auto_scale(&mut self, now_us: u64) -> Vec<ScalingEvent> {
        let mut events = Vec::new();
        for (i, t) in self.tables.iter_mut().enumerate() {
            if t.spec.capacity.on_demand {
                continue;
            }
            let event = |dimension, index, action| ScalingEvent {
                table: i,
                index,
                dimension,
                action,
            };
            let (read_total, write_total) = (t.consumed_read_units, t.consumed_write_units);
            let (read_units, write_units) =
                (t.spec.capacity.read_units, t.spec.capacity.write_units);
            let budget = &mut t.decreases;
            if let Some(a) = t
                .read_scaler
                .as_mut()
                .and_then(|s| s.tick(read_total, read_units, now_us, budget))
            {
                t.spec.capacity.read_units = a.to_units;
                t.read.set_rate(a.to_units, now_us);
                events.push(event(CapacityDimension::Read, None, a));
            }
            if let Some(a) = t
                .write_scaler
                .as_mut()
                .and_then(|s| s.tick(write_total, write_units, now_us, budget))
            {
                t.spec.capacity.write_units = a.to_units;
                t.write.set_rate(a.to_units, now_us);
                events.push(event(CapacityDimension::Write, None, a));
            }
            for (g, gsi) in t.gsis.iter_mut().enumerate() {
                let (read_total, write_total) = (gsi.consumed_read_units, gsi.consumed_write_units);
                let (read_units, write_units) = (gsi.spec.read_units, gsi.spec.write_units);
                if let Some(a) = gsi
                    .read_scaler
                    .as_mut()
                    .and_then(|s| s.tick(read_total, read_units, now_us, &mut gsi.decreases))
                {
                    gsi.set_read_units(a.to_units, now_us);
                    events.push(event(CapacityDimension::Read, Some(g), a));
                }
                if let Some(a) = gsi
                    .write_scaler
                    .as_mut()
                    .and_then(|s| s.tick(write_total, write_units, now_us, &mut gsi.decreases))
                {
                    gsi.set_write_units(a.to_units, now_us);
                    events.push(event(CapacityDimension::Write, Some(g), a));
                }
            }
        }
        events
    }

    /// Split partitions that stay hot, outgrow the size limit, or are too few for the
    /// table's capacity (CA-11, CA-13). Call it regularly (every second is plenty); each
    /// split has taken effect when it is returned.
    pub fn maintain_partitions(&mut self, now_us: u64) -> Vec<SplitEvent> {
        let policy = self.config.split;
        let limits = (
            self.config.partition_read_units_max,
            self.config.partition_write_units_max,
        );
        let mut events = Vec::new();
        for (i, t) in self.tables.iter_mut().enumerate() {
            let mut wanted: Vec<_> = t
                .partition_map
                .close_window(&policy, limits, now_us)
                .into_iter()
                .map(|(p, reason, cut)| (p, reason, Some(cut)))
                .collect();
            if !t.spec.split_for_heat {
                wanted.clear();
            }
            wanted.extend(t.oversized_partitions(&self.engine, &policy));
            let splits_before = events.len();
            for (parent, reason, cut) in wanted {
                events.extend(t.split(parent, reason, cut, &policy, limits).map(|split| {
                    SplitEvent {
                        table: i,
                        split,
                        partitions: t.partition_map.len(),
                    }
                }));
            }
            let needed = t.partitions_for_capacity(&self.config);
            while t.partition_map.len() < needed {
                let parent = t.partition_map.widest();
                let reason = partitions::SplitReason::Capacity {
                    partitions_needed: needed,
                };
                let Some(split) = t.split(parent, reason, None, &policy, limits) else {
                    break;
                };
                events.push(SplitEvent {
                    table: i,
                    split,
                    partitions: t.partition_map.len(),
                });
            }
            let splits = (events.len() - splits_before) as u64;
            t.counters.partition_splits += splits;
            self.counters.partition_splits += splits;
        }
        events
    }

    /// Partitions of a table replica now.
    pub fn partition_count(&self, table: usize) -> usize {
        self.tables[table].partition_map.len()
    }

    /// Provisioned and consumed units of each GSI of a table replica.
    /// Items whose latest writes have not reached every GSI of `table` yet, summed over
    /// the GSIs (RC-08: the index's lag behind the table inside this region).
    pub fn index_updates_in_flight(&self, table: usize, now_us: u64) -> usize {
        self.tables[table]
            .gsis
            .iter()
            .map(|g| g.lag.in_flight(now_us))
            .sum()
    }

    pub fn gsi_capacity_use(&self, table: usize) -> Vec<GsiCapacityUse> {
        self.tables[table]
            .gsis
            .iter()
            .map(GsiRuntime::capacity_use)
            .collect()
    }

    /// The counters of one table replica.
    pub fn table_counters(&self, table: usize) -> &TableCounters {
        &self.tables[table].counters
    }

    /// Provisioned and consumed units of a table replica.
    pub fn capacity_use(&self, table: usize) -> CapacityUse {
        let t = &self.tables[table];
        CapacityUse {
            on_demand: t.spec.capacity.on_demand,
            provisioned_read_units: t.spec.capacity.read_units,
            provisioned_write_units: t.spec.capacity.write_units,
            consumed_read_units: t.consumed_read_units,
            consumed_write_units: t.consumed_write_units,
        }
    }

    /// The value and stamp this region's leader replicas hold for a workload key.
    pub fn value_of(&self, table: usize, key: u64) -> ReadValue {
        let t = &self.tables[table];
        t.current_value(&self.engine, &t.encoded_key(key))
    }

    /// Every version this replica holds, tombstones included, sorted by workload key.
    pub fn final_versions(&self, table: usize, table_ref: u16) -> Vec<FinalVersion> {
        let t = &self.tables[table];
        // One point lookup per version (the engine finds an item by its key in a hash
        // map or a partition's run), then one sort by workload key: cheaper than
        // ordering the encoded keys, and it never asks the engine for its key order.
        let items = self.engine.table(&t.spec.name);
        // Sized up front: a filtered iterator would grow it by doubling, copying each
        // version about twice.
        let mut versions: Vec<(FinalVersion, &ItemKey)> =
            Vec::with_capacity(t.replicator.versions_unordered().len());
        versions.extend(
            t.replicator
                .versions_unordered()
                .filter_map(|(key, version)| {
                    let workload =
                        workload_key_of_key(&t.spec.partition_key, t.spec.partition_key_type, key)?;
                    let value = if version.deleted {
                        None
                    } else {
                        items
                            .and_then(|items| items.get(&key.encoded))
                            .and_then(value_id)
                    };
                    let version = FinalVersion {
                        key: KeyRef {
                            table: table_ref,
                            key: workload,
                        },
                        stamp: version.stamp,
                        value,
                        deleted: version.deleted,
                    };
                    Some((version, &key.encoded))
                }),
        );
        // Sort 16-byte (workload key, index) pairs rather than the versions themselves
        // (every version has `table_ref` for its table). Two encoded keys can name one
        // workload key (`k7` and `k07`): their encodings order them, as they did when
        // the versions were walked in key order.
        let mut order: Vec<(u64, usize)> = versions
            .iter()
            .enumerate()
            .map(|(i, (version, _))| (version.key.key, i))
            .collect();
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| versions[a.1].1.cmp(versions[b.1].1))
        });
        order
            .into_iter()
            .map(|(_, i)| versions[i].0.clone())
            .collect()
    }

    /// The workload key of a replicated key in `table` (see [`workload_key`]).
    pub fn workload_key_of(&self, table: usize, key: &TableKey) -> Option<u64> {
        let spec = &self.tables[table].spec;
        workload_key_of_key(&spec.partition_key, spec.partition_key_type, key)
    }

    /// Provisioned units per second now (for metrics and plots).
    pub fn capacity(&self, table: usize) -> &CapacitySpec {
        &self.tables[table].spec.capacity
    }
}

fn op_value(op: &ClientOp) -> Option<ValueId> {
    if op.kind == OpKind::Delete {
        None
    } else {
        Some(op.value)
    }
}

/// A replica for an eventually consistent read: one of the AZs that are up, drawn
/// uniformly (one draw from `rng`); `None` with every AZ down.
fn random_up_az(az_up: &[bool; 3], rng: &mut impl Rng) -> Option<u8> {
    let up = az_up.iter().filter(|u| **u).count();
    if up == 0 {
        return None;
    }
    let nth = rng.random_range(0..up);
    (0..3u8).filter(|a| az_up[*a as usize]).nth(nth)
}

fn failed(kind: ErrorKind, latency_us: u64) -> Served {
    Served {
        result: OpResult::Failed(kind.name().to_string()),
        latency_us,
        written: None,
        read: None,
        throttle: None,
        dax_hit: false,
        sync: None,
        items: Vec::new(),
    }
}

fn ok_read(value: ReadValue, latency_us: u64, dax_hit: bool) -> Served {
    Served {
        result: OpResult::Ok,
        latency_us,
        written: None,
        read: Some(value),
        throttle: None,
        dax_hit,
        sync: None,
        items: Vec::new(),
    }
}

fn item_bytes(item: &Item) -> u64 {
    // Built once: building the settings allocates, and every replicated apply sizes
    // its image.
    static SIZE_CONFIG: std::sync::LazyLock<dynasim_engine::EngineConfig> =
        std::sync::LazyLock::new(dynasim_engine::EngineConfig::default);
    dynasim_engine::item_size(item, &SIZE_CONFIG) as u64
}

fn scalar(t: KeyTypeSpec) -> ScalarAttributeType {
    match t {
        KeyTypeSpec::S => ScalarAttributeType::S,
        KeyTypeSpec::N => ScalarAttributeType::N,
        KeyTypeSpec::B => ScalarAttributeType::B,
    }
}

fn enable_ttl(engine: &mut Engine, table: &str, ttl: &TtlSpec) {
    let input = dynasim_engine::api::UpdateTimeToLiveInput {
        table_name: table.to_string(),
        time_to_live_specification: dynasim_engine::api::TimeToLiveSpecification {
            enabled: true,
            attribute_name: ttl.attribute.clone(),
        },
    };
    engine
        .update_time_to_live(input, SimTime::ZERO)
        .expect("TTL attribute names are validated when the scenario loads");
    engine
        .set_ttl_sweep(table, ttl.delete_delay_us, ttl.delete_jitter_us)
        .expect("TTL was just enabled");
}

fn create_table_input(spec: &TableSpec) -> CreateTableInput {
    let mut key_schema = vec![KeySchemaElement {
        attribute_name: spec.partition_key.clone(),
        key_type: KeyType::Hash,
    }];
    let mut defs = vec![AttributeDefinition {
        attribute_name: spec.partition_key.clone(),
        attribute_type: scalar(spec.partition_key_type),
    }];
    if let Some((name, t)) = &spec.sort_key {
        key_schema.push(KeySchemaElement {
            attribute_name: name.clone(),
            key_type: KeyType::Range,
        });
        defs.push(AttributeDefinition {
            attribute_name: name.clone(),
            attribute_type: scalar(*t),
        });
    }
    for (name, t) in spec.gsis.iter().flat_map(GsiSpec::key_attributes) {
        if !defs.iter().any(|d| d.attribute_name == *name) {
            defs.push(AttributeDefinition {
                attribute_name: name.clone(),
                attribute_type: scalar(*t),
            });
        }
    }
    CreateTableInput {
        table_name: spec.name.clone(),
        key_schema,
        attribute_definitions: defs,
        global_secondary_indexes: (!spec.gsis.is_empty())
            .then(|| spec.gsis.iter().map(GsiSpec::engine_index).collect()),
        billing_mode: Some(
            if spec.capacity.on_demand {
                "PAY_PER_REQUEST"
            } else {
                "PROVISIONED"
            }
            .to_string(),
        ),
        stream_specification: spec.stream_view.as_ref().map(|view| {
            dynasim_engine::api::StreamSpecification {
                stream_enabled: true,
                stream_view_type: Some(view.clone()),
            }
        }),
        ..Default::default()
    }
}

fn key_value(t: KeyTypeSpec, key: u64) -> AttributeValue {
    match t {
        KeyTypeSpec::S => AttributeValue::S(workload_key_string(key)),
        KeyTypeSpec::N => AttributeValue::N(key.into()),
        KeyTypeSpec::B => AttributeValue::B(key.to_be_bytes().to_vec()),
    }
}

/// `format!("k{key:09}")` (`k` and the key in at least nine digits, zero-padded)
/// without the formatting machinery: every client operation names its key this way.
fn workload_key_string(key: u64) -> String {
    const PADDED_DIGITS: usize = 9;
    // u64::MAX has 20 digits; the buffer starts as zeros, which pad short keys.
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    let mut rest = key;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = start.min(digits.len() - PADDED_DIGITS);
    let mut out = String::with_capacity(1 + digits.len() - start);
    out.push('k');
    // ASCII digits as chars: no UTF-8 check of the buffer (this runs on every op).
    out.extend(digits[start..].iter().map(|digit| char::from(*digit)));
    out
}

fn sort_value(t: KeyTypeSpec) -> AttributeValue {
    match t {
        KeyTypeSpec::S => AttributeValue::S("0".into()),
        KeyTypeSpec::N => AttributeValue::n("0"),
        KeyTypeSpec::B => AttributeValue::B(vec![0]),
    }
}

impl TableRuntime {
    fn new(
        spec: TableSpec,
        local: RegionId,
        config: &RegionConfig,
        replication: ReplicatorConfig,
    ) -> Self {
        let cap = &spec.capacity;
        let by_capacity = (cap.read_units / config.partition_read_units_max
            + cap.write_units / config.partition_write_units_max)
            .ceil();
        let partitions = (by_capacity as u32).max(config.partitions_min).max(1) as usize;
        // CA-10 adaptive capacity: a partition is not held to an even share of the
        // table's units; it may use up to the partition maximum (CA-08) as long as the
        // table's own bucket has units, so one bucket per partition at the maximum and
        // the table's bucket in front of them model it.
        let partition_bucket_r = TokenBucket::new(config.partition_read_units_max, 1.0);
        let partition_bucket_w = TokenBucket::new(config.partition_write_units_max, 1.0);
        let schema = match &spec.sort_key {
            None => {
                KeySchema::hash_only(spec.partition_key.clone(), scalar(spec.partition_key_type))
            }
            Some((s, t)) => KeySchema::composite(
                spec.partition_key.clone(),
                scalar(spec.partition_key_type),
                s.clone(),
                scalar(*t),
            ),
        };
        TableRuntime {
            replicator: Replicator::new(
                local,
                &spec.peers,
                ReplicatorConfig {
                    observe_remote_stamps: replication.observe_remote_stamps || spec.mrsc,
                    // MRSC members apply synchronously; the stream only repairs, so
                    // it stays one ordered stream (GT-09 is about MREC's async streams).
                    partition_streams: if spec.mrsc {
                        1
                    } else {
                        replication.partition_streams
                    },
                    ..replication
                },
            ),
            schema,
            read: TokenBucket::new(cap.read_units, config.burst_s),
            write: TokenBucket::new(cap.write_units, config.burst_s),
            partition_read: vec![partition_bucket_r; partitions],
            partition_write: vec![partition_bucket_w; partitions],
            read_queues: vec![PartitionQueue::default(); partitions],
            write_queues: vec![PartitionQueue::default(); partitions],
            on_demand_read: OnDemand::new(config.on_demand_initial_read_units),
            on_demand_write: OnDemand::new(config.on_demand_initial_write_units),
            lagging: HashMap::default(),
            lagging_prune_at: LAGGING_PRUNE_MIN,
            counters: TableCounters::default(),
            dax: spec
                .dax
                .as_ref()
                .map(|d| DaxCache::new(d.item_ttl_us, d.size_bytes)),
            // The workload's Query names one partition key, so a result is keyed by it.
            dax_query: spec
                .dax
                .as_ref()
                .map(|d| DaxCache::new(d.query_ttl_us, d.size_bytes)),
            leaders: (0..partitions).map(|p| (p % 3) as u8).collect(),
            partition_map: partitions::PartitionMap::new(partitions),
            consumed_read_units: 0.0,
            consumed_write_units: 0.0,
            read_scaler: cap.read_auto_scaling.map(AutoScaler::new),
            write_scaler: cap.write_auto_scaling.map(AutoScaler::new),
            decreases: dynasim_engine::DecreaseBudget::default(),
            gsis: spec
                .gsis
                .iter()
                .map(|g| GsiRuntime::new(g.clone(), config))
                .collect(),
            spec,
        }
    }

    /// Split `parent` in two: the new partition gets its own per-partition buckets and
    /// starts with the parent's leader (the same storage nodes hold both halves).
    fn split(
        &mut self,
        parent: usize,
        reason: partitions::SplitReason,
        cut: Option<u64>,
        policy: &partitions::SplitPolicy,
        limits: (f64, f64),
    ) -> Option<partitions::Split> {
        let child = self.partition_map.split(parent, cut, policy)?;
        self.partition_read.push(TokenBucket::new(limits.0, 1.0));
        self.partition_write.push(TokenBucket::new(limits.1, 1.0));
        // The child starts on new storage nodes' queues (the parent keeps its backlog).
        self.read_queues.push(PartitionQueue::default());
        self.write_queues.push(PartitionQueue::default());
        self.leaders.push(self.leaders[parent]);
        debug_assert_eq!(self.partition_read.len(), self.partition_map.len());
        Some(partitions::Split {
            parent,
            child,
            reason,
        })
    }

    /// CA-11: provisioned units raised to a new high, or a new on-demand peak, need more
    /// partitions (each delivers at most 3,000 RCU and 1,000 WCU).
    fn partitions_for_capacity(&self, config: &RegionConfig) -> usize {
        let cap = &self.spec.capacity;
        if cap.on_demand {
            let initial_read = config.on_demand_initial_read_units / 2.0;
            let initial_write = config.on_demand_initial_write_units / 2.0;
            let growth = (self.on_demand_read.peak_per_s / initial_read)
                .max(self.on_demand_write.peak_per_s / initial_write)
                .max(1.0);
            (self.partition_map.roots() as f64 * growth).ceil() as usize
        } else {
            (cap.read_units / config.partition_read_units_max
                + cap.write_units / config.partition_write_units_max)
                .ceil() as usize
        }
    }

    /// CA-13: partitions above the size limit. Sizing every partition walks the table, so
    /// it only happens once the whole table is larger than one partition may be.
    fn oversized_partitions(
        &self,
        engine: &Engine,
        policy: &partitions::SplitPolicy,
    ) -> Vec<(usize, partitions::SplitReason, Option<u64>)> {
        let table_bytes = engine.table(&self.spec.name).map_or(0, |t| t.size_bytes());
        if table_bytes <= policy.size_bytes_max {
            return Vec::new();
        }
        let mut bytes = vec![0u64; self.partition_map.len()];
        for (key, item) in engine.iter_items(&self.spec.name).into_iter().flatten() {
            bytes[self.partition_of(key)] += item_bytes(item);
        }
        bytes
            .into_iter()
            .enumerate()
            .filter(|(_, b)| *b > policy.size_bytes_max)
            .map(|(p, bytes)| (p, partitions::SplitReason::Size { bytes }, None))
            .collect()
    }

    /// (read, write) units per second one partition delivers at most (CA-08).
    fn partition_limits(&self) -> (f64, f64) {
        (
            self.partition_read[0].rate_per_s,
            self.partition_write[0].rate_per_s,
        )
    }

    fn key_item(&self, key: u64) -> Item {
        // Names go in as `&str`: they are stored inline, with no `String` to build and drop.
        // Room for what a put adds (value, padding, one more), so it does not regrow.
        let mut item = Item::with_capacity(5);
        item.insert(
            self.spec.partition_key.as_str(),
            key_value(self.spec.partition_key_type, key),
        );
        if let Some((name, t)) = &self.spec.sort_key {
            item.insert(name.as_str(), sort_value(*t));
        }
        item
    }

    /// `key_item(key)` and its engine key, formatting the key value once.
    fn key_item_and_key(&self, key: u64) -> (ItemKey, Item) {
        let item = self.key_item(key);
        let encoded = self.item_key(&item);
        debug_assert_eq!(encoded, self.encoded_key(key));
        (encoded, item)
    }

    /// The engine's key of workload key `key`: `item_key(&key_item(key))` without
    /// building the item (every read starts here).
    fn encoded_key(&self, key: u64) -> ItemKey {
        let hash = key_value(self.spec.partition_key_type, key);
        let encoded = match &self.spec.sort_key {
            None => ItemKey::from_values(&self.schema, &[&hash]),
            Some((_, t)) => ItemKey::from_values(&self.schema, &[&hash, &sort_value(*t)]),
        };
        let encoded = encoded.expect("workload keys match the schema");
        debug_assert_eq!(encoded, self.item_key(&self.key_item(key)));
        encoded
    }

    fn item_key(&self, key_item: &Item) -> ItemKey {
        ItemKey::from_key(self.engine_schema(), key_item).expect("workload keys match the schema")
    }

    fn engine_schema(&self) -> &KeySchema {
        &self.schema
    }

    fn partition_of(&self, key: &ItemKey) -> usize {
        self.place(key).partition
    }

    /// Where a key lives: its partition, and its position there (for split points).
    fn place(&self, key: &ItemKey) -> Placement {
        // FNV-1a over the encoded key: a stable hash (never std's randomized one).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let partition = self.partition_map.locate(h);
        debug_assert!(
            partition < self.partition_read.len(),
            "one bucket per partition"
        );
        Placement {
            partition,
            position: partitions::PartitionMap::position(h),
        }
    }

    /// Read a workload key through the engine's Query path.
    fn query_value(
        &self,
        engine: &mut Engine,
        key: u64,
        now_us: u64,
    ) -> Result<ReadValue, EngineError> {
        let key_item = self.key_item(key);
        let pk = key_item
            .get(&self.spec.partition_key)
            .cloned()
            .expect("key items hold the partition key");
        let input = dynasim_engine::QueryInput {
            table_name: self.spec.name.clone(),
            key_condition_expression: Some("#pk = :pk".into()),
            expression_attribute_names: Some(
                [("#pk".to_string(), self.spec.partition_key.clone())]
                    .into_iter()
                    .collect(),
            ),
            expression_attribute_values: Some([(":pk".to_string(), pk)].into_iter().collect()),
            ..Default::default()
        };
        let output = engine.query(&input, SimTime(now_us))?;
        let value = output
            .items
            .unwrap_or_default()
            .first()
            .map(Arc::as_ref)
            .and_then(value_id);
        let encoded = self.item_key(&key_item);
        let stamp = self
            .replicator
            .version(&encoded)
            .filter(|v| !v.deleted)
            .map(|v| v.stamp);
        Ok(ReadValue {
            value,
            stamp: if value.is_some() { stamp } else { None },
        })
    }

    fn current_value(&self, engine: &Engine, key: &ItemKey) -> ReadValue {
        let value = engine.get_raw(&self.spec.name, key).and_then(value_id);
        ReadValue {
            value,
            stamp: value.and(self.stamp_of(key)),
        }
    }

    /// The stamp of the live version of `key`, if any (a tombstone has none).
    fn stamp_of(&self, key: &ItemKey) -> Option<dynasim_core::Stamp> {
        self.replicator
            .version(key)
            .filter(|v| !v.deleted)
            .map(|v| v.stamp)
    }

    /// How long a request of `units` waits in `partition`'s queue at `now_us`.
    fn queue_wait_us(
        &mut self,
        partition: usize,
        write: bool,
        units: f64,
        now_us: u64,
        wait_max_us: u64,
    ) -> u64 {
        let (read_limit, write_limit) = self.partition_limits();
        if write {
            self.write_queues[partition].wait_us(now_us, units, write_limit, wait_max_us)
        } else {
            self.read_queues[partition].wait_us(now_us, units, read_limit, wait_max_us)
        }
    }

    /// Capacity admission; `Some(reason)` means throttled.
    fn admit(
        &mut self,
        op: &ClientOp,
        placement: Placement,
        now_us: u64,
    ) -> Option<ThrottleReason> {
        let write = op.kind.is_write();
        let units = if write {
            write_units(op.item_bytes)
        } else {
            read_units(op.item_bytes, op.strong)
        };
        self.admit_units(op, write, units, placement, now_us)
    }

    /// Capacity admission of `units` on `partition` (a write also asks every GSI).
    fn admit_units(
        &mut self,
        op: &ClientOp,
        write: bool,
        units: f64,
        placement: Placement,
        now_us: u64,
    ) -> Option<ThrottleReason> {
        let partition = placement.partition;
        let limits = self.partition_limits();
        self.partition_map
            .note_demand(partition, write, units, placement.position, limits);
        if self.spec.capacity.on_demand {
            // CA-06 first: `admit` below spends the table's on-demand headroom, which a
            // write the index refuses must not use up.
            if write && !self.gsis_admit(op, now_us) {
                return Some(ThrottleReason::IndexWriteMaxOnDemandThroughputExceeded);
            }
            let ok = if write {
                self.on_demand_write.admit(units, now_us)
            } else {
                self.on_demand_read.admit(units, now_us)
            };
            if !ok {
                return Some(if write {
                    ThrottleReason::TableWriteMaxOnDemandThroughputExceeded
                } else {
                    ThrottleReason::TableReadMaxOnDemandThroughputExceeded
                });
            }
            self.consume(write, units);
            return None;
        }
        let (table, part) = if write {
            (&mut self.write, &mut self.partition_write[partition])
        } else {
            (&mut self.read, &mut self.partition_read[partition])
        };
        if !part.has(units, now_us) {
            return Some(if write {
                ThrottleReason::TableWriteKeyRangeThroughputExceeded
            } else {
                ThrottleReason::TableReadKeyRangeThroughputExceeded
            });
        }
        if !table.has(units, now_us) {
            return Some(if write {
                ThrottleReason::TableWriteProvisionedThroughputExceeded
            } else {
                ThrottleReason::TableReadProvisionedThroughputExceeded
            });
        }
        if write && !self.gsis_admit(op, now_us) {
            return Some(ThrottleReason::IndexWriteProvisionedThroughputExceeded);
        }
        let (table, part) = if write {
            (&mut self.write, &mut self.partition_write[partition])
        } else {
            (&mut self.read, &mut self.partition_read[partition])
        };
        part.take(units, now_us);
        table.take(units, now_us);
        self.consume(write, units);
        None
    }

    /// CA-06: a write goes ahead only if every GSI has capacity for it. The estimate is
    /// the item's size as a put into the index (a moved entry costs a delete as well;
    /// that is charged after the write, when the engine knows it).
    fn gsis_admit(&mut self, op: &ClientOp, now_us: u64) -> bool {
        let on_demand = self.spec.capacity.on_demand;
        self.gsis.iter_mut().all(|g| {
            let units = if g.spec.keys_only {
                1.0
            } else {
                write_units(op.item_bytes)
            };
            g.admits_write(on_demand, units, now_us)
        })
    }

    /// Charge each GSI the write units `change` cost it (CA-06).
    fn charge_gsis(&mut self, engine: &Engine, change: &ItemChange, now_us: u64) {
        if self.gsis.is_empty() {
            return;
        }
        let on_demand = self.spec.capacity.on_demand;
        for (name, units) in engine.gsi_write_units(&self.spec.name, change) {
            if let Some(g) = self.gsis.iter_mut().find(|g| g.spec.name == name) {
                g.charge_write(on_demand, units, now_us);
            }
        }
    }

    /// The index key attributes this workload write sets (see [`gsi`]).
    fn gsi_attributes(&self, op: &ClientOp) -> Vec<(String, AttributeValue)> {
        if self.spec.gsis.is_empty() {
            return Vec::new();
        }
        let mut table_keys = vec![self.spec.partition_key.as_str()];
        if let Some((name, _)) = &self.spec.sort_key {
            table_keys.push(name);
        }
        gsi::workload_attributes(&self.spec.gsis, &table_keys, op.key, op.value)
    }

    fn consume(&mut self, write: bool, units: f64) {
        if write {
            self.consumed_write_units += units;
        } else {
            self.consumed_read_units += units;
        }
    }

    fn charge_replicated(&mut self, units: f64, now_us: u64) {
        self.consume(true, units);
        if self.spec.capacity.on_demand {
            self.on_demand_write.force(units, now_us);
        } else {
            self.write.force(units, now_us);
        }
    }

    /// The whole item a workload put writes: key, value id, padding to the op's size, the
    /// TTL expiry, the origin region and the GSI keys the workload fills.
    fn put_image(&self, op: &ClientOp, key_item: Item, wall_us: u64) -> Item {
        let pad_bytes = op.item_bytes.saturating_sub(40).min(300_000) as usize;
        let mut item = key_item;
        item.insert(VALUE_ATTRIBUTE, AttributeValue::N(op.value.into()));
        item.insert(PAD_ATTRIBUTE, AttributeValue::S("x".repeat(pad_bytes)));
        // TTL-03: expiry in epoch seconds, from the writing region's clock.
        if let (Some(ttl), Some(after_us)) = (&self.spec.ttl, op.expire_after_us) {
            let secs = (wall_us + after_us) / 1_000_000;
            item.insert(ttl.attribute.as_str(), AttributeValue::N(secs.into()));
        }
        if self.spec.origin_attribute {
            let id = self.replicator.local().0;
            item.insert(ORIGIN_ATTRIBUTE, AttributeValue::N(u64::from(id).into()));
        }
        item.extend(self.gsi_attributes(op));
        item
    }

    /// Turn a workload write into the engine request a DynamoDB client would send.
    fn engine_write(
        &self,
        engine: &mut Engine,
        op: &ClientOp,
        key_item: Item,
        now_us: u64,
        wall_us: u64,
    ) -> Result<ItemChange, EngineError> {
        let now = SimTime(now_us);
        let table_name = self.spec.name.clone();
        match op.kind {
            OpKind::Put | OpKind::ConditionalPut => {
                let item = self.put_image(op, key_item, wall_us);
                let mut input = PutItemInput {
                    table_name,
                    item,
                    ..Default::default()
                };
                if op.kind == OpKind::ConditionalPut {
                    input.condition_expression = Some("attribute_not_exists(#pk)".into());
                    input.expression_attribute_names = Some(
                        [("#pk".to_string(), self.spec.partition_key.clone())]
                            .into_iter()
                            .collect(),
                    );
                }
                engine.put_item(input, now).map(|o| o.change)
            }
            OpKind::Update => {
                let value = AttributeValue::N(op.value.into());
                let pad_bytes = op.item_bytes.saturating_sub(40).min(300_000) as usize;
                let pad = AttributeValue::S("x".repeat(pad_bytes));
                // TTL-03: expiry in epoch seconds, from the writing region's clock.
                let expiry =
                    self.spec
                        .ttl
                        .as_ref()
                        .zip(op.expire_after_us)
                        .map(|(ttl, after_us)| {
                            let secs = (wall_us + after_us) / 1_000_000;
                            (ttl.attribute.clone(), AttributeValue::N(secs.into()))
                        });
                let origin = self.spec.origin_attribute.then(|| {
                    let id = self.replicator.local().0;
                    (
                        ORIGIN_ATTRIBUTE.to_string(),
                        AttributeValue::N(u64::from(id).into()),
                    )
                });
                let index_keys = self.gsi_attributes(op);
                let mut names = BTreeMap::from([
                    ("#v".to_string(), VALUE_ATTRIBUTE.to_string()),
                    ("#p".to_string(), PAD_ATTRIBUTE.to_string()),
                ]);
                let mut values =
                    BTreeMap::from([(":v".to_string(), value), (":p".to_string(), pad)]);
                let mut update = "SET #v = :v, #p = :p".to_string();
                if let Some((name, id)) = origin {
                    names.insert("#o".into(), name);
                    values.insert(":o".into(), id);
                    update.push_str(", #o = :o");
                }
                if let Some((name, at)) = expiry {
                    // Extending an item's life, as TTL-04 allows until the sweep.
                    names.insert("#t".into(), name);
                    values.insert(":t".into(), at);
                    update.push_str(", #t = :t");
                }
                for (i, (name, value)) in index_keys.into_iter().enumerate() {
                    names.insert(format!("#g{i}"), name);
                    values.insert(format!(":g{i}"), value);
                    update.push_str(&format!(", #g{i} = :g{i}"));
                }
                let input = UpdateItemInput {
                    table_name,
                    key: key_item,
                    update_expression: Some(update),
                    expression_attribute_names: Some(names.into_iter().collect()),
                    expression_attribute_values: Some(values.into_iter().collect()),
                    ..Default::default()
                };
                engine.update_item(input, now).map(|o| o.change)
            }
            OpKind::Delete => {
                let input = DeleteItemInput {
                    table_name,
                    key: key_item,
                    ..Default::default()
                };
                engine.delete_item(input, now).map(|o| o.change)
            }
            OpKind::Get
            | OpKind::Query
            | OpKind::Transaction
            | OpKind::TransactGet
            | OpKind::IndexQuery
            | OpKind::TtlDelete => Err(EngineError::validation(format!(
                "{} is not a single-item write",
                op.kind.name()
            ))),
        }
    }

    /// RC-08: every GSI receives a base write after its own propagation delay. Draws
    /// nothing from `rng` when the table has no GSI.
    fn note_index_write(
        &mut self,
        key: &ItemKey,
        before: &ReadValue,
        now_us: u64,
        slowdown: f64,
        rng: &mut impl Rng,
        delays_us: &mut hdrhistogram::Histogram<u64>,
    ) {
        for g in &mut self.gsis {
            let delay_us = g.propagation_delay_us(slowdown, rng);
            delays_us.saturating_record(delay_us.max(1));
            g.lag
                .note_write(key.clone(), before.clone(), now_us, delay_us);
        }
    }

    /// Drop the entries every replica has caught up with (reads then see the stored
    /// item, as they would through the entry), and give back memory a past outage
    /// grew the map to.
    fn prune_lagging(&mut self, now_us: u64) {
        self.lagging
            .retain(|_, l| l.visible_at_us.iter().any(|t| *t > now_us));
        let live = self.lagging.len();
        self.lagging_prune_at = (2 * live).max(LAGGING_PRUNE_MIN);
        if self.lagging.capacity() > 4 * self.lagging_prune_at {
            self.lagging.shrink_to(2 * self.lagging_prune_at);
        }
    }

    /// Record follower visibility of a write just made: the leader and one follower have
    /// it now (quorum); the third after `lag_us`. Down AZs get it when they return.
    fn note_write(
        &mut self,
        key: ItemKey,
        before: ReadValue,
        partition: usize,
        now_us: u64,
        lag_us: u64,
        az_up: &[bool; 3],
    ) {
        let leader = self.leaders[partition] as usize;
        let quorum_peer = (leader + 1) % 3;
        let mut visible_at_us = [now_us + lag_us; 3];
        visible_at_us[leader] = now_us;
        visible_at_us[quorum_peer] = now_us;
        for (az, up) in az_up.iter().enumerate() {
            if !up {
                visible_at_us[az] = u64::MAX;
            }
        }
        match self.lagging.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let l = o.get_mut();
                // A replica still behind the previous write shows that write's predecessor.
                if !l.visible_at_us.iter().any(|t| *t > now_us) {
                    l.prev = before;
                }
                l.visible_at_us = visible_at_us;
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Lagging {
                    prev: before,
                    visible_at_us,
                });
            }
        }
        if self.lagging.len() > self.lagging_prune_at {
            self.prune_lagging(now_us);
        }
    }
}

/// [`workload_key`] of a replicated key of a table whose partition key has type
/// `partition_key_type`, read from the encoded key where it holds the partition key's
/// bytes (S and B): the encoded key lies inline in the version map entry or the apply,
/// whereas the key attributes sit behind a shared pointer in memory long gone cold by
/// the time applies and final states are recorded. N keys are read from the attributes.
fn workload_key_of_key(
    partition_key: &str,
    partition_key_type: KeyTypeSpec,
    key: &TableKey,
) -> Option<u64> {
    let from_encoding = match partition_key_type {
        KeyTypeSpec::S => Some(workload_key_of_encoded_string(key.encoded.as_bytes())),
        KeyTypeSpec::B => workload_key_of_encoded_binary(key.encoded.as_bytes()),
        KeyTypeSpec::N => None,
    };
    let workload = match from_encoding {
        Some(workload) => workload,
        None => workload_key(partition_key, &key.attrs),
    };
    debug_assert_eq!(
        workload,
        workload_key(partition_key, &key.attrs),
        "the encoded key and the key attributes name the same workload key"
    );
    workload
}

/// [`workload_key`] of an S partition key from the key's encoding (the string's bytes,
/// a zero byte escaped as `00 FF`, then the terminator `00 00`; see the engine's
/// `encode_component`). A string holding a zero byte (an escape before the terminator)
/// is no `k` and digits, so no workload key, as [`workload_key`] would find.
fn workload_key_of_encoded_string(encoded: &[u8]) -> Option<u64> {
    let end = encoded.iter().position(|b| *b == 0)?;
    if encoded.get(end + 1) != Some(&0) {
        return None;
    }
    parse_u64(encoded[..end].strip_prefix(b"k")?)
}

/// `str::parse::<u64>` of `text` given as bytes: an optional `+`, then decimal digits
/// only, none too many. Bytes that pass are ASCII, so no UTF-8 check is needed first.
fn parse_u64(text: &[u8]) -> Option<u64> {
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digit = |byte: &u8| u64::from(byte - b'0');
    // Nineteen digits cannot overflow (10^19 - 1 < 2^64): every replication apply
    // reads its key this way, so the common case skips the checked arithmetic.
    if digits.len() <= 19 {
        return Some(
            digits
                .iter()
                .fold(0, |value, byte| value * 10 + digit(byte)),
        );
    }
    digits.iter().try_fold(0u64, |value, byte| {
        value.checked_mul(10)?.checked_add(digit(byte))
    })
}

/// [`workload_key`] of a B partition key from the key's encoding (escaped as for S):
/// `Some(None)` when the value is not 8 bytes long, `None` when the encoding is not one
/// this reads (the caller then reads the key attributes).
fn workload_key_of_encoded_binary(encoded: &[u8]) -> Option<Option<u64>> {
    let mut value = [0u8; 8];
    let mut len = 0;
    let mut i = 0;
    loop {
        let byte = match (*encoded.get(i)?, encoded.get(i + 1).copied()) {
            (0, Some(0)) => break,
            (0, Some(0xFF)) => {
                i += 2;
                0
            }
            (0, _) => return None,
            (b, _) => {
                i += 1;
                b
            }
        };
        if len == value.len() {
            return Some(None);
        }
        value[len] = byte;
        len += 1;
    }
    Some((len == value.len()).then(|| u64::from_be_bytes(value)))
}

/// The workload key index encoded in an item's partition key `partition_key`
/// (`k000000042`, 42, or 8 big-endian bytes), if it is one the workload wrote.
pub fn workload_key(partition_key: &str, key_attrs: &Item) -> Option<u64> {
    match key_attrs.get(partition_key)? {
        AttributeValue::S(s) => s.strip_prefix('k').and_then(|d| d.parse().ok()),
        AttributeValue::N(n) => number_to_u64(n),
        AttributeValue::B(b) => Some(u64::from_be_bytes(b.as_slice().try_into().ok()?)),
        _ => None,
    }
}

fn value_id(item: &Item) -> Option<ValueId> {
    match item.get(VALUE_ATTRIBUTE) {
        Some(AttributeValue::N(n)) => number_to_u64(n),
        _ => None,
    }
}

/// A non-negative integer number as `u64` (value ids), without formatting to text.
fn number_to_u64(n: &dynasim_engine::Number) -> Option<u64> {
    if n.is_zero() {
        return Some(0);
    }
    let exponent = n.exponent();
    let len = n.significant_digits();
    if n.is_negative() || !(0..=19).contains(&exponent) || len as i64 - 1 > exponent {
        return None;
    }
    let mut value: u64 = 0;
    for i in 0..=exponent as usize {
        let digit = if i < len { n.digit(i) } else { 0 };
        value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u64_is_str_parse() {
        for text in [
            "",
            "+",
            "-",
            "-0",
            "0",
            "+0",
            "42",
            "+42",
            "0042",
            "4 2",
            "42a",
            "a42",
            "++1",
            "9999999999999999999",
            "+9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "000000000000000000000000001",
            "\u{661}",
        ] {
            assert_eq!(parse_u64(text.as_bytes()), text.parse().ok(), "{text:?}");
        }
    }

    #[test]
    fn workload_key_string_is_the_formatted_key() {
        let mut key = 1u64;
        for n in [
            0,
            1,
            9,
            10,
            42,
            999_999_999,
            1_000_000_000,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(workload_key_string(n), format!("k{n:09}"));
        }
        while let Some(next) = key.checked_mul(7) {
            assert_eq!(workload_key_string(key), format!("k{key:09}"));
            assert_eq!(workload_key_string(key - 1), format!("k{:09}", key - 1));
            key = next;
        }
    }

    /// The workload key read from the encoded key is the one the attributes give, for
    /// workload keys and for keys the workload never writes (wrong prefix, zero bytes,
    /// B values of other lengths, N keys).
    #[test]
    fn workload_key_from_encoding_matches_attributes() {
        let values = [
            (KeyTypeSpec::S, AttributeValue::S("k000000042".into())),
            (KeyTypeSpec::S, AttributeValue::S("k".into())),
            (KeyTypeSpec::S, AttributeValue::S("k+7".into())),
            (KeyTypeSpec::S, AttributeValue::S("x000000042".into())),
            (KeyTypeSpec::S, AttributeValue::S("k00\u{0}1".into())),
            (
                KeyTypeSpec::S,
                AttributeValue::S("k99999999999999999999".into()),
            ),
            (
                KeyTypeSpec::B,
                AttributeValue::B(42u64.to_be_bytes().to_vec()),
            ),
            (
                KeyTypeSpec::B,
                AttributeValue::B(u64::MAX.to_be_bytes().to_vec()),
            ),
            (KeyTypeSpec::B, AttributeValue::B(vec![0; 7])),
            (KeyTypeSpec::B, AttributeValue::B(vec![0; 9])),
            (KeyTypeSpec::B, AttributeValue::B(vec![1, 0, 2])),
            (KeyTypeSpec::N, AttributeValue::n("42")),
        ];
        for sort_key in [None, Some(("sk".to_string(), KeyTypeSpec::S))] {
            for (key_type, value) in &values {
                let schema = match &sort_key {
                    None => KeySchema::hash_only("pk", scalar(*key_type)),
                    Some((name, t)) => {
                        KeySchema::composite("pk", scalar(*key_type), name.clone(), scalar(*t))
                    }
                };
                let mut attrs = Item::new();
                attrs.insert("pk", value.clone());
                if let Some((name, t)) = &sort_key {
                    attrs.insert(name.clone(), sort_value(*t));
                }
                let key = TableKey {
                    encoded: ItemKey::from_key(&schema, &attrs).expect("a valid key"),
                    attrs: Arc::new(attrs.clone()),
                };
                assert_eq!(
                    workload_key_of_key("pk", *key_type, &key),
                    workload_key("pk", &attrs),
                    "{value:?}"
                );
            }
        }
    }
}
