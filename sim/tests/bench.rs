//! `dynasim bench`'s in-process pieces at toy sizes: they run and report sane figures.
//! Speed is never asserted (machines are noisy); only that the measurements complete.

use dynasim::bench_engine::{EngineSizes, measure, render};
use dynasim::bench_serve::{ServeSettings, locate_dynalite, section};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[test]
fn engine_comparison_reports_positive_rates_and_ratios() {
    let sizes = EngineSizes {
        keys: 2_000,
        query_items: 5_000,
        gsi_keys: 1_000,
        window: Duration::from_millis(20),
    };
    let mut notes = Vec::new();
    let comparisons = measure(sizes, 2, &mut |n| notes.push(n.to_string()));
    assert_eq!(comparisons.len(), 4, "GetItem, PutItem, Query, GSI PutItem");
    assert!(!notes.is_empty());
    for c in &comparisons {
        assert_eq!(c.engine.len(), 2, "{}", c.name);
        assert_eq!(c.baseline.len(), 2, "{}", c.name);
        for rate in c.engine.iter().chain(&c.baseline) {
            assert!(rate.is_finite() && *rate > 0.0, "{}: rate {rate}", c.name);
        }
        for ratio in c.ratios() {
            assert!(
                ratio.is_finite() && ratio > 0.0,
                "{}: ratio {ratio}",
                c.name
            );
        }
    }
    let table = render(&comparisons, 2);
    assert!(
        table.contains("| GetItem, 200 B items, 2000 keys |"),
        "{table}"
    );
    assert!(table.contains("Query of 50 items out of 5000"), "{table}");
    // The header row and one row per comparison.
    assert_eq!(table.lines().filter(|l| l.starts_with("| ")).count(), 5);
}

#[test]
fn serve_section_without_dynalite_measures_dynasim_serve_and_says_why() {
    let settings = ServeSettings {
        dynasim_exe: PathBuf::from(env!("CARGO_BIN_EXE_dynasim")),
        dynalite: Err("dynalite not found at nowhere; npm install dynalite".into()),
        node: "node".into(),
        duration: Duration::from_millis(300),
        connections: 2,
        runs: 1,
    };
    let out = section(&settings, &mut |_| {});
    assert!(
        out.contains("serve vs dynalite: skipped (dynalite not found"),
        "{out}"
    );
    assert!(!out.contains("The load failed"), "{out}");
    assert!(!out.contains("not measured ("), "{out}");
    for op in ["PutItem", "GetItem", "Query"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("| {op} | ")))
            .unwrap_or_else(|| panic!("no {op} row in {out}"));
        let ops = row.split(" | ").nth(1).expect("an ops/s cell");
        assert!(!ops.starts_with('-') && !ops.starts_with('0'), "{row}");
    }
}

#[test]
fn serve_section_reports_a_server_that_cannot_start() {
    let settings = ServeSettings {
        dynasim_exe: PathBuf::from("/nonexistent/dynasim"),
        dynalite: Err("not in this test".into()),
        node: "node".into(),
        duration: Duration::from_millis(100),
        connections: 1,
        runs: 1,
    };
    let out = section(&settings, &mut |_| {});
    assert!(
        out.contains("not measured (cannot start dynasim serve"),
        "{out}"
    );
}

#[test]
fn a_missing_dynalite_is_a_message() {
    let e =
        locate_dynalite(Some(Path::new("/nonexistent/dynalite/cli.js"))).expect_err("no such file");
    assert!(
        e.contains("npm install dynalite, or pass --dynalite"),
        "{e}"
    );
}

#[test]
fn bench_rejects_unknown_sections() {
    let out = Command::new(env!("CARGO_BIN_EXE_dynasim"))
        .args(["bench", "--only", "engine,nope"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown bench section \"nope\""),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dynasim"))
        .args(["bench", "--only", "serve", "--skip", "serve"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

/// The whole command on its cheapest section: the header has the machine, the commit
/// and the command line.
#[test]
fn bench_region_section_runs_with_a_header() {
    let dir = std::env::temp_dir().join(format!("dynasim-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bench.md");
    let out = Command::new(env!("CARGO_BIN_EXE_dynasim"))
        .args([
            "bench", "--quick", "--runs", "1", "--only", "region", "--out",
        ])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let report = std::fs::read_to_string(&file).expect("report written");
    std::fs::remove_dir_all(&dir).expect("cleanup");
    for needle in [
        "command: `",
        "--only region",
        "commit: ",
        // Tests build with debug assertions: the header says it is not a release build.
        "build: debug assertions on",
        "machine: ",
        "load average: ",
        "at end",
        "## 2. Region vs bare engine",
    ] {
        assert!(report.contains(needle), "{needle:?} missing from {report}");
    }
}
