//! `dynasim bench`: how fast the simulator runs, measured in one process with a baseline
//! from the same run, printed as a table of ratios (never asserted in tests: machines are
//! noisy). The baseline drives exactly the same region, replication, client and checker
//! code through a plain event loop (a time-ordered message queue) instead of turmoil.

use crate::clients::Clients;
use crate::faults::ActiveFaults;
use crate::world::{RunOptions, Shared, build_shared};
use dynasim_checker::CheckConfig;
use dynasim_core::RegionId;
use dynasim_region::TableKey;
use dynasim_replication::Message;
use dynasim_scenario::Scenario;
use rand::Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant; // real time: this module measures wall-clock speed

const REGIONS: [(&str, [&str; 3]); 7] = [
    ("us-east-1", ["use1-az1", "use1-az2", "use1-az4"]),
    ("eu-west-1", ["euw1-az1", "euw1-az2", "euw1-az3"]),
    ("ap-northeast-1", ["apne1-az1", "apne1-az2", "apne1-az4"]),
    ("us-west-2", ["usw2-az1", "usw2-az2", "usw2-az3"]),
    ("eu-central-1", ["euc1-az1", "euc1-az2", "euc1-az3"]),
    ("ap-southeast-2", ["apse2-az1", "apse2-az2", "apse2-az3"]),
    ("us-east-2", ["use2-az1", "use2-az2", "use2-az3"]),
];

/// A steady MREC workload: `regions` regions, `rate` ops/s, `keys` keys, 200-byte items.
pub fn workload(regions: usize, rate: u64, duration_s: u64, keys: u64) -> Scenario {
    assert!((2..=7).contains(&regions));
    let mut toml = format!(
        "schema = 1\n[meta]\nname = \"bench\"\nseeds = [1]\n[sim]\nduration = \"{duration_s}s\"\nepoch = \"2025-01-01T00:00:00Z\"\n"
    );
    for (name, azs) in &REGIONS[..regions] {
        let _ = writeln!(
            toml,
            "[[region]]\nname = \"{name}\"\nazs = [\"{}\", \"{}\", \"{}\"]",
            azs[0], azs[1], azs[2]
        );
    }
    let names: Vec<String> = REGIONS[..regions]
        .iter()
        .map(|(n, _)| format!("\"{n}\""))
        .collect();
    let clients: Vec<String> = REGIONS[..regions]
        .iter()
        .map(|(n, _)| format!("\"{n}\" = 1"))
        .collect();
    let _ = write!(
        toml,
        "[[table]]\nname = \"bench\"\npartition_key = {{ name = \"pk\", type = \"S\" }}\nreplicas = [{}]\n\
         [[phase]]\nname = \"steady\"\nduration = \"{duration_s}s\"\nrate = {{ constant = {rate} }}\nclients = {{ {} }}\n\
         mix = {{ get = 50, put = 40, update = 5, delete = 5 }}\nkeys = {{ table = \"bench\", count = {keys}, dist = \"uniform\" }}\n\
         item_size = {{ dist = \"fixed\", size = \"200B\" }}\n",
        names.join(", "),
        clients.join(", ")
    );
    Scenario::from_str(&toml, "<bench>").expect("the bench workload is a valid scenario")
}

/// A message in flight: (sender, receiver's table, message).
type Mail = (
    RegionId,
    usize,
    Message<TableKey, Arc<dynasim_engine::Item>>,
);

