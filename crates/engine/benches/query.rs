//! Issue #3 speed targets: a Query of 50 items out of a 1M-item table (>= 200k
//! queries/s) and PutItem on a table with 2 GSIs vs none (within 3x). Prints rates per
//! second of on-CPU time, and for the Query a raw `BTreeMap<Vec<u8>, Item>` reading and
//! copying the same 50 items in the same run (the machine is shared, so only ratios
//! against it compare across runs). `QUERY_BENCH_ITEMS` overrides the table size.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use dynasim_core::SimTime;
use dynasim_engine::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::{Duration, Instant};

const PER_PARTITION: usize = 50;
const PUT_KEYS: usize = 100_000;

fn table_items() -> usize {
    std::env::var("QUERY_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn create(engine: &mut Engine, name: &str, gsis: usize) {
    let gsi: Vec<serde_json::Value> = (0..gsis)
        .map(|i| json!({"IndexName": format!("gsi{i}"), "KeySchema": [{"AttributeName": format!("g{i}"), "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}))
        .collect();
    let mut defs = vec![
        json!({"AttributeName": "pk", "AttributeType": "S"}),
        json!({"AttributeName": "sk", "AttributeType": "N"}),
    ];
    defs.extend((0..gsis).map(|i| json!({"AttributeName": format!("g{i}"), "AttributeType": "S"})));
    let mut body = json!({
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": defs,
        "BillingMode": "PAY_PER_REQUEST",
    });
    if gsis > 0 {
        body["GlobalSecondaryIndexes"] = json!(gsi);
    }
    engine
        .create_table(serde_json::from_value(body).expect("valid"), SimTime::ZERO)
        .expect("create");
}

fn item(p: usize, s: usize, v: usize) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::s(format!("p{p:07}")));
    item.insert("sk".into(), AttributeValue::N(Number::from(s as i64)));
    item.insert("g0".into(), AttributeValue::s(format!("a{}", v % 1000)));
    item.insert("g1".into(), AttributeValue::s(format!("b{}", v % 777)));
    item.insert("v".into(), AttributeValue::N(Number::from(v as i64)));
    item
}

/// The baseline's key: partition then sort key, in an order-preserving byte form.
fn raw_key(p: usize, s: usize) -> Vec<u8> {
    let mut key = format!("p{p:07}").into_bytes();
    key.push(0);
    key.extend_from_slice(&(s as u64).to_be_bytes());
    key
}

fn benches(c: &mut Criterion) {
    let items = table_items();
    let partitions = items / PER_PARTITION;
    let load_start = Instant::now();
    let mut engine = Engine::default();
    create(&mut engine, "big", 0);
    for p in 0..partitions {
        for s in 0..PER_PARTITION {
            engine
                .put_item(
                    PutItemInput {
                        table_name: "big".into(),
                        item: item(p, s, p + s),
                        ..Default::default()
                    },
                    SimTime::ZERO,
                )
                .expect("load");
        }
    }
    let load_s = load_start.elapsed().as_secs_f64();
    let queries: Vec<QueryInput> = (0..1024)
        .map(|i| {
            let p = (i * 7919) % partitions;
            serde_json::from_value(json!({"TableName": "big", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": format!("p{p:07}")}}})).expect("valid")
        })
        .collect();
    let mut at = 0usize;
    c.bench_function("query_50_of_table", |b| {
        b.iter(|| {
            at = (at + 1) % queries.len();
            let out = engine.query(&queries[at], SimTime::ZERO).expect("query");
            assert_eq!(out.count, PER_PARTITION as u64);
            black_box(out)
        })
    });
    // The baseline: the same items under pk bytes ++ sk bytes, one range per query
    // returning copies, as a caller of a plain ordered map would.
    let baseline: BTreeMap<Vec<u8>, Item> = (0..partitions)
        .flat_map(|p| (0..PER_PARTITION).map(move |s| (p, s)))
        .map(|(p, s)| (raw_key(p, s), item(p, s, p + s)))
        .collect();
    let ranges: Vec<(Vec<u8>, Vec<u8>)> = (0..1024)
        .map(|i| {
            let p = (i * 7919) % partitions;
            let lo = format!("p{p:07}").into_bytes();
            let mut hi = lo.clone();
            hi.push(0xFF);
            (lo, hi)
        })
        .collect();
    let mut query_rate = 0f64;
    let mut baseline_rate = 0f64;
    // Engine and baseline alternate three rounds; the best round of each counts.
    for _ in 0..3 {
        query_rate = query_rate.max(measure(&mut |i| {
            black_box(
                engine
                    .query(&queries[i % queries.len()], SimTime::ZERO)
                    .expect("query"),
            );
        }));
        baseline_rate = baseline_rate.max(measure(&mut |i| {
            let (lo, hi) = &ranges[i % ranges.len()];
            let items: Vec<Item> = baseline
                .range::<[u8], _>((Bound::Included(&lo[..]), Bound::Excluded(&hi[..])))
                .map(|(_, item)| item.clone())
                .collect();
            assert_eq!(items.len(), PER_PARTITION);
            black_box(items);
        }));
    }
    drop(baseline);
    // The same 8 partitions again and again: their items stay in the CPU caches.
    let hot_rate = measure(&mut |i| {
        black_box(engine.query(&queries[i % 8], SimTime::ZERO).expect("query"));
    });
    // Select=COUNT reads and sizes the same 50 items but returns no copies of them.
    let counts: Vec<QueryInput> = queries
        .iter()
        .map(|q| QueryInput {
            select: Some("COUNT".into()),
            ..q.clone()
        })
        .collect();
    let count_rate = measure(&mut |i| {
        black_box(
            engine
                .query(&counts[i % counts.len()], SimTime::ZERO)
                .expect("query"),
        );
    });
    drop(engine);

    let mut puts = Engine::default();
    create(&mut puts, "plain", 0);
    create(&mut puts, "gsi2", 2);
    let inputs = |table: &str| -> Vec<PutItemInput> {
        (0..PUT_KEYS)
            .map(|i| PutItemInput {
                table_name: table.into(),
                item: item(i / 10, i % 10, i * 31),
                ..Default::default()
            })
            .collect()
    };
    let plain = inputs("plain");
    let gsi2 = inputs("gsi2");
    for input in plain.iter().chain(&gsi2) {
        puts.put_item(input.clone(), SimTime::ZERO)
            .expect("preload");
    }
    let mut group = c.benchmark_group("put_item");
    group.bench_function("no_gsi", |b| {
        b.iter(|| {
            at = (at + 1) % PUT_KEYS;
            black_box(
                puts.put_item(plain[at].clone(), SimTime::ZERO)
                    .expect("put"),
            )
        })
    });
    group.bench_function("two_gsis", |b| {
        b.iter(|| {
            at = (at + 1) % PUT_KEYS;
            black_box(puts.put_item(gsi2[at].clone(), SimTime::ZERO).expect("put"))
        })
    });
    group.finish();
    // Overwrite with moved GSI keys so every put changes both index entries.
    let moved = |src: &[PutItemInput], n: usize| -> Vec<PutItemInput> {
        src.iter()
            .map(|p| {
                let mut p = p.clone();
                p.item
                    .insert("g0".into(), AttributeValue::s(format!("m{n}")));
                p.item
                    .insert("g1".into(), AttributeValue::s(format!("n{n}")));
                p
            })
            .collect()
    };
    let plain_moved = moved(&plain, 1);
    let gsi2_moved = moved(&gsi2, 1);
    let plain_rate = measure(&mut |i| {
        let input = plain_moved[i % PUT_KEYS].clone();
        black_box(puts.put_item(input, SimTime::ZERO).expect("put"));
    });
    let gsi_rate = measure(&mut |i| {
        let input = gsi2_moved[i % PUT_KEYS].clone();
        black_box(puts.put_item(input, SimTime::ZERO).expect("put"));
    });
    // The same puts again: index keys no longer move, entries are replaced in place.
    let plain_again_rate = measure(&mut |i| {
        let input = plain_moved[i % PUT_KEYS].clone();
        black_box(puts.put_item(input, SimTime::ZERO).expect("put"));
    });
    let gsi_kept_rate = measure(&mut |i| {
        let input = gsi2_moved[i % PUT_KEYS].clone();
        black_box(puts.put_item(input, SimTime::ZERO).expect("put"));
    });
    println!(
        "table      {items} items ({partitions} partitions x {PER_PARTITION}), loaded in {load_s:.1} s"
    );
    println!(
        "Query      {query_rate:>10.0} queries/s (50 items each, 1024 partitions in turn)  target >= 200000"
    );
    println!(
        "Query      btreemap range+clone {baseline_rate:>10.0} queries/s  ratio {:.2}x",
        baseline_rate / query_rate
    );
    println!("Query hot  {hot_rate:>10.0} queries/s (50 items each, 8 partitions, cache-resident)");
    println!("Query COUNT {count_rate:>9.0} queries/s (same reads, no items copied out)");
    println!(
        "PutItem    no GSI {plain_rate:>10.0} ops/s  2 GSIs, both index keys moved {gsi_rate:>10.0} ops/s  ratio {:.2}x (target <= 3x)",
        plain_rate / gsi_rate
    );
    println!(
        "PutItem    no GSI {plain_again_rate:>10.0} ops/s  2 GSIs, index keys unchanged {gsi_kept_rate:>10.0} ops/s  ratio {:.2}x",
        plain_again_rate / gsi_kept_rate
    );
}

/// Ops per second of on-CPU time (see benches/engine.rs).
fn measure(f: &mut dyn FnMut(usize)) -> f64 {
    let start_wall = Instant::now();
    let start_cpu = thread_cpu_ns();
    let mut n = 0usize;
    while start_wall.elapsed() < Duration::from_millis(600) {
        for _ in 0..100 {
            f(n);
            n += 1;
        }
    }
    let seconds = match (start_cpu, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => start_wall.elapsed().as_secs_f64(),
    };
    n as f64 / seconds
}

fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

criterion_group! {
    name = query_benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = benches
}
criterion_main!(query_benches);
