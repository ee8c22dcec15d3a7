//! Optional persistence (`--data-dir`): a write-ahead log of everything that changes a
//! region's state, in the order it was applied, fsynced before a write is acknowledged.
//!
//! The engine and the replicator are deterministic functions of their inputs, so the log
//! holds inputs, not state: successful state-changing requests with the times they ran
//! at, replication batches as applied, TTL sweeps that deleted something, and clock-skew
//! changes. Restart replays them in order with the logged times and rebuilds identical
//! engines, stamps, vector clocks and tombstones. Acks and polls are not logged: after a
//! restart each replicator resends its whole log and peers drop the duplicates.
//!
//! One file for all regions keeps a single global order (a join reads other regions'
//! state) and makes one fsync cover everything before it. A torn last line (a crash while
//! writing it) was never acknowledged and is ignored.

use crdts::CmRDT;
use dynasim_core::Stamp;
use dynasim_engine::Item;
use dynasim_replication::{Context, SeenClock};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

pub(crate) const WAL_FILE: &str = "dynasim-serve.wal";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Record {
    Start {
        regions: Vec<String>,
        epoch_unix_us: u64,
    },
    /// A successful state-changing request served by region `r`.
    Req {
        r: usize,
        op: String,
        body: String,
        now: u64,
        wall: u64,
    },
    /// A replication batch applied at region `to`.
    Msg {
        to: usize,
        from: u16,
        table: String,
        entries: Vec<WalEntry>,
        now: u64,
    },
    Sweep {
        now: u64,
        wall: u64,
    },
    Skew {
        r: usize,
        us: i64,
    },
}

/// A replication entry with its key as attributes (the encoded key is rebuilt on replay).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WalEntry {
    pub(crate) seq: u64,
    pub(crate) key: Item,
    pub(crate) image: Option<Item>,
    pub(crate) stamp: Stamp,
    /// The causal context as `(region, counter)` pairs (a map keyed by region would not
    /// survive the tagged record's JSON round trip).
    pub(crate) context: Vec<(u16, u64)>,
    pub(crate) written_at_us: u64,
}

pub(crate) fn clock_to_pairs(clock: &SeenClock) -> Vec<(u16, u64)> {
    clock.iter().map(|d| (d.actor.0, d.counter)).collect()
}

/// A logged causal context, read back; a region id beyond the region limit (a corrupt
/// or hand-edited log) is an error, not a panic.
pub(crate) fn pairs_to_context(pairs: &[(u16, u64)]) -> anyhow::Result<Context> {
    let limit = dynasim_core::limits::REGIONS_MAX;
    if let Some((region, _)) = pairs.iter().find(|(r, _)| usize::from(*r) >= limit) {
        anyhow::bail!(
            "a logged causal context names region id {region}, beyond the {limit}-region limit"
        );
    }
    Ok(Context::from(pairs_to_clock(pairs)))
}

pub(crate) fn pairs_to_clock(pairs: &[(u16, u64)]) -> SeenClock {
    let mut clock = SeenClock::new();
    for (region, counter) in pairs {
        clock.apply(crdts::Dot::new(dynasim_core::RegionId(*region), *counter));
    }
    clock
}

pub(crate) struct Wal {
    file: File,
}

impl Wal {
    /// Opens (or creates) the log in `dir`. Returns the log, the records to replay, and
    /// the epoch of the first start (the engines' time base survives restarts).
    pub(crate) fn open(
        dir: &Path,
        regions: &[String],
        now_unix_us: u64,
    ) -> anyhow::Result<(Wal, Vec<Record>, u64)> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("--data-dir {}: {e}", dir.display()))?;
        let path = dir.join(WAL_FILE);
        let mut records = Vec::new();
        let mut valid_bytes = 0u64;
        if path.exists() {
            let reader = BufReader::new(File::open(&path)?);
            let lines: Vec<Vec<u8>> = reader.split(b'\n').collect::<Result<_, _>>()?;
            let last = lines.len().saturating_sub(1);
            for (i, line) in lines.iter().enumerate() {
                match serde_json::from_slice::<Record>(line) {
                    Ok(r) => {
                        valid_bytes += line.len() as u64 + 1;
                        records.push(r);
                    }
                    // A torn tail: written but never acknowledged.
                    Err(_) if i == last => break,
                    Err(e) => anyhow::bail!(
                        "{}: line {} is not a log record ({e}); refusing to start over it",
                        path.display(),
                        i + 1
                    ),
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .append(false)
            .write(true)
            .open(&path)?;
        // Drop a torn tail so new records follow the last complete one.
        file.set_len(valid_bytes)?;
        let mut wal = Wal { file };
        use std::io::Seek;
        wal.file.seek(std::io::SeekFrom::End(0))?;
        let epoch = match records.first() {
            Some(Record::Start {
                regions: logged,
                epoch_unix_us,
            }) => {
                anyhow::ensure!(
                    logged == regions,
                    "--data-dir {} holds regions {logged:?}, not {regions:?}",
                    dir.display()
                );
                *epoch_unix_us
            }
            Some(_) => anyhow::bail!("{}: does not start with a start record", path.display()),
            None => {
                let start = Record::Start {
                    regions: regions.to_vec(),
                    epoch_unix_us: now_unix_us,
                };
                wal.append(&start, true)?;
                now_unix_us
            }
        };
        if !records.is_empty() {
            records.remove(0);
        }
        Ok((wal, records, epoch))
    }

    /// Appends one record; with `sync`, returns only once it (and all before it) is on disk.
    pub(crate) fn append(&mut self, record: &Record, sync: bool) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).expect("records serialize");
        line.push(b'\n');
        self.file.write_all(&line)?;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    /// A logged context naming a region beyond the limit is an error on replay, not a
    /// panic; one within it reads back as the context it was.
    #[test]
    fn a_logged_context_beyond_the_region_limit_is_an_error() {
        let err = pairs_to_context(&[(0, 3), (7, 1)]).expect_err("region 7");
        assert_eq!(
            err.to_string(),
            "a logged causal context names region id 7, beyond the 7-region limit"
        );
        let context = pairs_to_context(&[(0, 3), (6, 1)]).expect("within the limit");
        assert_eq!(context.dense(), vec![3, 0, 0, 0, 0, 0, 1]);
    }

    use super::*;

    #[test]
    fn records_round_trip_through_json_lines() {
        let line = r#"{"t":"msg","to":1,"from":0,"table":"orders","entries":[{"seq":1,"key":{"pk":{"S":"us-0"}},"image":{"pk":{"S":"us-0"},"v":{"S":"v1"}},"stamp":{"hlc_us":17,"region":0,"seq":1},"context":[[0,1]],"written_at_us":7}],"now":9}"#;
        let record: Record = serde_json::from_str(line).expect("a logged batch parses");
        let again = serde_json::to_string(&record).expect("serializes");
        assert_eq!(again, line);
    }
}
