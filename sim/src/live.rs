//! Live runs: the dashboard's side of the simulation, and interactive actions.
//!
//! The world's run loop calls [`Driver::between_ticks`] before every tick. The driver
//! injects actions that are due (recorded ones from `RunOptions::actions`, for replay) and,
//! when a [`LiveLink`] is attached, hands the dashboard a metric snapshot at most once per
//! simulated [`SNAPSHOT_INTERVAL_US`] and at most [`SNAPSHOTS_PER_S_MAX`] times per real
//! second, and takes its commands (pause, step, speed, injected faults).
//!
//! Determinism: the snapshot only reads the world. An action from the keyboard takes
//! effect at the start of the tick that picks it up, and is recorded as an
//! `EventKind::Action` event at that simulated microsecond (so it enters the trace hash).
//! `dynasim replay` reads those back from run.json and injects them at the same tick
//! through the same path, so the replay has the same trace hash. Pacing and pausing block
//! this thread in real time; they change when ticks run, never what they do.
//!
//! [`run_live`] runs the simulation on its own thread (the world is `Rc`-based, so it is
//! built and run entirely there) and the dashboard on the calling thread, connected by
//! channels.

use crate::api::{Error, Outcome, run_scenario};
use crate::consumers::Consumers;
use crate::faults::{ActiveFaults, kind_name};
use crate::trace::{Event, EventKind};
use crate::world::{RunOptions, Shared};
use dynasim_core::RegionId;
use dynasim_core::history::OpKind;
use dynasim_scenario::{Assertion, AzRef, Fault, FaultKind, PartitionMode, RegionScope, Scenario};
use dynasim_tui::{
    CapacityRow, Check, Command, FaultAction, Feed, Finished, LagSample, LiveAssertion, LogKind,
    LogLine, OpSample, RegionGauge, Rule, Scope, Setup, Snapshot, Speed, Update, Window,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

/// At most one snapshot per this much simulated time...
pub const SNAPSHOT_INTERVAL_US: u64 = 100_000;
/// ...and at most this many per real second...
pub const SNAPSHOTS_PER_S_MAX: u64 = 30;
/// ...or this many when the run is unthrottled (it then moves too fast to read anyway).
pub const SNAPSHOTS_PER_S_UNTHROTTLED: u64 = 10;
/// The replica agreement scan (every item of every replica) runs at most this often.
const AGREEMENT_EVERY: Duration = Duration::from_millis(250);
/// Width of the dashboard's latency and lag windows, in simulated seconds.
const WINDOW_S: u64 = 10;

/// An interactive action to inject at a simulated time, as run.json records it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScheduledAction {
    pub at_us: u64,
    /// The action's text, e.g. `cut us-east-1 eu-west-1` (see [`Action::parse`]).
    pub action: String,
}

impl ScheduledAction {
    /// Parse `<time> <action>` as `--action` takes it, e.g. `25s cut us-east-1 eu-west-1`.
    pub fn parse_arg(text: &str) -> Result<ScheduledAction, String> {
        let (at, action) = text.trim().split_once(' ').ok_or_else(|| {
            format!("{text:?}: expected `<time> <action>`, e.g. `25s cut us-east-1 eu-west-1`")
        })?;
        let at_us = dynasim_scenario::units::parse_duration_us(at).ok_or_else(|| {
            format!(
                "{text:?}: time {at:?}: {}",
                dynasim_scenario::units::DURATION_EXPECTED
            )
        })?;
        Ok(ScheduledAction {
            at_us,
            action: action.trim().to_string(),
        })
    }
}

/// What a keyboard action does to the world. Its text form names regions and AZs as the
/// scenario does: `cut A B`, `heal A B`, `az-down A AZ`, `az-up A AZ`, `region-down A`,
/// `region-up A`, `spike A xM`, `spike-end A`. `heal`, `az-up`, `region-up` and
/// `spike-end` end the matching fault an earlier action started (scenario faults keep
/// their own timeline).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Cut(RegionId, RegionId),
    Heal(RegionId, RegionId),
    AzDown(RegionId, u8),
    AzUp(RegionId, u8),
    RegionDown(RegionId),
    RegionUp(RegionId),
    Spike(RegionId, f64),
    SpikeEnd(RegionId),
}

