//! dynasim-checker: consistency and SLO verdicts over a recorded run.
//!
//! The simulator is an oracle: it records every client operation in true simulated time,
//! every replication apply, and every replica's final versions ([`RunOutput`]). [`check`]
//! turns that into a [`Report`]: one [`Verdict`] per scenario assertion (with
//! `region = "each"` expanded per region) plus the always-on safety checks, and the
//! findings and summaries behind them (architecture guide section 5):
//!
//! - convergence of the replicas' final states, and settle time after each heal
//!   ([`ConvergenceSummary`]);
//! - LWW classification of every acknowledged write that is not final, and the bugs
//!   (LOST, WRONG_WINNER, DIVERGED, RESURRECTED, GARBAGE, DUPLICATE_STAMP, skew inversions
//!   beyond the bound) ([`LwwSummary`], [`FindingKind`]);
//! - reads: garbage values, stale-read ratio, read-your-writes and monotonic reads per
//!   session within a region, linearizability of strongly consistent ops per key
//!   ([`ReadSummary`]);
//! - performance: latency and replication-lag quantiles, throttle ratio, availability.
//!
//! Architecture invariants: layer 2; depends on dynasim-core and dynasim-scenario only (it
//! knows nothing of turmoil or of the simulator); no I/O, no clock, no randomness; output
//! is a pure function of its inputs, every collection sorted and every human-read float
//! formatted with fixed precision.

mod consumers;
mod convergence;
mod describe;
mod indexes;
mod linearizability;
mod lww;
mod perf;
mod reads;
mod report;
mod tally;
mod transactions;
mod window;

pub use indexes::IndexReadSummary;
pub use report::*;
pub use transactions::TransactionSummary;

use dynasim_core::RegionId;
use dynasim_core::history::{OpKind, RunOutput};
use dynasim_scenario::{Assertion, FaultKind, LostWritesAllowance, RegionScope, Scenario};
use std::collections::{BTreeMap, BTreeSet};
use tally::Tally;
use window::TimeWindow;

/// Checker settings. Defaults: skew bound derived from the scenario, 100_000 search
/// states per key, 10 examples per finding kind.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CheckConfig {
    /// Largest skew inversion that is legitimate, microseconds. `None`: derived from the
    /// scenario's clock faults ([`derived_skew_bound_us`]); without a scenario, unbounded.
    pub skew_bound_us: Option<u64>,
    /// Linearizability search: states explored per history before giving up (`unknown`).
    pub linearizability_states_max: u64,
    /// How far an index read may lag the table it indexes, microseconds. `None`:
    /// derived from the scenario's GSIs ([`derived_index_bound_us`]).
    pub index_bound_us: Option<u64>,
    /// Findings kept with evidence per kind (counts are always complete).
    pub examples_max: usize,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            skew_bound_us: None,
            linearizability_states_max: 100_000,
            index_bound_us: None,
            examples_max: 10,
        }
    }
}

/// How far behind its table an index read may be: 50 mean propagation delays of the
/// slowest GSI (an exponential delay exceeds that with probability e^-50), at least 1 s.
pub fn derived_index_bound_us(scenario: &Scenario) -> u64 {
    let slowest_mean_us = scenario
        .tables
        .iter()
        .flat_map(|t| &t.gsis)
        .map(|g| g.propagation_mean_us)
        .max()
        .unwrap_or(0);
    slowest_mean_us.saturating_mul(50).max(1_000_000)
}

/// Check a run against its scenario: every assertion, then the safety checks.
pub fn check(scenario: &Scenario, run: &RunOutput, config: &CheckConfig) -> Report {
    let mut checks = ShardedCheck::new(scenario, run, config);
    checks.add_shard(run);
    checks.finish(run)
}

/// LWW classification alone (no scenario): every replica's version is held to the
/// winner when replication backlogs are empty. Used by the benchmark and by callers
/// that only have a history.
pub fn classify_writes(run: &RunOutput, config: &CheckConfig) -> LwwSummary {
    lww::classify(
        run,
        lww::LwwOptions {
            skew_bound_us: config.skew_bound_us,
            examples_max: config.examples_max,
            drained: convergence::drained(None, run),
        },
    )
}

