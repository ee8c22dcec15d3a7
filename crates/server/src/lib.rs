//! dynasim-server: `dynasim serve`, the simulated regions as real DynamoDB HTTP endpoints.
//!
//! Each region gets its own loopback port speaking DynamoDB's JSON 1.0 protocol
//! ([`http`]), backed by the same engine and replicator the simulation uses ([`region`]).
//! Unlike the simulation this runs in **real time** on a multi-threaded tokio runtime:
//! replication messages are delayed by the configured one-way link delays ([`net`]), and
//! a control endpoint ([`control`]) cuts links, takes regions and AZs down, skews clocks,
//! limits capacity and reports metrics. Requests can be authenticated with SigV4 and
//! authorised by an IAM-shaped policy ([`auth`]).
//!
//! Architecture invariants:
//! - The LWW rule, vector clocks and resend live only in `dynasim-replication`; this crate
//!   moves its messages and installs what it applies.
//! - A request locks one region; only global-table control (CreateTable, UpdateTable,
//!   DeleteTable, UpdateTimeToLive) locks every region, always in index order.
//! - Wall-clock reads are marked `real time`; nothing here prints (the CLI does).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let options = dynasim_server::ServeOptions::for_regions(&["us-east-1", "eu-west-1"]);
//! let server = dynasim_server::Server::start(options).await?;
//! for (region, addr) in server.endpoints() {
//!     println!("{region} http://{addr}");
//! }
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod control;
mod faults;
pub mod http;
mod json;
pub mod loadgen;
mod net;
mod region;
mod wal;
mod world;

pub use auth::{Auth, Credentials, Policy};
pub use control::ctl_request;
pub use http::Limits;
pub use region::{LagStats, RegionCounters};
pub use world::{LinkDelay, OPERATIONS, TableSeed};

use dynasim_core::RegionId;
use dynasim_engine::api::{CreateTableInput, ProvisionedThroughput, StreamSpecification};
use dynasim_engine::{
    AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ScalarAttributeType,
};
use dynasim_replication::ReplicatorConfig;
use dynasim_scenario::Scenario;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What to serve. Defaults: loopback, ephemeral ports (`port` 0), control port right
/// after the last region's, no auth, [`Limits::default`].
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub regions: Vec<String>,
    /// `links[from][to]`; the diagonal is unused.
    pub links: Vec<Vec<LinkDelay>>,
    pub tables: Vec<TableSeed>,
    pub host: IpAddr,
    /// First region's port; region i gets `port + i`; 0 picks free ports.
    pub port: u16,
    /// Default `port + regions` (or a free port when `port` is 0).
    pub control_port: Option<u16>,
    pub auth: Option<Auth>,
    /// Serve without authentication on a non-loopback address (`--no-auth`).
    pub allow_unauthenticated: bool,
    pub limits: Limits,
    pub replication: ReplicatorConfig,
    /// `--data-dir`: keep a write-ahead log there and replay it at start.
    pub data_dir: Option<std::path::PathBuf>,
    /// `--threads`: tokio worker threads of [`run_blocking`]; `None` is
    /// [`ServeOptions::default_threads`].
    pub threads: Option<usize>,
    /// `--gsi-lag`: GSIs receive base writes this long after them (RC-08); 0 keeps them
    /// synchronous, as DynamoDB Local does.
    pub gsi_propagation_us: u64,
}

/// Longest `--gsi-lag` accepted: far beyond DynamoDB's "fraction of a second" (RC-08),
/// and it bounds how long GSIs hold changes back.
pub const GSI_PROPAGATION_US_MAX: u64 = 60_000_000;

