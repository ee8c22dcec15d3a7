//! The fault timeline: turns the scenario's faults into effects at their start and end
//! times, and answers what is in force at a given time (clock offsets, spikes, cuts).

use dynasim_core::RegionId;
use dynasim_scenario::{CapacityMode, Fault, FaultKind, PartitionMode, Scenario};

/// One change to the world, applied at a simulated time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FaultEffect {
    Cut {
        from: RegionId,
        to: RegionId,
        hold: bool,
        one_way: bool,
    },
    Mend {
        from: RegionId,
        to: RegionId,
        hold: bool,
        one_way: bool,
    },
    LinkLatency {
        between: [RegionId; 2],
        extra_us: u64,
        loss: f64,
    },
    RegionDown {
        region: RegionId,
    },
    RegionUp {
        region: RegionId,
    },
    Az {
        region: RegionId,
        az: u8,
        up: bool,
    },
    Capacity {
        table: usize,
        region: Option<RegionId>,
        on_demand: Option<bool>,
        read: Option<f64>,
        write: Option<f64>,
    },
    /// Clock faults and traffic spikes act through queries, not effects; these mark the
    /// moment in the event log.
    Clock,
    Traffic,
}

impl FaultEffect {
    pub(crate) fn describe(&self, scenario: &Scenario) -> String {
        let n = |r: &RegionId| scenario.regions[r.0 as usize].name.as_str();
        match self {
            FaultEffect::Cut {
                from,
                to,
                hold,
                one_way,
            } => format!(
                "cut {}{}{} ({})",
                n(from),
                if *one_way { " -> " } else { " <-> " },
                n(to),
                if *hold { "hold" } else { "drop" }
            ),
            FaultEffect::Mend {
                from, to, one_way, ..
            } => {
                format!(
                    "heal {}{}{}",
                    n(from),
                    if *one_way { " -> " } else { " <-> " },
                    n(to)
                )
            }
            FaultEffect::LinkLatency {
                between,
                extra_us,
                loss,
            } => {
                format!(
                    "link {} <-> {}: +{extra_us}us, loss {loss}",
                    n(&between[0]),
                    n(&between[1])
                )
            }
            FaultEffect::RegionDown { region } => format!("region {} down", n(region)),
            FaultEffect::RegionUp { region } => format!("region {} up", n(region)),
            FaultEffect::Az { region, az, up } => format!(
                "az {} of {} {}",
                scenario.regions[region.0 as usize].azs[*az as usize],
                n(region),
                if *up { "up" } else { "down" }
            ),
            FaultEffect::Capacity {
                table,
                read,
                write,
                on_demand,
                ..
            } => format!(
                "capacity of {}: read {read:?} write {write:?} on_demand {on_demand:?}",
                scenario.tables[*table].name
            ),
            FaultEffect::Clock => "clock change".into(),
            FaultEffect::Traffic => "traffic change".into(),
        }
    }
}

pub(crate) struct ActiveFaults {
    faults: Vec<Fault>,
    schedule: Vec<(u64, FaultEffect)>,
    next: usize,
    /// Baseline one-way latency between regions, for client failover.
    pub one_way_us: Vec<Vec<u64>>,
}

impl ActiveFaults {
    pub(crate) fn new(scenario: &Scenario) -> Self {
        let mut schedule = Vec::new();
        for fault in &scenario.faults {
            let (start, end) = effects(scenario, fault);
            schedule.extend(start.into_iter().map(|e| (fault.start_us, e)));
            if let Some(end_us) = fault.end_us.filter(|e| *e > fault.start_us) {
                schedule.extend(end.into_iter().map(|e| (end_us, e)));
            }
        }
        // Stable: effects at one time keep file order.
        schedule.sort_by_key(|(t, _)| *t);
        let n = scenario.regions.len();
        let mut one_way_us = vec![vec![0; n]; n];
        for (from, to, link) in crate::world::all_links(scenario) {
            one_way_us[from.0 as usize][to.0 as usize] = link.one_way_us;
        }
        ActiveFaults {
            faults: scenario.faults.clone(),
            schedule,
            next: 0,
            one_way_us,
        }
    }

    /// Effects due at or before `now_us` not yet applied.
    pub(crate) fn due(&mut self, now_us: u64) -> Vec<FaultEffect> {
        let mut out = Vec::new();
        while self.next < self.schedule.len() && self.schedule[self.next].0 <= now_us {
            out.push(self.schedule[self.next].1.clone());
            self.next += 1;
        }
        out
    }