/// The largest clock divergence the scenario's clock faults can cause: the sum of every
/// clock step and of every drift over its fault's duration. A skew inversion larger than
/// this is not explained by the clocks (a stamping bug).
pub fn derived_skew_bound_us(scenario: &Scenario) -> u64 {
    let mut bound = 0u64;
    for f in &scenario.faults {
        match f.kind {
            FaultKind::ClockSkew {
                offset_us,
                drift_ppm,
                ..
            } => {
                let end = f.end_us.unwrap_or(scenario.sim.duration_us);
                let drift_us = drift_ppm.abs() * end.saturating_sub(f.start_us) as f64 / 1e6;
                bound = bound
                    .saturating_add(offset_us.unsigned_abs())
                    .saturating_add(drift_us.ceil() as u64);
            }
            FaultKind::ClockJump { offset_us, .. } => {
                bound = bound.saturating_add(offset_us.unsigned_abs());
            }
            _ => {}
        }
    }
    bound
}

/// Whether a write op may have taken effect: acknowledged, no answer, or a server error
/// that leaves the outcome open (ER-01: a write answered with a 500 may or may not have
/// been applied). Client errors and throttles never apply.
pub(crate) fn may_have_applied(op: &dynasim_core::history::OpRecord) -> bool {
    use dynasim_core::history::OpResult;
    op.written.is_some()
        && match &op.result {
            OpResult::Ok | OpResult::Unknown => true,
            OpResult::Failed(e) => {
                matches!(e.as_str(), "InternalServerError" | "ServiceUnavailable")
            }
        }
}

/// The check of a run whose history comes in shards: [`check`] with bounded memory.
///
/// A shard is a [`RunOutput`] equal to the run's except that `history`, `applies`, the
/// replicas' `versions` and `deliveries` hold only the records of some keys: every key's
/// records are in exactly one shard, in the run's order (history by `(complete_us, id)`,
/// applies as recorded). Every check is per key, or a count, histogram or first few
/// examples that merge exactly, so [`ShardedCheck::finish`] gives the report [`check`]
/// gives for the whole run, whatever the partition. A whole run is one shard.
pub struct ShardedCheck<'a> {
    scenario: &'a Scenario,
    config: &'a CheckConfig,
    drained: bool,
    skew_bound_us: Option<u64>,
    lww: lww::LwwPartial,
    diverged: Tally,
    compared: convergence::ReplicaComparison,
    /// Per moment of [`convergence::settle_moments`].
    settled: BTreeMap<u64, convergence::SettlePoint>,
    reads: u64,
    strong_reads: u64,
    sessions: reads::Sessions,
    linearizability: linearizability::LinearizabilityPartial,
    transactions: transactions::TransactionPartial,
    indexes: indexes::IndexPartial,
    /// Regions that served an op.
    serving_regions: BTreeSet<RegionId>,
    /// One per scenario assertion.
    observed: Vec<Observed>,
}

/// What an assertion needs from the history, gathered shard by shard, per region in its
/// scope (`None`: all regions).
enum Observed {
    /// Judged from the merged summaries alone.
    Summaries,
    Latency(Vec<(Option<RegionId>, perf::Latency)>),
    Staleness {
        staleness_us: u64,
        window: TimeWindow,
        per_region: Vec<(Option<RegionId>, reads::Staleness)>,
    },
    ReplicationLag(perf::ReplicationLag),
    ThrottleRatio(Vec<(Option<RegionId>, perf::ThrottleRatio)>),
    Availability(Vec<(Option<RegionId>, perf::Availability)>),
    ExactlyOnce(consumers::ExactlyOnce),
}

