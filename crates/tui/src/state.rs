//! What the dashboard shows: plain data. [`crate::Feed`] fills it from metric snapshots;
//! [`crate::render`] draws it; tests build it by hand.

/// Whether the simulation is moving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    Paused,
    /// `q` was pressed: the rest of the run goes unthrottled, then the report is written.
    Finishing,
    Finished,
}

impl RunState {
    pub fn label(self) -> &'static str {
        match self {
            RunState::Running => "RUNNING",
            RunState::Paused => "PAUSED",
            RunState::Finishing => "FINISHING",
            RunState::Finished => "FINISHED",
        }
    }
}

/// How fast simulated time may go, in multiples of real time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// As fast as the machine goes (the default: the UI never slows the run down).
    Max,
    /// At most this many simulated seconds per real second.
    Times(f64),
}

impl Speed {
    /// The ladder `+` and `-` walk along.
    pub const STEPS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];

    pub fn faster(self) -> Speed {
        match self {
            Speed::Max => Speed::Max,
            Speed::Times(x) => Speed::STEPS
                .iter()
                .find(|s| **s > x + 1e-9)
                .map_or(Speed::Max, |s| Speed::Times(*s)),
        }
    }

    pub fn slower(self) -> Speed {
        let x = match self {
            Speed::Max => f64::INFINITY,
            Speed::Times(x) => x,
        };
        let s = Speed::STEPS
            .iter()
            .rev()
            .find(|s| **s < x - 1e-9)
            .unwrap_or(&Speed::STEPS[0]);
        Speed::Times(*s)
    }

    pub fn label(self) -> String {
        match self {
            Speed::Max => "max".into(),
            Speed::Times(x) if x < 1.0 => format!("{x}x"),
            Speed::Times(x) => format!("{x:.0}x"),
        }
    }
}

/// The panels `Tab` moves between (and `e` expands).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Regions,
    Latency,
    Replication,
    /// Stream consumers and table capacity; laid out only when the run has either.
    Streams,
    Assertions,
    Events,
}

impl Panel {
    pub const ALL: [Panel; 6] = [
        Panel::Regions,
        Panel::Latency,
        Panel::Replication,
        Panel::Streams,
        Panel::Assertions,
        Panel::Events,
    ];

    /// The next panel in `Tab` order (every panel, shown or not).
    pub fn next(self) -> Panel {
        let i = Panel::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Panel::ALL[(i + 1) % Panel::ALL.len()]
    }

    pub fn title(self) -> &'static str {
        match self {
            Panel::Regions => "Regions",
            Panel::Latency => "Latency",
            Panel::Replication => "Replication",
            Panel::Streams => "Consumers & capacity",
            Panel::Assertions => "Convergence & assertions",
            Panel::Events => "Events",
        }
    }
}

/// One region as the regions panel shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegionRow {
    pub name: String,
    /// AZ names with whether each is up.
    pub azs: Vec<(String, bool)>,
    pub down: bool,
    /// Regions it cannot reach (partitions in force).
    pub cut_off_from: Vec<String>,
    pub clock_offset_us: i64,
    pub ops_per_s: f64,
    pub throttles_per_s: f64,
    /// `None` when the region has no DAX traffic.
    pub dax_hit_ratio: Option<f64>,
}

/// Latency of one op type in one region over the sliding window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyRow {
    pub region: String,
    pub op: String,
    pub count: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
}

/// A region's p99 latency per simulated second, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencySeries {
    pub region: String,
    pub p99_us: Vec<u64>,
}

/// One cell of the replication lag matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lag {
    /// The region itself, or no apply in the window.
    None,
    /// The link is cut: lag is unbounded until the heal.
    Cut,
    P99(u64),
}

/// A replication stream (source -> destination) and its unacknowledged entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    pub from: String,
    pub to: String,
    pub backlog: u64,
}

/// A stream consumer in one region, as the consumers panel shows it (cumulative counts).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsumerRow {
    pub name: String,
    pub region: String,
    pub invocations: u64,
    pub failed_invocations: u64,
    /// Records delivered again after a retry.
    pub duplicates: u64,
    pub to_failure_destination: u64,
    /// Records read from the stream and not yet processed.
    pub backlog: u64,
    /// Age of the oldest unprocessed record (the consumer's lag).
    pub iterator_age_us: u64,
}

/// A table replica's capacity over the latest sampling interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CapacityRow {
    pub table: String,
    pub region: String,
    pub on_demand: bool,
    pub provisioned_read_units: f64,
    pub provisioned_write_units: f64,
    pub consumed_read_per_s: f64,
    pub consumed_write_per_s: f64,
}

/// The live state of an assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Passing,
    Failing,
    /// A `converged after <fault>` assertion before its fault heals.
    WaitingForHeal,
    /// Healed; replication is catching up.
    Converging,
    /// Decided by the checker when the run ends.
    AtEnd,
    /// The checker could not decide.
    Unknown,
}

