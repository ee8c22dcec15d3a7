//! Simulated clients: open-model arrivals per region and phase, the op mix, retries of
//! throttled or failed requests with exponential backoff and full jitter (as the AWS
//! SDKs do, ER-02), and failover to another region when the home region is down.

use crate::faults::ActiveFaults;
use crate::world::Shared;
use dynasim_core::RegionId;
use dynasim_core::history::{KeyRef, OpKind, OpRecord, OpResult, ReadValue, TxnPart, Written};
use dynasim_region::{ClientOp, TxnItemServed};
use dynasim_scenario::{Phase, ReadConsistency, RetryPolicy, Scenario};
use dynasim_workload::{Arrivals, Chooser, phase_rate, rng_for, transaction_group};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Simulated client sessions per region (for session guarantees in the checker).
const SESSIONS_PER_REGION: u64 = 16;
/// How long a client waits for an unreachable region before giving up on an attempt.
const CLIENT_TIMEOUT_US: u64 = 1_000_000;
/// The AWS SDKs' standard retry mode: 3 attempts, 50 ms base, 20 s cap.
const DEFAULT_RETRY: RetryPolicy = RetryPolicy {
    attempts_max: 3,
    base_us: 50_000,
    max_us: 20_000_000,
};

#[derive(Clone, Debug)]
struct Pending {
    op: ClientOp,
    phase: usize,
    home: RegionId,
    session: u32,
    invoke_us: u64,
    attempts: u32,
}

pub(crate) struct Clients {
    phases: Vec<Phase>,
    choosers: Vec<Chooser>,
    arrivals: Vec<Arrivals>,
    retry_rng: ChaCha8Rng,
    /// Attempts due in later windows, and retries: (due time, op id) -> op.
    queue: BTreeMap<(u64, u64), Pending>,
    /// This window's arrivals, sorted by (arrival time, op id): every arrival is due in
    /// the window it arrives in, so first attempts need no trip through `queue`.
    arrived: Vec<Pending>,
    /// Arrival times of one region's clients in the window being drawn (kept to reuse).
    arrival_times_us: Vec<u64>,
    next_op_id: u64,
    mrsc: crate::mrsc::Mrsc,
}

impl Clients {
    pub(crate) fn new(scenario: &Scenario, seed: u64) -> Self {
        Clients {
            phases: scenario.phases.clone(),
            choosers: scenario
                .phases
                .iter()
                .enumerate()
                .map(|(i, p)| Chooser::new(seed, i, p))
                .collect(),
            arrivals: scenario
                .regions
                .iter()
                .map(|r| Arrivals::new(seed, r.id))
                .collect(),
            retry_rng: rng_for(seed, "client-retries"),
            queue: BTreeMap::new(),
            arrived: Vec::new(),
            arrival_times_us: Vec::new(),
            next_op_id: 1,
            mrsc: crate::mrsc::Mrsc::default(),
        }
    }

    /// Generate arrivals in `[from_us, to_us)` and run every attempt due in it.
    pub(crate) fn run_window(
        &mut self,
        shared: &Rc<RefCell<Shared>>,
        faults: &ActiveFaults,
        from_us: u64,
        to_us: u64,
    ) {
        self.arrive(faults, from_us, to_us);
        // Attempts run in (due time, op id) order across both sources; a retry an
        // attempt schedules inside this window joins the queue and the merge.
        let mut buffer = std::mem::take(&mut self.arrived);
        let mut arrived = buffer.drain(..).peekable();
        loop {
            let queued = self
                .queue
                .first_key_value()
                .map(|(key, _)| *key)
                .filter(|(at_us, _)| *at_us < to_us);
            let fresh = arrived.peek().map(|p| (p.invoke_us, p.op.value));
            let (at_us, pending) = match (queued, fresh) {
                (Some(q), Some(f)) if q < f => self.pop_queued(),
                (Some(_), None) => self.pop_queued(),
                (_, Some((at_us, _))) => (at_us, arrived.next().expect("peeked")),
                (None, None) => break,
            };
            self.attempt(shared, faults, at_us, pending);
        }
        // Hand the (emptied) buffer back for the next window.
        drop(arrived);
        self.arrived = buffer;
    }

    fn pop_queued(&mut self) -> (u64, Pending) {
        let ((at_us, _), pending) = self.queue.pop_first().expect("a queued attempt");
        (at_us, pending)
    }