impl<'a> ShardedCheck<'a> {
    /// Start checking `run`; its history, applies, replica versions and deliveries are not
    /// read here (they come with the shards).
    pub fn new(scenario: &'a Scenario, run: &RunOutput, config: &'a CheckConfig) -> Self {
        let settled = convergence::settle_moments(scenario, run.duration_us)
            .into_iter()
            .map(|t| (t, convergence::SettlePoint::default()))
            .collect();
        let regions = scenario.regions.len().max(run.region_names.len());
        let observed = scenario
            .asserts
            .iter()
            .map(|a| observe(scenario, a, regions, config.examples_max))
            .collect();
        ShardedCheck {
            scenario,
            config,
            drained: convergence::drained(Some(scenario), run),
            skew_bound_us: config
                .skew_bound_us
                .or_else(|| Some(derived_skew_bound_us(scenario))),
            lww: lww::LwwPartial::new(config.examples_max),
            diverged: Tally::new(config.examples_max),
            compared: convergence::ReplicaComparison::default(),
            settled,
            reads: 0,
            strong_reads: 0,
            sessions: reads::Sessions::default(),
            linearizability: linearizability::LinearizabilityPartial::default(),
            transactions: transactions::TransactionPartial::default(),
            indexes: indexes::IndexPartial::new(
                config
                    .index_bound_us
                    .unwrap_or_else(|| derived_index_bound_us(scenario)),
                config.examples_max,
            ),
            serving_regions: BTreeSet::new(),
            observed,
        }
    }

    /// Check one shard (see [`ShardedCheck`]) and merge it into the results so far.
    pub fn add_shard(&mut self, shard: &RunOutput) {
        let (scenario, examples_max) = (self.scenario, self.config.examples_max);
        let mut tally = Tally::new(examples_max);
        self.compared
            .merge(convergence::compare_replicas(shard, &mut tally));
        self.diverged.merge(tally);
        let settle = convergence::SettleTimes::new(Some(scenario), shard);
        for (t_us, point) in self.settled.iter_mut() {
            point.merge(settle.point(shard, *t_us));
        }
        drop(settle); // its per-write tables are the largest of the shard's: free them first
        let options = lww::LwwOptions {
            skew_bound_us: self.skew_bound_us,
            examples_max,
            drained: self.drained,
        };
        self.lww.merge(lww::classify_shard(shard, options));
        let read_index = reads::ReadIndex::new(shard);
        let sessions = reads::sessions(shard, &read_index, examples_max);
        self.sessions.merge(sessions, examples_max);
        let states_max = self.config.linearizability_states_max;
        let lin = linearizability::check(scenario, shard, states_max, examples_max);
        self.linearizability.merge(lin, examples_max);
        self.transactions.add_shard(shard, &read_index);
        self.indexes.add_shard(shard, &read_index);
        for op in shard
            .history
            .iter()
            .filter(|o| o.kind == OpKind::Get && o.read.is_some())
        {
            self.reads += 1;
            self.strong_reads += u64::from(op.strong);
        }
        self.serving_regions
            .extend(shard.history.iter().map(|o| o.region));
        for observed in &mut self.observed {
            observed.add_shard(scenario, shard, &read_index, examples_max);
        }
    }

    /// The report over every shard added.
    pub fn finish(self, run: &RunOutput) -> Report {
        let (scenario, config) = (self.scenario, self.config);
        let (_, diverged) = self.diverged.finish();
        let convergence = ConvergenceSummary {
            tables: convergence::table_count(run),
            tables_diverged: self.compared.tables_diverged.len() as u64,
            keys_diverged: self.compared.keys_diverged,
            drained: self.drained,
            heals: convergence::heals(scenario, run, &self.settled),
            end_converge_us: self.settled[&run.duration_us].after(run, run.duration_us).1,
            examples: diverged,
        };
        let s = &self.sessions;
        let reads = ReadSummary {
            reads: self.reads,
            strong_reads: self.strong_reads,
            garbage_reads: s.garbage,
            strong_read_your_writes_violations: s.strong_ryw,
            strong_monotonic_read_violations: s.strong_monotonic,
            eventual_read_your_writes_violations: s.eventual_ryw,
            eventual_monotonic_read_violations: s.eventual_monotonic,
            linearizability: self.linearizability.finish(),
            examples: s.examples(config.examples_max),
        };
        let mut active = self.serving_regions;
        for phase in &scenario.phases {
            active.extend(phase.clients.iter().map(|(r, _)| *r));
        }
        let ctx = Context {
            scenario,
            run,
            config,
            lww: self.lww.finish(self.skew_bound_us),
            convergence,
            settled: self.settled,
            reads,
            transactions: self.transactions.finish(run, config.examples_max),
            indexes: self.indexes.finish(),
            active_regions: active.into_iter().collect(),
        };
        let mut verdicts = Vec::new();
        for (i, (assertion, observed)) in scenario.asserts.iter().zip(self.observed).enumerate() {
            ctx.assertion(i, assertion, observed, &mut verdicts);
        }
        verdicts.extend(ctx.safety());
        unique_names(&mut verdicts);
        let status = verdicts
            .iter()
            .map(|v| v.status)
            .max()
            .unwrap_or(Status::Pass);
        Report {
            scenario: run.scenario.clone(),
            seed: run.seed,
            status,
            verdicts,
            lww: ctx.lww,
            convergence: ctx.convergence,
            reads: ctx.reads,
            transactions: ctx.transactions,
            indexes: ctx.indexes,
        }
    }
}

