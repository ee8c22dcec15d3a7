//! All served regions and the operations that span them: request dispatch to a region's
//! engine, global-table control (UpdateTable ReplicaUpdates, DescribeTable Replicas),
//! and the settings kept in sync across replicas (GT-06).

use crate::faults::{Cuts, Throttle};
use crate::region::ServeRegion;
use crate::wal::{Record, Wal, WalEntry};
use dynasim_core::{RegionId, SimTime};
use dynasim_engine::api::*;
use dynasim_engine::{
    BatchGetItemInput, BatchWriteItemInput, DescribeStreamInput, EngineError, ErrorKind,
    GetRecordsInput, GetShardIteratorInput, Item, ListStreamsInput, QueryInput, ScanInput,
    TransactGetItemsInput, TransactWriteItemsInput,
};
use dynasim_replication::ReplicatorConfig;
use serde::Deserialize;
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Real time (serve mode is not simulated): a monotonic base for the engines' `SimTime`
/// and replication timers, and the Unix clock that stamps writes.
pub(crate) struct Clock {
    /// Unix microseconds of the first start (kept across restarts by the WAL).
    epoch_unix_us: u64,
    pub(crate) start_unix_secs: u64,
    last_us: AtomicU64,
}

impl Clock {
    pub(crate) fn new(epoch_unix_us: u64) -> Clock {
        Clock {
            epoch_unix_us,
            start_unix_secs: epoch_unix_us / 1_000_000,
            last_us: AtomicU64::new(0),
        }
    }
    /// real time: the Unix clock in microseconds.
    pub(crate) fn unix_us() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_micros() as u64
    }
    /// real time: microseconds since the epoch, never decreasing (the engines' `SimTime`
    /// and the replicators' timers).
    pub(crate) fn now_us(&self) -> u64 {
        let now = Clock::unix_us().saturating_sub(self.epoch_unix_us);
        self.last_us.fetch_max(now, Ordering::Relaxed).max(now)
    }
    /// real time: the wall clock in Unix microseconds (before a region's skew).
    pub(crate) fn wall_us(&self) -> u64 {
        Clock::unix_us()
    }
    /// real time: `(now_us, wall_us)` from one read of the clock (a request needs both;
    /// each read is a measurable part of a request's cost).
    pub(crate) fn now_and_wall_us(&self) -> (u64, u64) {
        let wall = Clock::unix_us();
        let now = wall.saturating_sub(self.epoch_unix_us);
        (
            self.last_us.fetch_max(now, Ordering::Relaxed).max(now),
            wall,
        )
    }
}

/// One-way delay of a replication link.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LinkDelay {
    pub one_way_us: u64,
    pub jitter_us: u64,
}

/// A table the server creates at start (from a `--config` scenario).
#[derive(Clone, Debug)]
pub struct TableSeed {
    pub input: CreateTableInput,
    pub replicas: Vec<RegionId>,
    pub ttl_attribute: Option<String>,
}

pub(crate) struct World {
    pub(crate) names: Vec<String>,
    pub(crate) regions: Vec<Mutex<ServeRegion>>,
    /// `links[from][to]`.
    pub(crate) links: Vec<Vec<LinkDelay>>,
    pub(crate) cuts: Mutex<Cuts>,
    pub(crate) clock: Clock,
    /// `--data-dir`: the write-ahead log.
    pub(crate) wal: Option<Mutex<Wal>>,
}

/// What a request is, for fault checks and the access policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpClass {
    Read,
    Write,
    Control,
}

fn is_global(op: &str) -> bool {
    matches!(
        op,
        "CreateTable" | "UpdateTable" | "DeleteTable" | "UpdateTimeToLive"
    )
}

pub(crate) fn op_class(op: &str) -> OpClass {
    match op {
        "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems" => {
            OpClass::Write
        }
        "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems" | "GetRecords"
        | "GetShardIterator" => OpClass::Read,
        _ => OpClass::Control,
    }
}

