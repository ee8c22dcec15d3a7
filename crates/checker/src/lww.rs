//! LWW classification of every acknowledged write, and the final-state checks of every
//! replica's versions (architecture guide section 5). The winner of an item is the write
//! with the largest stamp (GT-12: a replicated write applies only if its timestamp is
//! greater; ties broken by region, SD-02); a write whose outcome is unknown (ER-01) may be
//! the winner but is never itself counted as lost.
//!
//! Writes are grouped by key (one sort of the whole history) and, within a key, ordered
//! by stamp. One backward pass per key keeps, for the writes with larger stamps, the
//! largest context entry per region (did a larger write see this one? OVERWRITTEN) and the
//! smallest sequence per region (did this write see a larger one? SKEW_INVERSION), so the
//! whole classification is O(n log n + n * regions).
//!
//! A write's dot is `(stamp.region, stamp.seq)`: the origin's log sequence (the
//! replication crate asserts `stamp.seq == log_seq`). A dot with `seq == 0` is not one
//! (the known-bad `ReuseStamp` stamps): such writes are never called causally related.

use crate::describe as d;
use crate::report::{FindingKind, LwwSummary};
use crate::tally::Tally;
use dynasim_core::history::{FinalVersion, KeyRef, OpRecord, OpResult, RunOutput, Written};
use dynasim_core::{RegionId, Stamp};

/// How the classification treats the final state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LwwOptions {
    pub skew_bound_us: Option<u64>,
    pub examples_max: usize,
    /// Replication drained: every replica's version must be the winner. Otherwise only
    /// the largest version across replicas is held to that (others may still be behind).
    pub drained: bool,
}

#[derive(Clone, Copy)]
struct W<'a> {
    op: &'a OpRecord,
    w: &'a Written,
    acked: bool,
}

impl W<'_> {
    fn stamp(&self) -> Stamp {
        self.w.stamp
    }
    fn is_delete(&self) -> bool {
        self.w.value.is_none()
    }
}

type ReplicaVersion<'a> = (KeyRef, RegionId, &'a FinalVersion);

struct Classifier<'a> {
    run: &'a RunOutput,
    options: LwwOptions,
    tally: Tally,
    writes_final: u64,
    skew_max_us: u64,
    /// Per region, over writes with larger stamps: (largest context entry, its position).
    ctx_max: Vec<(u64, u32)>,
    /// Per region, over writes with larger stamps: (smallest sequence, its position).
    seq_min: Vec<(u64, u32)>,
}

/// The classification of the keys of one shard of a run, to merge with other shards'.
pub(crate) struct LwwPartial {
    tally: Tally,
    writes_acknowledged: u64,
    writes_final: u64,
    skew_max_us: u64,
}

impl LwwPartial {
    pub(crate) fn new(examples_max: usize) -> LwwPartial {
        LwwPartial {
            tally: Tally::new(examples_max),
            writes_acknowledged: 0,
            writes_final: 0,
            skew_max_us: 0,
        }
    }

    /// Add a shard whose keys no earlier shard held.
    pub(crate) fn merge(&mut self, other: LwwPartial) {
        self.tally.merge(other.tally);
        self.writes_acknowledged += other.writes_acknowledged;
        self.writes_final += other.writes_final;
        self.skew_max_us = self.skew_max_us.max(other.skew_max_us);
    }

    pub(crate) fn finish(self, skew_bound_us: Option<u64>) -> LwwSummary {
        let (counts, examples) = self.tally.finish();
        LwwSummary {
            writes_acknowledged: self.writes_acknowledged,
            writes_final: self.writes_final,
            counts,
            skew_bound_us,
            skew_inversion_max_us: self.skew_max_us,
            examples,
        }
    }
}

/// Classify every acknowledged write of a run; see the module documentation.
pub(crate) fn classify(run: &RunOutput, options: LwwOptions) -> LwwSummary {
    classify_shard(run, options).finish(options.skew_bound_us)
}

