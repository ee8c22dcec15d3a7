//! dynasim-report: everything a run leaves on disk. The only crate that writes files.
//!
//! A run directory (`reports/<scenario>/seed-<n>/`) holds `summary.json` (stable schema,
//! sorted keys), `summary.md`, `junit.xml`, `history.jsonl`, `events.jsonl` and SVG plots.
//! Everything but the `wall` block of `summary.json` is a pure function of the run.

pub mod plot;
pub mod stats;

use dynasim_core::history::{ApplyRecord, OpRecord, RunOutput};
use dynasim_scenario::Scenario;
use plot::{Chart, Series};
use stats::HistoryStats;

/// Where a run's ops and applies come from: its `RunOutput` in memory, or files a run
/// that streamed its history to disk wrote.
pub trait HistorySource {
    /// Calls `f` with every op in history order (by `(complete_us, id)`).
    fn each_op(&self, f: &mut dyn FnMut(&OpRecord)) -> std::io::Result<()>;
    /// Calls `f` with every replication apply in the order of their apply times.
    fn each_apply(&self, f: &mut dyn FnMut(&ApplyRecord)) -> std::io::Result<()>;
}

impl HistorySource for RunOutput {
    fn each_op(&self, f: &mut dyn FnMut(&OpRecord)) -> std::io::Result<()> {
        self.history.iter().for_each(f);
        Ok(())
    }
    fn each_apply(&self, f: &mut dyn FnMut(&ApplyRecord)) -> std::io::Result<()> {
        self.applies.iter().for_each(f);
        Ok(())
    }
}

/// The statistics of a run's history, one pass over each stream.
pub fn history_stats(
    run: &RunOutput,
    history: &dyn HistorySource,
) -> std::io::Result<HistoryStats> {
    let mut stats = HistoryStats::new(run);
    history.each_op(&mut |op| stats.op(op))?;
    history.each_apply(&mut |a| stats.apply(a))?;
    Ok(stats)
}

/// The SVG plots of a run, as (file name, contents).
pub fn plots(
    scenario: &Scenario,
    run: &RunOutput,
    stats: &mut HistoryStats,
) -> Vec<(String, String)> {
    let shaded: Vec<(f64, f64, String)> = scenario
        .faults
        .iter()
        .filter(|f| !matches!(f.kind, dynasim_scenario::FaultKind::Heal { .. }))
        .map(|f| {
            let end = f.end_us.unwrap_or(run.duration_us).min(run.duration_us);
            (
                f.start_us as f64 / 1e6,
                end as f64 / 1e6,
                f.id.clone().unwrap_or_else(|| "fault".into()),
            )
        })
        .collect();
    let x_max_s = run.duration_us as f64 / 1e6;
    let chart = |title: &str,
                 y_label: &str,
                 series: std::collections::BTreeMap<String, Vec<(f64, f64)>>| {
        Chart {
            title: title.to_string(),
            y_label: y_label.to_string(),
            x_max_s,
            series: series
                .into_iter()
                .map(|(name, points)| Series { name, points })
                .collect(),
            shaded: shaded.clone(),
        }
        .render()
    };
    let mut latency = std::collections::BTreeMap::new();
    for (region, (p50, p99)) in stats.latency_series() {
        latency.insert(format!("{region} p99"), p99.clone());
        latency.insert(format!("{region} p50"), p50.clone());
    }
    vec![
        (
            "latency.svg".into(),
            chart("Latency per region (p50, p99 per second)", "ms", latency),
        ),
        (
            "replication-lag.svg".into(),
            chart(
                "Replication lag p99 per region pair",
                "ms",
                stats.lag_series().clone(),
            ),
        ),
        (
            "throughput.svg".into(),
            chart(
                "Completed ops per second by outcome",
                "ops/s",
                stats.throughput_series(),
            ),
        ),
        (
            "capacity.svg".into(),
            chart(
                "Capacity units per second: provisioned and consumed (10 s samples)",
                "units/s",
                stats::capacity_series(scenario, run),
            ),
        ),
    ]
}

