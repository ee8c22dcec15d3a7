//! Stream consumers: Lambda-style triggers and Kinesis-style readers attached to a
//! table's stream in some regions (scenario `[[consumer]]`).
//!
//! Each (consumer, region) reads its region's stream log in sequence order: a Lambda
//! polls four times a second, a Kinesis-style reader sees records `lag` after they were
//! written. Records go to one of `parallelization` lanes by key, so records of one item
//! stay in order (as DynamoDB Streams promise per item). A lane invokes the function on
//! up to `batch_size` records once it has that many or its oldest record has waited
//! `batching_window`; an invocation takes `processing_time` and fails with
//! `failure_rate` (drawn from the run's seed). A failed batch has done part of its work
//! (`partial_progress`): those records are delivered, and delivered again when the batch
//! is retried (at least once). With `bisect_on_error` a failing batch is split in half;
//! after `retry_attempts` retries the batch goes to the failure destination. Every
//! region's stream carries local and replicated writes (GT-16), so a trigger in each
//! region fires once per region for every write unless it filters on the
//! origin-region attribute the clients write (UC-03).

use crate::world::Shared;
use dynasim_core::RegionId;
use dynasim_core::history::{ConsumerStats, Delivery, KeyRef, ValueId};
use dynasim_engine::AttributeValue;
use dynasim_scenario::{Consumer, ConsumerBehaviour, ConsumerKind, Scenario};
use dynasim_tui::ConsumerRow;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How often consumers are stepped (invocations finish on this grid).
pub(crate) const STEP_US: u64 = 10_000;
/// A Lambda event source mapping polls each shard four times a second.
const LAMBDA_POLL_US: u64 = 250_000;
/// Stream records are kept 24 hours (ST-01).
const RETENTION_US: u64 = 24 * 3_600 * 1_000_000;
/// Records read but not yet processed, per consumer and region.
const BACKLOG_RECORDS_MAX: usize = 1_000_000;

#[derive(Clone, Debug)]
struct Record {
    sequence: u64,
    written_us: u64,
    key: u64,
    value: Option<ValueId>,
}

#[derive(Default)]
struct Lane {
    pending: VecDeque<Record>,
    /// The batch being processed: (records, finishes at, fails).
    in_flight: Option<(usize, u64, bool)>,
    /// Failed attempts of the batch at the front.
    attempts: u64,
    /// Bisection: the largest batch the next attempt may take.
    limit: usize,
}

struct Runtime {
    consumer: usize,
    spec: Consumer,
    region: RegionId,
    local_table: usize,
    table_name: String,
    partition_key: String,
    last_read: u128,
    next_poll_us: u64,
    lanes: Vec<Lane>,
    rng: ChaCha8Rng,
    stats: ConsumerStats,
    delivered: BTreeSet<u64>,
    view: BTreeMap<u64, Option<ValueId>>,
}

pub(crate) struct Consumers {
    runtimes: Vec<Runtime>,
}

