//! Benchmark fixtures shared by the criterion benches (`benches/engine.rs`,
//! `benches/query.rs`) and `dynasim bench`: the engine against a raw
//! `BTreeMap<Vec<u8>, Item>` doing the same lookups, inserts and range reads in the same
//! process, and PutItem with two GSIs against none.
//!
//! This is the one module of the engine that reads a clock ([`rate`]): it measures the
//! engine, it is not part of it. Nothing here is used by the simulation.

use crate::{
    AttributeDefinition, AttributeValue, CreateTableInput, Engine, EngineConfig, GetItemInput,
    Item, KeySchemaElement, KeyType, Number, PutItemInput, QueryInput, ScalarAttributeType,
    item_size,
};
use dynasim_core::SimTime;
use serde_json::json;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Bound;
use std::time::{Duration, Instant}; // real time: benchmark timing only

/// The single-item table of the GetItem/PutItem comparison.
pub const TABLE: &str = "bench";
/// Keys of the single-item comparison (issue #2: 100k keys).
pub const KEYS: usize = 100_000;
/// Items per partition of the Query comparison (a Query returns all of them).
pub const PER_PARTITION: usize = 50;

/// The single-item table's partition key value for item `i`.
pub fn key_name(i: usize) -> String {
    format!("user#{i:08}")
}

/// An item of exactly 200 bytes by DynamoDB's size rules (DM-27).
pub fn item(i: usize) -> Item {
    let mut item: Item = Item::new();
    item.insert("pk", AttributeValue::s(key_name(i)));
    item.insert("n", AttributeValue::n(&i.to_string()));
    item.insert("flag", AttributeValue::Bool(i.is_multiple_of(2)));
    let config = EngineConfig::default();
    let used = item_size(&item, &config) + "payload".len();
    item.insert("payload", AttributeValue::s("x".repeat(200 - used)));
    debug_assert_eq!(item_size(&item, &config), 200);
    item
}

/// The key of item `i`.
pub fn key(i: usize) -> Item {
    [("pk".to_string(), AttributeValue::s(key_name(i)))]
        .into_iter()
        .collect()
}

/// A fixed pseudo-random order of `keys` keys (xorshift: deterministic, no RNG crate).
pub fn order(keys: usize) -> Vec<usize> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..keys)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % keys as u64) as usize
        })
        .collect()
}

/// Ops per second of on-CPU time of `f(0), f(1), ...` called in batches of `batch` for
/// about `window` of wall time. The thread's run time from /proc (Linux schedstat)
/// excludes time spent descheduled, which matters on a machine shared with other work;
/// elsewhere it falls back to wall time.
pub fn rate(window: Duration, batch: usize, f: &mut dyn FnMut(usize)) -> f64 {
    let start_wall = Instant::now(); // real time: benchmark timing
    let start_cpu = thread_cpu_ns();
    let mut n = 0usize;
    loop {
        let spent = start_wall.elapsed(); // real time: benchmark timing
        if spent >= window {
            break;
        }
        for _ in 0..batch.max(1) {
            f(n);
            n += 1;
        }
    }
    let seconds = match (start_cpu, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => start_wall.elapsed().as_secs_f64(), // real time: benchmark timing
    };
    n as f64 / seconds
}

/// This thread's on-CPU time in nanoseconds (Linux), if known.
pub fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// This thread's time in the kernel so far, in seconds, and its minor page faults
/// (Linux, from /proc/thread-self/stat), if known. A simulation makes no I/O while it
/// runs (the allocator's occasional `mmap`/`madvise` aside), so its kernel time is
/// mostly first-touch page faults: the kernel zeroing the fresh memory its history and
/// tables grow into. The figure counts whole 1/100 s ticks: read it for runs of seconds.
pub fn thread_kernel_time() -> Option<KernelTime> {
    let text = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    parse_thread_stat(&text)
}

/// Kernel time and minor faults of one thread, as [`thread_kernel_time`] reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KernelTime {
    pub kernel_s: f64,
    pub minor_faults: u64,
}

/// Clock ticks per second of /proc's time fields (`USER_HZ`): 100 on x86, Arm and the
/// other architectures this runs on (Alpha's 1024 aside), whatever the kernel's
/// internal tick rate.
const PROC_TICKS_PER_S: f64 = 100.0;

/// `proc_pid_stat(5)`: the command name (field 2) is in parentheses and may hold spaces
/// or parentheses, so the fields are counted from the last `)`. After it come field 3
/// (state) onwards; minflt is field 10 and stime field 15.
fn parse_thread_stat(text: &str) -> Option<KernelTime> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(KernelTime {
        kernel_s: field(15)? as f64 / PROC_TICKS_PER_S,
        minor_faults: field(10)?,
    })
}

/// GetItem and PutItem on 200-byte items: the engine and a raw ordered map holding the
/// same items, with the inputs built beforehand.
pub struct SingleItem {
    pub engine: Engine,
    pub baseline: BTreeMap<Vec<u8>, Item>,
    pub gets: Vec<GetItemInput>,
    pub raw_keys: Vec<Vec<u8>>,
    pub items: Vec<Item>,
}