use dynasim_checker::{Report, Status};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Wall-clock figures of a run: kept in their own block, outside everything hashed or
/// compared, because they differ from machine to machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wall {
    pub seconds: f64,
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Unknown => "unknown",
        Status::Fail => "fail",
    }
}

/// `summary.json`: stable schema (version 1), sorted keys.
pub fn summary_json(
    scenario: &Scenario,
    run: &RunOutput,
    stats: &HistoryStats,
    report: &Report,
    wall: Wall,
) -> Value {
    let lww_overwrites: u64 = run
        .replication_counters
        .iter()
        .map(|c| c.lww_overwrites)
        .sum();
    let applied_out_of_order: u64 = run
        .replication_counters
        .iter()
        .map(|c| c.applied_out_of_order)
        .sum();
    json!({
        "schema": 1,
        "scenario": run.scenario,
        "description": scenario.meta.description,
        "seed": run.seed,
        "verdict": status_name(report.status),
        "trace_hash": run.trace_hash,
        "simulated_s": run.duration_us as f64 / 1e6,
        "assertions": report.verdicts,
        "latency_ms": stats.latency(),
        "replication_lag_ms": stats.replication_lag(),
        "ops": stats.op_counts(),
        "ops_total": stats.client_ops(),
        "ttl_deletes": stats.service_ops(),
        "consumers": run.consumers.iter().map(|c| json!({
            "consumer": scenario.consumers.get(c.consumer as usize).map_or("?", |s| s.name.as_str()),
            "region": run.region_names[c.region.0 as usize],
            "invocations": c.invocations,
            "failed_invocations": c.failed_invocations,
            "records_delivered": c.records_delivered,
            "duplicates": c.duplicates,
            "filtered": c.filtered,
            "to_failure_destination": c.to_failure_destination,
            "expired": c.expired,
            "backlog": c.backlog,
            "view_mismatches": c.view_mismatches,
        })).collect::<Vec<_>>(),
        "replication_applies": stats.applies(),
        "lww_overwrites": lww_overwrites,
        "replication_applied_out_of_order": applied_out_of_order,
        "lww": report.lww,
        "convergence": report.convergence,
        "reads": report.reads,
        "transactions": report.transactions,
        "indexes": report.indexes,
        "regions": run.region_names.iter().zip(&run.region_counters).map(|(n, c)| (n.clone(), json!(c))).collect::<serde_json::Map<_, _>>(),
        "tables": table_counters_json(run),
        "wall": { "seconds": (wall.seconds * 1000.0).round() / 1000.0,
                  "speed_x_real_time": if wall.seconds > 0.0 { ((run.duration_us as f64 / 1e6 / wall.seconds) * 10.0).round() / 10.0 } else { 0.0 } },
    })
}

/// The command that reproduces a run.
pub fn repro_command(scenario_path: &str, seed: u64) -> String {
    format!("cargo run --release -p dynasim -- run {scenario_path} --seed {seed}")
}

/// `summary.md`: the same facts for people.
pub fn summary_md(
    run: &RunOutput,
    stats: &HistoryStats,
    report: &Report,
    scenario_path: &str,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# {} (seed {}): {}\n",
        run.scenario,
        run.seed,
        status_name(report.status).to_uppercase()
    );
    let _ = writeln!(
        md,
        "Reproduce: `{}`  \nTrace hash: `{}`\n",
        repro_command(scenario_path, run.seed),
        run.trace_hash
    );
    let _ = writeln!(
        md,
        "| assertion | status | observed | bound |\n|---|---|---|---|"
    );
    for v in &report.verdicts {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            v.assertion,
            status_name(v.status),
            v.observed,
            v.bound
        );
    }
    for v in report
        .verdicts
        .iter()
        .filter(|v| v.status != Status::Pass && !v.evidence.is_empty())
    {
        let _ = writeln!(md, "\n## {}\n", v.assertion);
        for e in &v.evidence {
            let _ = writeln!(md, "- {e}");
        }
    }
    let _ = writeln!(
        md,
        "\n## Latency (ms, successful ops)\n\n| region/op | count | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|"
    );
    for (k, p) in stats.latency() {
        let _ = writeln!(
            md,
            "| {k} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            p.count, p.p50_ms, p.p99_ms, p.p999_ms, p.max_ms
        );
    }
    let _ = writeln!(
        md,
        "\n## Replication lag (ms)\n\n| pair | count | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|"
    );
    for (k, p) in stats.replication_lag() {
        let _ = writeln!(
            md,
            "| {k} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            p.count, p.p50_ms, p.p99_ms, p.p999_ms, p.max_ms
        );
    }
    region_table(&mut md, run);
    tables_table(&mut md, run);
    let _ = writeln!(
        md,
        "\nPlots: `latency.svg`, `replication-lag.svg`, `throughput.svg`, `capacity.svg`."
    );
    md
}

