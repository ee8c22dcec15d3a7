//! The world: regions hosted on turmoil, clients driven between ticks, faults applied on
//! schedule. This is the only module that knows turmoil.
//!
//! Mapping (architecture guide section 3): one turmoil host per region, named after the
//! region. Replication messages travel between region hosts as turmoil UDP datagrams, so
//! turmoil decides their delay, jitter, loss, partitions and holds; the datagram carries a
//! handle into an in-process mailbox instead of serialized bytes (the simulation is one
//! thread; serialization would only cost time). A region's durable state lives outside its
//! host future, so a crash loses only in-flight work and `bounce` re-attaches the state.
//! Client operations are executed by the driver between ticks at their exact arrival
//! microsecond; their latency comes from the region's latency model (sub-millisecond
//! parts are not rounded to ticks).

use crate::clients::Clients;
use crate::faults::{ActiveFaults, FaultEffect};
use crate::trace::{Event, EventKind, RunOutput, TraceHasher};
use dynasim_core::RegionId;
use dynasim_core::history::{ApplyRecord, KeyRef, OpKind, OpRecord, OpResult, SERVICE_SESSION};
use dynasim_engine::Item;
use dynasim_region::{KnownBug, Outgoing, Region, RegionConfig, TableKey, TableSpec};
use dynasim_replication::{Apply, Message, ReplicatorConfig};
use dynasim_scenario::{CapacityMode, KeyType, Scenario};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

const REPLICATION_PORT: u16 = 7000;

/// How to run a scenario.
#[derive(Clone, Default)]
pub struct RunOptions {
    pub seed: u64,
    /// Deliberately broken replication or region behaviour (known-bad tests).
    pub bug: Option<KnownBug>,
    /// Stop early at this simulated time (tests and `--until`).
    pub until_us: Option<u64>,
    /// Called about every simulated second with (simulated now, simulated total), for a
    /// progress display. It observes only; nothing it does can reach the run.
    pub progress: Option<Rc<dyn Fn(u64, u64)>>,
    /// Interactive actions to re-inject at their simulated times (`dynasim replay`,
    /// `--action`), e.g. `{ at_us: 25_000_000, action: "cut us-east-1 eu-west-1" }`.
    pub actions: Vec<crate::live::ScheduledAction>,
    /// The live dashboard's link: snapshots out, pause/speed/actions in.
    pub live: Option<crate::live::LiveLink>,
    /// Stream the history (ops and applies) to files in this directory instead of keeping
    /// it in memory: the returned `RunOutput` then has empty `history` and `applies`, and
    /// [`crate::SpilledHistory::open`] reads them back. Not with `live`.
    pub history: Option<crate::HistorySpill>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("seed", &self.seed)
            .field("bug", &self.bug)
            .field("until_us", &self.until_us)
            .field("progress", &self.progress.is_some())
            .field("actions", &self.actions)
            .field("live", &self.live.is_some())
            .field("history", &self.history)
            .finish()
    }
}

/// A replication message as a region's host sends and receives it.
pub(crate) type Mail = Message<TableKey, Arc<Item>>;

/// The messages one datagram carries: (receiver's table, message), in order.
pub(crate) type Letters = Vec<(usize, Mail)>;

/// One datagram's mail: (sender, its messages, sent at).
pub(crate) type Parcel = (RegionId, Letters, u64);

/// The acks one region owes its peers, by (peer, the region's local table).
pub(crate) type AcksOwed = BTreeMap<(RegionId, usize), Mail>;

/// State shared by the driver and the region hosts (single-threaded).
pub(crate) struct Shared {
    pub regions: Vec<Region>,
    pub region_rngs: Vec<ChaCha8Rng>,
    pub region_names: Vec<String>,
    pub region_addrs: Vec<String>,
    /// `[region][scenario table]` -> the region's local table index.
    pub local_table: Vec<Vec<Option<usize>>>,
    /// `[region][local table]` -> scenario table index.
    pub global_table: Vec<Vec<usize>>,
    /// `[scenario table]` -> whether it is an MRSC table.
    pub mrsc_tables: Vec<bool>,
    /// Mail id -> what one datagram carries.
    pub mailbox: BTreeMap<u64, Parcel>,
    /// `[region]` -> the acks it owes. A region acks a batch at its next replication
    /// poll, in the same datagram as its own batches to that peer, rather than in a
    /// datagram of its own at once: acks are cumulative (a vector clock and a log
    /// head), so the latest replaces the ones before it, and the ack waits at most one
    /// batch interval, which the resend timeout allows for (`build_shared`). Lost with
    /// the region's host when it crashes (in-flight work).
    pub acks_owed: Vec<AcksOwed>,
    /// Mail older than this was lost in the network (a datagram dropped by a partition
    /// or loss never arrives): it is discarded so lost mail cannot pile up.
    pub mail_ttl_us: u64,
    pub next_mail: u64,
    pub now_us: u64,
    pub batch_interval_us: u64,
    pub output: RunOutput,
    pub hasher: TraceHasher,
    /// Ops recorded but not yet complete in simulated time: they enter
    /// `output.history` in history order as the run passes their completion.
    pub completions: crate::completions::Completions,
    /// Service writes (TTL deletes) recorded so far.
    pub service_ops: u64,
    /// `[scenario table]` -> its name.
    pub table_names: Vec<String>,
    /// `[region][local table]` -> consumed (read, write) units at the last sample.
    pub capacity_totals: Vec<Vec<(f64, f64)>>,
    /// `(region, local table, index)` -> consumed units at the last sample.
    pub gsi_capacity_totals: BTreeMap<(usize, usize, usize), (f64, f64)>,
}

impl Shared {
    /// Move the ops completing before `before_us` into the history, in history order.
    pub(crate) fn release_completed_before(&mut self, before_us: u64) {
        self.completions
            .release_before(before_us, &mut self.output.history);
    }

    /// Move every held op into the history (no more ops will be served).
    pub(crate) fn release_all_completed(&mut self) {
        self.completions.release_all(&mut self.output.history);
        debug_assert!(
            self.completions.released_in_order(),
            "every op completes at or after the start of the window that served it"
        );
    }

