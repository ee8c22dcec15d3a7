//! What the checker says: verdicts (one per assertion, plus the always-on safety checks),
//! findings with evidence, and the summaries behind them. Every collection is sorted, every
//! float that a human reads is also given as a fixed-precision string.

use dynasim_core::Stamp;
use dynasim_core::history::KeyRef;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Outcome of one verdict. Ordered by severity: `Pass < Unknown < Fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// The history cannot decide it (no samples, a search over budget, replication not
    /// drained).
    Unknown,
    Fail,
}

/// One checked assertion.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// Stable, human name, e.g. `latency get p99 us-east-1`. Unique within a report.
    pub assertion: String,
    /// Position in `Scenario::asserts`; `None` for an always-on safety check.
    pub index: Option<usize>,
    pub status: Status,
    /// What was measured, formatted with fixed precision (`"12.345ms"`, `"0.0123"`).
    pub observed: String,
    /// The same as a number, when it is one (microseconds, a ratio or a count).
    pub observed_value: Option<f64>,
    /// The bound it was held to, formatted like `observed` (`"<= 12ms"`).
    pub bound: String,
    /// First offending operations and a sentence of explanation each; capped.
    pub evidence: Vec<String>,
}

/// Classes of what happened to a write (architecture guide section 5). The first three
/// are legitimate and counted; the rest are bugs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingKind {
    /// Superseded by a write that had seen it (loser's dot <= winner's context).
    Overwritten,
    /// Lost to a concurrent write (neither had seen the other) with a larger stamp.
    LwwConcurrentLoss,
    /// Lost to a causally earlier write whose stamp is larger because of clock skew, by
    /// no more than the skew bound.
    SkewInversion,
    /// A skew inversion larger than the skew bound: the clocks cannot explain it.
    SkewInversionBeyondBound,
    /// Acknowledged, not final, and no write to the item has a larger stamp.
    Lost,
    /// A replica's final version is not the largest-stamped acknowledged write.
    WrongWinner,
    /// Replicas disagree after replication drained.
    Diverged,
    /// A replica holds a value although a delete with a larger stamp was acknowledged.
    Resurrected,
    /// A value or a version no write produced (in a replica or returned by a read).
    Garbage,
    /// Two different writes to one item carry the same stamp: LWW cannot order them.
    DuplicateStamp,
}

impl FindingKind {
    pub const ALL: [FindingKind; 10] = [
        FindingKind::Overwritten,
        FindingKind::LwwConcurrentLoss,
        FindingKind::SkewInversion,
        FindingKind::SkewInversionBeyondBound,
        FindingKind::Lost,
        FindingKind::WrongWinner,
        FindingKind::Diverged,
        FindingKind::Resurrected,
        FindingKind::Garbage,
        FindingKind::DuplicateStamp,
    ];

    /// The name used in reports and evidence, e.g. `LWW_CONCURRENT_LOSS`.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Overwritten => "OVERWRITTEN",
            FindingKind::LwwConcurrentLoss => "LWW_CONCURRENT_LOSS",
            FindingKind::SkewInversion => "SKEW_INVERSION",
            FindingKind::SkewInversionBeyondBound => "SKEW_INVERSION_BEYOND_BOUND",
            FindingKind::Lost => "LOST",
            FindingKind::WrongWinner => "WRONG_WINNER",
            FindingKind::Diverged => "DIVERGED",
            FindingKind::Resurrected => "RESURRECTED",
            FindingKind::Garbage => "GARBAGE",
            FindingKind::DuplicateStamp => "DUPLICATE_STAMP",
        }
    }

    /// Whether a finding of this kind is a bug in the system under test.
    pub fn is_bug(self) -> bool {
        !matches!(
            self,
            FindingKind::Overwritten | FindingKind::LwwConcurrentLoss | FindingKind::SkewInversion
        )
    }
}

/// One classified write or one bad item, with its evidence sentence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub key: KeyRef,
    /// The op the finding is about (the losing write, the bad read), if any.
    pub op: Option<u64>,
    pub stamp: Option<Stamp>,
    /// The stamp that won against it, if any.
    pub winner: Option<Stamp>,
    pub evidence: String,
}

/// LWW classification of every acknowledged write (and the final-state checks).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LwwSummary {
    pub writes_acknowledged: u64,
    /// Acknowledged writes whose version is the final one of their item.
    pub writes_final: u64,
    /// Every kind, zero counts included, so the report's shape never changes.
    pub counts: BTreeMap<FindingKind, u64>,
    /// Largest legitimate inversion, microseconds (`None`: unbounded).
    pub skew_bound_us: Option<u64>,
    /// Largest inversion seen: winner's HLC minus loser's HLC, microseconds.
    pub skew_inversion_max_us: u64,
    /// The first findings of each kind, sorted by (kind, key, op); at most
    /// `CheckConfig::examples_max` per kind.
    pub examples: Vec<Finding>,
}

impl LwwSummary {
    pub fn count(&self, kind: FindingKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
    /// Findings that are bugs, all kinds together.
    pub fn bugs(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| k.is_bug())
            .map(|(_, n)| n)
            .sum()
    }
}

/// How long replication took to settle after one fault ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealConvergence {
    /// Index into `Scenario::faults`.
    pub fault: usize,
    /// The fault's id, or `faults[i]`.
    pub name: String,
    pub end_us: u64,
    /// Writes acknowledged by `end_us` that had to settle.
    pub writes: u64,
    /// Time after `end_us` until each was applied (or superseded) in every replica;
    /// `None` when one never was.
    pub converge_us: Option<u64>,
    /// The write that settled last (or never), as a sentence.
    pub evidence: Option<String>,
}

/// Final-state agreement of the replicas, and settle times after heals.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConvergenceSummary {
    pub tables: u64,
    /// Tables whose replicas' digests differ.
    pub tables_diverged: u64,
    pub keys_diverged: u64,
    /// No fault still active at the end and every replication backlog empty: only then
    /// is a divergence a bug (else the verdict is `unknown`).
    pub drained: bool,
    pub heals: Vec<HealConvergence>,
    /// Time after the end of the run until every acknowledged write settled (usually
    /// `Some(0)` or `None`).
    pub end_converge_us: Option<u64>,
    pub examples: Vec<Finding>,
}

/// Per-key linearizability of strongly consistent operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LinearizabilitySummary {
    /// (region, key) histories (or keys of MRSC tables) with at least one strong read.
    pub keys_checked: u64,
    pub keys_decided: u64,
    pub keys_over_budget: u64,
    pub keys_violating: u64,
    pub ops_checked: u64,
    pub states_explored: u64,
    pub examples: Vec<String>,
}

/// Read-side statistics over the whole run (the assertions apply windows of their own).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReadSummary {
    pub reads: u64,
    pub strong_reads: u64,
    /// Reads returning a value no write to the key produced (also counted as GARBAGE).
    pub garbage_reads: u64,
    /// Session guarantees of strongly consistent reads (must hold) ...
    pub strong_read_your_writes_violations: u64,
    pub strong_monotonic_read_violations: u64,
    /// ... and of eventually consistent reads (DynamoDB does not promise them; counted).
    pub eventual_read_your_writes_violations: u64,
    pub eventual_monotonic_read_violations: u64,
    pub linearizability: LinearizabilitySummary,
    pub examples: Vec<String>,
}

/// Everything `check` concluded about one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    /// The worst verdict status.
    pub status: Status,
    /// Scenario assertions in file order (each `RegionScope::Each` expanded in region
    /// order), then the safety checks.
    pub verdicts: Vec<Verdict>,
    pub lww: LwwSummary,
    pub convergence: ConvergenceSummary,
    pub reads: ReadSummary,
    /// Present when the run had transactions or transactional gets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions: Option<crate::TransactionSummary>,
    /// Present when the run made index queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexes: Option<crate::IndexReadSummary>,
}

impl Report {
    pub fn failed(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.status == Status::Fail)
    }
    pub fn verdict(&self, assertion: &str) -> Option<&Verdict> {
        self.verdicts.iter().find(|v| v.assertion == assertion)
    }
    /// The CLI's exit code for this report (architecture guide section 7): 0 every
    /// verdict passed, 1 one failed, 3 none failed but one is unknown.
    pub fn exit_code(&self) -> u8 {
        match self.status {
            Status::Pass => 0,
            Status::Fail => 1,
            Status::Unknown => 3,
        }
    }
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Unknown => "UNKNOWN",
            Status::Fail => "FAIL",
        }
    }
}

/// `FAIL latency get p99 us-east-1: observed 20ms, bound <= 10ms`, then the evidence of a
/// verdict that did not pass, indented.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: observed {}, bound {}",
            self.status.name(),
            self.assertion,
            self.observed,
            self.bound
        )?;
        if self.status != Status::Pass {
            for line in &self.evidence {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

/// One line per verdict (with evidence under those that did not pass), then the overall
/// status: what a failed `assert_passed()` prints.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for v in &self.verdicts {
            writeln!(f, "{v}")?;
        }
        write!(
            f,
            "{}: scenario {} seed {}",
            self.status.name(),
            self.scenario,
            self.seed
        )
    }
}
