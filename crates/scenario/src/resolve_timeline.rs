//! The fault timeline and the assertions.

use crate::model::*;
use crate::raw::{self, S};
use crate::resolve::{Resolver, quoted};
use crate::units;
use dynasim_core::{RegionId, limits};
use std::collections::BTreeSet;
use std::ops::Range;

/// Fault kinds: name, fields allowed besides `kind`/`id`/`at`, fields required, and
/// whether the fault lasts (may have `duration` or be healed) or is instantaneous.
const FAULT_KINDS: &[(&str, &[&str], &[&str], bool)] = &[
    (
        "partition",
        &["sides", "mode", "duration"],
        &["sides"],
        true,
    ),
    (
        "one_way_partition",
        &["from", "to", "mode", "duration"],
        &["from", "to"],
        true,
    ),
    ("heal", &["target"], &["target"], false),
    (
        "link_degrade",
        &["between", "extra_latency", "loss", "duration"],
        &["between"],
        true,
    ),
    ("az_outage", &["az", "duration"], &["az"], true),
    (
        "region_outage",
        &["region", "clients_failover_to", "duration"],
        &["region"],
        true,
    ),
    (
        "clock_skew",
        &["region", "offset", "drift_ppm", "duration"],
        &["region"],
        true,
    ),
    (
        "clock_jump",
        &["region", "offset"],
        &["region", "offset"],
        false,
    ),
    (
        "traffic_spike",
        &["region", "multiplier", "ramp", "duration"],
        &["multiplier"],
        true,
    ),
    (
        "throttle",
        &[
            "table",
            "region",
            "read_units",
            "write_units",
            "billing_mode",
            "duration",
        ],
        &["table"],
        true,
    ),
    (
        "capacity_change",
        &[
            "table",
            "region",
            "read_units",
            "write_units",
            "billing_mode",
            "duration",
        ],
        &["table"],
        true,
    ),
];

/// Assertion kinds: name, fields allowed besides `kind`, fields required.
const ASSERT_KINDS: &[(&str, &[&str], &[&str])] = &[
    ("converged", &["after", "within"], &["within"]),
    ("no_lost_acked_writes", &["allow"], &[]),
    (
        "latency",
        &[
            "op",
            "region",
            "quantile",
            "max",
            "during",
            "exclude_faults",
        ],
        &["op", "quantile", "max"],
    ),
    (
        "stale_read_ratio",
        &["max", "staleness", "region", "during", "exclude_faults"],
        &["max", "staleness"],
    ),
    (
        "replication_lag",
        &["quantile", "max", "from", "to", "during", "exclude_faults"],
        &["quantile", "max"],
    ),
    (
        "throttle_ratio",
        &["max", "region", "during", "exclude_faults"],
        &["max"],
    ),
    (
        "availability",
        &["min", "region", "during", "exclude_faults"],
        &["min"],
    ),
    ("skew_inversions", &["max", "bound"], &["max"]),
    ("lww_losses", &["max"], &["max"]),
    ("consumer_exactly_once", &["consumer"], &["consumer"]),
    (
        "iterator_age",
        &["consumer", "quantile", "max"],
        &["consumer", "quantile", "max"],
    ),
    ("view_converged", &["consumer"], &["consumer"]),
];

fn req<T>(value: &Option<S<T>>) -> &S<T> {
    value
        .as_ref()
        .expect("required fields are checked before a kind is resolved")
}

