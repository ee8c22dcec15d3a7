//! Tables and workload phases.

use crate::model::*;
use crate::raw::{self, S};
use crate::resolve::{Resolver, quoted};
use dynasim_core::{RegionId, limits};

/// DynamoDB's item size limit (400 KB, binary).
const ITEM_BYTES_MAX: u64 = 400 * 1024;
/// RC-08 / LT-05: GSI propagation takes "a fraction of a second" (**unconfirmed**).
pub const GSI_PROPAGATION_MEAN_US_DEFAULT: u64 = 50_000;

impl Resolver {
    fn key_attribute(&mut self, key: &raw::KeyAttribute, path: &str) -> KeyAttribute {
        if key.name.get_ref().is_empty() {
            self.error(
                key.name.span(),
                format!("{path}.name"),
                "key attribute name is empty",
            );
        }
        let ty = match key.ty {
            raw::KeyType::S => KeyType::S,
            raw::KeyType::N => KeyType::N,
            raw::KeyType::B => KeyType::B,
        };
        KeyAttribute {
            name: key.name.get_ref().clone(),
            ty,
        }
    }

    pub(crate) fn tables(&mut self, tables: &[S<raw::Table>]) -> Option<Vec<Table>> {
        if tables.is_empty() {
            self.error(
                0..0,
                "table",
                "no [[table]] declared; a scenario needs at least one table",
            );
        }
        if tables.len() > limits::TABLES_MAX {
            let max = limits::TABLES_MAX;
            self.error(
                tables[max].span(),
                "table",
                format!("{} tables declared; at most {max}", tables.len()),
            );
        }
        let names = tables
            .iter()
            .enumerate()
            .map(|(i, t)| (&t.get_ref().name, format!("table[{i}].name")));
        self.unique(names, "table");
        let mut out = Vec::new();
        for (i, table) in tables.iter().enumerate() {
            let table_span = table.span();
            let t = table.get_ref();
            self.tables.push(t.name.get_ref().clone());
            let parsed = self.table(i, table_span, t);
            self.table_replicas.push(
                parsed
                    .as_ref()
                    .map(|p| p.replicas.clone())
                    .unwrap_or_default(),
            );
            self.table_consistency
                .push(parsed.as_ref().map_or(Consistency::Mrec, |p| p.consistency));
            self.table_ttl.push(t.ttl.is_some());
            self.table_gsis.push(
                t.gsi
                    .iter()
                    .map(|g| g.get_ref().name.get_ref().clone())
                    .collect(),
            );
            out.extend(parsed);
        }
        (out.len() == tables.len()).then_some(out)
    }

