//! The README's "From your own `cargo test`" example, verbatim apart from the paths, so
//! the documented API cannot drift from the real one.

mod common;

#[test]
fn partition_then_heal_converges() {
    let path = common::root().join("scenarios/partition/us-eu-split-heal.toml");
    let outcome = dynasim::run_file(path, Some(7)).unwrap();
    outcome.assert_passed(); // panics listing each failed assertion and the exact repro command

    // Or look at what happened yourself:
    let run = &outcome.run; // history, replication applies, events, final replicas
    assert!(run.history.iter().any(|op| op.written.is_some()));
    let lww = &outcome.report.lww; // classification of every acknowledged write
    println!(
        "{} writes lost to concurrent writes",
        lww.count(dynasim::FindingKind::LwwConcurrentLoss)
    );
}

#[test]
fn many_seeds() {
    let path = common::root().join("scenarios/lww/concurrent-writers.toml");
    dynasim::run_seeds(path, 1..=3).unwrap().assert_all_passed();
}
