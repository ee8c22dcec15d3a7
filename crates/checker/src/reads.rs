//! Read checks: garbage values, the stale-read ratio, and session guarantees
//! (read-your-writes, monotonic reads) per client session within a region. Strong reads
//! must keep both (RC-07); eventually consistent reads may not (RC-06), so their
//! violations are counted, never failed.
//!
//! Reads are compared by stamp. A read of an absent item carries no stamp: it is taken
//! to be at least as new as a stamp `X` when `X` is a delete's, or when some delete of the
//! key has a stamp larger than `X` (the read may have seen that delete).

use crate::describe as d;
use crate::tally::{Ordered, keep_first};
use crate::window::TimeWindow;
use dynasim_core::history::{KeyRef, OpKind, OpRecord, OpResult, ReadValue, RunOutput};
use dynasim_core::{RegionId, Stamp};

/// Writes of one run indexed for read checks; built once per report.
pub(crate) struct ReadIndex {
    /// Acknowledged writes sorted by (key, complete_us), each with the prefix maximum of
    /// stamps over its key: (key, complete_us, max stamp so far, that write is a delete).
    acked: Vec<(KeyRef, u64, Stamp, bool)>,
    /// Every write that may have happened (not failed), by (key, value): for garbage.
    values: Vec<(KeyRef, u64, Stamp)>,
    /// Largest delete stamp per key (acknowledged or unknown).
    deletes: Vec<(KeyRef, Stamp)>,
}

impl ReadIndex {
    pub(crate) fn new(run: &RunOutput) -> ReadIndex {
        let mut acked = Vec::with_capacity(run.history.len());
        let mut values = Vec::with_capacity(run.history.len());
        let mut deletes: Vec<(KeyRef, Stamp)> = Vec::new();
        for op in &run.history {
            let Some(w) = &op.written else { continue };
            if !crate::may_have_applied(op) {
                continue;
            }
            match w.value {
                Some(v) => values.push((op.key, v, w.stamp)),
                None => deletes.push((op.key, w.stamp)),
            }
            if op.result == OpResult::Ok {
                acked.push((op.key, op.complete_us, w.stamp, w.value.is_none()));
            }
        }
        acked.sort_unstable();
        for i in 1..acked.len() {
            if acked[i].0 == acked[i - 1].0 && acked[i - 1].2 > acked[i].2 {
                (acked[i].2, acked[i].3) = (acked[i - 1].2, acked[i - 1].3);
            }
        }
        values.sort_unstable();
        deletes.sort_unstable();
        deletes.dedup_by(|later, earlier| {
            // Keep the largest stamp per key (the last of each run after sorting).
            if later.0 == earlier.0 {
                earlier.1 = later.1;
                true
            } else {
                false
            }
        });
        ReadIndex {
            acked,
            values,
            deletes,
        }
    }

    pub(crate) fn max_delete(&self, key: KeyRef) -> Option<Stamp> {
        let p = self.deletes.partition_point(|(k, _)| *k < key);
        self.deletes
            .get(p)
            .filter(|(k, _)| *k == key)
            .map(|(_, s)| *s)
    }

    /// Positions (in history order) of successful reads whose value no write to their
    /// key produced with that stamp. One sorted sweep, no search per read.
    pub(crate) fn garbage_reads(&self, run: &RunOutput) -> Vec<u32> {
        let mut reads: Vec<(KeyRef, u64, u32)> = run
            .history
            .iter()
            .enumerate()
            .filter_map(|(i, op)| {
                let value = successful_read(op)?.value?;
                Some((op.key, value, i as u32))
            })
            .collect();
        reads.sort_unstable();
        let mut out = Vec::new();
        let mut p = 0;
        for (key, value, i) in reads {
            while p < self.values.len() && (self.values[p].0, self.values[p].1) < (key, value) {
                p += 1;
            }
            let read = successful_read(&run.history[i as usize]).expect("collected as a read");
            let written = self
                .values
                .get(p)
                .filter(|h| (h.0, h.1) == (key, value))
                .map(|h| h.2);
            let garbage = match written {
                Some(stamp) => read.stamp.is_some_and(|s| s != stamp),
                None => true,
            };
            if garbage {
                out.push(i);
            }
        }
        out.sort_unstable();
        out
    }

    /// Whether `read` of `key` shows a value no write to the key produced with that stamp
    /// (the per-read form of [`ReadIndex::garbage_reads`]).
    pub(crate) fn is_garbage(&self, key: KeyRef, read: &ReadValue) -> bool {
        let Some(value) = read.value else {
            return false;
        };
        let p = self.values.partition_point(|h| (h.0, h.1) < (key, value));
        match self.values.get(p).filter(|h| (h.0, h.1) == (key, value)) {
            Some(h) => read.stamp.is_some_and(|s| s != h.2),
            None => true,
        }
    }

