//! Percentiles and time series computed from a run's history, for summaries and plots.

use dynasim_core::history::{ApplyRecord, OpRecord, OpResult, RunOutput};
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

/// Whole-run statistics of the history, gathered in one pass over the ops (in history
/// order) and one over the applies (in the order they happened), so a run whose history
/// is on disk streams through it: per-second series close a second's histograms as soon
/// as the stream has passed it, and nothing else grows with the run's length but the
/// series' points.
pub struct HistoryStats {
    region_names: Vec<String>,
    seconds: usize,
    latency: BTreeMap<String, Histogram<u64>>,
    lag: BTreeMap<String, Histogram<u64>>,
    op_counts: BTreeMap<String, u64>,
    client_ops: u64,
    service_ops: u64,
    applies: u64,
    /// Per region: (p50, p99) latency per second, in ms.
    latency_series: BTreeMap<String, (Points, Points)>,
    latency_second: Open,
    /// Per region pair: p99 lag per second, in ms.
    lag_series: BTreeMap<String, Vec<(f64, f64)>>,
    lag_second: Open,
    throughput: BTreeMap<String, Vec<f64>>,
}

/// A series' points: (second, value).
pub type Points = Vec<(f64, f64)>;

/// The histograms of the second the stream is in: (second, per series).
type Open = Option<(u64, BTreeMap<String, Histogram<u64>>)>;

impl HistoryStats {
    /// Empty statistics of `run` (its names and duration; its history is not read).
    pub fn new(run: &RunOutput) -> HistoryStats {
        let seconds = (run.duration_us / 1_000_000 + 1) as usize;
        let throughput = ["ok", "throttled", "errors", "unknown"]
            .into_iter()
            .map(|name| (name.to_string(), vec![0.0; seconds]))
            .collect();
        HistoryStats {
            region_names: run.region_names.clone(),
            seconds,
            latency: BTreeMap::new(),
            lag: BTreeMap::new(),
            op_counts: BTreeMap::new(),
            client_ops: 0,
            service_ops: 0,
            applies: 0,
            latency_series: BTreeMap::new(),
            latency_second: None,
            lag_series: BTreeMap::new(),
            lag_second: None,
            throughput,
        }
    }

    /// The statistics of a run whose history is in memory.
    pub fn of(run: &RunOutput) -> HistoryStats {
        let mut stats = HistoryStats::new(run);
        run.history.iter().for_each(|op| stats.op(op));
        run.applies.iter().for_each(|a| stats.apply(a));
        stats
    }

    /// The next op in history order (by completion time).
    pub fn op(&mut self, op: &OpRecord) {
        if op.txn.is_some_and(|t| t.index > 0) {
            return; // a transaction is one op however many items it recorded
        }
        let result = match &op.result {
            OpResult::Ok => "ok".to_string(),
            OpResult::Failed(e) => e.clone(),
            OpResult::Unknown => "unknown".to_string(),
        };
        *self
            .op_counts
            .entry(format!("{}/{result}", op.kind.name()))
            .or_insert(0) += 1;
        if !op.is_client() {
            self.service_ops += 1;
            return;
        }
        self.client_ops += 1;
        let second = op.complete_us / 1_000_000;
        let name = match &op.result {
            OpResult::Ok => "ok",
            OpResult::Failed(e) if e.contains("Throughput") || e.contains("Throttling") => {
                "throttled"
            }
            OpResult::Failed(_) => "errors",
            OpResult::Unknown => "unknown",
        };
        let slot = (second as usize).min(self.seconds - 1);
        self.throughput.get_mut(name).expect("series exists")[slot] += 1.0;
        if op.result != OpResult::Ok {
            return;
        }
        let region = self.region_names[op.region.0 as usize].clone();
        let latency_us = op.latency_us().max(1);
        let _ = self
            .latency
            .entry(format!("{region}/{}", op.kind.name()))
            .or_insert_with(histogram)
            .record(latency_us);
        let open = self.open_latency_second(second);
        let _ = open
            .entry(region)
            .or_insert_with(histogram)
            .record(latency_us);
    }

