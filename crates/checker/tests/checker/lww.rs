//! LWW classification: each class on a minimal history; the bug classes fail
//! `safety: lww winners` (architecture guide section 5).

use crate::builder::*;
use dynasim_checker::{FindingKind, Status};
use dynasim_core::history::FinalVersion;

fn lww_status(report: &dynasim_checker::Report) -> Status {
    verdict(report, "safety: lww winners").status
}

fn evidence_of(report: &dynasim_checker::Report, kind: FindingKind) -> String {
    report
        .lww
        .examples
        .iter()
        .find(|f| f.kind == kind)
        .map(|f| f.evidence.clone())
        .unwrap_or_else(|| panic!("no {kind:?} example in {:#?}", report.lww))
}

#[test]
fn correct_history_passes_and_counts_overwritten_and_concurrent_losses() {
    let mut sim = Sim::new();
    // Key 1: eu-west-1 saw us-east-1's write before overwriting it: OVERWRITTEN.
    let a = sim.put(US, 1, 1_000, 1_000);
    sim.replicate(a, EU, 50_000);
    sim.put(EU, 1, 60_000, 60_000);
    // Key 2: concurrent writes; eu-west-1's larger stamp wins: LWW_CONCURRENT_LOSS.
    sim.put(US, 2, 100_000, 100_000);
    sim.put(EU, 2, 100_500, 100_000);
    sim.replicate_all(200_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(report.status, Status::Pass, "{report:#?}");
    assert_eq!(report.lww.count(FindingKind::Overwritten), 1);
    assert_eq!(report.lww.count(FindingKind::LwwConcurrentLoss), 1);
    assert_eq!(report.lww.writes_acknowledged, 4);
    assert_eq!(report.lww.writes_final, 2);
    assert_eq!(report.lww.bugs(), 0);
    let text = evidence_of(&report, FindingKind::LwwConcurrentLoss);
    assert!(text.contains("put op 3 in us-east-1"), "{text}");
    assert!(
        text.contains("lost to concurrent put op 4 in eu-west-1"),
        "{text}"
    );
    let text = evidence_of(&report, FindingKind::Overwritten);
    assert!(text.contains("which had seen it"), "{text}");
}

/// A region whose clock is behind writes after seeing a write stamped by a region whose
/// clock is ahead: the later write loses at once (SKEW_INVERSION), legitimate within the
/// skew the scenario configured (500 ms here), a bug beyond it.
fn skewed(gap_us: u64) -> dynasim_checker::Report {
    let mut sim = Sim::new();
    let ahead = sim.put(EU, 1, 2_000_000, 1_000_000);
    sim.replicate(ahead, US, 1_100_000);
    let behind = sim.put(US, 1, 2_000_000 - gap_us, 1_200_000);
    sim.replicate(behind, EU, 1_300_000);
    let scenario = scenario(
        r#"
[[fault]]
kind = "clock_skew"
region = "eu-west-1"
offset = "+500ms"
at = "1s"
duration = "10s"
[[assert]]
kind = "skew_inversions"
max = 5
bound = "400ms"
"#,
    );
    check_default(&scenario, &sim.finish())
}

#[test]
fn skew_inversion_within_the_configured_skew_is_counted_not_a_bug() {
    let report = skewed(300_000);
    assert_eq!(report.lww.count(FindingKind::SkewInversion), 1);
    assert_eq!(report.lww.skew_inversion_max_us, 300_000);
    assert_eq!(
        report.lww.skew_bound_us,
        Some(500_000),
        "derived from the clock fault"
    );
    assert_eq!(lww_status(&report), Status::Pass);
    assert_eq!(verdict(&report, "skew inversions").status, Status::Pass);
    let text = evidence_of(&report, FindingKind::SkewInversion);
    assert!(
        text.contains("lost to causally earlier put op 1 in eu-west-1"),
        "{text}"
    );
    assert!(text.contains("300ms behind"), "{text}");
}

#[test]
fn skew_inversion_beyond_the_bound_fails() {
    let report = skewed(600_000);
    assert_eq!(report.lww.count(FindingKind::SkewInversionBeyondBound), 1);
    assert_eq!(lww_status(&report), Status::Fail);
    let v = verdict(&report, "skew inversions");
    assert_eq!(
        v.status,
        Status::Fail,
        "600ms is above the assertion's 400ms bound"
    );
}

#[test]
fn skew_inversion_found_from_context_without_superseded_by() {
    // A producer that does not record superseded_by: the loser's context still shows it
    // had seen the larger-stamped write.
    let mut sim = Sim::new();
    let ahead = sim.put(EU, 1, 2_000_000, 1_000_000);
    sim.replicate(ahead, US, 1_100_000);
    let behind = sim.put(US, 1, 1_900_000, 1_200_000);
    sim.op_mut(behind).written.as_mut().unwrap().superseded_by = None;
    sim.replicate_all(1_300_000);
    let config = dynasim_checker::CheckConfig {
        skew_bound_us: Some(1_000_000),
        ..Default::default()
    };
    let report = dynasim_checker::check(&scenario(""), &sim.finish(), &config);
    assert_eq!(
        report.lww.count(FindingKind::SkewInversion),
        1,
        "{:#?}",
        report.lww
    );
    assert_eq!(report.lww.skew_inversion_max_us, 100_000);
}

#[test]
fn acknowledged_write_missing_with_no_larger_stamp_is_lost() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000, 1_000);
    sim.replicate(a, EU, 50_000);
    let mut run = sim.finish();
    for r in &mut run.replicas {
        r.versions.clear(); // Both replicas forgot it.
    }
    let report = check_default(&scenario(""), &run);
    assert_eq!(report.lww.count(FindingKind::Lost), 1);
    assert_eq!(lww_status(&report), Status::Fail);
    let text = evidence_of(&report, FindingKind::Lost);
    assert!(text.contains("no replica holds the item"), "{text}");
}

