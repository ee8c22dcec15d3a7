//! Streaming a run's history to disk, so memory stays bounded however long the run
//! (issues 5 and 10).
//!
//! While the run goes, ops and applies still enter `RunOutput::history` and `applies` as
//! they complete (and the trace hash as before); every [`BUFFER_RECORDS`] records the run
//! loop moves them to files, one pair per shard: a key's records all go to shard
//! `fnv(table, key) % shards`, because almost every check is per key. After the run each
//! shard's ops are sorted into history order (`(complete_us, id)`), so a shard loads as
//! the sub-history of its keys and the whole history streams back in order by merging the
//! shards.
//!
//! Encoding: one frame per record, a little-endian `u32` length then the record in
//! postcard (compact and fast, but not self-describing: ops go through [`OpFrame`], a
//! plain copy of `OpRecord` that postcard can read back; `spilled_records_round_trip`
//! checks every field survives).

use dynasim_checker::{CheckConfig, Report, ShardedCheck};
use dynasim_core::RegionId;
use dynasim_core::history::{
    ApplyRecord, Delivery, FinalVersion, KeyRef, OpKind, OpRecord, OpResult, ReadValue, RunOutput,
    TxnPart, Written,
};
use dynasim_report::HistorySource;
use dynasim_scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Shards when not told otherwise: a 1-hour run at 1,000 ops/s (about 11 million ops and
/// applies) loads about 170,000 records, some 60 MiB, per shard.
pub const DEFAULT_SHARDS: u16 = 64;
/// Records the run holds in memory before moving them to the shard files.
pub const BUFFER_RECORDS: usize = 16_384;
/// Write buffer per shard file.
const FILE_BUFFER_BYTES: usize = 32 * 1024;
/// Read buffer per shard file when the shards are merged back into one stream.
const MERGE_BUFFER_BYTES: usize = 32 * 1024;
const MANIFEST: &str = "manifest.json";
const FORMAT: u32 = 1;

/// Where a run streams its history ([`crate::RunOptions::history`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistorySpill {
    /// Created if missing; shard files of an earlier run there are replaced.
    pub dir: PathBuf,
    /// Files the history is partitioned into by key (at least 1).
    pub shards: u16,
}

impl HistorySpill {
    pub fn new(dir: impl Into<PathBuf>) -> HistorySpill {
        HistorySpill {
            dir: dir.into(),
            shards: DEFAULT_SHARDS,
        }
    }
}

/// A file of the spilled history could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("history {}: {message}", path.display())]
pub struct SpillError {
    pub path: PathBuf,
    pub message: String,
}

fn spill_error(path: &Path, e: impl std::fmt::Display) -> SpillError {
    SpillError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The shard of a key: FNV-1a over its table and key, so the partition is the same on
/// every machine and in every run.
pub fn shard_of(key: KeyRef, shards: u16) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key
        .table
        .to_le_bytes()
        .into_iter()
        .chain(key.key.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(shards.max(1))) as usize
}

fn ops_path(dir: &Path, shard: usize) -> PathBuf {
    dir.join(format!("shard-{shard:04}.ops"))
}

fn applies_path(dir: &Path, shard: usize) -> PathBuf {
    dir.join(format!("shard-{shard:04}.applies"))
}

/// What the manifest records about a spilled history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpillCounts {
    pub client_ops: u64,
    /// The service's own writes (TTL deletes).
    pub service_ops: u64,
    pub applies: u64,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    shards: u16,
    counts: SpillCounts,
}

/// `OpRecord` as spilled. The same fields, but the result is a plain enum: postcard does
/// not read back serde's adjacently tagged enums (`OpResult`'s JSON shape). Built by
/// destructuring, so a field added to `OpRecord` does not compile until it is added here.
#[derive(Serialize, Deserialize)]
struct OpFrame {
    id: u64,
    session: u32,
    region: RegionId,
    key: KeyRef,
    kind: OpKind,
    strong: bool,
    invoke_us: u64,
    complete_us: u64,
    region_clock_us: u64,
    result: ResultFrame,
    written: Option<Written>,
    read: Option<ReadValue>,
    attempts: u32,
    txn: Option<TxnPart>,
}

#[derive(Serialize, Deserialize)]
enum ResultFrame {
    Ok,
    Failed(String),
    Unknown,
}

