//! A tiny hand-driven simulator: builds correct histories by construction (LWW replicas,
//! causal contexts, applies), which tests then break on purpose.

use dynasim_checker::{CheckConfig, Report, check};
use dynasim_core::history::{
    ApplyRecord, FinalVersion, KeyRef, OpKind, OpRecord, OpResult, ReadValue, RegionCounters,
    ReplicaState, RunOutput, Written,
};
use dynasim_core::{RegionId, Stamp};
use dynasim_scenario::Scenario;
use std::collections::{BTreeMap, BTreeSet};

pub const US: u16 = 0;
pub const EU: u16 = 1;
pub const AP: u16 = 2;

#[derive(Clone, Debug, Default)]
struct Stored {
    stamp: Option<Stamp>,
    value: Option<u64>,
    deleted: bool,
    context: Vec<u64>,
}

pub struct Sim {
    pub run: RunOutput,
    seq: Vec<u64>,
    stored: Vec<BTreeMap<KeyRef, Stored>>,
    replicated: BTreeSet<(u64, u16)>,
    next_id: u64,
    /// Latency of the next ops.
    pub latency_us: u64,
    /// Session of the next ops.
    pub session: u32,
}

pub fn key(k: u64) -> KeyRef {
    KeyRef { table: 0, key: k }
}

impl Sim {
    /// us-east-1 and eu-west-1.
    pub fn new() -> Sim {
        Sim::with_regions(&["us-east-1", "eu-west-1"])
    }

    pub fn with_regions(regions: &[&str]) -> Sim {
        Sim {
            run: RunOutput {
                scenario: "test".into(),
                seed: 1,
                epoch_unix_us: 0,
                duration_us: 100_000_000,
                region_names: regions.iter().map(|s| s.to_string()).collect(),
                history: Vec::new(),
                applies: Vec::new(),
                events: Vec::new(),
                replicas: Vec::new(),
                region_counters: vec![RegionCounters::default(); regions.len()],
                replication_counters: Vec::new(),
                capacity: Vec::new(),
                deliveries: Vec::new(),
                consumers: Vec::new(),
                table_counters: Vec::new(),
                trace_hash: String::new(),
            },
            seq: vec![0; regions.len()],
            stored: vec![BTreeMap::new(); regions.len()],
            replicated: BTreeSet::new(),
            next_id: 1,
            latency_us: 1_000,
            session: 0,
        }
    }

    pub fn put(&mut self, region: u16, k: u64, hlc_us: u64, at_us: u64) -> u64 {
        self.write(region, k, hlc_us, at_us, true)
    }

    pub fn delete(&mut self, region: u16, k: u64, hlc_us: u64, at_us: u64) -> u64 {
        self.write(region, k, hlc_us, at_us, false)
    }

