//! Fault state set through the control API: cut links, per-table request rates.

use dynasim_core::RegionId;
use std::collections::BTreeSet;

/// Directed links currently cut: `(from, to)` drops replication from `from` to `to`.
#[derive(Debug, Default)]
pub(crate) struct Cuts {
    pub(crate) links: BTreeSet<(RegionId, RegionId)>,
    /// Regions taken down: no requests served, no replication in or out.
    pub(crate) down: BTreeSet<RegionId>,
}

impl Cuts {
    pub(crate) fn is_cut(&self, from: RegionId, to: RegionId) -> bool {
        self.links.contains(&(from, to)) || self.down.contains(&from) || self.down.contains(&to)
    }
}

/// A token bucket of requests per second (read and write separately), set with
/// `dynasim ctl capacity`. One request costs one unit; a burst of one second is kept.
#[derive(Clone, Debug)]
pub(crate) struct Throttle {
    pub(crate) read_per_s: Option<f64>,
    pub(crate) write_per_s: Option<f64>,
    read_tokens: f64,
    write_tokens: f64,
    refilled_at_us: u64,
}

impl Throttle {
    pub(crate) fn new(read_per_s: Option<f64>, write_per_s: Option<f64>, now_us: u64) -> Throttle {
        Throttle {
            read_per_s,
            write_per_s,
            read_tokens: read_per_s.unwrap_or(0.0),
            write_tokens: write_per_s.unwrap_or(0.0),
            refilled_at_us: now_us,
        }
    }

    /// Takes one unit; false when the bucket is empty (throttled).
    pub(crate) fn admit(&mut self, write: bool, now_us: u64) -> bool {
        let elapsed_s = now_us.saturating_sub(self.refilled_at_us) as f64 / 1e6;
        self.refilled_at_us = now_us;
        if let Some(rate) = self.read_per_s {
            self.read_tokens = (self.read_tokens + rate * elapsed_s).min(rate.max(1.0));
        }
        if let Some(rate) = self.write_per_s {
            self.write_tokens = (self.write_tokens + rate * elapsed_s).min(rate.max(1.0));
        }
        let (limit, tokens) = if write {
            (self.write_per_s, &mut self.write_tokens)
        } else {
            (self.read_per_s, &mut self.read_tokens)
        };
        if limit.is_none() {
            return true;
        }
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