    /// Put a fault in force from `now_us` (an interactive action): its start effects are
    /// due at once, after any already due at `now_us`. Returns its index for [`Self::end`].
    pub(crate) fn inject(&mut self, scenario: &Scenario, fault: Fault, now_us: u64) -> usize {
        assert!(fault.start_us == now_us, "injected faults start now");
        assert!(fault.end_us.is_none(), "injected faults end by an action");
        let (start, _) = effects(scenario, &fault);
        self.faults.push(fault);
        self.schedule_now(now_us, start);
        self.faults.len() - 1
    }

    /// End an injected fault at `now_us`: its end effects are due at once.
    pub(crate) fn end(&mut self, scenario: &Scenario, index: usize, now_us: u64) {
        let fault = &mut self.faults[index];
        assert!(fault.end_us.is_none(), "a fault ends once");
        fault.end_us = Some(now_us);
        let (_, end) = effects(scenario, fault);
        self.schedule_now(now_us, end);
    }

    fn schedule_now(&mut self, now_us: u64, effects: Vec<FaultEffect>) {
        let at = self.next + self.schedule[self.next..].partition_point(|(t, _)| *t <= now_us);
        self.schedule
            .splice(at..at, effects.into_iter().map(|e| (now_us, e)));
    }

    /// What is in force now, for the dashboard's header: fault ids, else their kinds.
    pub(crate) fn active_labels(&self, now_us: u64) -> Vec<String> {
        self.active(now_us)
            .filter(|f| !matches!(f.kind, FaultKind::Heal { .. }))
            .map(|f| f.id.clone().unwrap_or_else(|| kind_name(&f.kind).into()))
            .collect()
    }

    fn active(&self, now_us: u64) -> impl Iterator<Item = &Fault> {
        self.faults
            .iter()
            .filter(move |f| f.start_us <= now_us && f.end_us.is_none_or(|e| now_us < e))
    }

    pub(crate) fn region_down(&self, region: RegionId, now_us: u64) -> bool {
        self.active(now_us)
            .any(|f| matches!(f.kind, FaultKind::RegionOutage { region: r, .. } if r == region))
    }

    /// Where clients of a down region go, if the fault says.
    pub(crate) fn failover_for(&self, region: RegionId, now_us: u64) -> Option<RegionId> {
        self.active(now_us).find_map(|f| match f.kind {
            FaultKind::RegionOutage {
                region: r,
                clients_failover_to,
            } if r == region => clients_failover_to,
            _ => None,
        })
    }

    /// Whether a client in `from` can reach region `to` over the network now (only
    /// partitions matter: a down region's clients are still up).
    pub(crate) fn partitioned(&self, from: RegionId, to: RegionId, now_us: u64) -> bool {
        if from == to {
            return false;
        }
        self.active(now_us).any(|f| match &f.kind {
            FaultKind::Partition { sides, .. } => {
                let side_of = |r: RegionId| sides.iter().position(|s| s.contains(&r));
                matches!((side_of(from), side_of(to)), (Some(a), Some(b)) if a != b)
            }
            FaultKind::OneWayPartition {
                from: fs, to: ts, ..
            } => fs.contains(&from) && ts.contains(&to),
            _ => false,
        })
    }

    /// The region's wall-clock offset from true time, in microseconds (may be negative).
    pub(crate) fn clock_offset_us(&self, region: RegionId, now_us: u64) -> i64 {
        let mut offset = 0i64;
        for f in &self.faults {
            match f.kind {
                FaultKind::ClockJump {
                    region: r,
                    offset_us,
                } if r == region && f.start_us <= now_us => offset += offset_us,
                FaultKind::ClockSkew {
                    region: r,
                    offset_us,
                    drift_ppm,
                } if r == region && f.start_us <= now_us && f.end_us.is_none_or(|e| now_us < e) => {
                    let elapsed_s = (now_us - f.start_us) as f64 / 1e6;
                    offset += offset_us + (drift_ppm * elapsed_s) as i64;
                }
                _ => {}
            }
        }
        offset
    }