    pub(crate) fn record_apply(
        &mut self,
        region: usize,
        table: usize,
        apply: &Apply<TableKey, Arc<Item>>,
    ) {
        let now_us = self.now_us;
        let (key, stamp, written_at_us, lost_to, overwrote) = match apply {
            Apply::Applied {
                key,
                stamp,
                replaced,
                concurrent,
                written_at_us,
                ..
            } => (
                key,
                *stamp,
                *written_at_us,
                None,
                if *concurrent { *replaced } else { None },
            ),
            Apply::Discarded {
                key,
                stamp,
                winner,
                written_at_us,
            } => (key, *stamp, *written_at_us, Some(*winner), None),
        };
        let local = self.local_table[region][table].expect("applies happen at member regions");
        let Some(workload_key) = self.regions[region].workload_key_of(local, key) else {
            return;
        };
        let record = ApplyRecord {
            at_us: now_us,
            region: RegionId(region as u16),
            key: KeyRef {
                table: table as u16,
                key: workload_key,
            },
            stamp,
            written_at_us,
            lost_to,
            overwrote_concurrent: overwrote,
        };
        if let Some(loser) = overwrote {
            let event = Event::new(
                now_us,
                EventKind::LwwOverwrite,
                format!(
                    "{}: {}/{} write {} replaced concurrent write {}",
                    self.region_names[region], table, workload_key, stamp, loser
                ),
            );
            self.hasher.event(&event);
            self.output.events.push(event);
        }
        self.hasher.apply(&record);
        self.output.applies.push(record);
    }
}

/// Build the per-region table specs from the scenario.
pub(crate) fn region_tables(
    scenario: &Scenario,
    region: RegionId,
) -> (Vec<TableSpec>, Vec<Option<usize>>, Vec<usize>) {
    let mut specs = Vec::new();
    let mut local = vec![None; scenario.tables.len()];
    let mut global = Vec::new();
    for (i, t) in scenario.tables.iter().enumerate() {
        // An MRSC witness stores the change data and takes part in the quorum (GT-21);
        // it is modelled as a member that no client addresses.
        let members: Vec<RegionId> = t.replicas.iter().copied().chain(t.witness).collect();
        if !members.contains(&region) {
            continue;
        }
        local[i] = Some(specs.len());
        global.push(i);
        let key_type = |k: KeyType| match k {
            KeyType::S => dynasim_region::KeyTypeSpec::S,
            KeyType::N => dynasim_region::KeyTypeSpec::N,
            KeyType::B => dynasim_region::KeyTypeSpec::B,
        };
        specs.push(TableSpec {
            name: t.name.clone(),
            partition_key: t.partition_key.name.clone(),
            partition_key_type: key_type(t.partition_key.ty),
            sort_key: t
                .sort_key
                .as_ref()
                .map(|s| (s.name.clone(), key_type(s.ty))),
            peers: members.iter().copied().filter(|r| *r != region).collect(),
            capacity: dynasim_region::CapacitySpec {
                on_demand: t.capacity.mode == CapacityMode::OnDemand,
                read_units: t.capacity.read_units.unwrap_or(0) as f64,
                write_units: t.capacity.write_units.unwrap_or(0) as f64,
                read_auto_scaling: t.capacity.auto_scaling.map(|a| scaling_spec(&a, false)),
                write_auto_scaling: t.capacity.auto_scaling.map(|a| scaling_spec(&a, true)),
            },
            mrsc: t.consistency == dynasim_scenario::Consistency::Mrsc,
            stream_view: t.stream.map(|v| {
                match v {
                    dynasim_scenario::StreamView::KeysOnly => "KEYS_ONLY",
                    dynasim_scenario::StreamView::NewImage => "NEW_IMAGE",
                    dynasim_scenario::StreamView::OldImage => "OLD_IMAGE",
                    dynasim_scenario::StreamView::NewAndOldImages => "NEW_AND_OLD_IMAGES",
                }
                .to_string()
            }),
            origin_attribute: scenario.consumers.iter().any(|c| c.table == i),
            split_for_heat: t.split_for_heat,
            ttl: t
                .ttl_attribute
                .as_ref()
                .map(|attribute| dynasim_region::TtlSpec {
                    attribute: attribute.clone(),
                    delete_delay_us: t.ttl_delete_delay_us,
                    delete_jitter_us: t.ttl_delete_jitter_us,
                }),
            dax: t.dax.map(|d| dynasim_region::DaxSpec {
                item_ttl_us: d.item_ttl_us,
                query_ttl_us: d.query_ttl_us,
                size_bytes: d.size_bytes,
            }),
            gsis: t
                .gsis
                .iter()
                .map(|g| dynasim_region::gsi::GsiSpec {
                    name: g.name.clone(),
                    partition_key: (g.partition_key.name.clone(), key_type(g.partition_key.ty)),
                    sort_key: g
                        .sort_key
                        .as_ref()
                        .map(|k| (k.name.clone(), key_type(k.ty))),
                    keys_only: g.keys_only,
                    read_units: g.read_units.unwrap_or(0) as f64,
                    write_units: g.write_units.unwrap_or(0) as f64,
                    read_auto_scaling: g.auto_scaling.map(|a| scaling_spec(&a, false)),
                    write_auto_scaling: g.auto_scaling.map(|a| scaling_spec(&a, true)),
                    partition_values: g.partition_values,
                    propagation_mean_us: g.propagation_mean_us,
                })
                .collect(),
        });
    }
    (specs, local, global)
}

fn scaling_spec(
    a: &dynasim_scenario::AutoScaling,
    write: bool,
) -> dynasim_region::autoscale::AutoScalingSpec {
    let (min, max) = if write {
        (a.min_write_units, a.max_write_units)
    } else {
        (a.min_read_units, a.max_read_units)
    };
    dynasim_region::autoscale::AutoScalingSpec {
        target_percent: a.target_percent as f64,
        min_units: min as f64,
        max_units: max as f64,
        scale_out_after_us: a.scale_out_after_us,
        scale_in_after_us: a.scale_in_after_us,
    }
}

/// TX-01: the aggregate size of one TransactWriteItems.
const TRANSACTION_BYTES_MAX: u64 = 4 * 1024 * 1024;

