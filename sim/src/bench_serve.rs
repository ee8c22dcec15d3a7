//! `dynasim serve` against dynalite in `dynasim bench`: both servers are started as child
//! processes (this binary's `serve`, and dynalite under `node`) on free loopback ports,
//! the same loads (`dynasim_server::loadgen`: PutItem, GetItem, Query of 50 items) are
//! sent to each in interleaved rounds, and the servers' CPU time per request is read from
//! /proc/PID/stat. Two load profiles, each reported in its own table: the closed loop (one
//! request in flight per connection, so throughput is bounded by round trips through the
//! kernel) and the same connections with [`PIPELINE_DEPTH`] pipelined requests in flight
//! each (enough to keep a server busy, which is how capacity is normally measured). The children are killed when the section ends, also on
//! error. Without dynalite the section measures `dynasim serve` alone and says why.

use crate::bench_engine::{spread, thousands};
use dynasim_server::loadgen::{LoadOptions, OPERATIONS, OpResult, Operation, prepare, run_op};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant}; // real time: waiting for servers to listen

/// How to run the serve comparison.
#[derive(Clone, Debug)]
pub struct ServeSettings {
    /// The `dynasim` binary to run `serve` with (normally this process's own).
    pub dynasim_exe: PathBuf,
    /// dynalite's CLI script, or why it is not available.
    pub dynalite: Result<PathBuf, String>,
    /// The Node.js executable that runs dynalite.
    pub node: String,
    /// How long each operation's load runs, per server and round.
    pub duration: Duration,
    /// Connections of both load profiles.
    pub connections: usize,
    /// Interleaved rounds (dynasim, dynalite, dynasim, ...).
    pub runs: usize,
}

/// Requests in flight per connection in the second load profile (HTTP/1.1 pipelining).
pub const PIPELINE_DEPTH: usize = 16;

/// The load profiles, as requests in flight per connection: the closed loop, then
/// pipelined.
const DEPTHS: [usize; 2] = [1, PIPELINE_DEPTH];

/// dynalite's CLI: `explicit` (`--dynalite`), else `$DYNASIM_DYNALITE`, else
/// `node_modules/.bin/dynalite` under the current directory.
pub fn locate_dynalite(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let candidate = match (explicit, std::env::var_os("DYNASIM_DYNALITE")) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(path)) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from("node_modules/.bin/dynalite"),
    };
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "dynalite not found at {}; npm install dynalite, or pass --dynalite",
            candidate.display()
        ))
    }
}

/// A child server, killed and reaped when dropped.
struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    stderr_path: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}

