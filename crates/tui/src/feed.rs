//! Metric snapshots in, dashboard state out. The simulation thread sends a [`Snapshot`]
//! (what happened since the previous one, plus gauges); the [`Feed`] keeps the sliding
//! windows (hdrhistogram per simulated second) and writes the figures into the
//! [`DashboardState`]. It never talks back to the simulation.

use crate::state::{
    AssertionRow, CapacityRow, Check, ConsumerRow, DashboardState, Lag, LatencyRow, LatencySeries,
    LogKind, LogLine, RegionRow, RunState, Speed, Stream, Window,
};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, VecDeque};

/// Latency and lag values are recorded up to this (larger values are clamped).
const VALUE_US_MAX: u64 = 600_000_000;
/// Seconds of history kept for the sparklines.
const SERIES_S_MAX: u64 = 240;
/// Lines kept in the event log.
const EVENTS_MAX: usize = 500;
/// Auto scaling actions marked on the timeline (a run scales a few times per table).
const SCALING_MARKS_MAX: usize = 1_000;

/// What does not change during a run: sent once, before the first snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    pub scenario: String,
    pub seed: u64,
    pub total_us: u64,
    /// Region names with their three AZ names, indexed by region id.
    pub regions: Vec<(String, Vec<String>)>,
    /// Op type names, indexed like [`OpSample::op`].
    pub ops: Vec<String>,
    pub phases: Vec<Window>,
    pub faults: Vec<Window>,
    /// The scenario's assertions in file order.
    pub assertions: Vec<LiveAssertion>,
    /// Width of the latency and lag windows, in simulated seconds.
    pub window_s: u64,
    pub speed: Speed,
}

/// An assertion and how the dashboard estimates it while the run goes on.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveAssertion {
    pub name: String,
    pub rule: Rule,
}

/// Which regions a live rule pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Each,
    One(u16),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Replication catches up within `within_us` of the fault's heal (`heal_us: None`: the
    /// fault lasts to the end). Estimated from the backlog; the checker decides at the end.
    ConvergedAfter {
        fault_start_us: u64,
        heal_us: Option<u64>,
        within_us: u64,
    },
    Latency {
        op: Option<u8>,
        scope: Scope,
        quantile: f64,
        max_us: u64,
        during: Option<(u64, u64)>,
        exclude_faults: bool,
    },
    Lag {
        from: Option<u16>,
        to: Option<u16>,
        quantile: f64,
        max_us: u64,
        exclude_faults: bool,
    },
    /// Only the checker can say (lost writes, reads, LWW classification, ...).
    AtEnd,
}

/// One completed client operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpSample {
    pub region: u16,
    pub op: u8,
    pub complete_us: u64,
    pub latency_us: u64,
}

/// One replication apply: a write from `from` reached `to` after `lag_us`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LagSample {
    pub from: u16,
    pub to: u16,
    pub at_us: u64,
    pub lag_us: u64,
}

/// A region's gauges and cumulative counters at the snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegionGauge {
    pub down: bool,
    pub az_up: Vec<bool>,
    pub cut_off_from: Vec<u16>,
    pub clock_offset_us: i64,
    pub ops: u64,
    pub throttles: u64,
    pub dax_hits: u64,
    pub dax_misses: u64,
    /// Partition leaders elected after their AZ failed, so far.
    pub leader_elections: u64,
}

/// What the simulation hands the dashboard: deltas since the previous snapshot, gauges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub now_us: u64,
    /// Real seconds since the run started (display only).
    pub real_s: f64,
    pub paused: bool,
    pub ops: Vec<OpSample>,
    pub lags: Vec<LagSample>,
    pub regions: Vec<RegionGauge>,
    /// `backlog[from][to]`: entries `from` has not had acknowledged by `to`.
    pub backlog: Vec<Vec<u64>>,
    pub lww_overwrites: u64,
    /// Remote writes applied before an earlier write of their origin (GT-09), so far.
    pub applied_out_of_order: u64,
    pub agreement: Option<(u64, u64)>,
    pub active_faults: Vec<String>,
    pub events: Vec<LogLine>,
    /// Every stream consumer's counters and lag now.
    pub consumers: Vec<ConsumerRow>,
    /// Provisioned tables' latest capacity sample; `None` when no new sample was taken.
    pub capacity: Option<Vec<CapacityRow>>,
}

