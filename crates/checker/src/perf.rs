//! Performance assertions: latency and replication-lag quantiles (hdrhistogram, three
//! significant digits), throttle ratio and availability.
//!
//! Definitions (the report's README states them too):
//! - Latency of an op is `complete_us - invoke_us`, retries and backoff included (ER-02), over ops
//!   that got an answer (`Ok` or `Failed`); `Unknown` ops have no latency, only the
//!   client's timeout, and count against availability instead. An op is in a window when
//!   it was invoked inside the phase and `[invoke, complete]` overlaps no excluded fault.
//! - Replication lag of an apply is `at_us - written_at_us` (origin write to remote apply,
//!   applied or discarded alike, as CloudWatch's `ReplicationLatency`, GT-11), per
//!   (origin = stamp region, destination) pair; windows
//!   look at `[written_at_us, at_us]`.
//! - Throttle ratio = throttled ops / ops, where an op is throttled when it ended with a
//!   throttling error (`ProvisionedThroughputExceededException`, `ThrottlingException`,
//!   `RequestLimitExceeded`) or needed more than one attempt (the history does not keep
//!   per-attempt errors and clients retry only throttles, 5xx and timeouts, so this is an
//!   upper bound on absorbed throttling).
//! - Availability = available ops / ops, where available means `Ok` or a client-side
//!   answer that proves the service worked (`ConditionalCheckFailedException`,
//!   `TransactionCanceledException`, `ValidationException`); timeouts, 5xx, exhausted
//!   throttling and missing tables are unavailable.

use crate::describe as d;
use crate::report::{Status, Verdict};
use crate::tally::{Ordered, keep_first, sentences};
use crate::window::TimeWindow;
use dynasim_core::RegionId;
use dynasim_core::history::{OpKind, OpRecord, OpResult, RunOutput};
use hdrhistogram::Histogram;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// Three significant digits: quantiles are exact to 0.1 %. Auto-resizing.
fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("three significant digits is a valid histogram precision")
}

fn record(h: &mut Histogram<u64>, value_us: u64) {
    h.record(value_us)
        .expect("an auto-resizing histogram takes any value");
}

pub(crate) fn is_throttle(error: &str) -> bool {
    matches!(
        error,
        "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded"
    )
}

pub(crate) fn is_available(result: &OpResult) -> bool {
    match result {
        OpResult::Ok => true,
        OpResult::Failed(e) => matches!(
            e.as_str(),
            "ConditionalCheckFailedException"
                | "TransactionCanceledException"
                | "ValidationException"
        ),
        OpResult::Unknown => false,
    }
}

/// Client ops of `region` (all regions if `None`) inside `window`; the service's own
/// TTL deletes are no client's latency, throughput or availability.
fn in_scope(op: &OpRecord, region: Option<RegionId>, window: &TimeWindow) -> bool {
    op.is_client()
        && region.is_none_or(|r| op.region == r)
        && window.admits(op.invoke_us, op.complete_us)
}

/// A verdict before it gets its name.
pub(crate) struct Measured {
    pub status: Status,
    pub observed: String,
    pub observed_value: Option<f64>,
    pub bound: String,
    pub evidence: Vec<String>,
}

impl Measured {
    pub(crate) fn named(self, assertion: String, index: Option<usize>) -> Verdict {
        Verdict {
            assertion,
            index,
            status: self.status,
            observed: self.observed,
            observed_value: self.observed_value,
            bound: self.bound,
            evidence: self.evidence,
        }
    }

    fn no_samples(bound: String, what: &str) -> Measured {
        Measured {
            status: Status::Unknown,
            observed: "no samples".to_string(),
            observed_value: None,
            bound,
            evidence: vec![format!("no {what} in the window, so nothing to judge")],
        }
    }
}

/// Latency quantile of one op kind, observed shard by shard.
pub(crate) struct Latency {
    kind: OpKind,
    region: Option<RegionId>,
    quantile: f64,
    max_us: u64,
    window: TimeWindow,
    examples_max: usize,
    h: Histogram<u64>,
    /// The slowest ops over the bound, slowest first (ties by op id).
    slow: Ordered<(Reverse<u64>, u64)>,
}

impl Latency {
    pub(crate) fn new(
        kind: OpKind,
        region: Option<RegionId>,
        (quantile, max_us): (f64, u64),
        window: TimeWindow,
        examples_max: usize,
    ) -> Latency {
        Latency {
            kind,
            region,
            quantile,
            max_us,
            window,
            examples_max,
            h: histogram(),
            slow: Vec::new(),
        }
    }

