//! dynasim-replication: the sans-IO replicator of one table replica in one region.
//!
//! It implements DynamoDB global tables' MREC replication (reference GT-09..GT-20):
//! every local write is stamped ([`Stamp`]: hybrid-logical time from the region's own
//! clock, origin region, sequence), appended to this region's change log, and shipped to
//! every other replica region as acknowledged batches. A receiver applies a remote write
//! only if its stamp is greater than the stored one (GT-12), keeps stamped tombstones for
//! deletes until every region has seen them, and records in a vector clock which origin
//! writes it has applied. Acknowledgements carry that vector clock, so after a drop, a
//! partition or a region restart the sender resumes from exactly what the receiver has.
//!
//! Architecture invariants:
//! - No I/O, clock or randomness: time and messages come in as arguments, messages and
//!   apply effects go out as values. The turmoil driver and the HTTP server both host it.
//! - Keys `K` and item images `P` are opaque: the replicator never looks inside an item.
//! - Everything iterated is a `BTreeMap` or a `VecDeque` in sequence order, so the output
//!   is a pure function of the inputs.

use crdts::{CmRDT, Dot, VClock};
use dynasim_core::{HybridClock, RegionId, Stamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque, hash_map};
use std::hash::Hash;

mod bugs;
pub use bugs::KnownBug;

/// What a replica has seen: the highest contiguous sequence applied per origin region.
pub type SeenClock = VClock<RegionId>;

mod context;
pub use context::Context;

/// Join `other` into `context` (pointwise maximum).
pub fn join_context(context: &mut Context, other: &Context) {
    context.join(other);
}

/// Replicator settings. Defaults follow the scenario example and reference LT-07.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplicatorConfig {
    /// Entries in this region's change log not yet acknowledged by the slowest peer.
    /// A full log is back-pressure: [`Replicator::has_room`] turns false.
    pub queue_items_max: usize,
    /// Entries per replication message.
    pub batch_items_max: usize,
    /// Entries sent but not yet acknowledged, per peer (go-back-N window).
    pub window_items_max: usize,
    /// Resend from the last acknowledged sequence after this long without ack progress.
    pub resend_after_us: u64,
    /// How often a receiver reports its vector clock even with nothing new (drives
    /// catch-up after a heal or restart).
    pub ack_interval_us: u64,
    /// Whether applying a remote write advances the local hybrid clock. DynamoDB stamps
    /// with the accepting region's clock (GT-12, SD-02), so by default it does not, and a
    /// region whose clock is behind can lose a causally later write (a skew inversion).
    pub observe_remote_stamps: bool,
    /// GT-09: each source partition replicates on its own, so a receiver applies the
    /// writes of different partitions in parallel streams and their order can differ
    /// from the source order across items (never within one item). Received entries go
    /// to one of this many streams by key; 1 (the library default) is one ordered
    /// stream per origin.
    #[serde(default = "one_stream")]
    pub partition_streams: u16,
    /// Most extra delay a stream adds to the entries it carries: each (origin, stream)
    /// draws its delay from `0..=stream_skew_us_max` per [`STREAM_SKEW_PERIOD_US`] from a
    /// hash of its identity (no randomness, so the replicator stays a pure function).
    #[serde(default)]
    pub stream_skew_us_max: u64,
    /// Test-only: deliberately broken behaviour, to prove the checkers bite.
    pub bug: Option<KnownBug>,
}

fn one_stream() -> u16 {
    1
}

/// How long one partition stream keeps the delay it drew (GT-09 model).
pub const STREAM_SKEW_PERIOD_US: u64 = 1_000_000;

impl Default for ReplicatorConfig {
    fn default() -> Self {
        ReplicatorConfig {
            queue_items_max: 200_000,
            batch_items_max: 100,
            window_items_max: 2_000,
            resend_after_us: 500_000,
            ack_interval_us: 200_000,
            observe_remote_stamps: false,
            partition_streams: 1,
            stream_skew_us_max: 0,
            bug: None,
        }
    }
}

impl ReplicatorConfig {
    /// Whether received entries wait in partition streams (GT-09) rather than being
    /// applied as soon as they are contiguous.
    pub fn holds_entries(&self) -> bool {
        self.partition_streams > 1 && self.stream_skew_us_max > 0
    }
}

/// One replicated change: the whole new image of an item (or its deletion).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry<K, P> {
    /// Origin sequence: contiguous from 1 in the origin's change log.
    pub seq: u64,
    pub key: K,
    /// `None` is a delete (a tombstone at the receiver).
    pub image: Option<P>,
    pub stamp: Stamp,
    /// What writes to this item the origin had seen, including this one.
    pub context: Context,
    /// True simulated time of the origin's write, for replication-lag metrics.
    pub written_at_us: u64,
}

