//! DynamoDB Streams (ST-01..ST-12): one stream per enabled table, a record per change,
//! shards that roll over with parent lineage, iterators and GetRecords.
//!
//! Sequence numbers come from one engine-wide counter, so they increase per item and
//! per shard (ST-02). The engine keeps one open shard per stream: per-partition shards
//! are not modelled, which only strengthens the ordering guarantee.

use crate::engine::{Engine, ItemChange};
use crate::error::{EngineError, ErrorKind};
use crate::size::item_size;
use crate::stored::SharedItem;
use crate::value::Item;
use dynasim_core::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Sequence numbers are 21-digit decimal strings (ST-05): this base plus a counter.
const SEQUENCE_BASE: u128 = 100_000_000_000_000_000_000;
/// Most records one GetRecords returns (ST-07).
pub const GET_RECORDS_LIMIT_MAX: usize = 1000;
/// Most bytes one GetRecords returns (ST-07).
pub const GET_RECORDS_BYTES_MAX: usize = 1024 * 1024;

/// One stream (ST-12).
#[derive(Clone, Debug)]
pub struct Stream {
    pub arn: String,
    pub label: String,
    pub table_name: String,
    pub view_type: String,
    pub created_at: SimTime,
    /// When the stream was disabled (ST-11); readable until retention passes.
    pub disabled_at: Option<SimTime>,
    pub shards: Vec<Shard>,
}

/// One shard: a run of records and its lineage (ST-06).
#[derive(Clone, Debug)]
pub struct Shard {
    pub shard_id: String,
    pub parent_shard_id: Option<String>,
    pub created_at: SimTime,
    pub starting_sequence_number: u128,
    /// Set when the shard is closed.
    pub ending_sequence_number: Option<u128>,
    /// Everything below this sequence number has been trimmed (ST-01).
    trimmed_below: u128,
    records: VecDeque<(u128, SimTime, StreamRecord)>,
}

/// A stream record in DynamoDB Streams' JSON shape (ST-05).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventID")]
    pub event_id: String,
    #[serde(rename = "eventName")]
    pub event_name: String,
    #[serde(rename = "eventVersion")]
    pub event_version: String,
    #[serde(rename = "eventSource")]
    pub event_source: String,
    #[serde(rename = "awsRegion")]
    pub aws_region: String,
    pub dynamodb: StreamRecordData,
    #[serde(
        rename = "userIdentity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_identity: Option<UserIdentity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamRecordData {
    /// Epoch seconds, rounded down to the second (ST-05).
    pub approximate_creation_date_time: u64,
    pub keys: Item,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_image: Option<SharedItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_image: Option<SharedItem>,
    pub sequence_number: String,
    pub size_bytes: u64,
    pub stream_view_type: String,
}

/// `{"type":"Service","principalId":"dynamodb.amazonaws.com"}` on TTL deletes (TTL-06).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "principalId")]
    pub principal_id: String,
}

