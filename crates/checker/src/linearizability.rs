//! Linearizability of strongly consistent operations, per key (Porcupine-style search).
//!
//! What is promised: in an MREC region a strong read reflects every write acknowledged
//! before it in that region's leader (RC-04, RC-07), replicated writes from the moment
//! they are applied there (GT-13: not the newest write of another region); in an MRSC
//! table a strong read in any region returns the latest version (GT-24).
//!
//! The object is one item of one region's table (MREC) or one item of an MRSC table
//! (all regions together). Its model is the LWW register a replica implements: a write
//! with stamp `s` installs its version only if `s` is larger than the stored stamp
//! (GT-12), a read returns the stored version. In MREC a region's item also changes when
//! a replicated write is applied: those applies are in the history as writes that take
//! effect at their exact apply time. Only histories with a strongly consistent read are
//! checked (writes alone are always linearizable on this model).
//!
//! The search is Wing & Gong's with Lowe's memo (as Porcupine does): linearize a pending
//! call whose model step succeeds, remember (linearized set, state), backtrack on a
//! return that is not linearized yet. Because the register keeps the largest stamp, its
//! state where no operation is pending is the same in every linearization, so the history
//! is cut there and the segments are searched one after another from that state. Each
//! history has a budget of explored states; past it the verdict is `unknown`.

use crate::describe as d;
use crate::report::LinearizabilitySummary;
use crate::tally::{Ordered, keep_first, sentences};
use dynasim_core::Stamp;
use dynasim_core::history::{KeyRef, OpKind, OpResult, RunOutput, ValueId};
use dynasim_scenario::{Consistency, Scenario};
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

/// The register: the stored stamp and value (`None` value: deleted).
type State = Option<(Stamp, Option<ValueId>)>;

#[derive(Clone, Copy, Debug)]
enum Action {
    Write {
        stamp: Stamp,
        value: Option<ValueId>,
    },
    Read {
        stamp: Option<Stamp>,
        value: Option<ValueId>,
    },
}

#[derive(Clone, Copy, Debug)]
struct LinOp {
    call_us: u64,
    /// `u64::MAX` for an op whose outcome is unknown (it may take effect any time later).
    return_us: u64,
    action: Action,
    /// The client op id, or `None` for a replicated apply.
    op: Option<u64>,
}

/// History identity: table, key, region (`u16::MAX` for an MRSC table).
type Group = (KeyRef, u16);

/// The linearizability of one shard's histories (or of a whole run's).
#[derive(Default)]
pub(crate) struct LinearizabilityPartial {
    /// Counts; its examples stay empty until [`LinearizabilityPartial::finish`].
    summary: LinearizabilitySummary,
    /// Ordered by history identity.
    examples: Ordered<Group>,
}

impl LinearizabilityPartial {
    /// Add a shard whose keys no earlier shard held.
    pub(crate) fn merge(&mut self, other: LinearizabilityPartial, examples_max: usize) {
        let (a, b) = (&mut self.summary, other.summary);
        a.keys_checked += b.keys_checked;
        a.keys_decided += b.keys_decided;
        a.keys_over_budget += b.keys_over_budget;
        a.keys_violating += b.keys_violating;
        a.ops_checked += b.ops_checked;
        a.states_explored += b.states_explored;
        keep_first(&mut self.examples, other.examples, examples_max);
    }

    pub(crate) fn finish(self) -> LinearizabilitySummary {
        LinearizabilitySummary {
            examples: sentences(self.examples),
            ..self.summary
        }
    }
}