/// The end of the run: the checker's verdicts by assertion index.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub verdicts: Vec<(usize, Check, String)>,
    /// Failed always-on checks (lost writes, divergence, ...), one line each.
    pub findings: Vec<String>,
    pub verdict: String,
}

/// A message from the simulation thread.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    Snapshot(Box<Snapshot>),
    Finished(Finished),
}

type Windowed = BTreeMap<u64, Histogram<u64>>;

/// Keeps the windows; turns snapshots into dashboard figures.
pub struct Feed {
    setup: Setup,
    latency: BTreeMap<(u16, u8), Windowed>,
    /// Per region: the open seconds' histograms, and the p99 of each closed second.
    series: Vec<Windowed>,
    series_p99: Vec<BTreeMap<u64, u64>>,
    lag: BTreeMap<(u16, u16), Windowed>,
    /// Per assertion, per pooled region (`u16::MAX` for all), over the whole run.
    totals: Vec<BTreeMap<u16, Histogram<u64>>>,
    /// (simulated time, per region: ops, throttles, DAX hits, DAX misses).
    rates: VecDeque<(u64, Vec<[u64; 4]>)>,
    throttling: Vec<bool>,
    leader_elections: Vec<u64>,
    /// Per assertion: backlog before the fault, at the heal, and when it caught up.
    convergence: Vec<(Option<u64>, Option<u64>, Option<u64>)>,
    /// The latest snapshot's simulated second and cut links (for [`Feed::refresh`]).
    now_s: u64,
    cut_off_from: Vec<Vec<u16>>,
    /// Snapshots arrived since the windowed figures were last computed.
    stale: bool,
}

impl Feed {
    pub fn new(setup: Setup) -> Feed {
        let n = setup.regions.len();
        Feed {
            totals: vec![BTreeMap::new(); setup.assertions.len()],
            convergence: vec![(None, None, None); setup.assertions.len()],
            series: vec![BTreeMap::new(); n],
            series_p99: vec![BTreeMap::new(); n],
            throttling: vec![false; n],
            leader_elections: vec![0; n],
            latency: BTreeMap::new(),
            lag: BTreeMap::new(),
            rates: VecDeque::new(),
            now_s: 0,
            cut_off_from: Vec::new(),
            stale: false,
            setup,
        }
    }

    /// The dashboard before the first snapshot.
    pub fn initial_state(&self) -> DashboardState {
        let s = &self.setup;
        let mut state = DashboardState::new(&s.scenario, s.seed, s.total_us);
        state.speed = s.speed;
        state.latency_window_s = s.window_s;
        state.phases = s.phases.clone();
        state.faults = s.faults.clone();
        state.peer = usize::from(s.regions.len() > 1);
        state.regions = s
            .regions
            .iter()
            .map(|(name, azs)| RegionRow {
                name: name.clone(),
                azs: azs.iter().map(|a| (a.clone(), true)).collect(),
                ..RegionRow::default()
            })
            .collect();
        state.lag = vec![vec![Lag::None; s.regions.len()]; s.regions.len()];
        state.assertions = s
            .assertions
            .iter()
            .map(|a| AssertionRow {
                name: a.name.clone(),
                check: match a.rule {
                    Rule::ConvergedAfter { .. } => Check::WaitingForHeal,
                    _ => Check::AtEnd,
                },
                detail: String::new(),
            })
            .collect();
        state
    }

    pub fn apply(&mut self, state: &mut DashboardState, update: Update) {
        match update {
            Update::Snapshot(snapshot) => self.snapshot(state, &snapshot),
            Update::Finished(finished) => self.finished(state, finished),
        }
    }

    /// Compute the windowed percentiles (latency table, sparklines, lag matrix) from the
    /// snapshots applied so far. Separate from [`Feed::apply`] because it merges every
    /// window: the terminal loop calls it before a frame, a few times per second at most.
    pub fn refresh(&mut self, state: &mut DashboardState) {
        if !self.stale {
            return;
        }
        self.stale = false;
        self.latency_figures(state, self.now_s);
        self.lag_figures(state);
    }

