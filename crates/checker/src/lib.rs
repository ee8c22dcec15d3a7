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
mod linearizability;
mod lww;
mod perf;
mod reads;
mod report;
mod tally;
mod transactions;
mod window;

pub use report::*;
pub use transactions::TransactionSummary;

use dynasim_core::RegionId;
use dynasim_core::history::{OpKind, RunOutput};
use dynasim_scenario::{Assertion, FaultKind, LostWritesAllowance, Op, RegionScope, Scenario};
use std::collections::BTreeSet;
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
    /// Findings kept with evidence per kind (counts are always complete).
    pub examples_max: usize,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            skew_bound_us: None,
            linearizability_states_max: 100_000,
            examples_max: 10,
        }
    }
}

/// Check a run against its scenario: every assertion, then the safety checks.
pub fn check(scenario: &Scenario, run: &RunOutput, config: &CheckConfig) -> Report {
    let ctx = Context::new(scenario, run, config);
    let mut verdicts = Vec::new();
    for (i, assertion) in scenario.asserts.iter().enumerate() {
        ctx.assertion(i, assertion, &mut verdicts);
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
    }
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

/// Everything computed once per report and shared by the verdicts.
struct Context<'a> {
    scenario: &'a Scenario,
    run: &'a RunOutput,
    config: &'a CheckConfig,
    lww: LwwSummary,
    convergence: ConvergenceSummary,
    settle: convergence::SettleTimes,
    reads: ReadSummary,
    read_index: reads::ReadIndex,
    transactions: Option<TransactionSummary>,
    /// Regions that `region = "each"` expands to: those with clients or served ops.
    active_regions: Vec<RegionId>,
}

impl<'a> Context<'a> {
    fn new(scenario: &'a Scenario, run: &'a RunOutput, config: &'a CheckConfig) -> Self {
        let drained = convergence::drained(Some(scenario), run);
        let mut tally = Tally::new(config.examples_max);
        let compared = convergence::compare_replicas(run, &mut tally);
        let (_, diverged) = tally.finish();
        let settle = convergence::SettleTimes::new(Some(scenario), run);
        let convergence = ConvergenceSummary {
            tables: compared.tables,
            tables_diverged: compared.tables_diverged,
            keys_diverged: compared.keys_diverged,
            drained,
            heals: settle.heals(scenario, run),
            end_converge_us: settle.after(run, run.duration_us).1,
            examples: diverged,
        };
        let skew_bound_us = config
            .skew_bound_us
            .or_else(|| Some(derived_skew_bound_us(scenario)));
        let lww = lww::classify(
            run,
            lww::LwwOptions {
                skew_bound_us,
                examples_max: config.examples_max,
                drained,
            },
        );
        let read_index = reads::ReadIndex::new(run);
        let sessions = reads::sessions(run, &read_index, config.examples_max);
        let linearizability = linearizability::check(
            scenario,
            run,
            config.linearizability_states_max,
            config.examples_max,
        );
        let reads = ReadSummary {
            reads: run
                .history
                .iter()
                .filter(|o| o.kind == OpKind::Get && o.read.is_some())
                .count() as u64,
            strong_reads: run
                .history
                .iter()
                .filter(|o| o.kind == OpKind::Get && o.read.is_some() && o.strong)
                .count() as u64,
            garbage_reads: sessions.garbage,
            strong_read_your_writes_violations: sessions.strong_ryw,
            strong_monotonic_read_violations: sessions.strong_monotonic,
            eventual_read_your_writes_violations: sessions.eventual_ryw,
            eventual_monotonic_read_violations: sessions.eventual_monotonic,
            linearizability,
            examples: sessions.examples,
        };
        let transactions = Some(transactions::check(run, &read_index, config.examples_max))
            .filter(|t| t.transactions + t.transact_gets > 0);
        let mut active: BTreeSet<RegionId> = run.history.iter().map(|o| o.region).collect();
        for phase in &scenario.phases {
            active.extend(phase.clients.iter().map(|(r, _)| *r));
        }
        Context {
            scenario,
            run,
            config,
            lww,
            convergence,
            settle,
            reads,
            read_index,
            transactions,
            active_regions: active.into_iter().collect(),
        }
    }

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

