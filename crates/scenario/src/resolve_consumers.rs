//! `[[consumer]]`: stream consumers (Lambda-style triggers and Kinesis-style readers).

use crate::model::*;
use crate::raw::{self, S};
use crate::resolve::{Resolver, quoted};

/// Consumers in one scenario.
const CONSUMERS_MAX: usize = 64;
/// Lambda's limits for DynamoDB event sources.
const BATCH_SIZE_MAX: u64 = 10_000;
const BATCHING_WINDOW_US_MAX: u64 = 300_000_000;
const PARALLELIZATION_MAX: u64 = 10;
const RETRY_ATTEMPTS_MAX: u64 = 10_000;
/// Lambda's longest invocation.
const PROCESSING_TIME_US_MAX: u64 = 900_000_000;

impl Resolver {
    pub(crate) fn consumers(
        &mut self,
        consumers: &[S<raw::Consumer>],
        tables: Option<&[Table]>,
    ) -> Option<Vec<Consumer>> {
        if consumers.len() > CONSUMERS_MAX {
            self.error(
                consumers[CONSUMERS_MAX].span(),
                "consumer",
                format!(
                    "{} consumers declared; at most {CONSUMERS_MAX}",
                    consumers.len()
                ),
            );
            return None;
        }
        let names = consumers
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.get_ref().name, format!("consumer[{i}].name")));
        self.unique(names, "consumer");
        self.consumers = consumers
            .iter()
            .map(|c| c.get_ref().name.get_ref().clone())
            .collect();
        let mut out = Vec::new();
        for (i, c) in consumers.iter().enumerate() {
            out.extend(self.consumer(c.get_ref(), &format!("consumer[{i}]"), tables));
        }
        (out.len() == consumers.len()).then_some(out)
    }

    fn consumer(
        &mut self,
        c: &raw::Consumer,
        path: &str,
        tables: Option<&[Table]>,
    ) -> Option<Consumer> {
        let p = |field: &str| format!("{path}.{field}");
        let table = self.table_ref(&c.table, &p("table"))?;
        let spec = tables?.get(table)?;
        let Some(view) = spec.stream else {
            self.error(
                c.table.span(),
                p("table"),
                format!(
                    "table {:?} has no stream; add `stream = \"new_and_old_images\"` to it",
                    spec.name
                ),
            );
            return None;
        };
        let behaviour = match c.behaviour.as_ref().map(|b| *b.get_ref()) {
            None | Some(raw::ConsumerBehaviour::Count) => ConsumerBehaviour::Count,
            Some(raw::ConsumerBehaviour::AuditLog) => ConsumerBehaviour::AuditLog,
            Some(raw::ConsumerBehaviour::Notify) => ConsumerBehaviour::Notify,
            Some(raw::ConsumerBehaviour::Materialize) => ConsumerBehaviour::Materialize,
        };
        if behaviour == ConsumerBehaviour::Materialize
            && !matches!(view, StreamView::NewImage | StreamView::NewAndOldImages)
        {
            let span = c.behaviour.as_ref().map(|b| b.span()).unwrap_or_default();
            self.error(
                span,
                p("behaviour"),
                "a materialised view needs the new images: the table's stream must be new_image or new_and_old_images",
            );
            return None;
        }
        let regions = match &c.regions {
            None => spec.replicas.clone(),
            Some(list) => {
                let mut ids = Vec::new();
                for (j, name) in list.get_ref().iter().enumerate() {
                    let rpath = format!("{path}.regions[{j}]");
                    let id = self.region(name, &rpath)?;
                    if !spec.replicas.contains(&id) {
                        let known = quoted(
                            spec.replicas
                                .iter()
                                .map(|r| self.regions[r.0 as usize].as_str()),
                        );
                        self.error(
                            name.span(),
                            rpath,
                            format!(
                                "table {:?} has no replica in {:?}; replicas: {known}",
                                spec.name,
                                name.get_ref()
                            ),
                        );
                        return None;
                    }
                    ids.push(id);
                }
                if ids.is_empty() {
                    self.error(list.span(), p("regions"), "expected at least one region");
                    return None;
                }
                ids.sort();
                ids.dedup();
                ids
            }
        };
        let kind = match c.kind.as_ref().map(|k| *k.get_ref()) {
            None | Some(raw::ConsumerKind::Lambda) => ConsumerKind::Lambda,
            Some(raw::ConsumerKind::Kinesis) => ConsumerKind::Kinesis,
        };
        let count = |r: &mut Self, v: &Option<S<i64>>, field: &str, min, max, default| match v {
            Some(v) => r.count(v, &p(field), min, max),
            None => Some(default),
        };
        let batch_size = count(self, &c.batch_size, "batch_size", 1, BATCH_SIZE_MAX, 100);
        let parallelization = count(
            self,
            &c.parallelization,
            "parallelization",
            1,
            PARALLELIZATION_MAX,
            1,
        );
        let retry_attempts = match &c.retry_attempts {
            None => Some(None),
            Some(v) => self
                .count(v, &p("retry_attempts"), 0, RETRY_ATTEMPTS_MAX)
                .map(Some),
        };
        let bounded = |r: &mut Self, v: &Option<S<String>>, field: &str, default, max| {
            let us = r.opt_duration(v.as_ref(), &p(field), default)?;
            if us > max {
                let span = v.as_ref().map(|v| v.span()).unwrap_or_default();
                r.error(
                    span,
                    p(field),
                    format!("at most {}", crate::units::format_us(max)),
                );
                return None;
            }
            Some(us)
        };
        let window = bounded(
            self,
            &c.batching_window,
            "batching_window",
            0,
            BATCHING_WINDOW_US_MAX,
        );
        let processing = bounded(
            self,
            &c.processing_time,
            "processing_time",
            10_000,
            PROCESSING_TIME_US_MAX,
        );
        let default_lag = if kind == ConsumerKind::Kinesis {
            1_000_000
        } else {
            0
        };
        let lag = bounded(self, &c.lag, "lag", default_lag, 86_400_000_000);
        let share = |r: &mut Self, v: &Option<S<f64>>, field: &str, default| match v {
            Some(v) => r.number(v, &p(field), 0.0, 1.0),
            None => Some(default),
        };
        let failure_rate = share(self, &c.failure_rate, "failure_rate", 0.0);
        let partial_progress = share(self, &c.partial_progress, "partial_progress", 0.5);
        Some(Consumer {
            name: c.name.get_ref().clone(),
            table,
            regions,
            kind,
            behaviour,
            batch_size: batch_size?,
            batching_window_us: window?,
            parallelization: parallelization?,
            retry_attempts: retry_attempts?,
            bisect_on_error: c.bisect_on_error.as_ref().is_some_and(|b| *b.get_ref()),
            on_failure: c.on_failure.as_ref().map(|f| f.get_ref().clone()),
            processing_time_us: processing?,
            failure_rate: failure_rate?,
            partial_progress: partial_progress?,
            filter_origin_region: c
                .filter_origin_region
                .as_ref()
                .is_some_and(|b| *b.get_ref()),
            lag_us: lag?,
        })
    }

    /// A consumer named by an assertion.
    pub(crate) fn consumer_ref(&mut self, name: &S<String>, path: &str) -> Option<ConsumerIndex> {
        let found = self.consumers.iter().position(|c| c == name.get_ref());
        if found.is_none() {
            let known = quoted(self.consumers.iter().map(String::as_str));
            self.error(
                name.span(),
                path,
                format!(
                    "unknown consumer {:?}; declared consumers: {known}",
                    name.get_ref()
                ),
            );
        }
        found
    }
}