/// Classify every acknowledged write of one shard (or of a whole run).
pub(crate) fn classify_shard(run: &RunOutput, options: LwwOptions) -> LwwPartial {
    // (table, key, stamp as (hlc, region, seq), history position): primitive tuples sort
    // fast, and the position makes the order total.
    let mut candidates: Vec<(u16, u64, u64, u16, u64, u32)> = Vec::with_capacity(run.history.len());
    let mut regions = run.region_names.len();
    let mut acked = 0u64;
    for (i, op) in run.history.iter().enumerate() {
        let Some(w) = &op.written else { continue };
        if !crate::may_have_applied(op) {
            continue;
        }
        if op.result == OpResult::Ok {
            acked += 1;
        }
        regions = regions
            .max(usize::from(w.stamp.region.0) + 1)
            .max(w.context.len());
        let index = u32::try_from(i).expect("history fits in u32 positions");
        let s = w.stamp;
        candidates.push((op.key.table, op.key.key, s.hlc_us, s.region.0, s.seq, index));
    }
    candidates.sort_unstable();
    let mut finals: Vec<ReplicaVersion<'_>> = run
        .replicas
        .iter()
        .flat_map(|r| r.versions.iter().map(move |v| (v.key, r.region, v)))
        .collect();
    finals.sort_unstable_by_key(|(key, region, _)| (*key, *region));

    let mut c = Classifier {
        run,
        options,
        tally: Tally::new(options.examples_max),
        writes_final: 0,
        skew_max_us: 0,
        ctx_max: vec![(0, u32::MAX); regions],
        seq_min: vec![(u64::MAX, u32::MAX); regions],
    };
    let mut ws: Vec<W<'_>> = Vec::new();
    let (mut ci, mut fi) = (0, 0);
    while ci < candidates.len() || fi < finals.len() {
        let key_of = |t: &(u16, u64, u64, u16, u64, u32)| KeyRef {
            table: t.0,
            key: t.1,
        };
        let key = match (candidates.get(ci), finals.get(fi)) {
            (Some(a), Some(b)) => key_of(a).min(b.0),
            (Some(a), None) => key_of(a),
            (None, Some(b)) => b.0,
            (None, None) => unreachable!("loop condition"),
        };
        let mut c_end = ci;
        while c_end < candidates.len() && key_of(&candidates[c_end]) == key {
            c_end += 1;
        }
        let mut f_end = fi;
        while f_end < finals.len() && finals[f_end].0 == key {
            f_end += 1;
        }
        ws.clear();
        ws.extend(candidates[ci..c_end].iter().map(|t| {
            let op = &run.history[t.5 as usize];
            W {
                op,
                w: op.written.as_ref().expect("candidates have writes"),
                acked: op.result == OpResult::Ok,
            }
        }));
        c.key(key, &ws, &finals[fi..f_end]);
        (ci, fi) = (c_end, f_end);
    }
    LwwPartial {
        tally: c.tally,
        writes_acknowledged: acked,
        writes_final: c.writes_final,
        skew_max_us: c.skew_max_us,
    }
}

impl<'a> Classifier<'a> {
    fn key(&mut self, key: KeyRef, ws: &[W<'a>], finals: &[ReplicaVersion<'a>]) {
        debug_assert!(ws.windows(2).all(|p| p[0].stamp() <= p[1].stamp()));
        for pair in ws.windows(2) {
            if pair[0].stamp() == pair[1].stamp() {
                let (a, b) = (pair[0], pair[1]);
                let run = self.run;
                self.tally.add(
                    FindingKind::DuplicateStamp,
                    key,
                    Some(b.op.id),
                    (Some(b.stamp()), Some(a.stamp())),
                    || {
                        format!(
                            "{} and {} carry the same stamp, so replicas cannot order them by LWW",
                            d::write(run, a.op),
                            d::write(run, b.op)
                        )
                    },
                );
            }
        }
        let reference = finals.iter().map(|f| f.2).max_by_key(|v| v.stamp);
        for (_, region, version) in finals {
            let is_reference = reference.is_some_and(|r| std::ptr::eq(r, *version));
            self.check_version(
                key,
                ws,
                *region,
                version,
                self.options.drained || is_reference,
            );
        }
        let final_pos = match reference {
            Some(v) => locate(ws, v),
            // No replica holds the item: fine if the last write deleted it (tombstone
            // collected).
            None => ws.len().checked_sub(1).filter(|p| ws[*p].is_delete()),
        };
        self.classify_key(key, ws, final_pos, reference.map(|v| v.stamp));
    }