    fn snapshot(&mut self, state: &mut DashboardState, snap: &Snapshot) {
        assert!(
            snap.now_us >= state.now_us,
            "snapshots arrive in time order"
        );
        state.now_us = snap.now_us;
        if snap.real_s > 0.0 {
            state.measured_x = Some(snap.now_us as f64 / 1e6 / snap.real_s);
        }
        if matches!(state.run, RunState::Running | RunState::Paused) {
            state.run = if snap.paused {
                RunState::Paused
            } else {
                RunState::Running
            };
        }
        state.active_faults = snap.active_faults.clone();
        state.lww_overwrites = snap.lww_overwrites;
        state.applied_out_of_order = snap.applied_out_of_order;
        if snap.agreement.is_some() {
            state.agreement = snap.agreement;
        }
        for sample in &snap.ops {
            self.record_op(sample);
        }
        for sample in &snap.lags {
            self.record_lag(sample);
        }
        let now_s = snap.now_us / 1_000_000;
        self.expire(now_s);
        self.regions(state, snap);
        self.now_s = now_s;
        self.cut_off_from = snap
            .regions
            .iter()
            .map(|g| g.cut_off_from.clone())
            .collect();
        self.stale = true;
        self.streams(state, snap);
        state.consumers = snap.consumers.clone();
        if let Some(capacity) = &snap.capacity {
            state.capacity = capacity.clone();
        }
        for line in &snap.events {
            if line.kind == LogKind::Scaling && state.scaling_us.len() < SCALING_MARKS_MAX {
                state.scaling_us.push(line.at_us);
            }
            push_event(state, line.clone());
        }
        self.assertions(state, snap);
    }

    fn record_op(&mut self, s: &OpSample) {
        let second = s.complete_us / 1_000_000;
        let bucket = self
            .latency
            .entry((s.region, s.op))
            .or_default()
            .entry(second)
            .or_insert_with(histogram);
        bucket.saturating_record(s.latency_us);
        if let Some(series) = self.series.get_mut(s.region as usize) {
            series
                .entry(second)
                .or_insert_with(histogram)
                .saturating_record(s.latency_us);
        }
        let invoke_us = s.complete_us.saturating_sub(s.latency_us);
        for (i, a) in self.setup.assertions.iter().enumerate() {
            let Rule::Latency {
                op,
                scope,
                during,
                exclude_faults,
                ..
            } = &a.rule
            else {
                continue;
            };
            let pooled = match scope {
                Scope::All => u16::MAX,
                Scope::Each => s.region,
                Scope::One(r) if *r == s.region => u16::MAX,
                Scope::One(_) => continue,
            };
            let in_phase = during.is_none_or(|(from, to)| invoke_us >= from && invoke_us < to);
            let faulted =
                *exclude_faults && overlaps_fault(&self.setup.faults, invoke_us, s.complete_us);
            if op.is_none_or(|o| o == s.op) && in_phase && !faulted {
                self.totals[i]
                    .entry(pooled)
                    .or_insert_with(histogram)
                    .saturating_record(s.latency_us);
            }
        }
    }

    fn record_lag(&mut self, s: &LagSample) {
        self.lag
            .entry((s.from, s.to))
            .or_default()
            .entry(s.at_us / 1_000_000)
            .or_insert_with(histogram)
            .saturating_record(s.lag_us);
        let written_us = s.at_us.saturating_sub(s.lag_us);
        for (i, a) in self.setup.assertions.iter().enumerate() {
            let Rule::Lag {
                from,
                to,
                exclude_faults,
                ..
            } = &a.rule
            else {
                continue;
            };
            let faulted =
                *exclude_faults && overlaps_fault(&self.setup.faults, written_us, s.at_us);
            if from.is_none_or(|f| f == s.from) && to.is_none_or(|t| t == s.to) && !faulted {
                self.totals[i]
                    .entry(u16::MAX)
                    .or_insert_with(histogram)
                    .saturating_record(s.lag_us);
            }
        }
    }