pub(crate) fn check(
    scenario: &Scenario,
    run: &RunOutput,
    states_max: u64,
    examples_max: usize,
) -> LinearizabilityPartial {
    let mrsc = |key: KeyRef| {
        scenario
            .tables
            .get(usize::from(key.table))
            .is_some_and(|t| t.consistency == Consistency::Mrsc)
    };
    let group_of = |op: &dynasim_core::history::OpRecord| {
        (op.key, if mrsc(op.key) { u16::MAX } else { op.region.0 })
    };
    let is_strong_read = |op: &dynasim_core::history::OpRecord| {
        // TX-06: a transactional get is serializable, so as strong as a strong read.
        op.strong
            && matches!(op.kind, OpKind::Get | OpKind::TransactGet)
            && op.result == OpResult::Ok
            && op.read.is_some()
    };
    // Only histories with a strong read are searched: find them first.
    let mut read_groups: Vec<Group> = run
        .history
        .iter()
        .filter(|op| is_strong_read(op))
        .map(group_of)
        .collect();
    if read_groups.is_empty() {
        return LinearizabilityPartial::default();
    }
    read_groups.sort_unstable();
    read_groups.dedup();
    let wanted = |g: &Group| read_groups.binary_search(g).is_ok();
    let mut ops: Vec<(Group, LinOp)> = Vec::new();
    for op in &run.history {
        let group = group_of(op);
        if !wanted(&group) {
            continue;
        }
        match (&op.result, &op.read, &op.written) {
            (_, Some(read), _) if is_strong_read(op) => {
                let action = Action::Read {
                    stamp: read.stamp,
                    value: read.value,
                };
                ops.push((
                    group,
                    lin_op(op.invoke_us, op.complete_us, action, Some(op.id)),
                ));
            }
            (_, _, Some(w)) if crate::may_have_applied(op) => {
                let return_us = match op.result {
                    OpResult::Ok => op.complete_us,
                    _ => u64::MAX,
                };
                let action = Action::Write {
                    stamp: w.stamp,
                    value: w.value,
                };
                ops.push((group, lin_op(op.invoke_us, return_us, action, Some(op.id))));
            }
            _ => {}
        }
    }
    // Applies carry no value: the writer's op does. (key, stamp) -> value.
    let mut values: Vec<(KeyRef, Stamp, Option<ValueId>)> = run
        .history
        .iter()
        .filter_map(|op| op.written.as_ref().map(|w| (op.key, w.stamp, w.value)))
        .collect();
    values.sort_unstable();
    let value_of = |key: KeyRef, stamp: Stamp| {
        let p = values.partition_point(|v| (v.0, v.1) < (key, stamp));
        values
            .get(p)
            .filter(|v| (v.0, v.1) == (key, stamp))
            .and_then(|v| v.2)
    };
    for a in run.applies.iter().filter(|a| a.lost_to.is_none()) {
        let group = (a.key, a.region.0);
        if mrsc(a.key) || !wanted(&group) {
            continue;
        }
        let write = Action::Write {
            stamp: a.stamp,
            value: value_of(a.key, a.stamp),
        };
        ops.push((group, lin_op(a.at_us, a.at_us, write, None)));
    }
    ops.sort_by_key(|(g, op)| (*g, op.call_us, op.return_us));

    let mut partial = LinearizabilityPartial::default();
    let out = &mut partial.summary;
    for chunk in ops.chunk_by(|a, b| a.0 == b.0) {
        let group = chunk[0].0;
        let history: Vec<LinOp> = chunk.iter().map(|(_, op)| *op).collect();
        out.keys_checked += 1;
        out.ops_checked += history.len() as u64;
        let (verdict, states) = check_history(&history, states_max);
        out.states_explored += states;
        match verdict {
            Outcome::Linearizable => out.keys_decided += 1,
            Outcome::OverBudget => out.keys_over_budget += 1,
            Outcome::Violation(segment, before) => {
                out.keys_decided += 1;
                out.keys_violating += 1;
                if partial.examples.len() < examples_max {
                    let text = describe_violation(run, group, &history[segment], before);
                    partial.examples.push((group, text));
                }
            }
        }
    }
    partial
}

fn lin_op(call_us: u64, return_us: u64, action: Action, op: Option<u64>) -> LinOp {
    LinOp {
        call_us,
        return_us: return_us.max(call_us),
        action,
        op,
    }
}

enum Outcome {
    Linearizable,
    OverBudget,
    /// The range of the history (a segment) that has no linearization, and the write
    /// that set the register's state before it.
    Violation(std::ops::Range<usize>, Option<LinOp>),
}

/// Check one history sorted by call time, segment by segment.
fn check_history(history: &[LinOp], states_max: u64) -> (Outcome, u64) {
    let mut state: State = None;
    let mut source: Option<LinOp> = None;
    let mut states = 0u64;
    let mut start = 0;
    let mut horizon = 0u64;
    for i in 0..=history.len() {
        let cut = i == history.len() || (i > start && history[i].call_us > horizon);
        if cut && i > start {
            let segment = &history[start..i];
            match search(segment, state, states_max.saturating_sub(states)) {
                Search::Found(explored) => states += explored,
                Search::None(explored) => {
                    return (Outcome::Violation(start..i, source), states + explored);
                }
                Search::Budget(explored) => return (Outcome::OverBudget, states + explored),
            }
            for op in segment {
                if let Action::Write { stamp, value } = op.action {
                    let after = apply_write(state, stamp, value);
                    if after != state {
                        (state, source) = (after, Some(*op));
                    }
                }
            }
            start = i;
        }
        if let Some(op) = history.get(i) {
            horizon = if i == start {
                op.return_us
            } else {
                horizon.max(op.return_us)
            };
        }
    }
    (Outcome::Linearizable, states)
}

