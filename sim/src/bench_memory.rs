//! `dynasim bench --memory`: peak resident memory of a long simulated run, and the bytes
//! a stored item costs over its raw DynamoDB size. Each figure is measured in a fresh
//! child process (`dynasim bench --memory-child ...`), so one measurement's allocations
//! never inflate the next one's peak. Linux only (it reads `/proc/self/status`);
//! elsewhere the section says so.

use crate::bench::workload;
use dynasim_core::history::OpKind;
use dynasim_core::{RegionId, SimTime};
use dynasim_engine::{AttributeValue, Engine, EngineConfig, Item, PutItemInput};
use dynasim_region::{ClientOp, Region, RegionConfig};
use std::fmt::Write as _;
use std::process::Command;

/// Items stored for the bytes-per-item figures.
const ITEMS: u64 = 500_000;
/// The `pad` attribute that brings a bench item to about 200 bytes.
const PAD_BYTES: usize = 160;

/// A figure from `/proc/self/status` in KiB (`VmHWM` peak, `VmRSS` now).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// What a child process measures; prints one `key=value` line.
pub fn child(what: &str) -> Result<String, String> {
    match what.split(':').collect::<Vec<_>>().as_slice() {
        [mode @ ("run" | "spill"), secs, rate] => {
            let secs: u64 = secs
                .parse()
                .map_err(|_| format!("bad seconds in {what:?}"))?;
            let rate: u64 = rate.parse().map_err(|_| format!("bad rate in {what:?}"))?;
            long_run(secs, rate, *mode == "spill")
        }
        ["items", "engine"] => stored_items(false),
        ["items", "region"] => stored_items(true),
        _ => Err(format!("unknown memory measurement {what:?}")),
    }
}

/// Peak RSS and wall time of a run of `secs` simulated seconds at `rate` ops/s and of its
/// check, with the history in memory or streamed to a temporary directory.
fn long_run(secs: u64, rate: u64, spill: bool) -> Result<String, String> {
    let scenario = workload(3, rate, secs, 100_000);
    let dir = std::env::temp_dir().join(format!("dynasim-bench-history-{}", std::process::id()));
    let options = crate::RunOptions {
        seed: 1,
        history: spill.then(|| crate::HistorySpill::new(&dir)),
        ..Default::default()
    };
    let started = std::time::Instant::now(); // real time: the figure being measured
    let run = crate::run(&scenario, &options)?;
    let run_s = started.elapsed().as_secs_f64();
    let simulated = status_kib("VmHWM:").ok_or("no /proc/self/status here")?;
    let config = dynasim_checker::CheckConfig::default();
    let started = std::time::Instant::now(); // real time: a benchmark measures wall time
    let (report, counts) = if spill {
        let spilled = crate::SpilledHistory::open(&dir).map_err(|e| e.to_string())?;
        let report = spilled
            .check(&scenario, &run, &config)
            .map_err(|e| e.to_string())?;
        (report, spilled.counts())
    } else {
        let client_ops = run.history.iter().filter(|op| op.is_client()).count() as u64;
        let counts = crate::SpillCounts {
            client_ops,
            service_ops: run.history.len() as u64 - client_ops,
            applies: run.applies.len() as u64,
        };
        (dynasim_checker::check(&scenario, &run, &config), counts)
    };
    let check_s = started.elapsed().as_secs_f64();
    std::hint::black_box(&report);
    let checked = status_kib("VmHWM:").ok_or("no /proc/self/status here")?;
    let mut disk_bytes = 0;
    if spill {
        disk_bytes = dir_bytes(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(format!(
        "peak_rss_kib={checked} simulated_rss_kib={simulated} ops={} applies={} events={} \
         run_s={run_s:.1} check_s={check_s:.1} disk_bytes={disk_bytes}",
        counts.client_ops + counts.service_ops,
        counts.applies,
        run.events.len()
    ))
}

/// Total size of the files in `dir`.
fn dir_bytes(dir: &std::path::Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        total += entry?.metadata()?.len();
    }
    Ok(total)
}

/// RSS growth per item over [`ITEMS`] puts of ~200-byte items, against the items' raw
/// DynamoDB size (DM-: attribute names plus values).
fn stored_items(through_region: bool) -> Result<String, String> {
    let item = |key: u64| {
        let mut item = Item::new();
        item.insert("pk", AttributeValue::S(format!("k{key:09}")));
        item.insert("v", AttributeValue::n(&key.to_string()));
        item.insert("pad", AttributeValue::S("x".repeat(PAD_BYTES)));
        item
    };
    let raw_bytes: u64 = (0..ITEMS)
        .map(|k| dynasim_engine::item_size(&item(k), &EngineConfig::default()) as u64)
        .sum();
    let before = status_kib("VmRSS:").ok_or("no /proc/self/status here")?;
    let after = if through_region {
        let spec = crate::bench::bench_table();
        let mut region = Region::new(
            RegionId(0),
            std::slice::from_ref(&spec),
            RegionConfig::default(),
            dynasim_replication::ReplicatorConfig::default(),
        );
        let mut rng = dynasim_workload::rng_for(1, "bench/memory");
        for key in 0..ITEMS {
            let op = ClientOp {
                kind: OpKind::Put,
                table: 0,
                key,
                value: key + 1,
                item_bytes: 200,
                strong: false,
                expire_after_us: None,
                items: 1,
                index: 0,
            };
            // Spread over simulated time so on-demand capacity never throttles.
            let now_us = key * 1_000;
            region.execute(&op, now_us, now_us, &mut rng);
        }
        let after = status_kib("VmRSS:");
        std::hint::black_box(&region);
        after
    } else {
        let mut engine = Engine::new(EngineConfig::default());
        let input: dynasim_engine::CreateTableInput = serde_json::from_value(serde_json::json!({
            "TableName": "bench",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        }))
        .map_err(|e| e.to_string())?;
        engine
            .create_table(input, SimTime::ZERO)
            .map_err(|e| e.message)?;
        for key in 0..ITEMS {
            let input = PutItemInput {
                table_name: "bench".into(),
                item: item(key),
                ..Default::default()
            };
            engine
                .put_item(input, SimTime(key))
                .map_err(|e| e.message)?;
        }
        let after = status_kib("VmRSS:");
        std::hint::black_box(&engine);
        after
    }
    .ok_or("no /proc/self/status here")?;
    Ok(format!(
        "bytes_per_item={:.0} raw_bytes_per_item={:.0}",
        (after.saturating_sub(before) * 1024) as f64 / ITEMS as f64,
        raw_bytes as f64 / ITEMS as f64
    ))
}

/// Run `dynasim bench --memory-child what` and parse its `key=value` line.
fn measure_in_child(what: &str) -> Result<Vec<(String, f64)>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["bench", "--memory-child", what])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains('='))
        .ok_or("no figures")?;
    Ok(line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect())
}