    /// Drop buckets older than the windows.
    fn expire(&mut self, now_s: u64) {
        let keep_from = (now_s + 1).saturating_sub(self.setup.window_s);
        for w in self.latency.values_mut().chain(self.lag.values_mut()) {
            *w = w.split_off(&keep_from);
        }
        // Closed seconds keep only their p99 (computed once, not on every snapshot).
        let series_from = now_s.saturating_sub(SERIES_S_MAX);
        for (open, closed) in self.series.iter_mut().zip(&mut self.series_p99) {
            let still_open = open.split_off(&now_s);
            for (second, h) in std::mem::replace(open, still_open) {
                closed.insert(second, h.value_at_quantile(0.99));
            }
            *closed = closed.split_off(&series_from);
        }
    }

    fn regions(&mut self, state: &mut DashboardState, snap: &Snapshot) {
        let counters: Vec<[u64; 4]> = snap
            .regions
            .iter()
            .map(|g| [g.ops, g.throttles, g.dax_hits, g.dax_misses])
            .collect();
        self.rates.push_back((snap.now_us, counters.clone()));
        // Rates over at least the last simulated second.
        while self.rates.len() > 2 && self.rates[1].0 + 1_000_000 <= snap.now_us {
            self.rates.pop_front();
        }
        let (then_us, before) = self.rates.front().cloned().unwrap_or_default();
        let elapsed_s = (snap.now_us.saturating_sub(then_us)) as f64 / 1e6;
        let mut logs = Vec::new();
        for (r, gauge) in snap.regions.iter().enumerate() {
            let Some(row) = state.regions.get_mut(r) else {
                continue;
            };
            let delta = |k: usize| counters[r][k].saturating_sub(before.get(r).map_or(0, |b| b[k]));
            let per_s = |k: usize| {
                if elapsed_s > 0.0 {
                    delta(k) as f64 / elapsed_s
                } else {
                    0.0
                }
            };
            row.down = gauge.down;
            for (az, up) in row.azs.iter_mut().zip(&gauge.az_up) {
                az.1 = *up;
            }
            row.cut_off_from = gauge
                .cut_off_from
                .iter()
                .filter_map(|p| self.setup.regions.get(*p as usize).map(|r| r.0.clone()))
                .collect();
            row.clock_offset_us = gauge.clock_offset_us;
            row.ops_per_s = per_s(0);
            row.throttles_per_s = per_s(1);
            let lookups = delta(2) + delta(3);
            row.dax_hit_ratio = (lookups > 0).then(|| delta(2) as f64 / lookups as f64);
            if gauge.leader_elections > self.leader_elections[r] {
                let elected = gauge.leader_elections - self.leader_elections[r];
                self.leader_elections[r] = gauge.leader_elections;
                logs.push(LogLine {
                    at_us: snap.now_us,
                    kind: LogKind::Failover,
                    text: format!("{}: {elected} partition leader(s) failed over", row.name),
                });
            }
            // A throttling burst: more than 1% of requests throttled.
            let bursting = row.throttles_per_s > 1.0 && row.throttles_per_s > row.ops_per_s * 0.01;
            if bursting != self.throttling[r] {
                self.throttling[r] = bursting;
                let text = if bursting {
                    format!(
                        "throttling burst in {}: {:.0}/s",
                        row.name, row.throttles_per_s
                    )
                } else {
                    format!("throttling in {} ended", row.name)
                };
                logs.push(LogLine {
                    at_us: snap.now_us,
                    kind: LogKind::Throttle,
                    text,
                });
            }
        }
        for line in logs {
            push_event(state, line);
        }
    }

    fn latency_figures(&self, state: &mut DashboardState, now_s: u64) {
        state.latency = self
            .latency
            .iter()
            .filter_map(|((region, op), window)| {
                let h = merged(window.values())?;
                Some(LatencyRow {
                    region: self.region_name(*region),
                    op: self
                        .setup
                        .ops
                        .get(*op as usize)
                        .cloned()
                        .unwrap_or_else(|| format!("op{op}")),
                    count: h.len(),
                    p50_us: h.value_at_quantile(0.5),
                    p99_us: h.value_at_quantile(0.99),
                    p999_us: h.value_at_quantile(0.999),
                })
            })
            .collect();
        // One point per simulated second up to the last complete one.
        let first = now_s.saturating_sub(SERIES_S_MAX);
        state.latency_series = self
            .series_p99
            .iter()
            .enumerate()
            .map(|(r, closed)| LatencySeries {
                region: self.region_name(r as u16),
                p99_us: (first..now_s)
                    .map(|s| closed.get(&s).copied().unwrap_or(0))
                    .collect(),
            })
            .collect();
    }