    fn write(&mut self, region: u16, k: u64, hlc_us: u64, at_us: u64, put: bool) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let r = usize::from(region);
        self.seq[r] += 1;
        let stamp = Stamp {
            hlc_us,
            region: RegionId(region),
            seq: self.seq[r],
        };
        let value = put.then_some(id);
        let st = self.stored[r].entry(key(k)).or_default();
        let context_before = st.context.clone();
        let superseded_by = st.stamp.filter(|s| *s > stamp);
        let mut context = context_before.clone();
        set(&mut context, r, stamp.seq);
        if superseded_by.is_some() {
            st.context = context;
        } else {
            *st = Stored {
                stamp: Some(stamp),
                value,
                deleted: !put,
                context,
            };
        }
        self.run.history.push(OpRecord {
            id,
            session: self.session,
            region: RegionId(region),
            key: key(k),
            kind: if put { OpKind::Put } else { OpKind::Delete },
            strong: false,
            invoke_us: at_us,
            complete_us: at_us + self.latency_us,
            region_clock_us: hlc_us,
            result: OpResult::Ok,
            written: Some(Written {
                stamp,
                value,
                context: context_before,
                superseded_by,
            }),
            read: None,
            attempts: 1,
            txn: None,
        });
        id
    }

    /// Apply write `id` at region `to` at `at_us` (LWW, context merge), once.
    pub fn replicate(&mut self, id: u64, to: u16, at_us: u64) {
        if !self.replicated.insert((id, to)) {
            return;
        }
        let op = self.op(id).clone();
        let w = op.written.expect("replicating a write");
        let mut incoming = w.context.clone();
        set(&mut incoming, usize::from(w.stamp.region.0), w.stamp.seq);
        let st = self.stored[usize::from(to)].entry(op.key).or_default();
        let (lost_to, overwrote) = match st.stamp {
            Some(s) if s >= w.stamp => (Some(s), None),
            previous => {
                let concurrent = previous.filter(|p| {
                    incoming.get(usize::from(p.region.0)).copied().unwrap_or(0) < p.seq
                });
                st.stamp = Some(w.stamp);
                st.value = w.value;
                st.deleted = w.value.is_none();
                (None, concurrent)
            }
        };
        for (r, seen) in incoming.iter().enumerate() {
            set(&mut st.context, r, *seen);
        }
        self.run.applies.push(ApplyRecord {
            at_us,
            region: RegionId(to),
            key: op.key,
            stamp: w.stamp,
            written_at_us: op.invoke_us,
            lost_to,
            overwrote_concurrent: overwrote,
        });
    }

    /// Replicate every write not yet replicated to every other region, in op order.
    pub fn replicate_all(&mut self, at_us: u64) {
        let writes: Vec<(u64, u16)> = self
            .run
            .history
            .iter()
            .filter(|o| o.written.is_some())
            .map(|o| (o.id, o.region.0))
            .collect();
        for (id, origin) in writes {
            for to in 0..self.seq.len() as u16 {
                if to != origin {
                    self.replicate(id, to, at_us);
                }
            }
        }
    }

    /// A read of what `region` stores now.
    pub fn get(&mut self, region: u16, k: u64, at_us: u64, strong: bool) -> u64 {
        let st = self.stored[usize::from(region)]
            .get(&key(k))
            .cloned()
            .unwrap_or_default();
        let (value, stamp) = if st.deleted || st.stamp.is_none() {
            (None, None)
        } else {
            (st.value, st.stamp)
        };
        self.read(region, k, at_us, strong, value, stamp)
    }

    /// A read that returned exactly this.
    pub fn read(
        &mut self,
        region: u16,
        k: u64,
        at_us: u64,
        strong: bool,
        value: Option<u64>,
        stamp: Option<Stamp>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.run.history.push(OpRecord {
            id,
            session: self.session,
            region: RegionId(region),
            key: key(k),
            kind: OpKind::Get,
            strong,
            invoke_us: at_us,
            complete_us: at_us + self.latency_us,
            region_clock_us: at_us,
            result: OpResult::Ok,
            written: None,
            read: Some(ReadValue { value, stamp }),
            attempts: 1,
            txn: None,
        });
        id
    }

    /// An op of `kind` that ended with `result` (no effect).
    pub fn failed(&mut self, region: u16, kind: OpKind, at_us: u64, result: OpResult) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.run.history.push(OpRecord {
            id,
            session: self.session,
            region: RegionId(region),
            key: key(0),
            kind,
            strong: false,
            invoke_us: at_us,
            complete_us: at_us + self.latency_us,
            region_clock_us: at_us,
            result,
            written: None,
            read: None,
            attempts: 1,
            txn: None,
        });
        id
    }

    pub fn op(&self, id: u64) -> &OpRecord {
        self.run
            .history
            .iter()
            .find(|o| o.id == id)
            .expect("op id exists")
    }

    pub fn op_mut(&mut self, id: u64) -> &mut OpRecord {
        self.run
            .history
            .iter_mut()
            .find(|o| o.id == id)
            .expect("op id exists")
    }

    pub fn stamp(&self, id: u64) -> Stamp {
        self.op(id).written.as_ref().expect("a write").stamp
    }

    /// The run, with final replica states taken from the simulated replicas.
    pub fn finish(mut self) -> RunOutput {
        for (r, stored) in self.stored.iter().enumerate() {
            let versions: Vec<FinalVersion> = stored
                .iter()
                .filter_map(|(k, st)| {
                    st.stamp.map(|stamp| FinalVersion {
                        key: *k,
                        stamp,
                        value: if st.deleted { None } else { st.value },
                        deleted: st.deleted,
                    })
                })
                .collect();
            self.run.replicas.push(ReplicaState {
                region: RegionId(r as u16),
                table: 0,
                tombstones: versions.iter().filter(|v| v.deleted).count(),
                versions,
                backlog: (0..self.seq.len() as u16)
                    .filter(|p| usize::from(*p) != r)
                    .map(|p| (RegionId(p), 0))
                    .collect(),
            });
        }
        self.run.history.sort_by_key(|o| (o.complete_us, o.id));
        self.run
    }
}

fn set(context: &mut Vec<u64>, r: usize, seq: u64) {
    if context.len() <= r {
        context.resize(r + 1, 0);
    }
    context[r] = context[r].max(seq);
}

/// Two regions, one table in both, phases `warmup` (0-10 s) and `steady` (10-100 s);
/// `extra` adds faults and assertions.
pub fn scenario(extra: &str) -> Scenario {
    let text = format!(
        r#"
schema = 1
[meta]
name = "checker-test"
[sim]
duration = "100s"
epoch = "2025-01-01T00:00:00Z"
[[region]]
name = "us-east-1"
azs = ["use1-az1", "use1-az2", "use1-az4"]
[[region]]
name = "eu-west-1"
azs = ["euw1-az1", "euw1-az2", "euw1-az3"]
[[table]]
name = "items"
partition_key = {{ name = "pk", type = "S" }}
replicas = ["us-east-1", "eu-west-1"]
[[phase]]
name = "warmup"
duration = "10s"
rate = {{ constant = 10 }}
clients = {{ us-east-1 = 1.0, eu-west-1 = 1.0 }}
mix = {{ get = 50, put = 50 }}
keys = {{ table = "items", count = 10 }}
[[phase]]
name = "steady"
duration = "90s"
rate = {{ constant = 10 }}
clients = {{ us-east-1 = 1.0, eu-west-1 = 1.0 }}
mix = {{ get = 50, put = 50 }}
keys = {{ table = "items", count = 10 }}
{extra}
"#
    );
    match Scenario::from_str(&text, "test.toml") {
        Ok(s) => s,
        Err(e) => panic!("test scenario does not load: {e}"),
    }
}

pub fn check_default(scenario: &Scenario, run: &RunOutput) -> Report {
    check(scenario, run, &CheckConfig::default())
}

/// The verdict named `name`, or a panic listing the names there are.
pub fn verdict<'a>(report: &'a Report, name: &str) -> &'a dynasim_checker::Verdict {
    report.verdict(name).unwrap_or_else(|| {
        let names: Vec<&str> = report
            .verdicts
            .iter()
            .map(|v| v.assertion.as_str())
            .collect();
        panic!("no verdict {name:?}; there are {names:?}")
    })
}
