//! Deliberately broken replication, for proving that the checkers bite (issue: known-bad
//! systems). Never enabled by a scenario unless it says `bug = ...` under
//! `scenarios/known-bad/`.

use serde::{Deserialize, Serialize};

/// One way to break replication on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnownBug {
    /// The receiver acknowledges but never applies one in `n` replicated writes.
    DropOneIn(u64),
    /// Remote writes are applied whatever their stamp (no LWW comparison).
    ApplyWithoutStampCompare,
    /// Stamps are millisecond wall time without region or sequence, so they collide.
    ReuseStamp,
    /// Deletes leave no tombstone: an older write arriving later resurrects the item.
    ForgetTombstones,
    /// The sender never rewinds to the receiver's vector clock: lost batches stay lost.
    IgnoreVectorClock,
    /// Strongly consistent reads are served by a follower replica (region level).
    StrongReadsFromFollower,
    /// GSIs receive base writes 1,000 times later than configured (region level): index
    /// queries fall tens of seconds behind the table.
    LaggingIndex,
}

impl KnownBug {
    pub(crate) fn drops_entry(self, seq: u64) -> bool {
        matches!(self, KnownBug::DropOneIn(n) if n > 0 && seq.is_multiple_of(n))
    }
}