/// What this build can simulate; anything else is refused at load with a clear message.
pub fn check_supported(scenario: &Scenario) -> Result<(), String> {
    // DynamoDB's own naming rules (DM-31), with DynamoDB's message.
    for (i, t) in scenario.tables.iter().enumerate() {
        if let Err(e) = dynasim_engine::validate_table_name(&t.name) {
            return Err(format!("table[{i}].name: {}", e.message));
        }
        if let Some(ttl) = &t.ttl_attribute {
            if let Err(e) = dynasim_engine::validate_attribute_name(ttl) {
                return Err(format!("table[{i}].ttl: {}", e.message));
            }
            let taken = [
                Some(t.partition_key.name.as_str()),
                t.sort_key.as_ref().map(|k| k.name.as_str()),
                Some(dynasim_region::VALUE_ATTRIBUTE),
                Some(dynasim_region::PAD_ATTRIBUTE),
            ];
            if taken.contains(&Some(ttl.as_str())) {
                return Err(format!(
                    "table[{i}].ttl: {ttl:?} is a key attribute or one the workload writes ({:?}, {:?}); name another attribute",
                    dynasim_region::VALUE_ATTRIBUTE,
                    dynasim_region::PAD_ATTRIBUTE
                ));
            }
        }
    }
    for (i, t) in scenario.tables.iter().enumerate() {
        for (g, gsi) in t.gsis.iter().enumerate() {
            check_gsi(scenario, t, gsi).map_err(|e| format!("table[{i}].gsi[{g}].{e}"))?;
        }
    }
    for p in &scenario.phases {
        // TX-01: a transaction carries at most 4 MB; the engine would refuse every one.
        let largest_item_bytes = match p.item_size {
            dynasim_scenario::ItemSize::Fixed { bytes } => bytes,
            dynasim_scenario::ItemSize::Uniform { max_bytes, .. } => max_bytes,
        };
        let txn_bytes = largest_item_bytes.saturating_mul(u64::from(p.transaction_items));
        if p.mix.transaction > 0 && txn_bytes > TRANSACTION_BYTES_MAX {
            return Err(format!(
                "phase {:?}: transaction_items = {} of up to {largest_item_bytes} bytes make {txn_bytes} bytes; a transaction carries at most {TRANSACTION_BYTES_MAX} (TX-01): lower transaction_items or item_size",
                p.name, p.transaction_items
            ));
        }
    }
    Ok(())
}

/// A GSI the engine accepts and the workload can fill: DynamoDB's name rules, key
/// attributes of one type wherever they appear, none the workload uses for its own ends.
fn check_gsi(
    scenario: &Scenario,
    t: &dynasim_scenario::Table,
    gsi: &dynasim_scenario::Gsi,
) -> Result<(), String> {
    if let Err(e) = dynasim_engine::validate_table_name(&gsi.name) {
        return Err(format!("name: {}", e.message.replace("Table", "Index")));
    }
    let mut reserved = vec![dynasim_region::PAD_ATTRIBUTE];
    reserved.extend(t.ttl_attribute.as_deref());
    if scenario
        .consumers
        .iter()
        .any(|c| scenario.tables[c.table].name == t.name)
    {
        reserved.push(dynasim_region::ORIGIN_ATTRIBUTE);
    }
    let known = [Some(&t.partition_key), t.sort_key.as_ref()]
        .into_iter()
        .flatten()
        .map(|k| (k.name.as_str(), k.ty))
        .chain([(dynasim_region::VALUE_ATTRIBUTE, KeyType::N)]);
    let sibling_keys = t
        .gsis
        .iter()
        .flat_map(|o| [Some(&o.partition_key), o.sort_key.as_ref()])
        .flatten()
        .map(|k| (k.name.as_str(), k.ty));
    let known: Vec<(&str, KeyType)> = known.chain(sibling_keys).collect();
    for (field, key) in [
        ("partition_key", Some(&gsi.partition_key)),
        ("sort_key", gsi.sort_key.as_ref()),
    ] {
        let Some(key) = key else { continue };
        if reserved.contains(&key.name.as_str()) {
            return Err(format!(
                "{field}: {:?} is an attribute the workload writes for another purpose ({}); name another attribute",
                key.name,
                reserved.join(", ")
            ));
        }
        if let Some((_, ty)) = known.iter().find(|(n, ty)| *n == key.name && *ty != key.ty) {
            return Err(format!(
                "{field}: {:?} is declared as {:?} here and as {ty:?} elsewhere in the table; an attribute has one type (DM-21)",
                key.name, key.ty
            ));
        }
    }
    Ok(())
}

/// Run a scenario to completion with one seed.
/// The world's state before the first tick: regions with their tables and replicators,
/// seeded RNGs, the empty output. Shared by the turmoil driver and the plain event-loop
/// baseline of `dynasim bench`, so both run exactly the same region and replication code.
pub(crate) fn build_shared(scenario: &Scenario, options: &RunOptions) -> Shared {
    let seed = options.seed;
    let tick_us = scenario.sim.tick_us.max(1_000);

    let mut replication = ReplicatorConfig {
        queue_items_max: scenario.replication.queue_items_max,
        batch_items_max: scenario.replication.batch_items_max,
        window_items_max: scenario.replication.batch_items_max * 20,
        // Resend only after a round trip on the slowest link, the slowest partition
        // stream's hold before the ack, and the receiver's wait for its next poll to
        // send the ack (see `Shared::acks_owed`) have had time to answer.
        resend_after_us: scenario
            .replication
            .retry_backoff
            .initial_us
            .max(tick_us)
            .max(
                slowest_round_trip_us(scenario) * 2
                    + scenario.replication.stream_skew_us
                    + scenario.replication.batch_interval_us.max(tick_us),
            ),
        ack_interval_us: scenario.replication.batch_interval_us.max(tick_us) * 10,
        partition_streams: scenario.replication.partition_streams,
        stream_skew_us_max: scenario.replication.stream_skew_us,
        ..ReplicatorConfig::default()
    };
    let mut region_config = RegionConfig::default();
    match options.bug {
        Some(KnownBug::StrongReadsFromFollower) => region_config.strong_reads_from_follower = true,
        Some(KnownBug::LaggingIndex) => region_config.index_propagation_slowdown = 1_000.0,
        bug => replication.bug = bug,
    }

    let mut shared = Shared {
        regions: Vec::new(),
        region_rngs: Vec::new(),
        region_names: scenario.regions.iter().map(|r| r.name.clone()).collect(),
        region_addrs: scenario
            .regions
            .iter()
            .map(|r| format!("{}:{REPLICATION_PORT}", r.name))
            .collect(),
        local_table: Vec::new(),
        global_table: Vec::new(),
        mrsc_tables: scenario
            .tables
            .iter()
            .map(|t| t.consistency == dynasim_scenario::Consistency::Mrsc)
            .collect(),
        mailbox: BTreeMap::new(),
        acks_owed: vec![AcksOwed::new(); scenario.regions.len()],
        next_mail: 0,
        mail_ttl_us: mail_ttl_us(scenario),
        now_us: 0,
        batch_interval_us: scenario.replication.batch_interval_us.max(tick_us),
        output: crate::trace::new_output(scenario, seed),
        hasher: TraceHasher::default(),
        completions: Default::default(),
        service_ops: 0,
        table_names: scenario.tables.iter().map(|t| t.name.clone()).collect(),
        capacity_totals: Vec::new(),
        gsi_capacity_totals: BTreeMap::new(),
    };
    for region in &scenario.regions {
        let (specs, local, global) = region_tables(scenario, region.id);
        shared.regions.push(Region::new(
            region.id,
            &specs,
            region_config.clone(),
            replication.clone(),
        ));
        shared.region_rngs.push(dynasim_workload::rng_for(
            seed,
            &format!("region/{}", region.id.0),
        ));
        shared.local_table.push(local);
        shared.capacity_totals.push(vec![(0.0, 0.0); global.len()]);
        shared.global_table.push(global);
    }
    // Every member replica ends up holding a version of each key written anywhere: room
    // for them up front spares the version maps their rehashes while they grow.
    for (table, keys) in versions_expected(scenario).into_iter().enumerate() {
        for (region, local) in shared.local_table.iter().enumerate() {
            if let Some(local) = local[table] {
                shared.regions[region].reserve_versions(local, keys);
            }
        }
    }
    shared
}

