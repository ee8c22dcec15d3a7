//! Which part of the run an assertion looks at: a phase (or the whole run), optionally
//! without the time in which a fault is active.

use dynasim_scenario::{FaultKind, Scenario, Window};

/// A time filter built from a [`Window`].
#[derive(Clone, Debug)]
pub(crate) struct TimeWindow {
    from_us: u64,
    to_us: u64,
    /// Merged, sorted `[start, end)` intervals in which a fault is active (empty unless
    /// faults are excluded).
    faults: Vec<(u64, u64)>,
    label: String,
}

impl TimeWindow {
    pub(crate) fn new(scenario: &Scenario, window: &Window) -> TimeWindow {
        let (from_us, to_us, mut label) = match window.during.and_then(|p| scenario.phases.get(p)) {
            Some(phase) => (
                phase.start_us,
                phase.start_us.saturating_add(phase.duration_us),
                format!(" during {}", phase.name),
            ),
            None => (0, u64::MAX, String::new()),
        };
        let faults = if window.exclude_faults {
            label.push_str(" excluding faults");
            active_fault_intervals(scenario)
        } else {
            Vec::new()
        };
        TimeWindow {
            from_us,
            to_us,
            faults,
            label,
        }
    }

    /// Whether something that started at `start_us` and lasted until `end_us` is in the
    /// window: it starts inside the phase and overlaps no excluded fault.
    pub(crate) fn admits(&self, start_us: u64, end_us: u64) -> bool {
        debug_assert!(start_us <= end_us, "an interval ends after it starts");
        if start_us < self.from_us || start_us >= self.to_us {
            return false;
        }
        let first = self.faults.partition_point(|(_, end)| *end <= start_us);
        !matches!(self.faults.get(first), Some((start, _)) if *start <= end_us)
    }

    /// `" during steady excluding faults"`, or empty for the whole run.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }
}

/// Intervals in which a fault with a duration is active, merged. Heals and clock jumps
/// are instantaneous and exclude nothing; a fault without an end lasts forever.
pub(crate) fn active_fault_intervals(scenario: &Scenario) -> Vec<(u64, u64)> {
    let mut intervals: Vec<(u64, u64)> = scenario
        .faults
        .iter()
        .filter(|f| !matches!(f.kind, FaultKind::Heal { .. } | FaultKind::ClockJump { .. }))
        .map(|f| (f.start_us, f.end_us.unwrap_or(u64::MAX)))
        .filter(|(start, end)| end > start)
        .collect();
    intervals.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(intervals.len());
    for (start, end) in intervals {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_respects_phase_and_fault_intervals() {
        let w = TimeWindow {
            from_us: 100,
            to_us: 1_000,
            faults: vec![(200, 300), (500, 600)],
            label: String::new(),
        };
        assert!(!w.admits(50, 60), "before the phase");
        assert!(w.admits(100, 150));
        assert!(!w.admits(150, 200), "touches a fault start");
        assert!(!w.admits(250, 260), "inside a fault");
        assert!(w.admits(300, 400), "a fault's end is exclusive");
        assert!(!w.admits(400, 700), "spans a fault");
        assert!(!w.admits(1_000, 1_001), "after the phase");
    }
}