/// The regions an assertion's scope can expand to before the active ones are known:
/// `region = "each"` gathers every region and keeps the active ones at the end.
fn scope_regions(scope: RegionScope, regions: usize) -> Vec<Option<RegionId>> {
    match scope {
        RegionScope::All => vec![None],
        RegionScope::One(r) => vec![Some(r)],
        RegionScope::Each => (0..regions).map(|r| Some(RegionId(r as u16))).collect(),
    }
}

/// What `assertion` will gather from the shards.
fn observe(
    scenario: &Scenario,
    assertion: &Assertion,
    regions: usize,
    examples_max: usize,
) -> Observed {
    let per_region = |scope: RegionScope| scope_regions(scope, regions).into_iter();
    match assertion {
        Assertion::Latency {
            op,
            region,
            quantile,
            max_us,
            window,
        } => {
            let w = TimeWindow::new(scenario, window);
            let kind = op.kind();
            Observed::Latency(
                per_region(*region)
                    .map(|r| {
                        let bound = (*quantile, *max_us);
                        (
                            r,
                            perf::Latency::new(kind, r, bound, w.clone(), examples_max),
                        )
                    })
                    .collect(),
            )
        }
        Assertion::StaleReadRatio {
            staleness_us,
            region,
            window,
            ..
        } => Observed::Staleness {
            staleness_us: *staleness_us,
            window: TimeWindow::new(scenario, window),
            per_region: per_region(*region)
                .map(|r| (r, reads::Staleness::default()))
                .collect(),
        },
        Assertion::ReplicationLag {
            quantile,
            max_us,
            from,
            to,
            window,
        } => {
            let w = TimeWindow::new(scenario, window);
            Observed::ReplicationLag(perf::ReplicationLag::new(
                (*from, *to),
                *quantile,
                *max_us,
                w,
            ))
        }
        Assertion::ThrottleRatio {
            max,
            region,
            window,
        } => {
            let w = TimeWindow::new(scenario, window);
            Observed::ThrottleRatio(
                per_region(*region)
                    .map(|r| (r, perf::ThrottleRatio::new(r, *max, w.clone())))
                    .collect(),
            )
        }
        Assertion::Availability {
            min,
            region,
            window,
        } => {
            let w = TimeWindow::new(scenario, window);
            Observed::Availability(
                per_region(*region)
                    .map(|r| (r, perf::Availability::new(r, *min, w.clone(), examples_max)))
                    .collect(),
            )
        }
        Assertion::ConsumerExactlyOnce { consumer } => {
            Observed::ExactlyOnce(consumers::ExactlyOnce::new(*consumer, examples_max))
        }
        _ => Observed::Summaries,
    }
}