impl Action {
    pub fn parse(text: &str, scenario: &Scenario) -> Result<Action, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let region = |name: &str| {
            scenario
                .regions
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.id)
                .ok_or_else(|| format!("action {text:?}: no region {name:?} in the scenario"))
        };
        let az = |r: RegionId, name: &str| {
            scenario.regions[r.0 as usize]
                .azs
                .iter()
                .position(|a| a == name)
                .map(|i| i as u8)
                .ok_or_else(|| format!("action {text:?}: region has no AZ {name:?}"))
        };
        Ok(match words.as_slice() {
            ["cut", a, b] => Action::Cut(region(a)?, region(b)?),
            ["heal", a, b] => Action::Heal(region(a)?, region(b)?),
            ["az-down", r, z] => {
                let r = region(r)?;
                Action::AzDown(r, az(r, z)?)
            }
            ["az-up", r, z] => {
                let r = region(r)?;
                Action::AzUp(r, az(r, z)?)
            }
            ["region-down", r] => Action::RegionDown(region(r)?),
            ["region-up", r] => Action::RegionUp(region(r)?),
            ["spike", r, m] => {
                let m: f64 = m
                    .strip_prefix('x')
                    .and_then(|m| m.parse().ok())
                    .filter(|m: &f64| m.is_finite() && *m > 0.0)
                    .ok_or_else(|| format!("action {text:?}: expected a multiplier like x5"))?;
                Action::Spike(region(r)?, m)
            }
            ["spike-end", r] => Action::SpikeEnd(region(r)?),
            _ => {
                return Err(format!(
                    "action {text:?}: expected cut A B, heal A B, az-down A AZ, az-up A AZ, \
                     region-down A, region-up A, spike A xM or spike-end A"
                ));
            }
        })
    }

    /// The text form (parsed back by [`Action::parse`]).
    pub fn describe(&self, scenario: &Scenario) -> String {
        let n = |r: &RegionId| scenario.regions[r.0 as usize].name.as_str();
        let az = |r: &RegionId, z: &u8| scenario.regions[r.0 as usize].azs[*z as usize].as_str();
        match self {
            Action::Cut(a, b) => format!("cut {} {}", n(a), n(b)),
            Action::Heal(a, b) => format!("heal {} {}", n(a), n(b)),
            Action::AzDown(r, z) => format!("az-down {} {}", n(r), az(r, z)),
            Action::AzUp(r, z) => format!("az-up {} {}", n(r), az(r, z)),
            Action::RegionDown(r) => format!("region-down {}", n(r)),
            Action::RegionUp(r) => format!("region-up {}", n(r)),
            Action::Spike(r, m) => format!("spike {} x{m}", n(r)),
            Action::SpikeEnd(r) => format!("spike-end {}", n(r)),
        }
    }

    fn from_key(action: FaultAction) -> Action {
        let r = RegionId;
        match action {
            FaultAction::Cut { a, b } => Action::Cut(r(a), r(b)),
            FaultAction::Heal { a, b } => Action::Heal(r(a), r(b)),
            FaultAction::AzDown { region, az } => Action::AzDown(r(region), az),
            FaultAction::AzUp { region, az } => Action::AzUp(r(region), az),
            FaultAction::RegionDown { region } => Action::RegionDown(r(region)),
            FaultAction::RegionUp { region } => Action::RegionUp(r(region)),
            FaultAction::Spike { region, multiplier } => Action::Spike(r(region), multiplier),
            FaultAction::SpikeEnd { region } => Action::SpikeEnd(r(region)),
        }
    }

    /// The fault an action starts, or `None` for one that ends an earlier action's fault.
    fn fault(&self, label: String, now_us: u64) -> Option<Fault> {
        let kind = match *self {
            Action::Cut(a, b) => FaultKind::Partition {
                sides: vec![vec![a], vec![b]],
                mode: PartitionMode::Drop,
            },
            Action::AzDown(region, az) => FaultKind::AzOutage {
                az: AzRef { region, az },
            },
            Action::RegionDown(region) => FaultKind::RegionOutage {
                region,
                clients_failover_to: None,
            },
            Action::Spike(region, multiplier) => FaultKind::TrafficSpike {
                region: Some(region),
                multiplier,
                ramp_us: 0,
            },
            Action::Heal(..) | Action::AzUp(..) | Action::RegionUp(..) | Action::SpikeEnd(..) => {
                return None;
            }
        };
        Some(Fault {
            id: Some(label),
            start_us: now_us,
            end_us: None,
            healed_by: None,
            kind,
        })
    }

    /// Whether this action ends the fault `started` started.
    fn ends(&self, started: &Action) -> bool {
        match (self, started) {
            (Action::Heal(a, b), Action::Cut(x, y)) => (a, b) == (x, y) || (a, b) == (y, x),
            (Action::AzUp(r, z), Action::AzDown(s, y)) => (r, z) == (s, y),
            (Action::RegionUp(r), Action::RegionDown(s)) => r == s,
            (Action::SpikeEnd(r), Action::Spike(s, _)) => r == s,
            _ => false,
        }
    }
}