    /// Multiplier on a region's arrival rate from traffic spikes in force.
    pub(crate) fn traffic_multiplier(&self, region: RegionId, now_us: u64) -> f64 {
        let mut m = 1.0;
        for f in self.active(now_us) {
            if let FaultKind::TrafficSpike {
                region: r,
                multiplier,
                ramp_us,
            } = f.kind
                && r.is_none_or(|r| r == region)
            {
                {
                    let ramp = if ramp_us == 0 {
                        1.0
                    } else {
                        ((now_us - f.start_us) as f64 / ramp_us as f64).min(1.0)
                    };
                    m *= 1.0 + (multiplier - 1.0) * ramp;
                }
            }
        }
        m
    }
}

fn effects(scenario: &Scenario, fault: &Fault) -> (Vec<FaultEffect>, Vec<FaultEffect>) {
    let mut start = Vec::new();
    let mut end = Vec::new();
    match &fault.kind {
        FaultKind::Partition { sides, mode } => {
            let hold = *mode == PartitionMode::Hold;
            for (i, a_side) in sides.iter().enumerate() {
                for b_side in &sides[i + 1..] {
                    for a in a_side {
                        for b in b_side {
                            start.push(FaultEffect::Cut {
                                from: *a,
                                to: *b,
                                hold,
                                one_way: false,
                            });
                            end.push(FaultEffect::Mend {
                                from: *a,
                                to: *b,
                                hold,
                                one_way: false,
                            });
                        }
                    }
                }
            }
        }
        FaultKind::OneWayPartition { from, to, mode } => {
            let hold = *mode == PartitionMode::Hold;
            for a in from {
                for b in to {
                    start.push(FaultEffect::Cut {
                        from: *a,
                        to: *b,
                        hold,
                        one_way: true,
                    });
                    end.push(FaultEffect::Mend {
                        from: *a,
                        to: *b,
                        hold,
                        one_way: true,
                    });
                }
            }
        }
        FaultKind::Heal { .. } => {}
        FaultKind::LinkDegrade {
            between,
            extra_latency_us,
            loss,
        } => {
            start.push(FaultEffect::LinkLatency {
                between: *between,
                extra_us: *extra_latency_us,
                loss: *loss,
            });
            end.push(FaultEffect::LinkLatency {
                between: *between,
                extra_us: 0,
                loss: 0.0,
            });
        }
        FaultKind::AzOutage { az } => {
            start.push(FaultEffect::Az {
                region: az.region,
                az: az.az,
                up: false,
            });
            end.push(FaultEffect::Az {
                region: az.region,
                az: az.az,
                up: true,
            });
        }
        FaultKind::RegionOutage { region, .. } => {
            start.push(FaultEffect::RegionDown { region: *region });
            end.push(FaultEffect::RegionUp { region: *region });
        }
        FaultKind::ClockSkew { .. } | FaultKind::ClockJump { .. } => {
            start.push(FaultEffect::Clock);
            end.push(FaultEffect::Clock);
        }
        FaultKind::TrafficSpike { .. } => {
            start.push(FaultEffect::Traffic);
            end.push(FaultEffect::Traffic);
        }
        FaultKind::CapacityChange {
            table,
            region,
            mode,
            read_units,
            write_units,
        } => {
            start.push(FaultEffect::Capacity {
                table: *table,
                region: *region,
                on_demand: mode.map(|m| m == CapacityMode::OnDemand),
                read: read_units.map(|u| u as f64),
                write: write_units.map(|u| u as f64),
            });
            // A capacity change lasts to the end unless it has a duration: then the
            // table's original settings come back.
            let t = &scenario.tables[*table];
            end.push(FaultEffect::Capacity {
                table: *table,
                region: *region,
                on_demand: Some(t.capacity.mode == CapacityMode::OnDemand),
                read: t.capacity.read_units.map(|u| u as f64),
                write: t.capacity.write_units.map(|u| u as f64),
            });
        }
    }
    (start, end)
}

/// A fault kind as the timeline labels an unnamed fault.
pub(crate) fn kind_name(kind: &FaultKind) -> &'static str {
    match kind {
        FaultKind::Partition { .. } => "partition",
        FaultKind::OneWayPartition { .. } => "one-way partition",
        FaultKind::Heal { .. } => "heal",
        FaultKind::LinkDegrade { .. } => "link degrade",
        FaultKind::AzOutage { .. } => "az outage",
        FaultKind::RegionOutage { .. } => "region outage",
        FaultKind::ClockSkew { .. } => "clock skew",
        FaultKind::ClockJump { .. } => "clock jump",
        FaultKind::TrafficSpike { .. } => "traffic spike",
        FaultKind::CapacityChange { .. } => "capacity change",
    }
}