    fn table(
        &mut self,
        i: usize,
        table_span: std::ops::Range<usize>,
        t: &raw::Table,
    ) -> Option<Table> {
        let path = format!("table[{i}]");
        let partition_key = self.key_attribute(&t.partition_key, &format!("{path}.partition_key"));
        let sort_key = t
            .sort_key
            .as_ref()
            .map(|k| self.key_attribute(k, &format!("{path}.sort_key")));
        let mut replicas = Vec::new();
        let mut ok = true;
        if t.replicas.get_ref().is_empty() {
            self.error(
                t.replicas.span(),
                format!("{path}.replicas"),
                "no replica regions listed; expected at least one",
            );
            ok = false;
        }
        for (r, name) in t.replicas.get_ref().iter().enumerate() {
            let rpath = format!("{path}.replicas[{r}]");
            match self.region(name, &rpath) {
                Some(id) if replicas.contains(&id) => {
                    self.error(
                        name.span(),
                        rpath,
                        format!(
                            "region {:?} listed twice; a table has at most one replica per region",
                            name.get_ref()
                        ),
                    );
                    ok = false;
                }
                Some(id) => replicas.push(id),
                None => ok = false,
            }
        }
        let consistency = match t.consistency.as_ref().map(|c| *c.get_ref()) {
            Some(raw::Consistency::Mrsc) => Consistency::Mrsc,
            _ => Consistency::Mrec,
        };
        let witness = match &t.witness {
            Some(w) => {
                let id = self.region(w, &format!("{path}.witness"));
                if consistency != Consistency::Mrsc {
                    self.error(
                        w.span(),
                        format!("{path}.witness"),
                        "a witness is only allowed with consistency = \"mrsc\"",
                    );
                    ok = false;
                } else if id.is_some_and(|id| replicas.contains(&id)) {
                    self.error(
                        w.span(),
                        format!("{path}.witness"),
                        format!(
                            "witness region {:?} also holds a replica; it must be a third region",
                            w.get_ref()
                        ),
                    );
                    ok = false;
                }
                if id.is_none() {
                    ok = false;
                }
                id
            }
            None => None,
        };
        if consistency == Consistency::Mrsc && ok {
            let members = replicas.len() + usize::from(witness.is_some());
            if members != 3 || replicas.len() < 2 {
                let span = t
                    .consistency
                    .as_ref()
                    .map_or(table_span.clone(), |c| c.span());
                self.error(
                    span,
                    format!("{path}.consistency"),
                    format!("MRSC needs exactly 3 regions: 3 replicas, or 2 replicas plus a witness; found {} replicas{}", replicas.len(), if witness.is_some() { " and a witness" } else { "" }),
                );
                ok = false;
            }
            if let Some(ttl) = &t.ttl {
                self.error(
                    ttl.span(),
                    format!("{path}.ttl"),
                    "TTL is not supported on MRSC tables",
                );
                ok = false;
            }
        }
        let capacity = match &t.capacity {
            Some(c) => self.capacity(c.get_ref(), &format!("{path}.capacity")),
            None => Some(Capacity {
                mode: CapacityMode::OnDemand,
                read_units: None,
                write_units: None,
                auto_scaling: None,
            }),
        };
        let mut gsis = Vec::new();
        let gsi_names = t
            .gsi
            .iter()
            .enumerate()
            .map(|(g, x)| (&x.get_ref().name, format!("{path}.gsi[{g}].name")));
        self.unique(gsi_names, "index");
        for (g, gsi) in t.gsi.iter().enumerate() {
            let gpath = format!("{path}.gsi[{g}]");
            let gsi = gsi.get_ref();
            let partition_key =
                self.key_attribute(&gsi.partition_key, &format!("{gpath}.partition_key"));
            let sort_key = gsi
                .sort_key
                .as_ref()
                .map(|k| self.key_attribute(k, &format!("{gpath}.sort_key")));
            let partition_values = match &gsi.partition_values {
                Some(v) => self.count(
                    v,
                    &format!("{gpath}.partition_values"),
                    1,
                    limits::GSI_PARTITION_VALUES_MAX,
                ),
                None => Some(100),
            };
            let propagation_mean_us = self.gsi_propagation(gsi, &gpath);
            let Some(index_capacity) = capacity
                .as_ref()
                .map(|table| self.gsi_capacity(gsi, table, &gpath))
            else {
                continue;
            };
            let (
                Some(partition_values),
                Some(propagation_mean_us),
                Some((read_units, write_units, auto_scaling)),
            ) = (partition_values, propagation_mean_us, index_capacity)
            else {
                continue;
            };
            gsis.push(Gsi {
                name: gsi.name.get_ref().clone(),
                partition_key,
                sort_key,
                keys_only: gsi
                    .projection
                    .as_ref()
                    .is_some_and(|p| *p.get_ref() == raw::Projection::KeysOnly),
                read_units,
                write_units,
                auto_scaling,
                partition_values,
                propagation_mean_us,
            });
        }
        if let Some(ttl) = &t.ttl
            && ttl.get_ref().is_empty()
        {
            self.error(
                ttl.span(),
                format!("{path}.ttl"),
                "expected the name of the TTL attribute",
            );
        }
        let stream = t.stream.as_ref().map(|s| match s.get_ref() {
            raw::StreamView::KeysOnly => StreamView::KeysOnly,
            raw::StreamView::NewImage => StreamView::NewImage,
            raw::StreamView::OldImage => StreamView::OldImage,
            raw::StreamView::NewAndOldImages => StreamView::NewAndOldImages,
        });
        let dax = match &t.dax {
            Some(d) => {
                let d = d.get_ref();
                let five_minutes = 300_000_000;
                let item_ttl_us = self.opt_duration(
                    d.item_ttl.as_ref(),
                    &format!("{path}.dax.item_ttl"),
                    five_minutes,
                );
                let query_ttl_us = self.opt_duration(
                    d.query_ttl.as_ref(),
                    &format!("{path}.dax.query_ttl"),
                    five_minutes,
                );
                let size_bytes = match &d.size {
                    Some(s) => self.size(s, &format!("{path}.dax.size")),
                    None => Some(256 << 20),
                };
                Some(Dax {
                    item_ttl_us: item_ttl_us?,
                    query_ttl_us: query_ttl_us?,
                    size_bytes: size_bytes?,
                })
            }
            None => None,
        };
        let ttl_delay = |r: &mut Self, value: Option<&S<String>>, field: &str| -> Option<u64> {
            let Some(value) = value else { return Some(0) };
            let field_path = format!("{path}.{field}");
            if t.ttl.is_none() {
                r.error(
                    value.span(),
                    &field_path,
                    "needs `ttl` (the TTL attribute) on the table",
                );
                return None;
            }
            let us = r.duration(value, &field_path)?;
            if us > limits::TTL_DELETE_DELAY_US_MAX {
                r.error(
                    value.span(),
                    &field_path,
                    format!(
                        "{:?} exceeds 48h, DynamoDB's TTL deletion window (TTL-04)",
                        value.get_ref()
                    ),
                );
                return None;
            }
            Some(us)
        };
        let ttl_delete_delay_us = ttl_delay(self, t.ttl_delete_delay.as_ref(), "ttl_delete_delay");
        let ttl_delete_jitter_us =
            ttl_delay(self, t.ttl_delete_jitter.as_ref(), "ttl_delete_jitter");
        ok.then_some(())?;
        Some(Table {
            name: t.name.get_ref().clone(),
            partition_key,
            sort_key,
            replicas,
            witness,
            consistency,
            capacity: capacity?,
            gsis,
            ttl_attribute: t.ttl.as_ref().map(|s| s.get_ref().clone()),
            ttl_delete_delay_us: ttl_delete_delay_us?,
            ttl_delete_jitter_us: ttl_delete_jitter_us?,
            stream,
            dax,
            split_for_heat: t.split_for_heat.as_ref().is_none_or(|b| *b.get_ref()),
        })
    }