/// Per table replica, keyed `region/table`: the region metrics broken down by table.
fn table_counters_json(run: &RunOutput) -> serde_json::Map<String, serde_json::Value> {
    run.table_counters
        .iter()
        .map(|c| {
            let region = run
                .region_names
                .get(c.region.0 as usize)
                .map_or("?", String::as_str);
            let mut value = json!(c);
            if let Some(object) = value.as_object_mut() {
                // The key says which replica it is.
                object.remove("region");
                object.remove("table");
                object.remove("table_name");
            }
            (format!("{region}/{}", c.table_name), value)
        })
        .collect()
}

/// Per table replica: outcomes by operation, throttles by reason, consumed units, DAX,
/// stale reads, leaders and partitions (the region rows broken down by table).
fn tables_table(md: &mut String, run: &RunOutput) {
    if run.table_counters.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n## Tables\n\n| region / table | ops ok | failed | throttled (by reason) | consumed RCU / WCU | DAX hits / misses | stale replica / index reads | leader elections | partitions (splits) |\n|---|---|---|---|---|---|---|---|---|"
    );
    for c in &run.table_counters {
        let region = run
            .region_names
            .get(c.region.0 as usize)
            .map_or("?", String::as_str);
        let sum = |suffix: &str| -> u64 {
            c.ops
                .iter()
                .filter(|(k, _)| k.ends_with(suffix))
                .map(|(_, n)| n)
                .sum()
        };
        let throttled: u64 = c.throttles_by_reason.values().sum();
        let reasons: Vec<String> = c
            .throttles_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason} {n}"))
            .collect();
        let throttled = if reasons.is_empty() {
            throttled.to_string()
        } else {
            format!("{throttled} ({})", reasons.join(", "))
        };
        let _ = writeln!(
            md,
            "| {region} / {} | {} | {} | {throttled} | {:.1} / {:.1} | {} / {} | {} / {} | {} | {} ({}) |",
            c.table_name,
            sum("/ok"),
            sum("/failed"),
            c.consumed_read_units,
            c.consumed_write_units,
            c.dax_hits,
            c.dax_misses,
            c.stale_replica_reads,
            c.stale_index_reads,
            c.leader_elections,
            c.partitions,
            c.partition_splits
        );
    }
}