impl Observed {
    fn add_shard(
        &mut self,
        scenario: &Scenario,
        shard: &RunOutput,
        read_index: &reads::ReadIndex,
        examples_max: usize,
    ) {
        match self {
            Observed::Summaries => {}
            Observed::Latency(per_region) => {
                per_region.iter_mut().for_each(|(_, m)| m.observe(shard))
            }
            Observed::Staleness {
                staleness_us,
                window,
                per_region,
            } => {
                for (r, s) in per_region.iter_mut() {
                    let more = reads::staleness(
                        shard,
                        read_index,
                        *r,
                        *staleness_us,
                        window,
                        examples_max,
                    );
                    s.merge(more, examples_max);
                }
            }
            Observed::ReplicationLag(m) => m.observe(shard),
            Observed::ThrottleRatio(per_region) => {
                per_region.iter_mut().for_each(|(_, m)| m.observe(shard))
            }
            Observed::Availability(per_region) => {
                per_region.iter_mut().for_each(|(_, m)| m.observe(shard))
            }
            Observed::ExactlyOnce(m) => m.observe(scenario, shard),
        }
    }
}

/// Take the measure gathered for region `r` (`None`: all regions) out of `per_region`.
fn take_region<T>(per_region: &mut Vec<(Option<RegionId>, T)>, r: Option<RegionId>) -> Option<T> {
    let p = per_region.iter().position(|(x, _)| *x == r)?;
    Some(per_region.swap_remove(p).1)
}

/// Everything computed once per report and shared by the verdicts.
struct Context<'a> {
    scenario: &'a Scenario,
    run: &'a RunOutput,
    config: &'a CheckConfig,
    lww: LwwSummary,
    convergence: ConvergenceSummary,
    settled: BTreeMap<u64, convergence::SettlePoint>,
    reads: ReadSummary,
    transactions: Option<TransactionSummary>,
    indexes: Option<IndexReadSummary>,
    /// Regions that `region = "each"` expands to: those with clients or served ops.
    active_regions: Vec<RegionId>,
}