    fn assertion(&self, index: usize, assertion: &Assertion, out: &mut Vec<Verdict>) {
        let (run, examples_max) = (self.run, self.config.examples_max);
        let at = Some(index);
        match assertion {
            Assertion::Converged { after, within_us } => {
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
            Assertion::NoLostAckedWrites { allow } => {
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
            Assertion::Latency {
                op,
                region,
                quantile,
                max_us,
                window,
            } => {
                let w = TimeWindow::new(self.scenario, window);
                let kind = op_kind(*op);
                for (r, name) in self.regions(*region) {
                    let m = perf::latency(run, kind, r, *quantile, *max_us, &w, examples_max);
                    let label = format!(
                        "latency {} {} {name}{}",
                        kind.name(),
                        describe::quantile(*quantile),
                        w.label()
                    );
                    out.push(m.named(label, at));
                }
            }
            Assertion::StaleReadRatio {
                max,
                staleness_us,
                region,
                window,
            } => {
                let w = TimeWindow::new(self.scenario, window);
                for (r, name) in self.regions(*region) {
                    let s =
                        reads::staleness(run, &self.read_index, r, *staleness_us, &w, examples_max);
                    let label = format!("stale read ratio {name}{}", w.label());
                    out.push(stale_verdict(s, *max, *staleness_us).named(label, at));
                }
            }
            Assertion::ReplicationLag {
                quantile,
                max_us,
                from,
                to,
                window,
            } => {
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
                let m = perf::replication_lag(run, *from, *to, *quantile, *max_us, &w);
                out.push(m.named(label, at));
            }
            Assertion::ThrottleRatio {
                max,
                region,
                window,
            } => {
                let w = TimeWindow::new(self.scenario, window);
                for (r, name) in self.regions(*region) {
                    let label = format!("throttle ratio {name}{}", w.label());
                    out.push(perf::throttle_ratio(run, r, *max, &w).named(label, at));
                }
            }
            Assertion::Availability {
                min,
                region,
                window,
            } => {
                let w = TimeWindow::new(self.scenario, window);
                for (r, name) in self.regions(*region) {
                    let label = format!("availability {name}{}", w.label());
                    let m = perf::availability(run, r, *min, &w, examples_max);
                    out.push(m.named(label, at));
                }
            }
            Assertion::SkewInversions { max, bound_us } => {
                out.push(
                    self.skew(*max, *bound_us)
                        .named("skew inversions".into(), at),
                );
            }
            Assertion::LwwLosses { max } => {
                let n = self.lww.count(FindingKind::LwwConcurrentLoss);
                let m = count_verdict(n, *max, self.examples(&[FindingKind::LwwConcurrentLoss]));
                out.push(m.named("lww losses".into(), at));
            }
            Assertion::ConsumerExactlyOnce { consumer } => {
                let m = consumers::exactly_once(self.scenario, run, *consumer, examples_max);
                let name = &self.scenario.consumers[*consumer].name;
                out.push(m.named(format!("consumer {name} exactly once"), at));
            }
            Assertion::IteratorAge {
                consumer,
                quantile,
                max_us,
            } => {
                let m = consumers::iterator_age(run, *consumer, *quantile, *max_us);
                let name = &self.scenario.consumers[*consumer].name;
                let label = format!("iterator age {} {name}", describe::quantile(*quantile));
                out.push(m.named(label, at));
            }
            Assertion::ViewConverged { consumer } => {
                let m = consumers::view_converged(run, *consumer);
                let name = &self.scenario.consumers[*consumer].name;
                out.push(m.named(format!("view {name} converged"), at));
            }
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
        let (writes, took, evidence) = self.settle.after(self.run, end_us);
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
    evidence.extend(s.examples);
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

fn op_kind(op: Op) -> OpKind {
    match op {
        Op::Get => OpKind::Get,
        Op::Put => OpKind::Put,
        Op::Update => OpKind::Update,
        Op::Delete => OpKind::Delete,
        Op::Query => OpKind::Query,
        Op::ConditionalPut => OpKind::ConditionalPut,
        Op::Transaction => OpKind::Transaction,
        Op::TransactGet => OpKind::TransactGet,
    }
}

/// Two assertions can produce one name (same op, quantile and window twice): number the
/// repeats so every name in a report is unique.
fn unique_names(verdicts: &mut [Verdict]) {
    let mut seen: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    for v in verdicts.iter_mut() {
        let n = seen.entry(v.assertion.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            v.assertion = format!("{} #{n}", v.assertion);
        }
    }
}