/// Every operation served, DynamoDB's then DynamoDB Streams'.
pub const OPERATIONS: &[&str] = &[
    "CreateTable",
    "DescribeTable",
    "DeleteTable",
    "ListTables",
    "UpdateTable",
    "UpdateTimeToLive",
    "DescribeTimeToLive",
    "PutItem",
    "GetItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
    "ListStreams",
    "DescribeStream",
    "GetShardIterator",
    "GetRecords",
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableNameInput {
    table_name: String,
}

fn lock(m: &Mutex<ServeRegion>) -> MutexGuard<'_, ServeRegion> {
    // A panic inside a request is a bug, but must not take the whole server down.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serialises straight into the response body. The first buffer holds a typical item
/// response, so small responses are written without growing it.
fn encode<O: Serialize>(output: &O) -> Result<Vec<u8>, EngineError> {
    let mut body = Vec::with_capacity(512);
    serde_json::to_writer(&mut body, output).expect("responses always serialize");
    Ok(body)
}

impl World {
    pub(crate) fn new(
        names: Vec<String>,
        links: Vec<Vec<LinkDelay>>,
        replication: ReplicatorConfig,
        seeds: &[TableSeed],
        data_dir: Option<&Path>,
        gsi_propagation_us: u64,
    ) -> anyhow::Result<World> {
        let (wal, replay, epoch) = match data_dir {
            Some(dir) => {
                let (wal, replay, epoch) = Wal::open(dir, &names, Clock::unix_us())?;
                (Some(wal), replay, epoch)
            }
            None => (None, Vec::new(), Clock::unix_us()),
        };
        let clock = Clock::new(epoch);
        let regions = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let id = RegionId(u16::try_from(i).expect("fewer than 65536 regions"));
                Mutex::new(ServeRegion::new(
                    id,
                    n,
                    clock.start_unix_secs,
                    replication.clone(),
                    gsi_propagation_us,
                ))
            })
            .collect();
        let mut world = World {
            names,
            regions,
            links,
            cuts: Mutex::new(Cuts::default()),
            clock,
            wal: None,
        };
        for seed in seeds {
            for r in &seed.replicas {
                let peers: Vec<RegionId> =
                    seed.replicas.iter().copied().filter(|p| p != r).collect();
                let mut region = lock(&world.regions[usize::from(r.0)]);
                region.engine.create_table(seed.input.clone(), SimTime(0))?;
                region.add_replica(&seed.input.table_name, &peers);
                if let Some(attribute) = &seed.ttl_attribute {
                    let spec = UpdateTimeToLiveInput {
                        table_name: seed.input.table_name.clone(),
                        time_to_live_specification: TimeToLiveSpecification {
                            enabled: true,
                            attribute_name: attribute.clone(),
                        },
                    };
                    region.engine.update_time_to_live(spec, SimTime(0))?;
                }
            }
        }
        for record in replay {
            world.replay(record)?;
        }
        world.wal = wal.map(Mutex::new);
        Ok(world)
    }

    /// Re-applies one logged record with its logged times (restart from `--data-dir`).
    fn replay(&self, record: Record) -> anyhow::Result<()> {
        match record {
            Record::Start { .. } => anyhow::bail!("a second start record in the log"),
            Record::Req {
                r,
                op,
                body,
                now,
                wall,
            } => {
                if is_global(&op) {
                    let mut all: Vec<MutexGuard<'_, ServeRegion>> =
                        self.regions.iter().map(lock).collect();
                    self.execute_global_in(&mut all, r, &op, body.as_bytes(), now, SimTime(now))
                } else {
                    self.execute_in(&mut self.region(r), &op, body.as_bytes(), now, wall)
                }
                .map_err(|e| anyhow::anyhow!("replaying {op} in region {r}: {e}"))?;
            }
            Record::Msg {
                to,
                from,
                table,
                entries,
                now,
            } => {
                let mut region = self.region(to);
                let Some(schema) = region.engine.table(&table).map(|t| t.schema().clone()) else {
                    return Ok(());
                };
                let mut batch = Vec::with_capacity(entries.len());
                for e in entries {
                    let encoded = dynasim_engine::ItemKey::from_key(&schema, &e.key)
                        .map_err(|err| anyhow::anyhow!("replaying a replicated key: {err}"))?;
                    batch.push(dynasim_replication::Entry {
                        seq: e.seq,
                        key: dynasim_region::TableKey {
                            encoded,
                            attrs: std::sync::Arc::new(e.key),
                        },
                        image: e.image.map(std::sync::Arc::new),
                        stamp: e.stamp,
                        context: crate::wal::pairs_to_context(&e.context)?,
                        written_at_us: e.written_at_us,
                    });
                }
                let origin = RegionId(from);
                let message = dynasim_replication::Message::Batch {
                    origin,
                    entries: batch,
                };
                region.on_message(&table, origin, message, now);
            }
            Record::Sweep { now, wall } => {
                for r in 0..self.regions.len() {
                    let mut region = self.region(r);
                    let changes = region.engine.sweep_ttl(SimTime(now));
                    region.record_changes(changes, now, wall);
                }
            }
            Record::Skew { r, us } => self.region(r).skew_us = us,
        }
        Ok(())
    }

    /// Logs a record; `sync` for what a client is about to be told succeeded.
    pub(crate) fn log(&self, record: &Record, sync: bool) -> Result<(), EngineError> {
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        wal.lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(record, sync)
            .map_err(|e| {
                // ER-01: the write happened in memory but may not survive a crash.
                EngineError::new(
                    ErrorKind::InternalServerError,
                    format!("Internal server error (write-ahead log: {e})"),
                )
            })
    }

    pub(crate) fn logging(&self) -> bool {
        self.wal.is_some()
    }

    /// Logs a replication batch about to be applied at `to` (under its lock).
    pub(crate) fn log_batch(
        &self,
        to: usize,
        from: RegionId,
        table: &str,
        message: &crate::region::Msg,
        now: u64,
    ) {
        let dynasim_replication::Message::Batch { entries, .. } = message else {
            return;
        };
        let entries = entries
            .iter()
            .map(|e| WalEntry {
                seq: e.seq,
                key: Item::clone(&e.key.attrs),
                image: e.image.as_ref().map(|i| Item::clone(i)),
                stamp: e.stamp,
                context: crate::wal::clock_to_pairs(&e.context.to_clock()),
                written_at_us: e.written_at_us,
            })
            .collect();
        let record = Record::Msg {
            to,
            from: from.0,
            table: table.to_string(),
            entries,
            now,
        };
        // Not synced: a lost replicated write is resent by its origin.
        let _ = self.log(&record, false);
    }

    pub(crate) fn region(&self, i: usize) -> MutexGuard<'_, ServeRegion> {
        lock(&self.regions[i])
    }

    pub(crate) fn region_id(&self, name: &str) -> Option<RegionId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| RegionId(i as u16))
    }

    /// Serves one operation in region `r`. The body is DynamoDB JSON; so is the result.
    pub(crate) fn execute(&self, r: usize, op: &str, body: &[u8]) -> Result<Vec<u8>, EngineError> {
        if is_global(op) {
            return self.execute_global(r, op, body);
        }
        let mut region = self.region(r);
        let (now_us, wall_us) = self.clock.now_and_wall_us();
        region.counters.requests += 1;
        let mut result = self.execute_in(&mut region, op, body, now_us, wall_us);
        if result.is_ok() && op_class(op) == OpClass::Write && self.logging() {
            let record = Record::Req {
                r,
                op: op.to_string(),
                body: String::from_utf8_lossy(body).into_owned(),
                now: now_us,
                wall: wall_us,
            };
            if let Err(e) = self.log(&record, true) {
                result = Err(e);
            }
        }
        if result.is_err() {
            region.counters.errors += 1;
        }
        result
    }

    fn execute_in(
        &self,
        region: &mut ServeRegion,
        op: &str,
        body: &[u8],
        now_us: u64,
        wall_us: u64,
    ) -> Result<Vec<u8>, EngineError> {
        let now = SimTime(now_us);
        let class = op_class(op);
        if class == OpClass::Write {
            region.check_room()?;
            if !region.has_quorum() {
                return Err(no_quorum());
            }
        }
        macro_rules! write_op {
            ($input:ty, $method:ident) => {{
                let input: $input = decode_request(body)?;
                admit(region, &input.table_name, true, now_us)?;
                let outcome = region.engine.$method(input, now)?;
                region.record_change(outcome.change, now_us, wall_us);
                encode(&outcome.output)
            }};
        }
        match op {
            "PutItem" => write_op!(PutItemInput, put_item),
            "UpdateItem" => write_op!(UpdateItemInput, update_item),
            "DeleteItem" => write_op!(DeleteItemInput, delete_item),
            "GetItem" => {
                let input: GetItemInput = decode_request(body)?;
                strong_read_quorum(region, input.consistent_read)?;
                admit(region, &input.table_name, false, now_us)?;
                Ok(crate::json::get_item(&region.engine.get_item(&input, now)?))
            }
            "Query" => {
                let input: QueryInput = decode_request(body)?;
                strong_read_quorum(region, input.consistent_read)?;
                admit(region, &input.table_name, false, now_us)?;
                Ok(crate::json::query(&region.engine.query(&input, now)?))
            }
            "Scan" => {
                let input: ScanInput = decode_request(body)?;
                strong_read_quorum(region, input.consistent_read)?;
                admit(region, &input.table_name, false, now_us)?;
                Ok(crate::json::query(&region.engine.scan(&input, now)?))
            }
            "BatchGetItem" => {
                let input: BatchGetItemInput = decode_request(body)?;
                for t in input.request_items.keys() {
                    admit(region, t, false, now_us)?;
                }
                encode(&region.engine.batch_get_item(&input, now)?)
            }
            "BatchWriteItem" => {
                let input: BatchWriteItemInput = decode_request(body)?;
                for t in input.request_items.keys() {
                    admit(region, t, true, now_us)?;
                }
                let outcome = region.engine.batch_write_item(&input, now)?;
                region.record_changes(outcome.changes, now_us, wall_us);
                encode(&outcome.output)
            }
            "TransactWriteItems" => {
                let input: TransactWriteItemsInput = decode_request(body)?;
                let outcome = region.engine.transact_write_items(&input, now)?;
                region.record_changes(outcome.changes, now_us, wall_us);
                encode(&outcome.output)
            }
            "TransactGetItems" => {
                let input: TransactGetItemsInput = decode_request(body)?;
                encode(&region.engine.transact_get_items(&input, now)?)
            }
            "ListTables" => {
                let input: ListTablesInput = decode_request(body)?;
                encode(&region.engine.list_tables(&input)?)
            }
            "DescribeTable" => {
                let input: TableNameInput = decode_request(body)?;
                let out = region.engine.describe_table(&input.table_name)?;
                let mut value = serde_json::to_value(&out).expect("descriptions serialize");
                self.add_replicas(region, &input.table_name, &mut value["Table"]);
                encode(&value)
            }
            "DescribeTimeToLive" => {
                let input: TableNameInput = decode_request(body)?;
                encode(&region.engine.describe_time_to_live(&input.table_name)?)
            }
            "ListStreams" => {
                let input: ListStreamsInput = decode_request(body)?;
                encode(&region.engine.list_streams(&input)?)
            }
            "DescribeStream" => {
                let input: DescribeStreamInput = decode_request(body)?;
                encode(&region.engine.describe_stream(&input, now)?)
            }
            "GetShardIterator" => {
                let input: GetShardIteratorInput = decode_request(body)?;
                encode(&region.engine.get_shard_iterator(&input, now)?)
            }
            "GetRecords" => {
                let input: GetRecordsInput = decode_request(body)?;
                encode(&region.engine.get_records(&input, now)?)
            }
            _ => Err(unknown_operation()),
        }
    }

    /// `Replicas` (every replica region, this one included; GT-05) with their status, and
    /// `GlobalTableVersion`, for a table that has replicas elsewhere. Replication lag shows
    /// in `ReplicaStatusDescription`.
    fn add_replicas(&self, region: &ServeRegion, table: &str, description: &mut serde_json::Value) {
        let Some(replica) = region.replicas.get(table) else {
            return;
        };
        if replica.peers.is_empty() {
            return;
        }
        let cuts = self.cuts.lock().unwrap_or_else(|e| e.into_inner());
        let mut members: Vec<RegionId> = replica.peers.clone();
        members.push(region.id);
        members.sort();
        let list: Vec<serde_json::Value> = members
            .iter()
            .map(|m| {
                let (status, text) = if *m == region.id {
                    ("ACTIVE", "this region".to_string())
                } else {
                    let lag = replica.lag.get(m).copied().unwrap_or_default();
                    let pending = replica.replicator.backlog(*m);
                    let cut = cuts.is_cut(region.id, *m) || cuts.is_cut(*m, region.id);
                    let status = if cut { "REGION_DISABLED" } else { "ACTIVE" };
                    (
                        status,
                        format!(
                            "replication lag from {}: last {:.1} ms, max {:.1} ms; {} writes not yet acknowledged",
                            self.names[usize::from(m.0)],
                            lag.last_ms,
                            lag.max_ms,
                            pending
                        ),
                    )
                };
                serde_json::json!({
                    "RegionName": self.names[usize::from(m.0)],
                    "ReplicaStatus": status,
                    "ReplicaStatusDescription": text,
                })
            })
            .collect();
        description["Replicas"] = serde_json::Value::Array(list);
        description["GlobalTableVersion"] = "2019.11.21".into();
    }

    /// Control-plane operations that touch every replica of a table: all regions are
    /// locked in index order (the only place more than one region lock is held).
    fn execute_global(&self, r: usize, op: &str, body: &[u8]) -> Result<Vec<u8>, EngineError> {
        let mut all: Vec<MutexGuard<'_, ServeRegion>> = self.regions.iter().map(lock).collect();
        let now_us = self.clock.now_us();
        let now = SimTime(now_us);
        all[r].counters.requests += 1;
        let mut result = self.execute_global_in(&mut all, r, op, body, now_us, now);
        if result.is_ok() && self.logging() {
            let record = Record::Req {
                r,
                op: op.to_string(),
                body: String::from_utf8_lossy(body).into_owned(),
                now: now_us,
                wall: self.clock.wall_us(),
            };
            if let Err(e) = self.log(&record, true) {
                result = Err(e);
            }
        }
        if result.is_err() {
            all[r].counters.errors += 1;
        }
        result
    }

    fn execute_global_in(
        &self,
        all: &mut [MutexGuard<'_, ServeRegion>],
        r: usize,
        op: &str,
        body: &[u8],
        now_us: u64,
        now: SimTime,
    ) -> Result<Vec<u8>, EngineError> {
        match op {
            "CreateTable" => {
                let input: CreateTableInput = decode_request(body)?;
                let name = input.table_name.clone();
                let out = all[r].engine.create_table(input, now)?;
                all[r].add_replica(&name, &[]);
                encode(&out)
            }
            "DeleteTable" => {
                let input: TableNameInput = decode_request(body)?;
                let description = all[r].engine.delete_table(&input.table_name, now)?;
                self.leave(all, r, &input.table_name);
                encode(&DeleteTableOutput {
                    table_description: description,
                })
            }
            "UpdateTimeToLive" => {
                let input: UpdateTimeToLiveInput = decode_request(body)?;
                let out = all[r].engine.update_time_to_live(input.clone(), now)?;
                for p in peers_of(all, r, &input.table_name) {
                    // GT-06: TTL settings are kept in sync across replicas.
                    let _ = all[p].engine.update_time_to_live(input.clone(), now);
                }
                encode(&out)
            }
            "UpdateTable" => self.update_table(all, r, body, now_us, now),
            _ => Err(unknown_operation()),
        }
    }

    fn update_table(
        &self,
        all: &mut [MutexGuard<'_, ServeRegion>],
        r: usize,
        body: &[u8],
        now_us: u64,
        now: SimTime,
    ) -> Result<Vec<u8>, EngineError> {
        let mut value: serde_json::Value = decode_request(body)?;
        let updates = value
            .as_object_mut()
            .and_then(|o| o.remove("ReplicaUpdates"));
        let input: UpdateTableInput = decode_request(value.to_string().as_bytes())?;
        let table = input.table_name.clone();
        if all[r].engine.table(&table).is_none() {
            return Err(EngineError::resource_not_found());
        }
        let has_settings = input.attribute_definitions.is_some()
            || input.billing_mode.is_some()
            || input.provisioned_throughput.is_some()
            || input.global_secondary_index_updates.is_some()
            || input.stream_specification.is_some();
        if has_settings || updates.is_none() {
            all[r].engine.update_table(input.clone(), now)?;
            for p in peers_of(all, r, &table) {
                // GT-06: capacity mode, GSIs and streams follow the table everywhere.
                let _ = all[p].engine.update_table(input.clone(), now);
            }
        }
        if let Some(updates) = updates {
            let updates: Vec<ReplicaUpdate> = serde_json::from_value(updates)
                .map_err(|e| EngineError::serialization(e.to_string()))?;
            for update in updates {
                match (update.create, update.delete) {
                    (Some(c), None) => self.join(all, r, &table, &c.region_name, now_us, now)?,
                    (None, Some(d)) => {
                        let target = self.replica_region(&d.region_name)?;
                        if !is_member(all, r, &table, target) {
                            return Err(EngineError::validation(format!(
                                "Cannot delete replica in region {}: it is not a replica of table {table}",
                                d.region_name
                            )));
                        }
                        all[target].engine.delete_table(&table, now)?;
                        self.leave(all, target, &table);
                    }
                    _ => {
                        return Err(EngineError::validation(
                            "One of Create, Update, or Delete must be specified in each ReplicaUpdate",
                        ));
                    }
                }
            }
        }
        let out = all[r].engine.describe_table(&table)?;
        let mut value = serde_json::to_value(&out).expect("descriptions serialize");
        self.add_replicas(&all[r], &table, &mut value["Table"]);
        encode(&serde_json::json!({ "TableDescription": value["Table"] }))
    }

    fn replica_region(&self, name: &str) -> Result<usize, EngineError> {
        self.region_id(name)
            .map(|id| usize::from(id.0))
            .ok_or_else(|| {
                EngineError::validation(format!(
                    "The region {name} is not served by this dynasim (regions: {})",
                    self.names.join(", ")
                ))
            })
    }

    /// ReplicaUpdates Create (GT-19): create the table in `region_name`, backfill it from
    /// every existing replica (LWW over their versions), then start the streams between it
    /// and each replica at their current log heads.
    fn join(
        &self,
        all: &mut [MutexGuard<'_, ServeRegion>],
        r: usize,
        table: &str,
        region_name: &str,
        now_us: u64,
        now: SimTime,
    ) -> Result<(), EngineError> {
        let target = self.replica_region(region_name)?;
        if all[target].engine.table(table).is_some() {
            return Err(EngineError::validation(format!(
                "Failed to create a the new replica of table with name: '{table}' because one or more replicas already existed as tables."
            )));
        }
        let target_id = all[target].id;
        let mut members: Vec<usize> = peers_of(all, r, table);
        members.push(r);
        members.sort();
        for m in &members {
            let departed = all[*m].replicas[table]
                .replicator
                .versions()
                .any(|(_, v)| v.stamp.region == target_id);
            if departed {
                return Err(EngineError::validation(format!(
                    "Region {region_name} held writes of table {table} before; re-adding a removed replica is not supported by dynasim serve"
                )));
            }
        }
        if all[r]
            .engine
            .table(table)
            .and_then(|t| t.stream_arn())
            .is_none()
        {
            // GT-16: replication reads a NEW_AND_OLD_IMAGES stream, enabled on every member.
            let spec = UpdateTableInput {
                table_name: table.to_string(),
                stream_specification: Some(StreamSpecification {
                    stream_enabled: true,
                    stream_view_type: Some("NEW_AND_OLD_IMAGES".to_string()),
                }),
                ..UpdateTableInput::default()
            };
            for m in &members {
                all[*m].engine.update_table(spec.clone(), now)?;
            }
        }
        let input = recreate_input(&all[r], table)?;
        let ttl = all[r].engine.table(table).and_then(|t| t.ttl().cloned());
        all[target].engine.create_table(input, now)?;
        if let Some(ttl) = ttl.filter(|t| t.enabled) {
            let spec = UpdateTimeToLiveInput {
                table_name: table.to_string(),
                time_to_live_specification: TimeToLiveSpecification {
                    enabled: true,
                    attribute_name: ttl.attribute_name,
                },
            };
            let _ = all[target].engine.update_time_to_live(spec, now);
        }
        let peer_ids: Vec<RegionId> = members.iter().map(|m| all[*m].id).collect();
        all[target].add_replica(table, &peer_ids);
        for m in &members {
            let snapshot: Vec<_> = {
                let source = &all[*m];
                source.replicas[table]
                    .replicator
                    .versions()
                    .map(|(k, v)| {
                        let image = if v.deleted {
                            None
                        } else {
                            source.engine.get_shared(table, &k.encoded).cloned()
                        };
                        (k.clone(), image, v.clone())
                    })
                    .collect()
            };
            for (key, image, version) in snapshot {
                all[target].backfill(table, key, image, &version, now_us);
            }
            let head = all[*m].replicas[table].replicator.head_seq();
            let m_id = all[*m].id;
            let joiner = all[target].replicas.get_mut(table).expect("just added");
            joiner.replicator.mark_seen(m_id, head);
            let member = all[*m].replicas.get_mut(table).expect("member replica");
            member.replicator.add_peer(target_id, now_us);
            member.peers.push(target_id);
        }
        Ok(())
    }

    /// Region `r` no longer holds `table`: the other replicas stop replicating to it.
    fn leave(&self, all: &mut [MutexGuard<'_, ServeRegion>], r: usize, table: &str) {
        let gone_id = all[r].id;
        let peers = peers_of(all, r, table);
        all[r].replicas.remove(table);
        all[r].throttles.remove(table);
        for p in peers {
            if let Some(replica) = all[p].replicas.get_mut(table) {
                replica.replicator.remove_peer(gone_id);
                replica.peers.retain(|x| *x != gone_id);
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReplicaUpdate {
    #[serde(default)]
    create: Option<RegionName>,
    #[serde(default)]
    delete: Option<RegionName>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegionName {
    region_name: String,
}

fn peers_of(all: &[MutexGuard<'_, ServeRegion>], r: usize, table: &str) -> Vec<usize> {
    all[r]
        .replicas
        .get(table)
        .map(|rep| rep.peers.iter().map(|p| usize::from(p.0)).collect())
        .unwrap_or_default()
}

fn is_member(all: &[MutexGuard<'_, ServeRegion>], r: usize, table: &str, target: usize) -> bool {
    target == r || peers_of(all, r, table).contains(&target)
}

/// The CreateTable request that makes an identical replica of `table` (GT-01, GT-06).
/// Global tables need a stream (GT-16): a table without one gets NEW_AND_OLD_IMAGES.
fn recreate_input(region: &ServeRegion, table: &str) -> Result<CreateTableInput, EngineError> {
    let d = region.engine.describe_table(table)?.table;
    let billing = d
        .billing_mode_summary
        .as_ref()
        .map(|b| b.billing_mode.clone());
    let on_demand = billing.as_deref() == Some("PAY_PER_REQUEST");
    let gsis = d.global_secondary_indexes.as_ref().map(|list| {
        list.iter()
            .map(|i| GlobalSecondaryIndex {
                index_name: i.index_name.clone(),
                key_schema: i.key_schema.clone(),
                projection: i.projection.clone(),
                provisioned_throughput: if on_demand {
                    None
                } else {
                    i.provisioned_throughput
                },
            })
            .collect()
    });
    let lsis = d.local_secondary_indexes.as_ref().map(|list| {
        list.iter()
            .map(|i| LocalSecondaryIndex {
                index_name: i.index_name.clone(),
                key_schema: i.key_schema.clone(),
                projection: i.projection.clone(),
            })
            .collect()
    });
    Ok(CreateTableInput {
        table_name: d.table_name.clone(),
        key_schema: d.key_schema.clone(),
        attribute_definitions: d.attribute_definitions.clone(),
        billing_mode: billing,
        provisioned_throughput: if on_demand {
            None
        } else {
            d.provisioned_throughput
        },
        global_secondary_indexes: gsis,
        local_secondary_indexes: lsis,
        stream_specification: d.stream_specification.clone(),
    })
}

fn admit(
    region: &mut ServeRegion,
    table: &str,
    write: bool,
    now_us: u64,
) -> Result<(), EngineError> {
    let Some(throttle) = region.throttles.get_mut(table) else {
        return Ok(());
    };
    if throttle.admit(write, now_us) {
        return Ok(());
    }
    Err(EngineError::new(
        ErrorKind::ProvisionedThroughputExceededException,
        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
    ))
}

fn strong_read_quorum(region: &ServeRegion, consistent: Option<bool>) -> Result<(), EngineError> {
    if consistent == Some(true) && !region.has_quorum() {
        return Err(no_quorum());
    }
    Ok(())
}

/// RC-12: with two AZs down a region serves no writes and no strong reads.
fn no_quorum() -> EngineError {
    EngineError::new(ErrorKind::InternalServerError, "Internal server error")
}

/// Set by `ctl capacity`: a per-table request rate in one region.
pub(crate) fn set_throttle(
    region: &mut ServeRegion,
    table: &str,
    read: Option<f64>,
    write: Option<f64>,
    now_us: u64,
) {
    if read.is_none() && write.is_none() {
        region.throttles.remove(table);
    } else {
        region
            .throttles
            .insert(table.to_string(), Throttle::new(read, write, now_us));
    }
}

/// `__type` `com.amazon.coral.service#UnknownOperationException` is rendered by the HTTP
/// layer; this marker error carries it there.
pub(crate) fn unknown_operation() -> EngineError {
    EngineError::serialization(UNKNOWN_OPERATION_MARKER)
}

pub(crate) const UNKNOWN_OPERATION_MARKER: &str = "\u{0}unknown-operation";
