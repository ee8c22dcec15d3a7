//! Every shipped scenario passes on its pinned seeds, and one seed gives one trace
//! (determinism is the product: two runs with a seed must hash identically).
//!
//! `DYNASIM_SWEEP=N` additionally runs seeds 1000..1000+N of every scenario (long sweeps
//! stay out of the default suite).

mod common;

use dynasim::{RunOptions, Scenario, run_file, run_scenario};

#[test]
fn every_shipped_scenario_passes_on_its_pinned_seeds() {
    let files = common::shipped();
    assert!(
        files.len() >= 10,
        "the scenario library is shipped ({} found)",
        files.len()
    );
    for file in files {
        let scenario = Scenario::from_file(&file).expect("shipped scenarios are valid");
        assert!(
            !scenario.meta.seeds.is_empty(),
            "{} pins seeds",
            file.display()
        );
        for seed in &scenario.meta.seeds {
            let outcome = run_file(&file, Some(*seed)).expect("shipped scenarios run");
            outcome.assert_passed();
        }
    }
}

#[test]
fn one_seed_gives_one_trace_for_every_shipped_scenario() {
    for file in common::shipped() {
        let scenario = Scenario::from_file(&file).expect("valid");
        let seed = scenario.meta.seeds[0];
        let options = RunOptions {
            seed,
            ..Default::default()
        };
        let label = file.display().to_string();
        let first = run_scenario(scenario.clone(), &label, &options).expect("runs");
        let second = run_scenario(scenario, &label, &options).expect("runs");
        assert!(
            !first.run.history.is_empty(),
            "{label}: the run did something"
        );
        assert_eq!(
            first.run.trace_hash, second.run.trace_hash,
            "{label} seed {seed}: nondeterministic"
        );
        assert_eq!(
            first.run.history, second.run.history,
            "{label}: histories differ"
        );
    }
}

#[test]
fn different_seeds_give_different_traces() {
    let file = common::root().join("scenarios/partition/us-eu-split-heal.toml");
    let a = run_file(&file, Some(1)).expect("runs");
    let b = run_file(&file, Some(2)).expect("runs");
    assert_ne!(
        a.run.trace_hash, b.run.trace_hash,
        "the seed reaches the run"
    );
}

#[test]
fn optional_seed_sweep() {
    let Some(n) = std::env::var("DYNASIM_SWEEP")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        eprintln!("DYNASIM_SWEEP not set: skipping the long seed sweep");
        return;
    };
    for file in common::shipped() {
        dynasim::run_seeds(&file, 1000..1000 + n)
            .expect("runs")
            .assert_all_passed();
    }
}
