//! The `dynasim` command line. Results go to stdout; the `SEED=` banner, progress and
//! logs go to stderr. Exit codes are in [`exit`] and in the README.

use crate::{Outcome, RunOptions, Scenario, Status, run_scenario};
use clap::{Parser, Subcommand, ValueEnum};
use dynasim_tui::Speed;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes (documented in the README).
pub mod exit {
    pub const PASS: u8 = 0;
    pub const ASSERTION_FAILED: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const INCONCLUSIVE: u8 = 3;
    pub const NONDETERMINISM: u8 = 4;
    /// Ctrl-C in the dashboard (as a shell reports SIGINT).
    pub const INTERRUPTED: u8 = 130;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario with one seed, print the verdict and write the report directory.
    Run {
        scenario: PathBuf,
        /// Seed (default: the scenario's first pinned seed, else 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Report directory (default: reports/<scenario>/seed-<n>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Do not write a report directory.
        #[arg(long)]
        no_report: bool,
        /// Live dashboard (the default when stdout is a terminal and --format is text).
        #[arg(long, conflicts_with = "no_tui")]
        tui: bool,
        /// Headless: no dashboard even on a terminal.
        #[arg(long)]
        no_tui: bool,
        /// Dashboard only: start at this many simulated seconds per real second
        /// (default: unthrottled; `=` in the dashboard returns to it).
        #[arg(long, value_parser = parse_speed)]
        speed: Option<f64>,
        /// Inject an action at a simulated time, as the dashboard's keys do, e.g.
        /// `--action "25s cut us-east-1 eu-west-1"` (repeatable; recorded for replay).
        #[arg(long = "action", value_parser = crate::live::ScheduledAction::parse_arg)]
        actions: Vec<crate::live::ScheduledAction>,
        /// Stream the history (every op and replication apply) to shard files in this
        /// directory instead of keeping it in memory; the check and the report read it
        /// back one shard at a time. Kept after the run. Implies --no-tui.
        #[arg(long, conflicts_with = "tui")]
        history_dir: Option<PathBuf>,
        /// Files the streamed history is partitioned into, by key.
        #[arg(long, default_value_t = crate::DEFAULT_SHARDS, value_parser = clap::value_parser!(u16).range(1..))]
        history_shards: u16,
        /// Keep the history in memory even in a run of 30 simulated minutes or more (those
        /// stream it to a temporary directory by default when headless).
        #[arg(long, conflicts_with = "history_dir")]
        history_in_memory: bool,
        /// Test only: break replication on purpose (see scenarios/known-bad/), e.g.
        /// `drop_one_in:7`, `apply_without_stamp_compare`, `reuse_stamp`,
        /// `forget_tombstones`, `ignore_vector_clock`, `strong_reads_from_follower`, `lagging_index`.
        #[arg(long, hide = true, value_parser = crate::parse_known_bug)]
        known_bug: Option<crate::KnownBug>,
    },
    /// Serve the regions as DynamoDB HTTP endpoints for real SDKs (see the README).
    Serve(crate::serve_cli::ServeArgs),
    /// Inject faults into a running `dynasim serve` and read its metrics.
    Ctl(crate::serve_cli::CtlArgs),
    /// Validate scenario files without running them.
    Check {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// List the scenarios under a directory (default: scenarios/).
    List { dir: Option<PathBuf> },
    /// Run a scenario on many seeds in parallel processes; print each failing seed with
    /// its repro command.
    Explore {
        scenario: PathBuf,
        /// How many seeds (seed i is `first + i`).
        #[arg(long)]
        seeds: u64,
        #[arg(long, default_value_t = 1)]
        first: u64,
        /// Parallel processes.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Run only shard K of N (`K/N`, 1-based): seed i belongs to shard i mod N + 1.
        #[arg(long)]
        shard: Option<String>,
    },
    /// Re-run a recorded run and compare trace hashes; names the first diverging op.
    Replay { run_dir: PathBuf },
    /// Every benchmark in one process tree, printed as Markdown tables of ratios against
    /// baselines measured in the same run (see BENCHMARKS.md): the engine vs a raw
    /// BTreeMap, region vs bare engine, simulation speed vs a plain event loop, checker
    /// throughput, `dynasim serve` vs dynalite, growth curves and memory.
    Bench {
        /// Runs per figure (the median is reported, with min and max).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Shorter runs and smaller tables (a smoke check in a few minutes, not
        /// publishable numbers).
        #[arg(long)]
        quick: bool,
        /// Also write the report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only these sections, comma-separated: engine, region, sim, checker, serve,
        /// growth, memory (default: all).
        #[arg(long, conflicts_with = "memory")]
        only: Option<String>,
        /// Leave out these sections, comma-separated.
        #[arg(long)]
        skip: Option<String>,
        /// Only the memory section (same as `--only memory`): peak RSS of a 1-hour run at
        /// 1,000 ops/s and bytes per stored item, each in a fresh child process.
        #[arg(long)]
        memory: bool,
        /// dynalite's CLI script for the serve comparison (run with `node`; default
        /// $DYNASIM_DYNALITE, else node_modules/.bin/dynalite).
        #[arg(long)]
        dynalite: Option<PathBuf>,
        /// Internal: measure one memory figure in this process and print it.
        #[arg(long, hide = true)]
        memory_child: Option<String>,
    },
    /// Regenerate a run directory's report from its scenario and seed, or merge explore
    /// results (`report merge FILE...`).
    Report {
        #[arg(required = true)]
        args: Vec<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run {
            scenario,
            seed,
            out,
            format,
            no_report,
            tui,
            no_tui,
            speed,
            actions,
            history_dir,
            history_shards,
            history_in_memory,
            known_bug,
        } => {
            // The dashboard by default when a person watches stdout (it reads the history
            // in memory, so not when the history goes to disk).
            let live = tui
                || (!no_tui
                    && history_dir.is_none()
                    && format == Format::Text
                    && std::io::stdout().is_terminal());
            let history = match (history_dir, history_in_memory) {
                (Some(dir), _) => HistoryPlace::Dir(dir),
                (None, true) => HistoryPlace::Memory,
                (None, false) => HistoryPlace::Auto,
            };
            let run = Run {
                bug: known_bug,
                actions,
                live: live.then(|| speed.map_or(Speed::Max, Speed::Times)),
                history: None,
            };
            run_command(
                &scenario,
                seed,
                out,
                format,
                no_report,
                run,
                (history, history_shards),
            )
        }
        Command::Check { scenarios } => check_command(&scenarios),
        Command::Serve(args) => match crate::serve_cli::serve(args, &|line| {
            // A closed stdout (the parent went away) must not stop the server.
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }) {
            Ok(()) => exit::PASS,
            Err(e) => {
                eprintln!("dynasim serve: {e:#}");
                exit::INVALID_INPUT
            }
        },
        Command::Ctl(args) => match crate::serve_cli::ctl(args) {
            Ok(answer) => {
                println!("{answer}");
                exit::PASS
            }
            Err(e) => {
                eprintln!("dynasim ctl: {e:#}");
                exit::INVALID_INPUT
            }
        },
        Command::List { dir } => list_command(&dir.unwrap_or_else(|| PathBuf::from("scenarios"))),
        Command::Explore {
            scenario,
            seeds,
            first,
            jobs,
            shard,
        } => explore_command(&scenario, seeds, first, jobs, shard),
        Command::Replay { run_dir } => replay_command(&run_dir),
        Command::Report { args } => report_command(&args),
        Command::Bench {
            memory_child: Some(what),
            ..
        } => match crate::bench_memory::child(&what) {
            Ok(line) => {
                println!("{line}");
                exit::PASS
            }
            Err(e) => {
                eprintln!("dynasim: {e}");
                exit::INVALID_INPUT
            }
        },
        Command::Bench {
            runs,
            quick,
            out,
            only,
            skip,
            memory,
            dynalite,
            memory_child: None,
        } => bench_command(runs, quick, out, only, skip, memory, dynalite),
    };
    ExitCode::from(code)
}

fn bench_command(
    runs: usize,
    quick: bool,
    out: Option<PathBuf>,
    only: Option<String>,
    skip: Option<String>,
    memory: bool,
    dynalite: Option<PathBuf>,
) -> u8 {
    use crate::bench::Section;
    let parse = |list: Option<String>| list.map(|l| Section::parse_list(&l)).transpose();
    let (only, skip) = match (parse(only), parse(skip)) {
        (Ok(only), Ok(skip)) => (only, skip.unwrap_or_default()),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("dynasim bench: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let chosen = if memory {
        vec![Section::Memory]
    } else {
        only.unwrap_or_else(|| Section::ALL.to_vec())
    };
    let sections: Vec<Section> = Section::ALL
        .into_iter()
        .filter(|s| chosen.contains(s) && !skip.contains(s))
        .collect();
    if sections.is_empty() {
        eprintln!("dynasim bench: no section left to run");
        return exit::INVALID_INPUT;
    }
    let options = crate::bench::BenchOptions {
        runs,
        quick,
        sections,
        dynalite,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let report = crate::bench::run_bench(
        &options,
        &mut |text| {
            let mut stdout = std::io::stdout();
            let _ = write!(stdout, "{text}").and_then(|()| stdout.flush());
        },
        &mut |note| eprintln!("dynasim bench: {note}"),
    );
    match out.map(|path| std::fs::write(&path, &report).map_err(|e| (path, e))) {
        Some(Err((path, e))) => {
            eprintln!("dynasim: cannot write {}: {e}", path.display());
            exit::INVALID_INPUT
        }
        _ => exit::PASS,
    }
}

fn load(path: &Path) -> Result<Scenario, u8> {
    let scenario = Scenario::from_file(path).map_err(|e| {
        eprintln!("{e}");
        exit::INVALID_INPUT
    })?;
    crate::check_supported(&scenario).map_err(|e| {
        eprintln!("{}: {e}", path.display());
        exit::INVALID_INPUT
    })?;
    Ok(scenario)
}

fn status_code(status: Status) -> u8 {
    match status {
        Status::Pass => exit::PASS,
        Status::Fail => exit::ASSERTION_FAILED,
        Status::Unknown => exit::INCONCLUSIVE,
    }
}

fn parse_speed(text: &str) -> Result<f64, String> {
    text.trim_end_matches('x')
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| format!("{text:?}: expected a positive number (x real time), e.g. 10"))
}

/// How to run: a known bug (tests), recorded actions, the dashboard at a speed, and
/// where the history goes (memory if `None`).
#[derive(Default)]
struct Run {
    bug: Option<crate::KnownBug>,
    actions: Vec<crate::live::ScheduledAction>,
    live: Option<Speed>,
    history: Option<crate::HistorySpill>,
}

/// Where `dynasim run` keeps the history.
enum HistoryPlace {
    Memory,
    /// Streamed to this directory, kept.
    Dir(PathBuf),
    /// Streamed to a temporary directory (removed after the report) in a headless run of
    /// at least [`AUTO_SPILL_DURATION_US`], else in memory.
    Auto,
}

/// Headless runs this long stream their history to disk by default: at the rates the
/// shipped scenarios use (up to a few thousand ops/s), 30 simulated minutes is millions
/// of ops and applies, about 300 bytes each in memory.
const AUTO_SPILL_DURATION_US: u64 = 30 * 60 * 1_000_000;

/// The spill of a `dynasim run`, and whether its directory is temporary.
fn history_spill(
    place: HistoryPlace,
    shards: u16,
    scenario: &Path,
    seed: Option<u64>,
    live: bool,
) -> Result<Option<(crate::HistorySpill, bool)>, u8> {
    let temporary = match place {
        HistoryPlace::Memory => return Ok(None),
        HistoryPlace::Dir(dir) => {
            return Ok(Some((crate::HistorySpill { dir, shards }, false)));
        }
        HistoryPlace::Auto => {
            let duration_us = load(scenario)?.sim.duration_us;
            if live || duration_us < AUTO_SPILL_DURATION_US {
                return Ok(None);
            }
            // Display only: the directory name never reaches the run.
            std::env::temp_dir().join(format!(
                "dynasim-history-{}-seed-{}",
                std::process::id(),
                seed.map_or("default".to_string(), |s| s.to_string())
            ))
        }
    };
    Ok(Some((
        crate::HistorySpill {
            dir: temporary,
            shards,
        },
        true,
    )))
}

fn execute(path: &Path, seed: Option<u64>, run: Run) -> Result<Outcome, u8> {
    let scenario = load(path)?;
    let seed = seed.or(scenario.meta.seeds.first().copied()).unwrap_or(1);
    eprintln!("SEED={seed}");
    if let Some(speed) = run.live {
        return execute_live(scenario, path, seed, run, speed);
    }
    let Run {
        bug,
        actions,
        history,
        ..
    } = run;
    // A progress bar on long runs, only when a person is watching stderr.
    let long_run = scenario.sim.duration_us >= 60_000_000;
    let bar = (std::io::stderr().is_terminal() && long_run).then(|| {
        let bar = indicatif::ProgressBar::new(scenario.sim.duration_us / 1_000_000);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} simulated s ({elapsed})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar.set_message(scenario.meta.name.clone());
        bar
    });
    let progress: Option<std::rc::Rc<dyn Fn(u64, u64)>> = bar.clone().map(|bar| {
        std::rc::Rc::new(move |now_us: u64, _total_us: u64| bar.set_position(now_us / 1_000_000))
            as std::rc::Rc<dyn Fn(u64, u64)>
    });
    let outcome = run_scenario(
        scenario,
        &path.display().to_string(),
        &RunOptions {
            seed,
            bug,
            progress,
            actions,
            history,
            ..Default::default()
        },
    )
    .map_err(|e| {
        eprintln!("{e}");
        exit::INVALID_INPUT
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outcome
}

/// The dashboard on this thread, the simulation on another; prints after the terminal
/// is restored.
fn execute_live(
    scenario: Scenario,
    path: &Path,
    seed: u64,
    run: Run,
    speed: Speed,
) -> Result<Outcome, u8> {
    let end = crate::live::run_live(
        scenario,
        &path.display().to_string(),
        seed,
        run.bug,
        run.actions,
        speed,
    );
    match end {
        Ok(crate::live::LiveEnd::Done(outcome)) => (*outcome).map_err(|e| {
            eprintln!("{e}");
            exit::INVALID_INPUT
        }),
        Ok(crate::live::LiveEnd::Aborted) => {
            eprintln!("dynasim: interrupted (Ctrl-C): no report written");
            Err(exit::INTERRUPTED)
        }
        Err(e) => {
            eprintln!("dynasim: the dashboard failed: {e} (run headless with --no-tui)");
            Err(exit::INVALID_INPUT)
        }
    }
}

fn run_command(
    path: &Path,
    seed: Option<u64>,
    out: Option<PathBuf>,
    format: Format,
    no_report: bool,
    mut run: Run,
    (place, shards): (HistoryPlace, u16),
) -> u8 {
    let spill = match history_spill(place, shards, path, seed, run.live.is_some()) {
        Ok(spill) => spill,
        Err(code) => return code,
    };
    run.history = spill.as_ref().map(|(h, _)| h.clone());
    let _temporary = spill
        .as_ref()
        .filter(|(_, temporary)| *temporary)
        .map(|(h, _)| TemporaryHistory(h.dir.clone()));
    run_and_report(path, seed, out, format, no_report, run)
}

/// A temporary history directory, removed when the command ends, also by a panic (a
/// closed stdout makes `println!` panic).
struct TemporaryHistory(PathBuf);

impl Drop for TemporaryHistory {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            // Not eprintln!: it would panic again if stderr is closed too.
            let _ = writeln!(
                std::io::stderr(),
                "dynasim: cannot remove the temporary history {}: {e}",
                self.0.display()
            );
        }
    }
}

fn run_and_report(
    path: &Path,
    seed: Option<u64>,
    out: Option<PathBuf>,
    format: Format,
    no_report: bool,
    run: Run,
) -> u8 {
    let outcome = match execute(path, seed, run) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let dir = out.unwrap_or_else(|| outcome.default_report_dir());
    if !no_report && let Err(e) = outcome.write_report(&dir) {
        eprintln!("dynasim: cannot write report to {}: {e}", dir.display());
        return exit::INVALID_INPUT;
    }
    match format {
        Format::Json => {
            let summary = match outcome.summary_json() {
                Ok(summary) => summary,
                Err(e) => {
                    eprintln!("dynasim: cannot read the history back: {e}");
                    return exit::INVALID_INPUT;
                }
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).expect("summary serializes")
            );
        }
        Format::Text => print_text(&outcome, (!no_report).then_some(dir.as_path())),
    }
    status_code(outcome.status())
}