impl SingleItem {
    /// Both stores loaded with `keys` items; the inputs visit them in [`order`].
    pub fn new(keys: usize) -> SingleItem {
        let keys = keys.max(1);
        let mut engine = Engine::default();
        engine
            .create_table(
                CreateTableInput {
                    table_name: TABLE.into(),
                    key_schema: vec![KeySchemaElement {
                        attribute_name: "pk".into(),
                        key_type: KeyType::Hash,
                    }],
                    attribute_definitions: vec![AttributeDefinition {
                        attribute_name: "pk".into(),
                        attribute_type: ScalarAttributeType::S,
                    }],
                    ..Default::default()
                },
                SimTime::ZERO,
            )
            .expect("a valid table");
        for i in 0..keys {
            engine
                .put_item(
                    PutItemInput {
                        table_name: TABLE.into(),
                        item: item(i),
                        ..Default::default()
                    },
                    SimTime::ZERO,
                )
                .expect("a valid item");
        }
        let baseline = (0..keys)
            .map(|i| (key_name(i).into_bytes(), item(i)))
            .collect();
        let order = order(keys);
        SingleItem {
            engine,
            baseline,
            gets: order
                .iter()
                .map(|&i| GetItemInput {
                    table_name: TABLE.into(),
                    key: key(i),
                    ..Default::default()
                })
                .collect(),
            raw_keys: order.iter().map(|&i| key_name(i).into_bytes()).collect(),
            items: order.iter().map(|&i| item(i)).collect(),
        }
    }

    /// GetItem of the `at`-th key (modulo the key count).
    pub fn engine_get(&mut self, at: usize) {
        let at = at % self.gets.len();
        drop(black_box(
            self.engine.get_item(&self.gets[at], SimTime::ZERO),
        ));
    }

    /// The baseline's GetItem: a map lookup returning a copy of the item.
    pub fn baseline_get(&self, at: usize) {
        let at = at % self.raw_keys.len();
        black_box(self.baseline.get(&self.raw_keys[at]).cloned());
    }

    /// The input of a PutItem of the `at`-th item (built outside the timed part in
    /// criterion's batched loop).
    pub fn put_input(&self, at: usize) -> PutItemInput {
        PutItemInput {
            table_name: TABLE.into(),
            item: self.items[at % self.items.len()].clone(),
            ..Default::default()
        }
    }

    /// PutItem of the `at`-th item (an overwrite of the same key).
    pub fn engine_put(&mut self, at: usize) {
        let input = self.put_input(at);
        drop(black_box(self.engine.put_item(input, SimTime::ZERO)));
    }

    /// The baseline's PutItem: inserting a copy of the key and the item.
    pub fn baseline_put(&mut self, at: usize) {
        let at = at % self.raw_keys.len();
        drop(black_box(
            self.baseline
                .insert(self.raw_keys[at].clone(), self.items[at].clone()),
        ));
    }
}

/// Create `name` keyed by (`pk` S, `sk` N) with `gsis` ALL-projection GSIs on `g0`, `g1`.
pub fn create_query_table(engine: &mut Engine, name: &str, gsis: usize) {
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
        .create_table(
            serde_json::from_value(body).expect("a valid CreateTable"),
            SimTime::ZERO,
        )
        .expect("a valid table");
}

/// An item of the Query and GSI tables: partition `p`, sort key `s`, GSI keys from `v`.
pub fn query_item(p: usize, s: usize, v: usize) -> Item {
    let mut item = Item::new();
    item.insert("pk", AttributeValue::s(format!("p{p:07}")));
    item.insert("sk", AttributeValue::N(Number::from(s as i64)));
    item.insert("g0", AttributeValue::s(format!("a{}", v % 1000)));
    item.insert("g1", AttributeValue::s(format!("b{}", v % 777)));
    item.insert("v", AttributeValue::N(Number::from(v as i64)));
    item
}

/// The baseline's key for the Query table: partition then sort key, order-preserving.
pub fn raw_query_key(p: usize, s: usize) -> Vec<u8> {
    let mut key = format!("p{p:07}").into_bytes();
    key.push(0);
    key.extend_from_slice(&(s as u64).to_be_bytes());
    key
}

/// A Query of one 50-item partition out of a table of `items` items, and the baseline:
/// the same items under pk bytes ++ sk bytes in a raw ordered map, one range per query
/// returning copies, as a caller of a plain ordered map would.
pub struct QueryTable {
    pub engine: Engine,
    pub baseline: BTreeMap<Vec<u8>, Item>,
    pub queries: Vec<QueryInput>,
    pub ranges: Vec<(Vec<u8>, Vec<u8>)>,
    pub partitions: usize,
}

