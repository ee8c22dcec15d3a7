//! Fixed formatting for evidence and verdict names: region names, stamps, durations,
//! ratios and quantiles always print the same way (determinism checklist item 7).

use dynasim_core::history::{KeyRef, OpKind, OpRecord, RunOutput};
use dynasim_core::{RegionId, Stamp};

pub(crate) fn region(run: &RunOutput, r: RegionId) -> String {
    match run.region_names.get(usize::from(r.0)) {
        Some(name) => name.clone(),
        None => r.to_string(),
    }
}

/// `hlc@region#seq`, e.g. `1700000000123456@us-east-1#17`.
pub(crate) fn stamp(run: &RunOutput, s: Stamp) -> String {
    format!("{}@{}#{}", s.hlc_us, region(run, s.region), s.seq)
}

pub(crate) fn opt_stamp(run: &RunOutput, s: Option<Stamp>) -> String {
    s.map_or_else(|| "no stamp".to_string(), |s| stamp(run, s))
}

/// `put op 12 in us-east-1 (stamp …, acknowledged at 1.000000s)`.
pub(crate) fn write(run: &RunOutput, op: &OpRecord) -> String {
    let what = match &op.written {
        Some(w) => format!("stamp {}", stamp(run, w.stamp)),
        None => "no stamp".to_string(),
    };
    format!(
        "{} op {} in {} ({what}, {} at {})",
        kind(op.kind),
        op.id,
        region(run, op.region),
        if matches!(op.result, dynasim_core::history::OpResult::Ok) {
            "acknowledged"
        } else {
            "outcome unknown"
        },
        time(op.complete_us)
    )
}

/// `table 0 key 17`.
pub(crate) fn key(k: KeyRef) -> String {
    format!("table {} key {}", k.table, k.key)
}

pub(crate) fn kind(k: OpKind) -> &'static str {
    k.name()
}

/// Simulated time as seconds with six decimals: `12.000345s`.
pub(crate) fn time(us: u64) -> String {
    format!("{}.{:06}s", us / 1_000_000, us % 1_000_000)
}

/// A duration in the largest unit that keeps it exact up to three decimals:
/// `10s`, `12ms`, `12.345ms`, `250us`.
pub(crate) fn duration(us: u64) -> String {
    if us >= 1_000_000 {
        if us.is_multiple_of(1_000_000) {
            format!("{}s", us / 1_000_000)
        } else {
            format!("{:.3}s", us as f64 / 1e6)
        }
    } else if us >= 1_000 {
        if us.is_multiple_of(1_000) {
            format!("{}ms", us / 1_000)
        } else {
            format!("{:.3}ms", us as f64 / 1e3)
        }
    } else {
        format!("{us}us")
    }
}

/// A ratio with four decimals.
pub(crate) fn ratio(x: f64) -> String {
    format!("{x:.4}")
}

/// `p99`, `p99.9`, `p50`, `p100`.
pub(crate) fn quantile(q: f64) -> String {
    let pct = format!("{:.4}", q * 100.0);
    let pct = pct.trim_end_matches('0').trim_end_matches('.');
    format!("p{pct}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_formats() {
        assert_eq!(duration(10_000_000), "10s");
        assert_eq!(duration(12_000), "12ms");
        assert_eq!(duration(12_345), "12.345ms");
        assert_eq!(duration(250), "250us");
        assert_eq!(quantile(0.99), "p99");
        assert_eq!(quantile(0.999), "p99.9");
        assert_eq!(quantile(1.0), "p100");
        assert_eq!(time(1_000_345), "1.000345s");
    }
}