/// Most versions a replica of each scenario table is reserved room for up front.
const VERSIONS_RESERVED_MAX: usize = 4_000_000;

/// Per scenario table, how many keys its workload is expected to write: its key space
/// (the largest phase's), or fewer when the phases' writes cannot reach that many keys
/// (so a large key space under a light load does not reserve memory it never uses).
fn versions_expected(scenario: &Scenario) -> Vec<usize> {
    let mut key_space = vec![0u64; scenario.tables.len()];
    let mut writes = vec![0.0f64; scenario.tables.len()];
    for phase in &scenario.phases {
        let table = phase.keys.table;
        let mean_per_s = match phase.rate {
            dynasim_scenario::Rate::Constant(r) => r,
            dynasim_scenario::Rate::Ramp { from, to } => (from + to) / 2.0,
        };
        let m = &phase.mix;
        let reads = f64::from(m.get + m.query + m.transact_get + m.index_query);
        // A transaction writes its whole key group.
        let keys_per_transaction = f64::from(phase.transaction_items.max(1));
        let written = f64::from(m.put + m.update + m.delete + m.conditional_put)
            + f64::from(m.transaction) * keys_per_transaction;
        let all = reads
            + f64::from(m.put + m.update + m.delete + m.conditional_put)
            + f64::from(m.transaction);
        if all > 0.0 {
            let ops = mean_per_s * phase.duration_us as f64 / 1e6;
            writes[table] += ops * written / all;
        }
        key_space[table] = key_space[table].max(phase.keys.count);
    }
    key_space
        .into_iter()
        .zip(writes)
        .map(|(keys, writes)| {
            let keys = usize::try_from(keys).unwrap_or(usize::MAX);
            keys.min(writes as usize).min(VERSIONS_RESERVED_MAX)
        })
        .collect()
}

pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunOutput, String> {
    check_supported(scenario)?;
    if options.history.is_some() && options.live.is_some() {
        return Err(
            "the live dashboard reads the history in memory: stream it to disk only in a \
             headless run"
                .to_string(),
        );
    }
    let mut spill = match &options.history {
        Some(h) => Some(crate::spill::SpillWriter::create(h).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut cuts = CutCheck::new(scenario);
    let seed = options.seed;
    let duration_us = options
        .until_us
        .unwrap_or(scenario.sim.duration_us)
        .min(scenario.sim.duration_us);
    let tick_us = scenario.sim.tick_us.max(1_000);
    let epoch =
        std::time::UNIX_EPOCH + Duration::from_micros(scenario.sim.epoch_unix_us.max(0) as u64);
    let mut shared = build_shared(scenario, options);
    if spill.is_none() {
        reserve_history(&mut shared.output, scenario, duration_us);
    }
    let shared = Rc::new(RefCell::new(shared));

    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(epoch)
        .tick_duration(Duration::from_micros(tick_us))
        .simulation_duration(Duration::from_micros(duration_us + 60_000_000))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(2))
        .udp_capacity(1 << 16)
        .build();
    for region in &scenario.regions {
        let index = region.id.0 as usize;
        let shared = shared.clone();
        sim.host(region.name.as_str(), move || {
            region_host(shared.clone(), index)
        });
    }
    configure_links(&mut sim, scenario);

    let mut faults = ActiveFaults::new(scenario);
    let mut clients = Clients::new(scenario, seed);
    let mut consumers = crate::consumers::Consumers::new(scenario, seed, &shared.borrow());
    let mut live = crate::live::Driver::new(scenario, options)?;
    let ttl_sweeps = scenario.tables.iter().any(|t| t.ttl_attribute.is_some());
    let auto_scaling = scenario.tables.iter().any(|t| {
        t.capacity.auto_scaling.is_some() || t.gsis.iter().any(|g| g.auto_scaling.is_some())
    });
    let mut now_us = 0u64;
    while now_us < duration_us {
        let next_us = now_us + tick_us;
        live.between_ticks(&shared, &mut faults, &consumers, now_us);
        for effect in faults.due(now_us) {
            apply_fault_effect(&mut sim, &shared, scenario, &faults, &effect, now_us);
        }
        // What happens at the window's start (TTL deletes, scaling and partition
        // changes, all stamped `now_us`) happens before the window's client ops, which
        // are served at `now_us` or later: a read served after a TTL delete in simulated
        // time sees it.
        if ttl_sweeps && now_us % TTL_SWEEP_INTERVAL_US < tick_us {
            sweep_ttl(&mut shared.borrow_mut(), &faults, now_us);
        }
        if auto_scaling && now_us % crate::capacity::AUTO_SCALE_INTERVAL_US < tick_us {
            crate::capacity::auto_scale(&mut shared.borrow_mut(), &faults, now_us);
        }
        if now_us % crate::capacity::AUTO_SCALE_INTERVAL_US < tick_us {
            crate::capacity::maintain_partitions(&mut shared.borrow_mut(), &faults, now_us);
        }
        clients.run_window(&shared, &faults, now_us, next_us);
        if next_us % crate::capacity::SAMPLE_INTERVAL_US < tick_us {
            crate::capacity::sample(&mut shared.borrow_mut(), next_us);
        }
        if !consumers.is_empty() && now_us % crate::consumers::STEP_US < tick_us {
            let down = |r| faults.region_down(r, now_us);
            consumers.step(&mut shared.borrow_mut(), down, now_us);
        }
        {
            let mut s = shared.borrow_mut();
            s.now_us = next_us;
            // Every op served from now on completes at or after `next_us`, or at the end
            // of the run (ops still waiting for a retry, recorded as unknown then), which
            // a last tick can overshoot.
            s.release_completed_before(next_us.min(duration_us));
        }
        if let Some(progress) = &options.progress
            && next_us % 1_000_000 < tick_us
        {
            progress(next_us, duration_us);
        }
        sim.step()
            .map_err(|e| format!("simulation failed at {}us: {e}", now_us))?;
        spill_if_full(
            &mut spill,
            &mut cuts,
            scenario,
            &mut shared.borrow_mut().output,
        )?;
        now_us = next_us;
    }
    clients.finish(&shared, duration_us);
    shared.borrow_mut().release_all_completed();
    // Drain: no new client traffic; let replication finish so the final states mean
    // something (bounded; a fault lasting to the end can keep it from draining).
    let drain_end_us = duration_us + drain_budget_us(scenario);
    while now_us < drain_end_us
        && !(replication_drained(&shared.borrow()) && consumers.caught_up(&shared.borrow()))
    {
        let next_us = now_us + tick_us;
        live.between_ticks(&shared, &mut faults, &consumers, now_us);
        for effect in faults.due(now_us) {
            apply_fault_effect(&mut sim, &shared, scenario, &faults, &effect, now_us);
        }
        if !consumers.is_empty() && now_us % crate::consumers::STEP_US < tick_us {
            let down = |r| faults.region_down(r, now_us);
            consumers.step(&mut shared.borrow_mut(), down, now_us);
        }
        shared.borrow_mut().now_us = next_us;
        sim.step()
            .map_err(|e| format!("simulation failed while draining at {now_us}us: {e}"))?;
        spill_if_full(
            &mut spill,
            &mut cuts,
            scenario,
            &mut shared.borrow_mut().output,
        )?;
        now_us = next_us;
    }
    live.finish(&shared, &faults, &consumers, now_us);
    drop(sim); // The host factories hold clones of the world.
    let shared = Rc::try_unwrap(shared)
        .map_err(|_| "internal: world still shared after the run".to_string())?;
    let mut shared = shared.into_inner();
    consumers.finish(&mut shared);
    if !shared.completions.released_in_order() {
        // Not reached while every op completes after the window that served it; if one
        // ever did not, its record went out late, and the history is put in order here.
        dynasim_core::history::sort_history(&mut shared.output.history);
    }
    let hasher = shared.hasher.clone();
    crate::trace::finish(
        &mut shared.output,
        &shared.regions,
        &shared.global_table,
        &shared.table_names,
        duration_us,
        hasher,
    );
    cuts.observe(scenario, &shared.output.applies);
    if let Some(spill) = spill {
        spill
            .finish(&mut shared.output)
            .map_err(|e| e.to_string())?;
    }
    // A partition that let replication through would make every verdict meaningless:
    // that is a simulator bug, not a finding about the system under test.
    let leaks = cuts.findings();
    if !leaks.is_empty() {
        return Err(format!(
            "internal: a fault did not take effect (seed {seed}): {}",
            leaks.join("; ")
        ));
    }
    Ok(shared.output)
}

/// Most records reserved up front (about 250 bytes each: the reservation is address
/// space, and only what the run writes is ever touched).
const RESERVED_RECORDS_MAX: usize = 4 << 20;

/// Reserve an in-memory history for the ops and applies the phases will produce, so it
/// is not copied each time it doubles (at 10,000 ops/s that copying and the fresh pages
/// behind it were a tenth of the run). An estimate only: spikes, retries and
/// transactions (a record per item) grow it further as usual.
fn reserve_history(output: &mut RunOutput, scenario: &Scenario, duration_us: u64) {
    let (mut ops, mut applies) = (0.0f64, 0.0f64);
    let peers = scenario.regions.len().saturating_sub(1) as f64;
    for phase in &scenario.phases {
        let start_us = phase.start_us.min(duration_us);
        let end_us = (phase.start_us + phase.duration_us).min(duration_us);
        let mean_per_s = match phase.rate {
            dynasim_scenario::Rate::Constant(r) => r,
            dynasim_scenario::Rate::Ramp { from, to } => (from + to) / 2.0,
        };
        let phase_ops = mean_per_s * (end_us - start_us) as f64 / 1e6;
        let m = &phase.mix;
        let reads = f64::from(m.get + m.query + m.transact_get + m.index_query);
        let all =
            reads + f64::from(m.put + m.update + m.delete + m.conditional_put + m.transaction);
        ops += phase_ops;
        if all > 0.0 {
            applies += phase_ops * (all - reads) / all * peers;
        }
    }
    let cap = |n: f64| (n * 1.05) as usize + 1_024;
    output.history.reserve(cap(ops).min(RESERVED_RECORDS_MAX));
    output
        .applies
        .reserve(cap(applies).min(RESERVED_RECORDS_MAX));
}

/// Move the history buffered so far to the shard files once it holds
/// [`crate::spill::BUFFER_RECORDS`] records (the run streams its history to disk).
fn spill_if_full(
    spill: &mut Option<crate::spill::SpillWriter>,
    cuts: &mut CutCheck,
    scenario: &Scenario,
    output: &mut RunOutput,
) -> Result<(), String> {
    let Some(spill) = spill else { return Ok(()) };
    if output.history.len() + output.applies.len() < crate::spill::BUFFER_RECORDS {
        return Ok(());
    }
    cuts.observe(scenario, &output.applies);
    spill.drain(output).map_err(|e| e.to_string())
}

/// How often each region's TTL sweeper runs (TTL-04: a background process).
const TTL_SWEEP_INTERVAL_US: u64 = 1_000_000;
/// History ids of the service's own writes start here, far above any client op id.
const SERVICE_OP_ID_BASE: u64 = 1 << 48;

/// Run every live region's TTL sweeper by its own clock; each delete is a stamped
/// write that replicates, and goes into the history as a service write.
pub(crate) fn sweep_ttl(s: &mut Shared, faults: &ActiveFaults, now_us: u64) {
    for r in 0..s.regions.len() {
        let region = RegionId(r as u16);
        if faults.region_down(region, now_us) {
            continue;
        }
        let wall_us = crate::clients::wall_clock_us(s, faults, region, now_us);
        let deleted = s.regions[r].sweep_ttl(now_us, wall_us, &mut s.region_rngs[r]);
        for d in deleted {
            let record = OpRecord {
                id: SERVICE_OP_ID_BASE + s.service_ops,
                session: SERVICE_SESSION,
                region,
                key: KeyRef {
                    table: s.global_table[r][d.table] as u16,
                    key: d.key,
                },
                kind: OpKind::TtlDelete,
                strong: false,
                invoke_us: now_us,
                complete_us: now_us,
                region_clock_us: d.written.stamp.hlc_us,
                result: OpResult::Ok,
                written: Some(d.written),
                read: None,
                attempts: 1,
                txn: None,
            };
            s.service_ops += 1;
            s.hasher.op(&record);
            s.completions.hold(record);
        }
    }
}

/// The slowest inter-region round trip, with jitter.
fn slowest_round_trip_us(scenario: &Scenario) -> u64 {
    all_links(scenario)
        .iter()
        .map(|(_, _, l)| 2 * (l.one_way_us + 3 * l.jitter_us))
        .max()
        .unwrap_or(0)
}

/// How long the run may continue after its end for replication to drain: the longest
/// `converged` window without `after` (checked at the end of the run), at least 5 s.
fn drain_budget_us(scenario: &Scenario) -> u64 {
    scenario
        .asserts
        .iter()
        .filter_map(|a| match a {
            dynasim_scenario::Assertion::Converged {
                after: None,
                within_us,
            } => Some(*within_us),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .max(5_000_000)
}

/// Every replicator has every local write acknowledged by every peer.
fn replication_drained(s: &Shared) -> bool {
    s.regions.iter().enumerate().all(|(r, region)| {
        (0..s.global_table[r].len()).all(|t| {
            let replicator = region.replicator(t);
            (0..s.regions.len()).all(|p| replicator.backlog(RegionId(p as u16)) == 0)
        })
    })
}

/// How long a message may stay in flight: the slowest link plus jitter, or the longest
/// `hold` partition (held messages are delivered after the heal), plus a margin.
fn mail_ttl_us(scenario: &Scenario) -> u64 {
    let link_us = all_links(scenario)
        .iter()
        .map(|(_, _, l)| l.one_way_us + 3 * l.jitter_us)
        .max()
        .unwrap_or(0);
    let hold_us = scenario
        .faults
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                dynasim_scenario::FaultKind::Partition {
                    mode: dynasim_scenario::PartitionMode::Hold,
                    ..
                } | dynasim_scenario::FaultKind::OneWayPartition {
                    mode: dynasim_scenario::PartitionMode::Hold,
                    ..
                }
            )
        })
        .map(|f| f.end_us.unwrap_or(scenario.sim.duration_us) - f.start_us)
        .max()
        .unwrap_or(0);
    link_us.max(hold_us) + 5_000_000
}

