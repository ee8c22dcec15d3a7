//! Counting findings while keeping only the first few with evidence: classification runs
//! over millions of writes, and formatting a sentence for each would dominate its cost.

use crate::report::{Finding, FindingKind};
use dynasim_core::Stamp;
use dynasim_core::history::KeyRef;
use std::collections::BTreeMap;

pub(crate) struct Tally {
    examples_max: usize,
    counts: [u64; FindingKind::ALL.len()],
    examples: Vec<Finding>,
}

impl Tally {
    pub(crate) fn new(examples_max: usize) -> Tally {
        Tally {
            examples_max,
            counts: [0; FindingKind::ALL.len()],
            examples: Vec::new(),
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
            self.examples.push(Finding {
                kind,
                key,
                op,
                stamp: stamps.0,
                winner: stamps.1,
                evidence: evidence(),
            });
        }
        *count += 1;
    }

    /// Counts of every kind (zeros included) and the examples sorted by (kind, key, op).
    pub(crate) fn finish(mut self) -> (BTreeMap<FindingKind, u64>, Vec<Finding>) {
        let counts = FindingKind::ALL
            .iter()
            .map(|k| (*k, self.counts[*k as usize]))
            .collect();
        self.examples.sort_by(|a, b| {
            (a.kind, a.key, a.op, &a.evidence).cmp(&(b.kind, b.key, b.op, &b.evidence))
        });
        (counts, self.examples)
    }
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
