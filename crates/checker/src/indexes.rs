//! Index reads against the table they index (RC-08, QS-08, LT-05).
//!
//! A GSI is maintained asynchronously, so a Query on it may return an older version of an
//! item than the region's table holds: that is DynamoDB's promise, and such reads are
//! counted, with how far behind they were. What an index may not do is fall behind by
//! more than its propagation bound: an index read that began at `t` in region `R` must
//! show the item at least as new as what `R`'s table held at `t - bound`. Versions in a
//! region only ever grow (LWW installs larger stamps), so "what the table held" is the
//! largest stamp installed in `R` by then: a local write acknowledged there (the install
//! happened before the acknowledgement, so this errs lenient), a TTL delete made there,
//! or a replicated write applied there.
//!
//! The check is per key, so it works shard by shard: counts and histograms add, examples
//! keep the first by (key, time).

use crate::describe as d;
use crate::reads::ReadIndex;
use crate::tally::{Ordered, keep_first};
use dynasim_core::history::{KeyRef, OpKind, OpRecord, OpResult, ReadValue, RunOutput};
use dynasim_core::{RegionId, Stamp};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IndexReadSummary {
    /// Successful index queries.
    pub index_reads: u64,
    /// Reads that missed a version the region's table held when they began (RC-08:
    /// expected while the index catches up).
    pub stale_reads: u64,
    /// How long before the read began the version it missed was installed, over stale
    /// reads, milliseconds.
    pub staleness_ms_p50: f64,
    pub staleness_ms_p99: f64,
    pub staleness_ms_max: f64,
    /// The propagation bound judged against, microseconds.
    pub bound_us: u64,
    /// Reads older than what the table held `bound_us` before they began (bugs).
    pub beyond_bound: u64,
    /// Reads of a value no write to the key produced with that stamp (bugs).
    pub garbage: u64,
    pub examples: Vec<String>,
}

/// An install of a version in one region: (region, key, time, stamp).
type Install = (RegionId, KeyRef, u64, Stamp);

/// The index-read check over a history that comes in key shards.
pub(crate) struct IndexPartial {
    bound_us: u64,
    examples_max: usize,
    index_reads: u64,
    stale_reads: u64,
    beyond_bound: u64,
    garbage: u64,
    staleness_us: Histogram<u64>,
    /// Ordered by (key, read start, history order).
    examples: Ordered<(KeyRef, u64, dynasim_core::history::HistoryOrder)>,
}

impl IndexPartial {
    pub(crate) fn new(bound_us: u64, examples_max: usize) -> Self {
        IndexPartial {
            bound_us,
            examples_max,
            index_reads: 0,
            stale_reads: 0,
            beyond_bound: 0,
            garbage: 0,
            // No run is longer than its limit, so no staleness either.
            staleness_us: Histogram::new_with_bounds(
                1,
                dynasim_core::limits::SIM_DURATION_US_MAX,
                3,
            )
            .expect("valid histogram bounds"),
            examples: Vec::new(),
        }
    }

    pub(crate) fn add_shard(&mut self, shard: &RunOutput, index: &ReadIndex) {
        let reads: Vec<&OpRecord> = shard
            .history
            .iter()
            .filter(|op| is_index_read(op))
            .collect();
        if reads.is_empty() {
            return;
        }
        let (installs, deletes) = installs(shard);
        let mut examples = Vec::new();
        for op in reads {
            self.index_reads += 1;
            let read = op.read.as_ref().expect("index reads carry what they read");
            let key_installs = region_key_installs(&installs, op.region, op.key);
            let observes =
                |x: Stamp| index.observes(op.key, read, x, deletes.contains(&(op.key, x)));
            if index.is_garbage(op.key, read) {
                self.garbage += 1;
                examples.push(self.example(shard, op, read, "a value no write produced"));
                continue;
            }
            // The first version installed by the read's start that the read does not show.
            let missed = key_installs
                .iter()
                .take_while(|(_, _, at, _)| *at <= op.invoke_us)
                .find(|(_, _, _, stamp)| !observes(*stamp));
            let Some(&(_, _, missed_at_us, _)) = missed else {
                continue;
            };
            self.stale_reads += 1;
            let staleness_us = op.invoke_us - missed_at_us;
            self.staleness_us.saturating_record(staleness_us.max(1));
            if staleness_us > self.bound_us {
                self.beyond_bound += 1;
                let what = format!(
                    "a version older than the table held {} before (installed {} before the read)",
                    d::duration(self.bound_us),
                    d::duration(staleness_us)
                );
                examples.push(self.example(shard, op, read, &what));
            }
        }
        keep_first(&mut self.examples, examples, self.examples_max);
    }

    fn example(
        &self,
        run: &RunOutput,
        op: &OpRecord,
        read: &ReadValue,
        what: &str,
    ) -> ((KeyRef, u64, dynasim_core::history::HistoryOrder), String) {
        (
            (op.key, op.invoke_us, op.history_order()),
            format!(
                "{} index query op {} in {} at {} returned {}: {what}",
                d::key(op.key),
                op.id,
                d::region(run, op.region),
                d::time(op.invoke_us),
                crate::reads::describe_read(run, read),
            ),
        )
    }

    /// `None` when the run made no index query.
    pub(crate) fn finish(self) -> Option<IndexReadSummary> {
        if self.index_reads == 0 {
            return None;
        }
        let ms = |us: u64| us as f64 / 1_000.0;
        let h = &self.staleness_us;
        let quantile = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                ms(h.value_at_quantile(q))
            }
        };
        Some(IndexReadSummary {
            index_reads: self.index_reads,
            stale_reads: self.stale_reads,
            staleness_ms_p50: quantile(0.5),
            staleness_ms_p99: quantile(0.99),
            staleness_ms_max: if h.is_empty() { 0.0 } else { ms(h.max()) },
            bound_us: self.bound_us,
            beyond_bound: self.beyond_bound,
            garbage: self.garbage,
            examples: crate::tally::sentences(self.examples),
        })
    }
}

fn is_index_read(op: &OpRecord) -> bool {
    op.kind == OpKind::IndexQuery && op.result == OpResult::Ok && op.read.is_some()
}

/// Every version installed in some region, sorted by (region, key, time), and the
/// stamps that are deletes.
fn installs(run: &RunOutput) -> (Vec<Install>, BTreeSet<(KeyRef, Stamp)>) {
    let mut out: Vec<Install> = Vec::new();
    let mut deletes = BTreeSet::new();
    for op in &run.history {
        let Some(w) = &op.written else { continue };
        if w.value.is_none() {
            deletes.insert((op.key, w.stamp));
        }
        if op.result == OpResult::Ok {
            out.push((op.region, op.key, op.complete_us, w.stamp));
        }
    }
    for a in run.applies.iter().filter(|a| a.lost_to.is_none()) {
        out.push((a.region, a.key, a.at_us, a.stamp));
    }
    out.sort_unstable();
    (out, deletes)
}

/// The installs of `key` in `region`, in time order.
fn region_key_installs(installs: &[Install], region: RegionId, key: KeyRef) -> &[Install] {
    let from = installs.partition_point(|i| (i.0, i.1) < (region, key));
    let to = installs.partition_point(|i| (i.0, i.1) <= (region, key));
    &installs[from..to]
}
