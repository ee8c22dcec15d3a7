//! Performance assertions: latency (per region, phase and fault windows), replication
//! lag, throttle ratio and availability.

use crate::builder::*;
use dynasim_checker::Status;
use dynasim_core::history::{OpKind, OpResult};

/// hdrhistogram keeps three significant digits: quantiles are within 0.1 %.
fn assert_near(observed: Option<f64>, expected: f64) {
    let observed = observed.expect("a measured value");
    assert!(
        (observed - expected).abs() <= expected / 1_000.0,
        "{observed} is not within 0.1 % of {expected}"
    );
}

fn latency_run() -> dynasim_core::history::RunOutput {
    let mut sim = Sim::new();
    for i in 0..100u64 {
        let at = 11_000_000 + i * 10_000;
        sim.latency_us = 5_000;
        sim.put(US, i, at, at);
        sim.latency_us = 20_000;
        sim.put(EU, i, at + 1, at);
    }
    // Slow us-east-1 puts during the fault (12 s to 14 s).
    sim.latency_us = 500_000;
    for i in 0..10u64 {
        sim.put(US, 100 + i, 12_000_000 + i, 12_000_000 + i * 100_000);
    }
    // And in the warmup phase.
    for i in 0..10u64 {
        sim.put(US, 200 + i, 1_000_000 + i, 1_000_000 + i * 100_000);
    }
    sim.replicate_all(30_000_000);
    sim.finish()
}

const BLIP: &str = r#"
[[fault]]
id = "blip"
kind = "link_degrade"
between = ["us-east-1", "eu-west-1"]
extra_latency = "100ms"
at = "12s"
duration = "2s"
"#;

#[test]
fn latency_each_region_is_expanded_and_judged_apart() {
    let extra = format!(
        "{BLIP}\n[[assert]]\nkind = \"latency\"\nop = \"put\"\nregion = \"each\"\nquantile = 0.99\n\
         max = \"10ms\"\nduring = \"steady\"\nexclude_faults = true\n"
    );
    let report = check_default(&scenario(&extra), &latency_run());
    let us = verdict(
        &report,
        "latency put p99 us-east-1 during steady excluding faults",
    );
    assert_eq!(us.status, Status::Pass, "{us:#?}");
    assert_near(us.observed_value, 5_000.0);
    let eu = verdict(
        &report,
        "latency put p99 eu-west-1 during steady excluding faults",
    );
    assert_eq!(eu.status, Status::Fail);
    assert_near(eu.observed_value, 20_000.0);
    assert!(eu.evidence[1].contains("put op"), "{eu:#?}");
    assert_eq!(eu.index, Some(0));
}

#[test]
fn latency_window_without_fault_exclusion_sees_the_slow_ops() {
    let extra = format!(
        "{BLIP}\n[[assert]]\nkind = \"latency\"\nop = \"put\"\nregion = \"us-east-1\"\n\
         quantile = 0.99\nmax = \"10ms\"\nduring = \"steady\"\n"
    );
    let report = check_default(&scenario(&extra), &latency_run());
    let v = verdict(&report, "latency put p99 us-east-1 during steady");
    assert_eq!(v.status, Status::Fail);
    assert_near(v.observed_value, 500_000.0);
}

#[test]
fn latency_without_samples_is_unknown() {
    let extra = "[[assert]]\nkind = \"latency\"\nop = \"get\"\nquantile = 0.5\nmax = \"10ms\"\n";
    let report = check_default(&scenario(extra), &latency_run());
    assert_eq!(
        verdict(&report, "latency get p50 all").status,
        Status::Unknown
    );
}