/// A replication message between two replicas of one table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message<K, P> {
    /// Consecutive entries of `origin`'s change log.
    Batch {
        origin: RegionId,
        entries: Vec<Entry<K, P>>,
    },
    /// The receiver's vector clock (cumulative ack) and its own log head, which the
    /// origin uses to resume and to collect tombstones.
    Ack {
        from: RegionId,
        seen: SeenClock,
        head_seq: u64,
    },
}

/// What handling one message produced: writes to apply to the table, and an ack to send.
pub type Handled<K, P> = (Vec<Apply<K, P>>, Option<Message<K, P>>);

/// The stored version of one item at this replica.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub stamp: Stamp,
    pub deleted: bool,
    /// Every write to this item this replica has seen (applied or discarded).
    pub context: Context,
}

/// What happened to a local write once stamped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalWrite {
    pub stamp: Stamp,
    /// The writes to this item this region had seen before this one (causal context),
    /// as a [`Context::dense`] vector: what the history records.
    pub context_before: Vec<u64>,
    /// `Some(winner)` when the stored version already carries a larger stamp: the
    /// write is acknowledged but loses at once (LWW by timestamp; a skew inversion when
    /// the winner is causally earlier). The host must keep the stored image.
    pub superseded_by: Option<Stamp>,
}

/// Outcome of applying one remote entry. The host applies `Applied` images to its table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Apply<K, P> {
    Applied {
        key: K,
        image: Option<P>,
        stamp: Stamp,
        /// The stamp this write replaced, if the item had one.
        replaced: Option<Stamp>,
        /// The replaced write was concurrent with this one (not in its causal context):
        /// an LWW overwrite, recorded as an event.
        concurrent: bool,
        written_at_us: u64,
    },
    /// The stored version had a larger stamp; the incoming write lost (LWW).
    Discarded {
        key: K,
        stamp: Stamp,
        winner: Stamp,
        written_at_us: u64,
    },
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct PeerStream {
    /// Highest sequence the peer has acknowledged.
    acked_seq: u64,
    /// Highest sequence sent (may run ahead of `acked_seq` by the window).
    sent_seq: u64,
    /// When `acked_seq` last advanced or a (re)send started.
    progress_at_us: u64,
    /// The peer's own log head, from its last ack.
    peer_head_seq: u64,
    peer_seen: SeenClock,
}

/// The replicator of one table replica in one region.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Replicator<K: Ord + Hash, P> {
    local: RegionId,
    config: ReplicatorConfig,
    clock: HybridClock,
    /// Hashed, for point lookups on every write and read (a B-tree search here missed
    /// the cache at every level). Iteration order never reaches behaviour: callers get
    /// the versions sorted by key ([`Replicator::versions`]); the hasher is fixed so
    /// that even the map's internal order is the same in every run.
    versions: HashMap<K, Version, VersionHasher>,
    /// Own change log: entries `log_base_seq + 1 ..= head_seq`.
    log: VecDeque<Entry<K, P>>,
    log_base_seq: u64,
    head_seq: u64,
    peers: BTreeMap<RegionId, PeerStream>,
    /// Highest contiguous origin sequence applied here, per origin.
    seen: SeenClock,
    last_ack_at_us: u64,
    tombstones_checked_at_us: u64,
    /// Entries received ahead of a gap, per origin, by sequence (bounded by the window).
    reorder: BTreeMap<RegionId, BTreeMap<u64, Entry<K, P>>>,
    /// GT-09: contiguous entries received but not yet applied, per origin, in their
    /// partition streams. Empty unless [`ReplicatorConfig::holds_entries`].
    held: BTreeMap<RegionId, OriginStreams<K, P>>,
    /// Tombstones awaiting collection, with per-region watermarks once known.
    tombstones: BTreeMap<K, TombstoneWait>,
    counters: Counters,
    /// Scratch space of [`Replicator::release_into`], empty between calls.
    #[serde(skip)]
    release_buffer: Vec<(Entry<K, P>, bool)>,
}

/// One origin's partition streams at a receiver (GT-09).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct OriginStreams<K, P> {
    /// Highest contiguous sequence received (applied or held). At least the seen clock's
    /// entry for the origin, which counts applied entries only.
    received_seq: u64,
    /// Indexed by stream; each in sequence order, releasing no earlier than the entry
    /// before it (a stream is FIFO, so one item's writes keep their order).
    streams: Vec<PartitionStream<K, P>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct PartitionStream<K, P> {
    last_release_us: u64,
    queue: VecDeque<(u64, Entry<K, P>)>,
}

