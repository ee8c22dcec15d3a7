//! `dynasim bench`: how fast the simulator runs, measured in one process with a baseline
//! from the same run, printed as a table of ratios (never asserted in tests: machines are
//! noisy). The baseline drives exactly the same region, replication, client and checker
//! code through a plain event loop (a time-ordered message queue) instead of turmoil.

use crate::bench_engine::spread;
use crate::clients::Clients;
use crate::faults::ActiveFaults;
use crate::world::{RunOptions, build_shared};
use dynasim_checker::CheckConfig;
use dynasim_core::RegionId;
use dynasim_engine::bench::{thread_cpu_ns, thread_kernel_time};
use dynasim_scenario::Scenario;
use rand::Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::Instant; // real time: this module measures wall-clock speed

const REGIONS: [(&str, [&str; 3]); 7] = [
    ("us-east-1", ["use1-az1", "use1-az2", "use1-az4"]),
    ("eu-west-1", ["euw1-az1", "euw1-az2", "euw1-az3"]),
    ("ap-northeast-1", ["apne1-az1", "apne1-az2", "apne1-az4"]),
    ("us-west-2", ["usw2-az1", "usw2-az2", "usw2-az3"]),
    ("eu-central-1", ["euc1-az1", "euc1-az2", "euc1-az3"]),
    ("ap-southeast-2", ["apse2-az1", "apse2-az2", "apse2-az3"]),
    ("us-east-2", ["use2-az1", "use2-az2", "use2-az3"]),
];

/// A steady MREC workload: `regions` regions, `rate` ops/s, `keys` keys, 200-byte items.
pub fn workload(regions: usize, rate: u64, duration_s: u64, keys: u64) -> Scenario {
    assert!((2..=7).contains(&regions));
    let mut toml = format!(
        "schema = 1\n[meta]\nname = \"bench\"\nseeds = [1]\n[sim]\nduration = \"{duration_s}s\"\nepoch = \"2025-01-01T00:00:00Z\"\n"
    );
    for (name, azs) in &REGIONS[..regions] {
        let _ = writeln!(
            toml,
            "[[region]]\nname = \"{name}\"\nazs = [\"{}\", \"{}\", \"{}\"]",
            azs[0], azs[1], azs[2]
        );
    }
    let names: Vec<String> = REGIONS[..regions]
        .iter()
        .map(|(n, _)| format!("\"{n}\""))
        .collect();
    let clients: Vec<String> = REGIONS[..regions]
        .iter()
        .map(|(n, _)| format!("\"{n}\" = 1"))
        .collect();
    let _ = write!(
        toml,
        "[[table]]\nname = \"bench\"\npartition_key = {{ name = \"pk\", type = \"S\" }}\nreplicas = [{}]\n\
         [[phase]]\nname = \"steady\"\nduration = \"{duration_s}s\"\nrate = {{ constant = {rate} }}\nclients = {{ {} }}\n\
         mix = {{ get = 50, put = 40, update = 5, delete = 5 }}\nkeys = {{ table = \"bench\", count = {keys}, dist = \"uniform\" }}\n\
         item_size = {{ dist = \"fixed\", size = \"200B\" }}\n",
        names.join(", "),
        clients.join(", ")
    );
    Scenario::from_str(&toml, "<bench>").expect("the bench workload is a valid scenario")
}