    fn arrive(&mut self, faults: &ActiveFaults, from_us: u64, to_us: u64) {
        let mut times = std::mem::take(&mut self.arrival_times_us);
        for (pi, phase) in self.phases.iter().enumerate() {
            if from_us < phase.start_us || from_us >= phase.start_us + phase.duration_us {
                continue;
            }
            let total: f64 = phase.clients.iter().map(|(_, w)| w).sum();
            for (region, weight) in &phase.clients {
                let share = if total > 0.0 { weight / total } else { 0.0 };
                let rate = phase_rate(phase, from_us - phase.start_us)
                    * share
                    * faults.traffic_multiplier(*region, from_us);
                times.clear();
                self.arrivals[region.0 as usize].take(from_us, to_us, rate, &mut times);
                for at_us in times.iter().copied() {
                    let chooser = &mut self.choosers[pi];
                    let kind = chooser.op();
                    let (key, items) = match kind {
                        OpKind::Transaction | OpKind::TransactGet => transaction_group(
                            chooser.key(),
                            phase.transaction_items,
                            phase.keys.count,
                        ),
                        _ => (chooser.key(), 1),
                    };
                    let item_bytes = chooser.item_bytes();
                    let id = self.next_op_id;
                    self.next_op_id += 1;
                    let op = ClientOp {
                        kind,
                        table: phase.keys.table,
                        key,
                        value: id,
                        item_bytes,
                        strong: phase.reads == ReadConsistency::Strong,
                        expire_after_us: phase.expire_after_us,
                        items,
                        index: phase.index.unwrap_or(0) as u8,
                    };
                    let session = region.0 as u32 * SESSIONS_PER_REGION as u32
                        + (id % SESSIONS_PER_REGION) as u32;
                    let pending = Pending {
                        op,
                        phase: pi,
                        home: *region,
                        session,
                        invoke_us: at_us,
                        attempts: 0,
                    };
                    debug_assert!(
                        at_us >= from_us && at_us < to_us,
                        "arrivals fall in the window"
                    );
                    self.arrived.push(pending);
                }
            }
        }
        self.arrival_times_us = times;
        // Each region's arrivals come in time order; the regions' interleave.
        self.arrived
            .sort_unstable_by_key(|p| (p.invoke_us, p.op.value));
    }

    /// Where the op goes: home, or the failover region when home is down.
    fn target(&self, faults: &ActiveFaults, pending: &Pending, at_us: u64) -> Option<RegionId> {
        if !faults.region_down(pending.home, at_us) {
            return Some(pending.home);
        }
        let phase = &self.phases[pending.phase];
        let failover = faults.failover_for(pending.home, at_us).or_else(|| {
            phase
                .failover
                .iter()
                .find(|(from, _)| *from == pending.home)
                .map(|(_, to)| *to)
        })?;
        let reachable = !faults.region_down(failover, at_us)
            && !faults.partitioned(pending.home, failover, at_us);
        reachable.then_some(failover)
    }

    fn attempt(
        &mut self,
        shared: &Rc<RefCell<Shared>>,
        faults: &ActiveFaults,
        at_us: u64,
        mut pending: Pending,
    ) {
        pending.attempts += 1;
        let target = self.target(faults, &pending, at_us);
        let mut s = shared.borrow_mut();
        let s = &mut *s;
        let (region, outcome) = match target {
            None => (
                pending.home,
                Outcome::failed(OpResult::Unknown, CLIENT_TIMEOUT_US),
            ),
            Some(target) => {
                let t = target.0 as usize;
                let Some(local_table) = s.local_table[t][pending.op.table] else {
                    let result = OpResult::Failed("ResourceNotFoundException".into());
                    let outcome = Outcome::failed(result, 1_000);
                    return self.finish_op(s, &pending, target, at_us, outcome);
                };
                let wall = wall_clock_us(s, faults, target, at_us);
                let served = if s.mrsc_tables[pending.op.table] {
                    self.mrsc.serve(s, faults, target, &pending.op, at_us, wall)
                } else {
                    let mut op = pending.op;
                    op.table = local_table;
                    s.regions[t].execute(&op, at_us, wall, &mut s.region_rngs[t])
                };
                let hop_us = if target == pending.home {
                    0
                } else {
                    2 * faults.one_way_us[pending.home.0 as usize][t]
                };
                let outcome = Outcome {
                    result: served.result,
                    latency_us: served.latency_us + hop_us,
                    written: served.written,
                    read: served.read,
                    items: served.items,
                };
                (target, outcome)
            }
        };
        if retryable(&outcome.result) && pending.attempts < self.policy(pending.phase).attempts_max
        {
            let policy = self.policy(pending.phase);
            let cap = policy.max_us.min(
                policy
                    .base_us
                    .saturating_mul(1 << (pending.attempts - 1).min(20)),
            );
            let backoff = self.retry_rng.random_range(0..=cap.max(1));
            let id = pending.op.value;
            self.queue
                .insert((at_us + outcome.latency_us + backoff, id), pending);
            return;
        }
        self.finish_op(s, &pending, region, at_us, outcome);
    }