/// Called by the world's run loop: injects due actions, serves the dashboard if attached.
pub(crate) struct Driver<'a> {
    scenario: &'a Scenario,
    scheduled: Vec<(u64, Action)>,
    next: usize,
    link: Option<LiveLink>,
    /// Actions that started a fault still in force, with the fault's index.
    in_force: Vec<(Action, usize)>,
}

impl<'a> Driver<'a> {
    pub(crate) fn new(scenario: &'a Scenario, options: &RunOptions) -> Result<Self, String> {
        let mut scheduled = options
            .actions
            .iter()
            .map(|a| Ok((a.at_us, Action::parse(&a.action, scenario)?)))
            .collect::<Result<Vec<_>, String>>()?;
        // Stable: actions at one time keep their recorded order.
        scheduled.sort_by_key(|(at, _)| *at);
        Ok(Driver {
            scenario,
            scheduled,
            next: 0,
            link: options.live.clone(),
            in_force: Vec::new(),
        })
    }

    pub(crate) fn between_ticks(
        &mut self,
        shared: &Rc<RefCell<Shared>>,
        faults: &mut ActiveFaults,
        consumers: &Consumers,
        now_us: u64,
    ) {
        if self.link.is_none() && self.next == self.scheduled.len() {
            return;
        }
        let mut due = Vec::new();
        while self.next < self.scheduled.len() && self.scheduled[self.next].0 <= now_us {
            due.push(self.scheduled[self.next].1.clone());
            self.next += 1;
        }
        if let Some(link) = &self.link {
            let keyed = link.0.borrow_mut().between_ticks(
                self.scenario,
                &shared.borrow(),
                faults,
                consumers,
                now_us,
            );
            due.extend(keyed.into_iter().map(Action::from_key));
        }
        for action in due {
            self.perform(shared, faults, action, now_us);
        }
    }

    /// After the last tick: the dashboard's final snapshot.
    pub(crate) fn finish(
        &mut self,
        shared: &Rc<RefCell<Shared>>,
        faults: &ActiveFaults,
        consumers: &Consumers,
        now_us: u64,
    ) {
        if let Some(link) = &self.link {
            let mut link = link.0.borrow_mut();
            if !link.quitting {
                let view = View {
                    scenario: self.scenario,
                    s: &shared.borrow(),
                    faults,
                    consumers,
                };
                link.send_snapshot(&view, now_us);
            }
        }
    }