    fn capacity(&mut self, c: &raw::Capacity, path: &str) -> Option<Capacity> {
        let mode = match c.mode.get_ref() {
            raw::CapacityMode::OnDemand => CapacityMode::OnDemand,
            raw::CapacityMode::Provisioned => CapacityMode::Provisioned,
        };
        let mut units = |value: &Option<S<i64>>, name: &str| -> Option<Option<u64>> {
            match (mode, value) {
                (CapacityMode::Provisioned, Some(v)) => Some(Some(self.count(
                    v,
                    &format!("{path}.{name}"),
                    1,
                    limits::CAPACITY_UNITS_MAX,
                )?)),
                (CapacityMode::Provisioned, None) => {
                    self.error(
                        c.mode.span(),
                        format!("{path}.{name}"),
                        format!("mode \"provisioned\" needs {name}"),
                    );
                    None
                }
                (CapacityMode::OnDemand, Some(v)) => {
                    self.error(
                        v.span(),
                        format!("{path}.{name}"),
                        format!("{name} applies only to mode \"provisioned\""),
                    );
                    None
                }
                (CapacityMode::OnDemand, None) => Some(None),
            }
        };
        let read_units = units(&c.read_units, "read_units");
        let write_units = units(&c.write_units, "write_units");
        let auto_scaling = match (&c.auto_scaling, mode) {
            (None, _) => Some(None),
            (Some(a), CapacityMode::OnDemand) => {
                self.error(
                    a.span(),
                    format!("{path}.auto_scaling"),
                    "auto_scaling applies only to mode \"provisioned\" (on-demand scales itself)",
                );
                None
            }
            (Some(a), CapacityMode::Provisioned) => {
                let base = (read_units.flatten(), write_units.flatten());
                self.auto_scaling(a.get_ref(), &format!("{path}.auto_scaling"), base)
                    .map(Some)
            }
        };
        Some(Capacity {
            mode,
            read_units: read_units?,
            write_units: write_units?,
            auto_scaling: auto_scaling?,
        })
    }

