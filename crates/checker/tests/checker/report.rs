//! The report as a whole: verdict order and names, status, deterministic serialization.

use crate::builder::*;
use dynasim_checker::Status;

#[test]
fn verdicts_follow_assertion_order_then_safety_and_serialize_identically() {
    let mut sim = Sim::new();
    for i in 0..20u64 {
        let a = sim.put(US, i % 3, 11_000_000 + i * 1_000, 11_000_000 + i * 1_000);
        sim.replicate(a, EU, 11_100_000 + i * 1_000);
        sim.get(EU, i % 3, 12_000_000 + i * 1_000, false);
    }
    let run = sim.finish();
    let extra = "[[assert]]\nkind = \"lww_losses\"\nmax = 0\n\
                 [[assert]]\nkind = \"latency\"\nop = \"get\"\nregion = \"each\"\nquantile = 0.5\nmax = \"5ms\"\n";
    let scenario = scenario(extra);
    let report = check_default(&scenario, &run);
    let names: Vec<&str> = report
        .verdicts
        .iter()
        .map(|v| v.assertion.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "lww losses",
            "latency get p50 us-east-1",
            "latency get p50 eu-west-1",
            "safety: replicas converge",
            "safety: lww winners",
            "safety: reads",
            "safety: linearizability",
        ]
    );
    assert_eq!(report.status, Status::Unknown, "us-east-1 served no gets");
    let once = serde_json::to_string(&report).unwrap();
    let twice = serde_json::to_string(&check_default(&scenario, &run)).unwrap();
    assert_eq!(once, twice);
    assert!(
        once.contains("\"OVERWRITTEN\":17"),
        "counts keyed by class name: {once}"
    );
}

#[test]
fn display_lists_every_verdict_and_the_evidence_of_failures() {
    let mut sim = Sim::new();
    sim.put(US, 1, 1_000, 1_000); // never replicated: eu-west-1 diverges
    let report = check_default(&scenario(""), &sim.finish());
    let text = report.to_string();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("FAIL safety: replicas converge: observed 1 keys diverged in 1 tables, bound 0 keys")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("    replicas of table 0 key 1 disagree"),
        "{text}"
    );
    assert!(text.ends_with("FAIL: scenario test seed 1"), "{text}");
    assert_eq!(report.exit_code(), 1);
}