impl QueryTable {
    /// The engine's table `big` and the baseline, each holding `items` items
    /// (rounded down to whole partitions, at least one).
    pub fn new(items: usize) -> QueryTable {
        let partitions = (items / PER_PARTITION).max(1);
        let mut engine = Engine::default();
        create_query_table(&mut engine, "big", 0);
        for p in 0..partitions {
            for s in 0..PER_PARTITION {
                engine
                    .put_item(
                        PutItemInput {
                            table_name: "big".into(),
                            item: query_item(p, s, p + s),
                            ..Default::default()
                        },
                        SimTime::ZERO,
                    )
                    .expect("a valid item");
            }
        }
        let baseline = (0..partitions)
            .flat_map(|p| (0..PER_PARTITION).map(move |s| (p, s)))
            .map(|(p, s)| (raw_query_key(p, s), query_item(p, s, p + s)))
            .collect();
        let visit = |i: usize| (i * 7919) % partitions;
        QueryTable {
            engine,
            baseline,
            queries: (0..1024)
                .map(|i| {
                    serde_json::from_value(json!({"TableName": "big", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": format!("p{:07}", visit(i))}}})).expect("a valid Query")
                })
                .collect(),
            ranges: (0..1024)
                .map(|i| {
                    let lo = format!("p{:07}", visit(i)).into_bytes();
                    let mut hi = lo.clone();
                    hi.push(0xFF);
                    (lo, hi)
                })
                .collect(),
            partitions,
        }
    }

    /// Query the `at`-th partition of the visiting order; returns the item count.
    pub fn engine_query(&mut self, at: usize) -> u64 {
        let out = self
            .engine
            .query(&self.queries[at % self.queries.len()], SimTime::ZERO)
            .map(|out| out.count)
            .unwrap_or(0);
        black_box(out)
    }

    /// The baseline's Query of the same partition: a range read returning copies.
    pub fn baseline_query(&self, at: usize) -> usize {
        let (lo, hi) = &self.ranges[at % self.ranges.len()];
        let items: Vec<Item> = self
            .baseline
            .range::<[u8], _>((Bound::Included(&lo[..]), Bound::Excluded(&hi[..])))
            .map(|(_, item)| item.clone())
            .collect();
        black_box(items).len()
    }
}

/// PutItem on a table with two GSIs against one with none: both tables preloaded with
/// the same `keys` items, and overwrites that move both index keys of every item.
pub struct GsiPuts {
    pub engine: Engine,
    pub plain: Vec<PutItemInput>,
    pub gsi2: Vec<PutItemInput>,
    /// Two sets of overwrites: the same keys with both GSI key attributes changed, to
    /// `m1`/`n1` in the first set and `m2`/`n2` in the second, so passes that alternate
    /// the sets move every index entry they touch.
    pub plain_moved: [Vec<PutItemInput>; 2],
    pub gsi2_moved: [Vec<PutItemInput>; 2],
}

impl GsiPuts {
    /// Tables `plain` (no GSI) and `gsi2` (two GSIs), each loaded with `keys` items.
    pub fn new(keys: usize) -> GsiPuts {
        let keys = keys.max(1);
        let mut engine = Engine::default();
        create_query_table(&mut engine, "plain", 0);
        create_query_table(&mut engine, "gsi2", 2);
        let inputs = |table: &str| -> Vec<PutItemInput> {
            (0..keys)
                .map(|i| PutItemInput {
                    table_name: table.into(),
                    item: query_item(i / 10, i % 10, i * 31),
                    ..Default::default()
                })
                .collect()
        };
        let plain = inputs("plain");
        let gsi2 = inputs("gsi2");
        for input in plain.iter().chain(&gsi2) {
            engine
                .put_item(input.clone(), SimTime::ZERO)
                .expect("a valid item");
        }
        let moved = |src: &[PutItemInput], n: usize| -> Vec<PutItemInput> {
            src.iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.item.insert("g0", AttributeValue::s(format!("m{n}")));
                    p.item.insert("g1", AttributeValue::s(format!("n{n}")));
                    p
                })
                .collect()
        };
        GsiPuts {
            engine,
            plain_moved: [moved(&plain, 1), moved(&plain, 2)],
            gsi2_moved: [moved(&gsi2, 1), moved(&gsi2, 2)],
            plain,
            gsi2,
        }
    }

    /// Put the `at`-th input of `inputs` (one of this fixture's vectors).
    pub fn put(engine: &mut Engine, inputs: &[PutItemInput], at: usize) {
        let input = inputs[at % inputs.len()].clone();
        drop(black_box(engine.put_item(input, SimTime::ZERO)));
    }
}

#[cfg(test)]
mod stat_tests {
    use super::{KernelTime, parse_thread_stat};

    /// Fields are counted from the last `)`, so a command name with spaces and
    /// parentheses does not shift them; stime is in 1/100 s.
    #[test]
    fn thread_stat_fields_are_read_after_the_command_name() {
        let line = "4242 (my (odd) cmd) R 1 2 3 4 5 6 777 8 9 10 11 250 14 15 16 17";
        assert_eq!(
            parse_thread_stat(line),
            Some(KernelTime {
                kernel_s: 2.5,
                minor_faults: 777,
            })
        );
        assert_eq!(parse_thread_stat("4242 (cmd) R 1 2"), None);
        assert_eq!(parse_thread_stat("no parenthesis"), None);
    }

    #[test]
    fn this_threads_kernel_time_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            let t = super::thread_kernel_time().expect("/proc/thread-self/stat");
            assert!(t.kernel_s >= 0.0);
        }
    }
}