impl From<OpRecord> for OpFrame {
    fn from(op: OpRecord) -> OpFrame {
        let OpRecord {
            id,
            session,
            region,
            key,
            kind,
            strong,
            invoke_us,
            complete_us,
            region_clock_us,
            result,
            written,
            read,
            attempts,
            txn,
        } = op;
        let result = match result {
            OpResult::Ok => ResultFrame::Ok,
            OpResult::Failed(e) => ResultFrame::Failed(e),
            OpResult::Unknown => ResultFrame::Unknown,
        };
        OpFrame {
            id,
            session,
            region,
            key,
            kind,
            strong,
            invoke_us,
            complete_us,
            region_clock_us,
            result,
            written,
            read,
            attempts,
            txn,
        }
    }
}

impl From<OpFrame> for OpRecord {
    fn from(op: OpFrame) -> OpRecord {
        let OpFrame {
            id,
            session,
            region,
            key,
            kind,
            strong,
            invoke_us,
            complete_us,
            region_clock_us,
            result,
            written,
            read,
            attempts,
            txn,
        } = op;
        let result = match result {
            ResultFrame::Ok => OpResult::Ok,
            ResultFrame::Failed(e) => OpResult::Failed(e),
            ResultFrame::Unknown => OpResult::Unknown,
        };
        OpRecord {
            id,
            session,
            region,
            key,
            kind,
            strong,
            invoke_us,
            complete_us,
            region_clock_us,
            result,
            written,
            read,
            attempts,
            txn,
        }
    }
}

/// One shard's pair of files being written.
struct ShardFiles {
    ops: BufWriter<File>,
    applies: BufWriter<File>,
}

/// Writes a run's records to the shard files as the run produces them.
pub(crate) struct SpillWriter {
    dir: PathBuf,
    shards: Vec<ShardFiles>,
    counts: SpillCounts,
    frame: Vec<u8>,
}

impl SpillWriter {
    pub(crate) fn create(spill: &HistorySpill) -> Result<SpillWriter, SpillError> {
        let dir = spill.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|e| spill_error(&dir, e))?;
        // A manifest left by an earlier run would describe files this run replaces.
        let manifest = dir.join(MANIFEST);
        if manifest.exists() {
            std::fs::remove_file(&manifest).map_err(|e| spill_error(&manifest, e))?;
        }
        let create = |path: PathBuf| {
            let file = File::create(&path).map_err(|e| spill_error(&path, e))?;
            Ok(BufWriter::with_capacity(FILE_BUFFER_BYTES, file))
        };
        let shards = (0..usize::from(spill.shards.max(1)))
            .map(|i| {
                Ok(ShardFiles {
                    ops: create(ops_path(&dir, i))?,
                    applies: create(applies_path(&dir, i))?,
                })
            })
            .collect::<Result<Vec<_>, SpillError>>()?;
        Ok(SpillWriter {
            dir,
            shards,
            counts: SpillCounts::default(),
            frame: Vec::new(),
        })
    }

    /// Move the run's buffered ops and applies to the shard files.
    pub(crate) fn drain(&mut self, output: &mut RunOutput) -> Result<(), SpillError> {
        let n = self.shards.len() as u16;
        // `drain` keeps the buffers' capacity for the records still to come.
        for op in output.history.drain(..) {
            let shard = shard_of(op.key, n);
            if op.is_client() {
                self.counts.client_ops += 1;
            } else if op.kind == OpKind::TtlDelete {
                self.counts.service_ops += 1;
            }
            let path = || ops_path(&self.dir, shard);
            write_frame(
                &mut self.shards[shard].ops,
                &mut self.frame,
                &OpFrame::from(op),
            )
            .map_err(|e| spill_error(&path(), e))?;
        }
        for apply in output.applies.drain(..) {
            let shard = shard_of(apply.key, n);
            self.counts.applies += 1;
            let path = || applies_path(&self.dir, shard);
            write_frame(&mut self.shards[shard].applies, &mut self.frame, &apply)
                .map_err(|e| spill_error(&path(), e))?;
        }
        Ok(())
    }

    /// Flush every file, sort each shard's ops into history order and write the manifest.
    pub(crate) fn finish(mut self, output: &mut RunOutput) -> Result<(), SpillError> {
        self.drain(output)?;
        let mut writer = self;
        let shards = writer.shards.len();
        for (i, files) in writer.shards.into_iter().enumerate() {
            finish_file(files.ops, &ops_path(&writer.dir, i))?;
            finish_file(files.applies, &applies_path(&writer.dir, i))?;
            sort_ops(&ops_path(&writer.dir, i), &mut writer.frame)?;
        }
        let manifest = Manifest {
            format: FORMAT,
            shards: shards as u16,
            counts: writer.counts,
        };
        let path = writer.dir.join(MANIFEST);
        let text = serde_json::to_vec_pretty(&manifest).expect("the manifest serializes");
        std::fs::write(&path, text).map_err(|e| spill_error(&path, e))
    }
}

