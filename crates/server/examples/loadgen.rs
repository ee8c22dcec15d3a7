//! Native load generator for any DynamoDB JSON 1.0 endpoint (dynasim serve, dynalite, ...):
//! a thin command line over `dynasim_server::loadgen`, which `dynasim bench` also uses
//! (it starts both servers itself; this is for pointing the same load at anything else).
//!
//! ```sh
//! cargo run --release -p dynasim-server --example loadgen -- \
//!     --endpoint 127.0.0.1:8000 --connections 8 [--depth 16] --seconds 5 [--server-pid PID] [--ops GetItem,Query]
//!     [--table NAME [--no-prepare]]
//! ```
//!
//! Runs PutItem, GetItem and Query (50 items per page) in turn and prints one Markdown
//! row each: ops/s, p50 and p99 latency, and with `--server-pid` the server's CPU time per
//! operation (from /proc/PID/stat).

use dynasim_server::loadgen::{LoadOptions, OPERATIONS, OpResult, prepare, run_op};
use std::process::ExitCode;
use std::time::Duration;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn options() -> Result<LoadOptions, String> {
    let endpoint = arg("--endpoint", "127.0.0.1:8000");
    Ok(LoadOptions {
        endpoint: endpoint
            .parse()
            .map_err(|_| format!("--endpoint {endpoint:?}: expected HOST:PORT"))?,
        connections: arg("--connections", "8")
            .parse()
            .map_err(|_| "--connections N")?,
        depth: arg("--depth", "1").parse().map_err(|_| "--depth N")?,
        duration: Duration::from_secs(arg("--seconds", "5").parse().map_err(|_| "--seconds N")?),
        server_pid: match arg("--server-pid", "").as_str() {
            "" => None,
            pid => Some(pid.parse().map_err(|_| "--server-pid PID")?),
        },
    })
}

/// [`prepare`] a fresh table, then run the operations of `--ops` (default all) in turn.
fn run(options: &LoadOptions) -> Result<Vec<OpResult>, String> {
    let wanted = arg("--ops", "PutItem,GetItem,Query");
    let ops: Vec<_> = OPERATIONS
        .iter()
        .filter(|op| wanted.split(',').any(|w| w == op.name()))
        .collect();
    if ops.is_empty() {
        return Err(format!(
            "--ops {wanted:?}: expected PutItem, GetItem and/or Query"
        ));
    }
    let table = arg("--table", &format!("bench{}", std::process::id()));
    // `--no-prepare`: the table was prepared by an earlier run (e.g. to profile the
    // server's cost per request without the loading).
    if !std::env::args().any(|a| a == "--no-prepare") {
        prepare(options.endpoint, &table)?;
    }
    ops.into_iter()
        .map(|op| run_op(options, &table, *op))
        .collect()
}

fn main() -> ExitCode {
    match options().and_then(|options| run(&options)) {
        Ok(results) => {
            println!("| operation | ops/s | p50 ms | p99 ms | server CPU us/op |");
            println!("|---|---:|---:|---:|---:|");
            for r in results {
                let cpu = r.cpu_us_per_op.map_or("-".into(), |c| format!("{c:.1}"));
                println!(
                    "| {} | {:.0} | {:.2} | {:.2} | {cpu} |",
                    r.op.name(),
                    r.ops_per_s(),
                    r.p50_ms,
                    r.p99_ms
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
