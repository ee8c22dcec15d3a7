//! The typed scenario: what the user asked for, with every reference resolved to an index
//! and every quantity in a fixed unit (`_us` microseconds of simulated time, `_bytes`).
//! Nothing here is derived from the run; defaults are stated where each field is.

use dynasim_core::RegionId;

/// A validated scenario. Build it from a file with [`Scenario::from_file`] or
/// [`Scenario::from_str`], or fill the public fields in Rust.
#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Always 1 for files this build reads.
    pub schema: u32,
    pub meta: Meta,
    pub sim: Sim,
    /// In declaration order; `regions[i].id == RegionId(i)`.
    pub regions: Vec<Region>,
    pub network: Network,
    pub replication: Replication,
    pub tables: Vec<Table>,
    /// Back to back in file order; `phases[i].start_us` is the sum of earlier durations.
    pub phases: Vec<Phase>,
    /// In file order.
    pub faults: Vec<Fault>,
    pub asserts: Vec<Assertion>,
    /// Stream consumers, in file order.
    pub consumers: Vec<Consumer>,
}

/// Index into [`Scenario::consumers`].
pub type ConsumerIndex = usize;

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerKind {
    /// A Lambda event source mapping: polls each shard four times a second.
    Lambda,
    /// A Kinesis-style consumer: records reach it `lag_us` after they are written.
    Kinesis,
}

/// What a consumer does with each record.
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerBehaviour {
    /// Count invocations and records.
    Count,
    /// Keep a log of every change processed (duplicates included).
    AuditLog,
    /// Apply each change to a per-region view of the table (a materialised view).
    Materialize,
    /// Record an event per processed batch.
    Notify,
}

/// A stream consumer attached to a table's stream in some regions. Delivery is at least
/// once and in order per item (ST-, UC-03): a failed batch is retried whole (its
/// processed prefix is delivered again), bisected if `bisect_on_error`, and after
/// `retry_attempts` retries (`None`: until the records expire, 24 h) sent to the failure
/// destination.
#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Consumer {
    pub name: String,
    pub table: TableIndex,
    /// Regions it runs in (default: every replica of the table), sorted.
    pub regions: Vec<RegionId>,
    pub kind: ConsumerKind,
    pub behaviour: ConsumerBehaviour,
    /// Records per invocation, 1..10_000 [100].
    pub batch_size: u64,
    /// How long to gather records before invoking, ≤ 300 s [0].
    pub batching_window_us: u64,
    /// Concurrent batches per shard, 1..10 [1]; records of one item stay in order.
    pub parallelization: u64,
    pub retry_attempts: Option<u64>,
    pub bisect_on_error: bool,
    /// Name of the failure destination (an SQS queue or SNS topic in AWS).
    pub on_failure: Option<String>,
    /// Simulated time one invocation takes [10 ms].
    pub processing_time_us: u64,
    /// Chance that an invocation fails [0].
    pub failure_rate: f64,
    /// Share of a failing batch processed before the failure (redelivered on retry) [0.5].
    pub partial_progress: f64,
    /// Process only writes that originated in the consumer's own region (the filter on an
    /// origin-region attribute that UC-03 recommends).
    pub filter_origin_region: bool,
    /// Kinesis-style delivery lag [1 s for kinesis, 0 for lambda].
    pub lag_us: u64,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq, Default)]
pub struct Meta {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Seeds that tests pin; the CLI defaults to the first. May be empty.
    pub seeds: Vec<u64>,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Sim {
    pub duration_us: u64,
    /// Whole milliseconds (turmoil ticks); default 1 ms.
    pub tick_us: u64,
    /// The epoch as written (RFC 3339), and as microseconds since 1970-01-01T00:00:00Z.
    pub epoch: String,
    pub epoch_unix_us: i64,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Region {
    pub id: RegionId,
    pub name: String,
    /// Exactly three AZ names, unique across the whole scenario.
    pub azs: [String; 3],
}

/// An availability zone: a region and the index of the AZ in its `azs` list.
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AzRef {
    pub region: RegionId,
    pub az: u8,
}

/// Delay model of one hop: one-way delay plus uniform jitter of at most `jitter_us`
/// (never above the delay itself), and a loss probability in [0, 1).
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq)]
pub struct LinkSpec {
    pub one_way_us: u64,
    pub jitter_us: u64,
    pub loss: f64,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Network {
    /// Default 200 us, jitter 50 us.
    pub same_az: LinkSpec,
    /// Default 1 ms, jitter 300 us.
    pub cross_az: LinkSpec,
    /// Declared inter-region links, one entry per direction (a symmetric `links` entry
    /// gives two). Pairs not listed use [`crate::default_inter_region_link`].
    pub links: Vec<DirectedLink>,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq)]