    /// Whether `read` (of `key`) shows a state at least as new as stamp `x`.
    pub(crate) fn observes(
        &self,
        key: KeyRef,
        read: &ReadValue,
        x: Stamp,
        x_deleted: bool,
    ) -> bool {
        match read.stamp {
            Some(s) => s >= x,
            None if read.value.is_some() => true, // no stamp to compare: give it the benefit
            None => x_deleted || self.max_delete(key).is_some_and(|d| d > x),
        }
    }
}

fn successful_read(op: &OpRecord) -> Option<&ReadValue> {
    match (op.kind, &op.result, &op.read) {
        (OpKind::Get | OpKind::TransactGet, OpResult::Ok, Some(read)) => Some(read),
        _ => None,
    }
}

/// The stale-read ratio: reads that missed a write acknowledged more than `staleness_us`
/// before they began, over reads in scope.
#[derive(Default)]
pub(crate) struct Staleness {
    pub reads: u64,
    pub stale: u64,
    /// Ordered by (key, read deadline, read's place in the history).
    pub examples: Ordered<(KeyRef, u64, dynasim_core::history::HistoryOrder)>,
}

impl Staleness {
    /// Add a shard whose keys no earlier shard held.
    pub(crate) fn merge(&mut self, other: Staleness, examples_max: usize) {
        self.reads += other.reads;
        self.stale += other.stale;
        keep_first(&mut self.examples, other.examples, examples_max);
    }
}

pub(crate) fn staleness(
    run: &RunOutput,
    index: &ReadIndex,
    region: Option<RegionId>,
    staleness_us: u64,
    window: &TimeWindow,
    examples_max: usize,
) -> Staleness {
    let mut out = Staleness::default();
    // In-scope reads by (key, deadline), swept against the acknowledged writes sorted by
    // (key, acknowledgement time): one pass, no search per read.
    let mut due: Vec<(KeyRef, u64, u32)> = Vec::new();
    for (i, op) in run.history.iter().enumerate() {
        if successful_read(op).is_none()
            || region.is_some_and(|r| r != op.region)
            || !window.admits(op.invoke_us, op.complete_us)
        {
            continue;
        }
        out.reads += 1;
        if let Some(deadline) = op.invoke_us.checked_sub(staleness_us + 1) {
            due.push((op.key, deadline, i as u32));
        }
    }
    due.sort_unstable();
    let mut p = 0;
    for (key, deadline, i) in due {
        while p < index.acked.len() && (index.acked[p].0, index.acked[p].1) <= (key, deadline) {
            p += 1;
        }
        let Some(&(_, _, x, deleted)) = p
            .checked_sub(1)
            .map(|q| &index.acked[q])
            .filter(|h| h.0 == key)
        else {
            continue;
        };
        let op = &run.history[i as usize];
        let read = successful_read(op).expect("collected as a read");
        if index.observes(key, read, x, deleted) {
            continue;
        }
        out.stale += 1;
        if out.examples.len() < examples_max {
            let order = (key, deadline, op.history_order());
            out.examples.push((
                order,
                format!(
                    "{} read op {} in {} at {} returned {}, missing stamp {} acknowledged more \
                 than {} earlier",
                    d::key(key),
                    op.id,
                    d::region(run, op.region),
                    d::time(op.invoke_us),
                    describe_read(run, read),
                    d::stamp(run, x),
                    d::duration(staleness_us)
                ),
            ));
        }
    }
    out
}

pub(crate) fn describe_read(run: &RunOutput, read: &ReadValue) -> String {
    match read.value {
        Some(v) => format!("value {v} ({})", d::opt_stamp(run, read.stamp)),
        None => "nothing".to_string(),
    }
}

/// Session-guarantee violations, strong and eventual reads apart.
#[derive(Default)]
pub(crate) struct Sessions {
    pub strong_ryw: u64,
    pub strong_monotonic: u64,
    pub eventual_ryw: u64,
    pub eventual_monotonic: u64,
    pub garbage: u64,
    /// Evidence of garbage reads, in history order ((complete_us, op id)).
    garbage_examples: Ordered<dynasim_core::history::HistoryOrder>,
    /// Evidence of strong-read violations, in the order of the session sweep.
    strong_examples: Ordered<SessionMoment>,
}

/// A place in the session sweep: (session, region, key, time, moment, history order).
type SessionMoment = (
    u32,
    RegionId,
    KeyRef,
    u64,
    Moment,
    dynasim_core::history::HistoryOrder,
);

impl Sessions {
    /// Add a shard whose keys no earlier shard held.
    pub(crate) fn merge(&mut self, other: Sessions, examples_max: usize) {
        self.strong_ryw += other.strong_ryw;
        self.strong_monotonic += other.strong_monotonic;
        self.eventual_ryw += other.eventual_ryw;
        self.eventual_monotonic += other.eventual_monotonic;
        self.garbage += other.garbage;
        keep_first(
            &mut self.garbage_examples,
            other.garbage_examples,
            examples_max,
        );
        keep_first(
            &mut self.strong_examples,
            other.strong_examples,
            examples_max,
        );
    }