impl Consumers {
    pub(crate) fn new(scenario: &Scenario, seed: u64, s: &Shared) -> Self {
        let mut runtimes = Vec::new();
        for (c, spec) in scenario.consumers.iter().enumerate() {
            for region in &spec.regions {
                let r = region.0 as usize;
                let Some(local_table) = s.local_table[r][spec.table] else {
                    continue;
                };
                let table = &scenario.tables[spec.table];
                runtimes.push(Runtime {
                    consumer: c,
                    spec: spec.clone(),
                    region: *region,
                    local_table,
                    table_name: table.name.clone(),
                    partition_key: table.partition_key.name.clone(),
                    last_read: 0,
                    next_poll_us: 0,
                    lanes: (0..spec.parallelization)
                        .map(|_| Lane {
                            limit: spec.batch_size as usize,
                            ..Lane::default()
                        })
                        .collect(),
                    rng: dynasim_workload::rng_for(seed, &format!("consumer/{c}/{}", region.0)),
                    stats: ConsumerStats {
                        consumer: c as u16,
                        region: *region,
                        ..ConsumerStats::default()
                    },
                    delivered: BTreeSet::new(),
                    view: BTreeMap::new(),
                });
            }
        }
        Consumers { runtimes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.runtimes.is_empty()
    }

    /// Advance every consumer to `now_us`. A consumer in a region that is down does
    /// nothing (its event source mapping runs in that region).
    pub(crate) fn step(
        &mut self,
        s: &mut Shared,
        region_down: impl Fn(RegionId) -> bool,
        now_us: u64,
    ) {
        for rt in &mut self.runtimes {
            if region_down(rt.region) {
                continue;
            }
            if now_us >= rt.next_poll_us {
                rt.poll(s, now_us);
            }
            rt.process(s, now_us);
        }
    }

    /// Records read or still unread by some consumer.
    pub(crate) fn caught_up(&self, s: &Shared) -> bool {
        self.runtimes.iter().all(|rt| {
            rt.lanes.iter().all(|l| l.pending.is_empty())
                && s.regions[rt.region.0 as usize]
                    .engine()
                    .stream_records_after(&rt.table_name, rt.last_read)
                    .is_empty()
        })
    }

    /// Every consumer's counters and lag now, for the live dashboard.
    pub(crate) fn gauges(&self, scenario: &Scenario, s: &Shared, now_us: u64) -> Vec<ConsumerRow> {
        self.runtimes
            .iter()
            .map(|rt| {
                let oldest_us = rt
                    .lanes
                    .iter()
                    .filter_map(|l| l.pending.front().map(|r| r.written_us))
                    .min();
                ConsumerRow {
                    name: scenario.consumers[rt.consumer].name.clone(),
                    region: s.region_names[rt.region.0 as usize].clone(),
                    invocations: rt.stats.invocations,
                    failed_invocations: rt.stats.failed_invocations,
                    duplicates: rt.stats.duplicates,
                    to_failure_destination: rt.stats.to_failure_destination,
                    backlog: rt.lanes.iter().map(|l| l.pending.len() as u64).sum(),
                    iterator_age_us: oldest_us.map_or(0, |t| now_us.saturating_sub(t)),
                }
            })
            .collect()
    }

    /// Final statistics, materialised views compared with their tables.
    pub(crate) fn finish(self, s: &mut Shared) {
        for rt in self.runtimes {
            let mut stats = rt.stats;
            stats.backlog = rt.lanes.iter().map(|l| l.pending.len() as u64).sum();
            if rt.spec.behaviour == ConsumerBehaviour::Materialize {
                stats.view_mismatches = Some(rt.view_mismatches(s));
            }
            s.output.consumers.push(stats);
        }
    }
}

impl Runtime {
    fn poll(&mut self, s: &mut Shared, now_us: u64) {
        self.next_poll_us = now_us
            + match self.spec.kind {
                ConsumerKind::Lambda => LAMBDA_POLL_US,
                ConsumerKind::Kinesis => STEP_US,
            };
        let engine = s.regions[self.region.0 as usize].engine();
        let visible_before_us = now_us.saturating_sub(self.spec.lag_us);
        let lanes = self.lanes.len() as u64;
        let backlog: usize = self.lanes.iter().map(|l| l.pending.len()).sum();
        let room = BACKLOG_RECORDS_MAX.saturating_sub(backlog);
        for (sequence, at, record) in engine
            .stream_records_after(&self.table_name, self.last_read)
            .into_iter()
            .take(room)
        {
            if at.as_us() > visible_before_us {
                break;
            }
            self.last_read = sequence;
            let image = record.dynamodb.new_image.as_ref();
            let Some(key) =
                dynasim_region::workload_key(&self.partition_key, &record.dynamodb.keys)
            else {
                continue;
            };
            if self.spec.filter_origin_region {
                // A REMOVE has no image and so no origin: it passes the filter (UC-04).
                let origin = image.and_then(|i| i.get(dynasim_region::ORIGIN_ATTRIBUTE));
                if origin.is_some_and(|o| *o != AttributeValue::n(&self.region.0.to_string())) {
                    self.stats.filtered += 1;
                    continue;
                }
            }
            let value = image
                .and_then(|i| i.get(dynasim_region::VALUE_ATTRIBUTE))
                .and_then(|v| match v {
                    AttributeValue::N(n) => n.to_string().parse().ok(),
                    _ => None,
                });
            let lane = (key % lanes) as usize;
            self.lanes[lane].pending.push_back(Record {
                sequence: sequence as u64,
                written_us: at.as_us(),
                key,
                value,
            });
        }
    }

    fn process(&mut self, s: &mut Shared, now_us: u64) {
        for lane in 0..self.lanes.len() {
            self.finish_batch(s, lane, now_us);
            self.expire(lane, now_us);
            self.start_batch(lane, now_us);
        }
    }

