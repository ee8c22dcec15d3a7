//! The `dynasim` command line: argument parsing and output. Results go to stdout; the
//! seed banner, progress and logs go to stderr.

use crate::{RunOptions, Scenario, run};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes (documented in the README).
pub mod exit {
    pub const PASS: u8 = 0;
    pub const ASSERTION_FAILED: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const INCONCLUSIVE: u8 = 3;
    pub const NONDETERMINISM: u8 = 4;
}

#[derive(Parser, Debug)]
#[command(
    name = "dynasim",
    version,
    about = "Deterministic simulator of multi-region DynamoDB global tables"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario with one seed and print its verdict.
    Run {
        scenario: PathBuf,
        /// Seed (default: the scenario's first pinned seed, else 1).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Validate scenario files without running them.
    Check { scenarios: Vec<PathBuf> },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { scenario, seed } => run_command(&scenario, seed),
        Command::Check { scenarios } => check_command(&scenarios),
    }
}

fn load(path: &PathBuf) -> Result<Scenario, ExitCode> {
    Scenario::from_file(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(exit::INVALID_INPUT)
    })
}

fn run_command(path: &PathBuf, seed: Option<u64>) -> ExitCode {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let seed = seed.or(scenario.meta.seeds.first().copied()).unwrap_or(1);
    eprintln!("SEED={seed}");
    let started = std::time::Instant::now(); // real time: progress display only
    let output = match run(
        &scenario,
        &RunOptions {
            seed,
            ..Default::default()
        },
    ) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(exit::INVALID_INPUT);
        }
    };
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{}: seed {} ops {} applies {} events {} trace {} ({:.1}x real time)",
        output.scenario,
        seed,
        output.history.len(),
        output.applies.len(),
        output.events.len(),
        output.trace_hash,
        output.duration_us as f64 / 1e6 / wall.max(1e-9)
    );
    ExitCode::from(exit::PASS)
}

fn check_command(paths: &[PathBuf]) -> ExitCode {
    let mut code = exit::PASS;
    for path in paths {
        match Scenario::from_file(path) {
            Ok(s) => match crate::check_supported(&s) {
                Ok(()) => println!("{}: ok", path.display()),
                Err(e) => {
                    eprintln!("{}: {e}", path.display());
                    code = exit::INVALID_INPUT;
                }
            },
            Err(e) => {
                eprintln!("{e}");
                code = exit::INVALID_INPUT;
            }
        }
    }
    ExitCode::from(code)
}
