//! Hard limits of the simulator itself (not DynamoDB's): every queue, history and key
//! space has a bound, checked when a scenario loads.

/// Regions in one world (the issue fixes 3 to 7 for scenarios; tests may use 2).
pub const REGIONS_MIN: usize = 2;
pub const REGIONS_MAX: usize = 7;
/// AZs per region (DynamoDB keeps three replicas, one per AZ).
pub const AZS_PER_REGION: usize = 3;
/// Largest replication queue per (source, destination) pair a scenario may ask for.
pub const REPLICATION_QUEUE_ITEMS_MAX: usize = 10_000_000;
/// Largest batch one replication message may carry.
pub const REPLICATION_BATCH_ITEMS_MAX: usize = 10_000;
/// Most partition streams a replica pair may be modelled with (GT-09).
pub const REPLICATION_PARTITION_STREAMS_MAX: u64 = 256;
/// Largest extra delay one partition stream may add (GT-09): beyond it a stream would
/// outlast the replication timeouts it is meant to sit well inside.
pub const REPLICATION_STREAM_SKEW_US_MAX: u64 = 10_000_000;
/// Distinct keys a workload may address.
pub const WORKLOAD_KEYS_MAX: u64 = 100_000_000;
/// Client arrival rate per phase, ops/s.
pub const WORKLOAD_RATE_MAX: f64 = 1_000_000.0;
/// Simulated duration of one run.
pub const SIM_DURATION_US_MAX: u64 = 7 * 24 * 3600 * 1_000_000;
/// Faults in one scenario timeline.
pub const FAULTS_MAX: usize = 10_000;
/// Longest TTL sweep delay or jitter: DynamoDB deletes within 48 h (TTL-04).
pub const TTL_DELETE_DELAY_US_MAX: u64 = 48 * 3_600 * 1_000_000;
/// Tables in one scenario.
pub const TABLES_MAX: usize = 64;
/// Workload phases in one scenario.
pub const PHASES_MAX: usize = 1_000;
/// Assertions in one scenario.
pub const ASSERTS_MAX: usize = 1_000;
/// Seeds a scenario may pin.
pub const SCENARIO_SEEDS_MAX: usize = 1_000;
/// Provisioned read or write units per table replica (DynamoDB's default table quota,
/// reference GT-08).
pub const CAPACITY_UNITS_MAX: u64 = 40_000;
/// Distinct index partition key values a workload may spread a GSI over.
pub const GSI_PARTITION_VALUES_MAX: u64 = 1_000_000;
/// Client attempts per operation, the first included.
pub const CLIENT_ATTEMPTS_MAX: u64 = 100;
/// Largest clock step a fault may apply, either way (one day).
pub const CLOCK_OFFSET_US_MAX: u64 = 24 * 3600 * 1_000_000;
/// Largest clock drift, parts per million, either way.
pub const CLOCK_DRIFT_PPM_MAX: f64 = 100_000.0;
/// Largest arrival-rate multiplier of a traffic spike.
pub const TRAFFIC_MULTIPLIER_MAX: f64 = 1_000.0;
/// Items in one workload transaction: DynamoDB's TransactWriteItems / TransactGetItems
/// limit (TX-01, TX-02).
pub const TRANSACTION_ITEMS_MAX: u64 = 100;
/// Mean GSI propagation delay a scenario may configure (RC-08: normally a fraction of
/// a second; ten minutes leaves room for failure studies).
pub const GSI_PROPAGATION_MEAN_US_MAX: u64 = 600 * 1_000_000;