fn print_text(outcome: &Outcome, dir: Option<&Path>) {
    let run = &outcome.run;
    let counts = outcome.record_counts();
    let (client_ops, ttl_deletes) = (counts.client_ops, counts.service_ops);
    let ttl = if ttl_deletes > 0 {
        format!(", {ttl_deletes} TTL deletes")
    } else {
        String::new()
    };
    println!(
        "{} seed {}: {} ({client_ops} ops{ttl}, {} replication applies, trace {})",
        run.scenario,
        run.seed,
        format!("{:?}", outcome.status()).to_uppercase(),
        counts.applies,
        run.trace_hash
    );
    for v in &outcome.report.verdicts {
        println!(
            "  {:<7} {:<48} observed {} (bound {})",
            format!("{:?}", v.status).to_lowercase(),
            v.assertion,
            v.observed,
            v.bound
        );
        if v.status != Status::Pass {
            for e in v.evidence.iter().take(3) {
                println!("          - {e}");
            }
        }
    }
    let lww = &outcome.report.lww;
    println!(
        "  lww: {} acknowledged writes, {} final, findings {:?}",
        lww.writes_acknowledged, lww.writes_final, lww.counts
    );
    if let Some(dir) = dir {
        println!("  report: {}", dir.display());
    }
    if !outcome.passed() {
        println!("  reproduce: {}", outcome.repro_command());
    }
    eprintln!(
        "simulated {:.1} s in {:.2} s ({:.0}x real time)",
        run.duration_us as f64 / 1e6,
        outcome.wall_s,
        run.duration_us as f64 / 1e6 / outcome.wall_s.max(1e-9)
    );
}

