//! Convergence: do all replicas of each table end with the same items, and how long after
//! each heal did every acknowledged write reach every replica region?
//!
//! Replica comparison: a digest per replica over its live items first; only tables whose
//! digests differ are compared key by key. A tombstone and an absent key compare equal
//! (tombstones are collected at different times in different regions).
//!
//! Settle time of a write: a write is present at a region when the region is its origin,
//! or an apply of its stamp happened there (applied or discarded by LWW), or a version
//! with a larger stamp for its key was applied or written there. Its settle time is the
//! latest of those moments over the regions holding its table.

use crate::describe as d;
use crate::report::{FindingKind, HealConvergence};
use crate::tally::Tally;
use dynasim_core::history::{FinalVersion, KeyRef, OpResult, ReplicaState, RunOutput};
use dynasim_core::{RegionId, Stamp};
use dynasim_scenario::{FaultKind, Scenario};
use std::collections::{BTreeMap, BTreeSet};

/// Result of comparing final replica states (of a whole run or of one shard's keys).
#[derive(Default)]
pub(crate) struct ReplicaComparison {
    /// Tables whose replicas' digests differ.
    pub tables_diverged: BTreeSet<usize>,
    pub keys_diverged: u64,
}

impl ReplicaComparison {
    /// Add a shard whose keys no earlier shard held.
    pub(crate) fn merge(&mut self, other: ReplicaComparison) {
        self.tables_diverged.extend(other.tables_diverged);
        self.keys_diverged += other.keys_diverged;
    }
}

/// Tables with at least one replica.
pub(crate) fn table_count(run: &RunOutput) -> u64 {
    run.replicas
        .iter()
        .map(|r| r.table)
        .collect::<BTreeSet<usize>>()
        .len() as u64
}

/// Compare every table's replicas; one DIVERGED finding per differing key.
pub(crate) fn compare_replicas(run: &RunOutput, tally: &mut Tally) -> ReplicaComparison {
    let mut by_table: BTreeMap<usize, Vec<&ReplicaState>> = BTreeMap::new();
    for replica in &run.replicas {
        by_table.entry(replica.table).or_default().push(replica);
    }
    let mut out = ReplicaComparison::default();
    for (table, replicas) in by_table.iter_mut() {
        replicas.sort_by_key(|r| r.region);
        let digests: Vec<u64> = replicas.iter().map(|r| digest(&r.versions)).collect();
        if digests.windows(2).all(|p| p[0] == p[1]) {
            continue;
        }
        out.tables_diverged.insert(*table);
        out.keys_diverged += compare_items(run, replicas, tally);
    }
    out
}

/// FNV-1a over the live versions (key, stamp, value) of one replica.
fn digest(versions: &[FinalVersion]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        for b in x.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for v in versions.iter().filter(|v| !v.deleted) {
        eat(u64::from(v.key.table));
        eat(v.key.key);
        eat(v.stamp.hlc_us);
        eat(u64::from(v.stamp.region.0));
        eat(v.stamp.seq);
        eat(v.value.map_or(u64::MAX, |x| x));
    }
    h
}

/// What a replica shows for a key: `Some((stamp, value))` when live, `None` otherwise.
type Shown = Option<(Stamp, Option<u64>)>;

fn compare_items(run: &RunOutput, replicas: &[&ReplicaState], tally: &mut Tally) -> u64 {
    let mut sorted: Vec<Vec<&FinalVersion>> = replicas
        .iter()
        .map(|r| {
            let mut v: Vec<&FinalVersion> = r.versions.iter().collect();
            v.sort_by_key(|v| v.key);
            v
        })
        .collect();
    let mut cursors = vec![0usize; sorted.len()];
    let mut diverged = 0;
    let mut shown: Vec<(Shown, Option<&FinalVersion>)> = Vec::with_capacity(sorted.len());
    loop {
        let next = sorted
            .iter()
            .zip(&cursors)
            .filter_map(|(vs, c)| vs.get(*c).map(|v| v.key))
            .min();
        let Some(key) = next else { break };
        shown.clear();
        for (vs, c) in sorted.iter_mut().zip(cursors.iter_mut()) {
            match vs.get(*c) {
                Some(v) if v.key == key => {
                    *c += 1;
                    let live = (!v.deleted).then_some((v.stamp, v.value));
                    shown.push((live, Some(*v)));
                }
                _ => shown.push((None, None)),
            }
        }
        if shown.windows(2).all(|p| p[0].0 == p[1].0) {
            continue;
        }
        diverged += 1;
        let top = shown.iter().filter_map(|s| s.1.map(|v| v.stamp)).max();
        tally.add(FindingKind::Diverged, key, None, (None, top), || {
            let held: Vec<String> = replicas
                .iter()
                .zip(&shown)
                .map(|(r, (_, v))| {
                    let name = d::region(run, r.region);
                    match v {
                        None => format!("{name} has nothing"),
                        Some(v) if v.deleted => {
                            format!("{name} a tombstone stamped {}", d::stamp(run, v.stamp))
                        }
                        Some(v) => format!(
                            "{name} value {} stamped {}",
                            v.value.map_or("none".to_string(), |x| x.to_string()),
                            d::stamp(run, v.stamp)
                        ),
                    }
                })
                .collect();
            format!("replicas of {} disagree: {}", d::key(key), held.join("; "))
        });
    }
    diverged
}

