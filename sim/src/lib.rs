//! dynasim: a deterministic simulator of multi-region DynamoDB global tables.
//!
//! This crate is the top of the workspace: the turmoil driver (`world`), the simulated
//! clients, the fault timeline, and the public API that `cargo test` users call.
//! It is the only crate that knows turmoil.

mod api;
pub mod cli;
mod clients;
mod faults;
mod trace;
mod world;

pub use api::{Error, Outcome, SeedSweep, run_file, run_scenario, run_seeds};
pub use dynasim_checker::{CheckConfig, Report, Status, Verdict};
pub use dynasim_core::history;
pub use dynasim_region::KnownBug;
pub use dynasim_scenario::Scenario;
pub use trace::{Event, EventKind, ReplicaState, RunOutput, TraceHasher};
pub use world::{RunOptions, check_supported, run};