fn check_command(paths: &[PathBuf]) -> u8 {
    let mut code = exit::PASS;
    for path in paths {
        match load(path) {
            Ok(_) => println!("{}: ok", path.display()),
            Err(c) => code = c,
        }
    }
    code
}

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            scenario_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

fn list_command(dir: &Path) -> u8 {
    let mut files = Vec::new();
    scenario_files(dir, &mut files);
    if files.is_empty() {
        eprintln!("dynasim: no scenario files under {}", dir.display());
        return exit::INVALID_INPUT;
    }
    let mut code = exit::PASS;
    for f in files {
        match Scenario::from_file(&f) {
            Ok(s) => println!(
                "{:<52} [{}] {}",
                f.display(),
                s.meta.tags.join(","),
                s.meta.description
            ),
            Err(e) => {
                eprintln!("{e}");
                code = exit::INVALID_INPUT;
            }
        }
    }
    code
}

fn parse_shard(shard: &str) -> Option<(u64, u64)> {
    let (k, n) = shard.split_once('/')?;
    let (k, n): (u64, u64) = (k.parse().ok()?, n.parse().ok()?);
    (n > 0 && (1..=n).contains(&k)).then_some((k, n))
}

fn explore_command(path: &Path, seeds: u64, first: u64, jobs: usize, shard: Option<String>) -> u8 {
    if let Err(code) = load(path) {
        return code;
    }
    let (k, n) = match shard.as_deref().map(parse_shard) {
        None => (1, 1),
        Some(Some(kn)) => kn,
        Some(None) => {
            eprintln!("dynasim: --shard: expected K/N with 1 <= K <= N, e.g. 2/8");
            return exit::INVALID_INPUT;
        }
    };
    let mine: Vec<u64> = (0..seeds)
        .filter(|i| i % n == k - 1)
        .map(|i| first + i)
        .collect();
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dynasim: cannot find own executable: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let mut results: Vec<(u64, u8)> = Vec::new();
    let mut running: Vec<(u64, std::process::Child)> = Vec::new();
    let mut queue = mine.into_iter();
    loop {
        while running.len() < jobs.max(1) {
            let Some(seed) = queue.next() else { break };
            let child = std::process::Command::new(&exe)
                .args([
                    "run",
                    &path.display().to_string(),
                    "--seed",
                    &seed.to_string(),
                    "--no-report",
                    "--format",
                    "json",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            match child {
                Ok(c) => running.push((seed, c)),
                Err(e) => {
                    eprintln!("dynasim: cannot start a run: {e}");
                    return exit::INVALID_INPUT;
                }
            }
        }
        if running.is_empty() {
            break;
        }
        let (seed, mut child) = running.remove(0);
        let code = child
            .wait()
            .ok()
            .and_then(|s| s.code())
            .unwrap_or(exit::INCONCLUSIVE as i32) as u8;
        results.push((seed, code));
    }
    results.sort();
    let mut worst = exit::PASS;
    let mut failing = 0;
    for (seed, code) in &results {
        let line =
            serde_json::json!({"scenario": path.display().to_string(), "seed": seed, "exit": code});
        println!("{line}");
        if *code != exit::PASS {
            failing += 1;
            eprintln!(
                "seed {seed} exit {code}: reproduce with {}",
                dynasim_report::repro_command(&path.display().to_string(), *seed)
            );
            worst = worst.max(*code);
        }
    }
    eprintln!(
        "{} seeds run (shard {k}/{n}), {failing} failing",
        results.len()
    );
    worst
}

#[derive(serde::Deserialize)]
struct RunMeta {
    scenario_path: String,
    seed: u64,
    trace_hash: String,
    /// Interactive actions of the run, re-injected at their simulated times.
    #[serde(default)]
    actions: Vec<crate::live::ScheduledAction>,
}

fn read_run_meta(dir: &Path) -> Result<RunMeta, u8> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        eprintln!(
            "dynasim: {}: {e} (is this a run directory?)",
            path.display()
        );
        exit::INVALID_INPUT
    })?;
    serde_json::from_str(&text).map_err(|e| {
        eprintln!("dynasim: {}: {e}", path.display());
        exit::INVALID_INPUT
    })
}

