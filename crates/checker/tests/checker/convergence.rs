//! Convergence: replicas agree at the end (or the verdict fails, or is unknown while
//! replication has not drained), and settle time after a heal.

use crate::builder::*;
use dynasim_checker::{FindingKind, Status};
use dynasim_core::RegionId;

const CONVERGE: &str = "safety: replicas converge";

#[test]
fn replicas_that_agree_pass() {
    let mut sim = Sim::new();
    sim.put(US, 1, 1_000, 1_000);
    sim.delete(EU, 2, 2_000, 1_000);
    sim.replicate_all(50_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(verdict(&report, CONVERGE).status, Status::Pass);
    assert_eq!(report.convergence.keys_diverged, 0);
    assert!(report.convergence.drained);
}

#[test]
fn tombstone_collected_in_one_region_only_is_not_a_divergence() {
    let mut sim = Sim::new();
    sim.delete(EU, 2, 2_000, 1_000);
    sim.replicate_all(50_000);
    let mut run = sim.finish();
    run.replicas[0].versions.clear();
    let report = check_default(&scenario(""), &run);
    assert_eq!(verdict(&report, CONVERGE).status, Status::Pass);
}

#[test]
fn replicas_that_disagree_after_draining_fail_with_the_differing_key() {
    let mut sim = Sim::new();
    sim.put(US, 1, 1_000, 1_000);
    let b = sim.put(US, 2, 2_000, 1_000);
    sim.replicate(1, EU, 50_000); // b is acknowledged but never reaches eu-west-1.
    let report = check_default(&scenario(""), &sim.finish());
    let v = verdict(&report, CONVERGE);
    assert_eq!(v.status, Status::Fail);
    assert_eq!(report.convergence.keys_diverged, 1);
    assert_eq!(report.convergence.tables_diverged, 1);
    let finding = &report.convergence.examples[0];
    assert_eq!(finding.kind, FindingKind::Diverged);
    assert_eq!(finding.key, key(2));
    assert!(
        finding
            .evidence
            .contains(&format!("us-east-1 value {b} stamped")),
        "{}",
        finding.evidence
    );
    assert!(
        finding.evidence.contains("eu-west-1 has nothing"),
        "{}",
        finding.evidence
    );
}

#[test]
fn divergence_with_a_backlog_left_is_unknown() {
    let mut sim = Sim::new();
    sim.put(US, 1, 1_000, 1_000);
    let mut run = sim.finish();
    run.replicas[0].backlog = vec![(RegionId(EU), 1)];
    let report = check_default(&scenario(""), &run);
    assert_eq!(verdict(&report, CONVERGE).status, Status::Unknown);
    assert!(!report.convergence.drained);
}

const SPLIT: &str = r#"
[[fault]]
id = "split"
kind = "partition"
sides = [["us-east-1"], ["eu-west-1"]]
at = "10s"
duration = "10s"
"#;

fn healed(apply_at_us: Option<u64>, within: &str) -> dynasim_checker::Report {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 15_000_000, 15_000_000);
    let b = sim.put(EU, 2, 5_000_000, 5_000_000);
    sim.replicate(b, US, 5_100_000);
    if let Some(at) = apply_at_us {
        sim.replicate(a, EU, at);
    }
    let extra = format!(
        "{SPLIT}\n[[assert]]\nkind = \"converged\"\nafter = \"split\"\nwithin = \"{within}\"\n"
    );
    check_default(&scenario(&extra), &sim.finish())
}

#[test]
fn converged_after_heal_measures_the_last_apply() {
    let report = healed(Some(21_500_000), "2s");
    let v = verdict(&report, "converged after split");
    assert_eq!(v.status, Status::Pass, "{v:#?}");
    assert_eq!(v.observed, "1.500s");
    let heal = &report.convergence.heals[0];
    assert_eq!(heal.name, "split");
    assert_eq!(heal.end_us, 20_000_000);
    assert_eq!(heal.writes, 2);
    assert_eq!(heal.converge_us, Some(1_500_000));
}

#[test]
fn converged_after_heal_fails_when_too_slow() {
    let report = healed(Some(21_500_000), "1s");
    assert_eq!(
        verdict(&report, "converged after split").status,
        Status::Fail
    );
}

#[test]
fn converged_after_heal_fails_when_a_write_never_arrives() {
    let report = healed(None, "5s");
    let v = verdict(&report, "converged after split");
    assert_eq!(v.status, Status::Fail);
    assert_eq!(v.observed, "never");
    assert!(
        v.evidence
            .iter()
            .any(|e| e.contains("was never applied in eu-west-1")),
        "{v:#?}"
    );
}

#[test]
fn a_larger_stamp_held_counts_as_present() {
    // eu-west-1 never applies `a` itself, but it holds a larger-stamped write of the key.
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 15_000_000, 15_000_000);
    let b = sim.put(EU, 1, 15_500_000, 15_000_000);
    sim.replicate(b, US, 21_000_000);
    let extra =
        format!("{SPLIT}\n[[assert]]\nkind = \"converged\"\nafter = \"split\"\nwithin = \"2s\"\n");
    let report = check_default(&scenario(&extra), &sim.finish());
    let v = verdict(&report, "converged after split");
    assert_eq!(v.status, Status::Pass, "{v:#?}");
    assert_eq!(v.observed, "1s");
    let _ = a;
}

#[test]
fn converged_at_end_needs_every_write_everywhere_by_the_end() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 90_000_000, 90_000_000);
    sim.replicate(a, EU, 90_200_000);
    let b = sim.put(EU, 2, 99_000_000, 99_000_000);
    let extra = "[[assert]]\nkind = \"converged\"\nwithin = \"100ms\"\n";
    let run = {
        let mut run = sim.finish();
        // b reached us-east-1 only after the end of the run: never, as far as the run knows.
        run.applies.push(dynasim_core::history::ApplyRecord {
            at_us: 100_500_000,
            region: RegionId(US),
            key: key(2),
            stamp: run
                .history
                .iter()
                .find(|o| o.id == b)
                .unwrap()
                .written
                .as_ref()
                .unwrap()
                .stamp,
            written_at_us: 99_000_000,
            lost_to: None,
            overwrote_concurrent: None,
        });
        run
    };
    let report = check_default(&scenario(extra), &run);
    let v = verdict(&report, "converged at end");
    assert_eq!(v.status, Status::Fail, "{v:#?}");
    assert_eq!(v.observed, "500ms");
}