    fn perform(
        &mut self,
        shared: &Rc<RefCell<Shared>>,
        faults: &mut ActiveFaults,
        action: Action,
        now_us: u64,
    ) {
        let text = action.describe(self.scenario);
        {
            let mut s = shared.borrow_mut();
            let event = Event::new(now_us, EventKind::Action, text.clone());
            s.hasher.event(&event);
            s.output.events.push(event);
        }
        if let Some(fault) = action.fault(text, now_us) {
            let index = faults.inject(self.scenario, fault, now_us);
            self.in_force.push((action, index));
        } else if let Some(i) = self.in_force.iter().rposition(|(a, _)| action.ends(a)) {
            let (_, index) = self.in_force.remove(i);
            faults.end(self.scenario, index, now_us);
        }
    }
}

/// The simulation thread's end of the dashboard connection (cheap to clone).
#[derive(Clone)]
pub struct LiveLink(Rc<RefCell<Link>>);

impl LiveLink {
    pub fn new(updates: Sender<Update>, commands: Receiver<Command>, speed: Speed) -> Self {
        let now = Instant::now(); // real time: snapshot rate limiting and pacing only
        LiveLink(Rc::new(RefCell::new(Link {
            updates,
            commands,
            speed,
            paused: false,
            quitting: false,
            step_until_us: None,
            anchor: (now, 0),
            started: now,
            last_snapshot: None,
            next_snapshot_us: 0,
            last_agreement: None,
            cursors: (0, 0, 0, 0),
        })))
    }
}

struct Link {
    updates: Sender<Update>,
    commands: Receiver<Command>,
    speed: Speed,
    paused: bool,
    /// `q` (or the dashboard went away): no more snapshots, pacing or pauses.
    quitting: bool,
    step_until_us: Option<u64>,
    /// Pacing reference: (real instant, simulated time then).
    anchor: (Instant, u64),
    started: Instant,
    last_snapshot: Option<Instant>,
    next_snapshot_us: u64,
    last_agreement: Option<Instant>,
    /// How much of (history, applies, events) earlier snapshots have carried.
    cursors: (usize, usize, usize, usize),
}

impl Link {
    fn between_ticks(
        &mut self,
        scenario: &Scenario,
        s: &Shared,
        faults: &ActiveFaults,
        consumers: &Consumers,
        now_us: u64,
    ) -> Vec<FaultAction> {
        let view = View {
            scenario,
            s,
            faults,
            consumers,
        };
        if self.quitting {
            return Vec::new();
        }
        let mut actions = Vec::new();
        self.take_commands(&mut actions, now_us);
        if self.step_until_us.is_some_and(|until| now_us >= until) {
            self.step_until_us = None;
            self.paused = true;
        }
        if now_us >= self.next_snapshot_us || self.paused {
            // real time: at most SNAPSHOTS_PER_S_MAX per second; unthrottled runs send
            // fewer (the deltas lose nothing) so the dashboard takes less CPU from the run.
            let per_s = match self.speed {
                Speed::Max => SNAPSHOTS_PER_S_UNTHROTTLED,
                Speed::Times(_) => SNAPSHOTS_PER_S_MAX,
            };
            let gap = Duration::from_millis(1000 / per_s);
            if self.paused || self.last_snapshot.is_none_or(|t| t.elapsed() >= gap) {
                self.send_snapshot(&view, now_us);
            }
        }
        // Paused: block until a command moves the run (an injected action takes effect
        // at once, at this tick; the run stays paused afterwards).
        while self.paused && !self.quitting && actions.is_empty() {
            match self.commands.recv() {
                Ok(command) => self.command(command, &mut actions, now_us),
                Err(_) => self.quit(),
            }
            self.send_snapshot(&view, now_us);
        }
        self.pace(now_us);
        actions
    }

