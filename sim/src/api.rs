//! The library API for `cargo test` users: run a scenario file (or a `Scenario` built in
//! Rust) with a seed, get the history, the final replica states and the checker's
//! verdicts, and assert that it passed.

use crate::spill::{SpillCounts, SpilledHistory};
use crate::world::{RunOptions, run};
use dynasim_checker::{CheckConfig, Report, Status};
use dynasim_core::history::RunOutput;
use dynasim_report::HistorySource;
use dynasim_scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};

/// Why a run could not happen (a failed assertion is not an error: see [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("{path}: {message}")]
    Unsupported { path: String, message: String },
    /// The history streamed to disk could not be read back.
    #[error("{0}")]
    History(#[from] crate::SpillError),
}

/// A finished run: what happened and what the checker concluded.
#[derive(Debug)]
pub struct Outcome {
    pub scenario: Scenario,
    /// The scenario file as given (for the repro command), or `<rust>`.
    pub scenario_path: String,
    /// With a history streamed to disk ([`RunOptions::history`]) its `history` and
    /// `applies` are empty: see `spilled`.
    pub run: RunOutput,
    /// The history on disk, when the run streamed it there.
    pub spilled: Option<SpilledHistory>,
    pub report: Report,
    /// Real seconds the run took (display only; never hashed).
    pub wall_s: f64,
}

impl Outcome {
    pub fn status(&self) -> Status {
        self.report.status
    }

    pub fn passed(&self) -> bool {
        self.report.status == Status::Pass
    }

    /// The command that reproduces this run exactly.
    pub fn repro_command(&self) -> String {
        dynasim_report::repro_command(&self.scenario_path, self.run.seed)
    }

    /// Panics unless every verdict passed, listing each failed or inconclusive one with
    /// its evidence and the command that reproduces the run.
    #[track_caller]
    pub fn assert_passed(&self) {
        if self.passed() {
            return;
        }
        let mut message = format!(
            "scenario {} seed {}: {:?}\n",
            self.run.scenario, self.run.seed, self.report.status
        );
        for v in self
            .report
            .verdicts
            .iter()
            .filter(|v| v.status != Status::Pass)
        {
            message.push_str(&format!(
                "  {:?} {}: observed {} (bound {})\n",
                v.status, v.assertion, v.observed, v.bound
            ));
            for e in v.evidence.iter().take(3) {
                message.push_str(&format!("    - {e}\n"));
            }
        }
        message.push_str(&format!("reproduce: {}", self.repro_command()));
        panic!("{message}");
    }

    /// Where the ops and applies are: the history on disk or the run in memory.
    pub fn history(&self) -> &dyn HistorySource {
        match &self.spilled {
            Some(spilled) => spilled,
            None => &self.run,
        }
    }

    /// Client ops, service writes (TTL deletes) and replication applies recorded.
    pub fn record_counts(&self) -> SpillCounts {
        match &self.spilled {
            Some(spilled) => spilled.counts(),
            None => {
                let history = &self.run.history;
                let client_ops = history.iter().filter(|op| op.is_client()).count();
                let service_ops = history
                    .iter()
                    .filter(|op| op.kind == dynasim_core::history::OpKind::TtlDelete)
                    .count();
                SpillCounts {
                    client_ops: client_ops as u64,
                    service_ops: service_ops as u64,
                    applies: self.run.applies.len() as u64,
                }
            }
        }
    }

    /// The run's `summary.json` contents.
    pub fn summary_json(&self) -> std::io::Result<serde_json::Value> {
        let stats = dynasim_report::history_stats(&self.run, self.history())?;
        Ok(dynasim_report::summary_json(
            &self.scenario,
            &self.run,
            &stats,
            &self.report,
            self.wall(),
        ))
    }

    fn wall(&self) -> dynasim_report::Wall {
        dynasim_report::Wall {
            seconds: self.wall_s,
        }
    }

    /// Write the run directory (summary.json, summary.md, junit.xml, JSONL, SVG plots).
    pub fn write_report(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        dynasim_report::write_run_dir_from(
            dir,
            &self.scenario,
            &self.scenario_path,
            (&self.run, self.history()),
            &self.report,
            self.wall(),
        )
    }

    /// The default run directory: `reports/<scenario>/seed-<n>/`.
    pub fn default_report_dir(&self) -> PathBuf {
        PathBuf::from("reports")
            .join(&self.run.scenario)
            .join(format!("seed-{}", self.run.seed))
    }
}

/// Run a scenario file with `seed` (default: its first pinned seed, else 1).
pub fn run_file(path: impl AsRef<Path>, seed: Option<u64>) -> Result<Outcome, Error> {
    let path = path.as_ref();
    let scenario = Scenario::from_file(path)?;
    let seed = seed.or(scenario.meta.seeds.first().copied()).unwrap_or(1);
    run_scenario(
        scenario,
        &path.display().to_string(),
        &RunOptions {
            seed,
            ..Default::default()
        },
    )
}

/// Run a scenario (from a file or built in Rust) and check it.
pub fn run_scenario(
    scenario: Scenario,
    scenario_path: &str,
    options: &RunOptions,
) -> Result<Outcome, Error> {
    let started = std::time::Instant::now(); // real time: display only
    let run = run(&scenario, options).map_err(|message| Error::Unsupported {
        path: scenario_path.to_string(),
        message,
    })?;
    let wall_s = started.elapsed().as_secs_f64();
    let config = CheckConfig::default();
    let (report, spilled) = match &options.history {
        Some(spill) => {
            let spilled = SpilledHistory::open(&spill.dir)?;
            (spilled.check(&scenario, &run, &config)?, Some(spilled))
        }
        None => (dynasim_checker::check(&scenario, &run, &config), None),
    };
    Ok(Outcome {
        scenario,
        scenario_path: scenario_path.to_string(),
        run,
        spilled,
        report,
        wall_s,
    })
}

/// Results of running one scenario over many seeds.
#[derive(Debug, Default)]
pub struct SeedSweep {
    pub passed: Vec<u64>,
    /// Seeds whose run failed or was inconclusive, with its status and repro command.
    pub failed: Vec<(u64, Status, String)>,
}

impl SeedSweep {
    #[track_caller]
    pub fn assert_all_passed(&self) {
        if self.failed.is_empty() {
            return;
        }
        let lines: Vec<String> = self
            .failed
            .iter()
            .map(|(s, st, cmd)| format!("  seed {s}: {st:?}: {cmd}"))
            .collect();
        panic!(
            "{} of {} seeds failed:\n{}",
            self.failed.len(),
            self.failed.len() + self.passed.len(),
            lines.join("\n")
        );
    }
}

/// Run a scenario file once per seed and collect every failing seed.
pub fn run_seeds(
    path: impl AsRef<Path>,
    seeds: impl IntoIterator<Item = u64>,
) -> Result<SeedSweep, Error> {
    let path = path.as_ref();
    let scenario = Scenario::from_file(path)?;
    let mut sweep = SeedSweep::default();
    for seed in seeds {
        let outcome = run_scenario(
            scenario.clone(),
            &path.display().to_string(),
            &RunOptions {
                seed,
                ..Default::default()
            },
        )?;
        if outcome.passed() {
            sweep.passed.push(seed);
        } else {
            sweep
                .failed
                .push((seed, outcome.status(), outcome.repro_command()));
        }
    }
    Ok(sweep)
}