/// Inter-region links: one-way delay, jitter and loss per pair (defaults from the
/// reference's RTT table, resolved by the scenario crate).
fn configure_links(sim: &mut turmoil::Sim<'_>, scenario: &Scenario) {
    // Every pair: declared links, else the reference's RTT table (scenario defaults).
    for (from, to, spec) in all_links(scenario) {
        let from = scenario.regions[from.0 as usize].name.as_str();
        let to = scenario.regions[to.0 as usize].name.as_str();
        let base = Duration::from_micros(spec.one_way_us.max(1_000));
        sim.set_link_latency(from, to, base);
        sim.set_link_max_message_latency(
            from,
            to,
            base + Duration::from_micros(spec.jitter_us * 3),
        );
        if spec.loss > 0.0 {
            sim.set_link_fail_rate(from, to, spec.loss);
        }
    }
}

/// Every ordered pair of distinct regions with its link (declared or default).
pub(crate) fn all_links(
    scenario: &Scenario,
) -> Vec<(RegionId, RegionId, dynasim_scenario::LinkSpec)> {
    let mut out = Vec::new();
    for a in &scenario.regions {
        for b in &scenario.regions {
            if let Some(spec) = scenario.link(a.id, b.id) {
                out.push((a.id, b.id, spec));
            }
        }
    }
    out
}

fn apply_fault_effect(
    sim: &mut turmoil::Sim<'_>,
    shared: &Rc<RefCell<Shared>>,
    scenario: &Scenario,
    faults: &ActiveFaults,
    effect: &FaultEffect,
    now_us: u64,
) {
    let name = |r: RegionId| scenario.regions[r.0 as usize].name.clone();
    // Regions that refused a capacity change (CP-16).
    let mut refused: Vec<usize> = Vec::new();
    match effect {
        FaultEffect::Cut {
            from,
            to,
            hold,
            one_way,
        } => match (hold, one_way) {
            (true, false) => sim.hold(name(*from).as_str(), name(*to).as_str()),
            (false, false) => sim.partition(name(*from).as_str(), name(*to).as_str()),
            (_, true) => sim.partition_oneway(name(*from).as_str(), name(*to).as_str()),
        },
        FaultEffect::Mend {
            from,
            to,
            hold,
            one_way,
        } => match (hold, one_way) {
            (true, false) => sim.release(name(*from).as_str(), name(*to).as_str()),
            (false, false) => sim.repair(name(*from).as_str(), name(*to).as_str()),
            (_, true) => sim.repair_oneway(name(*from).as_str(), name(*to).as_str()),
        },
        FaultEffect::LinkLatency {
            between,
            extra_us,
            loss,
        } => {
            let (a, b) = (name(between[0]), name(between[1]));
            let base = scenario
                .link(between[0], between[1])
                .map_or(50_000, |l| l.one_way_us);
            sim.set_link_latency(
                a.as_str(),
                b.as_str(),
                Duration::from_micros(base + extra_us),
            );
            sim.set_link_fail_rate(a.as_str(), b.as_str(), *loss);
        }
        FaultEffect::RegionDown { region } => {
            // The host's unsent acks are in-flight work, lost with it.
            shared.borrow_mut().acks_owed[region.0 as usize].clear();
            sim.crash(name(*region).as_str());
        }
        FaultEffect::RegionUp { region } => {
            sim.bounce(name(*region).as_str());
            shared.borrow_mut().regions[region.0 as usize].restart(now_us);
        }
        FaultEffect::Az { region, az, up } => {
            shared.borrow_mut().regions[region.0 as usize].set_az(*az, *up, now_us)
        }
        FaultEffect::Capacity {
            table,
            region,
            on_demand,
            read,
            write,
        } => {
            let mut s = shared.borrow_mut();
            for r in 0..s.regions.len() {
                if region.is_some_and(|x| x.0 as usize != r) {
                    continue;
                }
                if let Some(local) = s.local_table[r][*table]
                    && let Err(e) =
                        s.regions[r].set_capacity(local, *on_demand, *read, *write, now_us)
                {
                    // CP-16: the request is refused as DynamoDB would; the run goes on.
                    refused.push(r);
                    let event = Event::new(
                        now_us,
                        EventKind::Fault,
                        format!(
                            "capacity change of {} refused in {}: {}: {}",
                            s.table_names[*table],
                            s.region_names[r],
                            e.kind.name(),
                            e.message
                        ),
                    );
                    s.hasher.event(&event);
                    s.output.events.push(event);
                }
            }
        }
        FaultEffect::Clock | FaultEffect::Traffic => {}
    }
    let verified = verify_effect(
        sim,
        &shared.borrow(),
        scenario,
        faults,
        effect,
        now_us,
        &refused,
    );
    let mut s = shared.borrow_mut();
    let event = Event::new(
        now_us,
        EventKind::Fault,
        format!("{} ({verified})", effect.describe(scenario)),
    );
    s.hasher.event(&event);
    s.output.events.push(event);
}

