//! Capacity over time: runs each region's auto scaling controllers (CA-16) and samples
//! provisioned against consumed units for the report's capacity plot.

use crate::faults::ActiveFaults;
use crate::trace::{Event, EventKind};
use crate::world::Shared;
use dynasim_core::RegionId;
use dynasim_core::history::CapacitySample;
use dynasim_region::partitions::SplitReason;

/// How often the controllers are consulted (they act on whole minutes).
pub(crate) const AUTO_SCALE_INTERVAL_US: u64 = 1_000_000;
/// How often capacity is sampled for plots.
pub(crate) const SAMPLE_INTERVAL_US: u64 = 10_000_000;

/// Consult every live region's auto scaling; each change is an event.
pub(crate) fn auto_scale(s: &mut Shared, faults: &ActiveFaults, now_us: u64) {
    for r in 0..s.regions.len() {
        if faults.region_down(RegionId(r as u16), now_us) {
            continue;
        }
        for scaled in s.regions[r].auto_scale(now_us) {
            let (action, local) = (scaled.action, scaled.table);
            let table = s.global_table[r][local];
            let resource = match scaled.index {
                None => s.table_names[table].clone(),
                Some(g) => format!(
                    "{}.{}",
                    s.table_names[table],
                    s.regions[r].gsi_capacity_use(local)[g].index
                ),
            };
            let detail = format!(
                "auto scaling {} {}: {} {:.0} -> {:.0} units (consumed {:.1}/s)",
                s.region_names[r],
                resource,
                scaled.dimension.name(),
                action.from_units,
                action.to_units,
                action.consumed_per_s
            );
            let event = Event::new(now_us, EventKind::AutoScaling, detail);
            s.hasher.event(&event);
            s.output.events.push(event);
        }
    }
}

/// Split partitions where the region's rules say so (CA-11); each split is an event.
pub(crate) fn maintain_partitions(s: &mut Shared, faults: &ActiveFaults, now_us: u64) {
    for r in 0..s.regions.len() {
        if faults.region_down(RegionId(r as u16), now_us) {
            continue;
        }
        for e in s.regions[r].maintain_partitions(now_us) {
            let table = s.global_table[r][e.table];
            let why = match e.split.reason {
                SplitReason::Heat {
                    read_per_s,
                    write_per_s,
                } => format!("heat: {read_per_s:.0} RCU/s and {write_per_s:.0} WCU/s demanded"),
                SplitReason::Size { bytes } => format!("size: {bytes} bytes"),
                SplitReason::Capacity { partitions_needed } => {
                    format!("capacity needs {partitions_needed} partitions")
                }
            };
            let detail = format!(
                "partition split {} {}: partition {} -> {} + {} ({why}); {} partitions",
                s.region_names[r],
                s.table_names[table],
                e.split.parent,
                e.split.parent,
                e.split.child,
                e.partitions
            );
            let event = Event::new(now_us, EventKind::PartitionSplit, detail);
            s.hasher.event(&event);
            s.output.events.push(event);
        }
    }
}

/// Append one sample per table replica: provisioned units now, consumption per second
/// since the previous sample.
pub(crate) fn sample(s: &mut Shared, now_us: u64) {
    let interval_s = SAMPLE_INTERVAL_US as f64 / 1e6;
    for r in 0..s.regions.len() {
        for local in 0..s.global_table[r].len() {
            let table = s.global_table[r][local];
            let now = s.regions[r].capacity_use(local);
            let before = s.capacity_totals[r][local];
            s.capacity_totals[r][local] = (now.consumed_read_units, now.consumed_write_units);
            s.output.capacity.push(CapacitySample {
                at_us: now_us,
                region: RegionId(r as u16),
                table,
                on_demand: now.on_demand,
                provisioned_read_units: now.provisioned_read_units,
                provisioned_write_units: now.provisioned_write_units,
                consumed_read_per_s: (now.consumed_read_units - before.0) / interval_s,
                consumed_write_per_s: (now.consumed_write_units - before.1) / interval_s,
                index: None,
            });
            for (g, gsi) in s.regions[r].gsi_capacity_use(local).into_iter().enumerate() {
                let before = s
                    .gsi_capacity_totals
                    .insert(
                        (r, local, g),
                        (gsi.consumed_read_units, gsi.consumed_write_units),
                    )
                    .unwrap_or((0.0, 0.0));
                s.output.capacity.push(CapacitySample {
                    at_us: now_us,
                    region: RegionId(r as u16),
                    table,
                    on_demand: now.on_demand,
                    provisioned_read_units: gsi.provisioned_read_units,
                    provisioned_write_units: gsi.provisioned_write_units,
                    consumed_read_per_s: (gsi.consumed_read_units - before.0) / interval_s,
                    consumed_write_per_s: (gsi.consumed_write_units - before.1) / interval_s,
                    index: Some(gsi.index),
                });
            }
        }
    }
}
