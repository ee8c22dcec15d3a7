//! From the file as written (`raw`) to the typed [`Scenario`]: every check that is not a
//! type or unknown-field check lives here. Problems are collected, not returned at the
//! first one, so a user sees them all in one go.

use crate::error::Issue;
use crate::model::*;
use crate::raw::{self, S};
use crate::units;
use dynasim_core::{RegionId, limits};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

pub(crate) fn resolve(file: raw::File) -> Result<Scenario, Vec<Issue>> {
    let mut r = Resolver::default();
    let scenario = r.scenario(file);
    if r.issues.is_empty() {
        scenario.ok_or_else(Vec::new)
    } else {
        Err(r.issues)
    }
}

#[derive(Default)]
pub(crate) struct Resolver {
    pub(crate) issues: Vec<Issue>,
    pub(crate) regions: Vec<String>,
    /// AZ name -> (region, index).
    pub(crate) azs: BTreeMap<String, AzRef>,
    pub(crate) tables: Vec<String>,
    /// Regions holding a replica of each table (witness excluded).
    pub(crate) table_replicas: Vec<Vec<RegionId>>,
    pub(crate) table_consistency: Vec<Consistency>,
    /// Whether each table has TTL enabled.
    pub(crate) table_ttl: Vec<bool>,
    /// The GSI names of each table, in the order written.
    pub(crate) table_gsis: Vec<Vec<String>>,
    pub(crate) phases: Vec<String>,
    pub(crate) fault_ids: Vec<Option<String>>,
    pub(crate) duration_us: u64,
    /// Faults named by a heal that was rejected: their "never heals" follow-on errors
    /// are not reported again.
    pub(crate) heal_rejected: BTreeSet<FaultIndex>,
    pub(crate) consumers: Vec<String>,
}

pub(crate) fn quoted<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let list: Vec<String> = names.into_iter().map(|n| format!("{n:?}")).collect();
    if list.is_empty() {
        "(none)".to_string()
    } else {
        list.join(", ")
    }
}

