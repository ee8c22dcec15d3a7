//! Counting findings while keeping only the first few with evidence: classification runs
//! over millions of writes, and formatting a sentence for each would dominate its cost.
//!
//! Findings are met in key order (the checks walk keys in ascending order), so tallies of
//! shards holding disjoint keys merge exactly: the first few of a kind over the whole run
//! are the first few, by (key, order met), of the union of each shard's first few.

use crate::report::{Finding, FindingKind};
use dynasim_core::Stamp;
use dynasim_core::history::KeyRef;
use std::collections::BTreeMap;

pub(crate) struct Tally {
    examples_max: usize,
    counts: [u64; FindingKind::ALL.len()],
    /// Kept findings with the order they were met in (within their key).
    examples: Vec<(u64, Finding)>,
    met: u64,
}

impl Tally {
    pub(crate) fn new(examples_max: usize) -> Tally {
        Tally {
            examples_max,
            counts: [0; FindingKind::ALL.len()],
            examples: Vec::new(),
            met: 0,
        }
    }

    /// Count one finding; build its evidence only if it is among the first of its kind.
    pub(crate) fn add(
        &mut self,
        kind: FindingKind,
        key: KeyRef,
        op: Option<u64>,
        stamps: (Option<Stamp>, Option<Stamp>),
        evidence: impl FnOnce() -> String,
    ) {
        let count = &mut self.counts[kind as usize];
        if (*count as usize) < self.examples_max {
            let finding = Finding {
                kind,
                key,
                op,
                stamp: stamps.0,
                winner: stamps.1,
                evidence: evidence(),
            };
            self.examples.push((self.met, finding));
        }
        *count += 1;
        self.met += 1;
    }

    /// Add the tally of a shard whose keys this one has not seen.
    pub(crate) fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
        self.examples.extend(other.examples);
        self.examples.sort_by_key(|(met, f)| (f.kind, f.key, *met));
        let mut kept = [0usize; FindingKind::ALL.len()];
        let examples_max = self.examples_max;
        self.examples.retain(|(_, f)| {
            let n = &mut kept[f.kind as usize];
            *n += 1;
            *n <= examples_max
        });
        self.met = self.met.max(other.met);
    }

    /// Counts of every kind (zeros included) and the examples sorted by (kind, key, op).
    pub(crate) fn finish(self) -> (BTreeMap<FindingKind, u64>, Vec<Finding>) {
        let counts = FindingKind::ALL
            .iter()
            .map(|k| (*k, self.counts[*k as usize]))
            .collect();
        let mut examples: Vec<Finding> = self.examples.into_iter().map(|(_, f)| f).collect();
        examples.sort_by(|a, b| {
            (a.kind, a.key, a.op, &a.evidence).cmp(&(b.kind, b.key, b.op, &b.evidence))
        });
        (counts, examples)
    }
}

/// Evidence sentences with the place in the whole run's order they were met at: each
/// shard keeps its first few, and merged lists keep the first few of their union.
pub(crate) type Ordered<K> = Vec<(K, String)>;

/// Merge `more` into `kept`, keeping the first `examples_max` by order.
pub(crate) fn keep_first<K: Ord>(kept: &mut Ordered<K>, more: Ordered<K>, examples_max: usize) {
    kept.extend(more);
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.truncate(examples_max);
}

/// The sentences of `kept`, in order.
pub(crate) fn sentences<K>(kept: Ordered<K>) -> Vec<String> {
    kept.into_iter().map(|(_, text)| text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_discriminants_index_all() {
        for (i, k) in FindingKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k:?} is out of place in ALL");
        }
    }
}
