//! Read checks: stale-read ratio, garbage reads, session guarantees of strong reads, and
//! linearizability of strong operations per key.

use crate::builder::*;
use dynasim_checker::{CheckConfig, Status, check};

const READS: &str = "safety: reads";
const LINEARIZABLE: &str = "safety: linearizability";

fn stale_report(replicate_at_us: u64) -> dynasim_checker::Report {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 11_000_000, 11_000_000);
    if replicate_at_us < 13_000_000 {
        sim.replicate(a, EU, replicate_at_us);
    }
    sim.get(EU, 1, 13_000_000, false);
    sim.get(US, 1, 13_000_000, false);
    sim.replicate(a, EU, replicate_at_us);
    let extra = "[[assert]]\nkind = \"stale_read_ratio\"\nmax = 0.1\nstaleness = \"1s\"\n\
                 region = \"each\"\n";
    check_default(&scenario(extra), &sim.finish())
}

#[test]
fn read_missing_a_write_acknowledged_long_before_is_stale() {
    let report = stale_report(20_000_000);
    let eu = verdict(&report, "stale read ratio eu-west-1");
    assert_eq!(eu.status, Status::Fail);
    assert_eq!(eu.observed, "1.0000");
    assert!(
        eu.evidence[1].contains("returned nothing, missing stamp 11000000@us-east-1#1"),
        "{eu:#?}"
    );
    assert_eq!(
        verdict(&report, "stale read ratio us-east-1").status,
        Status::Pass
    );
}

#[test]
fn read_after_replication_is_fresh() {
    let report = stale_report(11_500_000);
    assert_eq!(
        verdict(&report, "stale read ratio eu-west-1").status,
        Status::Pass
    );
}

#[test]
fn read_within_the_staleness_bound_is_not_stale() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 11_000_000, 11_000_000);
    sim.get(EU, 1, 11_500_000, false);
    sim.replicate(a, EU, 12_000_000);
    let extra = "[[assert]]\nkind = \"stale_read_ratio\"\nmax = 0.0\nstaleness = \"1s\"\n";
    let report = check_default(&scenario(extra), &sim.finish());
    assert_eq!(
        verdict(&report, "stale read ratio all").status,
        Status::Pass
    );
}

#[test]
fn read_of_a_value_never_written_is_garbage() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000, 1_000);
    let stamp = sim.stamp(a);
    sim.read(US, 1, 5_000, false, Some(999), Some(stamp));
    sim.replicate_all(10_000);
    let report = check_default(&scenario(""), &sim.finish());
    let v = verdict(&report, READS);
    assert_eq!(v.status, Status::Fail);
    assert_eq!(report.reads.garbage_reads, 1);
}

#[test]
fn strong_read_missing_the_sessions_own_write_breaks_read_your_writes() {
    let mut sim = Sim::new();
    sim.session = 7;
    sim.put(US, 1, 1_000_000, 1_000_000);
    sim.read(US, 1, 2_000_000, true, None, None);
    sim.replicate_all(3_000_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(report.reads.strong_read_your_writes_violations, 1);
    let v = verdict(&report, READS);
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.evidence[1].contains("read-your-writes: session 7 in us-east-1"),
        "{v:#?}"
    );
}