impl UserIdentity {
    pub fn dynamodb_service() -> UserIdentity {
        UserIdentity {
            kind: "Service".to_string(),
            principal_id: "dynamodb.amazonaws.com".to_string(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive_start_stream_arn: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsOutput {
    pub streams: Vec<StreamSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated_stream_arn: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSummary {
    pub stream_arn: String,
    pub stream_label: String,
    pub table_name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamInput {
    pub stream_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive_start_shard_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamOutput {
    pub stream_description: StreamDescription,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    pub stream_arn: String,
    pub stream_label: String,
    /// ENABLED or DISABLED.
    pub stream_status: String,
    pub stream_view_type: String,
    pub table_name: String,
    pub shards: Vec<ShardDescription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated_shard_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShardDescription {
    pub shard_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_shard_id: Option<String>,
    pub sequence_number_range: SequenceNumberRange,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange {
    pub starting_sequence_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending_sequence_number: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorInput {
    pub stream_arn: String,
    pub shard_id: String,
    /// TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER (ST-08).
    pub shard_iterator_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorOutput {
    pub shard_iterator: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsInput {
    pub shard_iterator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    pub records: Vec<StreamRecord>,
    /// `None` once the shard is closed and drained (ST-07).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_shard_iterator: Option<String>,
}

fn sequence_string(n: u128) -> String {
    format!("{}", SEQUENCE_BASE + n)
}

fn parse_sequence(text: &str) -> Option<u128> {
    text.parse::<u128>().ok()?.checked_sub(SEQUENCE_BASE)
}

/// `YYYY-MM-DDTHH:MM:SS.mmm` of a Unix time in milliseconds (a stream label, ST-12).
pub fn iso8601_ms(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = i64::try_from(secs / 86_400).expect("days fit");
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

struct Position<'a> {
    arn: &'a str,
    shard_id: &'a str,
    next: u128,
    issued: SimTime,
}

fn encode_iterator(p: &Position<'_>) -> String {
    format!("{}|1|{}|{}|{}", p.arn, p.shard_id, p.next, p.issued.as_us())
}

fn decode_iterator(text: &str) -> Option<Position<'_>> {
    let mut parts = text.rsplitn(4, '|');
    let issued = SimTime(parts.next()?.parse().ok()?);
    let next = parts.next()?.parse().ok()?;
    let shard_id = parts.next()?;
    let arn = parts.next()?.strip_suffix("|1")?;
    Some(Position {
        arn,
        shard_id,
        next,
        issued,
    })
}

fn invalid_iterator() -> EngineError {
    EngineError::validation("Invalid ShardIterator")
}

impl Stream {
    fn trim(&mut self, now: SimTime, retention_us: u64) {
        for shard in &mut self.shards {
            while shard
                .records
                .front()
                .is_some_and(|(_, at, _)| now.saturating_sub(*at) > retention_us)
            {
                if let Some((n, _, _)) = shard.records.pop_front() {
                    shard.trimmed_below = n + 1;
                }
            }
        }
        // Drop closed, drained shards older than retention (their lineage stays in children).
        self.shards.retain(|s| {
            s.ending_sequence_number.is_none()
                || !s.records.is_empty()
                || now.saturating_sub(s.created_at) <= retention_us
        });
    }

    fn shard(&self, shard_id: &str) -> Result<&Shard, EngineError> {
        self.shards
            .iter()
            .find(|s| s.shard_id == shard_id)
            .ok_or_else(|| {
                EngineError::new(
                    ErrorKind::ResourceNotFoundException,
                    format!("Requested resource not found: Shard does not exist: {shard_id}"),
                )
            })
    }

    /// The stream's records, all shards, in sequence order (for tests and replication).
    pub fn records(&self) -> impl Iterator<Item = &StreamRecord> {
        self.shards
            .iter()
            .flat_map(|s| s.records.iter().map(|(_, _, r)| r))
    }
}

impl Shard {
    /// Records in the shard still inside retention.
    pub fn records(&self) -> impl Iterator<Item = &StreamRecord> {
        self.records.iter().map(|(_, _, r)| r)
    }
    fn trim_horizon(&self) -> u128 {
        self.records
            .front()
            .map_or(self.trimmed_below, |(n, _, _)| *n)
    }
}

impl Engine {
    /// Starts a new stream on `table` (CP-18): a new ARN and label, one open shard.
    pub(crate) fn enable_stream(&mut self, table: &str, view_type: String, now: SimTime) {
        let config = self.config();
        let unix_ms = config.epoch_unix_secs * 1000 + now.as_ms();
        let base = format!("{}/stream/", crate::control::table_arn(config, table));
        // Labels are unique per table (ST-12): a second stream in the same millisecond
        // takes the next free millisecond.
        let mut label_ms = unix_ms;
        while self
            .streams
            .contains_key(&(base.clone() + &iso8601_ms(label_ms)))
        {
            label_ms += 1;
        }
        let label = iso8601_ms(label_ms);
        let arn = base + &label;
        self.shard_counter += 1;
        let shard = Shard {
            shard_id: format!("shardId-{:020}-{:08x}", unix_ms, self.shard_counter),
            parent_shard_id: None,
            created_at: now,
            starting_sequence_number: self.sequence + 1,
            ending_sequence_number: None,
            trimmed_below: self.sequence + 1,
            records: VecDeque::new(),
        };
        self.streams.insert(
            arn.clone(),
            Stream {
                arn: arn.clone(),
                label,
                table_name: table.to_string(),
                view_type,
                created_at: now,
                disabled_at: None,
                shards: vec![shard],
            },
        );
        self.tables
            .get_mut(table)
            .expect("stream enabled on an existing table")
            .stream_arn = Some(arn);
    }

    /// Disables a stream: its open shard closes; records stay readable (ST-11).
    pub(crate) fn disable_stream(&mut self, arn: &str, now: SimTime) {
        let sequence = self.sequence;
        if let Some(stream) = self.streams.get_mut(arn) {
            stream.disabled_at = Some(now);
            if let Some(open) = stream.shards.last_mut()
                && open.ending_sequence_number.is_none()
            {
                open.ending_sequence_number = Some(sequence.max(open.starting_sequence_number));
            }
            if let Some(table) = self.tables.get_mut(&stream.table_name)
                && table.stream_arn.as_deref() == Some(arn)
            {
                table.stream_arn = None;
            }
        }
    }

    /// The newest stream of a table, enabled or not (DescribeTable's LatestStreamArn).
    pub(crate) fn latest_stream(&self, table: &str) -> Option<&Stream> {
        self.streams
            .values()
            .filter(|s| s.table_name == table)
            .max_by_key(|s| (s.created_at, s.arn.clone()))
    }

    /// A stream by ARN.
    pub fn stream(&self, arn: &str) -> Option<&Stream> {
        self.streams.get(arn)
    }

    /// The records of `table`'s current stream with sequence numbers above `after`, in
    /// order, each with the time it was written: for simulated consumers, which read the
    /// log directly rather than through iterators (same records, no iterator expiry).
    pub fn stream_records_after(
        &self,
        table: &str,
        after: u128,
    ) -> Vec<(u128, SimTime, &StreamRecord)> {
        let Some(stream) = self
            .tables
            .get(table)
            .and_then(|t| t.stream_arn.as_deref())
            .and_then(|arn| self.streams.get(arn))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for shard in &stream.shards {
            let start = shard.records.partition_point(|(n, _, _)| *n <= after);
            out.extend(shard.records.range(start..).map(|(n, at, r)| (*n, *at, r)));
        }
        out
    }

    /// Appends the stream record of one change (ST-03: a no-op change has none).
    pub(crate) fn record_change(&mut self, change: &ItemChange, now: SimTime, by_ttl: bool) {
        let Some(arn) = self
            .tables
            .get(&change.table)
            .and_then(|t| t.stream_arn.clone())
        else {
            return;
        };
        if change.is_noop() {
            return;
        }
        let config = self.config().clone();
        self.sequence += 1;
        let sequence = self.sequence;
        self.shard_counter += 1;
        let shard_counter = self.shard_counter;
        let stream = self.streams.get_mut(&arn).expect("table's stream exists");
        stream.trim(now, config.stream_retention_us);
        let open = stream.shards.last_mut().expect("a stream has a shard");
        if now.saturating_sub(open.created_at) >= config.stream_shard_rollover_us {
            open.ending_sequence_number = Some((sequence - 1).max(open.starting_sequence_number));
            let parent = open.shard_id.clone();
            let unix_ms = config.epoch_unix_secs * 1000 + now.as_ms();
            stream.shards.push(Shard {
                shard_id: format!("shardId-{unix_ms:020}-{shard_counter:08x}"),
                parent_shard_id: Some(parent),
                created_at: now,
                starting_sequence_number: sequence,
                ending_sequence_number: None,
                trimmed_below: sequence,
                records: VecDeque::new(),
            });
        }
        let view = stream.view_type.as_str();
        let event_name = match (&change.old_image, &change.new_image) {
            (None, _) => "INSERT",
            (Some(_), Some(_)) => "MODIFY",
            (Some(_), None) => "REMOVE",
        };
        let new_image = matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES")
            .then(|| change.new_image.clone())
            .flatten();
        let old_image = matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")
            .then(|| change.old_image.clone())
            .flatten();
        let size_bytes = (item_size(&change.key_attrs, &config)
            + new_image.as_ref().map_or(0, |i| item_size(i, &config))
            + old_image.as_ref().map_or(0, |i| item_size(i, &config)))
            as u64;
        let record = StreamRecord {
            event_id: format!("{:032x}", sequence),
            event_name: event_name.to_string(),
            event_version: "1.1".to_string(),
            event_source: "aws:dynamodb".to_string(),
            aws_region: config.region_name.clone(),
            dynamodb: StreamRecordData {
                approximate_creation_date_time: config.epoch_unix_secs + now.as_us() / 1_000_000,
                keys: change.key_attrs.clone(),
                new_image,
                old_image,
                sequence_number: sequence_string(sequence),
                size_bytes,
                stream_view_type: view.to_string(),
            },
            user_identity: by_ttl.then(UserIdentity::dynamodb_service),
        };
        let open = stream.shards.last_mut().expect("a stream has a shard");
        open.records.push_back((sequence, now, record));
    }

    /// ListStreams (ST-07): streams in ARN order, optionally of one table.
    pub fn list_streams(&self, input: &ListStreamsInput) -> Result<ListStreamsOutput, EngineError> {
        let limit = usize::try_from(input.limit.unwrap_or(100).clamp(1, 100)).expect("1..=100");
        let start = input.exclusive_start_stream_arn.as_deref();
        let all: Vec<&Stream> = self
            .streams
            .values()
            .filter(|s| {
                input
                    .table_name
                    .as_deref()
                    .is_none_or(|t| s.table_name == t)
            })
            .filter(|s| start.is_none_or(|a| s.arn.as_str() > a))
            .take(limit + 1)
            .collect();
        let more = all.len() > limit;
        let streams: Vec<StreamSummary> = all
            .into_iter()
            .take(limit)
            .map(|s| StreamSummary {
                stream_arn: s.arn.clone(),
                stream_label: s.label.clone(),
                table_name: s.table_name.clone(),
            })
            .collect();
        Ok(ListStreamsOutput {
            last_evaluated_stream_arn: if more {
                streams.last().map(|s| s.stream_arn.clone())
            } else {
                None
            },
            streams,
        })
    }

    /// DescribeStream (ST-07): shards with lineage and sequence ranges, 100 per page.
    pub fn describe_stream(
        &mut self,
        input: &DescribeStreamInput,
        now: SimTime,
    ) -> Result<DescribeStreamOutput, EngineError> {
        self.observe(now);
        let retention = self.config().stream_retention_us;
        let stream = self
            .streams
            .get_mut(&input.stream_arn)
            .ok_or_else(|| stream_not_found(&input.stream_arn))?;
        stream.trim(now, retention);
        let limit = usize::try_from(input.limit.unwrap_or(100).clamp(1, 100)).expect("1..=100");
        let start = input.exclusive_start_shard_id.as_deref();
        let skip = match start {
            Some(id) => stream
                .shards
                .iter()
                .position(|s| s.shard_id == id)
                .map_or(0, |p| p + 1),
            None => 0,
        };
        let page: Vec<ShardDescription> = stream
            .shards
            .iter()
            .skip(skip)
            .take(limit)
            .map(|s| ShardDescription {
                shard_id: s.shard_id.clone(),
                parent_shard_id: s.parent_shard_id.clone(),
                sequence_number_range: SequenceNumberRange {
                    starting_sequence_number: sequence_string(s.starting_sequence_number),
                    ending_sequence_number: s.ending_sequence_number.map(sequence_string),
                },
            })
            .collect();
        let more = stream.shards.len() > skip + limit;
        Ok(DescribeStreamOutput {
            stream_description: StreamDescription {
                stream_arn: stream.arn.clone(),
                stream_label: stream.label.clone(),
                stream_status: if stream.disabled_at.is_some() {
                    "DISABLED"
                } else {
                    "ENABLED"
                }
                .to_string(),
                stream_view_type: stream.view_type.clone(),
                table_name: stream.table_name.clone(),
                last_evaluated_shard_id: if more {
                    page.last().map(|s| s.shard_id.clone())
                } else {
                    None
                },
                shards: page,
            },
        })
    }

    /// GetShardIterator (ST-08).
    pub fn get_shard_iterator(
        &mut self,
        input: &GetShardIteratorInput,
        now: SimTime,
    ) -> Result<GetShardIteratorOutput, EngineError> {
        self.observe(now);
        let retention = self.config().stream_retention_us;
        let latest = self.sequence + 1;
        let stream = self
            .streams
            .get_mut(&input.stream_arn)
            .ok_or_else(|| stream_not_found(&input.stream_arn))?;
        stream.trim(now, retention);
        let shard = stream.shard(&input.shard_id)?;
        let sequence = || -> Result<u128, EngineError> {
            let text = input.sequence_number.as_deref().ok_or_else(|| {
                EngineError::validation(
                    "Must specify SequenceNumber for ShardIteratorType AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER",
                )
            })?;
            let n = parse_sequence(text).ok_or_else(|| {
                EngineError::validation(format!("Invalid SequenceNumber: {text}"))
            })?;
            let end = shard.ending_sequence_number.unwrap_or(u128::MAX);
            if n < shard.starting_sequence_number || n > end {
                return Err(EngineError::validation(format!(
                    "Invalid SequenceNumber for ShardId {}: {text}",
                    shard.shard_id
                )));
            }
            if n < shard.trim_horizon() {
                return Err(EngineError::new(
                    ErrorKind::TrimmedDataAccessException,
                    "The operation attempted to read past the oldest stream record in a shard.",
                ));
            }
            Ok(n)
        };
        let next = match input.shard_iterator_type.as_str() {
            "TRIM_HORIZON" => shard.trim_horizon(),
            "LATEST" => shard.ending_sequence_number.map_or(latest, |e| e + 1),
            "AT_SEQUENCE_NUMBER" => sequence()?,
            "AFTER_SEQUENCE_NUMBER" => sequence()? + 1,
            other => {
                return Err(EngineError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
                )));
            }
        };
        Ok(GetShardIteratorOutput {
            shard_iterator: encode_iterator(&Position {
                arn: &stream.arn,
                shard_id: &shard.shard_id,
                next,
                issued: now,
            }),
        })
    }

    /// GetRecords (ST-07): at most `Limit` (1..1000) records and 1 MB; the next iterator
    /// is `None` once a closed shard is drained. Iterators expire (ST-08).
    pub fn get_records(
        &mut self,
        input: &GetRecordsInput,
        now: SimTime,
    ) -> Result<GetRecordsOutput, EngineError> {
        self.observe(now);
        let limit = input.limit.unwrap_or(1000);
        if limit > 1000 {
            return Err(EngineError::new(
                ErrorKind::LimitExceededException,
                format!("Limit has to be less than or equal to 1000, but was {limit}"),
            ));
        }
        if limit < 1 {
            return Err(EngineError::validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )));
        }
        let limit = usize::try_from(limit).expect("1..=1000");
        let config = self.config().clone();
        let position = decode_iterator(&input.shard_iterator).ok_or_else(invalid_iterator)?;
        if now.saturating_sub(position.issued) > config.stream_iterator_ttl_us {
            return Err(EngineError::new(
                ErrorKind::ExpiredIteratorException,
                "Iterator expired. The iterator was created at time ".to_string()
                    + &position.issued.to_string()
                    + " while right now it is "
                    + &now.to_string()
                    + ".",
            ));
        }
        let stream = self
            .streams
            .get_mut(position.arn)
            .ok_or_else(|| stream_not_found(position.arn))?;
        stream.trim(now, config.stream_retention_us);
        let shard = stream.shard(position.shard_id)?;
        if position.next < shard.trim_horizon() {
            return Err(EngineError::new(
                ErrorKind::TrimmedDataAccessException,
                "The operation attempted to read past the oldest stream record in a shard.",
            ));
        }
        let mut records = Vec::new();
        let mut bytes = 0usize;
        let mut next = position.next;
        for (n, _, record) in shard.records.iter().filter(|(n, _, _)| *n >= position.next) {
            let size = usize::try_from(record.dynamodb.size_bytes).expect("fits");
            if records.len() == limit
                || (bytes + size > GET_RECORDS_BYTES_MAX && !records.is_empty())
            {
                break;
            }
            bytes += size;
            records.push(record.clone());
            next = n + 1;
        }
        let drained = shard.ending_sequence_number.is_some()
            && !shard.records.iter().any(|(n, _, _)| *n >= next);
        let next_shard_iterator = (!drained).then(|| {
            encode_iterator(&Position {
                arn: position.arn,
                shard_id: position.shard_id,
                next,
                issued: now,
            })
        });
        Ok(GetRecordsOutput {
            records,
            next_shard_iterator,
        })
    }
}

fn stream_not_found(arn: &str) -> EngineError {
    EngineError::new(
        ErrorKind::ResourceNotFoundException,
        format!("Requested resource not found: Stream: {arn} not found"),
    )
}