    /// A GSI's (read units, write units, auto scaling): provisioned tables only, units
    /// defaulting to the table's. `None` after an error.
    #[allow(clippy::type_complexity)]
    fn gsi_capacity(
        &mut self,
        gsi: &raw::Gsi,
        table: &Capacity,
        path: &str,
    ) -> Option<(Option<u64>, Option<u64>, Option<AutoScaling>)> {
        let provisioned = table.mode == CapacityMode::Provisioned;
        let mut ok = true;
        let mut units = |r: &mut Self, value: &Option<S<i64>>, name: &str, default: Option<u64>| {
            match value {
                Some(v) if !provisioned => {
                    r.error(
                        v.span(),
                        format!("{path}.{name}"),
                        format!("{name} applies only to indexes of provisioned tables (an on-demand table's indexes are on demand too)"),
                    );
                    ok = false;
                    None
                }
                Some(v) => {
                    let n = r.count(v, &format!("{path}.{name}"), 1, limits::CAPACITY_UNITS_MAX);
                    ok &= n.is_some();
                    n
                }
                None => default,
            }
        };
        let read_units = units(self, &gsi.read_units, "read_units", table.read_units);
        let write_units = units(self, &gsi.write_units, "write_units", table.write_units);
        let auto_scaling = match &gsi.auto_scaling {
            None => None,
            Some(a) if !provisioned => {
                self.error(
                    a.span(),
                    format!("{path}.auto_scaling"),
                    "auto_scaling applies only to indexes of provisioned tables (on-demand scales itself)",
                );
                ok = false;
                None
            }
            Some(a) => {
                let scaled = self.auto_scaling(
                    a.get_ref(),
                    &format!("{path}.auto_scaling"),
                    (read_units, write_units),
                );
                ok &= scaled.is_some();
                scaled
            }
        };
        ok.then_some((read_units, write_units, auto_scaling))
    }

    /// `base`: the provisioned (read, write) units, the default minimums.
    fn auto_scaling(
        &mut self,
        a: &raw::AutoScaling,
        path: &str,
        base: (Option<u64>, Option<u64>),
    ) -> Option<AutoScaling> {
        let max = limits::CAPACITY_UNITS_MAX;
        let bound = |r: &mut Self, v: &Option<S<i64>>, name: &str, default: u64| match v {
            Some(v) => r.count(v, &format!("{path}.{name}"), 1, max),
            None => Some(default),
        };
        // DynamoDB's target tracking accepts 20..90 percent.
        let target = bound(self, &a.target, "target", 70).and_then(|t| {
            if (20..=90).contains(&t) {
                Some(t)
            } else {
                let span = a.target.as_ref().map(|t| t.span()).unwrap_or_default();
                self.error(
                    span,
                    format!("{path}.target"),
                    format!("expected a target utilisation in percent, 20 to 90; found {t}"),
                );
                None
            }
        });
        let min_read = bound(
            self,
            &a.min_read_units,
            "min_read_units",
            base.0.unwrap_or(1),
        );
        let max_read = bound(self, &a.max_read_units, "max_read_units", max);
        let min_write = bound(
            self,
            &a.min_write_units,
            "min_write_units",
            base.1.unwrap_or(1),
        );
        let max_write = bound(self, &a.max_write_units, "max_write_units", max);
        for (lo, hi, name, field) in [
            (min_read, max_read, "max_read_units", &a.max_read_units),
            (min_write, max_write, "max_write_units", &a.max_write_units),
        ] {
            if let (Some(lo), Some(hi)) = (lo, hi)
                && lo > hi
            {
                let span = field.as_ref().map(|f| f.span()).unwrap_or_default();
                self.error(
                    span,
                    format!("{path}.{name}"),
                    format!("{hi} is below the minimum {lo}"),
                );
            }
        }
        let minute = 60_000_000;
        let scale_out = self.opt_duration(
            a.scale_out_after.as_ref(),
            &format!("{path}.scale_out_after"),
            2 * minute,
        );
        let scale_in = self.opt_duration(
            a.scale_in_after.as_ref(),
            &format!("{path}.scale_in_after"),
            15 * minute,
        );
        let (lo_r, hi_r, lo_w, hi_w) = (min_read?, max_read?, min_write?, max_write?);
        (lo_r <= hi_r && lo_w <= hi_w).then_some(())?;
        Some(AutoScaling {
            target_percent: target?,
            min_read_units: lo_r,
            max_read_units: hi_r,
            min_write_units: lo_w,
            max_write_units: hi_w,
            scale_out_after_us: scale_out?,
            scale_in_after_us: scale_in?,
        })
    }

    pub(crate) fn phases(&mut self, phases: &[S<raw::Phase>]) -> Option<Vec<Phase>> {
        if phases.len() > limits::PHASES_MAX {
            let max = limits::PHASES_MAX;
            self.error(
                phases[max].span(),
                "phase",
                format!("{} phases declared; at most {max}", phases.len()),
            );
        }
        let names = phases
            .iter()
            .enumerate()
            .map(|(i, p)| (&p.get_ref().name, format!("phase[{i}].name")));
        self.unique(names, "phase");
        let mut out = Vec::new();
        let mut start_us: u64 = 0;
        let mut ok = true;
        for (i, phase) in phases.iter().enumerate() {
            let p = phase.get_ref();
            self.phases.push(p.name.get_ref().clone());
            let path = format!("phase[{i}]");
            let duration_us = self.positive_duration(&p.duration, &format!("{path}.duration"));
            if let Some(d) = duration_us {
                let end = start_us.saturating_add(d);
                if end > self.duration_us && self.duration_us > 0 {
                    let message = format!(
                        "phase ends at {} (phases run back to back), after the run ends at {}",
                        crate::units::format_us(end),
                        crate::units::format_us(self.duration_us)
                    );
                    self.error(p.duration.span(), format!("{path}.duration"), message);
                }
                match self.phase_body(p, &path, start_us, d) {
                    Some(phase) => out.push(phase),
                    None => ok = false,
                }
                start_us = end;
            } else {
                ok = false;
            }
        }
        ok.then_some(out)
    }