impl Context<'_> {
    fn regions(&self, scope: RegionScope) -> Vec<(Option<RegionId>, String)> {
        match scope {
            RegionScope::All => vec![(None, "all".to_string())],
            RegionScope::One(r) => vec![(Some(r), describe::region(self.run, r))],
            RegionScope::Each => self
                .active_regions
                .iter()
                .map(|r| (Some(*r), describe::region(self.run, *r)))
                .collect(),
        }
    }

    fn assertion(
        &self,
        index: usize,
        assertion: &Assertion,
        observed: Observed,
        out: &mut Vec<Verdict>,
    ) {
        let run = self.run;
        let at = Some(index);
        match (assertion, observed) {
            (Assertion::Converged { after, within_us }, _) => {
                out.push(self.converged(*after, *within_us).named(
                    match after {
                        Some(f) => format!(
                            "converged after {}",
                            convergence::fault_name(self.scenario, *f)
                        ),
                        None => "converged at end".to_string(),
                    },
                    at,
                ));
            }
            (Assertion::NoLostAckedWrites { allow }, _) => {
                out.push(self.no_lost(*allow).named(
                    match allow {
                        LostWritesAllowance::None => "no lost acked writes".to_string(),
                        LostWritesAllowance::LwwSuperseded => {
                            "no lost acked writes (lww superseded allowed)".to_string()
                        }
                    },
                    at,
                ));
            }
            (
                Assertion::Latency {
                    op,
                    region,
                    quantile,
                    window,
                    ..
                },
                Observed::Latency(mut per_region),
            ) => {
                let w = TimeWindow::new(self.scenario, window);
                let kind = op.kind();
                for (r, name) in self.regions(*region) {
                    let Some(m) = take_region(&mut per_region, r) else {
                        continue;
                    };
                    let label = format!(
                        "latency {} {} {name}{}",
                        kind.name(),
                        describe::quantile(*quantile),
                        w.label()
                    );
                    out.push(m.finish().named(label, at));
                }
            }
            (
                Assertion::StaleReadRatio {
                    max,
                    staleness_us,
                    region,
                    window,
                },
                Observed::Staleness { mut per_region, .. },
            ) => {
                let w = TimeWindow::new(self.scenario, window);
                for (r, name) in self.regions(*region) {
                    let Some(s) = take_region(&mut per_region, r) else {
                        continue;
                    };
                    let label = format!("stale read ratio {name}{}", w.label());
                    out.push(stale_verdict(s, *max, *staleness_us).named(label, at));
                }
            }
            (
                Assertion::ReplicationLag {
                    quantile,
                    from,
                    to,
                    window,
                    ..
                },
                Observed::ReplicationLag(m),
            ) => {
                let w = TimeWindow::new(self.scenario, window);
                let name = |r: &Option<RegionId>| {
                    r.map_or("any".to_string(), |r| describe::region(run, r))
                };
                let label = format!(
                    "replication lag {} {}->{}{}",
                    describe::quantile(*quantile),
                    name(from),
                    name(to),
                    w.label()
                );
                out.push(m.finish(run).named(label, at));
            }
            (
                Assertion::ThrottleRatio { region, window, .. },
                Observed::ThrottleRatio(mut per_region),
            ) => {
                let w = TimeWindow::new(self.scenario, window);
                for (r, name) in self.regions(*region) {
                    let Some(m) = take_region(&mut per_region, r) else {
                        continue;
                    };
                    let label = format!("throttle ratio {name}{}", w.label());
                    out.push(m.finish(run).named(label, at));
                }
            }
            (
                Assertion::Availability { region, window, .. },
                Observed::Availability(mut per_region),
            ) => {
                let w = TimeWindow::new(self.scenario, window);
                for (r, name) in self.regions(*region) {
                    let Some(m) = take_region(&mut per_region, r) else {
                        continue;
                    };
                    let label = format!("availability {name}{}", w.label());
                    out.push(m.finish().named(label, at));
                }
            }
            (Assertion::SkewInversions { max, bound_us }, _) => {
                out.push(
                    self.skew(*max, *bound_us)
                        .named("skew inversions".into(), at),
                );
            }
            (Assertion::LwwLosses { max }, _) => {
                let n = self.lww.count(FindingKind::LwwConcurrentLoss);
                let m = count_verdict(n, *max, self.examples(&[FindingKind::LwwConcurrentLoss]));
                out.push(m.named("lww losses".into(), at));
            }
            (Assertion::ConsumerExactlyOnce { consumer }, Observed::ExactlyOnce(m)) => {
                let name = &self.scenario.consumers[*consumer].name;
                out.push(
                    m.finish()
                        .named(format!("consumer {name} exactly once"), at),
                );
            }
            (
                Assertion::IteratorAge {
                    consumer,
                    quantile,
                    max_us,
                },
                _,
            ) => {
                let m = consumers::iterator_age(run, *consumer, *quantile, *max_us);
                let name = &self.scenario.consumers[*consumer].name;
                let label = format!("iterator age {} {name}", describe::quantile(*quantile));
                out.push(m.named(label, at));
            }
            (Assertion::ViewConverged { consumer }, _) => {
                let m = consumers::view_converged(run, *consumer);
                let name = &self.scenario.consumers[*consumer].name;
                out.push(m.named(format!("view {name} converged"), at));
            }
            (_, _) => unreachable!("each assertion is gathered by its own kind of observation"),
        }
    }

    fn converged(&self, after: Option<usize>, within_us: u64) -> perf::Measured {
        let bound = format!("<= {}", describe::duration(within_us));
        let end_us = match after {
            Some(f) => self.scenario.faults.get(f).and_then(|f| f.end_us),
            None => Some(self.run.duration_us),
        };
        let Some(end_us) = end_us.filter(|e| *e <= self.run.duration_us) else {
            return perf::Measured {
                status: Status::Unknown,
                observed: "fault still active".into(),
                observed_value: None,
                bound,
                evidence: vec!["the fault had not ended when the run stopped".into()],
            };
        };
        let (writes, took, evidence) = self.settled[&end_us].after(self.run, end_us);
        let mut lines = vec![format!(
            "{writes} writes acknowledged by {} had to reach every replica",
            describe::time(end_us)
        )];
        lines.extend(evidence);
        match took {
            Some(us) => perf::Measured {
                status: if us <= within_us {
                    Status::Pass
                } else {
                    Status::Fail
                },
                observed: describe::duration(us),
                observed_value: Some(us as f64),
                bound,
                evidence: lines,
            },
            None => perf::Measured {
                status: Status::Fail,
                observed: "never".into(),
                observed_value: None,
                bound,
                evidence: lines,
            },
        }
    }

    fn no_lost(&self, allow: LostWritesAllowance) -> perf::Measured {
        let mut kinds = vec![
            FindingKind::Lost,
            FindingKind::WrongWinner,
            FindingKind::Resurrected,
            FindingKind::SkewInversionBeyondBound,
        ];
        if allow == LostWritesAllowance::None {
            kinds.extend([FindingKind::LwwConcurrentLoss, FindingKind::SkewInversion]);
        }
        let mut n: u64 = kinds.iter().map(|k| self.lww.count(*k)).sum();
        let mut evidence = self.examples(&kinds);
        if self.convergence.drained && self.convergence.keys_diverged > 0 {
            n += self.convergence.keys_diverged;
            evidence.extend(self.convergence.examples.iter().map(|f| f.evidence.clone()));
        }
        let mut m = count_verdict(n, 0, evidence);
        m.observed = format!("{n} lost");
        m
    }

    fn skew(&self, max: u64, bound_us: Option<u64>) -> perf::Measured {
        let kinds = [
            FindingKind::SkewInversion,
            FindingKind::SkewInversionBeyondBound,
        ];
        let n: u64 = kinds.iter().map(|k| self.lww.count(*k)).sum();
        let largest = self.lww.skew_inversion_max_us;
        let mut m = count_verdict(n, max, self.examples(&kinds));
        if let Some(b) = bound_us {
            m.bound = format!("{}, none above {}", m.bound, describe::duration(b));
            if n > 0 && largest > b {
                m.status = Status::Fail;
            }
        }
        m.evidence.insert(
            0,
            format!("largest inversion {}", describe::duration(largest)),
        );
        m
    }

    fn examples(&self, kinds: &[FindingKind]) -> Vec<String> {
        self.lww
            .examples
            .iter()
            .filter(|f| kinds.contains(&f.kind))
            .take(self.config.examples_max)
            .map(|f| format!("{}: {}", f.kind.name(), f.evidence))
            .collect()
    }

    /// The always-on checks, after the assertions.
    fn safety(&self) -> Vec<Verdict> {
        let c = &self.convergence;
        let mut out = Vec::new();
        let status = match (c.keys_diverged, c.drained) {
            (0, _) => Status::Pass,
            (_, true) => Status::Fail,
            (_, false) => Status::Unknown,
        };
        let mut evidence: Vec<String> = c.examples.iter().map(|f| f.evidence.clone()).collect();
        if status == Status::Unknown {
            evidence.insert(
                0,
                "replication had not drained (a fault was active at the end or a backlog remained)"
                    .into(),
            );
        }
        out.push(Verdict {
            assertion: "safety: replicas converge".into(),
            index: None,
            status,
            observed: format!(
                "{} keys diverged in {} tables",
                c.keys_diverged, c.tables_diverged
            ),
            observed_value: Some(c.keys_diverged as f64),
            bound: "0 keys".into(),
            evidence,
        });
        let bugs: Vec<FindingKind> = FindingKind::ALL
            .into_iter()
            .filter(|k| k.is_bug() && *k != FindingKind::Diverged)
            .collect();
        let n: u64 = bugs.iter().map(|k| self.lww.count(*k)).sum();
        let mut m = count_verdict(n, 0, self.examples(&bugs));
        m.evidence.insert(0, counts_line(&self.lww));
        out.push(m.named("safety: lww winners".into(), None));

        let r = &self.reads;
        let n = r.garbage_reads
            + r.strong_read_your_writes_violations
            + r.strong_monotonic_read_violations;
        let mut m = count_verdict(n, 0, r.examples.clone());
        m.evidence.insert(
            0,
            format!(
                "{} reads ({} strong): {} garbage, strong read-your-writes violations {}, strong \
                 monotonic-read violations {}; eventual (not promised) {} and {}",
                r.reads,
                r.strong_reads,
                r.garbage_reads,
                r.strong_read_your_writes_violations,
                r.strong_monotonic_read_violations,
                r.eventual_read_your_writes_violations,
                r.eventual_monotonic_read_violations
            ),
        );
        out.push(m.named("safety: reads".into(), None));

        let l = &r.linearizability;
        let status = if l.keys_violating > 0 {
            Status::Fail
        } else if l.keys_over_budget > 0 {
            Status::Unknown
        } else {
            Status::Pass
        };
        let mut evidence = vec![format!(
            "{} histories checked ({} ops): {} decided, {} over the budget of {} states, {} not linearizable",
            l.keys_checked,
            l.ops_checked,
            l.keys_decided,
            l.keys_over_budget,
            self.config.linearizability_states_max,
            l.keys_violating
        )];
        evidence.extend(l.examples.iter().cloned());
        out.push(Verdict {
            assertion: "safety: linearizability".into(),
            index: None,
            status,
            observed: format!(
                "{} of {} histories not linearizable",
                l.keys_violating, l.keys_checked
            ),
            observed_value: Some(l.keys_violating as f64),
            bound: "0".into(),
            evidence,
        });
        if let Some(t) = &self.transactions {
            let mut m = count_verdict(t.torn_reads, 0, t.examples.clone());
            m.evidence.insert(
                0,
                format!(
                    "{} write transactions, {} transactional gets: {} torn in the transaction's own \
                     region; {} partial views in other regions (TX-11: expected, items \
                     replicate one by one)",
                    t.transactions, t.transact_gets, t.torn_reads, t.partial_remote_reads
                ),
            );
            out.push(m.named("safety: transactions atomic".into(), None));
        }
        if let Some(i) = &self.indexes {
            let mut m = count_verdict(i.beyond_bound + i.garbage, 0, i.examples.clone());
            m.evidence.insert(
                0,
                format!(
                    "{} index queries: {} behind the table when they began (RC-08: expected; \
                     staleness p50 {} ms, p99 {} ms, max {} ms), {} behind by more than {}, \
                     {} garbage",
                    i.index_reads,
                    i.stale_reads,
                    i.staleness_ms_p50,
                    i.staleness_ms_p99,
                    i.staleness_ms_max,
                    i.beyond_bound,
                    describe::duration(i.bound_us),
                    i.garbage
                ),
            );
            out.push(m.named("safety: index reads bounded-stale".into(), None));
        }
        out
    }
}