    fn take_commands(&mut self, actions: &mut Vec<FaultAction>, now_us: u64) {
        loop {
            match self.commands.try_recv() {
                Ok(command) => self.command(command, actions, now_us),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.quit();
                    break;
                }
            }
        }
    }

    fn command(&mut self, command: Command, actions: &mut Vec<FaultAction>, now_us: u64) {
        match command {
            Command::Quit => self.quit(),
            Command::Pause(paused) => {
                self.paused = paused;
                self.anchor = (Instant::now(), now_us); // real time: pacing restarts
            }
            Command::Step(us) => {
                self.paused = false;
                self.step_until_us = Some(now_us + us);
                self.anchor = (Instant::now(), now_us); // real time: pacing restarts
            }
            Command::Speed(speed) => {
                self.speed = speed;
                self.anchor = (Instant::now(), now_us); // real time: pacing restarts
            }
            Command::Inject(action) => actions.push(action),
        }
    }

    fn quit(&mut self) {
        self.quitting = true;
        self.paused = false;
        self.speed = Speed::Max;
    }

    /// Sleep until real time catches up with `now_us` at the chosen speed.
    fn pace(&mut self, now_us: u64) {
        let Speed::Times(x) = self.speed else {
            return;
        };
        let (real, sim_us) = self.anchor;
        let due = Duration::from_secs_f64(now_us.saturating_sub(sim_us) as f64 / 1e6 / x);
        // real time: pacing only.
        let ahead = due.saturating_sub(real.elapsed());
        if ahead >= Duration::from_millis(2) {
            std::thread::sleep(ahead);
        }
    }

    fn send_snapshot(&mut self, view: &View<'_>, now_us: u64) {
        let s = view.s;
        let wall = Instant::now(); // real time: display and rate limiting only
        self.last_snapshot = Some(wall);
        self.next_snapshot_us = now_us + SNAPSHOT_INTERVAL_US;
        let agreement = self
            .last_agreement
            .is_none_or(|t| t.elapsed() >= AGREEMENT_EVERY || self.paused)
            .then(|| {
                self.last_agreement = Some(wall);
                agreement(s)
            });
        let snapshot = snapshot(view, now_us, &mut self.cursors);
        let snapshot = Snapshot {
            real_s: self.started.elapsed().as_secs_f64(),
            paused: self.paused,
            agreement,
            ..snapshot
        };
        if self
            .updates
            .send(Update::Snapshot(Box::new(snapshot)))
            .is_err()
        {
            self.quit();
        }
    }
}

/// What a snapshot reads: the world and the run loop's fault and consumer state.
struct View<'a> {
    scenario: &'a Scenario,
    s: &'a Shared,
    faults: &'a ActiveFaults,
    consumers: &'a Consumers,
}

