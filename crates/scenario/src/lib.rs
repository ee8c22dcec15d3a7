//! dynasim-scenario: scenario files in, a typed and validated [`Scenario`] out.
//!
//! A scenario states what the user asked for (regions, network, tables, workload phases,
//! a fault timeline, assertions) and nothing derived from a run. Every reference is
//! resolved to an index (regions to [`RegionId`] in declaration order, AZs to [`AzRef`],
//! tables, phases and faults to positions), every duration to whole microseconds
//! (fields ending `_us`), every size to bytes (`_bytes`).
//!
//! Invalid files give a [`ScenarioError::Invalid`] listing every problem found as
//! `file:line:column: field.path: message`. Syntax, type and unknown-field errors come
//! from the TOML parser, one at a time; all other checks are collected together. No input
//! makes this crate panic.
//!
//! Architecture invariants: layer 1, depends only on dynasim-core; no I/O besides reading
//! the one file in [`Scenario::from_file`]; knows nothing of turmoil or of the engine.

mod check;
mod error;
mod latency;
mod model;
mod raw;
mod resolve;
mod resolve_consumers;
mod resolve_timeline;
mod resolve_workload;
pub mod units;

pub use error::{Diagnostic, ScenarioError};
pub use latency::{DEFAULT_INTER_REGION_ONE_WAY_US, default_inter_region_link};
pub use model::*;

use dynasim_core::RegionId;
use std::path::Path;

impl Scenario {
    /// Reads and validates a scenario file. Errors name the path as given.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: file.clone(),
            source,
        })?;
        Scenario::from_str(&text, &file)
    }

    /// Parses and validates scenario text; `display_name` is used in error messages.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, display_name: &str) -> Result<Scenario, ScenarioError> {
        let issues = match toml::from_str::<raw::File>(text) {
            Ok(file) => match resolve::resolve(file) {
                Ok(scenario) => {
                    debug_assert_eq!(
                        scenario.check(),
                        Ok(()),
                        "the loader produced an inconsistent scenario"
                    );
                    return Ok(scenario);
                }
                Err(issues) => issues,
            },
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let path = error::path_at(text, span.start);
                let mut message = e.message().trim_end().to_string();
                if let Some(suggestion) = error::did_you_mean(&message) {
                    message.push_str(&format!("; did you mean `{suggestion}`?"));
                }
                if message.ends_with("expected a string")
                    && !message.contains("invalid type: string")
                {
                    message.push_str(
                        " (durations and sizes are quoted, with units: \"60s\", \"4KiB\")",
                    );
                }
                vec![error::Issue {
                    span,
                    path,
                    message,
                }]
            }
        };
        let diagnostics = error::to_diagnostics(text, display_name, issues);
        Err(ScenarioError::Invalid { diagnostics })
    }

    /// The region with this name.
    pub fn region_id(&self, name: &str) -> Option<RegionId> {
        self.regions.iter().find(|r| r.name == name).map(|r| r.id)
    }

    /// The delay model of traffic from one region to another: the declared link if any,
    /// else [`default_inter_region_link`]. `None` for an unknown id or `from == to`.
    pub fn link(&self, from: RegionId, to: RegionId) -> Option<LinkSpec> {
        if from == to {
            return None;
        }
        if let Some(link) = self
            .network
            .links
            .iter()
            .find(|l| l.from == from && l.to == to)
        {
            return Some(link.spec);
        }
        let from = self.regions.get(usize::from(from.0))?;
        let to = self.regions.get(usize::from(to.0))?;
        Some(default_inter_region_link(&from.name, &to.name))
    }

    /// When the run ends, in microseconds of simulated time.
    pub fn end_us(&self) -> u64 {
        self.sim.duration_us
    }

    /// Index of the fault with this id.
    pub fn fault_index(&self, id: &str) -> Option<FaultIndex> {
        self.faults.iter().position(|f| f.id.as_deref() == Some(id))
    }
}
