//! A history streamed to disk gives exactly what the in-memory history gives: the same
//! trace hash, the same report (verdicts, counts, examples, summaries) and the same report
//! files, on healthy, faulty and known-bad runs.

mod common;

use dynasim::{HistorySpill, KnownBug, Outcome, RunOptions, Scenario, run_scenario};
use std::path::{Path, PathBuf};

/// (file under scenarios/, bug switched on)
const CASES: &[(&str, Option<KnownBug>)] = &[
    ("known-bad/drop-one-in-n.toml", Some(KnownBug::DropOneIn(7))),
    ("known-bad/reuse-stamp.toml", Some(KnownBug::ReuseStamp)),
    (
        "known-bad/strong-reads-from-follower.toml",
        Some(KnownBug::StrongReadsFromFollower),
    ),
    ("soak/swizzle-partitions.toml", None),
    ("partition/us-eu-split-heal.toml", None),
    ("streams/triggers-per-region.toml", None),
    ("ttl/expiry-replicates.toml", None),
    // A transaction's items fall in different shards: the atomicity check still sees them
    // together (and the broken variant still fails the same way).
    ("transactions/groups-across-regions.toml", None),
    (
        "known-bad/torn-transaction-reads.toml",
        Some(KnownBug::StrongReadsFromFollower),
    ),
];

/// A fresh path under the temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("dynasim-spill-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(file: &str, bug: Option<KnownBug>, history: Option<HistorySpill>) -> Outcome {
    let path = common::root().join("scenarios").join(file);
    let scenario = Scenario::from_file(&path).expect("shipped scenarios are valid");
    run_scenario(
        scenario,
        &path.display().to_string(),
        &RunOptions {
            seed: 1,
            bug,
            history,
            ..Default::default()
        },
    )
    .expect("runs")
}

/// Every file of a report directory by name; `summary.json` without its wall-clock block.
fn report_files(outcome: &Outcome, dir: &Path) -> Vec<(String, Vec<u8>)> {
    outcome.write_report(dir).expect("the report is written");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("the report directory exists")
        .map(|e| {
            let path = e.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let mut bytes = std::fs::read(&path).expect("report files read");
            if name == "summary.json" {
                let mut summary: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                summary.as_object_mut().unwrap().remove("wall");
                bytes = serde_json::to_vec_pretty(&summary).unwrap();
            }
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_spilled_history_gives_the_in_memory_report_and_files() {
    for (file, bug) in CASES {
        let in_memory = run(file, *bug, None);
        for shards in [1, 7] {
            let name = format!("{}-{shards}", file.replace('/', "-"));
            let dirs = ["history", "memory", "spilled"].map(|d| scratch(&format!("{name}-{d}")));
            let [history_dir, memory_dir, spilled_dir] = &dirs;
            let spill = HistorySpill {
                dir: history_dir.clone(),
                shards,
            };
            let spilled = run(file, *bug, Some(spill));
            assert!(spilled.run.history.is_empty() && spilled.run.applies.is_empty());
            assert_eq!(
                spilled.run.trace_hash, in_memory.run.trace_hash,
                "{file}: trace hash"
            );
            assert_eq!(
                serde_json::to_string_pretty(&spilled.report).unwrap(),
                serde_json::to_string_pretty(&in_memory.report).unwrap(),
                "{file} with {shards} shards: report"
            );
            assert_eq!(spilled.record_counts(), in_memory.record_counts());
            let a = report_files(&in_memory, memory_dir);
            let b = report_files(&spilled, spilled_dir);
            assert_eq!(
                a.iter().map(|f| &f.0).collect::<Vec<_>>(),
                b.iter().map(|f| &f.0).collect::<Vec<_>>()
            );
            for ((name, x), (_, y)) in a.iter().zip(&b) {
                assert!(x == y, "{file} with {shards} shards: {name} differs");
            }
            for dir in &dirs {
                std::fs::remove_dir_all(dir).unwrap();
            }
        }
    }
}

#[test]
fn the_known_bugs_still_fail_with_a_spilled_history() {
    let dir = scratch("known-bad");
    let spill = HistorySpill {
        dir: dir.clone(),
        shards: 5,
    };
    let outcome = run(
        "known-bad/drop-one-in-n.toml",
        Some(KnownBug::DropOneIn(7)),
        Some(spill),
    );
    let verdict = outcome
        .report
        .verdict("safety: replicas converge")
        .expect("the safety verdict is there");
    assert_eq!(verdict.status, dynasim::Status::Fail, "{verdict}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unwritable_history_dir_is_a_clear_error() {
    let file = scratch("not-a-dir");
    std::fs::write(&file, b"a file").unwrap();
    let path = common::root().join("scenarios/partition/us-eu-split-heal.toml");
    let scenario = Scenario::from_file(&path).unwrap();
    let err = run_scenario(
        scenario,
        "us-eu-split-heal.toml",
        &RunOptions {
            seed: 1,
            history: Some(HistorySpill::new(file.join("history"))),
            ..Default::default()
        },
    )
    .expect_err("a directory under a file cannot be created");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
    std::fs::remove_file(file).unwrap();
}