fn write_frame<T: Serialize>(
    out: &mut impl Write,
    frame: &mut Vec<u8>,
    record: &T,
) -> std::io::Result<()> {
    frame.clear();
    let bytes = postcard::to_io(record, &mut *frame)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let len = u32::try_from(bytes.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "record over 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(frame)
}

/// The next record of a shard file; `None` at its end.
fn read_frame<T: for<'de> Deserialize<'de>>(
    input: &mut impl Read,
    frame: &mut Vec<u8>,
    path: &Path,
) -> Result<Option<T>, SpillError> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(spill_error(path, e)),
    }
    frame.resize(u32::from_le_bytes(len) as usize, 0);
    input
        .read_exact(frame)
        .map_err(|e| spill_error(path, format!("truncated record: {e}")))?;
    postcard::from_bytes(frame)
        .map(Some)
        .map_err(|e| spill_error(path, format!("corrupt record: {e}")))
}

fn finish_file(file: BufWriter<File>, path: &Path) -> Result<(), SpillError> {
    let file = file
        .into_inner()
        .map_err(|e| spill_error(path, e.error()))?;
    file.sync_all().map_err(|e| spill_error(path, e))
}

/// Every record of a shard file, as `T` (read as `F`, its frame).
fn read_all<F: for<'de> Deserialize<'de>, T: From<F>>(
    path: &Path,
    frame: &mut Vec<u8>,
) -> Result<Vec<T>, SpillError> {
    let file = File::open(path).map_err(|e| spill_error(path, e))?;
    let mut input = BufReader::with_capacity(MERGE_BUFFER_BYTES, file);
    let mut out = Vec::new();
    while let Some(record) = read_frame::<F>(&mut input, frame, path)? {
        out.push(T::from(record));
    }
    Ok(out)
}

/// Rewrite one shard's ops file in history order (ops are recorded as they complete,
/// which is not quite that order).
fn sort_ops(path: &Path, frame: &mut Vec<u8>) -> Result<(), SpillError> {
    let mut ops: Vec<OpRecord> = read_all::<OpFrame, _>(path, frame)?;
    if ops.is_sorted_by_key(history_order) {
        return Ok(());
    }
    dynasim_core::history::sort_history(&mut ops);
    let sorted = path.with_extension("ops.sorting");
    let file = File::create(&sorted).map_err(|e| spill_error(&sorted, e))?;
    let mut out = BufWriter::with_capacity(FILE_BUFFER_BYTES, file);
    for op in ops {
        write_frame(&mut out, frame, &OpFrame::from(op)).map_err(|e| spill_error(&sorted, e))?;
    }
    finish_file(out, &sorted)?;
    std::fs::rename(&sorted, path).map_err(|e| spill_error(path, e))
}

fn history_order(op: &OpRecord) -> (u64, u64, KeyRef) {
    op.history_order()
}

/// A history a run streamed to disk.
#[derive(Clone, Debug)]
pub struct SpilledHistory {
    dir: PathBuf,
    shards: u16,
    counts: SpillCounts,
}