    fn lag_figures(&self, state: &mut DashboardState) {
        let n = self.setup.regions.len();
        state.lag = (0..n)
            .map(|from| {
                (0..n)
                    .map(|to| {
                        if from == to {
                            return Lag::None;
                        }
                        let cut = self
                            .cut_off_from
                            .get(to)
                            .is_some_and(|c| c.contains(&(from as u16)));
                        if cut {
                            return Lag::Cut;
                        }
                        self.lag
                            .get(&(from as u16, to as u16))
                            .and_then(|w| merged(w.values()))
                            .map_or(Lag::None, |h| Lag::P99(h.value_at_quantile(0.99)))
                    })
                    .collect()
            })
            .collect();
    }

    fn streams(&self, state: &mut DashboardState, snap: &Snapshot) {
        state.streams = Vec::new();
        for (from, row) in snap.backlog.iter().enumerate() {
            for (to, backlog) in row.iter().enumerate() {
                if from != to {
                    state.streams.push(Stream {
                        from: self.region_name(from as u16),
                        to: self.region_name(to as u16),
                        backlog: *backlog,
                    });
                }
            }
        }
    }

    fn assertions(&mut self, state: &mut DashboardState, snap: &Snapshot) {
        let backlog: u64 = snap.backlog.iter().flatten().sum();
        for (i, a) in self.setup.assertions.iter().enumerate() {
            let Some(row) = state.assertions.get_mut(i) else {
                continue;
            };
            match &a.rule {
                Rule::ConvergedAfter {
                    fault_start_us,
                    heal_us,
                    within_us,
                } => {
                    let (before, at_heal, done) = &mut self.convergence[i];
                    if snap.now_us < *fault_start_us {
                        *before = Some(backlog);
                    }
                    let (check, detail) = converged(
                        snap.now_us,
                        *heal_us,
                        *within_us,
                        backlog,
                        (before, at_heal, done),
                    );
                    row.check = check;
                    row.detail = detail;
                }
                Rule::Latency {
                    quantile, max_us, ..
                }
                | Rule::Lag {
                    quantile, max_us, ..
                } => {
                    // The worst pooled region decides.
                    let worst = self.totals[i]
                        .values()
                        .map(|h| h.value_at_quantile(*quantile))
                        .max();
                    if let Some(value) = worst {
                        row.check = if value <= *max_us {
                            Check::Passing
                        } else {
                            Check::Failing
                        };
                        row.detail = format!("{} (max {})", ms(value), ms(*max_us));
                    }
                }
                Rule::AtEnd => {}
            }
        }
    }

    fn finished(&mut self, state: &mut DashboardState, finished: Finished) {
        state.run = RunState::Finished;
        for (index, check, detail) in finished.verdicts {
            if let Some(row) = state.assertions.get_mut(index) {
                row.check = check;
                row.detail = detail;
            }
        }
        for text in finished.findings {
            push_event(
                state,
                LogLine {
                    at_us: state.now_us,
                    kind: LogKind::Finding,
                    text,
                },
            );
        }
        push_event(
            state,
            LogLine {
                at_us: state.now_us,
                kind: LogKind::Info,
                text: format!("run finished: {}", finished.verdict),
            },
        );
        state.verdict = Some(finished.verdict);
    }

    fn region_name(&self, region: u16) -> String {
        self.setup
            .regions
            .get(region as usize)
            .map_or_else(|| format!("r{region}"), |r| r.0.clone())
    }
}