fn get(figures: &[(String, f64)], key: &str) -> f64 {
    figures
        .iter()
        .find(|(k, _)| k == key)
        .map_or(f64::NAN, |(_, v)| *v)
}

/// The memory section of the bench table. `quick` shortens the long run to 5 minutes.
pub fn section(quick: bool) -> String {
    let mut out =
        String::from("\n## 7. Memory (each figure from a fresh child process of this binary)\n\n");
    if status_kib("VmRSS:").is_none() {
        out.push_str("Not measured: this platform has no /proc/self/status.\n");
        return out;
    }
    let secs = if quick { 300 } else { 3_600 };
    let _ = writeln!(out, "| measurement | result |\n|---|---|");
    for (mode, place) in [
        ("run", "history kept in memory"),
        ("spill", "history streamed to disk (64 shards)"),
    ] {
        match measure_in_child(&format!("{mode}:{secs}:1000")) {
            Ok(f) => {
                let peak_mib = get(&f, "peak_rss_kib") / 1024.0;
                let ops = get(&f, "ops");
                let applies = get(&f, "applies");
                let disk_mib = get(&f, "disk_bytes") / 1024.0 / 1024.0;
                let disk = if mode == "spill" {
                    format!("; {disk_mib:.0} MiB of shard files")
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "| peak RSS, 3 regions, 1,000 ops/s, {secs} simulated s, {place}, checked | {peak_mib:.0} MiB ({ops:.0} ops, {applies:.0} replication applies: {:.0} bytes per recorded op or apply); wall {:.0} s run + {:.0} s check{disk} |",
                    peak_mib * 1024.0 * 1024.0 / (ops + applies).max(1.0),
                    get(&f, "run_s"),
                    get(&f, "check_s")
                );
            }
            Err(e) => {
                let _ = writeln!(out, "| peak RSS of a {secs} s run, {place} | failed: {e} |");
            }
        }
    }
    for (label, what) in [
        ("engine", "items:engine"),
        ("region (engine + replicator versions)", "items:region"),
    ] {
        match measure_in_child(what) {
            Ok(f) => {
                let stored = get(&f, "bytes_per_item");
                let raw = get(&f, "raw_bytes_per_item");
                let _ = writeln!(
                    out,
                    "| bytes per stored item, {label}, {ITEMS} items | {stored:.0} B for {raw:.0} B of raw item ({:.1}x) |",
                    stored / raw
                );
            }
            Err(e) => {
                let _ = writeln!(out, "| bytes per stored item, {label} | failed: {e} |");
            }
        }
    }
    out
}