/// Whether replication had the chance to drain: no network fault active at the end and
/// every replication backlog empty.
pub(crate) fn drained(scenario: Option<&Scenario>, run: &RunOutput) -> bool {
    let backlog_empty = run
        .replicas
        .iter()
        .all(|r| r.backlog.iter().all(|(_, n)| *n == 0));
    let faults_over = scenario.is_none_or(|s| {
        s.faults
            .iter()
            .all(|f| !is_network_fault(&f.kind) || f.end_us.is_some_and(|e| e <= run.duration_us))
    });
    backlog_empty && faults_over
}

/// Faults after which replication has to catch up.
pub(crate) fn is_network_fault(kind: &FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::Partition { .. }
            | FaultKind::OneWayPartition { .. }
            | FaultKind::LinkDegrade { .. }
            | FaultKind::AzOutage { .. }
            | FaultKind::RegionOutage { .. }
    )
}

/// Settle times of every acknowledged write, answering "converged by when after `t`?".
pub(crate) struct SettleTimes {
    /// Sorted by acknowledgement time: (complete_us, op index).
    acked: Vec<(u64, u32)>,
    /// Per prefix of `acked`: the latest settle time (`u64::MAX`: never) and which write
    /// and region it was.
    latest: Vec<(u64, u32, RegionId)>,
}

impl SettleTimes {
    pub(crate) fn new(scenario: Option<&Scenario>, run: &RunOutput) -> SettleTimes {
        let table_regions = table_regions(scenario, run);
        // (key, region, time, stamp): moments a region held a stamp for a key.
        let mut held: Vec<(KeyRef, RegionId, u64, Stamp)> =
            Vec::with_capacity(run.history.len() + run.applies.len());
        let mut acked: Vec<(u64, u32)> = Vec::with_capacity(run.history.len());
        for (i, op) in run.history.iter().enumerate() {
            let (OpResult::Ok, Some(w)) = (&op.result, &op.written) else {
                continue;
            };
            acked.push((op.complete_us, i as u32));
            let stamp = w.superseded_by.map_or(w.stamp, |s| s.max(w.stamp));
            held.push((op.key, op.region, op.complete_us, stamp));
        }
        for a in &run.applies {
            let stamp = a.lost_to.map_or(a.stamp, |s| s.max(a.stamp));
            held.push((a.key, a.region, a.at_us, stamp));
        }
        held.sort_unstable();
        // Prefix maximum of the stamp within each (key, region) run, in time order.
        for i in 1..held.len() {
            if (held[i].0, held[i].1) == (held[i - 1].0, held[i - 1].1) && held[i - 1].3 > held[i].3
            {
                held[i].3 = held[i - 1].3;
            }
        }
        // Per key (acked writes and held moments both sorted by key), each write's settle
        // moment: the latest over its table's regions of when it became present there.
        let mut by_key: Vec<(KeyRef, u32)> = acked
            .iter()
            .map(|(_, i)| (run.history[*i as usize].key, *i))
            .collect();
        by_key.sort_unstable();
        let mut settled: Vec<(u64, u32, u64, RegionId)> = Vec::with_capacity(by_key.len());
        let mut h = 0;
        for group in by_key.chunk_by(|a, b| a.0 == b.0) {
            let key = group[0].0;
            while h < held.len() && held[h].0 < key {
                h += 1;
            }
            let mut end = h;
            while end < held.len() && held[end].0 == key {
                end += 1;
            }
            let here = &held[h..end];
            for (_, i) in group {
                let op = &run.history[*i as usize];
                let w = op.written.as_ref().expect("acked writes have a stamp");
                let origin_only = [op.region];
                let regions = match table_regions.get(usize::from(op.key.table)) {
                    Some(r) if !r.is_empty() => r.as_slice(),
                    _ => &origin_only[..],
                };
                let mut worst = (0u64, op.region);
                for region in regions {
                    let at = if *region == op.region {
                        op.complete_us
                    } else {
                        present_at(here, *region, w.stamp).unwrap_or(u64::MAX)
                    };
                    if at > worst.0 {
                        worst = (at, *region);
                    }
                }
                settled.push((op.complete_us, *i, worst.0, worst.1));
            }
            h = end;
        }
        settled.sort_unstable();
        let acked: Vec<(u64, u32)> = settled.iter().map(|s| (s.0, s.1)).collect();
        let mut latest = Vec::with_capacity(settled.len());
        let mut worst = (0u64, u32::MAX, RegionId(0));
        for (_, i, at, region) in settled {
            if at > worst.0 || worst.1 == u32::MAX {
                worst = (at, i, region);
            }
            latest.push(worst);
        }
        SettleTimes { acked, latest }
    }