impl ServeOptions {
    /// Regions by name; links from the reference's inter-region RTT table (LT-06).
    pub fn for_regions(names: &[&str]) -> ServeOptions {
        let regions: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let links = regions
            .iter()
            .map(|from| {
                regions
                    .iter()
                    .map(|to| {
                        let spec = dynasim_scenario::default_inter_region_link(from, to);
                        LinkDelay {
                            one_way_us: spec.one_way_us,
                            jitter_us: spec.jitter_us,
                        }
                    })
                    .collect()
            })
            .collect();
        ServeOptions {
            regions,
            links,
            tables: Vec::new(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            control_port: None,
            auth: None,
            allow_unauthenticated: false,
            limits: Limits::default(),
            // GT-09 as in simulations: parallel partition streams per region pair.
            replication: ReplicatorConfig {
                partition_streams: dynasim_scenario::PARTITION_STREAMS_DEFAULT,
                stream_skew_us_max: dynasim_scenario::STREAM_SKEW_US_DEFAULT,
                ..ReplicatorConfig::default()
            },
            data_dir: None,
            threads: None,
            gsi_propagation_us: 0,
        }
    }

    /// One worker thread per region, but at most half of the machine's cores (at least
    /// one): the clients of a local test server run on the same machine. On a 2-core VM
    /// one worker served GetItem with ~10% less CPU per request and a 4x lower p99 than
    /// two (BENCHMARKS.md), since requests no longer hop between worker threads.
    pub fn default_threads(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.regions.len().min(cores / 2).max(1)
    }

    /// Regions, links and tables of a scenario file (its workload and faults are ignored:
    /// in serve mode the clients are yours and faults come from the control API).
    pub fn from_scenario(scenario: &Scenario) -> ServeOptions {
        let names: Vec<&str> = scenario.regions.iter().map(|r| r.name.as_str()).collect();
        let mut options = ServeOptions::for_regions(&names);
        for (i, from) in scenario.regions.iter().enumerate() {
            for to in &scenario.regions {
                if let Some(spec) = scenario.link(from.id, to.id) {
                    options.links[i][usize::from(to.id.0)] = LinkDelay {
                        one_way_us: spec.one_way_us,
                        jitter_us: spec.jitter_us,
                    };
                }
            }
        }
        options.replication.queue_items_max = scenario.replication.queue_items_max;
        options.replication.partition_streams = scenario.replication.partition_streams;
        options.replication.stream_skew_us_max = scenario.replication.stream_skew_us;
        options.replication.batch_items_max = scenario.replication.batch_items_max;
        options.replication.window_items_max = options
            .replication
            .window_items_max
            .max(scenario.replication.batch_items_max);
        options.tables = scenario.tables.iter().map(table_seed).collect();
        options
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.regions.is_empty(), "serve needs at least one region");
        anyhow::ensure!(
            self.gsi_propagation_us <= GSI_PROPAGATION_US_MAX,
            "--gsi-lag must be at most 60s, not {} ms",
            self.gsi_propagation_us / 1_000
        );
        let limit = dynasim_core::limits::REGIONS_MAX;
        anyhow::ensure!(
            self.regions.len() <= limit,
            "serve takes at most {limit} regions (as a scenario does), not {}",
            self.regions.len()
        );
        let mut sorted = self.regions.clone();
        sorted.sort();
        sorted.dedup();
        anyhow::ensure!(
            sorted.len() == self.regions.len(),
            "region names must be unique"
        );
        anyhow::ensure!(
            self.host.is_loopback() || self.auth.is_some() || self.allow_unauthenticated,
            "binding to {} (beyond loopback) requires --credentials (SigV4 auth) or an explicit --no-auth",
            self.host
        );
        Ok(())
    }
}

fn scalar(ty: dynasim_scenario::KeyType) -> ScalarAttributeType {
    match ty {
        dynasim_scenario::KeyType::S => ScalarAttributeType::S,
        dynasim_scenario::KeyType::N => ScalarAttributeType::N,
        dynasim_scenario::KeyType::B => ScalarAttributeType::B,
    }
}

