//! dynasim-report: everything a run leaves on disk. The only crate that writes files.
//!
//! A run directory (`reports/<scenario>/seed-<n>/`) holds `summary.json` (stable schema,
//! sorted keys), `summary.md`, `junit.xml`, `history.jsonl`, `events.jsonl` and SVG plots.
//! Everything but the `wall` block of `summary.json` is a pure function of the run.

pub mod plot;
pub mod stats;

use dynasim_core::history::RunOutput;
use dynasim_scenario::Scenario;
use plot::{Chart, Series};

/// The SVG plots of a run, as (file name, contents).
pub fn plots(scenario: &Scenario, run: &RunOutput) -> Vec<(String, String)> {
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
    let mut latency = stats::latency_series(run, 0.99);
    for (region, points) in stats::latency_series(run, 0.5) {
        latency.insert(format!("{region} p50"), points);
    }
    let latency: std::collections::BTreeMap<String, Vec<(f64, f64)>> = latency
        .into_iter()
        .map(|(k, v)| {
            (
                if k.ends_with(" p50") {
                    k
                } else {
                    format!("{k} p99")
                },
                v,
            )
        })
        .collect();
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
                stats::lag_series(run, 0.99),
            ),
        ),
        (
            "throughput.svg".into(),
            chart(
                "Completed ops per second by outcome",
                "ops/s",
                stats::throughput_series(run),
            ),
        ),
    ]
}