    pub(crate) fn observe(&mut self, run: &RunOutput) {
        let mut slow: Vec<&OpRecord> = Vec::new();
        for op in &run.history {
            if op.kind != self.kind
                || op.result == OpResult::Unknown
                || !in_scope(op, self.region, &self.window)
            {
                continue;
            }
            record(&mut self.h, op.latency_us());
            if op.latency_us() > self.max_us {
                slow.push(op);
            }
        }
        slow.sort_by_key(|op| (Reverse(op.latency_us()), op.id));
        let slowest = slow.iter().take(self.examples_max).map(|op| {
            let text = format!(
                "{} op {} in {} took {} (invoked at {}, {} attempt(s))",
                op.kind.name(),
                op.id,
                d::region(run, op.region),
                d::duration(op.latency_us()),
                d::time(op.invoke_us),
                op.attempts
            );
            ((Reverse(op.latency_us()), op.id), text)
        });
        keep_first(&mut self.slow, slowest.collect(), self.examples_max);
    }

    pub(crate) fn finish(self) -> Measured {
        let (h, quantile, max_us) = (&self.h, self.quantile, self.max_us);
        let bound = format!("<= {}", d::duration(max_us));
        if h.is_empty() {
            return Measured::no_samples(bound, &format!("answered {} ops", self.kind.name()));
        }
        let observed = h.value_at_quantile(quantile);
        let mut evidence = vec![format!(
            "{} samples: p50 {}, {} {}, max {}",
            h.len(),
            d::duration(h.value_at_quantile(0.5)),
            d::quantile(quantile),
            d::duration(observed),
            d::duration(h.max())
        )];
        let status = if observed > max_us {
            evidence.extend(sentences(self.slow));
            Status::Fail
        } else {
            Status::Pass
        };
        Measured {
            status,
            observed: d::duration(observed),
            observed_value: Some(observed as f64),
            bound,
            evidence,
        }
    }
}

/// Replication-lag quantile over applies from `from` to `to` (`None`: any region),
/// observed shard by shard.
pub(crate) struct ReplicationLag {
    from: Option<RegionId>,
    to: Option<RegionId>,
    quantile: f64,
    max_us: u64,
    window: TimeWindow,
    pooled: Histogram<u64>,
    pairs: BTreeMap<(RegionId, RegionId), Histogram<u64>>,
}

impl ReplicationLag {
    pub(crate) fn new(
        (from, to): (Option<RegionId>, Option<RegionId>),
        quantile: f64,
        max_us: u64,
        window: TimeWindow,
    ) -> ReplicationLag {
        ReplicationLag {
            from,
            to,
            quantile,
            max_us,
            window,
            pooled: histogram(),
            pairs: BTreeMap::new(),
        }
    }

    pub(crate) fn observe(&mut self, run: &RunOutput) {
        for a in &run.applies {
            let origin = a.stamp.region;
            if self.from.is_some_and(|f| f != origin) || self.to.is_some_and(|t| t != a.region) {
                continue;
            }
            let end_us = a.at_us.max(a.written_at_us);
            if !self.window.admits(a.written_at_us, end_us) {
                continue;
            }
            let lag_us = end_us - a.written_at_us;
            record(&mut self.pooled, lag_us);
            record(
                self.pairs
                    .entry((origin, a.region))
                    .or_insert_with(histogram),
                lag_us,
            );
        }
    }

    pub(crate) fn finish(self, run: &RunOutput) -> Measured {
        let (pooled, quantile, max_us) = (&self.pooled, self.quantile, self.max_us);
        let bound = format!("<= {}", d::duration(max_us));
        if pooled.is_empty() {
            return Measured::no_samples(bound, "replication applies");
        }
        let observed = pooled.value_at_quantile(quantile);
        let mut evidence = vec![format!(
            "{} applies: {} {}, max {}",
            pooled.len(),
            d::quantile(quantile),
            d::duration(observed),
            d::duration(pooled.max())
        )];
        evidence.extend(self.pairs.iter().map(|((f, t), h)| {
            format!(
                "{} -> {}: {} applies, {} {}, max {}",
                d::region(run, *f),
                d::region(run, *t),
                h.len(),
                d::quantile(quantile),
                d::duration(h.value_at_quantile(quantile)),
                d::duration(h.max())
            )
        }));
        Measured {
            status: if observed > max_us {
                Status::Fail
            } else {
                Status::Pass
            },
            observed: d::duration(observed),
            observed_value: Some(observed as f64),
            bound,
            evidence,
        }
    }
}

