//! dynasim: a deterministic simulator of multi-region DynamoDB global tables.
//!
//! This crate is the top of the workspace: the turmoil driver (`world`), the simulated
//! clients, the fault timeline, and the public API that `cargo test` users call.
//! It is the only crate that knows turmoil.

mod api;
pub mod bench;
pub mod bench_engine;
mod bench_memory;
pub mod bench_serve;
mod capacity;
pub mod cli;
mod clients;
mod completions;
mod consumers;
mod faults;
pub mod live;
mod mrsc;
mod serve_cli;
mod spill;
mod trace;
mod trace_encoding;
mod world;

pub use api::{Error, Outcome, SeedSweep, run_file, run_scenario, run_seeds};
pub use dynasim_checker::{CheckConfig, FindingKind, Report, Status, Verdict};
pub use dynasim_core::history;
pub use dynasim_region::KnownBug;
pub use dynasim_scenario::Scenario;
pub use spill::{DEFAULT_SHARDS, HistorySpill, SpillCounts, SpillError, SpilledHistory, shard_of};
pub use trace::{Event, EventKind, ReplicaState, RunOutput, TraceHasher};
pub use world::{RunOptions, check_supported, run};

/// Parse a known bug name as the CLI and tests spell it (`drop_one_in:7`, `reuse_stamp`, ...).
pub fn parse_known_bug(text: &str) -> Result<KnownBug, String> {
    Ok(match text {
        "apply_without_stamp_compare" => KnownBug::ApplyWithoutStampCompare,
        "reuse_stamp" => KnownBug::ReuseStamp,
        "forget_tombstones" => KnownBug::ForgetTombstones,
        "ignore_vector_clock" => KnownBug::IgnoreVectorClock,
        "strong_reads_from_follower" => KnownBug::StrongReadsFromFollower,
        "lagging_index" => KnownBug::LaggingIndex,
        other => match other.strip_prefix("drop_one_in:").map(str::parse::<u64>) {
            Some(Ok(n)) if n > 0 => KnownBug::DropOneIn(n),
            _ => {
                return Err(format!(
                    "unknown bug {other:?}; expected drop_one_in:<n>, apply_without_stamp_compare, reuse_stamp, \
                     forget_tombstones, ignore_vector_clock, strong_reads_from_follower or lagging_index"
                ));
            }
        },
    })
}
