//! Random correct histories (the builder is a correct LWW system by construction): no
//! checker may report a bug on any of them. Clock offsets make skew inversions and
//! replication order makes concurrent losses, so the legitimate classes show up too.

use crate::builder::*;
use dynasim_checker::{CheckConfig, FindingKind, Status, check};

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn random_history(seed: u64) -> dynasim_core::history::RunOutput {
    let mut rng = Lcg(seed);
    let mut sim = Sim::with_regions(&["us-east-1", "eu-west-1", "ap-northeast-1"]);
    // Per-region clock offsets up to 300 ms either way.
    let offsets: Vec<i64> = (0..3)
        .map(|_| rng.below(600_001) as i64 - 300_000)
        .collect();
    let mut pending: Vec<(u64, u16)> = Vec::new();
    let mut t = 1_000_000u64;
    for _ in 0..300 {
        t += 1 + rng.below(20_000);
        let region = rng.below(3) as u16;
        let k = rng.below(4);
        sim.session = rng.below(4) as u32;
        let hlc = (t as i64 + offsets[usize::from(region)]) as u64;
        match rng.below(10) {
            0..=3 => {
                let id = sim.put(region, k, hlc, t);
                pending.extend((0..3).filter(|r| *r != region).map(|r| (id, r)));
            }
            4 => {
                let id = sim.delete(region, k, hlc, t);
                pending.extend((0..3).filter(|r| *r != region).map(|r| (id, r)));
            }
            5..=6 => {
                sim.get(region, k, t, rng.below(2) == 0);
            }
            _ => {
                for _ in 0..3 {
                    if !pending.is_empty() {
                        let (id, to) = pending.remove(rng.below(pending.len() as u64) as usize);
                        sim.replicate(id, to, t);
                    }
                }
            }
        }
    }
    sim.replicate_all(t + 1_000_000);
    sim.finish()
}

#[test]
fn random_correct_histories_have_no_bugs() {
    let config = CheckConfig {
        skew_bound_us: Some(600_000),
        ..CheckConfig::default()
    };
    let scenario = three_region_scenario();
    let mut seen = [0u64; 3];
    for seed in 0..200 {
        let run = random_history(seed);
        let report = check(&scenario, &run, &config);
        for v in &report.verdicts {
            assert_eq!(v.status, Status::Pass, "seed {seed}: {v}");
        }
        assert_eq!(report.lww.bugs(), 0, "seed {seed}: {:#?}", report.lww);
        seen[0] += report.lww.count(FindingKind::Overwritten);
        seen[1] += report.lww.count(FindingKind::LwwConcurrentLoss);
        seen[2] += report.lww.count(FindingKind::SkewInversion);
    }
    assert!(
        seen.iter().all(|n| *n > 0),
        "every legitimate class occurs: {seen:?}"
    );
}

fn three_region_scenario() -> dynasim_scenario::Scenario {
    let text = r#"
schema = 1
[meta]
name = "random"
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
[[phase]]
name = "steady"
duration = "100s"
rate = { constant = 10 }
clients = { us-east-1 = 1.0, eu-west-1 = 1.0, ap-northeast-1 = 1.0 }
mix = { get = 50, put = 50 }
keys = { table = "items", count = 4 }
"#;
    dynasim_scenario::Scenario::from_str(text, "random.toml").expect("scenario loads")
}

#[test]
fn random_histories_with_a_replica_rolled_back_fail() {
    let config = CheckConfig {
        skew_bound_us: Some(600_000),
        ..CheckConfig::default()
    };
    let scenario = three_region_scenario();
    let mut checked = 0;
    for seed in 0..100 {
        let mut run = random_history(seed);
        let mut rng = Lcg(seed ^ 0xdead_beef);
        let r = rng.below(3) as usize;
        // Roll one item of one replica back to an older acknowledged version.
        let Some((i, older)) = run.replicas[r]
            .versions
            .iter()
            .enumerate()
            .find_map(|(i, v)| {
                run.history
                    .iter()
                    .filter_map(|o| o.written.as_ref().map(|w| (o, w)))
                    .find(|(o, w)| o.key == v.key && w.stamp < v.stamp && w.value.is_some())
                    .map(|(o, w)| (i, (w.stamp, o.id)))
            })
        else {
            continue;
        };
        let version = &mut run.replicas[r].versions[i];
        (version.stamp, version.value, version.deleted) = (older.0, Some(older.1), false);
        checked += 1;
        let report = check(&scenario, &run, &config);
        assert_eq!(report.status, Status::Fail, "seed {seed}: {report}");
        assert!(
            report.lww.count(FindingKind::WrongWinner) + report.lww.count(FindingKind::Resurrected)
                > 0
        );
        assert_eq!(report.convergence.keys_diverged, 1, "seed {seed}");
    }
    assert!(
        checked > 50,
        "most histories have an item to roll back: {checked}"
    );
}