impl Check {
    pub fn label(self) -> &'static str {
        match self {
            Check::Passing => "pass",
            Check::Failing => "FAIL",
            Check::WaitingForHeal => "wait heal",
            Check::Converging => "converging",
            Check::AtEnd => "at end",
            Check::Unknown => "unknown",
        }
    }

    /// Four letters, for narrow panels.
    pub fn short_label(self) -> &'static str {
        match self {
            Check::Passing => "pass",
            Check::Failing => "FAIL",
            Check::WaitingForHeal => "wait",
            Check::Converging => "conv",
            Check::AtEnd => "end",
            Check::Unknown => "unkn",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AssertionRow {
    pub name: String,
    pub check: Check,
    /// The observed value or why it is in this state.
    pub detail: String,
}

/// A phase or a fault on the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub label: String,
    pub start_us: u64,
    /// `None`: lasts to the end of the run.
    pub end_us: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Fault,
    Heal,
    Failover,
    Throttle,
    Finding,
    /// An interactive action from the keyboard (recorded for replay).
    Action,
    /// An auto scaling action (also marked on the timeline).
    Scaling,
    Info,
}

impl LogKind {
    pub fn label(self) -> &'static str {
        match self {
            LogKind::Fault => "fault",
            LogKind::Heal => "heal",
            LogKind::Failover => "failover",
            LogKind::Throttle => "throttle",
            LogKind::Finding => "finding",
            LogKind::Action => "action",
            LogKind::Scaling => "scaling",
            LogKind::Info => "info",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub at_us: u64,
    pub kind: LogKind,
    pub text: String,
}

/// Everything the dashboard draws.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardState {
    pub scenario: String,
    pub seed: u64,
    pub now_us: u64,
    pub total_us: u64,
    pub speed: Speed,
    /// Simulated seconds per real second, as measured.
    pub measured_x: Option<f64>,
    pub run: RunState,
    pub active_faults: Vec<String>,
    pub regions: Vec<RegionRow>,
    /// The region interactive faults act on, and its peer for link cuts.
    pub selected: usize,
    pub peer: usize,
    pub latency: Vec<LatencyRow>,
    pub latency_window_s: u64,
    pub latency_series: Vec<LatencySeries>,
    /// `lag[from][to]`, indexed like `regions`.
    pub lag: Vec<Vec<Lag>>,
    pub streams: Vec<Stream>,
    pub lww_overwrites: u64,
    /// GT-09: remote writes applied before an earlier write of their origin.
    pub applied_out_of_order: u64,
    pub consumers: Vec<ConsumerRow>,
    /// Provisioned tables only (on-demand capacity has nothing to plot against).
    pub capacity: Vec<CapacityRow>,
    pub assertions: Vec<AssertionRow>,
    /// Items on which every replica agrees, out of all items.
    pub agreement: Option<(u64, u64)>,
    pub phases: Vec<Window>,
    pub faults: Vec<Window>,
    /// When auto scaling changed a table's capacity (marked on the timeline).
    pub scaling_us: Vec<u64>,
    /// Newest last.
    pub events: Vec<LogLine>,
    pub focus: Panel,
    pub expanded: bool,
    pub help: bool,
    /// The checker's verdict once the run has finished.
    pub verdict: Option<String>,
}

impl DashboardState {
    /// Whether the consumers & capacity panel has anything to show.
    pub fn has_streams_panel(&self) -> bool {
        !self.consumers.is_empty() || !self.capacity.is_empty()
    }

    /// The next panel `Tab` focuses: panels that are not laid out are skipped.
    pub fn next_focus(&self) -> Panel {
        let next = self.focus.next();
        if next == Panel::Streams && !self.has_streams_panel() {
            next.next()
        } else {
            next
        }
    }
}

impl DashboardState {
    /// An empty dashboard for a run of `total_us` with these regions.
    pub fn new(scenario: &str, seed: u64, total_us: u64) -> Self {
        DashboardState {
            scenario: scenario.to_string(),
            seed,
            now_us: 0,
            total_us,
            speed: Speed::Max,
            measured_x: None,
            run: RunState::Running,
            active_faults: Vec::new(),
            regions: Vec::new(),
            selected: 0,
            peer: 1,
            latency: Vec::new(),
            latency_window_s: 10,
            latency_series: Vec::new(),
            lag: Vec::new(),
            streams: Vec::new(),
            lww_overwrites: 0,
            applied_out_of_order: 0,
            consumers: Vec::new(),
            capacity: Vec::new(),
            assertions: Vec::new(),
            agreement: None,
            phases: Vec::new(),
            faults: Vec::new(),
            scaling_us: Vec::new(),
            events: Vec::new(),
            focus: Panel::Regions,
            expanded: false,
            help: false,
            verdict: None,
        }
    }
}