impl Server {
    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
    }

    /// Start `command` (which listens on `addr`) and wait until it accepts connections.
    fn start(name: &'static str, mut command: Command, addr: SocketAddr) -> Result<Server, String> {
        let stderr_path = std::env::temp_dir().join(format!(
            "dynasim-bench-{name}-{}-{}.stderr",
            std::process::id(),
            addr.port()
        ));
        let stderr = std::fs::File::create(&stderr_path)
            .map_err(|e| format!("{}: {e}", stderr_path.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_file(&stderr_path);
                format!("cannot start {name} ({:?}): {e}", command.get_program())
            })?;
        let mut server = Server {
            name,
            child,
            addr,
            stderr_path,
        };
        let started = Instant::now(); // real time: waiting for the server to listen
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "{name} exited before listening on {addr} ({status}): {}",
                    server.stderr_tail()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(server);
            }
            let waited = started.elapsed(); // real time: waiting for the server to listen
            if waited > Duration::from_secs(20) {
                return Err(format!(
                    "{name} did not listen on {addr} within 20 s: {}",
                    server.stderr_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A loopback port nobody listens on now (the OS picks it; another process could still
/// take it before the server binds, which then fails to start with a clear message).
fn free_port(avoid: &[u16]) -> Result<u16, String> {
    for _ in 0..20 {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        if !avoid.contains(&port) {
            return Ok(port);
        }
    }
    Err("no free port".into())
}

fn start_dynasim(exe: &Path) -> Result<Server, String> {
    let port = free_port(&[])?;
    let control = free_port(&[port])?;
    let mut command = Command::new(exe);
    command.args([
        "serve",
        "--regions",
        "us-east-1",
        "--port",
        &port.to_string(),
        "--control-port",
        &control.to_string(),
        "--no-auth",
    ]);
    Server::start(
        "dynasim serve",
        command,
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
}

fn start_dynalite(node: &str, cli: &Path) -> Result<Server, String> {
    let port = free_port(&[])?;
    let mut command = Command::new(node);
    command.arg(cli).args([
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--createTableMs",
        "0",
    ]);
    Server::start(
        "dynalite",
        command,
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
}

/// dynalite's version from the package.json next to its CLI script.
fn dynalite_version(cli: &Path) -> String {
    let cli = std::fs::canonicalize(cli).unwrap_or_else(|_| cli.to_path_buf());
    cli.parent()
        .and_then(|dir| std::fs::read_to_string(dir.join("package.json")).ok())
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|json| json["version"].as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown version".into())
}

fn node_version(node: &str) -> String {
    Command::new(node)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Results per operation, one per round.
type Rounds = Vec<Vec<OpResult>>;

/// Start the server, prepare its table and return it with an empty result set.
fn start_and_prepare(
    start: impl FnOnce() -> Result<Server, String>,
) -> Result<(Server, String), String> {
    let server = start()?;
    let table = format!("bench{}", std::process::id());
    prepare(server.addr, &table).map_err(|e| format!("{}: {e}", server.name))?;
    Ok((server, table))
}

/// One round of the load against `server`, `depth` requests in flight per connection.
fn round(
    settings: &ServeSettings,
    server: &Server,
    table: &str,
    depth: usize,
) -> Result<Vec<OpResult>, String> {
    let options = LoadOptions {
        endpoint: server.addr,
        connections: settings.connections,
        depth,
        duration: settings.duration,
        server_pid: Some(server.pid()),
    };
    OPERATIONS
        .iter()
        .map(|op| run_op(&options, table, *op).map_err(|e| format!("{}: {e}", server.name)))
        .collect()
}

/// The figures of `op` across rounds.
fn of(rounds: &Rounds, op: Operation) -> Vec<&OpResult> {
    rounds
        .iter()
        .filter_map(|round| round.iter().find(|r| r.op == op))
        .collect()
}

/// How a load profile is described in its table's heading.
fn describe_load(connections: usize, depth: usize) -> String {
    if depth <= 1 {
        format!("closed loop: {connections} keep-alive connections, one request in flight each")
    } else {
        format!(
            "pipelined: {connections} keep-alive connections, {depth} requests in flight each (HTTP/1.1 pipelining; a new request goes out as each answer arrives)"
        )
    }
}

/// The section: measure and render. Never fails: problems become lines of the section.
pub fn section(settings: &ServeSettings, progress: &mut dyn FnMut(&str)) -> String {
    let mut out = format!(
        "## 5. Serve mode vs dynalite (the same loads for both servers, {} keep-alive connections, first closed loop with one request in flight each, then {PIPELINE_DEPTH} pipelined requests in flight each; {:.1} s per operation and load, {} interleaved rounds; items of ~130 B; Query reads one 50-item partition; the load generator shares the machine)\n\n",
        settings.connections,
        settings.duration.as_secs_f64(),
        settings.runs.max(1)
    );
    progress("serve: starting dynasim serve");
    let dynasim = match start_and_prepare(|| start_dynasim(&settings.dynasim_exe)) {
        Ok(started) => started,
        Err(e) => {
            let _ = writeln!(out, "serve vs dynalite: not measured ({e})");
            return out;
        }
    };
    let dynalite = match &settings.dynalite {
        Ok(cli) => {
            progress("serve: starting dynalite");
            match start_and_prepare(|| start_dynalite(&settings.node, cli)) {
                Ok(started) => Ok((started, cli.clone())),
                Err(e) => Err(format!("dynalite could not be started: {e}")),
            }
        }
        Err(e) => Err(e.clone()),
    };
    let _ = writeln!(
        out,
        "dynasim: `{} serve --regions us-east-1 --port {} --no-auth` (one region, default worker threads)  ",
        settings.dynasim_exe.display(),
        dynasim.0.addr.port()
    );
    match &dynalite {
        Ok((_, cli)) => {
            let _ = writeln!(
                out,
                "dynalite {} on Node {}: `{} {} --port {} --createTableMs 0` (in memory)\n",
                dynalite_version(cli),
                node_version(&settings.node),
                settings.node,
                cli.display(),
                dynalite.as_ref().map_or(0, |((s, _), _)| s.addr.port())
            );
        }
        Err(e) => {
            let _ = writeln!(out, "\nserve vs dynalite: skipped ({e})\n");
        }
    }
    // Per load profile (index into DEPTHS), the rounds of each server.
    let mut ours: Vec<Rounds> = DEPTHS.iter().map(|_| Vec::new()).collect();
    let mut theirs: Vec<Rounds> = DEPTHS.iter().map(|_| Vec::new()).collect();
    let mut failure = None;
    'rounds: for run in 0..settings.runs.max(1) {
        progress(&format!(
            "serve: round {} of {}",
            run + 1,
            settings.runs.max(1)
        ));
        for (p, depth) in DEPTHS.iter().enumerate() {
            match round(settings, &dynasim.0, &dynasim.1, *depth) {
                Ok(r) => ours[p].push(r),
                Err(e) => {
                    failure = Some(e);
                    break 'rounds;
                }
            }
            if let Ok(((server, table), _)) = &dynalite {
                match round(settings, server, table, *depth) {
                    Ok(r) => theirs[p].push(r),
                    Err(e) => {
                        failure = Some(e);
                        break 'rounds;
                    }
                }
            }
        }
    }
    drop(dynalite);
    drop(dynasim);
    if let Some(e) = &failure {
        let _ = writeln!(out, "The load failed: {e}\n");
    }
    for (p, depth) in DEPTHS.iter().enumerate() {
        if ours[p].is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "**Load {}: {}**\n",
            p + 1,
            describe_load(settings.connections, *depth)
        );
        render(&mut out, &ours[p], &theirs[p]);
    }
    out
}

/// One load profile's table and its target verdicts.
fn render(out: &mut String, ours: &Rounds, theirs: &Rounds) {
    let _ = writeln!(
        out,
        "| operation | dynasim ops/s median (min..max) | dynalite ops/s median (min..max) | dynasim / dynalite median (min..max) | p50 / p99 ms dynasim | p50 / p99 ms dynalite | server CPU us/op dynasim | dynalite |\n|---|---|---|---|---|---|---|---|"
    );
    for op in OPERATIONS {
        let a = of(ours, op);
        let b = of(theirs, op);
        let rate = |rs: &[&OpResult]| spread(&rs.iter().map(|r| r.ops_per_s()).collect::<Vec<_>>());
        let (a_rate, a_min, a_max) = rate(&a);
        let fmt_rate = |(m, lo, hi): (f64, f64, f64)| {
            if m.is_nan() {
                "-".to_string()
            } else {
                format!("{} ({}..{})", thousands(m), thousands(lo), thousands(hi))
            }
        };
        let ratios: Vec<f64> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| x.ops_per_s() / y.ops_per_s())
            .collect();
        let (r, r_min, r_max) = spread(&ratios);
        let latency = |rs: &[&OpResult]| {
            let (p50, _, _) = spread(&rs.iter().map(|r| r.p50_ms).collect::<Vec<_>>());
            let (p99, _, _) = spread(&rs.iter().map(|r| r.p99_ms).collect::<Vec<_>>());
            if p50.is_nan() {
                "-".to_string()
            } else {
                format!("{p50:.2} / {p99:.2}")
            }
        };
        let cpu = |rs: &[&OpResult]| {
            let values: Vec<f64> = rs.iter().filter_map(|r| r.cpu_us_per_op).collect();
            match spread(&values) {
                (m, _, _) if m.is_nan() => "-".to_string(),
                (m, lo, hi) => format!("{m:.1} ({lo:.1}..{hi:.1})"),
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            op.name(),
            fmt_rate((a_rate, a_min, a_max)),
            fmt_rate(rate(&b)),
            if r.is_nan() {
                "-".to_string()
            } else {
                format!("{r:.1}x ({r_min:.1}..{r_max:.1})")
            },
            latency(&a),
            latency(&b),
            cpu(&a),
            cpu(&b)
        );
    }
    let ratio = |op: Operation| {
        spread(
            &of(ours, op)
                .iter()
                .zip(&of(theirs, op))
                .map(|(x, y)| x.ops_per_s() / y.ops_per_s())
                .collect::<Vec<_>>(),
        )
        .0
    };
    let p99 = |rounds: &Rounds, op: Operation| {
        spread(&of(rounds, op).iter().map(|r| r.p99_ms).collect::<Vec<_>>()).0
    };
    let get_cpu = spread(
        &of(ours, Operation::GetItem)
            .iter()
            .filter_map(|r| r.cpu_us_per_op)
            .collect::<Vec<_>>(),
    )
    .0;
    let verdict = |met: bool| if met { "met" } else { "**not met**" };
    let throughput = if ratio(Operation::GetItem).is_nan() {
        "not measured".to_string()
    } else {
        let all: Vec<f64> = OPERATIONS.iter().map(|op| ratio(*op)).collect();
        format!(
            "{} ({})",
            verdict(all.iter().all(|r| *r >= 20.0)),
            all.iter()
                .zip(OPERATIONS)
                .map(|(r, op)| format!("{} {r:.1}x", op.name()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let latency = if theirs.is_empty() {
        "not measured".to_string()
    } else {
        let lower = OPERATIONS
            .iter()
            .all(|op| p99(ours, *op) < p99(theirs, *op));
        verdict(lower).to_string()
    };
    let _ = writeln!(
        out,
        "\nTargets: >= 20x dynalite's throughput: {throughput}; lower p99 than dynalite: {latency}; <= 15 us of server CPU per GetItem: {}.\n",
        if get_cpu.is_nan() {
            "not measured".to_string()
        } else {
            format!("{} ({get_cpu:.1} us)", verdict(get_cpu <= 15.0))
        }
    );
}
