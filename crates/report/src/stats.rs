//! Percentiles and time series computed from a run's history, for summaries and plots.

use dynasim_core::history::{OpResult, RunOutput};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latency or lag percentiles in milliseconds, with the sample count.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
    Percentiles {
        count: h.len(),
        p50_ms: ms(h.value_at_quantile(0.5)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        p999_ms: ms(h.value_at_quantile(0.999)),
        max_ms: ms(h.max()),
    }
}

/// Latency of successful ops per `region/op`.
pub fn latency(run: &RunOutput) -> BTreeMap<String, Percentiles> {
    let mut by: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for op in run.history.iter().filter(|op| op.is_client()) {
        if op.result != OpResult::Ok {
            continue;
        }
        let key = format!(
            "{}/{}",
            run.region_names[op.region.0 as usize],
            op.kind.name()
        );
        let _ = by
            .entry(key)
            .or_insert_with(histogram)
            .record(op.latency_us().max(1));
    }
    by.iter()
        .map(|(k, h)| (k.clone(), percentiles(h)))
        .collect()
}

/// Replication lag per `source->destination` from applied remote writes.
pub fn replication_lag(run: &RunOutput) -> BTreeMap<String, Percentiles> {
    let mut by: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for a in &run.applies {
        let key = format!(
            "{}->{}",
            run.region_names[a.stamp.region.0 as usize], run.region_names[a.region.0 as usize]
        );
        let _ = by
            .entry(key)
            .or_insert_with(histogram)
            .record(a.at_us.saturating_sub(a.written_at_us).max(1));
    }
    by.iter()
        .map(|(k, h)| (k.clone(), percentiles(h)))
        .collect()
}

/// Op counts by `kind/result`.
pub fn op_counts(run: &RunOutput) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    // A transaction is one op however many items it recorded.
    for op in run
        .history
        .iter()
        .filter(|op| op.txn.is_none_or(|t| t.index == 0))
    {
        let result = match &op.result {
            OpResult::Ok => "ok".to_string(),
            OpResult::Failed(e) => e.clone(),
            OpResult::Unknown => "unknown".to_string(),
        };
        *counts
            .entry(format!("{}/{result}", op.kind.name()))
            .or_insert(0) += 1;
    }
    counts
}

/// Per-second buckets: `f(bucket histograms)` for each series key.
pub fn latency_series(run: &RunOutput, quantile: f64) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut buckets: BTreeMap<String, BTreeMap<u64, Histogram<u64>>> = BTreeMap::new();
    for op in run.history.iter().filter(|op| op.is_client()) {
        if op.result != OpResult::Ok {
            continue;
        }
        let region = &run.region_names[op.region.0 as usize];
        let second = op.complete_us / 1_000_000;
        let _ = buckets
            .entry(region.clone())
            .or_default()
            .entry(second)
            .or_insert_with(histogram)
            .record(op.latency_us().max(1));
    }
    buckets
        .into_iter()
        .map(|(k, b)| {
            (
                k,
                b.iter()
                    .map(|(s, h)| (*s as f64, h.value_at_quantile(quantile) as f64 / 1000.0))
                    .collect(),
            )
        })
        .collect()
}

pub fn lag_series(run: &RunOutput, quantile: f64) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut buckets: BTreeMap<String, BTreeMap<u64, Histogram<u64>>> = BTreeMap::new();
    for a in &run.applies {
        let key = format!(
            "{}->{}",
            run.region_names[a.stamp.region.0 as usize], run.region_names[a.region.0 as usize]
        );
        let _ = buckets
            .entry(key)
            .or_default()
            .entry(a.at_us / 1_000_000)
            .or_insert_with(histogram)
            .record(a.at_us.saturating_sub(a.written_at_us).max(1));
    }
    buckets
        .into_iter()
        .map(|(k, b)| {
            (
                k,
                b.iter()
                    .map(|(s, h)| (*s as f64, h.value_at_quantile(quantile) as f64 / 1000.0))
                    .collect(),
            )
        })
        .collect()
}

/// Ops per second: ok, throttled, other errors, unknown.
pub fn throughput_series(run: &RunOutput) -> BTreeMap<String, Vec<(f64, f64)>> {
    let seconds = (run.duration_us / 1_000_000 + 1) as usize;
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for name in ["ok", "throttled", "errors", "unknown"] {
        series.insert(name.to_string(), vec![0.0; seconds]);
    }
    for op in run.history.iter().filter(|op| op.is_client()) {
        let s = ((op.complete_us / 1_000_000) as usize).min(seconds - 1);
        let name = match &op.result {
            OpResult::Ok => "ok",
            OpResult::Failed(e) if e.contains("Throughput") || e.contains("Throttling") => {
                "throttled"
            }
            OpResult::Failed(_) => "errors",
            OpResult::Unknown => "unknown",
        };
        series.get_mut(name).expect("series exists")[s] += 1.0;
    }
    series
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                v.into_iter()
                    .enumerate()
                    .map(|(i, c)| (i as f64, c))
                    .collect(),
            )
        })
        .collect()
}

/// Provisioned and consumed capacity units per second, per region, table (or GSI) and dimension:
/// `"<region> <table> write provisioned"` and `"... write consumed"` (provisioned only for
/// provisioned-mode tables; dimensions that consumed nothing are left out).
pub fn capacity_series(
    scenario: &dynasim_scenario::Scenario,
    run: &RunOutput,
) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut used: BTreeMap<String, bool> = BTreeMap::new();
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for s in &run.capacity {
        let region = &run.region_names[s.region.0 as usize];
        let t = s.at_us as f64 / 1e6;
        for (dimension, provisioned, consumed) in [
            ("write", s.provisioned_write_units, s.consumed_write_per_s),
            ("read", s.provisioned_read_units, s.consumed_read_per_s),
        ] {
            let table = scenario
                .tables
                .get(s.table)
                .map_or("?", |t| t.name.as_str());
            // A GSI's series are named `<table>.<index>`, beside its table's.
            let name = match &s.index {
                None => format!("{region} {table} {dimension}"),
                Some(index) => format!("{region} {table}.{index} {dimension}"),
            };
            *used.entry(name.clone()).or_default() |= consumed > 0.0;
            if !s.on_demand {
                series
                    .entry(format!("{name} provisioned"))
                    .or_default()
                    .push((t, provisioned));
            }
            series
                .entry(format!("{name} consumed"))
                .or_default()
                .push((t, consumed));
        }
    }
    series.retain(|name, _| {
        let base = name.rsplit_once(' ').map_or(name.as_str(), |(b, _)| b);
        used.get(base).copied().unwrap_or(false)
    });
    series
}
