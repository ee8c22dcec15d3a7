//! Stream consumer checks: each write processed exactly once across the consumer's
//! regions (UC-03), iterator age quantiles, and materialised views equal to their tables.

use crate::perf::Measured;
use crate::tally::{Ordered, keep_first, sentences};
use crate::{Status, describe};
use dynasim_core::history::{KeyRef, RunOutput, ValueId};
use dynasim_scenario::Scenario;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Every acknowledged client put or update to the consumer's table, written in a region
/// where the consumer runs, is delivered exactly once in total across those regions. A
/// trigger in every region without an origin filter fails this (each write is processed
/// once per region, UC-03), and so does any redelivery after a failed batch. Observed
/// shard by shard: a shard holds the writes and the deliveries of its keys.
#[derive(Default)]
pub(crate) struct ExactlyOnce {
    consumer: usize,
    examples_max: usize,
    writes: u64,
    twice: u64,
    never: u64,
    /// In history order ((complete_us, op id)).
    evidence: Ordered<dynasim_core::history::HistoryOrder>,
}

impl ExactlyOnce {
    pub(crate) fn new(consumer: usize, examples_max: usize) -> ExactlyOnce {
        ExactlyOnce {
            consumer,
            examples_max,
            ..ExactlyOnce::default()
        }
    }

    pub(crate) fn observe(&mut self, scenario: &Scenario, run: &RunOutput) {
        let spec = &scenario.consumers[self.consumer];
        let mut delivered: BTreeMap<(KeyRef, ValueId), Vec<u16>> = BTreeMap::new();
        for d in run
            .deliveries
            .iter()
            .filter(|d| d.consumer as usize == self.consumer)
        {
            if let Some(v) = d.value {
                delivered.entry((d.key, v)).or_default().push(d.region.0);
            }
        }
        let mut evidence = Vec::new();
        for op in &run.history {
            let Some(w) = op.acknowledged_write() else {
                continue;
            };
            let Some(value) = w.value else { continue };
            if op.key.table as usize != spec.table
                || !spec.regions.contains(&op.region)
                || w.superseded_by.is_some()
            {
                continue;
            }
            self.writes += 1;
            let regions = delivered
                .get(&(op.key, value))
                .map_or(&[][..], |v| v.as_slice());
            let problem = match regions.len() {
                1 => continue,
                0 => {
                    self.never += 1;
                    "never processed".to_string()
                }
                n => {
                    self.twice += 1;
                    let names: Vec<String> = regions
                        .iter()
                        .map(|r| run.region_names[*r as usize].clone())
                        .collect();
                    format!("processed {n} times ({})", names.join(", "))
                }
            };
            if evidence.len() < self.examples_max {
                let text = format!(
                    "op {} ({} of key {} in {} at {}): {problem}",
                    op.id,
                    op.kind.name(),
                    op.key.key,
                    describe::region(run, op.region),
                    describe::time(op.complete_us)
                );
                evidence.push((op.history_order(), text));
            }
        }
        keep_first(&mut self.evidence, evidence, self.examples_max);
    }

    pub(crate) fn finish(self) -> Measured {
        let (writes, twice, never) = (self.writes, self.twice, self.never);
        let bad = twice + never;
        Measured {
            status: if writes == 0 {
                Status::Unknown
            } else if bad == 0 {
                Status::Pass
            } else {
                Status::Fail
            },
            observed: format!(
                "{twice} writes processed more than once, {never} never, of {writes}"
            ),
            observed_value: Some(bad as f64),
            bound: "each write exactly once".into(),
            evidence: sentences(self.evidence),
        }
    }
}

/// Iterator age at `quantile` over every delivery of the consumer.
pub(crate) fn iterator_age(
    run: &RunOutput,
    consumer: usize,
    quantile: f64,
    max_us: u64,
) -> Measured {
    // Up to two days (records live 24 h), 3 significant figures.
    let mut h = Histogram::<u64>::new_with_bounds(1, 2 * 86_400_000_000, 3)
        .expect("valid histogram bounds");
    for d in run
        .deliveries
        .iter()
        .filter(|d| d.consumer as usize == consumer)
    {
        h.saturating_record(d.age_us.max(1));
    }
    let bound = format!("<= {}", describe::duration(max_us));
    if h.is_empty() {
        return Measured {
            status: Status::Unknown,
            observed: "no samples".into(),
            observed_value: None,
            bound,
            evidence: vec!["the consumer processed nothing".into()],
        };
    }
    let value = h.value_at_quantile(quantile);
    Measured {
        status: if value <= max_us {
            Status::Pass
        } else {
            Status::Fail
        },
        observed: describe::duration(value),
        observed_value: Some(value as f64 / 1e3),
        bound,
        evidence: vec![format!(
            "{} deliveries, max {}",
            h.len(),
            describe::duration(h.max())
        )],
    }
}

/// Each region's materialised view equals the table there at the end of the run.
pub(crate) fn view_converged(run: &RunOutput, consumer: usize) -> Measured {
    let mut evidence = Vec::new();
    let mut mismatches = 0u64;
    let mut views = 0;
    for s in run
        .consumers
        .iter()
        .filter(|s| s.consumer as usize == consumer)
    {
        let Some(m) = s.view_mismatches else { continue };
        views += 1;
        mismatches += m;
        if m > 0 || s.backlog > 0 {
            evidence.push(format!(
                "{}: {m} keys differ, {} records unprocessed, {} sent to the failure destination",
                describe::region(run, s.region),
                s.backlog,
                s.to_failure_destination
            ));
        }
    }
    Measured {
        status: if views == 0 {
            Status::Unknown
        } else if mismatches == 0 {
            Status::Pass
        } else {
            Status::Fail
        },
        observed: format!("{mismatches} keys differ in {views} views"),
        observed_value: Some(mismatches as f64),
        bound: "0 keys".into(),
        evidence,
    }
}
