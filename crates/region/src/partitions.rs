//! Which partition holds a key, and when a partition splits (CA-08, CA-11, CA-13).
//!
//! A table starts with `n` partitions; a key's partition is its hash modulo `n`. Inside
//! each of those, a second mix of the hash orders the keys, and a split cuts a partition's
//! range of that order in two: keys from the cut point on move to a new partition.
//! Partitions split and never merge. A split for capacity or size cuts in the middle; a
//! split for heat cuts where the load divides (the weighted median of the items' demand),
//! so two hot items that shared a partition end up apart. A split gives the moved keys a partition of their own, with its own 3,000 RCU /
//! 1,000 WCU limit and its own leader, which is how split-for-heat relieves a hot
//! partition that holds more than one hot item. A single hot item cannot be split: it
//! stays throttled at the per-partition limit.
//!
//! Triggers (CA-11): sustained demand near the partition's limit (split for heat), a
//! partition nearing its size limit (10 GB, CA-13), and capacity that needs more
//! partitions than the table has (provisioned units raised to a new high, or a new
//! on-demand peak). Split timing is not published: the heat window and the time a
//! partition must stay hot are configuration values with the defaults in [`SplitPolicy`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When partitions split (CA-11). `heat_after_us` and `heat_fraction` are unconfirmed
/// in the reference ("within minutes of sustained load"); these are the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitPolicy {
    /// Split partitions that stay hot (always on in DynamoDB).
    pub split_for_heat: bool,
    /// Hot: demand in a window at or above this fraction of the partition's limit.
    pub heat_fraction: f64,
    /// How long a partition must stay hot before it splits.
    pub heat_after_us: u64,
    /// Demand is measured over windows of this length.
    pub heat_window_us: u64,
    /// A partition holding more than this splits (CA-13: 10 GB).
    pub size_bytes_max: u64,
    /// Deepest split of one initial partition (a bound on the partition count).
    pub split_depth_max: u8,
}

impl Default for SplitPolicy {
    fn default() -> Self {
        SplitPolicy {
            split_for_heat: true,
            heat_fraction: 0.8,
            heat_after_us: 5 * 60 * 1_000_000,
            heat_window_us: 60 * 1_000_000,
            size_bytes_max: 10 * 1024 * 1024 * 1024,
            split_depth_max: 16,
        }
    }
}

/// Why a partition split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum SplitReason {
    /// Demand stayed at or above the heat fraction of the limit: units per second.
    Heat { read_per_s: f64, write_per_s: f64 },
    /// The partition outgrew the size limit: its bytes.
    Size { bytes: u64 },
    /// The table's capacity needs more partitions than it has.
    Capacity { partitions_needed: usize },
}

/// One split: `parent` keeps half its keys, `child` is new.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Split {
    pub parent: usize,
    pub child: usize,
    pub reason: SplitReason,
}

/// Distinct items whose demand a partition tracks per window (bounded memory).
const TRACKED_KEYS_MAX: usize = 256;
/// A split helps only if the items other than the hottest one carry at least this share
/// of the partition's limit: one hot item alone cannot be split (CA-08).
const SPLITTABLE_REST_FRACTION: f64 = 0.1;

/// Demand on one partition in the current window.
#[derive(Clone, Debug, Default)]
struct Load {
    read_units: f64,
    write_units: f64,
    /// Demand per item (by its position, see [`PartitionMap::position`]) as a
    /// fraction-of-limit sum (reads over the read limit plus writes over the write
    /// limit), for the first [`TRACKED_KEYS_MAX`] items seen.
    by_key: BTreeMap<u64, f64>,
    /// Since when the partition has been hot, if it is.
    hot_since_us: Option<u64>,
}

impl Load {
    /// Where to cut so each side carries about half the tracked demand: the first item
    /// whose predecessors already carry half. `None` with fewer than two items.
    fn weighted_median(&self) -> Option<u64> {
        let total: f64 = self.by_key.values().sum();
        let mut before = 0.0;
        for (position, share) in &self.by_key {
            if before > 0.0 && before >= total / 2.0 {
                return Some(*position);
            }
            before += share;
        }
        // The last item holds more than half: cut just before it if anything precedes.
        let mut keys = self.by_key.keys().rev();
        let last = keys.next()?;
        keys.next().map(|_| *last)
    }

    /// Demand of every item but the hottest, in limit-seconds.
    fn rest_beside_hottest(&self, limits: (f64, f64)) -> f64 {
        let total = self.read_units / limits.0 + self.write_units / limits.1;
        let hottest = self.by_key.values().copied().fold(0.0, f64::max);
        total - hottest
    }
}

#[derive(Clone, Debug)]
struct Node {
    /// The initial partition (hash modulo `roots`) this one descends from.
    root: usize,
    /// Start of this partition's range of the mixed hash (the end is the next range's
    /// start in its root, or the end of the hash space).
    start: u64,
    /// Splits on the way from the root (bounded by the policy).
    depth: u8,
    load: Load,
}

