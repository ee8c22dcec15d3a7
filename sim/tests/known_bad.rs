//! Every checker bites: each deliberately broken system (scenarios/known-bad/) fails the
//! matching check on every pinned seed, and the same file passes with the bug off.

mod common;

use dynasim::{KnownBug, RunOptions, Scenario, Status, run_scenario};

/// (file, bug, a verdict that must fail)
const CASES: &[(&str, KnownBug, &str)] = &[
    (
        "drop-one-in-n.toml",
        KnownBug::DropOneIn(7),
        "safety: replicas converge",
    ),
    (
        "apply-without-stamp-compare.toml",
        KnownBug::ApplyWithoutStampCompare,
        "safety: replicas converge",
    ),
    (
        "reuse-stamp.toml",
        KnownBug::ReuseStamp,
        "safety: lww winners",
    ),
    (
        "forget-tombstones.toml",
        KnownBug::ForgetTombstones,
        "safety: lww winners",
    ),
    (
        "ignore-vector-clock.toml",
        KnownBug::IgnoreVectorClock,
        "safety: replicas converge",
    ),
    (
        "strong-reads-from-follower.toml",
        KnownBug::StrongReadsFromFollower,
        "safety: linearizability",
    ),
    (
        "torn-transaction-reads.toml",
        KnownBug::StrongReadsFromFollower,
        "safety: transactions atomic",
    ),
    (
        "lagging-index.toml",
        KnownBug::LaggingIndex,
        "safety: index reads bounded-stale",
    ),
];

fn run(file: &str, seed: u64, bug: Option<KnownBug>) -> dynasim::Outcome {
    let path = common::root().join("scenarios/known-bad").join(file);
    let scenario = Scenario::from_file(&path).expect("known-bad scenarios are valid");
    run_scenario(
        scenario,
        &path.display().to_string(),
        &RunOptions {
            seed,
            bug,
            ..Default::default()
        },
    )
    .expect("runs")
}

#[test]
fn every_known_bad_file_is_covered() {
    let files = common::scenario_files("known-bad");
    assert_eq!(
        files.len(),
        CASES.len(),
        "one case per file in scenarios/known-bad"
    );
}

#[test]
fn each_broken_system_fails_its_checker_on_every_pinned_seed() {
    for (file, bug, verdict) in CASES {
        for seed in [1, 2, 3] {
            let outcome = run(file, seed, Some(*bug));
            let v = outcome
                .report
                .verdict(verdict)
                .unwrap_or_else(|| panic!("{file}: no verdict {verdict:?}"));
            assert_eq!(
                v.status,
                Status::Fail,
                "{file} seed {seed} with {bug:?}: {verdict} should fail: {v:?}"
            );
            assert!(
                !v.evidence.is_empty(),
                "{file}: a failing verdict carries evidence"
            );
        }
    }
}

#[test]
fn the_same_files_pass_with_the_bug_off() {
    for (file, _, _) in CASES {
        run(file, 1, None).assert_passed();
    }
}

#[test]
fn findings_name_the_right_class() {
    use dynasim::FindingKind;
    let resurrected = run(
        "forget-tombstones.toml",
        1,
        Some(KnownBug::ForgetTombstones),
    );
    assert!(
        resurrected.report.lww.count(FindingKind::Resurrected) > 0,
        "{:?}",
        resurrected.report.lww.counts
    );
    let dup = run("reuse-stamp.toml", 1, Some(KnownBug::ReuseStamp));
    assert!(
        dup.report.lww.count(FindingKind::DuplicateStamp) > 0,
        "{:?}",
        dup.report.lww.counts
    );
    let wrong = run(
        "apply-without-stamp-compare.toml",
        1,
        Some(KnownBug::ApplyWithoutStampCompare),
    );
    assert!(
        wrong.report.lww.count(FindingKind::WrongWinner) > 0,
        "{:?}",
        wrong.report.lww.counts
    );
}