/// Read the world into a snapshot: what happened since `cursors`, and the gauges.
fn snapshot(view: &View<'_>, now_us: u64, cursors: &mut (usize, usize, usize, usize)) -> Snapshot {
    let (s, faults) = (view.s, view.faults);
    let ops = s.output.history[cursors.0..]
        .iter()
        .filter(|op| op.is_client()) // TTL deletes are the service's, not client latency
        .map(|op| OpSample {
            region: op.region.0,
            op: OpKind::ALL.iter().position(|k| *k == op.kind).unwrap_or(0) as u8,
            complete_us: op.complete_us,
            latency_us: op.latency_us(),
        })
        .collect();
    let lags = s.output.applies[cursors.1..]
        .iter()
        .filter(|a| a.lost_to.is_none())
        .map(|a| LagSample {
            from: a.stamp.region.0,
            to: a.region.0,
            at_us: a.at_us,
            lag_us: a.at_us.saturating_sub(a.written_at_us),
        })
        .collect();
    let events = s.output.events[cursors.2..]
        .iter()
        .filter_map(|e| {
            let kind = match e.kind {
                EventKind::LwwOverwrite => return None,
                EventKind::Fault if e.detail.starts_with("heal") || e.detail.contains(" up ") => {
                    LogKind::Heal
                }
                EventKind::Fault => LogKind::Fault,
                EventKind::LeaderElection => LogKind::Failover,
                EventKind::Finding => LogKind::Finding,
                EventKind::Action => LogKind::Action,
                EventKind::AutoScaling | EventKind::PartitionSplit => LogKind::Scaling,
                EventKind::Notify => LogKind::Info,
            };
            Some(LogLine {
                at_us: e.at_us,
                kind,
                text: e.detail.clone(),
            })
        })
        .collect();
    let new_samples = &s.output.capacity[cursors.3..];
    // The samples of one instant come together: the latest per provisioned replica.
    let capacity = new_samples.last().map(|last| {
        new_samples
            .iter()
            .filter(|c| c.at_us == last.at_us && !c.on_demand)
            .map(|c| CapacityRow {
                table: s.table_names[c.table].clone(),
                region: s.region_names[c.region.0 as usize].clone(),
                on_demand: c.on_demand,
                provisioned_read_units: c.provisioned_read_units,
                provisioned_write_units: c.provisioned_write_units,
                consumed_read_per_s: c.consumed_read_per_s,
                consumed_write_per_s: c.consumed_write_per_s,
            })
            .collect()
    });
    *cursors = (
        s.output.history.len(),
        s.output.applies.len(),
        s.output.events.len(),
        s.output.capacity.len(),
    );
    let n = s.regions.len();
    let mut backlog = vec![vec![0u64; n]; n];
    let mut lww_overwrites = 0;
    let mut applied_out_of_order = 0;
    let regions = (0..n)
        .map(|r| {
            let id = RegionId(r as u16);
            for local in 0..s.global_table[r].len() {
                let replicator = s.regions[r].replicator(local);
                let counters = replicator.counters();
                lww_overwrites += counters.lww_overwrites;
                applied_out_of_order += counters.applied_out_of_order;
                for (p, cell) in backlog[r].iter_mut().enumerate() {
                    if p != r {
                        *cell += replicator.backlog(RegionId(p as u16));
                    }
                }
            }
            let c = s.regions[r].counters();
            RegionGauge {
                down: faults.region_down(id, now_us),
                az_up: s.regions[r].az_up().to_vec(),
                cut_off_from: (0..n as u16)
                    .filter(|p| faults.partitioned(RegionId(*p), id, now_us))
                    .collect(),
                clock_offset_us: faults.clock_offset_us(id, now_us),
                ops: c.ops_ok + c.ops_failed,
                throttles: c.throttles,
                dax_hits: c.dax_hits,
                dax_misses: c.dax_misses,
                leader_elections: c.leader_elections,
            }
        })
        .collect();
    Snapshot {
        now_us,
        ops,
        lags,
        regions,
        backlog,
        lww_overwrites,
        applied_out_of_order,
        active_faults: faults.active_labels(now_us),
        events,
        consumers: view.consumers.gauges(view.scenario, s, now_us),
        capacity,
        ..Snapshot::default()
    }
}

/// Items on which every member replica holds the same version, out of all items.
fn agreement(s: &Shared) -> (u64, u64) {
    let tables = s.local_table.first().map_or(0, Vec::len);
    let (mut agree, mut items) = (0u64, 0u64);
    for table in 0..tables {
        let members: Vec<(usize, usize)> = (0..s.regions.len())
            .filter_map(|r| s.local_table[r][table].map(|local| (r, local)))
            .collect();
        let mut seen: BTreeMap<&dynasim_region::TableKey, (dynasim_core::Stamp, usize, bool)> =
            BTreeMap::new();
        for (r, local) in &members {
            for (key, version) in s.regions[*r].replicator(*local).versions_unordered() {
                seen.entry(key)
                    .and_modify(|(stamp, count, same)| {
                        *count += 1;
                        *same &= *stamp == version.stamp;
                    })
                    .or_insert((version.stamp, 1, true));
            }
        }
        items += seen.len() as u64;
        agree += seen
            .values()
            .filter(|(_, count, same)| *count == members.len() && *same)
            .count() as u64;
    }
    (agree, items)
}

