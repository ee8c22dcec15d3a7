//! Classification throughput on a synthetic 1M-op history (issue #7: >= 1M ops/s on one
//! core), and the cost of a whole report over the same run.
//!
//! The history: 3 regions, 100_000 keys, 70 % writes (a tenth of them concurrent with
//! the previous write of their key, a few deletes), 30 % eventually consistent reads,
//! every write applied in the two other regions, final replica states consistent.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dynasim_checker::{CheckConfig, check, classify_writes};
use dynasim_core::history::{
    ApplyRecord, FinalVersion, KeyRef, OpKind, OpRecord, OpResult, ReadValue, ReplicaState,
    RunOutput, Written,
};
use dynasim_core::{RegionId, Stamp};
use dynasim_scenario::Scenario;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

const OPS: u64 = 1_000_000;
const KEYS: u64 = 100_000;
const REGIONS: u16 = 3;

/// A 64-bit LCG step and a mixed output: deterministic, dependency-free.
fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let x = *state;
    (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 11
}

fn synthetic_run() -> RunOutput {
    let mut rng = 7u64;
    let mut seq = [0u64; REGIONS as usize];
    // Per key: the last write's stamp, value and its context including itself.
    let mut latest: BTreeMap<u64, (Stamp, Option<u64>, Vec<u64>)> = BTreeMap::new();
    let mut history = Vec::with_capacity(OPS as usize);
    let mut applies = Vec::with_capacity(OPS as usize * 2);
    for id in 1..=OPS {
        let r = (next(&mut rng) % u64::from(REGIONS)) as u16;
        let k = next(&mut rng) % KEYS;
        let key = KeyRef { table: 0, key: k };
        let t_us = id * 50;
        let roll = next(&mut rng) % 100;
        let mut op = OpRecord {
            id,
            session: u32::from(r) * 16 + (id % 16) as u32,
            region: RegionId(r),
            key,
            kind: OpKind::Get,
            strong: false,
            invoke_us: t_us,
            complete_us: t_us + 2_000 + next(&mut rng) % 3_000,
            region_clock_us: t_us,
            result: OpResult::Ok,
            written: None,
            read: None,
            attempts: 1,
            txn: None,
        };
        if roll < 30 {
            let seen = latest.get(&k);
            op.read = Some(ReadValue {
                value: seen.and_then(|s| s.1),
                stamp: seen.filter(|s| s.1.is_some()).map(|s| s.0),
            });
        } else {
            seq[r as usize] += 1;
            let stamp = Stamp {
                hlc_us: t_us,
                region: RegionId(r),
                seq: seq[r as usize],
            };
            let delete = roll >= 97;
            op.kind = if delete { OpKind::Delete } else { OpKind::Put };
            let mut context = latest
                .get(&k)
                .map_or_else(|| vec![0; REGIONS as usize], |l| l.2.clone());
            if let Some(previous) = latest.get(&k)
                && next(&mut rng).is_multiple_of(10)
            {
                // Concurrent: this region had not seen the previous write yet.
                let p = usize::from(previous.0.region.0);
                if p != usize::from(r) {
                    context[p] = context[p].saturating_sub(1).min(previous.0.seq - 1);
                }
            }
            let value = (!delete).then_some(id);
            op.written = Some(Written {
                stamp,
                value,
                context: context.clone(),
                superseded_by: None,
            });
            context[usize::from(r)] = stamp.seq;
            latest.insert(k, (stamp, value, context));
            for to in (0..REGIONS).filter(|to| *to != r) {
                applies.push(ApplyRecord {
                    at_us: t_us + 80_000,
                    region: RegionId(to),
                    key,
                    stamp,
                    written_at_us: t_us,
                    lost_to: None,
                    overwrote_concurrent: None,
                });
            }
        }
        history.push(op);
    }
    let versions: Vec<FinalVersion> = latest
        .iter()
        .map(|(k, (stamp, value, _))| FinalVersion {
            key: KeyRef { table: 0, key: *k },
            stamp: *stamp,
            value: *value,
            deleted: value.is_none(),
        })
        .collect();
    let replicas = (0..REGIONS)
        .map(|r| ReplicaState {
            region: RegionId(r),
            table: 0,
            versions: versions.clone(),
            tombstones: versions.iter().filter(|v| v.deleted).count(),
            backlog: Vec::new(),
        })
        .collect();
    history.sort_by_key(|o| (o.complete_us, o.id));
    RunOutput {
        scenario: "bench".into(),
        seed: 1,
        epoch_unix_us: 0,
        duration_us: OPS * 50 + 1_000_000,
        region_names: vec![
            "us-east-1".into(),
            "eu-west-1".into(),
            "ap-northeast-1".into(),
        ],
        history,
        applies,
        events: Vec::new(),
        replicas,
        region_counters: Vec::new(),
        replication_counters: Vec::new(),
        capacity: Vec::new(),
        deliveries: Vec::new(),
        consumers: Vec::new(),
        table_counters: Vec::new(),
        trace_hash: String::new(),
    }
}

fn scenario() -> Scenario {
    let text = r#"
schema = 1
[meta]
name = "bench"
[sim]
duration = "60s"
epoch = "2025-01-01T00:00:00Z"
[[region]]
name = "us-east-1"
azs = ["use1-az1", "use1-az2", "use1-az4"]
[[region]]
name = "eu-west-1"
azs = ["euw1-az1", "euw1-az2", "euw1-az3"]
[[region]]
name = "ap-northeast-1"
azs = ["apne1-az1", "apne1-az2", "apne1-az4"]
[[table]]
name = "items"
partition_key = { name = "pk", type = "S" }
replicas = ["us-east-1", "eu-west-1", "ap-northeast-1"]
[[phase]]
name = "steady"
duration = "60s"
rate = { constant = 20000 }
clients = { us-east-1 = 1.0, eu-west-1 = 1.0, ap-northeast-1 = 1.0 }
mix = { get = 30, put = 67, delete = 3 }
keys = { table = "items", count = 100000 }
[[assert]]
kind = "latency"
op = "get"
region = "each"
quantile = 0.99
max = "10ms"
[[assert]]
kind = "stale_read_ratio"
max = 0.05
staleness = "1s"
[[assert]]
kind = "replication_lag"
quantile = 0.99
max = "1s"
[[assert]]
kind = "converged"
within = "10s"
"#;
    Scenario::from_str(text, "bench.toml").expect("bench scenario loads")
}

fn bench(c: &mut Criterion) {
    let run = synthetic_run();
    let config = CheckConfig::default();
    let summary = classify_writes(&run, &config);
    assert_eq!(
        summary.bugs(),
        0,
        "the synthetic history is correct: {summary:#?}"
    );
    let mut group = c.benchmark_group("checker");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(OPS));
    group.bench_function("classify_writes 1M ops", |b| {
        b.iter(|| black_box(classify_writes(black_box(&run), &config)))
    });
    let scenario = scenario();
    group.bench_function("check (whole report) 1M ops", |b| {
        b.iter(|| black_box(check(&scenario, black_box(&run), &config)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
