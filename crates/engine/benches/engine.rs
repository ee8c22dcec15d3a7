//! GetItem and PutItem throughput against a raw `BTreeMap<Vec<u8>, Item>` doing the
//! same lookups and inserts in the same run (issue #2: 200-byte items, 100k keys).
//! Prints ops/s (per second of on-CPU time) for each and the engine/baseline ratios.
//! The fixtures live in `dynasim_engine::bench`, shared with `dynasim bench`.

use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use dynasim_core::SimTime;
use dynasim_engine::bench::{KEYS, SingleItem, key, order, rate};
use dynasim_engine::*;
use std::time::Duration;

fn benches(c: &mut Criterion) {
    let mut fixture = SingleItem::new(KEYS);
    let mut group = c.benchmark_group("single_item");
    let mut at = 0usize;
    group.bench_function("engine_get_item", |b| {
        b.iter(|| {
            at += 1;
            fixture.engine_get(at)
        })
    });
    group.bench_function("btreemap_get", |b| {
        b.iter(|| {
            at += 1;
            fixture.baseline_get(at)
        })
    });
    group.bench_function("engine_put_item", |b| {
        let SingleItem { engine, items, .. } = &mut fixture;
        b.iter_batched(
            || {
                at = (at + 1) % KEYS;
                PutItemInput {
                    table_name: dynasim_engine::bench::TABLE.into(),
                    item: items[at].clone(),
                    ..Default::default()
                }
            },
            |input| black_box(engine.put_item(input, SimTime::ZERO).expect("put")),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("btreemap_insert", |b| {
        b.iter_batched(
            || {
                at = (at + 1) % KEYS;
                (fixture.raw_keys[at].clone(), fixture.items[at].clone())
            },
            |(k, v)| black_box(fixture.baseline.insert(k, v)),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    // Direct timed passes for the note: engine and baseline alternate three rounds and
    // the best round of each counts, which damps noise from other work on the machine.
    let updates: Vec<UpdateItemInput> = order(KEYS)
        .iter()
        .map(|&i| UpdateItemInput {
            table_name: dynasim_engine::bench::TABLE.into(),
            key: key(i),
            update_expression: Some("SET n = n + :one".into()),
            condition_expression: Some("attribute_exists(pk)".into()),
            expression_attribute_values: Some(
                [(":one".to_string(), AttributeValue::n("1"))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        })
        .collect();
    let window = Duration::from_millis(400);
    let mut best = [0f64; 6];
    for _ in 0..3 {
        let rates = [
            rate(window, 1000, &mut |i| fixture.engine_get(i)),
            rate(window, 1000, &mut |i| fixture.baseline_get(i)),
            rate(window, 1000, &mut |i| fixture.engine_put(i)),
            rate(window, 1000, &mut |i| fixture.baseline_put(i)),
            rate(window, 1000, &mut |i| {
                let raw = &fixture.raw_keys[i % KEYS];
                black_box(fixture.baseline.get(raw).map(|item| item.len()));
            }),
            rate(window, 1000, &mut |i| {
                drop(black_box(
                    fixture
                        .engine
                        .update_item(updates[i % KEYS].clone(), SimTime::ZERO),
                ))
            }),
        ];
        for (b, r) in best.iter_mut().zip(rates) {
            *b = b.max(r);
        }
    }
    let [
        get_engine,
        get_base,
        put_engine,
        put_base,
        get_base_noclone,
        update_engine,
    ] = best;
    println!(
        "GetItem    engine {get_engine:>10.0} ops/s  btreemap get+clone {get_base:>10.0} ops/s  ratio {:.2}x",
        get_base / get_engine
    );
    println!(
        "PutItem    engine {put_engine:>10.0} ops/s  btreemap insert    {put_base:>10.0} ops/s  ratio {:.2}x",
        put_base / put_engine
    );
    println!("context    btreemap get without clone {get_base_noclone:>10.0} ops/s");
    println!(
        "UpdateItem engine {update_engine:>10.0} ops/s  (SET n = n + :one with a condition, parsed once)"
    );
    assert_eq!(
        fixture.engine.expression_parses(),
        2,
        "repeated UpdateItem must not re-parse"
    );
}

criterion_group!(engine_benches, benches);
criterion_main!(engine_benches);