/// What the dashboard needs to know before the first snapshot.
pub fn setup(scenario: &Scenario, seed: u64, speed: Speed) -> Setup {
    let window = |label: String, start_us: u64, end_us: Option<u64>| Window {
        label,
        start_us,
        end_us,
    };
    Setup {
        scenario: scenario.meta.name.clone(),
        seed,
        total_us: scenario.sim.duration_us,
        regions: scenario
            .regions
            .iter()
            .map(|r| (r.name.clone(), r.azs.to_vec()))
            .collect(),
        ops: OpKind::ALL.iter().map(|k| k.name().to_string()).collect(),
        phases: scenario
            .phases
            .iter()
            .map(|p| window(p.name.clone(), p.start_us, Some(p.start_us + p.duration_us)))
            .collect(),
        faults: scenario
            .faults
            .iter()
            .filter(|f| f.end_us != Some(f.start_us))
            .map(|f| {
                let label = f.id.clone().unwrap_or_else(|| kind_name(&f.kind).into());
                window(label, f.start_us, f.end_us)
            })
            .collect(),
        assertions: scenario
            .asserts
            .iter()
            .map(|a| live_assertion(scenario, a))
            .collect(),
        window_s: WINDOW_S,
        speed,
    }
}

fn live_assertion(scenario: &Scenario, assertion: &Assertion) -> LiveAssertion {
    let q = |q: f64| {
        let text = format!("{:.1}", q * 100.0);
        format!("p{}", text.trim_end_matches(".0"))
    };
    let ms = |us: u64| dynasim_tui::feed::ms(us);
    let scope = |r: RegionScope| match r {
        RegionScope::All => (Scope::All, "all".to_string()),
        RegionScope::Each => (Scope::Each, "each".to_string()),
        RegionScope::One(r) => (Scope::One(r.0), scenario.regions[r.0 as usize].name.clone()),
    };
    let (name, rule) = match assertion {
        Assertion::Converged { after, within_us } => match after {
            Some(f) => {
                let fault = &scenario.faults[*f];
                let label = fault.id.clone().unwrap_or_else(|| format!("fault {f}"));
                (
                    format!("converged within {} after {label}", ms(*within_us)),
                    Rule::ConvergedAfter {
                        fault_start_us: fault.start_us,
                        heal_us: fault.end_us,
                        within_us: *within_us,
                    },
                )
            }
            None => (
                format!("converged within {} at the end", ms(*within_us)),
                Rule::AtEnd,
            ),
        },
        Assertion::NoLostAckedWrites { .. } => ("no lost acked writes".into(), Rule::AtEnd),
        Assertion::Latency {
            op,
            region,
            quantile,
            max_us,
            window,
        } => {
            let kind = op.kind();
            let (scope, scope_name) = scope(*region);
            (
                format!(
                    "latency {} {} <= {} ({scope_name})",
                    kind.name(),
                    q(*quantile),
                    ms(*max_us)
                ),
                Rule::Latency {
                    op: OpKind::ALL.iter().position(|k| *k == kind).map(|i| i as u8),
                    scope,
                    quantile: *quantile,
                    max_us: *max_us,
                    during: window.during.map(|p| {
                        let p = &scenario.phases[p];
                        (p.start_us, p.start_us + p.duration_us)
                    }),
                    exclude_faults: window.exclude_faults,
                },
            )
        }
        Assertion::ReplicationLag {
            quantile,
            max_us,
            from,
            to,
            window,
        } => (
            format!("replication lag {} <= {}", q(*quantile), ms(*max_us)),
            Rule::Lag {
                from: from.map(|r| r.0),
                to: to.map(|r| r.0),
                quantile: *quantile,
                max_us: *max_us,
                exclude_faults: window.exclude_faults,
            },
        ),
        Assertion::StaleReadRatio { max, .. } => {
            (format!("stale-read ratio <= {max}"), Rule::AtEnd)
        }
        Assertion::ThrottleRatio { max, .. } => (format!("throttle ratio <= {max}"), Rule::AtEnd),
        Assertion::Availability { min, .. } => (format!("availability >= {min}"), Rule::AtEnd),
        Assertion::SkewInversions { max, .. } => (format!("skew inversions <= {max}"), Rule::AtEnd),
        Assertion::LwwLosses { max } => (format!("LWW losses <= {max}"), Rule::AtEnd),
        Assertion::ConsumerExactlyOnce { consumer } => (
            format!(
                "consumer {} exactly once",
                scenario.consumers[*consumer].name
            ),
            Rule::AtEnd,
        ),
        Assertion::IteratorAge {
            consumer,
            quantile,
            max_us,
        } => (
            format!(
                "iterator age {} {} <= {}",
                scenario.consumers[*consumer].name,
                q(*quantile),
                ms(*max_us)
            ),
            Rule::AtEnd,
        ),
        Assertion::ViewConverged { consumer } => (
            format!("view {} converged", scenario.consumers[*consumer].name),
            Rule::AtEnd,
        ),
    };
    LiveAssertion { name, rule }
}