fn table_seed(t: &dynasim_scenario::Table) -> TableSeed {
    let mut defs: Vec<AttributeDefinition> = Vec::new();
    let mut define = |k: &dynasim_scenario::KeyAttribute| {
        if !defs.iter().any(|d| d.attribute_name == k.name) {
            defs.push(AttributeDefinition {
                attribute_name: k.name.clone(),
                attribute_type: scalar(k.ty),
            });
        }
    };
    let schema = |pk: &dynasim_scenario::KeyAttribute,
                  sk: Option<&dynasim_scenario::KeyAttribute>| {
        let mut out = vec![KeySchemaElement {
            attribute_name: pk.name.clone(),
            key_type: KeyType::Hash,
        }];
        if let Some(sk) = sk {
            out.push(KeySchemaElement {
                attribute_name: sk.name.clone(),
                key_type: KeyType::Range,
            });
        }
        out
    };
    define(&t.partition_key);
    if let Some(sk) = &t.sort_key {
        define(sk);
    }
    for g in &t.gsis {
        define(&g.partition_key);
        if let Some(sk) = &g.sort_key {
            define(sk);
        }
    }
    let provisioned = t.capacity.mode == dynasim_scenario::CapacityMode::Provisioned;
    let throughput = provisioned.then(|| ProvisionedThroughput {
        read_capacity_units: t.capacity.read_units.unwrap_or(5) as i64,
        write_capacity_units: t.capacity.write_units.unwrap_or(5) as i64,
    });
    let gsis: Vec<GlobalSecondaryIndex> = t
        .gsis
        .iter()
        .map(|g| GlobalSecondaryIndex {
            index_name: g.name.clone(),
            key_schema: schema(&g.partition_key, g.sort_key.as_ref()),
            projection: Projection {
                projection_type: Some("ALL".to_string()),
                non_key_attributes: None,
            },
            provisioned_throughput: throughput,
        })
        .collect();
    let view = match t.stream {
        Some(dynasim_scenario::StreamView::KeysOnly) => "KEYS_ONLY",
        Some(dynasim_scenario::StreamView::NewImage) => "NEW_IMAGE",
        Some(dynasim_scenario::StreamView::OldImage) => "OLD_IMAGE",
        // GT-16: a global table replicates through a NEW_AND_OLD_IMAGES stream.
        _ => "NEW_AND_OLD_IMAGES",
    };
    let stream = (t.stream.is_some() || t.replicas.len() > 1).then(|| StreamSpecification {
        stream_enabled: true,
        stream_view_type: Some(view.to_string()),
    });
    TableSeed {
        input: CreateTableInput {
            table_name: t.name.clone(),
            key_schema: schema(&t.partition_key, t.sort_key.as_ref()),
            attribute_definitions: defs,
            billing_mode: Some(
                if provisioned {
                    "PROVISIONED"
                } else {
                    "PAY_PER_REQUEST"
                }
                .into(),
            ),
            provisioned_throughput: throughput,
            global_secondary_indexes: (!gsis.is_empty()).then_some(gsis),
            local_secondary_indexes: None,
            stream_specification: stream,
        },
        replicas: t.replicas.clone(),
        ttl_attribute: t.ttl_attribute.clone(),
    }
}

/// A running server: one endpoint per region plus the control endpoint.
pub struct Server {
    endpoints: Vec<(String, SocketAddr)>,
    control: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds every port, then starts serving. Must run inside a tokio runtime.
    pub async fn start(options: ServeOptions) -> anyhow::Result<Server> {
        options.check()?;
        let world = Arc::new(world::World::new(
            options.regions.clone(),
            options.links.clone(),
            options.replication.clone(),
            &options.tables,
            options.data_dir.as_deref(),
            options.gsi_propagation_us,
        )?);
        let mut listeners = Vec::new();
        for (i, name) in options.regions.iter().enumerate() {
            let port = if options.port == 0 {
                0
            } else {
                options.port + i as u16
            };
            let addr = SocketAddr::new(options.host, port);
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("{name}: cannot listen on {addr}: {e}"))?;
            listeners.push(listener);
        }
        let control_port = options.control_port.unwrap_or(if options.port == 0 {
            0
        } else {
            options.port + options.regions.len() as u16
        });
        let control_addr = SocketAddr::new(options.host, control_port);
        let control_listener = TcpListener::bind(control_addr)
            .await
            .map_err(|e| anyhow::anyhow!("control API: cannot listen on {control_addr}: {e}"))?;
        let (shutdown, receiver) = watch::channel(false);
        let auth = options.auth.clone().map(Arc::new);
        let mut endpoints = Vec::new();
        let mut tasks = Vec::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            endpoints.push((options.regions[i].clone(), listener.local_addr()?));
            let endpoint = Arc::new(http::Endpoint {
                world: world.clone(),
                region: i,
                auth: auth.clone(),
                limits: options.limits,
            });
            tasks.push(tokio::spawn(http::serve_endpoint(
                endpoint,
                listener,
                receiver.clone(),
            )));
        }
        let control = control_listener.local_addr()?;
        tasks.push(tokio::spawn(control::serve_control(
            world.clone(),
            control_listener,
            receiver.clone(),
        )));
        tasks.push(tokio::spawn(net::run_replication(world, receiver)));
        Ok(Server {
            endpoints,
            control,
            shutdown,
            tasks,
        })
    }

    /// `(region name, address)` per region, in order.
    pub fn endpoints(&self) -> &[(String, SocketAddr)] {
        &self.endpoints
    }

    pub fn control_addr(&self) -> SocketAddr {
        self.control
    }

    /// Stops accepting, lets in-flight requests finish (within the grace period).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// `dynasim serve`: starts the server on a new runtime, hands the banner lines to `say`,