    /// The writes acknowledged by moment `t_us` and the one of them that settled last.
    pub(crate) fn point(&self, run: &RunOutput, t_us: u64) -> SettlePoint {
        let n = self.acked.partition_point(|(c, _)| *c <= t_us);
        let last = n.checked_sub(1).map(|p| {
            let (at_us, i, region) = self.latest[p];
            let op = &run.history[i as usize];
            LastSettled {
                at_us,
                acked: op.history_order(),
                region,
                write: d::write(run, op),
            }
        });
        SettlePoint {
            writes: n as u64,
            last,
        }
    }
}

/// Of the writes acknowledged by some moment: how many, and which settled last.
#[derive(Default)]
pub(crate) struct SettlePoint {
    writes: u64,
    last: Option<LastSettled>,
}

/// The write that settled last (the earliest acknowledged of those that settled latest).
struct LastSettled {
    /// `u64::MAX`: never.
    at_us: u64,
    /// (complete_us, op id): the history order, for ties.
    acked: dynasim_core::history::HistoryOrder,
    region: RegionId,
    write: String,
}

impl SettlePoint {
    /// Add a shard whose keys no earlier shard held.
    pub(crate) fn merge(&mut self, other: SettlePoint) {
        self.writes += other.writes;
        let later = match (&self.last, &other.last) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => {
                (b.at_us, std::cmp::Reverse(b.acked)) > (a.at_us, std::cmp::Reverse(a.acked))
            }
        };
        if later {
            self.last = other.last;
        }
    }

    /// Convergence after moment `t_us`: writes acknowledged by then, and how long after
    /// `t_us` the last of them settled (`None`: one never did).
    pub(crate) fn after(&self, run: &RunOutput, t_us: u64) -> (u64, Option<u64>, Option<String>) {
        let Some(last) = &self.last else {
            return (0, Some(0), None);
        };
        if last.at_us == u64::MAX {
            let text = format!(
                "{} was never applied in {}",
                last.write,
                d::region(run, last.region)
            );
            return (self.writes, None, Some(text));
        }
        let text = format!(
            "last to settle: {} reached {} at {}",
            last.write,
            d::region(run, last.region),
            d::time(last.at_us)
        );
        (
            self.writes,
            Some(last.at_us.saturating_sub(t_us)),
            Some(text),
        )
    }
}

/// The moments whose convergence a report states: the end of every network fault that
/// ended within the run, the end of every fault a `converged` assertion names, and the
/// end of the run.
pub(crate) fn settle_moments(scenario: &Scenario, duration_us: u64) -> BTreeSet<u64> {
    let mut moments: BTreeSet<u64> = scenario
        .faults
        .iter()
        .filter_map(|f| f.end_us.filter(|e| *e <= duration_us))
        .collect();
    moments.insert(duration_us);
    moments
}

/// Settle times after the end of every network fault, in fault order.
pub(crate) fn heals(
    scenario: &Scenario,
    run: &RunOutput,
    settled: &BTreeMap<u64, SettlePoint>,
) -> Vec<HealConvergence> {
    let mut out = Vec::new();
    for (i, fault) in scenario.faults.iter().enumerate() {
        let Some(end_us) = fault.end_us else { continue };
        if !is_network_fault(&fault.kind) || end_us > run.duration_us {
            continue;
        }
        let (writes, converge_us, evidence) = settled[&end_us].after(run, end_us);
        out.push(HealConvergence {
            fault: i,
            name: fault_name(scenario, i),
            end_us,
            writes,
            converge_us,
            evidence,
        });
    }
    out
}

/// When `region` first held `stamp` or a larger one, given one key's held moments.
fn present_at(
    held: &[(KeyRef, RegionId, u64, Stamp)],
    region: RegionId,
    stamp: Stamp,
) -> Option<u64> {
    let start = held.partition_point(|h| h.1 < region);
    let len = held[start..].partition_point(|h| h.1 == region);
    let run = &held[start..start + len];
    let p = run.partition_point(|h| h.3 < stamp);
    run.get(p).map(|h| h.2)
}

/// Regions holding each table: from the scenario, else from the replica states.
fn table_regions(scenario: Option<&Scenario>, run: &RunOutput) -> Vec<Vec<RegionId>> {
    if let Some(s) = scenario {
        return s.tables.iter().map(|t| t.replicas.clone()).collect();
    }
    let mut out: Vec<Vec<RegionId>> = Vec::new();
    for r in &run.replicas {
        if out.len() <= r.table {
            out.resize(r.table + 1, Vec::new());
        }
        if !out[r.table].contains(&r.region) {
            out[r.table].push(r.region);
        }
    }
    out
}

/// The fault's id, or `faults[i]`.
pub(crate) fn fault_name(scenario: &Scenario, i: usize) -> String {
    scenario
        .faults
        .get(i)
        .and_then(|f| f.id.clone())
        .unwrap_or_else(|| format!("faults[{i}]"))
}
