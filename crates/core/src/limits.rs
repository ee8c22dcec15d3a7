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
/// Distinct keys a workload may address.
pub const WORKLOAD_KEYS_MAX: u64 = 100_000_000;
/// Client arrival rate per phase, ops/s.
pub const WORKLOAD_RATE_MAX: f64 = 1_000_000.0;
/// Simulated duration of one run.
pub const SIM_DURATION_US_MAX: u64 = 7 * 24 * 3600 * 1_000_000;
/// Faults in one scenario timeline.
pub const FAULTS_MAX: usize = 10_000;