/// Read back what a fault changed, so the event log says whether it took effect (a
/// fault that silently did nothing would make a passing run meaningless). Partitions are
/// verified after the run from the applies ([`verify_cuts`]).
fn verify_effect(
    sim: &mut turmoil::Sim<'_>,
    s: &Shared,
    scenario: &Scenario,
    faults: &ActiveFaults,
    effect: &FaultEffect,
    now_us: u64,
    refused: &[usize],
) -> String {
    let name = |r: &RegionId| scenario.regions[r.0 as usize].name.as_str();
    let check = |ok: bool, what: String| {
        if ok {
            format!("verified: {what}")
        } else {
            format!("NOT IN EFFECT: {what}")
        }
    };
    match effect {
        FaultEffect::RegionDown { region } => check(
            !sim.is_host_running(name(region)),
            format!("host {} stopped", name(region)),
        ),
        FaultEffect::RegionUp { region } => check(
            sim.is_host_running(name(region)),
            format!("host {} running", name(region)),
        ),
        FaultEffect::Az { region, az, up } => check(
            s.regions[region.0 as usize].az_up()[*az as usize] == *up,
            format!("az state is {}", if *up { "up" } else { "down" }),
        ),
        FaultEffect::Capacity {
            table,
            region,
            write,
            read,
            ..
        } => {
            let mut ok = true;
            for (r, local) in s
                .local_table
                .iter()
                .enumerate()
                .filter_map(|(r, l)| l[*table].map(|l| (r, l)))
            {
                if region.is_some_and(|x| x.0 as usize != r) || refused.contains(&r) {
                    continue;
                }
                let c = s.regions[r].capacity(local);
                ok &= write.is_none_or(|w| c.write_units == w)
                    && read.is_none_or(|rd| c.read_units == rd);
            }
            check(ok, "capacity read back".into())
        }
        FaultEffect::Clock => {
            let offsets: Vec<String> = scenario
                .regions
                .iter()
                .map(|r| format!("{} {:+}us", r.name, faults.clock_offset_us(r.id, now_us)))
                .collect();
            format!("clock offsets now {}", offsets.join(", "))
        }
        FaultEffect::Cut { .. } | FaultEffect::Mend { .. } => {
            "checked after the run against the applies".into()
        }
        FaultEffect::LinkLatency { .. } | FaultEffect::Traffic => "applied".into(),
    }
}

/// After the run: no replication apply crossed a cut link while the cut was in force
/// (allowing for messages already in flight when it began). The applies are observed as
/// they leave memory (a run that streams its history to disk drops them as it goes).
pub(crate) struct CutCheck {
    cuts: Vec<Cut>,
}

/// One partition fault of the scenario, and the applies seen crossing it.
struct Cut {
    index: usize,
    id: String,
    pairs: Vec<(RegionId, RegionId)>,
    /// Messages dropped (rather than held): an apply during the cut is a leak even for a
    /// write made before it.
    dropping: bool,
    fault_start_us: u64,
    /// After the in-flight allowance.
    start_us: u64,
    end_us: u64,
    crossed: u64,
}

impl CutCheck {
    pub(crate) fn new(scenario: &Scenario) -> CutCheck {
        // A write received before the cut may wait in a partition stream (GT-09) and be
        // applied during it: that is not a leak.
        let in_flight_us = slowest_round_trip_us(scenario) + scenario.replication.stream_skew_us;
        let cuts = scenario
            .faults
            .iter()
            .enumerate()
            .filter_map(|(index, fault)| {
                let (pairs, dropping) = cut_pairs(&fault.kind)?;
                Some(Cut {
                    index,
                    id: fault.id.clone().unwrap_or_default(),
                    pairs,
                    dropping,
                    fault_start_us: fault.start_us,
                    start_us: fault.start_us + in_flight_us,
                    end_us: fault.end_us.unwrap_or(u64::MAX),
                    crossed: 0,
                })
            })
            .collect();
        CutCheck { cuts }
    }

    pub(crate) fn observe(&mut self, scenario: &Scenario, applies: &[ApplyRecord]) {
        // MRSC members also receive a write through a third member (read repair), so only
        // MREC tables, whose origins ship their own logs, are checked.
        let mrec = |a: &&ApplyRecord| {
            scenario.tables[a.key.table as usize].consistency == dynasim_scenario::Consistency::Mrec
        };
        for cut in &mut self.cuts {
            cut.crossed += applies
                .iter()
                .filter(|a| {
                    a.at_us > cut.start_us
                        && a.at_us < cut.end_us
                        && (cut.dropping || a.written_at_us >= cut.fault_start_us)
                })
                .filter(mrec)
                .filter(|a| cut.pairs.contains(&(a.stamp.region, a.region)))
                .count() as u64;
        }
    }

    /// One sentence per cut that replication crossed.
    pub(crate) fn findings(&self) -> Vec<String> {
        self.cuts
            .iter()
            .filter(|c| c.crossed > 0)
            .map(|c| {
                format!(
                    "fault[{}] {:?}: {} replication applies crossed the cut while it was in force",
                    c.index, c.id, c.crossed
                )
            })
            .collect()
    }
}

/// The directed region pairs a partition fault cuts, and whether it drops messages.
fn cut_pairs(kind: &dynasim_scenario::FaultKind) -> Option<(Vec<(RegionId, RegionId)>, bool)> {
    match kind {
        dynasim_scenario::FaultKind::Partition { sides, mode } => {
            let mut pairs = Vec::new();
            for (a, side_a) in sides.iter().enumerate() {
                for (b, side_b) in sides.iter().enumerate() {
                    if a != b {
                        pairs.extend(
                            side_a
                                .iter()
                                .flat_map(|x| side_b.iter().map(move |y| (*x, *y))),
                        );
                    }
                }
            }
            Some((pairs, *mode == dynasim_scenario::PartitionMode::Drop))
        }
        dynasim_scenario::FaultKind::OneWayPartition { from, to, mode } => Some((
            from.iter()
                .flat_map(|x| to.iter().map(move |y| (*x, *y)))
                .collect(),
            *mode == dynasim_scenario::PartitionMode::Drop,
        )),
        _ => None,
    }
}