#[test]
fn final_version_that_is_not_the_largest_stamp_is_a_wrong_winner() {
    let mut sim = Sim::new();
    let small = sim.put(US, 1, 1_000, 1_000);
    sim.put(EU, 1, 2_000, 1_000);
    sim.replicate_all(50_000);
    let small_stamp = sim.stamp(small);
    let mut run = sim.finish();
    // As if remote writes were applied without comparing stamps, everywhere.
    for r in &mut run.replicas {
        r.versions = vec![FinalVersion {
            key: key(1),
            stamp: small_stamp,
            value: Some(small),
            deleted: false,
        }];
    }
    let report = check_default(&scenario(""), &run);
    assert_eq!(
        report.lww.count(FindingKind::WrongWinner),
        2,
        "one per replica"
    );
    assert_eq!(lww_status(&report), Status::Fail);
    let text = evidence_of(&report, FindingKind::WrongWinner);
    assert!(text.contains("has a larger stamp and must win"), "{text}");
}

#[test]
fn deleted_item_that_comes_back_is_resurrected() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000, 1_000);
    sim.replicate(a, EU, 50_000);
    let del = sim.delete(EU, 1, 60_000, 60_000);
    sim.replicate(del, US, 70_000);
    let a_stamp = sim.stamp(a);
    let mut run = sim.finish();
    // us-east-1 forgot the tombstone and a late copy of `a` brought the item back.
    run.replicas[0].versions = vec![FinalVersion {
        key: key(1),
        stamp: a_stamp,
        value: Some(a),
        deleted: false,
    }];
    let report = check_default(&scenario(""), &run);
    assert_eq!(report.lww.count(FindingKind::Resurrected), 1);
    assert_eq!(lww_status(&report), Status::Fail);
    let text = evidence_of(&report, FindingKind::Resurrected);
    assert!(text.contains("in us-east-1 ends as value 1"), "{text}");
    assert!(text.contains("delete op 2 in eu-west-1"), "{text}");
}