    fn phase_body(
        &mut self,
        p: &raw::Phase,
        path: &str,
        start_us: u64,
        duration_us: u64,
    ) -> Option<Phase> {
        let rate = self.rate(&p.rate, &format!("{path}.rate"));
        let keys = self.keys(p.keys.get_ref(), &format!("{path}.keys"));
        let table = keys.map(|k| k.table);
        let clients = self.clients(&p.clients, &format!("{path}.clients"), table);
        let mix = self.mix(&p.mix, &format!("{path}.mix"), table);
        let item_size = match &p.item_size {
            Some(s) => self.item_size(s.get_ref(), &format!("{path}.item_size")),
            None => Some(ItemSize::Fixed { bytes: 1024 }),
        };
        let reads = match p.reads.as_ref().map(|r| *r.get_ref()) {
            Some(raw::Reads::Strong) => ReadConsistency::Strong,
            _ => ReadConsistency::Eventual,
        };
        let retry = match &p.retry {
            Some(retry) => {
                let r = retry.get_ref();
                let attempts = self.count(
                    &r.max_attempts,
                    &format!("{path}.retry.max_attempts"),
                    1,
                    limits::CLIENT_ATTEMPTS_MAX,
                );
                let base_us = self.positive_duration(&r.base, &format!("{path}.retry.base"));
                let max_us = self.positive_duration(&r.max, &format!("{path}.retry.max"));
                if let (Some(b), Some(m)) = (base_us, max_us)
                    && b > m
                {
                    self.error(
                        r.max.span(),
                        format!("{path}.retry.max"),
                        format!(
                            "max {:?} is below base {:?}",
                            r.max.get_ref(),
                            r.base.get_ref()
                        ),
                    );
                }
                Some(Some(RetryPolicy {
                    attempts_max: u32::try_from(attempts?).ok()?,
                    base_us: base_us?,
                    max_us: max_us?,
                }))
            }
            None => Some(None),
        };
        let failover = self.failover(&p.failover, &format!("{path}.failover"), table);
        let expire_after_us = match &p.expire_after {
            None => Some(None),
            Some(value) => {
                let field_path = format!("{path}.expire_after");
                let has_ttl = table.and_then(|t| self.table_ttl.get(t).copied());
                if has_ttl == Some(false) {
                    let name = table.map(|t| self.tables[t].clone()).unwrap_or_default();
                    self.error(
                        value.span(),
                        &field_path,
                        format!("table {name:?} has no `ttl` attribute to set"),
                    );
                    None
                } else {
                    self.positive_duration(value, &field_path).map(Some)
                }
            }
        };
        let transaction_items = self.transaction_items(p, path, keys.map(|k| k.count));
        let index = self.phase_index(p, path, table, mix.as_ref());
        Some(Phase {
            transaction_items: transaction_items?,
            index: index?,
            name: p.name.get_ref().clone(),
            start_us,
            duration_us,
            rate: rate?,
            clients: clients?,
            mix: mix?,
            keys: keys?,
            item_size: item_size?,
            reads,
            retry: retry?,
            expire_after_us: expire_after_us?,
            failover: failover?,
        })
    }

    /// RC-08 / LT-05: the mean delay until a base write shows in the index; from zero
    /// (synchronous) to [`limits::GSI_PROPAGATION_MEAN_US_MAX`].
    fn gsi_propagation(&mut self, gsi: &raw::Gsi, gpath: &str) -> Option<u64> {
        let Some(value) = &gsi.propagation_delay else {
            return Some(GSI_PROPAGATION_MEAN_US_DEFAULT);
        };
        let field_path = format!("{gpath}.propagation_delay");
        let us = self.duration(value, &field_path)?;
        if us > limits::GSI_PROPAGATION_MEAN_US_MAX {
            self.error(
                value.span(),
                field_path,
                format!(
                    "expected at most {}, found {:?}",
                    crate::units::format_us(limits::GSI_PROPAGATION_MEAN_US_MAX),
                    value.get_ref()
                ),
            );
            return None;
        }
        Some(us)
    }