/// Throttled ops / ops (see the module documentation), observed shard by shard.
pub(crate) struct ThrottleRatio {
    region: Option<RegionId>,
    max: f64,
    window: TimeWindow,
    ops: u64,
    failed: u64,
    retried: u64,
}

impl ThrottleRatio {
    pub(crate) fn new(region: Option<RegionId>, max: f64, window: TimeWindow) -> ThrottleRatio {
        ThrottleRatio {
            region,
            max,
            window,
            ops: 0,
            failed: 0,
            retried: 0,
        }
    }

    pub(crate) fn observe(&mut self, run: &RunOutput) {
        let scope = |op: &&OpRecord| in_scope(op, self.region, &self.window);
        for op in run.history.iter().filter(scope) {
            self.ops += 1;
            match &op.result {
                OpResult::Failed(e) if is_throttle(e) => self.failed += 1,
                _ if op.attempts > 1 => self.retried += 1,
                _ => {}
            }
        }
    }

    pub(crate) fn finish(self, run: &RunOutput) -> Measured {
        let (ops, failed, retried) = (self.ops, self.failed, self.retried);
        let bound = format!("<= {}", d::ratio(self.max));
        if ops == 0 {
            return Measured::no_samples(bound, "ops");
        }
        let ratio = (failed + retried) as f64 / ops as f64;
        let attempt_throttles: u64 = match self.region {
            Some(r) => run
                .region_counters
                .get(usize::from(r.0))
                .map_or(0, |c| c.throttles),
            None => run.region_counters.iter().map(|c| c.throttles).sum(),
        };
        Measured {
            status: if ratio > self.max {
                Status::Fail
            } else {
                Status::Pass
            },
            observed: d::ratio(ratio),
            observed_value: Some(ratio),
            bound,
            evidence: vec![format!(
                "{ops} ops: {failed} ended throttled, {retried} more needed a retry; the service \
                 counted {attempt_throttles} throttled attempts over the whole run"
            )],
        }
    }
}

/// Available ops / ops (see the module documentation), observed shard by shard.
pub(crate) struct Availability {
    region: Option<RegionId>,
    min: f64,
    window: TimeWindow,
    examples_max: usize,
    ops: u64,
    failures: BTreeMap<String, u64>,
    /// The first unavailable ops in history order ((complete_us, op id)).
    first: Ordered<dynasim_core::history::HistoryOrder>,
}

impl Availability {
    pub(crate) fn new(
        region: Option<RegionId>,
        min: f64,
        window: TimeWindow,
        examples_max: usize,
    ) -> Availability {
        Availability {
            region,
            min,
            window,
            examples_max,
            ops: 0,
            failures: BTreeMap::new(),
            first: Vec::new(),
        }
    }

    pub(crate) fn observe(&mut self, run: &RunOutput) {
        let mut first = Vec::new();
        let scope = |op: &&OpRecord| in_scope(op, self.region, &self.window);
        for op in run.history.iter().filter(scope) {
            self.ops += 1;
            if is_available(&op.result) {
                continue;
            }
            let why = match &op.result {
                OpResult::Failed(e) => e.clone(),
                _ => "no answer (timeout or region unreachable)".to_string(),
            };
            *self.failures.entry(why).or_default() += 1;
            if first.len() < self.examples_max {
                let text = format!(
                    "{} op {} in {} at {}: {:?}",
                    op.kind.name(),
                    op.id,
                    d::region(run, op.region),
                    d::time(op.invoke_us),
                    op.result
                );
                first.push((op.history_order(), text));
            }
        }
        keep_first(&mut self.first, first, self.examples_max);
    }

    pub(crate) fn finish(self) -> Measured {
        let (ops, min) = (self.ops, self.min);
        let bound = format!(">= {}", d::ratio(min));
        if ops == 0 {
            return Measured::no_samples(bound, "ops");
        }
        let unavailable: u64 = self.failures.values().sum();
        let ratio = (ops - unavailable) as f64 / ops as f64;
        let mut evidence = vec![format!("{ops} ops, {unavailable} unavailable")];
        evidence.extend(self.failures.iter().map(|(why, n)| format!("{n} x {why}")));
        let status = if ratio < min {
            evidence.extend(sentences(self.first));
            Status::Fail
        } else {
            Status::Pass
        };
        Measured {
            status,
            observed: d::ratio(ratio),
            observed_value: Some(ratio),
            bound,
            evidence,
        }
    }
}