fn counts_line(lww: &LwwSummary) -> String {
    let parts: Vec<String> = lww
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    format!(
        "{} acknowledged writes, {} final; {}",
        lww.writes_acknowledged,
        lww.writes_final,
        if parts.is_empty() {
            "no losses".to_string()
        } else {
            parts.join(", ")
        }
    )
}

fn count_verdict(n: u64, max: u64, evidence: Vec<String>) -> perf::Measured {
    perf::Measured {
        status: if n <= max { Status::Pass } else { Status::Fail },
        observed: n.to_string(),
        observed_value: Some(n as f64),
        bound: format!("<= {max}"),
        evidence,
    }
}

fn stale_verdict(s: reads::Staleness, max: f64, staleness_us: u64) -> perf::Measured {
    let bound = format!("<= {}", describe::ratio(max));
    if s.reads == 0 {
        return perf::Measured {
            status: Status::Unknown,
            observed: "no samples".into(),
            observed_value: None,
            bound,
            evidence: vec!["no successful reads in the window, so nothing to judge".into()],
        };
    }
    let ratio = s.stale as f64 / s.reads as f64;
    let mut evidence = vec![format!(
        "{} of {} reads missed a write acknowledged more than {} before they began",
        s.stale,
        s.reads,
        describe::duration(staleness_us)
    )];
    evidence.extend(tally::sentences(s.examples));
    perf::Measured {
        status: if ratio > max {
            Status::Fail
        } else {
            Status::Pass
        },
        observed: describe::ratio(ratio),
        observed_value: Some(ratio),
        bound,
        evidence,
    }
}

/// Two assertions can produce one name (same op, quantile and window twice): number the
/// repeats so every name in a report is unique.
fn unique_names(verdicts: &mut [Verdict]) {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for v in verdicts.iter_mut() {
        let n = seen.entry(v.assertion.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            v.assertion = format!("{} #{n}", v.assertion);
        }
    }
}