/// and serves until Ctrl-C or SIGTERM, then shuts down gracefully.
pub fn run_blocking(options: ServeOptions, say: impl Fn(&str)) -> anyhow::Result<()> {
    let threads = options.threads.unwrap_or_else(|| options.default_threads());
    anyhow::ensure!(threads >= 1, "--threads must be at least 1");
    // One thread: a current-thread runtime serves everything on the thread that runs
    // `block_on`, without the work-stealing scheduler's bookkeeping and without waking a
    // separate worker thread for each ready connection.
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        let auth_line = match (&options.auth, options.allow_unauthenticated) {
            (Some(_), _) => "auth: SigV4 required".to_string(),
            (None, _) => "auth: off (--no-auth or loopback without --credentials)".to_string(),
        };
        let server = Server::start(options).await?;
        for (name, addr) in server.endpoints() {
            say(&format!("{name} http://{addr}"));
        }
        say(&format!("control http://{}", server.control_addr()));
        say(&auth_line);
        wait_for_signal().await;
        say("shutting down");
        server.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The region ids of a list of names, for callers building [`TableSeed`]s.
pub fn region_ids(options: &ServeOptions, names: &[&str]) -> Option<Vec<RegionId>> {
    names
        .iter()
        .map(|n| {
            options
                .regions
                .iter()
                .position(|r| r == n)
                .map(|i| RegionId(i as u16))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LT: at most `REGIONS_MAX` regions, as a scenario; more is a clear error before
    /// anything listens (a causal context holds one counter per region).
    #[test]
    fn more_regions_than_the_limit_are_refused_by_name() {
        let names: Vec<String> = (0..8).map(|i| format!("region-{i}")).collect();
        let eight: Vec<&str> = names.iter().map(String::as_str).collect();
        let err = ServeOptions::for_regions(&eight)
            .check()
            .expect_err("eight regions");
        assert_eq!(
            err.to_string(),
            "serve takes at most 7 regions (as a scenario does), not 8"
        );
        assert!(ServeOptions::for_regions(&eight[..7]).check().is_ok());
    }

    #[test]
    fn default_threads_is_one_per_region_within_half_the_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let one = ServeOptions::for_regions(&["us-east-1"]);
        assert_eq!(one.default_threads(), 1);
        let seven: Vec<String> = (0..7).map(|i| format!("region-{i}")).collect();
        let names: Vec<&str> = seven.iter().map(String::as_str).collect();
        let many = ServeOptions::for_regions(&names).default_threads();
        assert_eq!(many, 7.min(cores / 2).max(1));
    }

    #[test]
    fn zero_threads_is_refused_before_serving() {
        let mut options = ServeOptions::for_regions(&["us-east-1"]);
        options.threads = Some(0);
        let error = run_blocking(options, |_| {}).expect_err("0 threads cannot serve");
        assert!(error.to_string().contains("--threads"), "{error}");
    }
}