impl Resolver {
    /// Checks `kind` is known and only its fields are written; returns the kind's index.
    fn check_fields(
        &mut self,
        kind: &S<String>,
        present: &[(&'static str, Range<usize>)],
        kinds: &[(&str, &[&str], &[&str])],
        path: &str,
        what: &str,
    ) -> Option<usize> {
        let Some(index) = kinds.iter().position(|(name, _, _)| name == kind.get_ref()) else {
            let known = quoted(kinds.iter().map(|(name, _, _)| *name));
            self.error(
                kind.span(),
                format!("{path}.kind"),
                format!(
                    "unknown {what} kind {:?}; expected one of {known}",
                    kind.get_ref()
                ),
            );
            return None;
        };
        let (name, allowed, required) = kinds[index];
        let mut ok = true;
        for (field, span) in present {
            if !allowed.contains(field) && !matches!(*field, "id" | "at") {
                let list = allowed.join(", ");
                self.error(
                    span.clone(),
                    format!("{path}.{field}"),
                    format!(
                        "field `{field}` does not apply to kind {name:?}; its fields are: {list}"
                    ),
                );
                ok = false;
            }
        }
        for field in required {
            if !present.iter().any(|(f, _)| f == field) {
                self.error(
                    kind.span(),
                    path,
                    format!("kind {name:?} needs field `{field}`"),
                );
                ok = false;
            }
        }
        ok.then_some(index)
    }

    fn regions_list(
        &mut self,
        names: &[&str],
        span: Range<usize>,
        path: &str,
    ) -> Option<Vec<RegionId>> {
        if names.is_empty() {
            self.error(
                span,
                path,
                "empty region list; expected at least one region",
            );
            return None;
        }
        let ids: Vec<Option<RegionId>> = names
            .iter()
            .map(|n| self.region_named(n, span.clone(), path))
            .collect();
        let ids: Vec<RegionId> = ids.into_iter().collect::<Option<_>>()?;
        let unique: BTreeSet<_> = ids.iter().collect();
        if unique.len() != ids.len() {
            self.error(span, path, "a region is listed twice");
            return None;
        }
        Some(ids)
    }

    fn partition_mode(&mut self, mode: &Option<S<String>>, path: &str) -> Option<PartitionMode> {
        match mode.as_ref().map(|m| (m.get_ref().as_str(), m.span())) {
            None | Some(("drop", _)) => Some(PartitionMode::Drop),
            Some(("hold", _)) => Some(PartitionMode::Hold),
            Some((other, span)) => {
                self.error(
                    span,
                    format!("{path}.mode"),
                    format!("unknown mode {other:?}; expected \"drop\" or \"hold\""),
                );
                None
            }
        }
    }

    fn offset(&mut self, value: &S<String>, path: &str) -> Option<i64> {
        let parsed = units::parse_offset_us(value.get_ref());
        match parsed {
            Some(us) if us.unsigned_abs() <= limits::CLOCK_OFFSET_US_MAX => Some(us),
            Some(_) => {
                let max = units::format_us(limits::CLOCK_OFFSET_US_MAX);
                self.error(
                    value.span(),
                    path,
                    format!("offset {:?} exceeds the limit of ±{max}", value.get_ref()),
                );
                None
            }
            None => {
                let expected = units::OFFSET_EXPECTED;
                self.error(
                    value.span(),
                    path,
                    format!("expected {expected}, found {:?}", value.get_ref()),
                );
                None
            }
        }
    }

    pub(crate) fn faults(&mut self, faults: &[S<raw::Fault>]) -> Option<Vec<Fault>> {
        if faults.len() > limits::FAULTS_MAX {
            let max = limits::FAULTS_MAX;
            self.error(
                faults[max].span(),
                "fault",
                format!("{} faults declared; at most {max}", faults.len()),
            );
            return None;
        }
        let ids = faults.iter().enumerate().filter_map(|(i, f)| {
            f.get_ref()
                .id
                .as_ref()
                .map(|id| (id, format!("fault[{i}].id")))
        });
        self.unique(ids, "fault id");
        self.fault_ids = faults
            .iter()
            .map(|f| f.get_ref().id.as_ref().map(|id| id.get_ref().clone()))
            .collect();
        let mut out: Vec<Option<Fault>> = Vec::new();
        for (i, fault) in faults.iter().enumerate() {
            out.push(self.fault(i, fault.get_ref()));
        }
        // Heals end their targets; checked once every fault is resolved.
        for (i, fault) in faults.iter().enumerate() {
            let f = fault.get_ref();
            let Some(Some(Fault {
                kind: FaultKind::Heal { target },
                start_us,
                ..
            })) = out.get(i).cloned()
            else {
                continue;
            };
            let span = req(&f.target).span();
            let path = format!("fault[{i}].target");
            let target_name = req(&f.target).get_ref().clone();
            let Some(Some(target_fault)) = out.get(target).cloned() else {
                continue;
            };
            let instant = matches!(
                target_fault.kind,
                FaultKind::Heal { .. } | FaultKind::ClockJump { .. }
            );
            if instant {
                self.error(
                    span,
                    path,
                    format!("fault {target_name:?} is instantaneous and cannot be healed"),
                );
            } else if faults[target].get_ref().duration.is_some() {
                self.error(span, path, format!("fault {target_name:?} already heals itself after its `duration`; remove the duration or this heal"));
            } else if let Some(other) = target_fault.healed_by {
                self.error(
                    span,
                    path,
                    format!("fault {target_name:?} is already healed by fault[{other}]"),
                );
            } else if start_us <= target_fault.start_us {
                let (at, target_at) = (
                    units::format_us(start_us),
                    units::format_us(target_fault.start_us),
                );
                self.error(
                    span,
                    path,
                    format!(
                        "heal at {at} is not after fault {target_name:?} starts at {target_at}"
                    ),
                );
            } else if let Some(Some(t)) = out.get_mut(target) {
                t.end_us = Some(start_us);
                t.healed_by = Some(i);
                continue;
            }
            self.heal_rejected.insert(target);
        }
        out.into_iter().collect()
    }

    fn fault(&mut self, i: usize, f: &raw::Fault) -> Option<Fault> {
        let path = format!("fault[{i}]");
        let present = f.present();
        let kind_index = self.check_fields(
            &f.kind,
            &present,
            &FAULT_KINDS
                .iter()
                .map(|(n, a, r, _)| (*n, *a, *r))
                .collect::<Vec<_>>(),
            &path,
            "fault",
        );
        let Some(at) = &f.at else {
            self.error(
                f.kind.span(),
                &path,
                "every fault needs `at` (simulated time since start, e.g. \"60s\")",
            );
            return None;
        };
        let start_us = self.duration(at, &format!("{path}.at"));
        if let Some(s) = start_us
            && s >= self.duration_us
            && self.duration_us > 0
        {
            let end = units::format_us(self.duration_us);
            self.error(
                at.span(),
                format!("{path}.at"),
                format!(
                    "fault at {:?} is at or after the end of the run ({end})",
                    at.get_ref()
                ),
            );
        }
        let lasting = FAULT_KINDS.get(kind_index?).map(|k| k.3)?;
        let duration_us = match &f.duration {
            Some(d) => {
                let us = self.positive_duration(d, &format!("{path}.duration"));
                if let (Some(s), Some(us)) = (start_us, us)
                    && s.saturating_add(us) > self.duration_us
                    && s < self.duration_us
                {
                    let (end, run) = (
                        units::format_us(s.saturating_add(us)),
                        units::format_us(self.duration_us),
                    );
                    self.error(d.span(), format!("{path}.duration"), format!("fault ends at {end}, after the run ends at {run}; omit `duration` to last until the end"));
                }
                Some(us?)
            }
            None => None,
        };
        let kind = self.fault_kind(f, &path)?;
        let start_us = start_us?;
        let end_us = if lasting {
            duration_us.map(|d| start_us.saturating_add(d))
        } else {
            Some(start_us)
        };
        if let FaultKind::TrafficSpike { ramp_us, .. } = &kind
            && let (Some(d), Some(ramp)) = (duration_us, &f.ramp)
            && *ramp_us > d
        {
            self.error(
                ramp.span(),
                format!("{path}.ramp"),
                "ramp is longer than the fault's duration",
            );
        }
        Some(Fault {
            id: f.id.as_ref().map(|s| s.get_ref().clone()),
            start_us,
            end_us,
            healed_by: None,
            kind,
        })
    }

    fn fault_kind(&mut self, f: &raw::Fault, path: &str) -> Option<FaultKind> {
        let p = |field: &str| format!("{path}.{field}");
        Some(match f.kind.get_ref().as_str() {
            "partition" => {
                let sides = req(&f.sides);
                if sides.get_ref().len() < 2 {
                    self.error(
                        sides.span(),
                        p("sides"),
                        "expected at least 2 sides, e.g. [[\"us-east-1\"], [\"eu-west-1\"]]",
                    );
                    return None;
                }
                let mut out = Vec::new();
                let mut seen = BTreeSet::new();
                for (s, side) in sides.get_ref().iter().enumerate() {
                    let names: Vec<&str> = side.iter().map(String::as_str).collect();
                    let ids =
                        self.regions_list(&names, sides.span(), &p(&format!("sides[{s}]")))?;
                    for id in &ids {
                        if !seen.insert(*id) {
                            let name = self.region_name(*id);
                            self.error(
                                sides.span(),
                                p("sides"),
                                format!("region {name:?} is on more than one side"),
                            );
                            return None;
                        }
                    }
                    out.push(ids);
                }
                FaultKind::Partition {
                    sides: out,
                    mode: self.partition_mode(&f.mode, path)?,
                }
            }
            "one_way_partition" => {
                let (from, to) = (req(&f.from), req(&f.to));
                let from_ids = self.regions_list(&from.get_ref().names(), from.span(), &p("from"));
                let to_ids = self.regions_list(&to.get_ref().names(), to.span(), &p("to"));
                let (from_ids, to_ids) = (from_ids?, to_ids?);
                if from_ids.iter().any(|r| to_ids.contains(r)) {
                    self.error(
                        to.span(),
                        p("to"),
                        "a region is on both ends of the one-way partition",
                    );
                    return None;
                }
                FaultKind::OneWayPartition {
                    from: from_ids,
                    to: to_ids,
                    mode: self.partition_mode(&f.mode, path)?,
                }
            }
            "heal" => FaultKind::Heal {
                target: self.fault_ref(req(&f.target), &p("target"), "heal")?,
            },
            "link_degrade" => {
                let between = req(&f.between);
                let names: Vec<&str> = between.get_ref().iter().map(String::as_str).collect();
                let ids = self.regions_list(&names, between.span(), &p("between"))?;
                let [a, b] = ids[..] else {
                    self.error(
                        between.span(),
                        p("between"),
                        format!("{} regions listed; expected exactly 2", ids.len()),
                    );
                    return None;
                };
                let extra = match &f.extra_latency {
                    Some(e) => self.duration(e, &p("extra_latency")),
                    None => Some(0),
                };
                let loss = match &f.loss {
                    Some(l) => self.loss(l, &p("loss")),
                    None => Some(0.0),
                };
                if f.extra_latency.is_none() && f.loss.is_none() {
                    self.error(
                        f.kind.span(),
                        path,
                        "link_degrade needs `extra_latency`, `loss` or both",
                    );
                    return None;
                }
                FaultKind::LinkDegrade {
                    between: [a, b],
                    extra_latency_us: extra?,
                    loss: loss?,
                }
            }
            "az_outage" => {
                let az = req(&f.az);
                match self.az(az.get_ref()) {
                    Some(az) => FaultKind::AzOutage { az },
                    None => {
                        let known = self.az_names();
                        self.error(
                            az.span(),
                            p("az"),
                            format!("unknown AZ {:?}; declared AZs: {known}", az.get_ref()),
                        );
                        return None;
                    }
                }
            }
            "region_outage" => {
                let region = self.region(req(&f.region), &p("region"));
                let failover = match &f.clients_failover_to {
                    Some(t) => Some(self.region(t, &p("clients_failover_to"))?),
                    None => None,
                };
                let region = region?;
                if failover == Some(region) {
                    self.error(
                        req(&f.clients_failover_to).span(),
                        p("clients_failover_to"),
                        "clients cannot fail over to the region that is down",
                    );
                    return None;
                }
                FaultKind::RegionOutage {
                    region,
                    clients_failover_to: failover,
                }
            }
            "clock_skew" => {
                let region = self.region(req(&f.region), &p("region"));
                let offset = match &f.offset {
                    Some(o) => self.offset(o, &p("offset")),
                    None => Some(0),
                };
                let drift = match &f.drift_ppm {
                    Some(d) => self.number(
                        d,
                        &p("drift_ppm"),
                        -limits::CLOCK_DRIFT_PPM_MAX,
                        limits::CLOCK_DRIFT_PPM_MAX,
                    ),
                    None => Some(0.0),
                };
                if f.offset.is_none() && f.drift_ppm.is_none() {
                    self.error(
                        f.kind.span(),
                        path,
                        "clock_skew needs `offset`, `drift_ppm` or both",
                    );
                    return None;
                }
                FaultKind::ClockSkew {
                    region: region?,
                    offset_us: offset?,
                    drift_ppm: drift?,
                }
            }
            "clock_jump" => {
                let region = self.region(req(&f.region), &p("region"));
                let offset = self.offset(req(&f.offset), &p("offset"));
                FaultKind::ClockJump {
                    region: region?,
                    offset_us: offset?,
                }
            }
            "traffic_spike" => {
                let region = match &f.region {
                    Some(r) => Some(self.region(r, &p("region"))?),
                    None => None,
                };
                let multiplier = self.number(
                    req(&f.multiplier),
                    &p("multiplier"),
                    0.0,
                    limits::TRAFFIC_MULTIPLIER_MAX,
                )?;
                let ramp_us = match &f.ramp {
                    Some(r) => self.duration(r, &p("ramp"))?,
                    None => 0,
                };
                FaultKind::TrafficSpike {
                    region,
                    multiplier,
                    ramp_us,
                }
            }
            _ => self.capacity_change(f, path)?,
        })
    }

    fn capacity_change(&mut self, f: &raw::Fault, path: &str) -> Option<FaultKind> {
        let p = |field: &str| format!("{path}.{field}");
        let table = self.table_ref(req(&f.table), &p("table"));
        let region = match &f.region {
            Some(r) => Some(self.region(r, &p("region"))?),
            None => None,
        };
        let units = |r: &mut Resolver, v: &Option<S<i64>>, name: &str| match v {
            Some(v) => r
                .count(v, &p(name), 1, limits::CAPACITY_UNITS_MAX)
                .map(Some),
            None => Some(None),
        };
        let read_units = units(self, &f.read_units, "read_units");
        let write_units = units(self, &f.write_units, "write_units");
        let mode = match f
            .billing_mode
            .as_ref()
            .map(|m| (m.get_ref().as_str(), m.span()))
        {
            None => Some(None),
            Some(("provisioned", _)) => Some(Some(CapacityMode::Provisioned)),
            Some(("on_demand", _)) => Some(Some(CapacityMode::OnDemand)),
            Some((other, span)) => {
                self.error(
                    span,
                    p("billing_mode"),
                    format!(
                        "unknown billing mode {other:?}; expected \"provisioned\" or \"on_demand\""
                    ),
                );
                None
            }
        };
        if f.read_units.is_none() && f.write_units.is_none() && f.billing_mode.is_none() {
            self.error(
                f.kind.span(),
                path,
                format!(
                    "{} needs `read_units`, `write_units` or `billing_mode`",
                    f.kind.get_ref()
                ),
            );
            return None;
        }
        if let (Some(region), Some(t)) = (region, table)
            && !self.replicas_of(t).contains(&region)
        {
            let r = req(&f.region);
            let message = format!(
                "table {:?} has no replica in region {:?}",
                req(&f.table).get_ref(),
                r.get_ref()
            );
            self.error(r.span(), p("region"), message);
            return None;
        }
        Some(FaultKind::CapacityChange {
            table: table?,
            region,
            mode: mode?,
            read_units: read_units?,
            write_units: write_units?,
        })
    }

    pub(crate) fn asserts(
        &mut self,
        asserts: &[S<raw::Assert>],
        faults: Option<&[Fault]>,
    ) -> Option<Vec<Assertion>> {
        if asserts.len() > limits::ASSERTS_MAX {
            let max = limits::ASSERTS_MAX;
            self.error(
                asserts[max].span(),
                "assert",
                format!("{} assertions declared; at most {max}", asserts.len()),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, a) in asserts.iter().enumerate() {
            match self.assertion(&format!("assert[{i}]"), a.get_ref(), faults) {
                Some(a) => out.push(a),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn window(&mut self, a: &raw::Assert, path: &str) -> Option<Window> {
        let during = match &a.during {
            Some(d) => Some(self.phase(d, &format!("{path}.during"))?),
            None => None,
        };
        Some(Window {
            during,
            exclude_faults: a.exclude_faults.as_ref().is_some_and(|e| *e.get_ref()),
        })
    }

    fn scope(&mut self, region: &Option<S<String>>, path: &str) -> Option<RegionScope> {
        match region.as_ref() {
            None => Some(RegionScope::All),
            Some(r) if r.get_ref() == "each" => Some(RegionScope::Each),
            Some(r) if r.get_ref() == "all" => Some(RegionScope::All),
            Some(r) => Some(RegionScope::One(self.region(r, &format!("{path}.region"))?)),
        }
    }

    fn quantile(&mut self, q: &S<f64>, path: &str) -> Option<f64> {
        let v = *q.get_ref();
        if v.is_finite() && v > 0.0 && v <= 1.0 {
            Some(v)
        } else {
            self.error(
                q.span(),
                format!("{path}.quantile"),
                format!("quantile {v} is out of range; expected (0, 1], e.g. 0.99"),
            );
            None
        }
    }

    /// `max`/`min` as a duration, a ratio in [0, 1] or a count, by kind.
    fn max_duration(&mut self, v: &S<toml::Value>, path: &str) -> Option<u64> {
        match v.get_ref() {
            toml::Value::String(s) => self.duration(&S::new(v.span(), s.clone()), path),
            other => {
                let expected = units::DURATION_EXPECTED;
                self.error(
                    v.span(),
                    path,
                    format!("expected {expected}, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn ratio(&mut self, v: &S<toml::Value>, path: &str) -> Option<f64> {
        let n = match v.get_ref() {
            toml::Value::Float(f) => *f,
            toml::Value::Integer(i) => *i as f64,
            other => {
                self.error(
                    v.span(),
                    path,
                    format!(
                        "expected a ratio between 0 and 1, found {}",
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        self.number(&S::new(v.span(), n), path, 0.0, 1.0)
    }

    fn max_count(&mut self, v: &S<toml::Value>, path: &str) -> Option<u64> {
        match v.get_ref() {
            toml::Value::Integer(i) => self.count(&S::new(v.span(), *i), path, 0, u64::MAX >> 1),
            other => {
                self.error(
                    v.span(),
                    path,
                    format!("expected a whole count, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn assertion(
        &mut self,
        path: &str,
        a: &raw::Assert,
        faults: Option<&[Fault]>,
    ) -> Option<Assertion> {
        let index = self.check_fields(&a.kind, &a.present(), ASSERT_KINDS, path, "assertion")?;
        let p = |field: &str| format!("{path}.{field}");
        Some(match ASSERT_KINDS[index].0 {
            "converged" => {
                let within = self.positive_duration(req(&a.within), &p("within"));
                let after = match &a.after {
                    Some(name) => Some(self.fault_ref(name, &p("after"), "converged.after")?),
                    None => None,
                };
                let within = within?;
                if let (Some(index), Some(faults)) = (after, faults) {
                    let name = req(&a.after).get_ref().clone();
                    match faults.get(index).and_then(|f| f.end_us) {
                        None if self.heal_rejected.contains(&index) => return None,
                        None => {
                            self.error(req(&a.after).span(), p("after"), format!("fault {name:?} never heals (no `duration` and no heal), so convergence after it cannot be checked"));
                            return None;
                        }
                        Some(end) if end.saturating_add(within) > self.duration_us => {
                            let (at, run) = (
                                units::format_us(end.saturating_add(within)),
                                units::format_us(self.duration_us),
                            );
                            self.error(req(&a.within).span(), p("within"), format!("deadline {at} ({name:?} ends, plus within) is after the run ends at {run}"));
                            return None;
                        }
                        Some(_) => {}
                    }
                }
                Assertion::Converged {
                    after,
                    within_us: within,
                }
            }
            "no_lost_acked_writes" => {
                let allow = match a.allow.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
                    None | Some(("lww_superseded", _)) => LostWritesAllowance::LwwSuperseded,
                    Some(("none", _)) => LostWritesAllowance::None,
                    Some((other, span)) => {
                        self.error(span, p("allow"), format!("unknown allowance {other:?}; expected \"none\" or \"lww_superseded\""));
                        return None;
                    }
                };
                Assertion::NoLostAckedWrites { allow }
            }
            "latency" => {
                let op_value = req(&a.op);
                let op = parse_op(op_value.get_ref());
                if op.is_none() {
                    let message = format!(
                        "unknown op {:?}; expected one of \"get\", \"put\", \"update\", \"delete\", \"query\", \"conditional_put\", \"transaction\", \"transact_get\", \"index_query\"",
                        op_value.get_ref()
                    );
                    self.error(op_value.span(), p("op"), message);
                }
                let region = self.scope(&a.region, path);
                let quantile = self.quantile(req(&a.quantile), path);
                let max_us = self.max_duration(req(&a.max), &p("max"));
                let window = self.window(a, path);
                Assertion::Latency {
                    op: op?,
                    region: region?,
                    quantile: quantile?,
                    max_us: max_us?,
                    window: window?,
                }
            }
            "stale_read_ratio" => {
                let max = self.ratio(req(&a.max), &p("max"));
                let staleness = self.duration(req(&a.staleness), &p("staleness"));
                let region = self.scope(&a.region, path);
                let window = self.window(a, path);
                Assertion::StaleReadRatio {
                    max: max?,
                    staleness_us: staleness?,
                    region: region?,
                    window: window?,
                }
            }
            "replication_lag" => {
                let quantile = self.quantile(req(&a.quantile), path);
                let max_us = self.max_duration(req(&a.max), &p("max"));
                let from = a.from.as_ref().map(|r| self.region(r, &p("from")));
                let to = a.to.as_ref().map(|r| self.region(r, &p("to")));
                let window = self.window(a, path);
                let (from, to) = (
                    from.map(|r| r.ok_or(())).transpose().ok()?,
                    to.map(|r| r.ok_or(())).transpose().ok()?,
                );
                if from.is_some() && from == to {
                    self.error(
                        req(&a.to).span(),
                        p("to"),
                        "from and to name the same region; replication lag is between two regions",
                    );
                    return None;
                }
                Assertion::ReplicationLag {
                    quantile: quantile?,
                    max_us: max_us?,
                    from,
                    to,
                    window: window?,
                }
            }
            "throttle_ratio" => {
                let max = self.ratio(req(&a.max), &p("max"));
                let region = self.scope(&a.region, path);
                let window = self.window(a, path);
                Assertion::ThrottleRatio {
                    max: max?,
                    region: region?,
                    window: window?,
                }
            }
            "availability" => {
                let min = self.number(req(&a.min), &p("min"), 0.0, 1.0);
                let region = self.scope(&a.region, path);
                let window = self.window(a, path);
                Assertion::Availability {
                    min: min?,
                    region: region?,
                    window: window?,
                }
            }
            "skew_inversions" => {
                let max = self.max_count(req(&a.max), &p("max"));
                let bound = match &a.bound {
                    Some(b) => Some(self.duration(b, &p("bound"))?),
                    None => None,
                };
                Assertion::SkewInversions {
                    max: max?,
                    bound_us: bound,
                }
            }
            "lww_losses" => Assertion::LwwLosses {
                max: self.max_count(req(&a.max), &p("max"))?,
            },
            "consumer_exactly_once" => Assertion::ConsumerExactlyOnce {
                consumer: self.consumer_ref(req(&a.consumer), &p("consumer"))?,
            },
            "view_converged" => {
                let consumer = self.consumer_ref(req(&a.consumer), &p("consumer"))?;
                Assertion::ViewConverged { consumer }
            }
            _ => {
                let consumer = self.consumer_ref(req(&a.consumer), &p("consumer"));
                let quantile = self.quantile(req(&a.quantile), path);
                let max_us = self.max_duration(req(&a.max), &p("max"));
                Assertion::IteratorAge {
                    consumer: consumer?,
                    quantile: quantile?,
                    max_us: max_us?,
                }
            }
        })
    }
}

fn parse_op(name: &str) -> Option<Op> {
    Some(match name {
        "get" => Op::Get,
        "put" => Op::Put,
        "update" => Op::Update,
        "delete" => Op::Delete,
        "query" => Op::Query,
        "conditional_put" => Op::ConditionalPut,
        "transaction" => Op::Transaction,
        "transact_get" => Op::TransactGet,
        "index_query" => Op::IndexQuery,
        _ => return None,
    })
}
