//! Internal consistency of a [`Scenario`] built in Rust: every index in range, every
//! window inside the run. The loader's output always passes (asserted in debug builds),
//! so this pairs the checks made while reading with checks of what was produced.

use crate::model::*;
use dynasim_core::{RegionId, limits};

impl Scenario {
    /// Checks a scenario built in Rust (or edited after loading). Returns every problem
    /// found, each naming the field path, e.g. `faults[2].kind: heal target 9 out of range`.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut problem = |path: String, message: &str| problems.push(format!("{path}: {message}"));
        let regions = self.regions.len();
        let region_ok = |r: RegionId| usize::from(r.0) < regions;
        if !(limits::REGIONS_MIN..=limits::REGIONS_MAX).contains(&regions) {
            problem("regions".into(), "region count outside the limits");
        }
        for (i, region) in self.regions.iter().enumerate() {
            if usize::from(region.id.0) != i {
                problem(
                    format!("regions[{i}].id"),
                    "id differs from the region's position",
                );
            }
        }
        if self.sim.duration_us == 0 || self.sim.duration_us > limits::SIM_DURATION_US_MAX {
            problem("sim.duration_us".into(), "zero or above the limit");
        }
        if self.sim.tick_us == 0 || !self.sim.tick_us.is_multiple_of(1_000) {
            problem(
                "sim.tick_us".into(),
                "not a positive whole number of milliseconds",
            );
        }
        for (i, link) in self.network.links.iter().enumerate() {
            if !region_ok(link.from) || !region_ok(link.to) || link.from == link.to {
                problem(
                    format!("network.links[{i}]"),
                    "region out of range or a self-link",
                );
            }
        }
        for (i, table) in self.tables.iter().enumerate() {
            if table.replicas.is_empty() || !table.replicas.iter().all(|r| region_ok(*r)) {
                problem(
                    format!("tables[{i}].replicas"),
                    "empty or a region out of range",
                );
            }
            if table
                .witness
                .is_some_and(|w| !region_ok(w) || table.replicas.contains(&w))
            {
                problem(
                    format!("tables[{i}].witness"),
                    "out of range or also a replica",
                );
            }
        }
        let mut start_us = 0;
        for (i, phase) in self.phases.iter().enumerate() {
            if phase.start_us != start_us {
                problem(
                    format!("phases[{i}].start_us"),
                    "phases must run back to back",
                );
            }
            start_us = phase.start_us.saturating_add(phase.duration_us);
            if phase.keys.table >= self.tables.len() {
                problem(format!("phases[{i}].keys.table"), "table out of range");
            }
            if !phase
                .clients
                .iter()
                .all(|(r, w)| region_ok(*r) && w.is_finite() && *w > 0.0)
            {
                problem(
                    format!("phases[{i}].clients"),
                    "region out of range or weight not positive",
                );
            }
            if phase.clients.is_empty() {
                problem(format!("phases[{i}].clients"), "no clients");
            }
        }
        if start_us > self.sim.duration_us {
            problem("phases".into(), "phases end after the run");
        }
        for (i, fault) in self.faults.iter().enumerate() {
            if fault.start_us >= self.sim.duration_us {
                problem(
                    format!("faults[{i}].start_us"),
                    "at or after the end of the run",
                );
            }
            if fault
                .end_us
                .is_some_and(|end| end < fault.start_us || end > self.sim.duration_us)
            {
                problem(
                    format!("faults[{i}].end_us"),
                    "before the start or after the run",
                );
            }
            if let FaultKind::Heal { target } = fault.kind {
                let healed = self
                    .faults
                    .get(target)
                    .is_some_and(|t| t.healed_by == Some(i));
                if !healed {
                    problem(
                        format!("faults[{i}].kind"),
                        "heal target out of range or not marked healed_by this heal",
                    );
                }
            }
            if let Some(heal) = fault.healed_by {
                let pairs = self
                    .faults
                    .get(heal)
                    .is_some_and(|h| h.kind == FaultKind::Heal { target: i });
                if !pairs || fault.end_us != self.faults.get(heal).map(|h| h.start_us) {
                    problem(
                        format!("faults[{i}].healed_by"),
                        "does not name a heal of this fault ending it",
                    );
                }
            }
        }
        for (i, assertion) in self.asserts.iter().enumerate() {
            let during = match assertion {
                Assertion::Latency { window, .. }
                | Assertion::StaleReadRatio { window, .. }
                | Assertion::ReplicationLag { window, .. }
                | Assertion::ThrottleRatio { window, .. }
                | Assertion::Availability { window, .. } => window.during,
                _ => None,
            };
            if during.is_some_and(|p| p >= self.phases.len()) {
                problem(format!("asserts[{i}].during"), "phase out of range");
            }
            if let Assertion::Converged { after: Some(f), .. } = assertion
                && self.faults.get(*f).is_none_or(|f| f.end_us.is_none())
            {
                problem(
                    format!("asserts[{i}].after"),
                    "fault out of range or never ends",
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