    /// GARBAGE in any replica; WRONG_WINNER and RESURRECTED where `winner_required`.
    fn check_version(
        &mut self,
        key: KeyRef,
        ws: &[W<'a>],
        region: RegionId,
        v: &FinalVersion,
        winner_required: bool,
    ) {
        let run = self.run;
        let held = || describe_version(run, region, v);
        if locate(ws, v).is_none() {
            let why = match v.value {
                Some(value) => match ws.iter().find(|x| x.op.id == value) {
                    Some(x) => format!("value {value} was written by {}", d::write(run, x.op)),
                    None => format!("no write to this key wrote value {value}"),
                },
                None if v.deleted => "no delete of this key carries that stamp".to_string(),
                None => "the item holds no value the workload wrote".to_string(),
            };
            let stamps = (Some(v.stamp), None);
            self.tally
                .add(FindingKind::Garbage, key, v.value, stamps, || {
                    format!("{} {}, but {why}", d::key(key), held())
                });
            return;
        }
        if !winner_required {
            return;
        }
        let Some(top) = ws.iter().rev().find(|x| x.acked) else {
            return;
        };
        if v.stamp >= top.stamp() {
            return;
        }
        let deleted_later = ws
            .iter()
            .rev()
            .find(|x| x.acked && x.is_delete() && x.stamp() > v.stamp);
        match deleted_later {
            Some(del) if !v.deleted => self.tally.add(
                FindingKind::Resurrected,
                key,
                v.value,
                (Some(v.stamp), Some(del.stamp())),
                || {
                    format!(
                        "{} {} although {} deleted it with a larger stamp",
                        d::key(key),
                        held(),
                        d::write(run, del.op)
                    )
                },
            ),
            _ => self.tally.add(
                FindingKind::WrongWinner,
                key,
                v.value,
                (Some(v.stamp), Some(top.stamp())),
                || {
                    format!(
                        "{} {} although {} has a larger stamp and must win",
                        d::key(key),
                        held(),
                        d::write(run, top.op)
                    )
                },
            ),
        }
    }

    fn classify_key(
        &mut self,
        key: KeyRef,
        ws: &[W<'a>],
        final_pos: Option<usize>,
        final_stamp: Option<Stamp>,
    ) {
        self.ctx_max.fill((0, u32::MAX));
        self.seq_min.fill((u64::MAX, u32::MAX));
        for i in (0..ws.len()).rev() {
            let x = ws[i];
            if x.acked {
                if final_pos == Some(i) {
                    self.writes_final += 1;
                } else {
                    self.classify_write(key, ws, i, final_pos, final_stamp);
                }
            }
            for (r, seen) in x.w.context.iter().enumerate() {
                if *seen > self.ctx_max[r].0 {
                    self.ctx_max[r] = (*seen, i as u32);
                }
            }
            let s = x.stamp();
            if s.seq > 0 {
                let slot = &mut self.seq_min[usize::from(s.region.0)];
                if s.seq < slot.0 {
                    *slot = (s.seq, i as u32);
                }
            }
        }
    }

    /// Classify the acknowledged, non-final write `ws[i]`; `ctx_max` and `seq_min` hold
    /// the writes with larger stamps.
    fn classify_write(
        &mut self,
        key: KeyRef,
        ws: &[W<'a>],
        i: usize,
        final_pos: Option<usize>,
        final_stamp: Option<Stamp>,
    ) {
        let run = self.run;
        let x = ws[i];
        let s = x.stamp();
        // A larger write this one had seen: its origin had stored it (superseded_by) or
        // its context includes the larger write's dot.
        let mut inversion: Option<(Stamp, Option<usize>)> =
            x.w.superseded_by
                .filter(|sup| *sup > s)
                .map(|sup| (sup, position(ws, sup)));
        for (r, seen) in x.w.context.iter().enumerate() {
            let (seq, pos) = self.seq_min[r];
            if seq <= *seen {
                let candidate = ws[pos as usize].stamp();
                if inversion.is_none_or(|(w, _)| candidate.hlc_us > w.hlc_us) {
                    inversion = Some((candidate, Some(pos as usize)));
                }
            }
        }
        if let Some((winner, pos)) = inversion {
            let gap_us = winner.hlc_us.saturating_sub(s.hlc_us);
            self.skew_max_us = self.skew_max_us.max(gap_us);
            let beyond = self.options.skew_bound_us.is_some_and(|b| gap_us > b);
            let kind = if beyond {
                FindingKind::SkewInversionBeyondBound
            } else {
                FindingKind::SkewInversion
            };
            let bound = self.options.skew_bound_us;
            self.tally
                .add(kind, key, Some(x.op.id), (Some(s), Some(winner)), || {
                    let by = match pos {
                        Some(p) => d::write(run, ws[p].op),
                        None => format!("the version stamped {}", d::stamp(run, winner)),
                    };
                    format!(
                        "{} lost to causally earlier {by} that {} had already seen: its clock \
                         read {} behind the winner's stamp (skew bound {})",
                        d::write(run, x.op),
                        d::region(run, x.op.region),
                        d::duration(gap_us),
                        bound.map_or("none".to_string(), d::duration),
                    )
                });
            return;
        }
        let (seen, pos) = self
            .ctx_max
            .get(usize::from(s.region.0))
            .copied()
            .unwrap_or((0, u32::MAX));
        if s.seq > 0 && seen >= s.seq {
            let winner = ws[pos as usize];
            self.tally.add(
                FindingKind::Overwritten,
                key,
                Some(x.op.id),
                (Some(s), Some(winner.stamp())),
                || {
                    format!(
                        "{} was overwritten by {} which had seen it (context {} >= sequence {})",
                        d::write(run, x.op),
                        d::write(run, winner.op),
                        seen,
                        s.seq
                    )
                },
            );
            return;
        }
        let larger_final = final_stamp.filter(|f| *f > s);
        if i + 1 < ws.len() || larger_final.is_some() {
            let (winner_stamp, winner_text) = match (larger_final, final_pos) {
                (Some(f), Some(p)) => (f, d::write(run, ws[p].op)),
                (Some(f), None) => (f, format!("the version stamped {}", d::stamp(run, f))),
                (None, _) => (ws[i + 1].stamp(), d::write(run, ws[i + 1].op)),
            };
            self.tally.add(
                FindingKind::LwwConcurrentLoss,
                key,
                Some(x.op.id),
                (Some(s), Some(winner_stamp)),
                || {
                    format!(
                        "{} lost to concurrent {winner_text}: neither had seen the other and \
                         the larger stamp wins",
                        d::write(run, x.op),
                    )
                },
            );
            return;
        }
        self.tally.add(
            FindingKind::Lost,
            key,
            Some(x.op.id),
            (Some(s), final_stamp),
            || {
                format!(
                    "{} is not the final version ({}) and no write to the key has a larger stamp",
                    d::write(run, x.op),
                    match final_stamp {
                        Some(f) => format!("replicas hold {}", d::stamp(run, f)),
                        None => "no replica holds the item".to_string(),
                    }
                )
            },
        );
    }
}

/// The write whose version `v` is: the op whose id is the value, or for a tombstone the
/// delete with that stamp.
fn locate(ws: &[W<'_>], v: &FinalVersion) -> Option<usize> {
    match v.value {
        Some(value) if !v.deleted => ws
            .iter()
            .rposition(|x| x.op.id == value && x.w.value == Some(value) && x.stamp() == v.stamp),
        Some(_) => None,
        None if v.deleted => {
            let first = ws.partition_point(|x| x.stamp() < v.stamp);
            (first..ws.len())
                .take_while(|p| ws[*p].stamp() == v.stamp)
                .find(|p| ws[*p].is_delete())
        }
        None => None,
    }
}

fn position(ws: &[W<'_>], stamp: Stamp) -> Option<usize> {
    let p = ws.partition_point(|x| x.stamp() < stamp);
    (p < ws.len() && ws[p].stamp() == stamp).then_some(p)
}

fn describe_version(run: &RunOutput, region: RegionId, v: &FinalVersion) -> String {
    let what = match (v.deleted, v.value) {
        (true, _) => "a tombstone".to_string(),
        (false, Some(value)) => format!("value {value}"),
        (false, None) => "an item without a workload value".to_string(),
    };
    format!(
        "in {} ends as {what} stamped {}",
        d::region(run, region),
        d::stamp(run, v.stamp)
    )
}