#[test]
fn tombstone_collected_everywhere_is_not_a_loss() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000, 1_000);
    sim.replicate(a, EU, 50_000);
    let del = sim.delete(US, 1, 60_000, 60_000);
    sim.replicate(del, EU, 70_000);
    let mut run = sim.finish();
    for r in &mut run.replicas {
        r.versions.clear();
    }
    let report = check_default(&scenario(""), &run);
    assert_eq!(report.lww.bugs(), 0, "{:#?}", report.lww);
    assert_eq!(report.lww.writes_final, 1, "the delete is final");
}

#[test]
fn value_no_op_wrote_is_garbage() {
    let mut sim = Sim::new();
    sim.put(US, 1, 1_000, 1_000);
    sim.replicate_all(50_000);
    let mut run = sim.finish();
    for r in &mut run.replicas {
        r.versions[0].value = Some(999);
    }
    let report = check_default(&scenario(""), &run);
    assert_eq!(report.lww.count(FindingKind::Garbage), 2, "one per replica");
    assert_eq!(lww_status(&report), Status::Fail);
    let text = evidence_of(&report, FindingKind::Garbage);
    assert!(
        text.contains("no write to this key wrote value 999"),
        "{text}"
    );
}

#[test]
fn two_writes_with_one_stamp_are_a_duplicate_stamp() {
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000, 1_000);
    let b = sim.put(EU, 1, 1_000, 1_000);
    let a_stamp = sim.stamp(a);
    sim.op_mut(b).written.as_mut().unwrap().stamp = a_stamp;
    sim.replicate_all(50_000);
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(report.lww.count(FindingKind::DuplicateStamp), 1);
    assert_eq!(lww_status(&report), Status::Fail);
}

#[test]
fn no_lost_acked_writes_allowance_decides_whether_lww_losses_count() {
    let mut sim = Sim::new();
    sim.put(US, 2, 100_000, 100_000);
    sim.put(EU, 2, 100_500, 100_000);
    sim.replicate_all(200_000);
    let run = sim.finish();
    let strict = scenario("[[assert]]\nkind = \"no_lost_acked_writes\"\nallow = \"none\"\n");
    let report = check_default(&strict, &run);
    assert_eq!(
        verdict(&report, "no lost acked writes").status,
        Status::Fail
    );
    let lenient = scenario(
        "[[assert]]\nkind = \"no_lost_acked_writes\"\nallow = \"lww_superseded\"\n\
         [[assert]]\nkind = \"lww_losses\"\nmax = 0\n",
    );
    let report = check_default(&lenient, &run);
    let name = "no lost acked writes (lww superseded allowed)";
    assert_eq!(verdict(&report, name).status, Status::Pass);
    assert_eq!(verdict(&report, "lww losses").status, Status::Fail);
}

#[test]
fn derived_skew_bound_sums_clock_steps_and_drifts() {
    let scenario = scenario(
        r#"
[[fault]]
kind = "clock_skew"
region = "eu-west-1"
offset = "-200ms"
drift_ppm = 100.0
at = "1s"
duration = "10s"
[[fault]]
kind = "clock_jump"
region = "us-east-1"
offset = "+50ms"
at = "20s"
"#,
    );
    // 200 ms + 100 ppm over 10 s (1 ms) + 50 ms.
    assert_eq!(dynasim_checker::derived_skew_bound_us(&scenario), 251_000);
}

#[test]
fn write_answered_with_a_server_error_may_have_applied() {
    // ER-01: a 500 leaves the outcome open, so its value in the replicas is not garbage,
    // and it is never counted as a lost acknowledged write.
    let mut sim = Sim::new();
    let a = sim.put(US, 1, 1_000, 1_000);
    let b = sim.put(US, 1, 2_000, 2_000);
    sim.replicate_all(50_000);
    sim.op_mut(b).result =
        dynasim_core::history::OpResult::Failed("InternalServerError".to_string());
    let report = check_default(&scenario(""), &sim.finish());
    assert_eq!(report.lww.bugs(), 0, "{:#?}", report.lww);
    assert_eq!(report.lww.count(FindingKind::Overwritten), 1, "a lost to b");
    assert_eq!(report.lww.writes_acknowledged, 1);
    let _ = a;
}
