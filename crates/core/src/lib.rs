//! dynasim-core: the vocabulary every other crate shares.
//!
//! Types only: no I/O, no clock, no randomness. Simulated time is a plain number of
//! microseconds since the run's epoch; a region's wall clock is derived from it by the
//! driver; a [`Stamp`] orders writes for last-writer-wins.

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod limits;

/// SplitMix64: a well-spread 64-bit hash of `x`, for choices that must be a pure
/// function of their inputs (seeds per stream, key placement, delays). Not randomness:
/// the same input gives the same output in every run and process.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Microseconds since the start of the simulated run (the scenario's `epoch`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn from_ms(ms: u64) -> SimTime {
        SimTime(ms * 1_000)
    }
    pub fn from_secs(s: u64) -> SimTime {
        SimTime(s * 1_000_000)
    }
    pub fn as_us(self) -> u64 {
        self.0
    }
    pub fn as_ms(self) -> u64 {
        self.0 / 1_000
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn saturating_sub(self, other: SimTime) -> u64 {
        self.0.saturating_sub(other.0)
    }
    pub fn plus_us(self, us: u64) -> SimTime {
        SimTime(self.0 + us)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// Index of a region in the world's region list. Regions are ordered by declaration;
/// LWW ties between equal timestamps are broken by this id (DynamoDB does not document
/// its tie-break, see GT reference notes; any total order works as long as every
/// replica uses the same one).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct RegionId(pub u16);

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A last-writer-wins write stamp: hybrid-logical time from the origin region's clock,
/// the origin region, and the origin's write sequence number.
///
/// Ordering is `(hlc_us, region)`; `seq` is strictly increasing per region too, so two
/// stamps of one region never tie. Stamps of one region are strictly increasing even
/// when its wall clock steps backwards (the HLC keeps the larger of the two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Hybrid logical time, microseconds on the origin region's wall clock.
    pub hlc_us: u64,
    pub region: RegionId,
    /// Per-origin write sequence number, starting at 1.
    pub seq: u64,
}

impl Ord for Stamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.hlc_us, self.region, self.seq).cmp(&(other.hlc_us, other.region, other.seq))
    }
}
impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}#{}", self.hlc_us, self.region, self.seq)
    }
}

/// Hybrid logical clock of one region: never goes backwards, never repeats.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HybridClock {
    last_us: u64,
    seq: u64,
}

impl HybridClock {
    /// Stamp a local write given the region's current wall-clock reading.
    pub fn stamp(&mut self, region: RegionId, wall_us: u64) -> Stamp {
        let hlc_us = wall_us.max(self.last_us + 1);
        debug_assert!(hlc_us > self.last_us, "HLC must strictly increase");
        self.last_us = hlc_us;
        self.seq += 1;
        Stamp {
            hlc_us,
            region,
            seq: self.seq,
        }
    }

    /// Merge a remote stamp so later local stamps are causally after it.
    pub fn observe(&mut self, remote: Stamp) {
        self.last_us = self.last_us.max(remote.hlc_us);
    }

    pub fn last_us(&self) -> u64 {
        self.last_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hlc_is_strictly_monotonic_when_wall_clock_steps_back() {
        let mut clock = HybridClock::default();
        let r = RegionId(0);
        let a = clock.stamp(r, 1_000);
        let b = clock.stamp(r, 500);
        let c = clock.stamp(r, 500);
        assert!(a < b && b < c);
        assert_eq!(c.seq, 3);
    }

    #[test]
    fn observed_remote_stamp_orders_later_local_writes_after_it() {
        let mut clock = HybridClock::default();
        clock.observe(Stamp {
            hlc_us: 9_000,
            region: RegionId(1),
            seq: 4,
        });
        let local = clock.stamp(RegionId(0), 100);
        assert!(local.hlc_us > 9_000);
    }

    #[test]
    fn ties_on_time_break_by_region() {
        let a = Stamp {
            hlc_us: 5,
            region: RegionId(0),
            seq: 9,
        };
        let b = Stamp {
            hlc_us: 5,
            region: RegionId(1),
            seq: 1,
        };
        assert!(a < b);
    }
}
pub mod history;