pub struct DirectedLink {
    pub from: RegionId,
    pub to: RegionId,
    pub spec: LinkSpec,
}

/// GT-09 defaults, shared with `dynasim serve`: partition streams per region pair.
pub const PARTITION_STREAMS_DEFAULT: u16 = 4;
/// GT-09 defaults: most delay one partition stream adds, us.
pub const STREAM_SKEW_US_DEFAULT: u64 = 50_000;

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Replication {
    /// Per (source, destination) pair. Default 100_000.
    pub queue_items_max: usize,
    /// Default 100.
    pub batch_items_max: usize,
    /// How long a replicator waits to fill a batch. Default 10 ms.
    pub batch_interval_us: u64,
    /// Default 50 ms doubling to 2 s.
    pub retry_backoff: Backoff,
    /// How long tombstones are kept after every replica has seen them. Default 24 h.
    pub tombstone_gc_us: u64,
    /// GT-09: parallel partition streams per (origin, receiver) pair of an MREC table;
    /// writes to different items may be applied out of their source order. Default 4;
    /// 1 is one ordered stream. The count is **unconfirmed** (the reference confirms
    /// the reordering, not its extent).
    pub partition_streams: u16,
    /// GT-09: most extra delay one partition stream adds, redrawn every second per
    /// stream. Default 50 ms (**unconfirmed**); 0 turns the reordering off.
    pub stream_skew_us: u64,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial_us: u64,
    pub max_us: u64,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    S,
    N,
    B,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub ty: KeyType,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// Multi-Region eventual consistency, last writer wins.
    Mrec,
    /// Multi-Region strong consistency: three replicas, or two plus a witness.
    Mrsc,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityMode {
    OnDemand,
    Provisioned,
}

/// Capacity per replica. Units are set (and required) only in provisioned mode.
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    pub mode: CapacityMode,
    pub read_units: Option<u64>,
    pub write_units: Option<u64>,
    /// Provisioned mode only: target-tracking auto scaling of reads and writes (CA-16).
    pub auto_scaling: Option<AutoScaling>,
}