impl Resolver {
    pub(crate) fn error(
        &mut self,
        span: Range<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.issues.push(Issue {
            span,
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn scenario(&mut self, file: raw::File) -> Option<Scenario> {
        if *file.schema.get_ref() != 1 {
            self.error(
                file.schema.span(),
                "schema",
                format!(
                    "unsupported schema {}; expected 1 (the only version this build reads)",
                    file.schema.get_ref()
                ),
            );
        }
        let meta = self.meta(file.meta.get_ref());
        let sim = self.sim(file.sim.get_ref());
        let regions = self.regions(&file.region, file.sim.span());
        let network = self.network(file.network.as_ref());
        let replication = self.replication(file.replication.as_ref());
        let tables = self.tables(&file.table);
        let phases = self.phases(&file.phase);
        let faults = self.faults(&file.fault);
        let consumers = self.consumers(&file.consumer, tables.as_deref());
        let asserts = self.asserts(&file.asserts, faults.as_deref());
        Some(Scenario {
            schema: 1,
            meta: meta?,
            sim: sim?,
            regions: regions?,
            network: network?,
            replication: replication?,
            tables: tables?,
            phases: phases?,
            faults: faults?,
            asserts: asserts?,
            consumers: consumers?,
        })
    }

    // ------------------------------------------------------------------ values

    pub(crate) fn duration(&mut self, value: &S<String>, path: &str) -> Option<u64> {
        let parsed = units::parse_duration_us(value.get_ref());
        if parsed.is_none() {
            let expected = units::DURATION_EXPECTED;
            self.error(
                value.span(),
                path,
                format!("expected {expected}, found {:?}", value.get_ref()),
            );
        }
        parsed
    }

    /// A duration that must be above zero.
    pub(crate) fn positive_duration(&mut self, value: &S<String>, path: &str) -> Option<u64> {
        let us = self.duration(value, path)?;
        if us == 0 {
            self.error(value.span(), path, "must be longer than zero");
            return None;
        }
        Some(us)
    }

    pub(crate) fn opt_duration(
        &mut self,
        value: Option<&S<String>>,
        path: &str,
        default_us: u64,
    ) -> Option<u64> {
        match value {
            Some(value) => self.duration(value, path),
            None => Some(default_us),
        }
    }

    pub(crate) fn size(&mut self, value: &S<String>, path: &str) -> Option<u64> {
        let parsed = units::parse_size_bytes(value.get_ref());
        if parsed.is_none() {
            let expected = units::SIZE_EXPECTED;
            self.error(
                value.span(),
                path,
                format!("expected {expected}, found {:?}", value.get_ref()),
            );
        }
        parsed
    }

    /// An integer within `min..=max` (inclusive).
    pub(crate) fn count(&mut self, value: &S<i64>, path: &str, min: u64, max: u64) -> Option<u64> {
        let v = *value.get_ref();
        match u64::try_from(v) {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    value.span(),
                    path,
                    format!("{v} is out of range; expected {min} to {max}"),
                );
                None
            }
        }
    }

    /// A finite number within `min..=max`.
    pub(crate) fn number(&mut self, value: &S<f64>, path: &str, min: f64, max: f64) -> Option<f64> {
        let v = *value.get_ref();
        if v.is_finite() && v >= min && v <= max {
            Some(v)
        } else {
            self.error(
                value.span(),
                path,
                format!("{v} is out of range; expected {min} to {max}"),
            );
            None
        }
    }

    pub(crate) fn region(&mut self, name: &S<String>, path: &str) -> Option<RegionId> {
        self.region_named(name.get_ref(), name.span(), path)
    }

    pub(crate) fn region_named(
        &mut self,
        name: &str,
        span: Range<usize>,
        path: &str,
    ) -> Option<RegionId> {
        match self.regions.iter().position(|r| r == name) {
            Some(index) => Some(RegionId(index as u16)),
            None => {
                let known = quoted(self.regions.iter().map(String::as_str));
                self.error(
                    span,
                    path,
                    format!("unknown region {name:?}; declared regions: {known}"),
                );
                None
            }
        }
    }

    pub(crate) fn table_ref(&mut self, name: &S<String>, path: &str) -> Option<TableIndex> {
        let found = self.tables.iter().position(|t| t == name.get_ref());
        if found.is_none() {
            let known = quoted(self.tables.iter().map(String::as_str));
            self.error(
                name.span(),
                path,
                format!(
                    "unknown table {:?}; declared tables: {known}",
                    name.get_ref()
                ),
            );
        }
        found
    }

    pub(crate) fn phase(&mut self, name: &S<String>, path: &str) -> Option<PhaseIndex> {
        let found = self.phases.iter().position(|p| p == name.get_ref());
        if found.is_none() {
            let known = quoted(self.phases.iter().map(String::as_str));
            self.error(
                name.span(),
                path,
                format!(
                    "unknown phase {:?}; declared phases: {known}",
                    name.get_ref()
                ),
            );
        }
        found
    }

    pub(crate) fn fault_ref(
        &mut self,
        name: &S<String>,
        path: &str,
        what: &str,
    ) -> Option<FaultIndex> {
        let found = self
            .fault_ids
            .iter()
            .position(|id| id.as_deref() == Some(name.get_ref().as_str()));
        if found.is_none() {
            let known = quoted(self.fault_ids.iter().flatten().map(String::as_str));
            self.error(
                name.span(),
                path,
                format!(
                    "{what} names unknown fault {:?}; known faults: {known}",
                    name.get_ref()
                ),
            );
        }
        found
    }

    /// Rejects repeated names in one list.
    pub(crate) fn unique<'a>(
        &mut self,
        names: impl IntoIterator<Item = (&'a S<String>, String)>,
        what: &str,
    ) {
        let mut seen = BTreeSet::new();
        for (name, path) in names {
            if !seen.insert(name.get_ref().as_str()) {
                self.error(
                    name.span(),
                    path,
                    format!("duplicate {what} {:?}", name.get_ref()),
                );
            }
        }
    }

    // ------------------------------------------------------------------ sections

    pub(crate) fn meta(&mut self, meta: &raw::Meta) -> Option<Meta> {
        let name = meta.name.get_ref();
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            self.error(
                meta.name.span(),
                "meta.name",
                format!("invalid name {name:?}; expected letters, digits, '-', '_' or '.' (it names the report directory)"),
            );
        }
        if meta.seeds.len() > limits::SCENARIO_SEEDS_MAX {
            let max = limits::SCENARIO_SEEDS_MAX;
            self.error(
                meta.seeds[max].span(),
                "meta.seeds",
                format!("too many seeds; at most {max}"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, seed) in meta.seeds.iter().enumerate() {
            if !seen.insert(*seed.get_ref()) {
                self.error(
                    seed.span(),
                    format!("meta.seeds[{i}]"),
                    format!("duplicate seed {}", seed.get_ref()),
                );
            }
        }
        Some(Meta {
            name: name.clone(),
            description: meta.description.clone(),
            tags: meta.tags.iter().map(|t| t.get_ref().clone()).collect(),
            seeds: meta.seeds.iter().map(|s| *s.get_ref()).collect(),
        })
    }

    pub(crate) fn sim(&mut self, sim: &raw::Sim) -> Option<Sim> {
        let duration_us = self.positive_duration(&sim.duration, "sim.duration");
        if let Some(us) = duration_us {
            if us > limits::SIM_DURATION_US_MAX {
                let max = units::format_us(limits::SIM_DURATION_US_MAX);
                self.error(
                    sim.duration.span(),
                    "sim.duration",
                    format!("{:?} exceeds the limit of {max}", sim.duration.get_ref()),
                );
            }
            self.duration_us = us;
        }
        let tick_us = match &sim.tick {
            Some(tick) => {
                let us = self.positive_duration(tick, "sim.tick");
                if let Some(us) = us {
                    if us % 1_000 != 0 {
                        self.error(tick.span(), "sim.tick", format!("{:?} is not a whole number of milliseconds (turmoil ticks are whole ms)", tick.get_ref()));
                    } else if duration_us.is_some_and(|d| us > d) {
                        self.error(tick.span(), "sim.tick", "tick is longer than sim.duration");
                    }
                }
                us
            }
            None => Some(1_000),
        };
        let epoch = match sim.epoch.get_ref() {
            toml::Value::String(text) => text.clone(),
            toml::Value::Datetime(datetime) => datetime.to_string(),
            other => other.type_str().to_string(),
        };
        let epoch_unix_us = parse_rfc3339_us(&epoch);
        if epoch_unix_us.is_none() {
            self.error(
                sim.epoch.span(),
                "sim.epoch",
                format!("expected an RFC 3339 date-time with offset such as \"2025-01-01T00:00:00Z\", found {epoch:?}"),
            );
        }
        Some(Sim {
            duration_us: duration_us?,
            tick_us: tick_us?,
            epoch,
            epoch_unix_us: epoch_unix_us?,
        })
    }

    pub(crate) fn regions(
        &mut self,
        regions: &[S<raw::Region>],
        sim_span: Range<usize>,
    ) -> Option<Vec<Region>> {
        let (min, max) = (limits::REGIONS_MIN, limits::REGIONS_MAX);
        if regions.len() < min || regions.len() > max {
            let span = regions.get(max).map_or(sim_span, |r| r.span());
            self.error(
                span,
                "region",
                format!(
                    "{} regions declared; expected {min} to {max} [[region]] tables",
                    regions.len()
                ),
            );
        }
        self.unique(
            regions
                .iter()
                .enumerate()
                .map(|(i, r)| (&r.get_ref().name, format!("region[{i}].name"))),
            "region",
        );
        let mut out = Vec::new();
        for (i, region) in regions.iter().enumerate() {
            let region = region.get_ref();
            let name = region.name.get_ref().clone();
            if name.is_empty() {
                self.error(
                    region.name.span(),
                    format!("region[{i}].name"),
                    "region name is empty",
                );
            }
            self.regions.push(name.clone());
            let azs = region.azs.get_ref();
            if azs.len() != limits::AZS_PER_REGION {
                self.error(
                    region.azs.span(),
                    format!("region[{i}].azs"),
                    format!(
                        "{} AZs listed; expected exactly {} AZ names",
                        azs.len(),
                        limits::AZS_PER_REGION
                    ),
                );
                continue;
            }
            for (a, az) in azs.iter().enumerate() {
                let path = format!("region[{i}].azs[{a}]");
                if az.get_ref().is_empty() {
                    self.error(az.span(), path, "AZ name is empty");
                    continue;
                }
                let here = AzRef {
                    region: RegionId(i as u16),
                    az: a as u8,
                };
                if let Some(other) = self.azs.insert(az.get_ref().clone(), here) {
                    let owner = self
                        .regions
                        .get(usize::from(other.region.0))
                        .cloned()
                        .unwrap_or_default();
                    self.error(az.span(), path, format!("duplicate AZ {:?} (already in region {owner:?}); AZ names must be unique", az.get_ref()));
                }
            }
            let names = [
                azs[0].get_ref().clone(),
                azs[1].get_ref().clone(),
                azs[2].get_ref().clone(),
            ];
            out.push(Region {
                id: RegionId(i as u16),
                name,
                azs: names,
            });
        }
        (out.len() == regions.len()).then_some(out)
    }

    pub(crate) fn hop(
        &mut self,
        hop: Option<&S<raw::Hop>>,
        path: &str,
        default: LinkSpec,
    ) -> Option<LinkSpec> {
        let Some(hop) = hop else { return Some(default) };
        let hop = hop.get_ref();
        self.link_spec(&hop.one_way, hop.jitter.as_ref(), hop.loss.as_ref(), path)
    }

    pub(crate) fn link_spec(
        &mut self,
        one_way: &S<String>,
        jitter: Option<&S<String>>,
        loss: Option<&S<f64>>,
        path: &str,
    ) -> Option<LinkSpec> {
        let one_way_us = self.duration(one_way, &format!("{path}.one_way"));
        let jitter_us = self.opt_duration(jitter, &format!("{path}.jitter"), 0);
        if let (Some(d), Some(j), Some(jitter)) = (one_way_us, jitter_us, jitter)
            && j > d
        {
            self.error(
                jitter.span(),
                format!("{path}.jitter"),
                format!(
                    "jitter {:?} exceeds one_way {:?}; delays would go negative",
                    jitter.get_ref(),
                    one_way.get_ref()
                ),
            );
        }
        let loss = match loss {
            Some(loss) => self.loss(loss, &format!("{path}.loss")),
            None => Some(0.0),
        };
        Some(LinkSpec {
            one_way_us: one_way_us?,
            jitter_us: jitter_us?,
            loss: loss?,
        })
    }

    pub(crate) fn loss(&mut self, loss: &S<f64>, path: &str) -> Option<f64> {
        let v = *loss.get_ref();
        if v.is_finite() && (0.0..1.0).contains(&v) {
            Some(v)
        } else {
            self.error(
                loss.span(),
                path,
                format!("loss {v} is out of range; expected a probability in [0, 1)"),
            );
            None
        }
    }

    pub(crate) fn network(&mut self, network: Option<&S<raw::Network>>) -> Option<Network> {
        let same_default = LinkSpec {
            one_way_us: 200,
            jitter_us: 50,
            loss: 0.0,
        };
        let cross_default = LinkSpec {
            one_way_us: 1_000,
            jitter_us: 300,
            loss: 0.0,
        };
        let Some(network) = network else {
            return Some(Network {
                same_az: same_default,
                cross_az: cross_default,
                links: Vec::new(),
            });
        };
        let network = network.get_ref();
        let same_az = self.hop(network.same_az.as_ref(), "network.same_az", same_default);
        let cross_az = self.hop(network.cross_az.as_ref(), "network.cross_az", cross_default);
        let mut links: Vec<DirectedLink> = Vec::new();
        let mut ok = true;
        for (i, link) in network.links.iter().enumerate() {
            let path = format!("network.links[{i}]");
            let link = link.get_ref();
            let between = link.between.get_ref();
            if between.len() != 2 {
                self.error(
                    link.between.span(),
                    format!("{path}.between"),
                    format!("{} regions listed; expected exactly 2", between.len()),
                );
                ok = false;
                continue;
            }
            let a = self.region(&between[0], &format!("{path}.between[0]"));
            let b = self.region(&between[1], &format!("{path}.between[1]"));
            let spec = self.link_spec(
                &link.one_way,
                link.jitter.as_ref(),
                link.loss.as_ref(),
                &path,
            );
            let (Some(a), Some(b), Some(spec)) = (a, b, spec) else {
                ok = false;
                continue;
            };
            if a == b {
                self.error(
                    link.between.span(),
                    format!("{path}.between"),
                    "a link joins two different regions",
                );
                ok = false;
                continue;
            }
            let directions = if link.asymmetric {
                vec![(a, b)]
            } else {
                vec![(a, b), (b, a)]
            };
            for (from, to) in directions {
                if links.iter().any(|l| l.from == from && l.to == to) {
                    let (f, t) = (
                        &self.regions[usize::from(from.0)],
                        &self.regions[usize::from(to.0)],
                    );
                    let message = format!("link {f:?} -> {t:?} is declared twice");
                    self.error(link.between.span(), format!("{path}.between"), message);
                    ok = false;
                    break;
                }
                links.push(DirectedLink { from, to, spec });
            }
        }
        (ok).then_some(())?;
        Some(Network {
            same_az: same_az?,
            cross_az: cross_az?,
            links,
        })
    }

    pub(crate) fn replication(
        &mut self,
        replication: Option<&S<raw::Replication>>,
    ) -> Option<Replication> {
        let defaults = Replication {
            queue_items_max: 100_000,
            batch_items_max: 100,
            batch_interval_us: 10_000,
            retry_backoff: Backoff {
                initial_us: 50_000,
                max_us: 2_000_000,
            },
            tombstone_gc_us: 24 * 3_600 * 1_000_000,
            partition_streams: crate::model::PARTITION_STREAMS_DEFAULT,
            stream_skew_us: crate::model::STREAM_SKEW_US_DEFAULT,
        };
        let Some(replication) = replication else {
            return Some(defaults);
        };
        let r = replication.get_ref();
        let queue = match &r.queue_max_items {
            Some(v) => self.count(
                v,
                "replication.queue_max_items",
                1,
                limits::REPLICATION_QUEUE_ITEMS_MAX as u64,
            ),
            None => Some(defaults.queue_items_max as u64),
        };
        let batch = match &r.batch_max_items {
            Some(v) => self.count(
                v,
                "replication.batch_max_items",
                1,
                limits::REPLICATION_BATCH_ITEMS_MAX as u64,
            ),
            None => Some(defaults.batch_items_max as u64),
        };
        if let (Some(q), Some(b), Some(span)) =
            (queue, batch, r.batch_max_items.as_ref().map(|s| s.span()))
            && b > q
        {
            self.error(
                span,
                "replication.batch_max_items",
                format!("batch of {b} items is larger than the queue of {q}"),
            );
        }
        let interval = self.opt_duration(
            r.batch_interval.as_ref(),
            "replication.batch_interval",
            defaults.batch_interval_us,
        );
        let backoff = match &r.retry_backoff {
            Some(b) => self.backoff(
                b.get_ref().initial.clone(),
                b.get_ref().max.clone(),
                "replication.retry_backoff",
            ),
            None => Some(defaults.retry_backoff),
        };
        let gc = self.opt_duration(
            r.tombstone_gc.as_ref(),
            "replication.tombstone_gc",
            defaults.tombstone_gc_us,
        );
        let streams = match &r.partition_streams {
            Some(v) => self.count(
                v,
                "replication.partition_streams",
                1,
                limits::REPLICATION_PARTITION_STREAMS_MAX,
            ),
            None => Some(u64::from(defaults.partition_streams)),
        };
        let skew = self.opt_duration(
            r.stream_skew.as_ref(),
            "replication.stream_skew",
            defaults.stream_skew_us,
        );
        if let (Some(us), Some(value)) = (skew, r.stream_skew.as_ref())
            && us > limits::REPLICATION_STREAM_SKEW_US_MAX
        {
            self.error(
                value.span(),
                "replication.stream_skew",
                format!("expected at most 10s, found {:?}", value.get_ref()),
            );
        }
        Some(Replication {
            queue_items_max: usize::try_from(queue?).ok()?,
            batch_items_max: usize::try_from(batch?).ok()?,
            batch_interval_us: interval?,
            retry_backoff: backoff?,
            tombstone_gc_us: gc?,
            partition_streams: u16::try_from(streams?).ok()?,
            stream_skew_us: skew.filter(|us| *us <= limits::REPLICATION_STREAM_SKEW_US_MAX)?,
        })
    }

    pub(crate) fn backoff(
        &mut self,
        initial: S<String>,
        max: S<String>,
        path: &str,
    ) -> Option<Backoff> {
        let initial_us = self.positive_duration(&initial, &format!("{path}.initial"));
        let max_us = self.positive_duration(&max, &format!("{path}.max"));
        if let (Some(i), Some(m)) = (initial_us, max_us)
            && i > m
        {
            self.error(
                max.span(),
                format!("{path}.max"),
                format!(
                    "max {:?} is below initial {:?}",
                    max.get_ref(),
                    initial.get_ref()
                ),
            );
        }
        Some(Backoff {
            initial_us: initial_us?,
            max_us: max_us?,
        })
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` to microseconds since the Unix epoch.
pub(crate) fn parse_rfc3339_us(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || !text.is_ascii() {
        return None;
    }
    let num = |range: Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let sep_ok = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !sep_ok {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    let mut micros = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<6}", &fraction[..digits.min(6)]);
        micros = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let (h, m) = (
                num(text.len() - 5..text.len() - 3)?,
                num(text.len() - 2..text.len())?,
            );
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000_000 + micros)
}

impl Resolver {
    pub(crate) fn region_name(&self, id: RegionId) -> String {
        self.regions
            .get(usize::from(id.0))
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn az(&self, name: &str) -> Option<AzRef> {
        self.azs.get(name).copied()
    }

    pub(crate) fn az_names(&self) -> String {
        quoted(self.azs.keys().map(String::as_str))
    }

    pub(crate) fn replicas_of(&self, table: TableIndex) -> Vec<RegionId> {
        self.table_replicas.get(table).cloned().unwrap_or_default()
    }
}
