//! Arguments of `dynasim serve` and `dynasim ctl`; the work is in `dynasim-server`.
//! Output goes through the `say` callback so only `cli.rs` prints.

use std::net::IpAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Regions to serve, comma-separated (default us-east-1,eu-west-1,ap-northeast-1).
    #[arg(long, value_delimiter = ',', conflicts_with = "config")]
    regions: Vec<String>,
    /// A scenario file: its regions, links and tables (workload and faults are ignored).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port of the first region; region i listens on port + i.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Control API port (default: right after the last region's).
    #[arg(long)]
    control_port: Option<u16>,
    /// Address to bind; beyond loopback, --credentials or --no-auth is required.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// JSON credentials file; turns SigV4 verification on.
    #[arg(long)]
    credentials: Option<PathBuf>,
    /// IAM-shaped JSON policy evaluated per request (needs --credentials).
    #[arg(long, requires = "credentials")]
    policy: Option<PathBuf>,
    /// Serve without authentication even beyond loopback or with --credentials.
    #[arg(long)]
    no_auth: bool,
    /// Keep a write-ahead log here (fsync before every acknowledged write) and replay it
    /// at start, so acknowledged writes survive kill -9. Default: in memory only.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Largest request body accepted (bytes); larger bodies get HTTP 413.
    #[arg(long)]
    body_bytes_max: Option<usize>,
    /// Worker threads serving requests (default: one per region, at most half the cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Make GSIs eventually consistent: each GSI receives a base write this long after
    /// it (RC-08), e.g. "200ms"; at most 60s. Default 0: synchronous, as DynamoDB Local.
    #[arg(long, value_parser = parse_gsi_lag)]
    gsi_lag: Option<u64>,
}

/// `--gsi-lag`: a duration such as "200ms", in microseconds.
fn parse_gsi_lag(text: &str) -> Result<u64, String> {
    let us = dynasim_scenario::units::parse_duration_us(text).ok_or_else(|| {
        format!(
            "expected {}, got {text:?}",
            dynasim_scenario::units::DURATION_EXPECTED
        )
    })?;
    if us > dynasim_server::GSI_PROPAGATION_US_MAX {
        return Err(format!("at most 60s, got {text:?}"));
    }
    Ok(us)
}

/// Runs until Ctrl-C or SIGTERM.
pub fn serve(args: ServeArgs, say: &dyn Fn(&str)) -> anyhow::Result<()> {
    let mut options = match &args.config {
        Some(path) => {
            let scenario = crate::Scenario::from_file(path).map_err(|e| anyhow::anyhow!("{e}"))?;
            dynasim_server::ServeOptions::from_scenario(&scenario)
        }
        None if args.regions.is_empty() => {
            dynasim_server::ServeOptions::for_regions(&["us-east-1", "eu-west-1", "ap-northeast-1"])
        }
        None => {
            let names: Vec<&str> = args.regions.iter().map(String::as_str).collect();
            dynasim_server::ServeOptions::for_regions(&names)
        }
    };
    options.port = args.port;
    options.control_port = args.control_port;
    options.host = args.host;
    options.allow_unauthenticated = args.no_auth;
    options.data_dir = args.data_dir;
    options.threads = args.threads;
    options.gsi_propagation_us = args.gsi_lag.unwrap_or(0);
    if let Some(max) = args.body_bytes_max {
        options.limits.body_bytes_max = max;
    }
    if let (Some(creds), false) = (&args.credentials, args.no_auth) {
        options.auth = Some(dynasim_server::Auth::from_files(
            creds,
            args.policy.as_deref(),
        )?);
    }
    dynasim_server::run_blocking(options, say)
}

#[derive(clap::Args, Debug)]
pub struct CtlArgs {
    /// Control API address (printed by `dynasim serve`); default $DYNASIM_CONTROL, else
    /// 127.0.0.1:8003 (three regions from port 8000).
    #[arg(long)]
    control: Option<String>,
    #[command(subcommand)]
    action: CtlAction,
}

#[derive(clap::Subcommand, Debug)]
enum CtlAction {
    /// Cut replication between A and B (or A and every other region).
    Partition {
        a: String,
        b: Option<String>,
        /// Cut only A -> B.
        #[arg(long)]
        one_way: bool,
    },
    /// Restore links: A-B, A-everyone, or (no arguments) every link.
    Heal {
        a: Option<String>,
        b: Option<String>,
    },
    /// Take a region down: clients get 503, replication stops.
    RegionDown {
        region: String,
    },
    RegionUp {
        region: String,
    },
    /// Take an AZ (0, 1 or 2) down; two down means no writes or strong reads.
    AzDown {
        region: String,
        az: u8,
    },
    AzUp {
        region: String,
        az: u8,
    },
    /// Offset the clock that stamps a region's writes, in milliseconds.
    Skew {
        region: String,
        #[arg(allow_hyphen_values = true)]
        ms: i64,
    },
    /// Requests per second a table serves in a region (omit both to remove the limit).
    Capacity {
        region: String,
        table: String,
        #[arg(long)]
        read: Option<f64>,
        #[arg(long)]
        write: Option<f64>,
    },
    /// Current metrics as JSON: counters, replication lag and backlog per table and peer.
    Metrics,
}

/// Sends one control request; returns the JSON answer, pretty-printed.
pub fn ctl(args: CtlArgs) -> anyhow::Result<String> {
    use serde_json::json;
    let (path, body) = match args.action {
        CtlAction::Partition { a, b, one_way } => (
            "/partition",
            Some(json!({"a": a, "b": b, "one_way": one_way})),
        ),
        CtlAction::Heal { a, b } => ("/heal", Some(json!({"a": a, "b": b}))),
        CtlAction::RegionDown { region } => {
            ("/region", Some(json!({"region": region, "up": false})))
        }
        CtlAction::RegionUp { region } => ("/region", Some(json!({"region": region, "up": true}))),
        CtlAction::AzDown { region, az } => (
            "/az",
            Some(json!({"region": region, "az": az, "up": false})),
        ),
        CtlAction::AzUp { region, az } => {
            ("/az", Some(json!({"region": region, "az": az, "up": true})))
        }
        CtlAction::Skew { region, ms } => ("/skew", Some(json!({"region": region, "ms": ms}))),
        CtlAction::Capacity {
            region,
            table,
            read,
            write,
        } => (
            "/capacity",
            Some(json!({"region": region, "table": table, "read": read, "write": write})),
        ),
        CtlAction::Metrics => ("/metrics", None),
    };
    let control = args
        .control
        .or_else(|| std::env::var("DYNASIM_CONTROL").ok())
        .unwrap_or_else(|| "127.0.0.1:8003".to_string());
    let answer = dynasim_server::ctl_request(&control, path, body.as_ref())?;
    Ok(serde_json::to_string_pretty(&answer)?)
}