/// Per-region service metrics: outcomes, throttles by ER-03 reason, the lag inside the
/// region (third AZ replica, GSIs), stale reads they caused, DAX, leaders, splits.
fn region_table(md: &mut String, run: &RunOutput) {
    let _ = writeln!(
        md,
        "\n## Regions\n\n| region | ops ok | failed | throttled (by reason) | AZ replica lag p50 / p99 ms | stale replica reads | index lag p50 / p99 ms | stale index reads | DAX hits / misses | leader elections | partition splits |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let ms = |us: u64| us as f64 / 1_000.0;
    for (name, c) in run.region_names.iter().zip(&run.region_counters) {
        let reasons: Vec<String> = c
            .throttles_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason} {n}"))
            .collect();
        let throttled = if reasons.is_empty() {
            c.throttles.to_string()
        } else {
            format!("{} ({})", c.throttles, reasons.join(", "))
        };
        // No GSI, no samples: a dash rather than a lag of zero.
        let index_lag = if c.index_lag_us_max == 0 {
            "–".to_string()
        } else {
            format!(
                "{:.3} / {:.3}",
                ms(c.index_lag_us_p50),
                ms(c.index_lag_us_p99)
            )
        };
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {throttled} | {:.3} / {:.3} | {} | {index_lag} | {} | {} / {} | {} | {} |",
            c.ops_ok,
            c.ops_failed,
            ms(c.replica_lag_us_p50),
            ms(c.replica_lag_us_p99),
            c.stale_replica_reads,
            c.stale_index_reads,
            c.dax_hits,
            c.dax_misses,
            c.leader_elections,
            c.partition_splits
        );
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `junit.xml`: one test case per verdict, for CI systems.
pub fn junit_xml(run: &RunOutput, report: &Report, scenario_path: &str) -> String {
    let failures = report
        .verdicts
        .iter()
        .filter(|v| v.status == Status::Fail)
        .count();
    let skipped = report
        .verdicts
        .iter()
        .filter(|v| v.status == Status::Unknown)
        .count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let suite = format!("{}.seed-{}", run.scenario, run.seed);
    let _ = writeln!(
        x,
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        xml_escape(&suite),
        report.verdicts.len()
    );
    for v in &report.verdicts {
        let _ = write!(
            x,
            "  <testcase classname=\"{}\" name=\"{}\">",
            xml_escape(&suite),
            xml_escape(&v.assertion)
        );
        match v.status {
            Status::Pass => {}
            Status::Unknown => {
                let _ = write!(
                    x,
                    "<skipped message=\"inconclusive: {}\"/>",
                    xml_escape(&v.observed)
                );
            }
            Status::Fail => {
                let _ = write!(
                    x,
                    "<failure message=\"observed {} (bound {})\">{}\nreproduce: {}</failure>",
                    xml_escape(&v.observed),
                    xml_escape(&v.bound),
                    xml_escape(&v.evidence.join("\n")),
                    xml_escape(&repro_command(scenario_path, run.seed))
                );
            }
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("</testsuite>\n");
    x
}

/// Write a whole run directory; returns the files written.
pub fn write_run_dir(
    dir: &Path,
    scenario: &Scenario,
    scenario_path: &str,
    run: &RunOutput,
    report: &Report,
    wall: Wall,
) -> std::io::Result<Vec<PathBuf>> {
    write_run_dir_from(dir, scenario, scenario_path, (run, run), report, wall)
}

/// Write a whole run directory from a run whose ops and applies come from `history`
/// (the run's own are not read); returns the files written. `history.jsonl` and the
/// statistics stream: one op at a time.
pub fn write_run_dir_from(
    dir: &Path,
    scenario: &Scenario,
    scenario_path: &str,
    (run, history): (&RunOutput, &dyn HistorySource),
    report: &Report,
    wall: Wall,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    let history_path = dir.join("history.jsonl");
    let mut stats = write_history(&history_path, run, history)?;
    let mut put = |name: &str, contents: &[u8]| -> std::io::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, contents)?;
        files.push(path);
        Ok(())
    };
    let summary = summary_json(scenario, run, &stats, report, wall);
    put(
        "summary.json",
        serde_json::to_string_pretty(&summary)
            .expect("summary serializes")
            .as_bytes(),
    )?;
    put(
        "summary.md",
        summary_md(run, &stats, report, scenario_path).as_bytes(),
    )?;
    put(
        "junit.xml",
        junit_xml(run, report, scenario_path).as_bytes(),
    )?;
    let mut events = Vec::new();
    for e in &run.events {
        serde_json::to_writer(&mut events, e).expect("events serialize");
        events.push(b'\n');
    }
    put("events.jsonl", &events)?;
    // Interactive actions (dashboard keys, `--action`), so `dynasim replay` re-injects them.
    let actions: Vec<serde_json::Value> = run
        .events
        .iter()
        .filter(|e| e.kind == dynasim_core::history::EventKind::Action)
        .map(|e| json!({"at_us": e.at_us, "action": e.detail}))
        .collect();
    let mut meta = serde_json::to_vec_pretty(&json!({
        "scenario_path": scenario_path,
        "seed": run.seed,
        "trace_hash": run.trace_hash,
        "actions": actions,
    }))
    .expect("run metadata serializes");
    meta.push(b'\n');
    put("run.json", &meta)?;
    for (name, svg) in plots(scenario, run, &mut stats) {
        put(&name, svg.as_bytes())?;
    }
    // Listed where it always was, after junit.xml (written first: it yields the statistics).
    files.insert(3, history_path);
    Ok(files)
}

/// `history.jsonl` (one op per line, in history order) and, in the same pass, the
/// history's statistics.
fn write_history(
    path: &Path,
    run: &RunOutput,
    history: &dyn HistorySource,
) -> std::io::Result<HistoryStats> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut stats = HistoryStats::new(run);
    let mut failed: Option<std::io::Error> = None;
    history.each_op(&mut |op| {
        stats.op(op);
        if failed.is_none() {
            let line = serde_json::to_writer(&mut out, op)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            failed = line.err();
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    history.each_apply(&mut |a| stats.apply(a))?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynasim_core::history::RegionCounters;

    fn run_with(counters: Vec<RegionCounters>) -> RunOutput {
        RunOutput {
            scenario: "t".into(),
            seed: 1,
            epoch_unix_us: 0,
            duration_us: 1,
            region_names: vec!["us-east-1".into(), "eu-west-1".into()],
            history: Vec::new(),
            applies: Vec::new(),
            events: Vec::new(),
            replicas: Vec::new(),
            region_counters: counters,
            replication_counters: Vec::new(),
            capacity: Vec::new(),
            deliveries: Vec::new(),
            consumers: Vec::new(),
            table_counters: Vec::new(),
            trace_hash: String::new(),
        }
    }

    #[test]
    fn the_tables_section_breaks_each_region_down_by_table() {
        let mut run = run_with(vec![RegionCounters::default(), RegionCounters::default()]);
        let mut ops = std::collections::BTreeMap::new();
        ops.insert("get/ok".to_string(), 7);
        ops.insert("put/ok".to_string(), 2);
        ops.insert("put/failed".to_string(), 3);
        let mut throttles_by_reason = std::collections::BTreeMap::new();
        throttles_by_reason.insert("TableWriteProvisionedThroughputExceeded".to_string(), 3);
        run.table_counters
            .push(dynasim_core::history::TableReplicaCounters {
                region: dynasim_core::RegionId(1),
                table: 0,
                table_name: "orders".into(),
                ops,
                throttles_by_reason,
                consumed_read_units: 3.5,
                consumed_write_units: 2.0,
                dax_hits: 4,
                dax_misses: 3,
                stale_replica_reads: 1,
                stale_index_reads: 0,
                leader_elections: 0,
                partition_splits: 1,
                partitions: 5,
            });
        let mut md = String::new();
        tables_table(&mut md, &run);
        assert!(
            md.contains(
                "| eu-west-1 / orders | 9 | 3 | 3 (TableWriteProvisionedThroughputExceeded 3) | 3.5 / 2.0 | 4 / 3 | 1 / 0 | 0 | 5 (1) |"
            ),
            "{md}"
        );
        let json = table_counters_json(&run);
        assert_eq!(json["eu-west-1/orders"]["ops"]["put/failed"], 3, "{json:?}");
    }

    #[test]
    fn the_region_table_names_throttle_reasons_and_the_lag_inside_each_region() {
        let mut hot = RegionCounters {
            ops_ok: 10,
            throttles: 3,
            replica_lag_us_p50: 7_000,
            replica_lag_us_p99: 45_000,
            index_lag_us_p50: 35_000,
            index_lag_us_p99: 230_000,
            index_lag_us_max: 500_000,
            stale_index_reads: 4,
            ..RegionCounters::default()
        };
        hot.throttles_by_reason
            .insert("TableWriteKeyRangeThroughputExceeded".into(), 3);
        let mut md = String::new();
        region_table(&mut md, &run_with(vec![hot, RegionCounters::default()]));
        assert!(
            md.contains(
                "| us-east-1 | 10 | 0 | 3 (TableWriteKeyRangeThroughputExceeded 3) | 7.000 / 45.000 | 0 | 35.000 / 230.000 | 4 |"
            ),
            "{md}"
        );
        // A region without GSIs has no index lag to show.
        assert!(
            md.contains("| eu-west-1 | 0 | 0 | 0 | 0.000 / 0.000 | 0 | – | 0 |"),
            "{md}"
        );
    }
}
