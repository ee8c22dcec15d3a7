//! The `dynasim` binary as a user runs it: exit codes, the seed banner, JSON output,
//! validation errors and the report directory with its plots.

mod common;

use std::process::Command;

fn dynasim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dynasim"))
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("binary runs")
}

fn scenario(rel: &str) -> String {
    common::root().join(rel).display().to_string()
}

#[test]
fn check_accepts_every_shipped_scenario() {
    let files: Vec<String> = common::scenario_files("")
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let out = dynasim(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn invalid_scenario_exits_2_naming_file_line_and_field() {
    let dir = tempdir();
    let path = dir.join("bad.toml");
    let text =
        std::fs::read_to_string(common::root().join("scenarios/partition/us-eu-split-heal.toml"))
            .expect("read")
            .replace("target = \"split\"", "target = \"spilt\"");
    std::fs::write(&path, text).expect("write");
    let out = dynasim(&["run", &path.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml:"), "{stderr}");
    assert!(stderr.contains("target"), "{stderr}");
    assert!(stderr.contains("spilt"), "{stderr}");
}

/// `serve --gsi-lag` takes a duration of at most 60 s; anything else is refused before
/// any port is bound, naming the flag and what it expected.
#[test]
fn serve_refuses_a_bad_gsi_lag_naming_the_flag() {
    for (lag, expected) in [("2m", "at most 60s"), ("soon", "a duration with units")] {
        let out = dynasim(&["serve", "--port", "0", "--gsi-lag", lag]);
        assert_eq!(out.status.code(), Some(2), "{lag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--gsi-lag"), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn run_prints_seed_banner_first_and_json_summary() {
    let dir = tempdir();
    let out = dynasim(&[
        "run",
        &scenario("scenarios/az/az-outage-leader-failover.toml"),
        "--seed",
        "7",
        "--format",
        "json",
        "--out",
        &dir.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("SEED=7\n"), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(summary["verdict"], "pass");
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["schema"], 1);
    assert!(
        summary["trace_hash"]
            .as_str()
            .is_some_and(|h| h.len() == 16)
    );
    assert!(
        summary["assertions"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    assert!(
        summary["latency_ms"]["us-east-1/get"]["count"]
            .as_u64()
            .is_some_and(|c| c > 0)
    );
    for file in [
        "summary.json",
        "summary.md",
        "junit.xml",
        "history.jsonl",
        "events.jsonl",
        "run.json",
    ] {
        assert!(dir.join(file).exists(), "{file} written");
    }
}

#[test]
fn failing_run_exits_1_with_repro_command() {
    let out = dynasim(&[
        "run",
        &scenario("scenarios/known-bad/drop-one-in-n.toml"),
        "--known-bug",
        "drop_one_in:7",
        "--no-report",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("reproduce: cargo run --release -p dynasim -- run"),
        "{stdout}"
    );
}

#[test]
fn replay_reproduces_the_recorded_trace() {
    let dir = tempdir();
    let path = scenario("scenarios/lww/concurrent-writers.toml");
    let out = dynasim(&["run", &path, "--out", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(0));
    let out = dynasim(&["replay", &dir.display().to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("identical"));
    // A tampered recording is reported as nondeterminism (exit 4) with the first diverging op.
    let meta = std::fs::read_to_string(dir.join("run.json")).expect("run.json");
    let tampered = regex_free_replace_hash(&meta);
    std::fs::write(dir.join("run.json"), tampered).expect("write");
    let out = dynasim(&["replay", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(4));
}

fn regex_free_replace_hash(meta: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(meta).expect("json");
    v["trace_hash"] = serde_json::Value::String("0000000000000000".into());
    v.to_string()
}

#[test]
fn explore_runs_a_shard_of_seeds_in_parallel_processes() {
    let out = dynasim(&[
        "explore",
        &scenario("scenarios/clock/skew-later-write-loses.toml"),
        "--seeds",
        "4",
        "--jobs",
        "2",
        "--shard",
        "1/2",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seeds: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json line")["seed"]
                .as_u64()
                .expect("seed")
        })
        .collect();
    assert_eq!(seeds, vec![1, 3], "shard 1/2 of seeds 1..=4");
}

#[test]
fn list_shows_shipped_scenarios() {
    let out = dynasim(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("us-eu-split-heal.toml"), "{stdout}");
}

#[test]
fn report_plots_contain_the_series() {
    let dir = tempdir();
    let out = dynasim(&[
        "run",
        &scenario("scenarios/partition/us-eu-split-heal.toml"),
        "--out",
        &dir.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let latency = std::fs::read_to_string(dir.join("latency.svg")).expect("latency.svg");
    for region in ["us-east-1", "eu-west-1", "ap-south-1"] {
        assert!(
            latency.contains(&format!("data-name=\"{region} p99\"")),
            "latency series for {region}"
        );
    }
    assert!(
        latency.contains("class=\"fault\""),
        "the partition window is shaded"
    );
    let lag =
        std::fs::read_to_string(dir.join("replication-lag.svg")).expect("replication-lag.svg");
    assert!(
        lag.contains("data-name=\"us-east-1-&gt;eu-west-1\""),
        "lag series per pair"
    );
    let throughput = std::fs::read_to_string(dir.join("throughput.svg")).expect("throughput.svg");
    assert!(
        throughput.contains("data-name=\"ok\"") && throughput.contains("data-name=\"throttled\"")
    );
    let capacity = std::fs::read_to_string(dir.join("capacity.svg")).expect("capacity.svg");
    assert!(
        capacity.contains("data-name=\"us-east-1 orders write consumed\""),
        "consumed write units per region and table"
    );
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("<testsuite") && junit.contains("<testcase"));
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dynasim-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