/// The live estimate of `converged within W after <fault>`: waiting until the heal, then
/// converging until the total backlog is back near its level before the fault.
fn converged(
    now_us: u64,
    heal_us: Option<u64>,
    within_us: u64,
    backlog: u64,
    (before, at_heal, done): (&mut Option<u64>, &mut Option<u64>, &mut Option<u64>),
) -> (Check, String) {
    let Some(heal_us) = heal_us.filter(|h| now_us >= *h) else {
        let detail = heal_us.map_or("fault lasts to the end".into(), |h| {
            format!("heals at {}", secs(h))
        });
        return (Check::WaitingForHeal, detail);
    };
    let at_heal = *at_heal.get_or_insert(backlog);
    let threshold = (before.unwrap_or(0) * 2).max(at_heal / 100);
    if done.is_none() && backlog <= threshold {
        *done = Some(now_us);
    }
    match *done {
        Some(t) => {
            let took = t - heal_us;
            let check = if took <= within_us {
                Check::Passing
            } else {
                Check::Failing
            };
            (check, format!("caught up {} after heal", secs(took)))
        }
        None if now_us > heal_us + within_us => (
            Check::Failing,
            format!("backlog {backlog} after {}", secs(within_us)),
        ),
        None => (Check::Converging, format!("backlog {backlog}")),
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, VALUE_US_MAX, 2).expect("static histogram bounds are valid")
}

fn merged<'a>(windows: impl Iterator<Item = &'a Histogram<u64>>) -> Option<Histogram<u64>> {
    let mut out: Option<Histogram<u64>> = None;
    for h in windows {
        match &mut out {
            None => out = Some(h.clone()),
            Some(o) => o.add(h).expect("histograms share bounds"),
        }
    }
    out.filter(|h| !h.is_empty())
}

fn overlaps_fault(faults: &[Window], from_us: u64, to_us: u64) -> bool {
    faults
        .iter()
        .any(|f| from_us < f.end_us.unwrap_or(u64::MAX) && to_us >= f.start_us)
}

fn push_event(state: &mut DashboardState, line: LogLine) {
    state.events.push(line);
    if state.events.len() > EVENTS_MAX {
        let extra = state.events.len() - EVENTS_MAX;
        state.events.drain(..extra);
    }
}

/// `12.3ms`, `1.50s`: microseconds for people.
pub fn ms(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.1}s", us as f64 / 1e6)
    } else if us >= 1_000_000 {
        format!("{:.2}s", us as f64 / 1e6)
    } else if us >= 10_000 {
        format!("{:.0}ms", us as f64 / 1e3)
    } else {
        format!("{:.1}ms", us as f64 / 1e3)
    }
}