    /// The evidence: garbage reads first, then strong-read violations, `examples_max` in
    /// all.
    pub(crate) fn examples(&self, examples_max: usize) -> Vec<String> {
        let garbage = self.garbage_examples.iter().take(examples_max);
        let strong = self
            .strong_examples
            .iter()
            .take(examples_max.saturating_sub(self.garbage_examples.len()));
        let garbage = garbage.map(|(_, text)| text.clone());
        garbage
            .chain(strong.map(|(_, text)| text.clone()))
            .collect()
    }
}

/// One moment in a (session, region, key) history.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    /// A read begins: ordered first at equal times (only what finished before counts).
    ReadStart,
    WriteDone,
    ReadDone,
}

/// Read-your-writes and monotonic reads within (session, region), per key, and garbage
/// reads.
pub(crate) fn sessions(run: &RunOutput, index: &ReadIndex, examples_max: usize) -> Sessions {
    let mut out = Sessions::default();
    let garbage = index.garbage_reads(run);
    out.garbage = garbage.len() as u64;
    for i in garbage.iter().take(examples_max) {
        let op = &run.history[*i as usize];
        let read = successful_read(op).expect("garbage reads are reads");
        let order = op.history_order();
        out.garbage_examples.push((
            order,
            format!(
                "GARBAGE: {} read op {} in {} returned {}, which no write to the key produced",
                d::key(op.key),
                op.id,
                d::region(run, op.region),
                describe_read(run, read)
            ),
        ));
    }
    let mut moments: Vec<(u32, RegionId, KeyRef, u64, Moment, u32)> =
        Vec::with_capacity(run.history.len() * 2);
    for (i, op) in run.history.iter().enumerate() {
        let i = i as u32;
        let base = (op.session, op.region, op.key);
        if successful_read(op).is_some() {
            moments.push((base.0, base.1, base.2, op.invoke_us, Moment::ReadStart, i));
            moments.push((base.0, base.1, base.2, op.complete_us, Moment::ReadDone, i));
        } else if op.result == OpResult::Ok && op.written.is_some() {
            moments.push((base.0, base.1, base.2, op.complete_us, Moment::WriteDone, i));
        }
    }
    moments.sort_unstable();
    let mut last_group = None;
    let mut written: Option<(Stamp, bool, u32)> = None;
    let mut observed: Option<(Stamp, u32)> = None;
    for (session, region, key, at_us, moment, i) in moments {
        if last_group != Some((session, region, key)) {
            last_group = Some((session, region, key));
            written = None;
            observed = None;
        }
        let op = &run.history[i as usize];
        let order = (session, region, key, at_us, moment, op.history_order());
        match moment {
            Moment::WriteDone => {
                let w = op.written.as_ref().expect("write moments have a write");
                if written.is_none_or(|(s, _, _)| w.stamp > s) {
                    written = Some((w.stamp, w.value.is_none(), i));
                }
            }
            Moment::ReadDone => {
                let read = op.read.as_ref().expect("read moments have a read");
                if let Some(s) = read.stamp.filter(|s| observed.is_none_or(|(o, _)| *s > o)) {
                    observed = Some((s, i));
                }
            }
            Moment::ReadStart => {
                let read = op.read.as_ref().expect("read moments have a read");
                if let Some((x, deleted, w)) = written
                    && !index.observes(key, read, x, deleted)
                {
                    let what = "read-your-writes";
                    let by = &run.history[w as usize];
                    let text = || {
                        format!(
                            "{what}: session {session} in {}: {} read op {} returned {} after \
                                 the session's {}",
                            d::region(run, region),
                            d::key(key),
                            op.id,
                            describe_read(run, read),
                            d::write(run, by)
                        )
                    };
                    count(&mut out, op.strong, true, (order, examples_max), text);
                }
                if let Some((s, r)) = observed
                    && !index.observes(key, read, s, false)
                {
                    let before = &run.history[r as usize];
                    let text = || {
                        format!(
                            "monotonic reads: session {session} in {}: {} read op {} \
                                 returned {} after read op {} had returned stamp {}",
                            d::region(run, region),
                            d::key(key),
                            op.id,
                            describe_read(run, read),
                            before.id,
                            d::stamp(run, s)
                        )
                    };
                    count(&mut out, op.strong, false, (order, examples_max), text);
                }
            }
        }
    }
    out
}

fn count(
    out: &mut Sessions,
    strong: bool,
    ryw: bool,
    (order, examples_max): (SessionMoment, usize),
    text: impl FnOnce() -> String,
) {
    let counter = match (strong, ryw) {
        (true, true) => &mut out.strong_ryw,
        (true, false) => &mut out.strong_monotonic,
        (false, true) => &mut out.eventual_ryw,
        (false, false) => &mut out.eventual_monotonic,
    };
    *counter += 1;
    if strong && out.strong_examples.len() < examples_max {
        out.strong_examples
            .push((order, format!("strong {}", text())));
    }
}
