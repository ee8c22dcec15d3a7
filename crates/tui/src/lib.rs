//! dynasim's live dashboard (`dynasim run --tui`).
//!
//! - [`state`]: what is shown, as plain data ([`DashboardState`]).
//! - [`feed`]: metric snapshots from the simulation thread in, figures out (sliding
//!   hdrhistogram windows, rates, live assertion estimates).
//! - [`render()`]: a pure function of the state into a ratatui frame.
//! - [`keymap`]: the key table the help overlay is generated from; [`app`]: what a key does.
//! - [`terminal`]: the loop on the main thread (raw mode, frames, restore on exit/panic).
//!
//! Invariant: this crate only observes the simulation. What the user changes (pause,
//! speed, injected faults) leaves as a [`Command`]; the simulation decides when it takes
//! effect and records it.

pub mod app;
pub mod feed;
pub mod keymap;
pub mod render;
pub mod state;
pub mod terminal;

pub use app::{Command, FaultAction};
pub use feed::{
    Feed, Finished, LagSample, LiveAssertion, OpSample, RegionGauge, Rule, Scope, Setup, Snapshot,
    Update,
};
pub use render::render;
pub use state::{
    AssertionRow, CapacityRow, Check, ConsumerRow, DashboardState, Lag, LatencyRow, LatencySeries,
    LogKind, LogLine, Panel, RegionRow, RunState, Speed, Stream, Window,
};