#[test]
fn eventual_read_missing_the_sessions_own_write_is_counted_only() {
    let mut sim = Sim::new();
    sim.put(US, 1, 1_000_000, 1_000_000);
    sim.read(US, 1, 2_000_000, false, None, None);
    sim.replicate_all(3_000_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(report.reads.eventual_read_your_writes_violations, 1);
    assert_eq!(verdict(&report, READS).status, Status::Pass);
}

#[test]
fn session_seeing_values_go_backwards_breaks_monotonic_reads() {
    let mut sim = Sim::new();
    sim.session = 1;
    let a = sim.put(US, 1, 1_000_000, 1_000_000);
    let b = sim.put(US, 1, 1_100_000, 1_100_000);
    sim.session = 2;
    let (sa, sb) = (sim.stamp(a), sim.stamp(b));
    sim.read(US, 1, 2_000_000, true, Some(b), Some(sb));
    sim.read(US, 1, 3_000_000, true, Some(a), Some(sa));
    sim.replicate_all(4_000_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(report.reads.strong_monotonic_read_violations, 1);
    assert_eq!(
        report.reads.strong_read_your_writes_violations, 0,
        "another session wrote"
    );
    assert_eq!(verdict(&report, READS).status, Status::Fail);
    // The same history is not linearizable either.
    assert_eq!(verdict(&report, LINEARIZABLE).status, Status::Fail);
}

#[test]
fn strong_reads_in_order_pass_every_read_check() {
    let mut sim = Sim::new();
    sim.session = 3;
    sim.put(US, 1, 1_000_000, 1_000_000);
    sim.get(US, 1, 2_000_000, true);
    sim.put(US, 1, 2_500_000, 2_500_000);
    sim.get(US, 1, 3_000_000, true);
    sim.replicate_all(4_000_000);
    sim.get(EU, 1, 5_000_000, true);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(
        verdict(&report, READS).status,
        Status::Pass,
        "{:#?}",
        report.reads
    );
    assert_eq!(verdict(&report, LINEARIZABLE).status, Status::Pass);
    let l = &report.reads.linearizability;
    assert_eq!(
        (l.keys_checked, l.keys_decided, l.keys_violating),
        (2, 2, 0)
    );
}

#[test]
fn strong_read_of_an_old_value_after_another_sessions_write_is_not_linearizable() {
    let mut sim = Sim::new();
    sim.session = 1;
    let a = sim.put(US, 1, 1_000_000, 1_000_000);
    sim.session = 2;
    sim.read(US, 1, 2_000_000, true, None, None); // The write completed at 1.001 s.
    sim.replicate_all(3_000_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(
        verdict(&report, READS).status,
        Status::Pass,
        "different sessions"
    );
    let v = verdict(&report, LINEARIZABLE);
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.evidence[1].contains("table 0 key 1 in us-east-1"),
        "{v:#?}"
    );
    assert!(
        v.evidence[1].contains(&format!("after op {a} [1.000000s, 1.001000s]")),
        "{v:#?}"
    );
}

#[test]
fn strong_read_concurrent_with_a_write_may_return_either() {
    let mut sim = Sim::new();
    sim.latency_us = 10_000;
    sim.put(US, 1, 1_000_000, 1_000_000);
    sim.read(US, 1, 1_005_000, true, None, None); // Overlaps the write.
    sim.replicate_all(3_000_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(verdict(&report, LINEARIZABLE).status, Status::Pass);
}

#[test]
fn replicated_apply_is_part_of_the_regions_history() {
    // eu-west-1's strong read returns us-east-1's write only after it was applied there.
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000_000, 1_000_000);
    sim.get(EU, 1, 1_500_000, true); // nothing yet: fine
    sim.replicate(a, EU, 2_000_000);
    sim.get(EU, 1, 2_500_000, true);
    let stale = sim.read(EU, 1, 3_000_000, true, None, None); // after the apply: not fine
    let report = check_default(&scenario(""), &sim.finish());
    let v = verdict(&report, LINEARIZABLE);
    assert_eq!(v.status, Status::Fail, "{v:#?}");
    assert!(
        v.evidence[1].contains("after replicated apply [2.000000s, 2.000000s]"),
        "{v:#?}"
    );
    assert!(v.evidence[1].contains(&format!("op {stale}")), "{v:#?}");
}

#[test]
fn search_over_budget_is_unknown() {
    let mut sim = Sim::new();
    sim.latency_us = 1_000_000;
    for i in 0..6u64 {
        sim.put(US, 1, 1_000_000 + i, 1_000_000 + i);
    }
    for i in 0..6u64 {
        sim.get(US, 1, 1_000_100 + i, true);
    }
    sim.replicate_all(5_000_000);
    let run = sim.finish();
    let config = CheckConfig {
        linearizability_states_max: 2,
        ..CheckConfig::default()
    };
    let report = check(&scenario(""), &run, &config);
    assert_eq!(verdict(&report, LINEARIZABLE).status, Status::Unknown);
    assert_eq!(report.reads.linearizability.keys_over_budget, 1);
}

fn mrsc_scenario() -> dynasim_scenario::Scenario {
    let text = r#"
schema = 1
[meta]
name = "mrsc-test"
[sim]
duration = "100s"
epoch = "2025-01-01T00:00:00Z"
[[region]]
name = "us-east-1"
azs = ["use1-az1", "use1-az2", "use1-az4"]
[[region]]
name = "eu-west-1"
azs = ["euw1-az1", "euw1-az2", "euw1-az3"]
[[region]]
name = "ap-northeast-1"
azs = ["apne1-az1", "apne1-az2", "apne1-az4"]
[[table]]
name = "items"
partition_key = { name = "pk", type = "S" }
replicas = ["us-east-1", "eu-west-1", "ap-northeast-1"]
consistency = "mrsc"
[[phase]]
name = "steady"
duration = "100s"
rate = { constant = 10 }
clients = { us-east-1 = 1.0, eu-west-1 = 1.0 }
mix = { get = 50, put = 50 }
keys = { table = "items", count = 10 }
reads = "strong"
"#;
    dynasim_scenario::Scenario::from_str(text, "mrsc.toml").expect("mrsc scenario loads")
}

/// MRSC: a strong read in any region must see every write completed before it began, in
/// any region (one history per key across regions, no replication applies).
fn mrsc_report(read_after_apply: bool) -> dynasim_checker::Report {
    let mut sim = Sim::with_regions(&["us-east-1", "eu-west-1", "ap-northeast-1"]);
    let a = sim.put(US, 1, 1_000_000, 1_000_000);
    if read_after_apply {
        sim.replicate_all(1_500_000);
    }
    sim.get(EU, 1, 2_000_000, true);
    sim.replicate_all(3_000_000);
    sim.get(AP, 1, 4_000_000, true);
    let _ = a;
    check_default(&mrsc_scenario(), &sim.finish())
}

#[test]
fn mrsc_strong_reads_are_linearizable_across_regions() {
    let report = mrsc_report(true);
    assert_eq!(verdict(&report, LINEARIZABLE).status, Status::Pass);
    assert_eq!(
        report.reads.linearizability.keys_checked, 1,
        "one history per key"
    );
}

#[test]
fn mrsc_strong_read_missing_a_write_completed_in_another_region_fails() {
    let report = mrsc_report(false);
    let v = verdict(&report, LINEARIZABLE);
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.evidence[1].contains("table 0 key 1 in all regions"),
        "{v:#?}"
    );
}