fn replay_command(dir: &Path) -> u8 {
    let meta = match read_run_meta(dir) {
        Ok(m) => m,
        Err(c) => return c,
    };
    let run = Run {
        actions: meta.actions.clone(),
        ..Run::default()
    };
    let outcome = match execute(Path::new(&meta.scenario_path), Some(meta.seed), run) {
        Ok(o) => o,
        Err(c) => return c,
    };
    if outcome.run.trace_hash == meta.trace_hash {
        println!(
            "replay of {} seed {}: identical (trace {})",
            outcome.run.scenario, meta.seed, meta.trace_hash
        );
        return exit::PASS;
    }
    println!(
        "replay of {} seed {}: NONDETERMINISM: trace {} != recorded {}",
        outcome.run.scenario, meta.seed, outcome.run.trace_hash, meta.trace_hash
    );
    if let Ok(recorded) = std::fs::read_to_string(dir.join("history.jsonl")) {
        for (i, (old, op)) in recorded.lines().zip(&outcome.run.history).enumerate() {
            let new = serde_json::to_string(op).expect("ops serialize");
            if old != new {
                println!(
                    "first diverging op (line {}):\n  recorded: {old}\n  replayed: {new}",
                    i + 1
                );
                break;
            }
        }
    }
    exit::NONDETERMINISM
}