/// Target tracking as DynamoDB's auto scaling runs it: utilisation above `target_percent`
/// for `scale_out_after_us` raises capacity to consumed / target; 20 points below it for
/// `scale_in_after_us` lowers it (within CP-16's decrease budget). Units stay within the
/// bounds (defaults: min = the provisioned units, max = 40,000).
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoScaling {
    pub target_percent: u64,
    pub min_read_units: u64,
    pub max_read_units: u64,
    pub min_write_units: u64,
    pub max_write_units: u64,
    pub scale_out_after_us: u64,
    pub scale_in_after_us: u64,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamView {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Gsi {
    pub name: String,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    /// `KEYS_ONLY` instead of the default `ALL` projection.
    pub keys_only: bool,
    /// Provisioned units of the index (provisioned tables only; default: the table's).
    pub read_units: Option<u64>,
    pub write_units: Option<u64>,
    /// Target-tracking auto scaling of the index (CA-16), independent of the table's.
    pub auto_scaling: Option<AutoScaling>,
    /// Distinct index partition key values the workload writes: each item's index
    /// partition key is its key modulo this.
    pub partition_values: u64,
    /// Mean delay from a base-table write to its index entry (exponential; RC-08 and
    /// LT-05 say "a fraction of a second", **unconfirmed**). Default 50 ms.
    pub propagation_mean_us: u64,
}

/// A DAX-like cache in front of each replica. Defaults: 5 min TTLs, 256 MiB.
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dax {
    pub item_ttl_us: u64,
    pub query_ttl_us: u64,
    pub size_bytes: u64,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Table {
    pub name: String,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    /// Regions holding a replica, in the order written, no duplicates.
    pub replicas: Vec<RegionId>,
    /// MRSC only: the witness region (not a replica).
    pub witness: Option<RegionId>,
    pub consistency: Consistency,
    pub capacity: Capacity,
    pub gsis: Vec<Gsi>,
    /// Attribute holding the expiry time, if TTL is enabled.
    pub ttl_attribute: Option<String>,
    /// How long after expiry the sweeper deletes an item: this delay plus a per-key,
    /// per-region share of the jitter (TTL-04, TTL-08). Defaults 0.
    pub ttl_delete_delay_us: u64,
    pub ttl_delete_jitter_us: u64,
    pub stream: Option<StreamView>,
    pub dax: Option<Dax>,
    /// CA-11: hot partitions split (DynamoDB always does; `false` shows what the split
    /// buys). Default true.
    pub split_for_heat: bool,
}

/// Index into [`Scenario::tables`].
pub type TableIndex = usize;
/// Index into [`Scenario::phases`].
pub type PhaseIndex = usize;
/// Index into [`Scenario::faults`].
pub type FaultIndex = usize;

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// Operations per second, open model.
    Constant(f64),
    /// Linear ramp over the phase, ops/s.
    Ramp { from: f64, to: f64 },
}

/// Relative operation weights (sum > 0).
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Mix {
    pub get: u32,
    pub put: u32,
    pub update: u32,
    pub delete: u32,
    pub query: u32,
    pub conditional_put: u32,
    /// TransactWriteItems putting every item of a key group (TX-01).
    pub transaction: u32,
    /// TransactGetItems reading every item of a key group (TX-02).
    pub transact_get: u32,
    /// A Query on a GSI looking the item up by its index keys (QS-08, RC-08).
    pub index_query: u32,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq)]
pub enum KeyDist {
    Uniform,
    Zipf {
        exponent: f64,
    },
    /// `hot_fraction` of operations go to the first `hot_keys` keys.
    HotKey {
        hot_keys: u64,
        hot_fraction: f64,
    },
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq)]
pub struct Keys {
    pub table: TableIndex,
    pub count: u64,
    pub dist: KeyDist,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemSize {
    Fixed { bytes: u64 },
    Uniform { min_bytes: u64, max_bytes: u64 },
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadConsistency {
    Eventual,
    Strong,
}

/// Client retries of throttled or failed requests: exponential backoff with full jitter.
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Including the first attempt.
    pub attempts_max: u32,
    pub base_us: u64,
    pub max_us: u64,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: String,
    pub start_us: u64,
    pub duration_us: u64,
    pub rate: Rate,
    /// Region weights, sorted by region, each > 0 (zero weights are dropped).
    pub clients: Vec<(RegionId, f64)>,
    pub mix: Mix,
    pub keys: Keys,
    /// Default: fixed 1 KiB.
    pub item_size: ItemSize,
    /// Default: eventual.
    pub reads: ReadConsistency,
    pub retry: Option<RetryPolicy>,
    /// Puts and updates set the table's TTL attribute to expire this long after the
    /// write (by the writing region's clock).
    pub expire_after_us: Option<u64>,
    /// Where clients of a region go when their region is unavailable.
    pub failover: Vec<(RegionId, RegionId)>,
    /// Items in each transaction (write or get): the aligned group of keys
    /// `[k - k % n, k - k % n + n)` around the chosen key `k`, so transactional writes
    /// and reads meet on the same groups. Default 2.
    pub transaction_items: u16,
    /// The GSI (index into the table's `gsis`) that `mix.index_query` reads; default the
    /// first. `None` when the table has no GSI (then `index_query` is refused).
    pub index: Option<usize>,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionMode {
    /// Messages in flight are lost.
    Drop,
    /// Messages are held and delivered after the heal.
    Hold,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Regions in different sides cannot reach each other (regions in no side are
    /// unaffected).
    Partition {
        sides: Vec<Vec<RegionId>>,
        mode: PartitionMode,
    },
    /// Traffic from `from` to `to` is cut; the reverse direction still flows.
    OneWayPartition {
        from: Vec<RegionId>,
        to: Vec<RegionId>,
        mode: PartitionMode,
    },
    /// Ends the fault `target` at this fault's `start_us`.
    Heal {
        target: FaultIndex,
    },
    /// Both directions between two regions get extra delay and loss.
    LinkDegrade {
        between: [RegionId; 2],
        extra_latency_us: u64,
        loss: f64,
    },
    AzOutage {
        az: AzRef,
    },
    RegionOutage {
        region: RegionId,
        clients_failover_to: Option<RegionId>,
    },
    /// The region's wall clock steps by `offset_us` and drifts `drift_ppm` us per
    /// simulated second while the fault lasts.
    ClockSkew {
        region: RegionId,
        offset_us: i64,
        drift_ppm: f64,
    },
    /// A permanent, instantaneous step of the region's wall clock.
    ClockJump {
        region: RegionId,
        offset_us: i64,
    },
    /// Arrival rate of `region` (all regions if `None`) multiplied, reached after `ramp_us`.
    TrafficSpike {
        region: Option<RegionId>,
        multiplier: f64,
        ramp_us: u64,
    },
    /// Provisioned units or billing mode of a table (in one region, or all if `None`).
    /// File kinds `throttle` and `capacity_change` both map here.
    CapacityChange {
        table: TableIndex,
        region: Option<RegionId>,
        mode: Option<CapacityMode>,
        read_units: Option<u64>,
        write_units: Option<u64>,
    },
}

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Fault {
    pub id: Option<String>,
    pub start_us: u64,
    /// When the fault ends: `at + duration`, or the `at` of the heal naming it; `None`
    /// lasts to the end of the run. Heals and clock jumps are instantaneous
    /// (`Some(start_us)`).
    pub end_us: Option<u64>,
    /// The heal fault that ends this one, if any.
    pub healed_by: Option<FaultIndex>,
    pub kind: FaultKind,
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Get,
    Put,
    Update,
    Delete,
    Query,
    ConditionalPut,
    Transaction,
    TransactGet,
    IndexQuery,
}

impl Op {
    /// The history's kind of an op the workload sends as `self`.
    pub fn kind(self) -> dynasim_core::history::OpKind {
        use dynasim_core::history::OpKind;
        match self {
            Op::Get => OpKind::Get,
            Op::Put => OpKind::Put,
            Op::Update => OpKind::Update,
            Op::Delete => OpKind::Delete,
            Op::Query => OpKind::Query,
            Op::ConditionalPut => OpKind::ConditionalPut,
            Op::Transaction => OpKind::Transaction,
            Op::TransactGet => OpKind::TransactGet,
            Op::IndexQuery => OpKind::IndexQuery,
        }
    }
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionScope {
    /// Checked for each region separately.
    Each,
    /// All regions pooled.
    All,
    One(RegionId),
}

#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LostWritesAllowance {
    /// No acknowledged write may vanish.
    None,
    /// An acknowledged write may vanish only if a later-stamped write to the item won.
    LwwSuperseded,
}

/// When an assertion looks at the run.
#[derive(serde::Serialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Window {
    /// Only during this phase (else the whole run).
    pub during: Option<PhaseIndex>,
    /// Skip time in which any fault is active.
    pub exclude_faults: bool,
}

#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub enum Assertion {
    /// Every write acknowledged before the fault `after` ends is applied in every replica
    /// within `within_us` of that moment. `None`: writes acknowledged by the end of the
    /// run, within `within_us` after it (the driver lets replication drain that long).
    Converged {
        after: Option<FaultIndex>,
        within_us: u64,
    },
    NoLostAckedWrites {
        allow: LostWritesAllowance,
    },
    Latency {
        op: Op,
        region: RegionScope,
        quantile: f64,
        max_us: u64,
        window: Window,
    },
    /// Reads that miss a write acknowledged more than `staleness_us` earlier.
    StaleReadRatio {
        max: f64,
        staleness_us: u64,
        region: RegionScope,
        window: Window,
    },
    ReplicationLag {
        quantile: f64,
        max_us: u64,
        from: Option<RegionId>,
        to: Option<RegionId>,
        window: Window,
    },
    ThrottleRatio {
        max: f64,
        region: RegionScope,
        window: Window,
    },
    Availability {
        min: f64,
        region: RegionScope,
        window: Window,
    },
    /// At most `max` skew inversions, none larger than `bound_us` if given.
    SkewInversions {
        max: u64,
        bound_us: Option<u64>,
    },
    /// At most `max` acknowledged writes lost to concurrent writes in other regions.
    LwwLosses {
        max: u64,
    },
    /// Every acknowledged client write to the consumer's table was processed by exactly
    /// one of the consumer's regions, exactly once (no cross-region fan-out, UC-03; no
    /// redelivery).
    ConsumerExactlyOnce {
        consumer: ConsumerIndex,
    },
    /// Iterator age (how old a record is when the consumer processes it) at `quantile`.
    IteratorAge {
        consumer: ConsumerIndex,
        quantile: f64,
        max_us: u64,
    },
    /// The consumer's materialised view in each region equals the table there at the end.
    ViewConverged {
        consumer: ConsumerIndex,
    },
}
