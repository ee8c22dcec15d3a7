//! Index reads (RC-08): behind the table within the propagation bound is counted, beyond
//! it (or a value never written) fails "safety: index reads bounded-stale".

use crate::builder::*;
use dynasim_checker::{CheckConfig, Status, check};
use dynasim_core::history::OpKind;

const INDEX: &str = "safety: index reads bounded-stale";

/// An index query in `region` at `at_us` that returned the value and stamp of write
/// `shows` (`None`: nothing).
fn index_read(sim: &mut Sim, region: u16, at_us: u64, shows: Option<u64>) -> u64 {
    let (value, stamp) = match shows {
        Some(w) => (
            sim.op(w).written.as_ref().unwrap().value,
            Some(sim.stamp(w)),
        ),
        None => (None, None),
    };
    let id = sim.read(region, 1, at_us, false, value, stamp);
    sim.op_mut(id).kind = OpKind::IndexQuery;
    id
}

#[test]
fn rc08_an_index_read_behind_its_table_within_the_bound_passes_and_is_counted() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000_000, 1_000_000);
    sim.put(US, 1, 5_000_000, 5_000_000); // acknowledged at 5.001 s
    index_read(&mut sim, US, 5_500_000, Some(a)); // 0.5 s behind: RC-08 allows it
    index_read(&mut sim, US, 900_000, None); // before any write
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(verdict(&report, INDEX).status, Status::Pass);
    let i = report.indexes.expect("the run made index queries");
    assert_eq!((i.index_reads, i.stale_reads, i.beyond_bound), (2, 1, 0));
    assert_eq!(
        i.bound_us, 1_000_000,
        "no GSI in the scenario: the 1 s floor"
    );
    assert!((498.0..=500.0).contains(&i.staleness_ms_max), "{i:?}");
}

#[test]
fn rc08_an_index_read_older_than_the_table_a_bound_ago_fails() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000_000, 1_000_000);
    let b = sim.put(US, 1, 5_000_000, 5_000_000);
    sim.replicate(a, EU, 1_500_000);
    sim.replicate(b, EU, 5_200_000);
    index_read(&mut sim, US, 7_000_000, Some(a)); // 2 s behind its own region's table
    index_read(&mut sim, EU, 5_300_000, Some(a)); // 0.1 s behind the applied write: fine
    index_read(&mut sim, EU, 4_000_000, None); // 2.5 s behind the replicated put
    let report = check_default(&scenario(""), &sim.finish());
    let v = verdict(&report, INDEX);
    assert_eq!(v.status, Status::Fail);
    assert_eq!(v.observed, "2");
    // Examples in (key, time) order.
    assert!(
        v.evidence[1].contains("in eu-west-1 at 4.000000s returned nothing"),
        "{v:#?}"
    );
    assert!(
        v.evidence[2].contains("in us-east-1 at 7.000000s"),
        "{v:#?}"
    );
    assert!(
        v.evidence[0].starts_with("3 index queries: 3 behind"),
        "{v:#?}"
    );
    // A looser bound, given by the caller, accepts both.
    let config = CheckConfig {
        index_bound_us: Some(3_000_000),
        ..CheckConfig::default()
    };
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000_000, 1_000_000);
    sim.put(US, 1, 5_000_000, 5_000_000);
    index_read(&mut sim, US, 7_000_000, Some(a));
    let report = check(&scenario(""), &sim.finish(), &config);
    assert_eq!(verdict(&report, INDEX).status, Status::Pass);
}

#[test]
fn an_index_read_of_a_value_never_written_fails() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000_000, 1_000_000);
    let id = index_read(&mut sim, US, 2_000_000, Some(a));
    sim.op_mut(id).read.as_mut().unwrap().value = Some(999);
    let report = check_default(&scenario(""), &sim.finish());
    let v = verdict(&report, INDEX);
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.evidence[1].contains("a value no write produced"),
        "{v:#?}"
    );
    assert_eq!(report.indexes.unwrap().garbage, 1);
}

#[test]
fn without_index_queries_there_is_no_index_verdict() {
    let mut sim = Sim::new();
    sim.put(US, 1, 1_000_000, 1_000_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert!(report.verdict(INDEX).is_none());
    assert!(report.indexes.is_none());
}