fn apply_write(state: State, stamp: Stamp, value: Option<ValueId>) -> State {
    match state {
        Some((s, _)) if s >= stamp => state,
        _ => Some((stamp, value)),
    }
}

/// One model step: the next state, or `None` if the op cannot happen in `state`.
fn step(state: State, action: Action) -> Option<State> {
    match action {
        Action::Write { stamp, value } => Some(apply_write(state, stamp, value)),
        Action::Read { stamp, value } => {
            let ok = match (state, value) {
                (None, None) | (Some((_, None)), None) => true,
                (Some((s, Some(v))), Some(read)) => v == read && stamp.is_none_or(|r| r == s),
                _ => false,
            };
            ok.then_some(state)
        }
    }
}

enum Search {
    Found(u64),
    None(u64),
    Budget(u64),
}

/// Deterministic hasher for the memo (membership only; never iterated).
type Memo =
    HashSet<(u64, u64, State), BuildHasherDefault<std::collections::hash_map::DefaultHasher>>;

/// Per-op keys for the incremental set hash.
fn mix(x: u64) -> u64 {
    dynasim_core::splitmix64(x)
}

/// Wing & Gong search with Lowe's memo over one segment. The linearized set is kept as
/// a 128-bit incremental hash (two independent XOR sums of per-op keys).
fn search(ops: &[LinOp], initial: State, budget: u64) -> Search {
    let n = ops.len();
    // Entries: 2n events (call of i = 2i, return of i = 2i + 1) in time order, as a doubly
    // linked list with a head sentinel at index 2n.
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call_us, false, i));
        events.push((op.return_us, true, i));
    }
    // Calls before returns at equal times: touching intervals are concurrent.
    events.sort_unstable_by_key(|(t, is_return, i)| (*t, *is_return, *i));
    let head = 2 * n;
    let mut next = vec![usize::MAX; 2 * n + 1];
    let mut prev = vec![usize::MAX; 2 * n + 1];
    let node = |(_, is_return, i): (u64, bool, usize)| 2 * i + usize::from(is_return);
    let mut last = head;
    for e in &events {
        let id = node(*e);
        next[last] = id;
        prev[id] = last;
        last = id;
    }
    let keys: Vec<(u64, u64)> = (0..n as u64)
        .map(|i| (mix(i), mix(i ^ 0x5555_5555_5555_5555)))
        .collect();
    let mut memo = Memo::default();
    let mut stack: Vec<(usize, State)> = Vec::new();
    let mut set = (0u64, 0u64);
    let mut state = initial;
    let mut explored = 0u64;
    let mut entry = next[head];
    while next[head] != usize::MAX {
        if entry == usize::MAX {
            // Cannot happen: the list always ends with a return event.
            return Search::None(explored);
        }
        let i = entry / 2;
        if entry % 2 == 0 {
            if let Some(after) = step(state, ops[i].action) {
                let candidate = (set.0 ^ keys[i].0, set.1 ^ keys[i].1);
                if memo.insert((candidate.0, candidate.1, after)) {
                    explored += 1;
                    if explored > budget {
                        return Search::Budget(explored);
                    }
                    stack.push((entry, state));
                    state = after;
                    set = candidate;
                    lift(&mut next, &mut prev, entry);
                    entry = next[head];
                    continue;
                }
            }
            entry = next[entry];
        } else {
            let Some((call, before)) = stack.pop() else {
                return Search::None(explored);
            };
            let j = call / 2;
            state = before;
            set = (set.0 ^ keys[j].0, set.1 ^ keys[j].1);
            unlift(&mut next, &mut prev, call);
            entry = next[call];
        }
    }
    Search::Found(explored)
}

/// Remove a call and its return from the list.
fn lift(next: &mut [usize], prev: &mut [usize], call: usize) {
    for node in [call, call + 1] {
        let (p, n) = (prev[node], next[node]);
        next[p] = n;
        if n != usize::MAX {
            prev[n] = p;
        }
    }
}

/// Put a call and its return back (reverse order of `lift`).
fn unlift(next: &mut [usize], prev: &mut [usize], call: usize) {
    for node in [call + 1, call] {
        let (p, n) = (prev[node], next[node]);
        next[p] = node;
        if n != usize::MAX {
            prev[n] = node;
        }
    }
}