    /// The GSI `mix.index_query` reads: the one `index` names, else the table's first.
    /// `Some(None)`: the table has no GSI and the phase reads none; `None`: an error.
    fn phase_index(
        &mut self,
        p: &raw::Phase,
        path: &str,
        table: Option<TableIndex>,
        mix: Option<&Mix>,
    ) -> Option<Option<usize>> {
        let table = table?;
        let names = self.table_gsis.get(table).cloned().unwrap_or_default();
        let table_name = self.tables.get(table).cloned().unwrap_or_default();
        let reads_index = mix.is_some_and(|m| m.index_query > 0);
        match &p.index {
            Some(name) => match names.iter().position(|n| n == name.get_ref()) {
                Some(g) => Some(Some(g)),
                None => {
                    let expected = if names.is_empty() {
                        format!("table {table_name:?} has no GSI")
                    } else {
                        format!(
                            "expected a GSI of table {table_name:?}: {}",
                            quoted(names.iter().map(String::as_str))
                        )
                    };
                    self.error(
                        name.span(),
                        format!("{path}.index"),
                        format!("unknown index {:?}; {expected}", name.get_ref()),
                    );
                    None
                }
            },
            None if names.is_empty() && reads_index => {
                self.error(
                    p.mix.span(),
                    format!("{path}.mix.index_query"),
                    format!(
                        "index queries need a GSI; table {table_name:?} has none (add a [[table.gsi]])"
                    ),
                );
                None
            }
            None => Some((!names.is_empty()).then_some(0)),
        }
    }

    /// TX-01: 1..=100 items per transaction, and no more than the phase has keys (a
    /// transaction's items are distinct keys).
    fn transaction_items(
        &mut self,
        p: &raw::Phase,
        path: &str,
        key_count: Option<u64>,
    ) -> Option<u16> {
        let Some(value) = &p.transaction_items else {
            return Some(2.min(key_count.unwrap_or(2)) as u16);
        };
        let field_path = format!("{path}.transaction_items");
        let max = limits::TRANSACTION_ITEMS_MAX.min(key_count.unwrap_or(u64::MAX));
        let n = self.count(value, &field_path, 1, max)?;
        Some(n as u16)
    }

    fn rate(&mut self, rate: &S<raw::Rate>, path: &str) -> Option<Rate> {
        let r = rate.get_ref();
        let max = limits::WORKLOAD_RATE_MAX;
        match (&r.constant, &r.from, &r.to) {
            (Some(c), None, None) => Some(Rate::Constant(self.number(
                c,
                &format!("{path}.constant"),
                0.0,
                max,
            )?)),
            (None, Some(from), Some(to)) => {
                let from = self.number(from, &format!("{path}.from"), 0.0, max);
                let to = self.number(to, &format!("{path}.to"), 0.0, max);
                Some(Rate::Ramp {
                    from: from?,
                    to: to?,
                })
            }
            _ => {
                self.error(
                    rate.span(),
                    path,
                    "expected either { constant = N } or { from = N, to = M } (ops/s)",
                );
                None
            }
        }
    }

    /// Regions of the phase's table that can serve clients.
    fn serving(&self, table: Option<TableIndex>) -> Option<&Vec<RegionId>> {
        table
            .and_then(|t| self.table_replicas.get(t))
            .filter(|r| !r.is_empty())
    }

    fn clients(
        &mut self,
        clients: &S<std::collections::BTreeMap<S<String>, S<f64>>>,
        path: &str,
        table: Option<TableIndex>,
    ) -> Option<Vec<(RegionId, f64)>> {
        let mut out = Vec::new();
        let mut ok = true;
        let mut total = 0.0;
        for (name, weight) in clients.get_ref() {
            let wpath = format!("{path}.{}", name.get_ref());
            let region = self.region_named(name.get_ref(), name.span(), &wpath);
            let w = self.number(weight, &wpath, 0.0, 1e9);
            match (region, w) {
                (Some(region), Some(w)) => {
                    if w > 0.0 {
                        if let Some(serving) = self.serving(table)
                            && !serving.contains(&region)
                        {
                            let table_name = table
                                .and_then(|t| self.tables.get(t))
                                .cloned()
                                .unwrap_or_default();
                            self.error(name.span(), wpath, format!("clients in region {:?}, but table {table_name:?} has no replica there", name.get_ref()));
                            ok = false;
                        }
                        out.push((region, w));
                    }
                    total += w;
                }
                _ => ok = false,
            }
        }
        if ok && total <= 0.0 {
            self.error(
                clients.span(),
                path,
                "client weights sum to zero; give at least one region a positive weight",
            );
            ok = false;
        }
        out.sort_by_key(|(region, _)| *region);
        ok.then_some(out)
    }