    fn policy(&self, phase: usize) -> RetryPolicy {
        self.phases[phase].retry.unwrap_or(DEFAULT_RETRY)
    }

    /// Record a finished op: one record, or one per item of a transaction (all with the
    /// op's id, result and latency; see [`TxnPart`]).
    fn finish_op(
        &self,
        s: &mut Shared,
        pending: &Pending,
        region: RegionId,
        at_us: u64,
        outcome: Outcome,
    ) {
        let complete_us = at_us + outcome.latency_us;
        let record = OpRecord {
            id: pending.op.value,
            session: pending.session,
            region,
            key: KeyRef {
                table: pending.op.table as u16,
                key: pending.op.key,
            },
            kind: pending.op.kind,
            strong: (pending.op.strong && pending.op.kind == OpKind::Get)
                || pending.op.kind == OpKind::TransactGet,
            invoke_us: pending.invoke_us,
            complete_us,
            region_clock_us: at_us, // replaced below with the serving region's clock
            result: outcome.result,
            written: outcome.written,
            read: outcome.read,
            attempts: pending.attempts,
            txn: None,
        };
        if !matches!(pending.op.kind, OpKind::Transaction | OpKind::TransactGet) {
            push_record(s, record);
            return;
        }
        let items = pending.op.items.max(1);
        for index in 0..items {
            let key = pending.op.key + u64::from(index);
            let served = outcome.items.iter().find(|item| item.key == key);
            let mut part = record.clone();
            part.key.key = key;
            part.written = served.and_then(|item| item.written.clone());
            part.read = served.and_then(|item| item.read.clone());
            part.txn = Some(TxnPart { index, items });
            push_record(s, part);
        }
    }

    /// Ops still waiting for a retry at the end of the run are recorded as unknown.
    pub(crate) fn finish(&mut self, shared: &Rc<RefCell<Shared>>, end_us: u64) {
        let mut s = shared.borrow_mut();
        let pending: Vec<Pending> = std::mem::take(&mut self.queue).into_values().collect();
        for p in pending {
            let latency = end_us.saturating_sub(p.invoke_us);
            self.finish_op(
                &mut s,
                &p,
                p.home,
                p.invoke_us,
                Outcome::failed(OpResult::Unknown, latency),
            );
        }
    }
}

/// How one attempt ended, as the client saw it.
struct Outcome {
    result: OpResult,
    latency_us: u64,
    written: Option<Written>,
    read: Option<ReadValue>,
    /// A transaction's items (see [`dynasim_region::Served::items`]).
    items: Vec<TxnItemServed>,
}

impl Outcome {
    fn failed(result: OpResult, latency_us: u64) -> Self {
        Outcome {
            result,
            latency_us,
            written: None,
            read: None,
            items: Vec::new(),
        }
    }
}

fn push_record(s: &mut Shared, mut record: OpRecord) {
    record.region_clock_us = record
        .written
        .as_ref()
        .map_or(record.region_clock_us, |w| w.stamp.hlc_us);
    s.hasher.op(&record);
    s.completions.hold(record);
}

fn retryable(result: &OpResult) -> bool {
    match result {
        OpResult::Failed(kind) => matches!(
            kind.as_str(),
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable"
        ),
        OpResult::Unknown => true,
        OpResult::Ok => false,
    }
}

/// A region's wall clock: epoch + true time + the offset its clock faults put in force.
pub(crate) fn wall_clock_us(
    s: &Shared,
    faults: &ActiveFaults,
    region: RegionId,
    at_us: u64,
) -> u64 {
    let base = s.output.epoch_unix_us + at_us as i64;
    (base + faults.clock_offset_us(region, at_us)).max(0) as u64
}