fn describe_violation(
    run: &RunOutput,
    group: Group,
    segment: &[LinOp],
    before: Option<LinOp>,
) -> String {
    let place = if group.1 == u16::MAX {
        "all regions".to_string()
    } else {
        d::region(run, dynasim_core::RegionId(group.1))
    };
    let describe = |op: &LinOp| {
        let who = op
            .op
            .map_or("replicated apply".to_string(), |id| format!("op {id}"));
        let span = format!(
            "[{}, {}]",
            d::time(op.call_us),
            if op.return_us == u64::MAX {
                "unknown".to_string()
            } else {
                d::time(op.return_us)
            }
        );
        match op.action {
            Action::Write { stamp, value } => format!(
                "{who} {span} writes {} stamped {}",
                value.map_or("a delete".to_string(), |v| format!("value {v}")),
                d::stamp(run, stamp)
            ),
            Action::Read { stamp, value } => format!(
                "strong read {who} {span} returns {}",
                match value {
                    Some(v) => format!("value {v} ({})", d::opt_stamp(run, stamp)),
                    None => "nothing".to_string(),
                }
            ),
        }
    };
    let ops: Vec<String> = segment.iter().take(8).map(describe).collect();
    let start = match &before {
        Some(op) => format!("after {}", describe(op)),
        None => "from an empty register".to_string(),
    };
    format!(
        "{} in {place}: no linearization of {} on an LWW register {start}: {}{}",
        d::key(group.0),
        match segment.len() {
            1 => "this op".to_string(),
            n => format!("these {n} concurrent ops"),
        },
        ops.join("; "),
        if segment.len() > 8 { "; ..." } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynasim_core::RegionId;

    fn stamp(hlc_us: u64) -> Stamp {
        Stamp {
            hlc_us,
            region: RegionId(0),
            seq: hlc_us,
        }
    }
    fn write(call_us: u64, return_us: u64, s: u64, value: Option<u64>) -> LinOp {
        let action = Action::Write {
            stamp: stamp(s),
            value,
        };
        lin_op(call_us, return_us, action, Some(s))
    }
    fn read(call_us: u64, return_us: u64, s: Option<u64>, value: Option<u64>) -> LinOp {
        let action = Action::Read {
            stamp: s.map(stamp),
            value,
        };
        lin_op(call_us, return_us, action, None)
    }
    fn verdict(mut history: Vec<LinOp>) -> &'static str {
        history.sort_by_key(|op| (op.call_us, op.return_us));
        match check_history(&history, 10_000).0 {
            Outcome::Linearizable => "linearizable",
            Outcome::OverBudget => "over budget",
            Outcome::Violation(..) => "violation",
        }
    }

    #[test]
    fn concurrent_writes_seen_in_stamp_order_are_linearizable() {
        // Needs backtracking: linearizing w2 first makes r1 impossible.
        let h = vec![
            write(0, 100, 2, Some(2)),
            write(0, 100, 1, Some(1)),
            read(10, 50, Some(1), Some(1)),
            read(60, 90, Some(2), Some(2)),
        ];
        assert_eq!(verdict(h), "linearizable");
    }

    #[test]
    fn a_register_that_goes_back_in_stamps_is_not() {
        let h = vec![
            write(0, 100, 2, Some(2)),
            write(0, 100, 1, Some(1)),
            read(10, 50, Some(2), Some(2)),
            read(60, 90, Some(1), Some(1)),
        ];
        assert_eq!(verdict(h), "violation");
    }

    #[test]
    fn a_smaller_stamp_written_later_does_not_replace_the_value() {
        let h = vec![
            write(0, 10, 5, Some(5)),
            write(20, 30, 3, Some(3)), // LWW: loses at once
            read(40, 50, Some(5), Some(5)),
        ];
        assert_eq!(verdict(h), "linearizable");
    }

    #[test]
    fn deletes_read_as_absent() {
        let h = vec![
            write(0, 10, 1, Some(1)),
            write(20, 30, 2, None),
            read(40, 50, None, None),
        ];
        assert_eq!(verdict(h.clone()), "linearizable");
        let mut stale = h;
        stale.push(read(60, 70, Some(1), Some(1)));
        assert_eq!(verdict(stale), "violation");
    }

    #[test]
    fn an_unknown_write_may_take_effect_late() {
        let h = vec![
            write(0, u64::MAX, 1, Some(1)),
            read(10, 20, None, None),
            read(30, 40, Some(1), Some(1)),
        ];
        assert_eq!(verdict(h), "linearizable");
    }
}