/// `23.4s`.
pub fn secs(us: u64) -> String {
    format!("{:.1}s", us as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            scenario: "t".into(),
            seed: 1,
            total_us: 60_000_000,
            regions: vec![
                ("a".into(), vec!["a1".into(), "a2".into(), "a3".into()]),
                ("b".into(), vec!["b1".into(), "b2".into(), "b3".into()]),
            ],
            ops: vec!["get".into(), "put".into()],
            phases: Vec::new(),
            faults: vec![Window {
                label: "split".into(),
                start_us: 10_000_000,
                end_us: Some(20_000_000),
            }],
            assertions: vec![
                LiveAssertion {
                    name: "converged".into(),
                    rule: Rule::ConvergedAfter {
                        fault_start_us: 10_000_000,
                        heal_us: Some(20_000_000),
                        within_us: 5_000_000,
                    },
                },
                LiveAssertion {
                    name: "latency".into(),
                    rule: Rule::Latency {
                        op: Some(0),
                        scope: Scope::Each,
                        quantile: 0.99,
                        max_us: 10_000,
                        during: None,
                        exclude_faults: true,
                    },
                },
            ],
            window_s: 10,
            speed: Speed::Max,
        }
    }

    fn snap(now_us: u64, backlog: u64, cut: bool, ops: Vec<OpSample>) -> Update {
        let gauge = |cut_off_from: Vec<u16>| RegionGauge {
            az_up: vec![true; 3],
            cut_off_from,
            ops: now_us / 1_000,
            ..RegionGauge::default()
        };
        Update::Snapshot(Box::new(Snapshot {
            now_us,
            ops,
            regions: vec![
                gauge(if cut { vec![1] } else { vec![] }),
                gauge(if cut { vec![0] } else { vec![] }),
            ],
            backlog: vec![vec![0, backlog], vec![0, 0]],
            ..Snapshot::default()
        }))
    }

    fn get(region: u16, complete_us: u64, latency_us: u64) -> OpSample {
        OpSample {
            region,
            op: 0,
            complete_us,
            latency_us,
        }
    }

    #[test]
    fn windows_rates_and_live_assertions() {
        let mut feed = Feed::new(setup());
        let mut state = feed.initial_state();
        assert_eq!(state.assertions[0].check, Check::WaitingForHeal);
        feed.apply(
            &mut state,
            snap(1_000_000, 10, false, vec![get(0, 900_000, 2_000)]),
        );
        feed.apply(
            &mut state,
            snap(2_000_000, 10, false, vec![get(1, 1_900_000, 4_000)]),
        );
        assert!((state.regions[0].ops_per_s - 1_000.0).abs() < 1e-6);
        feed.refresh(&mut state);
        assert_eq!(state.latency.len(), 2, "{:?}", state.latency);
        assert_eq!(state.assertions[1].check, Check::Passing);
        // A slow get inside the fault window does not count against the assertion.
        feed.apply(
            &mut state,
            snap(12_000_000, 900, true, vec![get(0, 11_000_000, 50_000)]),
        );
        assert_eq!(state.assertions[1].check, Check::Passing);
        feed.refresh(&mut state);
        assert_eq!(state.lag[0][1], Lag::Cut);
        assert_eq!(state.assertions[0].check, Check::WaitingForHeal);
        // The latency window has slid past the first samples.
        assert!(
            state.latency.iter().all(|r| r.p99_us >= 49_000),
            "{:?}",
            state.latency
        );
        feed.apply(
            &mut state,
            snap(20_500_000, 900, false, vec![get(1, 20_400_000, 30_000)]),
        );
        assert_eq!(state.assertions[0].check, Check::Converging);
        assert_eq!(state.assertions[1].check, Check::Failing);
        feed.apply(&mut state, snap(22_000_000, 15, false, Vec::new()));
        assert_eq!(state.assertions[0].check, Check::Passing);
        assert_eq!(state.assertions[0].detail, "caught up 2.0s after heal");
    }

    #[test]
    fn throttling_bursts_are_logged_once() {
        let mut feed = Feed::new(setup());
        let mut state = feed.initial_state();
        for (i, throttles) in [0u64, 500, 1_000, 1_000].iter().enumerate() {
            let mut update = snap((i as u64 + 1) * 1_000_000, 0, false, Vec::new());
            if let Update::Snapshot(s) = &mut update {
                s.regions[0].throttles = *throttles;
            }
            feed.apply(&mut state, update);
        }
        let logged: Vec<&str> = state.events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            logged,
            ["throttling burst in a: 500/s", "throttling in a ended"]
        );
    }

    #[test]
    fn leader_failovers_are_logged() {
        let mut feed = Feed::new(setup());
        let mut state = feed.initial_state();
        for (i, elections) in [0u64, 2, 2].iter().enumerate() {
            let mut update = snap((i as u64 + 1) * 1_000_000, 0, false, Vec::new());
            if let Update::Snapshot(s) = &mut update {
                s.regions[1].leader_elections = *elections;
            }
            feed.apply(&mut state, update);
        }
        assert_eq!(state.events.len(), 1);
        assert_eq!(state.events[0].kind, LogKind::Failover);
        assert_eq!(state.events[0].text, "b: 2 partition leader(s) failed over");
    }

    #[test]
    fn the_end_shows_the_checker_verdicts() {
        let mut feed = Feed::new(setup());
        let mut state = feed.initial_state();
        feed.apply(
            &mut state,
            Update::Finished(Finished {
                verdicts: vec![(1, Check::Failing, "13ms (bound <= 10ms)".into())],
                findings: vec!["safety: lww winners: observed 1".into()],
                verdict: "FAIL".into(),
            }),
        );
        assert_eq!(state.run, RunState::Finished);
        assert_eq!(state.assertions[1].check, Check::Failing);
        assert_eq!(state.verdict.as_deref(), Some("FAIL"));
        assert_eq!(state.events[0].kind, LogKind::Finding);
    }
}