/// The body of one region host: receive replication messages, and every batch interval
/// ship what the replicators have queued.
async fn region_host(shared: Rc<RefCell<Shared>>, index: usize) -> turmoil::Result {
    let socket =
        turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), REPLICATION_PORT))
            .await?;
    let interval_us = shared.borrow().batch_interval_us;
    let mut ticker = tokio::time::interval(Duration::from_micros(interval_us));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = [0u8; 8];
    loop {
        tokio::select! {
            biased;
            received = socket.recv_from(&mut buf) => {
                let (len, _from) = received?;
                if len == 8 {
                    receive(&mut shared.borrow_mut(), index, u64::from_le_bytes(buf));
                }
            }
            _ = ticker.tick() => {
                let parcels = {
                    let mut s = shared.borrow_mut();
                    let now = s.now_us;
                    release_held(&mut s, index, now);
                    let outgoing = s.regions[index].poll_replication(now);
                    parcels(&mut s, index, outgoing)
                };
                send_all(&shared, &socket, index, parcels).await?;
            }
        }
    }
}

/// GT-09: apply and record what region `index`'s partition streams release by `now_us`.
pub(crate) fn release_held(s: &mut Shared, index: usize, now_us: u64) {
    let released = s.regions[index].release_replication(now_us, &mut s.region_rngs[index]);
    for (local_table, apply) in &released {
        let table = s.global_table[index][*local_table];
        s.record_apply(index, table, apply);
    }
}

/// Handle the mail of one datagram at region `index`, in the order it was packed; the
/// acks it calls for are owed until the region's next poll (see [`Shared::acks_owed`]).
fn receive(s: &mut Shared, index: usize, mail_id: u64) {
    let Some((from, messages, _sent_us)) = s.mailbox.remove(&mail_id) else {
        return;
    };
    deliver(s, index, from, messages);
}

/// Handle, at region `index` and `s.now_us`, the messages of one datagram from `from`:
/// apply and record what they carry, and owe the acks they call for.
pub(crate) fn deliver(s: &mut Shared, index: usize, from: RegionId, messages: Letters) {
    let now = s.now_us;
    for (local_table, message) in messages {
        let (applies, ack) =
            s.regions[index].on_replication(local_table, message, now, &mut s.region_rngs[index]);
        let table = s.global_table[index][local_table];
        for apply in &applies {
            s.record_apply(index, table, apply);
        }
        if let Some(ack) = ack {
            s.acks_owed[index].insert((from, local_table), ack);
        }
    }
}

/// What region `index` sends at a poll, one parcel per peer: the acks it owes that
/// peer first (as if they had left when their batches arrived), then its messages to
/// it in the order the replicators made them. Each message's table is the receiver's.
pub(crate) fn parcels(
    s: &mut Shared,
    index: usize,
    outgoing: Vec<Outgoing>,
) -> BTreeMap<RegionId, Letters> {
    let mut parcels: BTreeMap<RegionId, Letters> = BTreeMap::new();
    let owed = std::mem::take(&mut s.acks_owed[index]);
    let messages = owed
        .into_iter()
        .map(|((to, table), message)| (to, table, message))
        .chain(outgoing.into_iter().map(|o| (o.to, o.table, o.message)));
    for (to, table, message) in messages {
        let global = s.global_table[index][table];
        let Some(their_table) = s.local_table[to.0 as usize][global] else {
            continue;
        };
        parcels.entry(to).or_default().push((their_table, message));
    }
    parcels
}

/// Send parcels: park each in the mailbox and send its handle as one datagram.
async fn send_all(
    shared: &Rc<RefCell<Shared>>,
    socket: &turmoil::net::UdpSocket,
    index: usize,
    parcels: BTreeMap<RegionId, Letters>,
) -> turmoil::Result {
    for (to, messages) in parcels {
        let (id, addr) = {
            let mut s = shared.borrow_mut();
            let id = s.next_mail;
            s.next_mail += 1;
            let now_us = s.now_us;
            s.mailbox
                .insert(id, (RegionId(index as u16), messages, now_us));
            // Ids grow with time, so the oldest mail is first.
            while s
                .mailbox
                .first_key_value()
                .is_some_and(|(_, m)| m.2 + s.mail_ttl_us < now_us)
            {
                s.mailbox.pop_first();
            }
            (id, s.region_addrs[to.0 as usize].clone())
        };
        socket.send_to(&id.to_le_bytes(), addr.as_str()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_from(origin: u16) -> Mail {
        Message::Batch {
            origin: RegionId(origin),
            entries: Vec::new(),
        }
    }

    fn is_ack(mail: &Mail) -> bool {
        matches!(mail, Message::Ack { .. })
    }

    /// A received batch leaves an ack owed to its sender (not a datagram of its own);
    /// the next poll sends one parcel per peer, the owed ack first, and owes nothing after.
    #[test]
    fn acks_leave_with_the_next_poll_one_parcel_per_peer() {
        let scenario = crate::bench::workload(3, 100, 1, 100);
        let mut s = build_shared(&scenario, &RunOptions::default());
        s.mailbox
            .insert(7, (RegionId(1), vec![(0, batch_from(1))], 0));
        receive(&mut s, 0, 7);
        assert!(s.mailbox.is_empty());
        assert_eq!(s.acks_owed[0].len(), 1);
        assert!(is_ack(&s.acks_owed[0][&(RegionId(1), 0)]));

        let outgoing = [1u16, 2].map(|to| Outgoing {
            to: RegionId(to),
            table: 0,
            message: batch_from(0),
        });
        let parcels = parcels(&mut s, 0, outgoing.into());
        assert!(s.acks_owed[0].is_empty(), "owed acks are sent once");
        assert_eq!(parcels.len(), 2, "one datagram per peer");
        let to_1 = &parcels[&RegionId(1)];
        assert_eq!(to_1.len(), 2);
        assert!(
            is_ack(&to_1[0].1),
            "the ack goes first, as if it had left on receipt"
        );
        assert!(!is_ack(&to_1[1].1));
        assert_eq!(parcels[&RegionId(2)].len(), 1);
        assert!(!is_ack(&parcels[&RegionId(2)][0].1));
    }
}
