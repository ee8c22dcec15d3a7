//! The engine against a raw `BTreeMap` in `dynasim bench`: GetItem and PutItem of 200 B
//! items over 100k keys, a Query of 50 items out of a 1M-item table, and PutItem with two
//! GSIs against none. The fixtures are `dynasim_engine::bench`'s (shared with the
//! criterion benches); each run measures the engine and its baseline back to back, and
//! the table reports the median over runs with min and max. Rates are per second of
//! on-CPU time of this thread, which a shared machine disturbs less than wall time.

use dynasim_engine::bench::{GsiPuts, PER_PARTITION, QueryTable, SingleItem, rate};
use std::fmt::Write as _;
use std::time::Duration;

/// Table sizes and measuring window of the comparison.
#[derive(Clone, Copy, Debug)]
pub struct EngineSizes {
    /// Keys of the GetItem/PutItem table.
    pub keys: usize,
    /// Items of the Query table (50 per partition).
    pub query_items: usize,
    /// Keys of each table of the GSI comparison.
    pub gsi_keys: usize,
    /// How long each rate is measured.
    pub window: Duration,
}

impl EngineSizes {
    /// The sizes (`quick`: a tenth of the tables, shorter windows).
    pub fn standard(quick: bool) -> EngineSizes {
        if quick {
            EngineSizes {
                keys: 100_000,
                query_items: 100_000,
                gsi_keys: 20_000,
                window: Duration::from_millis(150),
            }
        } else {
            EngineSizes {
                keys: 100_000,
                query_items: 1_000_000,
                gsi_keys: 100_000,
                window: Duration::from_millis(500),
            }
        }
    }
}

/// One comparison: the engine's and the baseline's rates, one per run.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub name: String,
    pub baseline_name: &'static str,
    pub engine: Vec<f64>,
    pub baseline: Vec<f64>,
    /// The target, in words.
    pub target: &'static str,
    /// Whether the median meets it: (engine rate, ratio) -> met.
    pub met: fn(f64, f64) -> bool,
}

impl Comparison {
    /// Engine time over baseline time for each run (baseline rate / engine rate).
    pub fn ratios(&self) -> Vec<f64> {
        self.engine
            .iter()
            .zip(&self.baseline)
            .map(|(e, b)| b / e)
            .collect()
    }
}

/// Median, min and max.
pub(crate) fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Measure the comparisons, `runs` times each; `progress` hears what is being built.
pub fn measure(sizes: EngineSizes, runs: usize, progress: &mut dyn FnMut(&str)) -> Vec<Comparison> {
    let runs = runs.max(1);
    let window = sizes.window;
    let mut out = Vec::new();

    progress(&format!(
        "engine: loading {} items into the engine and the BTreeMap",
        sizes.keys
    ));
    let mut single = SingleItem::new(sizes.keys);
    let mut get = Comparison {
        name: format!("GetItem, 200 B items, {} keys", sizes.keys),
        baseline_name: "BTreeMap get + clone",
        engine: Vec::new(),
        baseline: Vec::new(),
        target: ">= 2 M ops/s, within 5x",
        met: |rate, ratio| rate >= 2e6 && ratio <= 5.0,
    };
    let mut put = Comparison {
        name: format!("PutItem, 200 B items, {} keys", sizes.keys),
        baseline_name: "BTreeMap insert of a copy",
        engine: Vec::new(),
        baseline: Vec::new(),
        target: ">= 1 M ops/s, within 5x",
        met: |rate, ratio| rate >= 1e6 && ratio <= 5.0,
    };
    for _ in 0..runs {
        get.engine
            .push(rate(window, 1000, &mut |i| single.engine_get(i)));
        get.baseline
            .push(rate(window, 1000, &mut |i| single.baseline_get(i)));
        put.engine
            .push(rate(window, 1000, &mut |i| single.engine_put(i)));
        put.baseline
            .push(rate(window, 1000, &mut |i| single.baseline_put(i)));
    }
    drop(single);
    out.push(get);
    out.push(put);

    progress(&format!(
        "engine: loading a {}-item Query table into the engine and the BTreeMap",
        sizes.query_items
    ));
    let mut table = QueryTable::new(sizes.query_items);
    let mut query = Comparison {
        name: format!(
            "Query of {PER_PARTITION} items out of {} (partitions in turn)",
            table.partitions * PER_PARTITION
        ),
        baseline_name: "BTreeMap range + clone of the 50",
        engine: Vec::new(),
        baseline: Vec::new(),
        target: ">= 200 k queries/s",
        met: |rate, _| rate >= 200e3,
    };
    for _ in 0..runs {
        query.engine.push(rate(window, 100, &mut |i| {
            table.engine_query(i);
        }));
        query.baseline.push(rate(window, 100, &mut |i| {
            table.baseline_query(i);
        }));
    }
    drop(table);
    out.push(query);

    progress(&format!(
        "engine: loading {} items into tables with 2 GSIs and none",
        sizes.gsi_keys
    ));
    let mut puts = GsiPuts::new(sizes.gsi_keys);
    let mut gsi = Comparison {
        name: format!(
            "PutItem with 2 GSIs (both index keys moved), {} keys",
            sizes.gsi_keys
        ),
        baseline_name: "the same PutItem, no GSI",
        engine: Vec::new(),
        baseline: Vec::new(),
        target: "within 3x of no GSI",
        met: |_, ratio| ratio <= 3.0,
    };
    let GsiPuts {
        engine,
        plain_moved,
        gsi2_moved,
        ..
    } = &mut puts;
    for run in 0..runs {
        // Alternate the two overwrite sets so every pass moves the index keys.
        let set = run % 2;
        gsi.baseline.push(rate(window, 100, &mut |i| {
            GsiPuts::put(engine, &plain_moved[set], i)
        }));
        gsi.engine.push(rate(window, 100, &mut |i| {
            GsiPuts::put(engine, &gsi2_moved[set], i)
        }));
    }
    out.push(gsi);
    out
}

/// The Markdown section for `comparisons`.
pub fn render(comparisons: &[Comparison], runs: usize) -> String {
    let mut out = format!(
        "## 1. Engine vs a raw BTreeMap (same process, back to back; {runs} runs; ops per on-CPU second)\n\n\
         | measurement | engine ops/s median (min..max) | baseline | baseline ops/s median | engine time / baseline time median (min..max) | target | met |\n\
         |---|---|---|---|---|---|---|\n"
    );
    for c in comparisons {
        let (e, e_min, e_max) = spread(&c.engine);
        let (b, _, _) = spread(&c.baseline);
        let (r, r_min, r_max) = spread(&c.ratios());
        let _ = writeln!(
            out,
            "| {} | {} ({}..{}) | {} | {} | {r:.2}x ({r_min:.2}..{r_max:.2}) | {} | {} |",
            c.name,
            thousands(e),
            thousands(e_min),
            thousands(e_max),
            c.baseline_name,
            thousands(b),
            c.target,
            if (c.met)(e, r) { "yes" } else { "**no**" }
        );
    }
    out
}

/// `1234567.8` as `1,234,568`.
pub(crate) fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}
