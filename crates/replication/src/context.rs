//! [`Context`]: the causal context a version and its log entry carry.
//!
//! A context is a vector clock over origin regions (which writes to an item its writer
//! had seen), so the replica-wide [`SeenClock`] stays a `crdts::VClock`, and a context
//! is joined from it. But a context is stored once per item version and copied into
//! every log entry and batch: as a `VClock` it was a B-tree node on the heap (about
//! 180 bytes with its `Arc`) per version, a pointer to chase on every local write and
//! remote apply, and an allocation plus a free whenever one changed. Region ids are
//! dense and at most [`REGIONS_MAX`] (a scenario and `dynasim serve` refuse more), so
//! one counter per region fits inline in 56 bytes, is copied by value and joins with a
//! loop the compiler unrolls.
//!
//! Its semantics are exactly a `VClock`'s: a zero counter is an absent actor, `apply`
//! keeps the larger counter, and it serialises as the equivalent `VClock` (so every
//! serialised form is unchanged).

use crate::SeenClock;
use crdts::{CmRDT, Dot};
use dynasim_core::RegionId;
use dynasim_core::limits::REGIONS_MAX;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Per origin region, the highest sequence of its writes this context covers.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Context {
    counters: [u64; REGIONS_MAX],
}

/// The slot of `region`. Region ids below [`REGIONS_MAX`] are an invariant of every
/// world (checked where regions are configured and in `Replicator::new`).
fn slot(region: RegionId) -> usize {
    let index = usize::from(region.0);
    assert!(
        index < REGIONS_MAX,
        "region id {index} is beyond the {REGIONS_MAX}-region limit"
    );
    index
}

impl Context {
    /// The empty context (no writes seen).
    pub const fn new() -> Context {
        Context {
            counters: [0; REGIONS_MAX],
        }
    }

    /// How many of `region`'s writes this context covers (0: none), as `VClock::get`.
    pub fn get(&self, region: &RegionId) -> u64 {
        self.counters
            .get(usize::from(region.0))
            .copied()
            .unwrap_or(0)
    }

    /// Cover `dot` (and every earlier write of its region), as `VClock::apply`.
    pub fn apply(&mut self, dot: Dot<RegionId>) {
        let counter = &mut self.counters[slot(dot.actor)];
        *counter = (*counter).max(dot.counter);
    }

    /// This context plus `region`'s write `seq`: the context that write carries.
    pub fn with(mut self, region: RegionId, seq: u64) -> Context {
        self.apply(Dot::new(region, seq));
        self
    }

    /// The least context covering both (pointwise maximum).
    pub fn join(&mut self, other: &Context) {
        for (mine, theirs) in self.counters.iter_mut().zip(other.counters) {
            *mine = (*mine).max(theirs);
        }
    }

    /// Join a replica's seen clock into this context.
    pub fn join_clock(&mut self, clock: &SeenClock) {
        for dot in clock.iter() {
            self.apply(Dot::new(*dot.actor, dot.counter));
        }
    }

    /// The covered writes as dots, in ascending region order (zero counters omitted).
    pub fn iter(&self) -> impl Iterator<Item = Dot<RegionId>> + '_ {
        self.counters
            .iter()
            .enumerate()
            .filter(|(_, counter)| **counter > 0)
            .map(|(region, counter)| Dot::new(RegionId(region as u16), *counter))
    }

    /// The same context as a `VClock`.
    pub fn to_clock(&self) -> SeenClock {
        let mut clock = SeenClock::new();
        for dot in self.iter() {
            clock.apply(dot);
        }
        clock
    }

    /// As a dense vector: entry `r` counts region `r`'s covered writes, up to the
    /// largest region it names (how the history records contexts: `Written::context`).
    pub fn dense(&self) -> Vec<u64> {
        let len = self
            .counters
            .iter()
            .rposition(|counter| *counter > 0)
            .map_or(0, |last| last + 1);
        self.counters[..len].to_vec()
    }

    /// The context a [`Context::dense`] vector stands for.
    pub fn from_dense(dense: &[u64]) -> Context {
        let mut context = Context::new();
        for (region, counter) in dense.iter().enumerate() {
            if *counter > 0 {
                context.apply(Dot::new(RegionId(region as u16), *counter));
            }
        }
        context
    }
}

impl From<&SeenClock> for Context {
    fn from(clock: &SeenClock) -> Context {
        let mut context = Context::new();
        context.join_clock(clock);
        context
    }
}

impl From<SeenClock> for Context {
    fn from(clock: SeenClock) -> Context {
        Context::from(&clock)
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|dot| (dot.actor.0, dot.counter)))
            .finish()
    }
}

impl Serialize for Context {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_clock().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Context {
    /// Reads the `VClock` form; a region id beyond the limit is an error, not a panic.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Context, D::Error> {
        let clock = SeenClock::deserialize(deserializer)?;
        if let Some(dot) = clock
            .iter()
            .find(|dot| usize::from(dot.actor.0) >= REGIONS_MAX)
        {
            return Err(serde::de::Error::custom(format!(
                "region id {} is beyond the {REGIONS_MAX}-region limit",
                dot.actor.0
            )));
        }
        Ok(Context::from(&clock))
    }
}