    fn mix(&mut self, mix: &S<raw::Mix>, path: &str, table: Option<TableIndex>) -> Option<Mix> {
        let m = mix.get_ref();
        let mut ok = true;
        let mut weight = |value: &Option<S<i64>>, name: &str| -> u32 {
            match value {
                Some(v) => match self.count(v, &format!("{path}.{name}"), 0, 1_000_000) {
                    Some(n) => n as u32,
                    None => {
                        ok = false;
                        0
                    }
                },
                None => 0,
            }
        };
        let out = Mix {
            get: weight(&m.get, "get"),
            put: weight(&m.put, "put"),
            update: weight(&m.update, "update"),
            delete: weight(&m.delete, "delete"),
            query: weight(&m.query, "query"),
            conditional_put: weight(&m.conditional_put, "conditional_put"),
            transaction: weight(&m.transaction, "transaction"),
            transact_get: weight(&m.transact_get, "transact_get"),
            index_query: weight(&m.index_query, "index_query"),
        };
        let total = [
            out.get,
            out.put,
            out.update,
            out.delete,
            out.query,
            out.conditional_put,
            out.transaction,
            out.transact_get,
            out.index_query,
        ]
        .iter()
        .map(|w| u64::from(*w))
        .sum::<u64>();
        if ok && total == 0 {
            self.error(mix.span(), path, "operation weights sum to zero; expected at least one of get, put, update, delete, query, conditional_put, transaction, transact_get, index_query above zero");
            ok = false;
        }
        // GT-26: MRSC tables take no transactions, neither writes nor gets.
        for (field, weight, name) in [
            (&m.transaction, out.transaction, "transaction"),
            (&m.transact_get, out.transact_get, "transact_get"),
        ] {
            if let (Some(t), Some(tx)) = (table, field)
                && weight > 0
                && self.table_consistency.get(t) == Some(&Consistency::Mrsc)
            {
                let table_name = self.tables.get(t).cloned().unwrap_or_default();
                self.error(
                    tx.span(),
                    format!("{path}.{name}"),
                    format!("transactions are not supported on MRSC table {table_name:?}"),
                );
                ok = false;
            }
        }
        ok.then_some(out)
    }

    fn keys(&mut self, k: &raw::Keys, path: &str) -> Option<Keys> {
        let table = self.table_ref(&k.table, &format!("{path}.table"));
        let count = self.count(
            &k.count,
            &format!("{path}.count"),
            1,
            limits::WORKLOAD_KEYS_MAX,
        );
        let dist_kind = k
            .dist
            .as_ref()
            .map_or(raw::KeyDist::Uniform, |d| *d.get_ref());
        let dist_name = match dist_kind {
            raw::KeyDist::Uniform => "uniform",
            raw::KeyDist::Zipf => "zipf",
            raw::KeyDist::HotKey => "hot_key",
        };
        let mut ok = true;
        let mut stray = |r: &mut Resolver, span: Option<std::ops::Range<usize>>, field: &str| {
            if let Some(span) = span {
                r.error(
                    span,
                    format!("{path}.{field}"),
                    format!("field `{field}` does not apply to dist = {dist_name:?}"),
                );
                ok = false;
            }
        };
        let dist = match dist_kind {
            raw::KeyDist::Uniform => {
                stray(self, k.exponent.as_ref().map(|s| s.span()), "exponent");
                stray(self, k.hot_keys.as_ref().map(|s| s.span()), "hot_keys");
                stray(
                    self,
                    k.hot_fraction.as_ref().map(|s| s.span()),
                    "hot_fraction",
                );
                Some(KeyDist::Uniform)
            }
            raw::KeyDist::Zipf => {
                stray(self, k.hot_keys.as_ref().map(|s| s.span()), "hot_keys");
                stray(
                    self,
                    k.hot_fraction.as_ref().map(|s| s.span()),
                    "hot_fraction",
                );
                match &k.exponent {
                    Some(e) => self
                        .number(e, &format!("{path}.exponent"), 0.0, 10.0)
                        .map(|exponent| KeyDist::Zipf { exponent }),
                    None => {
                        self.error(
                            k.table.span(),
                            format!("{path}.exponent"),
                            "dist = \"zipf\" needs exponent (e.g. 1.1)",
                        );
                        None
                    }
                }
            }
            raw::KeyDist::HotKey => {
                stray(self, k.exponent.as_ref().map(|s| s.span()), "exponent");
                match (&k.hot_keys, &k.hot_fraction) {
                    (Some(h), Some(f)) => {
                        let hot_keys = self.count(
                            h,
                            &format!("{path}.hot_keys"),
                            1,
                            count.unwrap_or(limits::WORKLOAD_KEYS_MAX),
                        );
                        let hot_fraction =
                            self.number(f, &format!("{path}.hot_fraction"), 0.0, 1.0);
                        Some(KeyDist::HotKey {
                            hot_keys: hot_keys?,
                            hot_fraction: hot_fraction?,
                        })
                    }
                    _ => {
                        self.error(
                            k.table.span(),
                            path,
                            "dist = \"hot_key\" needs hot_keys and hot_fraction",
                        );
                        None
                    }
                }
            }
        };
        ok.then_some(())?;
        Some(Keys {
            table: table?,
            count: count?,
            dist: dist?,
        })
    }