    /// The next replication apply, in the order they happened (by apply time).
    pub fn apply(&mut self, a: &ApplyRecord) {
        self.applies += 1;
        let key = format!(
            "{}->{}",
            self.region_names[a.stamp.region.0 as usize], self.region_names[a.region.0 as usize]
        );
        let lag_us = a.at_us.saturating_sub(a.written_at_us).max(1);
        let _ = self
            .lag
            .entry(key.clone())
            .or_insert_with(histogram)
            .record(lag_us);
        let open = self.open_lag_second(a.at_us / 1_000_000);
        let _ = open.entry(key).or_insert_with(histogram).record(lag_us);
    }

    /// The histograms of `second`, closing the second before it into the series.
    fn open_latency_second(&mut self, second: u64) -> &mut BTreeMap<String, Histogram<u64>> {
        debug_assert!(
            self.latency_second
                .as_ref()
                .is_none_or(|(s, _)| *s <= second),
            "ops come in history order"
        );
        if self
            .latency_second
            .as_ref()
            .is_some_and(|(s, _)| *s != second)
        {
            self.close_latency_second();
        }
        &mut self
            .latency_second
            .get_or_insert_with(|| (second, BTreeMap::new()))
            .1
    }

    fn close_latency_second(&mut self) {
        let Some((second, open)) = self.latency_second.take() else {
            return;
        };
        for (region, h) in open {
            let (p50, p99) = self.latency_series.entry(region).or_default();
            p50.push(point(second, &h, 0.5));
            p99.push(point(second, &h, 0.99));
        }
    }

    fn open_lag_second(&mut self, second: u64) -> &mut BTreeMap<String, Histogram<u64>> {
        debug_assert!(
            self.lag_second.as_ref().is_none_or(|(s, _)| *s <= second),
            "applies come in the order they happened"
        );
        if self.lag_second.as_ref().is_some_and(|(s, _)| *s != second) {
            self.close_lag_second();
        }
        &mut self
            .lag_second
            .get_or_insert_with(|| (second, BTreeMap::new()))
            .1
    }

    fn close_lag_second(&mut self) {
        let Some((second, open)) = self.lag_second.take() else {
            return;
        };
        for (pair, h) in open {
            let series = self.lag_series.entry(pair).or_default();
            series.push(point(second, &h, 0.99));
        }
    }

    /// Latency of successful client ops per `region/op`.
    pub fn latency(&self) -> BTreeMap<String, Percentiles> {
        percentiles_of(&self.latency)
    }

    /// Replication lag per `source->destination` from applied remote writes.
    pub fn replication_lag(&self) -> BTreeMap<String, Percentiles> {
        percentiles_of(&self.lag)
    }

    /// Op counts by `kind/result`.
    pub fn op_counts(&self) -> &BTreeMap<String, u64> {
        &self.op_counts
    }

    pub fn client_ops(&self) -> u64 {
        self.client_ops
    }

    /// The service's own writes (TTL deletes).
    pub fn service_ops(&self) -> u64 {
        self.service_ops
    }

    pub fn applies(&self) -> u64 {
        self.applies
    }

    /// Per-second (p50, p99) latency series per region, in ms.
    pub fn latency_series(&mut self) -> &BTreeMap<String, (Points, Points)> {
        self.close_latency_second();
        &self.latency_series
    }

    /// Per-second p99 lag series per region pair, in ms.
    pub fn lag_series(&mut self) -> &BTreeMap<String, Vec<(f64, f64)>> {
        self.close_lag_second();
        &self.lag_series
    }

    /// Client ops per second: ok, throttled, other errors, unknown.
    pub fn throughput_series(&self) -> BTreeMap<String, Vec<(f64, f64)>> {
        self.throughput
            .iter()
            .map(|(k, v)| {
                let points = v.iter().enumerate().map(|(i, c)| (i as f64, *c)).collect();
                (k.clone(), points)
            })
            .collect()
    }
}

/// One point of a per-second series: (second, quantile in ms).
fn point(second: u64, h: &Histogram<u64>, quantile: f64) -> (f64, f64) {
    (second as f64, h.value_at_quantile(quantile) as f64 / 1000.0)
}

fn percentiles_of(by: &BTreeMap<String, Histogram<u64>>) -> BTreeMap<String, Percentiles> {
    by.iter()
        .map(|(k, h)| (k.clone(), percentiles(h)))
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