impl<K, P> OriginStreams<K, P> {
    fn held(&self) -> usize {
        self.streams.iter().map(|s| s.queue.len()).sum()
    }

    /// The smallest sequence still held, if any: everything below it is applied.
    fn first_held_seq(&self) -> Option<u64> {
        self.streams
            .iter()
            .filter_map(|s| s.queue.front().map(|(_, e)| e.seq))
            .min()
    }

    /// The stream whose next entry is due first, if it is due by `now_us`: ties go to
    /// the lower sequence, so one release order holds in every run.
    fn next_due(&self, now_us: u64) -> Option<usize> {
        self.streams
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.queue.front().map(|(at, e)| (*at, e.seq, i)))
            .filter(|(at, _, _)| *at <= now_us)
            .min()
            .map(|(_, _, i)| i)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TombstoneWait {
    origin: Option<RegionId>,
    origin_seq: u64,
    /// Per peer: that peer's log head when it first acknowledged seeing the delete.
    watermarks: BTreeMap<RegionId, u64>,
}

/// Running totals, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub local_writes: u64,
    pub remote_applied: u64,
    pub remote_discarded: u64,
    pub duplicates_ignored: u64,
    pub gaps_dropped: u64,
    pub entries_sent: u64,
    pub entries_resent: u64,
    pub tombstones_collected: u64,
    pub lww_overwrites: u64,
    /// GT-09: remote entries applied before an earlier entry of the same origin (another
    /// partition stream was slower).
    pub applied_out_of_order: u64,
    /// GT-09: entries that waited in a partition stream before being applied.
    pub entries_held: u64,
}

/// The version map's hasher: fixed seed, so nothing about the map depends on the process.
type VersionHasher = foldhash::fast::FixedState;

impl<K: Ord + Hash + Clone, P: Clone> Replicator<K, P> {
    pub fn new(local: RegionId, peers: &[RegionId], config: ReplicatorConfig) -> Self {
        assert!(
            config.batch_items_max > 0,
            "batch_items_max must be positive"
        );
        assert!(
            config.window_items_max >= config.batch_items_max,
            "window below one batch"
        );
        assert!(!peers.contains(&local), "a replica is not its own peer");
        let limit = dynasim_core::limits::REGIONS_MAX;
        assert!(
            std::iter::once(&local)
                .chain(peers)
                .all(|r| usize::from(r.0) < limit),
            "region ids are below the {limit}-region limit (a context has one counter per region)"
        );
        assert!(
            config.partition_streams > 0,
            "at least one partition stream"
        );
        Replicator {
            local,
            config,
            clock: HybridClock::default(),
            versions: HashMap::default(),
            log: VecDeque::new(),
            log_base_seq: 0,
            head_seq: 0,
            peers: peers.iter().map(|p| (*p, PeerStream::default())).collect(),
            seen: VClock::new(),
            last_ack_at_us: 0,
            tombstones_checked_at_us: 0,
            reorder: BTreeMap::new(),
            held: BTreeMap::new(),
            tombstones: BTreeMap::new(),
            counters: Counters::default(),
            release_buffer: Vec::new(),
        }
    }

    pub fn local(&self) -> RegionId {
        self.local
    }

    /// Make room for `keys` more versions up front (a host that knows how many items it
    /// will hold): a growing version map moves every version at each doubling.
    pub fn reserve_versions(&mut self, keys: usize) {
        self.versions.reserve(keys);
    }

    pub fn config(&self) -> &ReplicatorConfig {
        &self.config
    }

    /// False when the slowest peer is `queue_items_max` entries behind: the host must
    /// refuse new local writes (back-pressure) instead of growing the log.
    pub fn has_room(&self) -> bool {
        self.log.len() < self.config.queue_items_max
    }

    /// Entries not yet acknowledged by `peer`.
    pub fn backlog(&self, peer: RegionId) -> u64 {
        self.peers
            .get(&peer)
            .map_or(0, |p| self.head_seq - p.acked_seq)
    }

    pub fn seen(&self) -> &SeenClock {
        &self.seen
    }