/// Run a scenario through the plain event loop: same clients and regions, messages
/// delivered from a time-ordered queue with the scenario's link delays. Returns the
/// number of client operations completed.
pub fn run_event_loop(scenario: &Scenario, seed: u64) -> u64 {
    let options = RunOptions {
        seed,
        ..Default::default()
    };
    let shared = Rc::new(RefCell::new(build_shared(scenario, &options)));
    let faults = ActiveFaults::new(scenario);
    let mut clients = Clients::new(scenario, seed);
    let mut net = dynasim_workload::rng_for(seed, "baseline-network");
    let tick_us = scenario.sim.tick_us.max(1_000);
    let interval_us = shared.borrow().batch_interval_us;
    // A datagram in flight: (receiver, sender, [(receiver's table, message)]), packed
    // as the turmoil driver packs it (`world::parcels`).
    let mut queue: BTreeMap<(u64, u64), (usize, RegionId, crate::world::Letters)> = BTreeMap::new();
    let mut seq = 0u64;
    let mut next_poll_us = 0u64;
    let mut now_us = 0u64;
    let delay = |net: &mut rand_chacha::ChaCha8Rng, from: usize, to: usize| -> u64 {
        let link = scenario
            .link(RegionId(from as u16), RegionId(to as u16))
            .expect("distinct regions have a link");
        link.one_way_us + net.random_range(0..=link.jitter_us * 3)
    };
    while now_us < scenario.sim.duration_us {
        let next_us = now_us + tick_us;
        clients.run_window(&shared, &faults, now_us, next_us);
        let mut s = shared.borrow_mut();
        s.now_us = next_us;
        s.release_completed_before(next_us);
        if next_us >= next_poll_us {
            next_poll_us = next_us + interval_us;
            for r in 0..s.regions.len() {
                crate::world::release_held(&mut s, r, next_us);
                let outgoing = s.regions[r].poll_replication(next_us);
                for (to, messages) in crate::world::parcels(&mut s, r, outgoing) {
                    let at = next_us + delay(&mut net, r, to.0 as usize);
                    seq += 1;
                    queue.insert((at, seq), (to.0 as usize, RegionId(r as u16), messages));
                }
            }
        }
        while queue
            .first_key_value()
            .is_some_and(|((at, _), _)| *at <= next_us)
        {
            let (_, (to, from, messages)) = queue.pop_first().expect("checked non-empty");
            debug_assert_eq!(s.now_us, next_us, "mail is handled at the window's end");
            crate::world::deliver(&mut s, to, from, messages);
        }
        drop(s);
        now_us = next_us;
    }
    let mut s = shared.borrow_mut();
    s.release_all_completed();
    s.output.history.len() as u64
}

/// One measured configuration: wall and on-CPU seconds of each of `runs` runs.
struct Measured {
    wall_s: Vec<f64>,
    cpu_s: Vec<f64>,
    /// The part of each run's on-CPU time spent in the kernel (page faults), where known.
    kernel_s: Vec<f64>,
    minor_faults: Vec<u64>,
    ops: u64,
    simulated_s: f64,
}

impl Measured {
    fn median(&self) -> f64 {
        spread(&self.wall_s).0
    }
    fn min(&self) -> f64 {
        spread(&self.wall_s).1
    }
    fn max(&self) -> f64 {
        spread(&self.wall_s).2
    }
    /// Median on-CPU seconds of this thread (wall seconds where unknown).
    fn cpu_median(&self) -> f64 {
        spread(&self.cpu_s).0
    }
    /// Each run's (on-CPU, kernel) seconds, when every run has both.
    fn cpu_and_kernel(&self) -> Option<impl Iterator<Item = (f64, f64)> + '_> {
        (self.kernel_s.len() == self.cpu_s.len() && !self.kernel_s.is_empty()).then(|| {
            self.cpu_s
                .iter()
                .copied()
                .zip(self.kernel_s.iter().copied())
        })
    }
    /// Median on-CPU seconds outside the kernel, if the platform reports kernel time.
    /// `None` too when a run's kernel ticks (1/100 s) round to all of its CPU time.
    fn user_cpu_median(&self) -> Option<f64> {
        let user: Vec<f64> = self.cpu_and_kernel()?.map(|(c, k)| c - k).collect();
        user.iter().all(|u| *u > 0.0).then(|| spread(&user).0)
    }
    /// Median share of on-CPU time spent in the kernel, and median minor page faults
    /// per run, if the platform reports them.
    fn kernel(&self) -> Option<(f64, u64)> {
        let shares: Vec<f64> = self
            .cpu_and_kernel()?
            .map(|(c, k)| if c > 0.0 { (k / c).min(1.0) } else { 0.0 })
            .collect();
        let mut faults = self.minor_faults.clone();
        faults.sort_unstable();
        Some((spread(&shares).0, faults[faults.len() / 2]))
    }
}

/// Run `f` `runs` times (it returns the ops it completed), timing each run by the wall
/// clock and by this thread's on-CPU time. The simulation is single-threaded, so the CPU
/// time is the run's own, whatever else the machine is doing.
fn measure(runs: usize, mut f: impl FnMut() -> u64, simulated_s: f64) -> Measured {
    let mut wall_s = Vec::new();
    let mut cpu_s = Vec::new();
    let mut kernel_s = Vec::new();
    let mut minor_faults = Vec::new();
    let mut ops = 0;
    for _ in 0..runs.max(1) {
        let kernel = thread_kernel_time();
        let cpu = thread_cpu_ns();
        let started = Instant::now(); // real time: measuring wall-clock speed
        ops = f();
        let wall = started.elapsed().as_secs_f64(); // real time: measuring wall-clock speed
        wall_s.push(wall);
        let cpu = match (cpu, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => Some((b - a) as f64 / 1e9),
            _ => None,
        };
        cpu_s.push(cpu.unwrap_or(wall));
        // Kernel figures only beside a measured CPU time (a share of wall time would
        // mislead).
        if let (Some(_), Some(a), Some(b)) = (cpu, kernel, thread_kernel_time()) {
            kernel_s.push((b.kernel_s - a.kernel_s).max(0.0));
            minor_faults.push(b.minor_faults.saturating_sub(a.minor_faults));
        }
    }
    Measured {
        wall_s,
        cpu_s,
        kernel_s,
        minor_faults,
        ops,
        simulated_s,
    }
}