/// Run a scenario through the plain event loop: same clients and regions, messages
/// delivered from a time-ordered queue with the scenario's link delays. Returns the
/// number of client operations completed.
pub fn run_event_loop(scenario: &Scenario, seed: u64) -> u64 {
    let options = RunOptions {
        seed,
        ..Default::default()
    };
    let shared = Rc::new(RefCell::new(build_shared(scenario, &options)));
    let faults = ActiveFaults::new(scenario);
    let mut clients = Clients::new(scenario, seed);
    let mut net = dynasim_workload::rng_for(seed, "baseline-network");
    let tick_us = scenario.sim.tick_us.max(1_000);
    let interval_us = shared.borrow().batch_interval_us;
    type Mail = (
        RegionId,
        usize,
        Message<TableKey, Arc<dynasim_engine::Item>>,
    );
    let mut queue: BTreeMap<(u64, u64), (usize, Mail)> = BTreeMap::new();
    let mut seq = 0u64;
    let mut next_poll_us = 0u64;
    let mut now_us = 0u64;
    let delay = |net: &mut rand_chacha::ChaCha8Rng, from: usize, to: usize| -> u64 {
        let link = scenario
            .link(RegionId(from as u16), RegionId(to as u16))
            .expect("distinct regions have a link");
        link.one_way_us + net.random_range(0..=link.jitter_us * 3)
    };
    while now_us < scenario.sim.duration_us {
        let next_us = now_us + tick_us;
        clients.run_window(&shared, &faults, now_us, next_us);
        let mut s = shared.borrow_mut();
        s.now_us = next_us;
        if next_us >= next_poll_us {
            next_poll_us = next_us + interval_us;
            for r in 0..s.regions.len() {
                for out in s.regions[r].poll_replication(next_us) {
                    let at = next_us + delay(&mut net, r, out.to.0 as usize);
                    schedule(&mut s, &mut queue, &mut seq, r, out, at);
                }
            }
        }
        while queue
            .first_key_value()
            .is_some_and(|((at, _), _)| *at <= next_us)
        {
            let (_, (to, (from, table, message))) = queue.pop_first().expect("checked non-empty");
            let s = &mut *s;
            let (applies, ack) =
                s.regions[to].on_replication(table, message, next_us, &mut s.region_rngs[to]);
            let global = s.global_table[to][table];
            for apply in &applies {
                s.record_apply(to, global, apply);
            }
            if let Some(message) = ack {
                let out = dynasim_region::Outgoing {
                    to: from,
                    table,
                    message,
                };
                let at = next_us + delay(&mut net, to, from.0 as usize);
                schedule(s, &mut queue, &mut seq, to, out, at);
            }
        }
        drop(s);
        now_us = next_us;
    }
    let ops = shared.borrow().output.history.len();
    ops as u64
}

fn schedule(
    s: &mut Shared,
    queue: &mut BTreeMap<(u64, u64), (usize, Mail)>,
    seq: &mut u64,
    from: usize,
    out: dynasim_region::Outgoing,
    at_us: u64,
) {
    let to = out.to.0 as usize;
    let global = s.global_table[from][out.table];
    let Some(their_table) = s.local_table[to][global] else {
        return;
    };
    *seq += 1;
    queue.insert(
        (at_us, *seq),
        (to, (RegionId(from as u16), their_table, out.message)),
    );
}

/// One measured configuration: median, min and max over `runs`.
struct Measured {
    wall_s: Vec<f64>,
    ops: u64,
    simulated_s: f64,
}