#[test]
fn replication_lag_per_pair() {
    let mut sim = Sim::new();
    for i in 0..50u64 {
        let at = 11_000_000 + i * 10_000;
        let a = sim.put(US, i, at, at);
        sim.replicate(a, EU, at + 80_000);
        let b = sim.put(EU, 100 + i, at, at);
        sim.replicate(b, US, at + 300_000);
    }
    let run = sim.finish();
    let extra = "[[assert]]\nkind = \"replication_lag\"\nquantile = 0.99\nmax = \"100ms\"\n\
                 from = \"us-east-1\"\nto = \"eu-west-1\"\n\
                 [[assert]]\nkind = \"replication_lag\"\nquantile = 0.99\nmax = \"100ms\"\n";
    let report = check_default(&scenario(extra), &run);
    let pair = verdict(&report, "replication lag p99 us-east-1->eu-west-1");
    assert_eq!(pair.status, Status::Pass, "{pair:#?}");
    assert_near(pair.observed_value, 80_000.0);
    let any = verdict(&report, "replication lag p99 any->any");
    assert_eq!(any.status, Status::Fail);
    assert!(
        any.evidence
            .iter()
            .any(|e| e.starts_with("eu-west-1 -> us-east-1: 50 applies, p99 300.")),
        "{any:#?}"
    );
}

fn outcomes_run() -> dynasim_core::history::RunOutput {
    let mut sim = Sim::new();
    for i in 0..90u64 {
        sim.put(US, i, 11_000_000 + i, 11_000_000 + i);
    }
    for i in 0..5u64 {
        let t = 12_000_000 + i;
        let name = "ProvisionedThroughputExceededException".to_string();
        sim.failed(US, OpKind::Put, t, OpResult::Failed(name));
    }
    for i in 0..3u64 {
        sim.failed(US, OpKind::Get, 13_000_000 + i, OpResult::Unknown);
    }
    for i in 0..2u64 {
        let name = "ConditionalCheckFailedException".to_string();
        sim.failed(
            US,
            OpKind::ConditionalPut,
            14_000_000 + i,
            OpResult::Failed(name),
        );
    }
    let retried = sim.put(US, 500, 15_000_000, 15_000_000);
    sim.op_mut(retried).attempts = 3;
    sim.replicate_all(20_000_000);
    sim.finish()
}

#[test]
fn throttle_ratio_counts_throttled_and_retried_ops() {
    let extra = "[[assert]]\nkind = \"throttle_ratio\"\nmax = 0.05\nregion = \"each\"\n";
    let report = check_default(&scenario(extra), &outcomes_run());
    let v = verdict(&report, "throttle ratio us-east-1");
    // 5 throttled + 1 retried of 101 ops.
    assert_eq!(v.observed, "0.0594");
    assert_eq!(v.status, Status::Fail);
    let eu = verdict(&report, "throttle ratio eu-west-1");
    assert_eq!(
        eu.status,
        Status::Unknown,
        "eu-west-1 served no ops: {eu:#?}"
    );
}

#[test]
fn availability_counts_client_errors_as_available() {
    let extra = "[[assert]]\nkind = \"availability\"\nmin = 0.95\nregion = \"us-east-1\"\n\
                 [[assert]]\nkind = \"availability\"\nmin = 0.99\nregion = \"us-east-1\"\n";
    let report = check_default(&scenario(extra), &outcomes_run());
    // 8 unavailable (5 throttled, 3 unknown) of 101.
    let v = verdict(&report, "availability us-east-1");
    assert_eq!(v.observed, "0.9208");
    assert_eq!(v.status, Status::Fail, "below 0.95");
    let again = verdict(&report, "availability us-east-1 #2");
    assert_eq!(again.status, Status::Fail);
    assert!(
        v.evidence
            .iter()
            .any(|e| e == "5 x ProvisionedThroughputExceededException"),
        "{v:#?}"
    );
}

#[test]
fn availability_passes_above_the_minimum() {
    let extra = "[[assert]]\nkind = \"availability\"\nmin = 0.9\n";
    let report = check_default(&scenario(extra), &outcomes_run());
    assert_eq!(verdict(&report, "availability all").status, Status::Pass);
}