    fn item_size(&mut self, s: &raw::ItemSize, path: &str) -> Option<ItemSize> {
        let bytes = |r: &mut Resolver,
                     value: &Option<S<String>>,
                     field: &str,
                     needed: bool|
         -> Option<Option<u64>> {
            let dist = if needed { "" } else { "not " };
            match (value, needed) {
                (Some(v), true) => {
                    let b = r.size(v, &format!("{path}.{field}"))?;
                    if b == 0 || b > ITEM_BYTES_MAX {
                        r.error(v.span(), format!("{path}.{field}"), format!("{:?} is out of range; expected 1B to 400KiB (DynamoDB's item size limit)", v.get_ref()));
                        return None;
                    }
                    Some(Some(b))
                }
                (None, true) => {
                    r.error(
                        s.dist.span(),
                        format!("{path}.{field}"),
                        format!("this dist needs `{field}`"),
                    );
                    None
                }
                (Some(v), false) => {
                    r.error(
                        v.span(),
                        format!("{path}.{field}"),
                        format!("field `{field}` does {dist}apply to this dist"),
                    );
                    None
                }
                (None, false) => Some(None),
            }
        };
        match s.dist.get_ref() {
            raw::SizeDist::Fixed => {
                let size = bytes(self, &s.size, "size", true);
                let min = bytes(self, &s.min, "min", false);
                let max = bytes(self, &s.max, "max", false);
                min?;
                max?;
                Some(ItemSize::Fixed {
                    bytes: size??.max(1),
                })
            }
            raw::SizeDist::Uniform => {
                let size = bytes(self, &s.size, "size", false);
                let min = bytes(self, &s.min, "min", true);
                let max = bytes(self, &s.max, "max", true);
                size?;
                let (min, max) = (min??, max??);
                if min > max {
                    let span = s.max.as_ref().map_or(s.dist.span(), |m| m.span());
                    self.error(span, format!("{path}.max"), "max is below min");
                    return None;
                }
                Some(ItemSize::Uniform {
                    min_bytes: min,
                    max_bytes: max,
                })
            }
        }
    }

    fn failover(
        &mut self,
        map: &std::collections::BTreeMap<S<String>, S<String>>,
        path: &str,
        table: Option<TableIndex>,
    ) -> Option<Vec<(RegionId, RegionId)>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (from, to) in map {
            let fpath = format!("{path}.{}", from.get_ref());
            let a = self.region_named(from.get_ref(), from.span(), &fpath);
            let b = self.region_named(to.get_ref(), to.span(), &fpath);
            match (a, b) {
                (Some(a), Some(b)) if a == b => {
                    self.error(to.span(), fpath, "a region cannot fail over to itself");
                    ok = false;
                }
                (Some(a), Some(b)) => {
                    if self.serving(table).is_some_and(|s| !s.contains(&b)) {
                        let known = quoted(
                            self.serving(table)
                                .into_iter()
                                .flatten()
                                .map(|r| self.regions[usize::from(r.0)].as_str()),
                        );
                        self.error(to.span(), fpath, format!("failover target {:?} holds no replica of the phase's table; replicas: {known}", to.get_ref()));
                        ok = false;
                    }
                    out.push((a, b));
                }
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }
}