impl Measured {
    fn median(&self) -> f64 {
        let mut v = self.wall_s.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    fn min(&self) -> f64 {
        self.wall_s.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn max(&self) -> f64 {
        self.wall_s.iter().copied().fold(0.0, f64::max)
    }
}

fn measure(runs: usize, mut f: impl FnMut() -> u64, simulated_s: f64) -> Measured {
    let mut wall_s = Vec::new();
    let mut ops = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now(); // real time: measuring wall-clock speed
        ops = f();
        wall_s.push(started.elapsed().as_secs_f64());
    }
    Measured {
        wall_s,
        ops,
        simulated_s,
    }
}

fn turmoil_run(scenario: &Scenario, seed: u64) -> u64 {
    crate::world::run(
        scenario,
        &RunOptions {
            seed,
            ..Default::default()
        },
    )
    .expect("bench runs")
    .history
    .len() as u64
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Fitted growth exponent between the first and last point (1.0 = linear).
fn exponent(points: &[(f64, f64)]) -> f64 {
    let (x0, y0) = points[0];
    let (x1, y1) = points[points.len() - 1];
    (y1 / y0).ln() / (x1 / x0).ln()
}

/// Run the benchmark table; `quick` shortens every run (for smoke checks).
pub fn run_bench(runs: usize, quick: bool) -> String {
    let scale = if quick { 10 } else { 1 };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# dynasim bench\n\nmachine: {}  \ncommit: {}  \nruns per figure: {runs} (median, min..max)\n",
        machine(),
        commit()
    );
    let _ = writeln!(
        out,
        "## Simulation speed vs the plain event-loop baseline (same region, replication and client code)\n\n\
         | workload | turmoil: x real time | turmoil: client ops per CPU-s | event loop: x real time | turmoil / event loop wall time |\n|---|---|---|---|---|"
    );
    for (regions, rate, duration_s) in [
        (3, 1_000, 600),
        (3, 10_000, 60),
        (5, 1_000, 600),
        (5, 10_000, 60),
    ] {
        let duration_s = (duration_s / scale).max(6);
        let scenario = workload(regions, rate, duration_s, 100_000);
        let t = measure(runs, || turmoil_run(&scenario, 1), duration_s as f64);
        let e = measure(runs, || run_event_loop(&scenario, 1), duration_s as f64);
        let _ = writeln!(
            out,
            "| {regions} regions, {rate} ops/s, {duration_s} s | {:.0}x ({:.0}..{:.0}) | {:.0} | {:.0}x | {:.2} |",
            t.simulated_s / t.median(),
            t.simulated_s / t.max(),
            t.simulated_s / t.min(),
            t.ops as f64 / t.median(),
            e.simulated_s / e.median(),
            t.median() / e.median()
        );
    }
    let _ = writeln!(
        out,
        "\n## How cost grows (turmoil driver, wall seconds, median)\n"
    );
    let growth = |label: &str, xs: &[f64], make: &dyn Fn(f64) -> Scenario, out: &mut String| {
        let mut points = Vec::new();
        let mut row = format!("| {label} |");
        for x in xs {
            let scenario = make(*x);
            let m = measure(
                runs,
                || turmoil_run(&scenario, 1),
                scenario.sim.duration_us as f64 / 1e6,
            );
            points.push((*x, m.median()));
            let _ = write!(row, " {x}: {:.2}s |", m.median());
        }
        let _ = writeln!(out, "{row} exponent {:.2} |", exponent(&points));
    };
    let _ = writeln!(
        out,
        "| variable | points | fitted growth (1.00 = linear) |\n|---|---|---|"
    );
    let base_s = (120 / scale).max(6) as f64;
    growth(
        "simulated seconds (3 regions, 1k ops/s)",
        &[base_s / 4.0, base_s / 2.0, base_s, base_s * 2.0],
        &|x| workload(3, 1_000, x as u64, 100_000),
        &mut out,
    );
    growth(
        "client rate ops/s (3 regions, 30 s)",
        &[500.0, 1_000.0, 2_000.0, 4_000.0],
        &|x| workload(3, x as u64, (30 / scale).max(6), 100_000),
        &mut out,
    );
    growth(
        "regions (1k ops/s, 30 s)",
        &[3.0, 5.0, 7.0],
        &|x| workload(x as usize, 1_000, (30 / scale).max(6), 100_000),
        &mut out,
    );
    growth(
        "keys (3 regions, 1k ops/s, 30 s)",
        &[1_000.0, 10_000.0, 100_000.0, 1_000_000.0],
        &|x| workload(3, 1_000, (30 / scale).max(6), x as u64),
        &mut out,
    );

    let scenario = workload(3, 2_000, (300 / scale).max(6), 100_000);
    let run = crate::world::run(
        &scenario,
        &RunOptions {
            seed: 1,
            ..Default::default()
        },
    )
    .expect("bench runs");
    let started = Instant::now(); // real time: measuring the checker
    let report = dynasim_checker::check(&scenario, &run, &CheckConfig::default());
    let check_s = started.elapsed().as_secs_f64();
    let started = Instant::now(); // real time: measuring the checker
    let lww = dynasim_checker::classify_writes(&run, &CheckConfig::default());
    let classify_s = started.elapsed().as_secs_f64();
    let _ = writeln!(
        out,
        "\n## Checker throughput\n\n| history | full check | LWW classification only | linearizability |\n|---|---|---|---|\n| {} ops, {} applies | {:.0} ops/s ({:.2}s) | {:.0} writes/s | {} keys decided, {} over budget |",
        run.history.len(),
        run.applies.len(),
        run.history.len() as f64 / check_s,
        check_s,
        lww.writes_acknowledged as f64 / classify_s.max(1e-9),
        report.reads.linearizability.keys_decided,
        report.reads.linearizability.keys_over_budget
    );
    region_vs_engine(runs, quick, &mut out);
    out
}

/// One on-demand table `bench` keyed by a string `pk`, with no peers: the region under
/// the per-op benchmarks.
pub(crate) fn bench_table() -> dynasim_region::TableSpec {
    dynasim_region::TableSpec {
        name: "bench".into(),
        partition_key: "pk".into(),
        partition_key_type: dynasim_region::KeyTypeSpec::S,
        sort_key: None,
        peers: Vec::new(),
        capacity: dynasim_region::CapacitySpec {
            on_demand: true,
            read_units: 0.0,
            write_units: 0.0,
            read_auto_scaling: None,
            write_auto_scaling: None,
        },
        dax: None,
        mrsc: false,
        ttl: None,
        stream_view: None,
        origin_attribute: false,
        split_for_heat: true,
        gsis: Vec::new(),
    }
}

/// The region (partitions, AZ replicas, leases, capacity, DAX-less latency model,
/// replication log) against the bare engine on the same puts and gets of 200-byte items:
/// what the physical model costs per op.
fn region_vs_engine(runs: usize, quick: bool, out: &mut String) {
    use dynasim_core::SimTime;
    use dynasim_core::history::OpKind;
    use dynasim_engine::{AttributeValue, Engine, EngineConfig, GetItemInput, Item, PutItemInput};
    use dynasim_region::{ClientOp, Region, RegionConfig};
    let ops: u64 = if quick { 20_000 } else { 200_000 };
    let keys = 10_000u64;
    let spec = bench_table();
    let region = measure(
        runs,
        || {
            let mut region = Region::new(
                RegionId(0),
                std::slice::from_ref(&spec),
                RegionConfig::default(),
                dynasim_replication::ReplicatorConfig::default(),
            );
            let mut rng = dynasim_workload::rng_for(1, "bench/region");
            for i in 0..ops {
                let op = ClientOp {
                    kind: if i % 2 == 0 { OpKind::Put } else { OpKind::Get },
                    table: 0,
                    key: rng.random_range(0..keys),
                    value: i,
                    item_bytes: 200,
                    strong: false,
                    expire_after_us: None,
                    items: 1,
                    index: 0,
                };
                // Spread over simulated time so on-demand capacity never throttles.
                let now_us = i * 100;
                std::hint::black_box(region.execute(&op, now_us, now_us, &mut rng));
            }
            ops
        },
        0.0,
    );
    let engine = measure(
        runs,
        || {
            let mut engine = Engine::new(EngineConfig::default());
            let input: dynasim_engine::CreateTableInput =
                serde_json::from_value(serde_json::json!({
                    "TableName": "bench",
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST"
                }))
                .expect("valid CreateTable");
            engine.create_table(input, SimTime::ZERO).expect("creates");
            let mut rng = dynasim_workload::rng_for(1, "bench/region");
            for i in 0..ops {
                let key = rng.random_range(0..keys);
                let mut item = Item::new();
                item.insert("pk".into(), AttributeValue::S(format!("k{key:09}")));
                let now = SimTime(i * 100);
                if i % 2 == 0 {
                    item.insert("v".into(), AttributeValue::n(&i.to_string()));
                    item.insert("pad".into(), AttributeValue::S("x".repeat(160)));
                    let input = PutItemInput {
                        table_name: "bench".into(),
                        item,
                        ..Default::default()
                    };
                    std::hint::black_box(engine.put_item(input, now).ok());
                } else {
                    let input = GetItemInput {
                        table_name: "bench".into(),
                        key: item,
                        ..Default::default()
                    };
                    std::hint::black_box(engine.get_item(&input, now).ok());
                }
            }
            ops
        },
        0.0,
    );
    let rate = |m: &Measured| m.ops as f64 / m.median();
    let _ = writeln!(
        out,
        "\n## Region vs bare engine (50% PutItem, 50% GetItem, 200 B items, {keys} keys, {ops} ops)\n\n| driver | ops/s (median) | min..max wall s | ratio |\n|---|---|---|---|\n| bare engine | {:.0} | {:.2}..{:.2} | 1.00 |\n| region (partitions, 3 AZ replicas, capacity, latency model, replication log) | {:.0} | {:.2}..{:.2} | {:.2}x the engine's time |",
        rate(&engine),
        engine.min(),
        engine.max(),
        rate(&region),
        region.min(),
        region.max(),
        region.median() / engine.median()
    );
}