/// The checker's verdicts as the dashboard shows them at the end.
fn finished(outcome: &Outcome) -> Finished {
    let mut worst: BTreeMap<usize, &dynasim_checker::Verdict> = BTreeMap::new();
    let mut findings = Vec::new();
    for v in &outcome.report.verdicts {
        match v.index {
            Some(i) => {
                let slot = worst.entry(i).or_insert(v);
                if v.status > slot.status {
                    *slot = v;
                }
            }
            None if v.status != dynasim_checker::Status::Pass => {
                findings.push(format!("{}: observed {}", v.assertion, v.observed));
            }
            None => {}
        }
    }
    let check = |s: dynasim_checker::Status| match s {
        dynasim_checker::Status::Pass => Check::Passing,
        dynasim_checker::Status::Fail => Check::Failing,
        dynasim_checker::Status::Unknown => Check::Unknown,
    };
    Finished {
        verdicts: worst
            .into_iter()
            .map(|(i, v)| {
                (
                    i,
                    check(v.status),
                    format!("{} (bound {})", v.observed, v.bound),
                )
            })
            .collect(),
        findings,
        verdict: format!("{:?}", outcome.status()).to_uppercase(),
    }
}

/// How a live run ended.
pub enum LiveEnd {
    /// The run finished (after `q`, the rest ran unthrottled).
    Done(Box<Result<Outcome, Error>>),
    /// Ctrl-C: no outcome, no report.
    Aborted,
}

/// Run a scenario with the dashboard: the simulation on its own thread, the dashboard on
/// this one. Returns when the user quits and the run has finished.
pub fn run_live(
    scenario: Scenario,
    scenario_path: &str,
    seed: u64,
    bug: Option<crate::KnownBug>,
    actions: Vec<ScheduledAction>,
    speed: Speed,
) -> std::io::Result<LiveEnd> {
    let (updates_tx, updates_rx) = channel();
    let (commands_tx, commands_rx) = channel();
    let feed = Feed::new(setup(&scenario, seed, speed));
    let path = scenario_path.to_string();
    let simulation = std::thread::Builder::new()
        .name("simulation".into())
        .spawn(move || {
            let link = LiveLink::new(updates_tx.clone(), commands_rx, speed);
            let options = RunOptions {
                seed,
                bug,
                actions,
                live: Some(link),
                ..Default::default()
            };
            let outcome = run_scenario(scenario, &path, &options);
            if let Ok(outcome) = &outcome {
                let _ = updates_tx.send(Update::Finished(finished(outcome)));
            }
            outcome
        })?;
    let (exit, _) = dynasim_tui::terminal::run(feed, updates_rx, commands_tx, speed)?;
    if exit == dynasim_tui::terminal::Exit::Abort {
        return Ok(LiveEnd::Aborted);
    }
    match simulation.join() {
        Ok(outcome) => Ok(LiveEnd::Done(Box::new(outcome))),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