/// The partitions of one table replica.
#[derive(Clone, Debug)]
pub struct PartitionMap {
    roots: usize,
    nodes: Vec<Node>,
    /// Per root: (range start, partition), sorted by start; the first starts at 0.
    ranges: Vec<Vec<(u64, usize)>>,
    window_start_us: u64,
}

impl PartitionMap {
    pub fn new(partitions: usize) -> Self {
        assert!(partitions > 0, "a table has at least one partition");
        PartitionMap {
            roots: partitions,
            nodes: (0..partitions)
                .map(|root| Node {
                    root,
                    start: 0,
                    depth: 0,
                    load: Load::default(),
                })
                .collect(),
            ranges: (0..partitions).map(|root| vec![(0, root)]).collect(),
            window_start_us: 0,
        }
    }

    /// Partitions the table was created with.
    pub fn roots(&self) -> usize {
        self.roots
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The position of a key with hash `hash` inside its root: a second mix, so the
    /// order does not repeat the modulo's bits.
    pub fn position(hash: u64) -> u64 {
        dynasim_core::splitmix64(hash)
    }

    /// The partition of a key with hash `hash` (a stable hash of its encoded key).
    pub fn locate(&self, hash: u64) -> usize {
        let ranges = &self.ranges[(hash % self.roots as u64) as usize];
        if ranges.len() == 1 {
            return ranges[0].1;
        }
        let position = Self::position(hash);
        let i = ranges.partition_point(|(start, _)| *start <= position);
        ranges[i - 1].1
    }

    /// The end (exclusive, as u128 so the last range can end at 2^64) of a partition's
    /// range.
    fn end(&self, partition: usize) -> u128 {
        let node = &self.nodes[partition];
        let ranges = &self.ranges[node.root];
        let i = ranges.partition_point(|(start, _)| *start <= node.start);
        ranges
            .get(i)
            .map_or(1u128 << 64, |(start, _)| u128::from(*start))
    }

    /// Count demand (admitted or not) for the heat rule. `position` is the key's
    /// [`PartitionMap::position`]; `limits` are the partition's (read, write) units per
    /// second.
    pub fn note_demand(
        &mut self,
        partition: usize,
        write: bool,
        units: f64,
        position: u64,
        limits: (f64, f64),
    ) {
        let load = &mut self.nodes[partition].load;
        let share = if write {
            load.write_units += units;
            units / limits.1
        } else {
            load.read_units += units;
            units / limits.0
        };
        if load.by_key.len() < TRACKED_KEYS_MAX || load.by_key.contains_key(&position) {
            *load.by_key.entry(position).or_insert(0.0) += share;
        }
    }

    /// Close the heat window if it is over: returns the partitions that have been hot
    /// for `heat_after_us` with enough load beside their hottest item for a split to
    /// help, with their demand and the cut point that divides their load.
    pub fn close_window(
        &mut self,
        policy: &SplitPolicy,
        limits: (f64, f64),
        now_us: u64,
    ) -> Vec<(usize, SplitReason, u64)> {
        if now_us < self.window_start_us + policy.heat_window_us {
            return Vec::new();
        }
        let window_s = (now_us - self.window_start_us) as f64 / 1e6;
        self.window_start_us = now_us;
        let (read_limit, write_limit) = limits;
        let mut hot = Vec::new();
        for (p, node) in self.nodes.iter_mut().enumerate() {
            let load = std::mem::take(&mut node.load);
            let read_per_s = load.read_units / window_s;
            let write_per_s = load.write_units / window_s;
            let is_hot = read_per_s >= policy.heat_fraction * read_limit
                || write_per_s >= policy.heat_fraction * write_limit;
            if !is_hot {
                continue;
            }
            let since = load
                .hot_since_us
                .unwrap_or(now_us - (window_s * 1e6) as u64);
            node.load.hot_since_us = Some(since);
            let splittable =
                load.rest_beside_hottest(limits) / window_s >= SPLITTABLE_REST_FRACTION;
            let cut = load.weighted_median().filter(|cut| *cut > node.start);
            if let (true, true, Some(cut)) = (
                policy.split_for_heat && splittable,
                now_us - since >= policy.heat_after_us,
                cut,
            ) && node.depth < policy.split_depth_max
            {
                let reason = SplitReason::Heat {
                    read_per_s,
                    write_per_s,
                };
                hot.push((p, reason, cut));
            }
        }
        hot
    }

    /// Split `parent` at `cut` (its middle when `None`): a new partition takes the keys
    /// from the cut on. `None` when the partition is as deep as the policy allows or too
    /// narrow to cut there.
    pub fn split(
        &mut self,
        parent: usize,
        cut: Option<u64>,
        policy: &SplitPolicy,
    ) -> Option<usize> {
        let (root, start, depth) = {
            let node = &self.nodes[parent];
            (node.root, node.start, node.depth)
        };
        let end = self.end(parent);
        let cut = cut.unwrap_or(((u128::from(start) + end) / 2) as u64);
        if depth >= policy.split_depth_max || cut <= start || u128::from(cut) >= end {
            return None;
        }
        let child = self.nodes.len();
        // The parent keeps its hot-since time and the child inherits it: a half still hot
        // at the next window splits again, until no partition holds more than one hot
        // item (CA-11).
        let hot_since_us = self.nodes[parent].load.hot_since_us;
        self.nodes.push(Node {
            root,
            start: cut,
            depth: depth + 1,
            load: Load {
                hot_since_us,
                ..Load::default()
            },
        });
        self.nodes[parent].depth = depth + 1;
        let ranges = &mut self.ranges[root];
        let at = ranges.partition_point(|(s, _)| *s < cut);
        ranges.insert(at, (cut, child));
        debug_assert!(
            ranges.windows(2).all(|w| w[0].0 < w[1].0),
            "ranges stay sorted"
        );
        Some(child)
    }

    /// The widest partition (the largest share of its root's range), lowest index first:
    /// where a capacity-driven split goes.
    pub fn widest(&self) -> usize {
        (0..self.nodes.len())
            .max_by_key(|p| {
                (
                    self.end(*p) - u128::from(self.nodes[*p].start),
                    std::cmp::Reverse(*p),
                )
            })
            .expect("a table has at least one partition")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes() -> impl Iterator<Item = u64> {
        (0..20_000u64).map(dynasim_core::splitmix64)
    }

    #[test]
    fn without_splits_a_key_is_its_hash_modulo_the_partitions() {
        let map = PartitionMap::new(4);
        for h in hashes() {
            assert_eq!(map.locate(h), (h % 4) as usize);
        }
    }

    #[test]
    fn ca11_a_split_moves_about_half_the_keys_and_only_from_the_parent() {
        let mut map = PartitionMap::new(4);
        let before: Vec<usize> = hashes().map(|h| map.locate(h)).collect();
        let child = map.split(2, None, &SplitPolicy::default()).expect("splits");
        assert_eq!(child, 4);
        let mut moved = 0;
        let mut stayed = 0;
        for (h, was) in hashes().zip(&before) {
            let now = map.locate(h);
            if *was != 2 {
                assert_eq!(now, *was, "keys of other partitions stay");
            } else if now == child {
                moved += 1;
            } else {
                assert_eq!(now, 2);
                stayed += 1;
            }
        }
        let total = f64::from(moved + stayed);
        assert!(
            (f64::from(moved) / total - 0.5).abs() < 0.05,
            "{moved} of {total}"
        );
        // Splitting again, the parent and the child each halve their own range.
        let grandchild = map.split(2, None, &SplitPolicy::default()).expect("splits");
        let great = map
            .split(child, None, &SplitPolicy::default())
            .expect("splits");
        let mut counts = [0u32; 8];
        for h in hashes() {
            counts[map.locate(h)] += 1;
        }
        for p in [2, child, grandchild, great] {
            let share = f64::from(counts[p]) / total;
            assert!((share - 0.25).abs() < 0.04, "partition {p}: {counts:?}");
        }
    }

    #[test]
    fn ca11_heat_splits_only_after_the_partition_stays_hot_with_more_than_one_item() {
        let policy = SplitPolicy::default();
        let limits = (3_000.0, 1_000.0);
        let mut map = PartitionMap::new(2);
        let minute = policy.heat_window_us;
        let mut split_at = None;
        for w in 1..=10u64 {
            // 900 WCU/s on partition 0 from two keys; partition 1 idle; partition 0 hot.
            map.note_demand(0, true, 900.0 * 30.0, 1 << 60, limits);
            map.note_demand(0, true, 900.0 * 30.0, 3 << 60, limits);
            map.note_demand(1, true, 10.0, 5, limits);
            let hot = map.close_window(&policy, limits, w * minute);
            if !hot.is_empty() && split_at.is_none() {
                assert_eq!(hot[0].0, 0);
                // The cut divides the load: the second hot item starts the new range.
                assert_eq!(hot[0].2, 3 << 60);
                split_at = Some(w);
            }
        }
        // Hot from the first window's start (0) for 5 minutes: window 5 closes at 5m.
        assert_eq!(split_at, Some(5));
        // One hot key never splits, not even with a trickle of other keys beside it.
        let mut single = PartitionMap::new(2);
        for w in 1..=10u64 {
            single.note_demand(0, true, 1_000.0 * 60.0, 7 << 56, limits);
            for key in 100..130u64 {
                single.note_demand(0, true, 60.0, key << 50, limits);
            }
            assert!(single.close_window(&policy, limits, w * minute).is_empty());
        }
    }
}