fn turmoil_run(scenario: &Scenario, seed: u64) -> u64 {
    turmoil_output(scenario, seed).history.len() as u64
}

/// One run of `scenario` on the turmoil driver, its output kept.
fn turmoil_output(scenario: &Scenario, seed: u64) -> dynasim_core::history::RunOutput {
    crate::world::run(
        scenario,
        &RunOptions {
            seed,
            ..Default::default()
        },
    )
    .expect("bench runs")
}

fn first_line(path: &str, prefix: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().and_then(|c| {
        c.lines()
            .find(|l| l.starts_with(prefix))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    })
}

/// CPU model, cores, memory, OS and kernel.
fn machine() -> String {
    let cpu = first_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let memory = first_line("/proc/meminfo", "MemTotal:")
        .and_then(|m| m.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| format!(", {:.0} GiB RAM", kib / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!(", kernel {}", k.trim()))
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores{memory}, {} {}{kernel}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The 1, 5 and 15-minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The git commit of the current directory's checkout (`+dirty` with uncommitted
/// changes), else `$DYNASIM_COMMIT` now or at build time, else "unknown".
fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(head) = git(&["rev-parse", "--short", "HEAD"]) {
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        return if dirty { format!("{head}+dirty") } else { head };
    }
    std::env::var("DYNASIM_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| option_env!("DYNASIM_COMMIT").map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// How this binary was built: `scripts/pgo-build` sets `DYNASIM_BUILD` at compile time
/// (a profile-guided build is faster than a plain release one, so a report must say
/// which it measured).
fn build_kind() -> &'static str {
    match option_env!("DYNASIM_BUILD") {
        Some(kind) if !kind.is_empty() => kind,
        _ if cfg!(debug_assertions) => "debug assertions on (not a release build: not publishable)",
        _ => "release (cargo build --release)",
    }
}

/// Now as `YYYY-MM-DD HH:MM UTC` (the engine's stream-label date, cut to minutes).
fn utc_now() -> String {
    let unix_ms = std::time::SystemTime::now() // real time: the report's date
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let iso = dynasim_engine::stream::iso8601_ms(unix_ms); // YYYY-MM-DDTHH:MM:SS.mmm
    format!("{} {} UTC", &iso[..10], &iso[11..16])
}

/// Growth exponent fitted by least squares on log-log axes (1.0 = linear).
fn exponent(points: &[(f64, f64)]) -> f64 {
    let logs: Vec<(f64, f64)> = points.iter().map(|(x, y)| (x.ln(), y.ln())).collect();
    let n = logs.len() as f64;
    let mx = logs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = logs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = logs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = logs.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    sxy / sxx
}

/// The parts of `dynasim bench`, in the order they run and print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Engine,
    Region,
    Sim,
    Checker,
    Serve,
    Growth,
    Memory,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::Engine,
        Section::Region,
        Section::Sim,
        Section::Checker,
        Section::Serve,
        Section::Growth,
        Section::Memory,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::Engine => "engine",
            Section::Region => "region",
            Section::Sim => "sim",
            Section::Checker => "checker",
            Section::Serve => "serve",
            Section::Growth => "growth",
            Section::Memory => "memory",
        }
    }

    /// A comma-separated list of section names.
    pub fn parse_list(list: &str) -> Result<Vec<Section>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                Section::ALL
                    .into_iter()
                    .find(|s| s.name() == name)
                    .ok_or_else(|| {
                        format!(
                            "unknown bench section {name:?} (sections: {})",
                            Section::ALL.map(Section::name).join(", ")
                        )
                    })
            })
            .collect()
    }
}

/// What `dynasim bench` runs.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Runs per figure (median, min and max reported).
    pub runs: usize,
    /// Shorter durations and smaller tables: a smoke check.
    pub quick: bool,
    pub sections: Vec<Section>,
    /// `--dynalite`: dynalite's CLI script.
    pub dynalite: Option<std::path::PathBuf>,
    /// The command line, for the report's header.
    pub command_line: String,
}