fn report_command(args: &[String]) -> u8 {
    if args[0] == "merge" {
        return merge_command(&args[1..]);
    }
    let dir = Path::new(&args[0]);
    let meta = match read_run_meta(dir) {
        Ok(m) => m,
        Err(c) => return c,
    };
    let run = Run {
        actions: meta.actions,
        ..Run::default()
    };
    let outcome = match execute(Path::new(&meta.scenario_path), Some(meta.seed), run) {
        Ok(o) => o,
        Err(c) => return c,
    };
    if let Err(e) = outcome.write_report(dir) {
        eprintln!("dynasim: cannot write {}: {e}", dir.display());
        return exit::INVALID_INPUT;
    }
    println!("regenerated {}", dir.display());
    status_code(outcome.status())
}

/// Join explore outputs (JSON lines, one per seed) from several shards.
fn merge_command(files: &[String]) -> u8 {
    let mut lines = Vec::new();
    for f in files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("dynasim: {f}: {e}");
                return exit::INVALID_INPUT;
            }
        };
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(v) => lines.push(v),
                Err(e) => {
                    eprintln!("dynasim: {f}:{}: not an explore result: {e}", n + 1);
                    return exit::INVALID_INPUT;
                }
            }
        }
    }
    lines.sort_by_key(|v| {
        (
            v["scenario"].as_str().unwrap_or("").to_string(),
            v["seed"].as_u64().unwrap_or(0),
        )
    });
    let failing = lines
        .iter()
        .filter(|v| v["exit"].as_u64() != Some(0))
        .count();
    for v in &lines {
        println!("{v}");
    }
    eprintln!("{} results merged, {failing} failing", lines.len());
    if failing > 0 {
        exit::ASSERTION_FAILED
    } else {
        exit::PASS
    }
}