    fn finish_batch(&mut self, s: &mut Shared, lane: usize, now_us: u64) {
        let Some((len, done_us, fails)) = self.lanes[lane].in_flight else {
            return;
        };
        if now_us < done_us {
            return;
        }
        self.lanes[lane].in_flight = None;
        self.stats.invocations += 1;
        if !fails {
            let batch: Vec<Record> = self.lanes[lane].pending.drain(..len).collect();
            self.deliver(s, &batch, done_us);
            let l = &mut self.lanes[lane];
            l.attempts = 0;
            l.limit = self.spec.batch_size as usize;
            if self.spec.behaviour == ConsumerBehaviour::Notify {
                let detail = format!(
                    "consumer {} in {}: notified {} changes",
                    self.spec.name, s.region_names[self.region.0 as usize], len
                );
                let event =
                    crate::trace::Event::new(done_us, crate::trace::EventKind::Notify, detail);
                s.hasher.event(&event);
                s.output.events.push(event);
            }
            return;
        }
        self.stats.failed_invocations += 1;
        // The function got through part of the batch before failing: those side effects
        // happened, and will happen again on the retry.
        let done = (len as f64 * self.spec.partial_progress).floor() as usize;
        let prefix: Vec<Record> = self.lanes[lane]
            .pending
            .iter()
            .take(done)
            .cloned()
            .collect();
        self.deliver(s, &prefix, done_us);
        let l = &mut self.lanes[lane];
        l.attempts += 1;
        if self.spec.retry_attempts.is_some_and(|max| l.attempts > max) {
            let dropped = l.pending.drain(..len).count() as u64;
            self.stats.to_failure_destination += dropped;
            l.attempts = 0;
            l.limit = self.spec.batch_size as usize;
        } else if self.spec.bisect_on_error {
            l.limit = (len / 2).max(1);
        }
    }

    /// Records past the stream's retention are gone before they could be processed.
    fn expire(&mut self, lane: usize, now_us: u64) {
        let l = &mut self.lanes[lane];
        if l.in_flight.is_some() {
            return;
        }
        while l
            .pending
            .front()
            .is_some_and(|r| now_us.saturating_sub(r.written_us) > RETENTION_US)
        {
            l.pending.pop_front();
            self.stats.expired += 1;
        }
    }

    fn start_batch(&mut self, lane: usize, now_us: u64) {
        let l = &mut self.lanes[lane];
        if l.in_flight.is_some() || l.pending.is_empty() {
            return;
        }
        let full = l.pending.len() >= l.limit;
        let waited = l.pending.front().is_some_and(|r| {
            now_us.saturating_sub(r.written_us + self.spec.lag_us) >= self.spec.batching_window_us
        });
        if !full && !waited {
            return;
        }
        let len = l.pending.len().min(l.limit);
        let fails = self.spec.failure_rate > 0.0 && self.rng.random_bool(self.spec.failure_rate);
        l.in_flight = Some((len, now_us + self.spec.processing_time_us, fails));
    }

    fn deliver(&mut self, s: &mut Shared, records: &[Record], at_us: u64) {
        let table = self.spec.table as u16;
        for r in records {
            self.stats.records_delivered += 1;
            if !self.delivered.insert(r.sequence) {
                self.stats.duplicates += 1;
            }
            if self.spec.behaviour == ConsumerBehaviour::Materialize {
                self.view.insert(r.key, r.value);
            }
            s.output.deliveries.push(Delivery {
                consumer: self.consumer as u16,
                region: self.region,
                key: KeyRef { table, key: r.key },
                value: r.value,
                sequence: r.sequence,
                at_us,
                age_us: at_us.saturating_sub(r.written_us),
            });
        }
    }

    /// Keys on which the view and this region's table disagree.
    fn view_mismatches(&self, s: &Shared) -> u64 {
        let region = &s.regions[self.region.0 as usize];
        let mut keys: BTreeSet<u64> = self.view.keys().copied().collect();
        if let Some(items) = region.engine().iter_items(&self.table_name) {
            for (_, item) in items {
                if let Some(k) = dynasim_region::workload_key(&self.partition_key, item) {
                    keys.insert(k);
                }
            }
        }
        keys.into_iter()
            .filter(|k| {
                let table_value = region.value_of(self.local_table, *k).value;
                let view_value = self.view.get(k).copied().flatten();
                table_value != view_value
            })
            .count() as u64
    }
}