    pub fn version<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&Version>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.versions.get(key)
    }

    /// Every version, in an order fixed by the run but meaningless: for callers that
    /// sort what they build from it, or only count.
    pub fn versions_unordered(&self) -> impl ExactSizeIterator<Item = (&K, &Version)> {
        self.versions.iter()
    }

    /// Every version, in key order (sorted on each call: for final states and
    /// dashboards, not per operation).
    pub fn versions(&self) -> impl Iterator<Item = (&K, &Version)> {
        let mut sorted: Vec<(&K, &Version)> = self.versions.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        sorted.into_iter()
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub fn head_seq(&self) -> u64 {
        self.head_seq
    }

    /// Stamp and log a local write whose new image (`None` = delete) the host's engine
    /// produced. `wall_us` is the region's wall clock; `now_us` true simulated time.
    pub fn record_local(
        &mut self,
        key: K,
        image: Option<P>,
        wall_us: u64,
        now_us: u64,
    ) -> LocalWrite {
        assert!(
            self.has_room(),
            "record_local called without room: the host must check has_room"
        );
        let log_seq = self.head_seq + 1;
        let mut stamp = self.clock.stamp(self.local, wall_us);
        debug_assert_eq!(stamp.seq, log_seq, "log sequence follows the clock");
        if self.config.bug == Some(KnownBug::ReuseStamp) {
            // Broken on purpose: millisecond stamps without region or sequence, so two
            // regions writing in the same millisecond produce the same stamp.
            stamp = Stamp {
                hlc_us: wall_us / 1_000 * 1_000,
                region: RegionId(0),
                seq: 0,
            };
        }
        let deleted = image.is_none();
        let local_dot = Dot::new(self.local, log_seq);
        let seen = &self.seen;
        // Everything this replica has applied happened before this write (its seen
        // clock), plus whatever this item's version carries (e.g. MRSC synchronous
        // applies not yet counted in the seen clock). Tombstone collection drops a
        // version's own context, never the seen clock.
        let merge_seen = |context: &mut Context| context.join_clock(seen);
        // One search of the version map for the read and the update. The stored version
        // is updated in place: its context becomes this write's context (every local
        // write, winning or superseded, joins the item's context), and the log entry
        // carries a copy of it.
        let (context_before, superseded_by, was_deleted, version) =
            match self.versions.entry(key.clone()) {
                hash_map::Entry::Occupied(o) => {
                    let version = o.into_mut();
                    let was_deleted = version.deleted;
                    let context = &mut version.context;
                    merge_seen(context);
                    let context_before = context.dense();
                    context.apply(local_dot);
                    let superseded_by = if version.stamp > stamp {
                        Some(version.stamp)
                    } else {
                        version.stamp = stamp;
                        version.deleted = deleted;
                        None
                    };
                    (context_before, superseded_by, was_deleted, version)
                }
                hash_map::Entry::Vacant(v) => {
                    let mut context = Context::new();
                    merge_seen(&mut context);
                    let context_before = context.dense();
                    context.apply(local_dot);
                    let version = v.insert(Version {
                        stamp,
                        deleted,
                        context,
                    });
                    (context_before, None, false, version)
                }
            };
        // A single-region table keeps no log (nobody will acknowledge it).
        let context = (!self.peers.is_empty()).then_some(version.context);
        self.seen.apply(Dot::new(self.local, log_seq));
        if superseded_by.is_none() {
            self.track_tombstone(&key, deleted, was_deleted, None, log_seq);
        }
        match context {
            Some(context) => {
                self.head_seq = log_seq;
                self.log.push_back(Entry {
                    seq: log_seq,
                    key,
                    image,
                    stamp,
                    context,
                    written_at_us: now_us,
                });
            }
            None => {
                // What pushing the entry and truncating the log to the head would leave:
                // an empty log based at the new head.
                self.truncate_log();
                debug_assert!(self.log.is_empty(), "no peers: the log is truncated");
                self.head_seq = log_seq;
                self.log_base_seq = log_seq;
            }
        }
        self.counters.local_writes += 1;
        LocalWrite {
            stamp,
            context_before,
            superseded_by,
        }
    }

    /// Messages to send now: new or resent batches to each peer, and a periodic ack.
    pub fn poll(&mut self, now_us: u64) -> Vec<(RegionId, Message<K, P>)> {
        let mut out = Vec::new();
        let peer_ids: Vec<RegionId> = self.peers.keys().copied().collect();
        for peer in peer_ids {
            self.poll_peer(peer, now_us, &mut out);
        }
        if now_us >= self.last_ack_at_us + self.config.ack_interval_us {
            self.last_ack_at_us = now_us;
            for peer in self.peers.keys() {
                out.push((*peer, self.ack_message()));
            }
        }
        out
    }

    fn poll_peer(&mut self, peer: RegionId, now_us: u64, out: &mut Vec<(RegionId, Message<K, P>)>) {
        let config = &self.config;
        let stream = self
            .peers
            .get_mut(&peer)
            .expect("peer stream exists for every peer");
        let stalled = stream.sent_seq > stream.acked_seq
            && now_us >= stream.progress_at_us + config.resend_after_us;
        if stalled && config.bug == Some(KnownBug::IgnoreVectorClock) {
            // Broken on purpose: assume whatever was sent arrived, never resend.
            stream.acked_seq = stream.sent_seq;
            stream.progress_at_us = now_us;
        } else if stalled {
            // Go back N: resend from the last acknowledged sequence.
            let resend = stream.sent_seq - stream.acked_seq;
            self.counters.entries_resent += resend;
            stream.sent_seq = stream.acked_seq;
            stream.progress_at_us = now_us;
        }
        while stream.sent_seq < self.head_seq
            && stream.sent_seq - stream.acked_seq < config.window_items_max as u64
        {
            if stream.sent_seq == stream.acked_seq {
                stream.progress_at_us = now_us;
            }
            let first = stream.sent_seq + 1;
            let room = config.window_items_max as u64 - (stream.sent_seq - stream.acked_seq);
            let last = (first + config.batch_items_max as u64 - 1)
                .min(self.head_seq)
                .min(stream.sent_seq + room);
            debug_assert!(
                first > self.log_base_seq,
                "entries after the last ack are still in the log"
            );
            let start = (first - self.log_base_seq - 1) as usize;
            let end = (last - self.log_base_seq) as usize;
            let entries: Vec<Entry<K, P>> = self.log.range(start..end).cloned().collect();
            debug_assert_eq!(entries.first().map(|e| e.seq), Some(first));
            self.counters.entries_sent += entries.len() as u64;
            stream.sent_seq = last;
            out.push((
                peer,
                Message::Batch {
                    origin: self.local,
                    entries,
                },
            ));
        }
    }

    fn ack_message(&self) -> Message<K, P> {
        Message::Ack {
            from: self.local,
            seen: self.seen.clone(),
            head_seq: self.head_seq,
        }
    }

    /// Handle a message from a peer: apply a batch (returning what to apply to the table
    /// and an ack to send back) or process an ack.
    pub fn on_message(&mut self, msg: Message<K, P>, now_us: u64) -> Handled<K, P> {
        match msg {
            Message::Batch { origin, entries } => {
                let mut applied = self.on_batch(origin, entries, now_us);
                self.release_into(now_us, &mut applied);
                self.last_ack_at_us = now_us;
                (applied, Some(self.ack_message()))
            }
            Message::Ack {
                from,
                seen,
                head_seq,
            } => {
                self.on_ack(from, seen, head_seq, now_us);
                (Vec::new(), None)
            }
        }
    }

    fn on_batch(
        &mut self,
        origin: RegionId,
        entries: Vec<Entry<K, P>>,
        now_us: u64,
    ) -> Vec<Apply<K, P>> {
        assert_ne!(origin, self.local, "a region never receives its own log");
        let ignore_clock = self.config.bug == Some(KnownBug::IgnoreVectorClock);
        let mut applied = Vec::with_capacity(entries.len());
        for entry in entries {
            let have = self.received_seq(origin);
            if entry.seq <= have {
                self.counters.duplicates_ignored += 1;
                continue;
            }
            if entry.seq != have + 1 && !ignore_clock {
                // Out of order (jitter reorders datagrams) or after a loss: park it in
                // the bounded reorder buffer until the gap fills; the origin resends
                // whatever was really lost.
                let parked = self.reorder.entry(origin).or_default();
                if parked.len() < self.config.window_items_max {
                    parked.entry(entry.seq).or_insert(entry);
                } else {
                    self.counters.gaps_dropped += 1;
                }
                continue;
            }
            self.accept(origin, entry, now_us, &mut applied);
            // The gap may have closed: drain parked successors in order.
            loop {
                let next = self.received_seq(origin) + 1;
                let Some(parked) = self.reorder.get_mut(&origin) else {
                    break;
                };
                while parked.first_key_value().is_some_and(|(seq, _)| *seq < next) {
                    parked.pop_first();
                }
                let Some(entry) = parked.remove(&next) else {
                    break;
                };
                self.accept(origin, entry, now_us, &mut applied);
            }
        }
        applied
    }

    /// Highest contiguous sequence of `origin` received here, applied or held.
    fn received_seq(&self, origin: RegionId) -> u64 {
        match self.held.get(&origin) {
            Some(streams) => streams.received_seq,
            None => self.seen.get(&origin),
        }
    }

    /// The next contiguous entry of `origin`: apply it now, or (GT-09) queue it in its
    /// partition stream for [`Replicator::release_into`].
    fn accept(
        &mut self,
        origin: RegionId,
        entry: Entry<K, P>,
        now_us: u64,
        applied: &mut Vec<Apply<K, P>>,
    ) {
        if !self.config.holds_entries() {
            self.seen.apply(Dot::new(origin, entry.seq));
            if self.config.bug.is_some_and(|b| b.drops_entry(entry.seq)) {
                return; // Broken on purpose: acknowledged but never applied.
            }
            applied.push(self.apply_remote(entry));
            return;
        }
        let stream = self.stream_of(&entry.key);
        let release_at_us = now_us + self.stream_delay_us(origin, stream, now_us);
        let count = usize::from(self.config.partition_streams);
        let seen = self.seen.get(&origin);
        let streams = self.held.entry(origin).or_insert_with(|| OriginStreams {
            received_seq: seen,
            streams: (0..count)
                .map(|_| PartitionStream {
                    last_release_us: 0,
                    queue: VecDeque::new(),
                })
                .collect(),
        });
        debug_assert!(
            entry.seq == streams.received_seq + 1 || self.config.bug.is_some(),
            "streams receive in order"
        );
        streams.received_seq = entry.seq;
        let s = &mut streams.streams[stream];
        // FIFO per stream: never before the entry ahead of it.
        let release_at_us = release_at_us.max(s.last_release_us);
        s.last_release_us = release_at_us;
        if release_at_us > now_us {
            self.counters.entries_held += 1;
        }
        s.queue.push_back((release_at_us, entry));
    }

    /// The partition stream an item's writes travel in: fixed per key, so one item's
    /// writes are applied in their source order (GT-09 reorders across items only).
    fn stream_of(&self, key: &K) -> usize {
        use std::hash::BuildHasher;
        let streams = u64::from(self.config.partition_streams);
        (VersionHasher::default().hash_one(key) % streams) as usize
    }

    /// The delay `stream` of `origin` adds at `now_us`: drawn per period from a hash of
    /// (receiver, origin, stream, period), so streams drift apart and back together.
    fn stream_delay_us(&self, origin: RegionId, stream: usize, now_us: u64) -> u64 {
        let identity =
            (u64::from(self.local.0) << 48) ^ (u64::from(origin.0) << 32) ^ stream as u64;
        let period = now_us / STREAM_SKEW_PERIOD_US;
        dynasim_core::splitmix64(dynasim_core::splitmix64(identity) ^ period)
            % (self.config.stream_skew_us_max + 1)
    }

    /// GT-09: apply the held entries due by `now_us`, in release order. The seen clock
    /// (and so every ack) covers an origin's entries only up to the first one still
    /// held, so nothing acknowledged waits in a stream.
    fn release_into(&mut self, now_us: u64, applied: &mut Vec<Apply<K, P>>) {
        if self.held.is_empty() {
            return;
        }
        // The buffer is kept between calls: a release runs on every batch and message.
        let mut due = std::mem::take(&mut self.release_buffer);
        debug_assert!(due.is_empty(), "the release buffer is left empty");
        for (origin, streams) in self.held.iter_mut() {
            while let Some(i) = streams.next_due(now_us) {
                let (_, entry) = streams.streams[i]
                    .queue
                    .pop_front()
                    .expect("next_due names a stream with an entry");
                let overtook = streams.first_held_seq().is_some_and(|s| s < entry.seq);
                due.push((entry, overtook));
            }
            let applied_prefix = streams
                .first_held_seq()
                .map_or(streams.received_seq, |s| s - 1);
            if applied_prefix > self.seen.get(origin) {
                self.seen.apply(Dot::new(*origin, applied_prefix));
            }
        }
        applied.reserve(due.len());
        for (entry, overtook) in due.drain(..) {
            if overtook {
                self.counters.applied_out_of_order += 1;
            }
            if self.config.bug.is_some_and(|b| b.drops_entry(entry.seq)) {
                continue; // Broken on purpose: acknowledged but never applied.
            }
            applied.push(self.apply_remote(entry));
        }
        self.release_buffer = due;
    }

    /// GT-09: apply what the partition streams release by `now_us`. Hosts call it at
    /// least every batch interval (a batch's arrival also releases what is due).
    pub fn release(&mut self, now_us: u64) -> Vec<Apply<K, P>> {
        let mut applied = Vec::new();
        self.release_into(now_us, &mut applied);
        applied
    }

    /// Entries received and waiting in partition streams.
    pub fn held_entries(&self) -> usize {
        self.held.values().map(OriginStreams::held).sum()
    }

    /// The LWW rule (GT-12): apply only if the incoming stamp is greater than the stored one.
    fn apply_remote(&mut self, entry: Entry<K, P>) -> Apply<K, P> {
        if self.config.observe_remote_stamps {
            self.clock.observe(entry.stamp);
        }
        let compare = self.config.bug != Some(KnownBug::ApplyWithoutStampCompare);
        let stored = self.versions.get_mut(&entry.key);
        if let Some(v) = stored
            .as_ref()
            .filter(|v| v.stamp == entry.stamp && self.config.bug.is_none())
        {
            // The same write again: MRSC applied it synchronously before the stream
            // delivered it. Stamps are unique per write, so this is not a conflict.
            let winner = v.stamp;
            self.counters.duplicates_ignored += 1;
            return Apply::Discarded {
                key: entry.key,
                stamp: entry.stamp,
                winner,
                written_at_us: entry.written_at_us,
            };
        }
        match stored {
            Some(v) if compare && v.stamp >= entry.stamp => {
                join_context(&mut v.context, &entry.context);
                self.counters.remote_discarded += 1;
                Apply::Discarded {
                    key: entry.key,
                    stamp: entry.stamp,
                    winner: v.stamp,
                    written_at_us: entry.written_at_us,
                }
            }
            previous => {
                let deleted = entry.image.is_none();
                // Update the stored version in place (one search, no copy of its clock).
                let (replaced, concurrent, was_deleted) = match previous {
                    Some(v) => {
                        let concurrent = entry.context.get(&v.stamp.region) < v.stamp.seq;
                        let replaced = v.stamp;
                        let was_deleted = v.deleted;
                        join_context(&mut v.context, &entry.context);
                        v.stamp = entry.stamp;
                        v.deleted = deleted;
                        (Some(replaced), concurrent, was_deleted)
                    }
                    None => {
                        self.versions.insert(
                            entry.key.clone(),
                            Version {
                                stamp: entry.stamp,
                                deleted,
                                context: entry.context,
                            },
                        );
                        (None, false, false)
                    }
                };
                self.track_tombstone(
                    &entry.key,
                    deleted,
                    was_deleted,
                    Some(entry.stamp.region),
                    entry.stamp.seq,
                );
                self.counters.remote_applied += 1;
                if concurrent {
                    self.counters.lww_overwrites += 1;
                }
                Apply::Applied {
                    key: entry.key,
                    image: entry.image,
                    stamp: entry.stamp,
                    replaced,
                    concurrent,
                    written_at_us: entry.written_at_us,
                }
            }
        }
    }

    /// MRSC: apply a write synchronously, before the origin's stream delivers it (the
    /// stream's copy is then a duplicate). LWW rules as for any remote write; the seen
    /// clock is not advanced (it counts contiguous stream entries only).
    pub fn apply_synchronous(
        &mut self,
        key: K,
        image: Option<P>,
        stamp: Stamp,
        context: Context,
        now_us: u64,
    ) -> Apply<K, P> {
        assert_ne!(
            stamp.region, self.local,
            "a synchronous apply comes from another region"
        );
        let entry = Entry {
            seq: 0,
            key,
            image,
            stamp,
            context,
            written_at_us: now_us,
        };
        self.apply_remote(entry)
    }

    /// Keep `key`'s tombstone in step with its new version. `was_deleted`: the version
    /// it replaced was a delete. Only deleted versions have tombstones (collection
    /// removes both), so a write over a live version has none to remove and skips the
    /// search of the tombstone map (most writes: it was 2% of a busy run).
    fn track_tombstone(
        &mut self,
        key: &K,
        deleted: bool,
        was_deleted: bool,
        origin: Option<RegionId>,
        origin_seq: u64,
    ) {
        if !deleted {
            if was_deleted {
                self.tombstones.remove(key);
            }
            debug_assert!(
                !self.tombstones.contains_key(key),
                "a tombstone belongs to a deleted version"
            );
            return;
        }
        if self.config.bug == Some(KnownBug::ForgetTombstones) {
            // Broken on purpose: the delete leaves no stamp behind.
            self.versions.remove(key);
            return;
        }
        let origin = Some(origin.unwrap_or(self.local));
        self.tombstones.insert(
            key.clone(),
            TombstoneWait {
                origin,
                origin_seq,
                watermarks: BTreeMap::new(),
            },
        );
    }

    fn on_ack(&mut self, from: RegionId, seen: SeenClock, head_seq: u64, now_us: u64) {
        let Some(stream) = self.peers.get_mut(&from) else {
            return; // Not a peer of this table (yet): ignore.
        };
        let acked = seen.get(&self.local).min(self.head_seq);
        if acked > stream.acked_seq {
            stream.acked_seq = acked;
            stream.progress_at_us = now_us;
        }
        if stream.sent_seq < stream.acked_seq {
            stream.sent_seq = stream.acked_seq;
        }
        stream.peer_head_seq = head_seq;
        stream.peer_seen = seen;
        self.truncate_log();
        // Tombstone collection scans every tombstone: do it at the ack interval, not
        // on every ack.
        if now_us >= self.tombstones_checked_at_us + self.config.ack_interval_us {
            self.tombstones_checked_at_us = now_us;
            let peers: Vec<RegionId> = self.peers.keys().copied().collect();
            for peer in peers {
                self.collect_tombstones(peer);
            }
        }
    }

    fn truncate_log(&mut self) {
        let min_acked = self
            .peers
            .values()
            .map(|p| p.acked_seq)
            .min()
            .unwrap_or(self.head_seq);
        while self.log_base_seq < min_acked {
            let entry = self
                .log
                .pop_front()
                .expect("log holds every unacknowledged entry");
            debug_assert_eq!(entry.seq, self.log_base_seq + 1);
            self.log_base_seq += 1;
        }
    }

    /// A tombstone may go once every region has seen the delete and this replica has
    /// applied everything each region wrote before it saw the delete (so no older write
    /// still in flight can resurrect the item).
    fn collect_tombstones(&mut self, from: RegionId) {
        let stream = &self.peers[&from];
        let mut ready = Vec::new();
        for (key, wait) in self.tombstones.iter_mut() {
            let origin = wait.origin.expect("tombstone has an origin");
            let peer_saw = if origin == from {
                true
            } else {
                stream.peer_seen.get(&origin) >= wait.origin_seq
            };
            if peer_saw && !wait.watermarks.contains_key(&from) {
                wait.watermarks.insert(from, stream.peer_head_seq);
            }
            let all_watermarks = wait.watermarks.len() == self.peers.len();
            if all_watermarks && wait.watermarks.iter().all(|(r, w)| self.seen.get(r) >= *w) {
                ready.push(key.clone());
            }
        }
        for key in ready {
            self.tombstones.remove(&key);
            let version = self.versions.remove(&key);
            debug_assert!(
                version.is_some_and(|v| v.deleted),
                "only deleted items are collected"
            );
            self.counters.tombstones_collected += 1;
        }
    }

    /// A new replica region joins this table's replication group (GT-19). The joiner was
    /// backfilled from a snapshot taken under the same lock, so it already holds every
    /// entry of this log: its stream starts at the current head.
    pub fn add_peer(&mut self, peer: RegionId, now_us: u64) {
        assert_ne!(peer, self.local, "a replica is not its own peer");
        let limit = dynasim_core::limits::REGIONS_MAX;
        assert!(
            usize::from(peer.0) < limit,
            "region ids are below the {limit}-region limit (a context has one counter per region)"
        );
        let stream = PeerStream {
            acked_seq: self.head_seq,
            sent_seq: self.head_seq,
            progress_at_us: now_us,
            ..PeerStream::default()
        };
        self.peers.entry(peer).or_insert(stream);
    }

    /// A replica region leaves the group (ReplicaUpdates Delete): stop sending to it.
    pub fn remove_peer(&mut self, peer: RegionId) {
        self.peers.remove(&peer);
        self.reorder.remove(&peer);
        self.held.remove(&peer);
        for wait in self.tombstones.values_mut() {
            wait.watermarks.remove(&peer);
        }
        self.truncate_log();
    }

    /// A joining replica: count `origin`'s log as applied up to `seq`, because the
    /// backfill snapshot already holds those writes. Pairs with [`Replicator::add_peer`]
    /// at the origin, whose stream to the joiner starts after `seq`.
    pub fn mark_seen(&mut self, origin: RegionId, seq: u64) {
        assert_ne!(origin, self.local, "a replica has always seen its own log");
        assert!(
            self.seen.get(&origin) <= seq,
            "the seen clock never moves back"
        );
        if seq > 0 {
            self.seen.apply(Dot::new(origin, seq));
        }
        // The snapshot covers whatever a stream still held up to `seq`.
        if let Some(streams) = self.held.get_mut(&origin) {
            for stream in &mut streams.streams {
                stream.queue.retain(|(_, e)| e.seq > seq);
            }
            streams.received_seq = streams.received_seq.max(seq);
        }
    }

    /// Tombstones still held.
    pub fn tombstone_count(&self) -> usize {
        self.tombstones.len()
    }

    /// Forget in-flight work (a region restart): resume sending from what peers
    /// acknowledged, and drop what the partition streams held, which was never
    /// acknowledged, so the origins send it again.
    pub fn restart(&mut self, now_us: u64) {
        for stream in self.peers.values_mut() {
            stream.sent_seq = stream.acked_seq;
            stream.progress_at_us = now_us;
        }
        for (origin, streams) in self.held.iter_mut() {
            for stream in &mut streams.streams {
                stream.queue.clear();
                stream.last_release_us = 0;
            }
            streams.received_seq = self.seen.get(origin);
        }
        self.last_ack_at_us = 0;
    }
}

#[cfg(test)]
mod tests;