fn header(
    options: &BenchOptions,
    started: &str,
    load_start: &str,
    load_end: Option<&str>,
) -> String {
    let load = match load_end {
        Some(end) => format!("{load_start} at start, {end} at end (1, 5, 15 min)"),
        None => format!("{load_start} at start (1, 5, 15 min)"),
    };
    format!(
        "# dynasim bench\n\n\
         command: `{}`  \n\
         date: {started}  \n\
         commit: {}  \n\
         build: {}  \n\
         machine: {}  \n\
         load average: {load}  \n\
         runs per figure: {} (median, min..max){}  \n\
         sections: {}\n",
        options.command_line,
        commit(),
        build_kind(),
        machine(),
        options.runs.max(1),
        if options.quick {
            "; --quick: short runs, small tables, not publishable"
        } else {
            ""
        },
        options
            .sections
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Run the sections of `options` in order. `say` gets each piece of the report as soon
/// as it is measured (the header first), `progress` what is running now; the return
/// value is the whole report, its header with the load average at the end too.
pub fn run_bench(
    options: &BenchOptions,
    say: &mut dyn FnMut(&str),
    progress: &mut dyn FnMut(&str),
) -> String {
    let started = utc_now();
    let load_start = load_average();
    say(&header(options, &started, &load_start, None));
    let mut body = String::new();
    let runs = options.runs.max(1);
    let quick = options.quick;
    for section in &options.sections {
        progress(&format!("section {} ({})", section.name(), utc_now()));
        let text = match section {
            Section::Engine => {
                let comparisons = crate::bench_engine::measure(
                    crate::bench_engine::EngineSizes::standard(quick),
                    runs,
                    progress,
                );
                crate::bench_engine::render(&comparisons, runs)
            }
            Section::Region => region_vs_engine(runs, quick),
            Section::Sim => simulation_speed(runs, quick, progress),
            Section::Checker => checker(quick),
            Section::Serve => {
                let settings = crate::bench_serve::ServeSettings {
                    dynasim_exe: std::env::current_exe().unwrap_or_else(|_| "dynasim".into()),
                    dynalite: crate::bench_serve::locate_dynalite(options.dynalite.as_deref()),
                    node: std::env::var("DYNASIM_NODE").unwrap_or_else(|_| "node".into()),
                    duration: std::time::Duration::from_secs(if quick { 1 } else { 4 }),
                    connections: 8,
                    runs,
                };
                crate::bench_serve::section(&settings, progress)
            }
            Section::Growth => growth(runs, quick, progress),
            Section::Memory => crate::bench_memory::section(quick),
        };
        let text = format!("\n{}", text.trim_start_matches('\n'));
        say(&text);
        body.push_str(&text);
    }
    let load_end = load_average();
    say(&format!("\nload average at end: {load_end}\n"));
    header(options, &started, &load_start, Some(&load_end)) + &body
}

/// Section 3: the turmoil driver against the plain event loop on the target workloads.
fn simulation_speed(runs: usize, quick: bool, progress: &mut dyn FnMut(&str)) -> String {
    let scale = if quick { 10 } else { 1 };
    let mut out = String::from(
        "## 3. Simulation speed vs the plain event-loop baseline (same region, replication and client code; CPU = this thread's on-CPU time)\n\n\
         | workload | turmoil: x real time, wall, median (min..max) | turmoil: x real time per CPU-s | turmoil: client ops per CPU-s | turmoil: kernel share of CPU (minor faults) | event loop: client ops per CPU-s | turmoil / event loop CPU time |\n|---|---|---|---|---|---|---|\n",
    );
    let mut verdicts = Vec::new();
    for (regions, rate, duration_s) in [
        (3, 1_000, 600),
        (3, 10_000, 60),
        (5, 1_000, 600),
        (5, 10_000, 60),
    ] {
        let duration_s = (duration_s / scale).max(6);
        progress(&format!(
            "sim: {regions} regions, {rate} ops/s, {duration_s} s"
        ));
        let scenario = workload(regions, rate, duration_s, 100_000);
        let t = measure(runs, || turmoil_run(&scenario, 1), duration_s as f64);
        let e = measure(runs, || run_event_loop(&scenario, 1), duration_s as f64);
        let t_ops_cpu = t.ops as f64 / t.cpu_median();
        let e_ops_cpu = e.ops as f64 / e.cpu_median();
        let x_cpu = t.simulated_s / t.cpu_median();
        let ratio = t.cpu_median() / e.cpu_median();
        let _ = writeln!(
            out,
            "| {regions} regions, {rate} ops/s, {duration_s} s | {:.0}x ({:.0}..{:.0}) | {x_cpu:.0}x | {} | {} | {} | {ratio:.2} |",
            t.simulated_s / t.median(),
            t.simulated_s / t.max(),
            t.simulated_s / t.min(),
            crate::bench_engine::thousands(t_ops_cpu),
            kernel_cell(&t),
            crate::bench_engine::thousands(e_ops_cpu),
        );
        let met = |ok: bool| if ok { "met" } else { "**not met**" };
        if regions == 3 && rate == 1_000 {
            verdicts.push(format!(
                "3 regions at 1,000 ops/s >= 200x real time: {} ({:.0}x by wall clock, {x_cpu:.0}x per CPU-second)",
                met(t.simulated_s / t.median() >= 200.0),
                t.simulated_s / t.median()
            ));
        }
        if regions == 3 && rate == 10_000 {
            verdicts.push(format!(
                "3 regions at 10,000 ops/s >= 150,000 client ops per CPU-second: {} ({}{}); within 3x of the event loop: {} ({ratio:.2}x)",
                met(t_ops_cpu >= 150_000.0),
                crate::bench_engine::thousands(t_ops_cpu),
                t.user_cpu_median()
                    .map(|u| format!(
                        "; {} per CPU-second outside the kernel",
                        crate::bench_engine::thousands(t.ops as f64 / u)
                    ))
                    .unwrap_or_default(),
                met(ratio <= 3.0)
            ));
        }
    }
    out.push_str(
        "\nKernel share: the part of the turmoil runs' CPU time spent in the kernel, which for a \
         simulation (no I/O while it runs) is mostly first-touch page faults: zeroing the fresh \
         memory the history and the tables grow into. It counts in the CPU time above; on a \
         virtual machine whose memory the host backs lazily it is large and varies between runs \
         of one binary, so compare builds on the user-time part as well (see BENCHMARKS.md).\n",
    );
    let _ = writeln!(out, "\nTargets: {}.", verdicts.join("; "));
    out.push_str(&turmoil_floor(runs, quick));
    out.push_str(&tick_resolution(runs, quick));
    out
}

/// What a coarser tick buys and costs at 3 regions x 1,000 ops/s: speed against the
/// replication lag it adds. Client ops (and MRSC's synchronous round trips, timed from
/// the link delays) are exact whatever the tick; what crosses the simulated network
/// (replication batches and acks) and faults move on tick edges.
fn tick_resolution(runs: usize, quick: bool) -> String {
    let duration_s = if quick { 60 } else { 600 };
    let mut out = format!(
        "\nTick (`[sim] tick`, 1 ms by default) against speed, 3 regions x 1,000 ops/s, {duration_s} s: \
         a message is delivered on the first tick edge after its arrival, so a coarser tick adds up \
         to one tick to every hop.\n\n\
         | tick | x real time per CPU-s | replication lag p50 / p99 (ms) |\n|---|---|---|\n"
    );
    for tick_ms in [1u64, 2, 5, 10] {
        let mut scenario = workload(3, 1_000, duration_s, 100_000);
        scenario.sim.tick_us = tick_ms * 1_000;
        // The lag is read inside the timed closure, which then drops the run as
        // `turmoil_run` does (a few ms against seconds of simulation).
        let mut lag_ms = (0.0, 0.0);
        let m = measure(
            runs,
            || {
                let run = turmoil_output(&scenario, 1);
                lag_ms = replication_lag_ms(&run.applies);
                run.history.len() as u64
            },
            duration_s as f64,
        );
        let (p50_ms, p99_ms) = lag_ms;
        let _ = writeln!(
            out,
            "| {tick_ms} ms | {:.0}x | {p50_ms:.1} / {p99_ms:.1} |",
            m.simulated_s / m.cpu_median()
        );
    }
    out
}

/// Median and 99th percentile of the replication lag over every apply, pooled across
/// region pairs: apply time less origin write time, the definition the report's
/// per-pair table and the `replication_lag` assertion use.
fn replication_lag_ms(applies: &[dynasim_core::history::ApplyRecord]) -> (f64, f64) {
    let mut lag_us = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)
        .expect("an hour in microseconds at 3 significant digits is a valid range");
    for apply in applies {
        lag_us.saturating_record(apply.at_us.saturating_sub(apply.written_at_us));
    }
    if lag_us.is_empty() {
        return (0.0, 0.0);
    }
    (
        lag_us.value_at_quantile(0.5) as f64 / 1_000.0,
        lag_us.value_at_quantile(0.99) as f64 / 1_000.0,
    )
}

/// "12% (8,133)": the median kernel share of CPU and minor faults per run, or "n/a".
fn kernel_cell(m: &Measured) -> String {
    match m.kernel() {
        Some((share, faults)) => format!(
            "{:.0}% ({})",
            share * 100.0,
            crate::bench_engine::thousands(faults as f64)
        ),
        None => "n/a".to_string(),
    }
}

/// What stepping turmoil costs with (almost) nothing to simulate: 3 regions at 1 op/s.
/// Every 1 ms tick steps each region's host runtime whatever the load, so this bounds
/// how fast any workload can run, and what is left per operation for the model.
fn turmoil_floor(runs: usize, quick: bool) -> String {
    let duration_s = if quick { 60 } else { 600 };
    let scenario = workload(3, 1, duration_s, 1_000);
    let idle = measure(runs, || turmoil_run(&scenario, 1), duration_s as f64);
    let ticks = duration_s as f64 * 1e6 / scenario.sim.tick_us.max(1_000) as f64;
    let us_per_tick = idle.cpu_median() * 1e6 / ticks;
    // 200x real time at 1,000 ops/s leaves 5 ms of CPU per simulated second.
    let left_us_per_op = (5_000.0 - us_per_tick * ticks / duration_s as f64) / 1_000.0;
    format!(
        "\nFloor: an idle 3-region world (1 op/s, {duration_s} s) runs at {:.0}x real time per CPU-second; \
         turmoil steps its 3 hosts every 1 ms tick at {us_per_tick:.2} us per tick whatever the load, \
         so 200x real time at 1,000 ops/s would leave {left_us_per_op:.2} us of CPU per client operation \
         (its region write or read, its replication to 2 regions and its history records).\n",
        idle.simulated_s / idle.cpu_median(),
    )
}

/// Section 6: wall time against simulated duration, client rate, region count and key
/// count, with a growth exponent fitted on log-log axes.
fn growth(runs: usize, quick: bool, progress: &mut dyn FnMut(&str)) -> String {
    let scale = if quick { 10 } else { 1 };
    let mut out = String::from(
        "## 6. How cost grows (turmoil driver, wall seconds, median of the runs; exponent fitted by least squares on log-log axes)\n\n\
         | variable | points | fitted growth (1.00 = linear) |\n|---|---|---|\n",
    );
    let mut row = |label: &str, xs: &[f64], make: &dyn Fn(f64) -> Scenario| {
        progress(&format!("growth: {label}"));
        let mut points = Vec::new();
        let mut cells = Vec::new();
        for x in xs {
            let scenario = make(*x);
            let m = measure(
                runs,
                || turmoil_run(&scenario, 1),
                scenario.sim.duration_us as f64 / 1e6,
            );
            points.push((*x, m.median()));
            cells.push(format!("{x}: {:.2}s", m.median()));
        }
        let _ = writeln!(
            out,
            "| {label} | {} | {:.2} |",
            cells.join(", "),
            exponent(&points)
        );
    };
    let base_s = (120 / scale).max(6) as f64;
    let short = (30 / scale).max(6);
    row(
        "simulated seconds (3 regions, 1k ops/s)",
        &[base_s / 4.0, base_s / 2.0, base_s, base_s * 2.0],
        &|x| workload(3, 1_000, x as u64, 100_000),
    );
    row(
        &format!("client rate ops/s (3 regions, {short} s)"),
        &[500.0, 1_000.0, 2_000.0, 4_000.0],
        &|x| workload(3, x as u64, short, 100_000),
    );
    row(
        &format!("regions (1k ops/s, {short} s)"),
        &[3.0, 4.0, 5.0, 7.0],
        &|x| workload(x as usize, 1_000, short, 100_000),
    );
    row(
        &format!("keys (3 regions, 1k ops/s, {short} s)"),
        &[1_000.0, 10_000.0, 100_000.0, 1_000_000.0],
        &|x| workload(3, 1_000, short, x as u64),
    );
    out
}

/// Section 4: the full check and the LWW classification of a simulated history.
fn checker(quick: bool) -> String {
    let scale = if quick { 10 } else { 1 };
    let scenario = workload(3, 2_000, (300 / scale).max(6), 100_000);
    let run = crate::world::run(
        &scenario,
        &RunOptions {
            seed: 1,
            ..Default::default()
        },
    )
    .expect("bench runs");
    let started = Instant::now(); // real time: measuring the checker
    let report = dynasim_checker::check(&scenario, &run, &CheckConfig::default());
    let check_s = started.elapsed().as_secs_f64(); // real time: measuring the checker
    let started = Instant::now(); // real time: measuring the checker
    let lww = dynasim_checker::classify_writes(&run, &CheckConfig::default());
    let classify_s = started.elapsed().as_secs_f64(); // real time: measuring the checker
    let classify_rate = lww.writes_acknowledged as f64 / classify_s.max(1e-9);
    format!(
        "## 4. Checker throughput (one run)\n\n| history | full check | LWW classification only | linearizability |\n|---|---|---|---|\n| {} ops, {} applies | {} ops/s ({:.2}s) | {} writes/s | {} keys decided, {} over budget |\n\n\
         Target: LWW classification >= 1 M ops/s: {}.\n",
        run.history.len(),
        run.applies.len(),
        crate::bench_engine::thousands(run.history.len() as f64 / check_s),
        check_s,
        crate::bench_engine::thousands(classify_rate),
        report.reads.linearizability.keys_decided,
        report.reads.linearizability.keys_over_budget,
        if classify_rate >= 1e6 {
            "met"
        } else {
            "**not met**"
        }
    )
}

/// One on-demand table `bench` keyed by a string `pk`, with no peers: the region under
/// the per-op benchmarks.
pub(crate) fn bench_table() -> dynasim_region::TableSpec {
    dynasim_region::TableSpec {
        name: "bench".into(),
        partition_key: "pk".into(),
        partition_key_type: dynasim_region::KeyTypeSpec::S,
        sort_key: None,
        peers: Vec::new(),
        capacity: dynasim_region::CapacitySpec {
            on_demand: true,
            read_units: 0.0,
            write_units: 0.0,
            read_auto_scaling: None,
            write_auto_scaling: None,
        },
        dax: None,
        mrsc: false,
        ttl: None,
        stream_view: None,
        origin_attribute: false,
        split_for_heat: true,
        gsis: Vec::new(),
    }
}

/// The region (partitions, AZ replicas, leases, capacity, DAX-less latency model,
/// replication log) against the bare engine on the same puts and gets of 200-byte items:
/// what the physical model costs per op.
fn region_vs_engine(runs: usize, quick: bool) -> String {
    use dynasim_core::SimTime;
    use dynasim_core::history::OpKind;
    use dynasim_engine::{AttributeValue, Engine, EngineConfig, GetItemInput, Item, PutItemInput};
    use dynasim_region::{ClientOp, Region, RegionConfig};
    let ops: u64 = if quick { 20_000 } else { 200_000 };
    let keys = 10_000u64;
    let spec = bench_table();
    let region_once = || {
        let mut region = Region::new(
            RegionId(0),
            std::slice::from_ref(&spec),
            RegionConfig::default(),
            dynasim_replication::ReplicatorConfig::default(),
        );
        let mut rng = dynasim_workload::rng_for(1, "bench/region");
        for i in 0..ops {
            let op = ClientOp {
                kind: if i % 2 == 0 { OpKind::Put } else { OpKind::Get },
                table: 0,
                key: rng.random_range(0..keys),
                value: i,
                item_bytes: 200,
                strong: false,
                expire_after_us: None,
                items: 1,
                index: 0,
            };
            // Spread over simulated time so on-demand capacity never throttles.
            let now_us = i * 100;
            std::hint::black_box(region.execute(&op, now_us, now_us, &mut rng));
        }
        ops
    };
    let engine_once = || {
        let mut engine = Engine::new(EngineConfig::default());
        let input: dynasim_engine::CreateTableInput = serde_json::from_value(serde_json::json!({
            "TableName": "bench",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        }))
        .expect("valid CreateTable");
        engine.create_table(input, SimTime::ZERO).expect("creates");
        let mut rng = dynasim_workload::rng_for(1, "bench/region");
        for i in 0..ops {
            let key = rng.random_range(0..keys);
            let mut item = Item::new();
            item.insert("pk", AttributeValue::S(format!("k{key:09}")));
            let now = SimTime(i * 100);
            if i % 2 == 0 {
                item.insert("v", AttributeValue::n(&i.to_string()));
                item.insert("pad", AttributeValue::S("x".repeat(160)));
                let input = PutItemInput {
                    table_name: "bench".into(),
                    item,
                    ..Default::default()
                };
                std::hint::black_box(engine.put_item(input, now).ok());
            } else {
                let input = GetItemInput {
                    table_name: "bench".into(),
                    key: item,
                    ..Default::default()
                };
                std::hint::black_box(engine.get_item(&input, now).ok());
            }
        }
        ops
    };
    // Alternate the two so each run's ratio compares minutes of the same machine load.
    let (mut region_cpu, mut engine_cpu, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let r = measure(1, &region_once, 0.0).cpu_median();
        let e = measure(1, &engine_once, 0.0).cpu_median();
        region_cpu.push(ops as f64 / r);
        engine_cpu.push(ops as f64 / e);
        ratios.push(r / e);
    }
    let (e, e_min, e_max) = spread(&engine_cpu);
    let (r, r_min, r_max) = spread(&region_cpu);
    let (ratio, ratio_min, ratio_max) = spread(&ratios);
    let k = crate::bench_engine::thousands;
    format!(
        "## 2. Region vs bare engine (50% PutItem, 50% GetItem, 200 B items, {keys} keys, {ops} ops; ops per on-CPU second; {} runs)\n\n\
         | driver | ops/s median (min..max) | region time / engine time median (min..max) |\n|---|---|---|\n\
         | bare engine | {} ({}..{}) | 1.00 |\n\
         | region (partitions, 3 AZ replicas, capacity, latency model, replication log) | {} ({}..{}) | {ratio:.2}x ({ratio_min:.2}..{ratio_max:.2}) |\n\n\
         Target: region within 3x of the bare engine: {}.\n",
        runs.max(1),
        k(e),
        k(e_min),
        k(e_max),
        k(r),
        k(r_min),
        k(r_max),
        if ratio <= 3.0 { "met" } else { "**not met**" }
    )
}

#[cfg(test)]
mod tests {
    use super::{Measured, kernel_cell, replication_lag_ms};
    use dynasim_core::history::{ApplyRecord, KeyRef};
    use dynasim_core::{RegionId, Stamp};

    fn measured(cpu_s: &[f64], kernel_s: &[f64], minor_faults: &[u64]) -> Measured {
        Measured {
            wall_s: cpu_s.to_vec(),
            cpu_s: cpu_s.to_vec(),
            kernel_s: kernel_s.to_vec(),
            minor_faults: minor_faults.to_vec(),
            ops: 1_000,
            simulated_s: 1.0,
        }
    }

    /// The kernel share is the median of each run's own share, and user time is on-CPU
    /// time less kernel time, run by run.
    #[test]
    fn kernel_share_and_user_time_are_medians_of_each_runs_figures() {
        let m = measured(&[2.0, 4.0, 10.0], &[0.2, 1.0, 1.0], &[50, 10, 30]);
        let (share, faults) = m.kernel().expect("kernel time known");
        assert!((share - 0.1).abs() < 1e-9, "shares 10%, 25%, 10%: {share}");
        assert_eq!(faults, 30);
        assert_eq!(m.user_cpu_median(), Some(3.0));
        assert_eq!(kernel_cell(&m), "10% (30)");
    }

    #[test]
    fn a_run_all_in_the_kernel_by_its_ticks_has_no_user_figure() {
        let m = measured(&[0.01, 2.0], &[0.01, 0.5], &[1, 2]);
        assert_eq!(m.user_cpu_median(), None);
        assert!(m.kernel().is_some());
    }

    #[test]
    fn without_kernel_figures_the_cell_says_so() {
        let m = measured(&[2.0, 4.0], &[], &[]);
        assert_eq!(m.kernel(), None);
        assert_eq!(m.user_cpu_median(), None);
        assert_eq!(kernel_cell(&m), "n/a");
    }

    fn apply(written_at_us: u64, at_us: u64, lost: bool) -> ApplyRecord {
        let stamp = Stamp {
            hlc_us: written_at_us,
            region: RegionId(0),
            seq: 1,
        };
        ApplyRecord {
            at_us,
            region: RegionId(1),
            key: KeyRef { table: 0, key: 7 },
            stamp,
            written_at_us,
            lost_to: lost.then_some(stamp),
            overwrote_concurrent: None,
        }
    }

    /// Lag is apply time less write time over every apply, an LWW loser included (it
    /// crossed the network as any other), as in the report and the lag assertion.
    #[test]
    fn replication_lag_is_apply_time_less_write_time_over_every_apply() {
        let mut applies: Vec<ApplyRecord> = (1..=99u64)
            .map(|i| apply(1_000_000, 1_000_000 + i * 1_000, false))
            .collect();
        applies.push(apply(5_000_000, 5_100_000, true));
        let (p50_ms, p99_ms) = replication_lag_ms(&applies);
        assert!((p50_ms - 50.0).abs() < 0.1, "p50 {p50_ms}");
        assert!((p99_ms - 99.0).abs() < 0.1, "p99 {p99_ms}");
        let (lost_p50_ms, _) = replication_lag_ms(&applies[99..]);
        assert!(
            (lost_p50_ms - 100.0).abs() < 0.1,
            "the loser's lag {lost_p50_ms}"
        );
        assert_eq!(replication_lag_ms(&[]), (0.0, 0.0));
    }
}