impl SpilledHistory {
    /// The history a finished run left in `dir`.
    pub fn open(dir: &Path) -> Result<SpilledHistory, SpillError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read(&path).map_err(|e| spill_error(&path, e))?;
        let manifest: Manifest =
            serde_json::from_slice(&text).map_err(|e| spill_error(&path, e))?;
        if manifest.format != FORMAT {
            let message = format!("format {} (this build reads {FORMAT})", manifest.format);
            return Err(spill_error(&path, message));
        }
        Ok(SpilledHistory {
            dir: dir.to_path_buf(),
            shards: manifest.shards,
            counts: manifest.counts,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn shards(&self) -> u16 {
        self.shards
    }

    pub fn counts(&self) -> SpillCounts {
        self.counts
    }

    /// One shard's ops (in history order) and applies (in the order they happened).
    pub fn load_shard(
        &self,
        shard: usize,
    ) -> Result<(Vec<OpRecord>, Vec<ApplyRecord>), SpillError> {
        let mut frame = Vec::new();
        let ops = read_all::<OpFrame, _>(&ops_path(&self.dir, shard), &mut frame)?;
        let applies = read_all::<ApplyRecord, _>(&applies_path(&self.dir, shard), &mut frame)?;
        Ok((ops, applies))
    }

    /// Check `run` (whose history this is) one shard at a time.
    pub fn check(
        &self,
        scenario: &Scenario,
        run: &RunOutput,
        config: &CheckConfig,
    ) -> Result<Report, SpillError> {
        let mut checks = ShardedCheck::new(scenario, run, config);
        let mut keyed = KeyedState::partition(run, self.shards);
        for shard in 0..usize::from(self.shards) {
            let (history, applies) = self.load_shard(shard)?;
            let view = keyed.shard_view(run, shard, history, applies);
            checks.add_shard(&view);
        }
        Ok(checks.finish(run))
    }

    /// Every record of one kind (read as its frame `F`), merged from the shards in `order`.
    fn merge<F: for<'de> Deserialize<'de>, T: From<F>, K: Ord>(
        &self,
        path: fn(&Path, usize) -> PathBuf,
        order: fn(&T) -> K,
        f: &mut dyn FnMut(&T),
    ) -> Result<(), SpillError> {
        let mut frame = Vec::new();
        let mut inputs = Vec::with_capacity(usize::from(self.shards));
        let mut heads: BinaryHeap<Reverse<(K, usize)>> = BinaryHeap::new();
        let mut current: Vec<Option<T>> = Vec::with_capacity(usize::from(self.shards));
        for shard in 0..usize::from(self.shards) {
            let p = path(&self.dir, shard);
            let file = File::open(&p).map_err(|e| spill_error(&p, e))?;
            let mut input = BufReader::with_capacity(MERGE_BUFFER_BYTES, file);
            let first: Option<T> = read_frame::<F>(&mut input, &mut frame, &p)?.map(T::from);
            if let Some(r) = &first {
                heads.push(Reverse((order(r), shard)));
            }
            current.push(first);
            inputs.push((input, p));
        }
        while let Some(Reverse((_, shard))) = heads.pop() {
            let record = current[shard].take().expect("a queued shard has a record");
            f(&record);
            let (input, p) = &mut inputs[shard];
            if let Some(next) = read_frame::<F>(input, &mut frame, p)?.map(T::from) {
                heads.push(Reverse((order(&next), shard)));
                current[shard] = Some(next);
            }
        }
        Ok(())
    }
}

fn as_io(e: SpillError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl HistorySource for SpilledHistory {
    fn each_op(&self, f: &mut dyn FnMut(&OpRecord)) -> std::io::Result<()> {
        self.merge::<OpFrame, _, _>(ops_path, history_order, f)
            .map_err(as_io)
    }

    fn each_apply(&self, f: &mut dyn FnMut(&ApplyRecord)) -> std::io::Result<()> {
        self.merge::<ApplyRecord, _, _>(applies_path, |a: &ApplyRecord| a.at_us, f)
            .map_err(as_io)
    }
}

/// The run's final replica versions and consumer deliveries, partitioned like the
/// history (they are per key too, and far fewer).
struct KeyedState {
    /// `[shard][replica]`: the versions of the shard's keys.
    versions: Vec<Vec<Vec<FinalVersion>>>,
    deliveries: Vec<Vec<Delivery>>,
}

impl KeyedState {
    fn partition(run: &RunOutput, shards: u16) -> KeyedState {
        let n = usize::from(shards.max(1));
        let mut versions = vec![vec![Vec::new(); run.replicas.len()]; n];
        for (r, replica) in run.replicas.iter().enumerate() {
            for v in &replica.versions {
                versions[shard_of(v.key, shards)][r].push(v.clone());
            }
        }
        let mut deliveries = vec![Vec::new(); n];
        for d in &run.deliveries {
            deliveries[shard_of(d.key, shards)].push(*d);
        }
        KeyedState {
            versions,
            deliveries,
        }
    }

    /// The run as the checker sees one shard: its keys' records, everything else the
    /// run's (events and capacity samples, which no check reads, left out).
    fn shard_view(
        &mut self,
        run: &RunOutput,
        shard: usize,
        history: Vec<OpRecord>,
        applies: Vec<ApplyRecord>,
    ) -> RunOutput {
        let versions = std::mem::take(&mut self.versions[shard]);
        let replicas = run
            .replicas
            .iter()
            .zip(versions)
            .map(|(r, versions)| dynasim_core::history::ReplicaState {
                region: r.region,
                table: r.table,
                versions,
                tombstones: r.tombstones,
                backlog: r.backlog.clone(),
            })
            .collect();
        RunOutput {
            scenario: run.scenario.clone(),
            seed: run.seed,
            epoch_unix_us: run.epoch_unix_us,
            duration_us: run.duration_us,
            region_names: run.region_names.clone(),
            history,
            applies,
            events: Vec::new(),
            replicas,
            region_counters: run.region_counters.clone(),
            replication_counters: run.replication_counters.clone(),
            capacity: Vec::new(),
            deliveries: std::mem::take(&mut self.deliveries[shard]),
            consumers: run.consumers.clone(),
            table_counters: run.table_counters.clone(),
            trace_hash: run.trace_hash.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynasim_core::Stamp;

    fn stamp(hlc_us: u64) -> Stamp {
        Stamp {
            hlc_us,
            region: RegionId(1),
            seq: 7,
        }
    }

    /// Every optional field set: a field the encoding cannot carry fails here.
    #[test]
    fn spilled_records_round_trip() {
        let op = OpRecord {
            id: 12,
            session: 3,
            region: RegionId(2),
            key: KeyRef { table: 1, key: 99 },
            kind: OpKind::ConditionalPut,
            strong: true,
            invoke_us: 10,
            complete_us: 20,
            region_clock_us: 21,
            result: OpResult::Failed("InternalServerError".into()),
            written: Some(Written {
                stamp: stamp(5),
                value: Some(12),
                context: vec![1, 2, 3],
                superseded_by: Some(stamp(6)),
            }),
            read: Some(ReadValue {
                value: Some(4),
                stamp: Some(stamp(4)),
            }),
            attempts: 2,
            txn: Some(TxnPart { index: 1, items: 3 }),
        };
        let apply = ApplyRecord {
            at_us: 30,
            region: RegionId(0),
            key: KeyRef { table: 0, key: 1 },
            stamp: stamp(7),
            written_at_us: 25,
            lost_to: Some(stamp(8)),
            overwrote_concurrent: Some(stamp(2)),
        };
        let mut frame = Vec::new();
        let mut bytes = Vec::new();
        for result in [OpResult::Ok, OpResult::Unknown, op.result.clone()] {
            let op = OpRecord {
                result,
                ..op.clone()
            };
            write_frame(&mut bytes, &mut frame, &OpFrame::from(op.clone())).unwrap();
            let back: OpFrame = read_frame(&mut bytes.as_slice(), &mut frame, Path::new("t"))
                .unwrap()
                .unwrap();
            assert_eq!(OpRecord::from(back), op);
            bytes.clear();
        }
        write_frame(&mut bytes, &mut frame, &apply).unwrap();
        let back: ApplyRecord = read_frame(&mut bytes.as_slice(), &mut frame, Path::new("t"))
            .unwrap()
            .unwrap();
        assert_eq!(back, apply);
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        let key = KeyRef { table: 0, key: 42 };
        assert_eq!(shard_of(key, 64), shard_of(key, 64));
        assert!((0..1000).all(|k| shard_of(KeyRef { table: 1, key: k }, 7) < 7));
        assert_eq!(shard_of(key, 1), 0);
    }

    #[test]
    fn an_unwritable_directory_is_an_error_naming_it() {
        let file = std::env::temp_dir().join(format!("dynasim-spill-{}", std::process::id()));
        std::fs::write(&file, b"not a directory").unwrap();
        let err = match SpillWriter::create(&HistorySpill::new(file.join("history"))) {
            Ok(_) => panic!("a directory under a file cannot be created"),
            Err(e) => e,
        };
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
        std::fs::remove_file(&file).unwrap();
    }
}
