//! The file as written: serde structs that mirror the TOML, every field spanned so the
//! validator can point at it. Type and unknown-field errors come from serde here; every
//! other check is in `resolve`.
//!
//! Faults and assertions are flat structs (every kind's fields optional) rather than
//! tagged enums: serde buffers tagged enums, which loses spans, and a flat struct lets the
//! validator say "field `sides` does not apply to kind \"az_outage\"".

use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::BTreeMap;

pub type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub schema: S<i64>,
    pub meta: S<Meta>,
    pub sim: S<Sim>,
    #[serde(default)]
    pub region: Vec<S<Region>>,
    pub network: Option<S<Network>>,
    pub replication: Option<S<Replication>>,
    #[serde(default)]
    pub table: Vec<S<Table>>,
    #[serde(default)]
    pub phase: Vec<S<Phase>>,
    #[serde(default)]
    pub fault: Vec<S<Fault>>,
    #[serde(default, rename = "assert")]
    pub asserts: Vec<S<Assert>>,
    #[serde(default)]
    pub consumer: Vec<S<Consumer>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerKind {
    Lambda,
    Kinesis,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerBehaviour {
    Count,
    AuditLog,
    Materialize,
    Notify,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    pub name: S<String>,
    pub table: S<String>,
    pub regions: Option<S<Vec<S<String>>>>,
    pub kind: Option<S<ConsumerKind>>,
    pub behaviour: Option<S<ConsumerBehaviour>>,
    pub batch_size: Option<S<i64>>,
    pub batching_window: Option<S<String>>,
    pub parallelization: Option<S<i64>>,
    pub retry_attempts: Option<S<i64>>,
    pub bisect_on_error: Option<S<bool>>,
    pub on_failure: Option<S<String>>,
    pub processing_time: Option<S<String>>,
    pub failure_rate: Option<S<f64>>,
    pub partial_progress: Option<S<f64>>,
    pub filter_origin_region: Option<S<bool>>,
    pub lag: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: S<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<S<String>>,
    #[serde(default)]
    pub seeds: Vec<S<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sim {
    pub duration: S<String>,
    pub tick: Option<S<String>>,
    /// A string or a TOML date-time.
    pub epoch: S<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: S<String>,
    pub azs: S<Vec<S<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    pub one_way: S<String>,
    pub jitter: Option<S<String>>,
    pub loss: Option<S<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub same_az: Option<S<Hop>>,
    pub cross_az: Option<S<Hop>>,
    #[serde(default)]
    pub links: Vec<S<Link>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub between: S<Vec<S<String>>>,
    pub one_way: S<String>,
    pub jitter: Option<S<String>>,
    pub loss: Option<S<f64>>,
    /// When true the link covers `between[0] -> between[1]` only.
    #[serde(default)]
    pub asymmetric: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    pub queue_max_items: Option<S<i64>>,
    pub batch_max_items: Option<S<i64>>,
    pub batch_interval: Option<S<String>>,
    pub retry_backoff: Option<S<Backoff>>,
    pub tombstone_gc: Option<S<String>>,
    pub partition_streams: Option<S<i64>>,
    pub stream_skew: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    pub initial: S<String>,
    pub max: S<String>,
}

#[derive(Deserialize, Clone, Copy)]
pub enum KeyType {
    S,
    N,
    B,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyAttribute {
    pub name: S<String>,
    #[serde(rename = "type")]
    pub ty: KeyType,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    Mrec,
    Mrsc,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CapacityMode {
    OnDemand,
    Provisioned,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub mode: S<CapacityMode>,
    pub read_units: Option<S<i64>>,
    pub write_units: Option<S<i64>>,
    pub auto_scaling: Option<S<AutoScaling>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoScaling {
    pub target: Option<S<i64>>,
    pub min_read_units: Option<S<i64>>,
    pub max_read_units: Option<S<i64>>,
    pub min_write_units: Option<S<i64>>,
    pub max_write_units: Option<S<i64>>,
    pub scale_out_after: Option<S<String>>,
    pub scale_in_after: Option<S<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum StreamView {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gsi {
    pub name: S<String>,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    pub projection: Option<S<Projection>>,
    /// Provisioned tables only; default: the table's units.
    pub read_units: Option<S<i64>>,
    pub write_units: Option<S<i64>>,
    pub auto_scaling: Option<S<AutoScaling>>,
    /// Distinct index partition key values the workload writes (default 100).
    pub partition_values: Option<S<i64>>,
    /// Mean index propagation delay, a duration (default "50ms").
    pub propagation_delay: Option<S<String>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Projection {
    All,
    KeysOnly,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dax {
    pub item_ttl: Option<S<String>>,
    pub query_ttl: Option<S<String>>,
    pub size: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub name: S<String>,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    pub replicas: S<Vec<S<String>>>,
    pub witness: Option<S<String>>,
    pub consistency: Option<S<Consistency>>,
    pub capacity: Option<S<Capacity>>,
    #[serde(default)]
    pub gsi: Vec<S<Gsi>>,
    pub ttl: Option<S<String>>,
    pub ttl_delete_delay: Option<S<String>>,
    pub ttl_delete_jitter: Option<S<String>>,
    pub stream: Option<S<StreamView>>,
    pub dax: Option<S<Dax>>,
    pub split_for_heat: Option<S<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub constant: Option<S<f64>>,
    pub from: Option<S<f64>>,
    pub to: Option<S<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    pub get: Option<S<i64>>,
    pub put: Option<S<i64>>,
    pub update: Option<S<i64>>,
    pub delete: Option<S<i64>>,
    pub query: Option<S<i64>>,
    pub conditional_put: Option<S<i64>>,
    pub transaction: Option<S<i64>>,
    pub transact_get: Option<S<i64>>,
    pub index_query: Option<S<i64>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyDist {
    Uniform,
    Zipf,
    HotKey,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    pub table: S<String>,
    pub count: S<i64>,
    pub dist: Option<S<KeyDist>>,
    pub exponent: Option<S<f64>>,
    pub hot_keys: Option<S<i64>>,
    pub hot_fraction: Option<S<f64>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SizeDist {
    Fixed,
    Uniform,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSize {
    pub dist: S<SizeDist>,
    pub size: Option<S<String>>,
    pub min: Option<S<String>>,
    pub max: Option<S<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum Reads {
    Eventual,
    Strong,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub max_attempts: S<i64>,
    pub base: S<String>,
    pub max: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: S<String>,
    pub duration: S<String>,
    pub rate: S<Rate>,
    pub clients: S<BTreeMap<S<String>, S<f64>>>,
    pub mix: S<Mix>,
    pub keys: S<Keys>,
    pub item_size: Option<S<ItemSize>>,
    pub reads: Option<S<Reads>>,
    pub retry: Option<S<Retry>>,
    pub expire_after: Option<S<String>>,
    pub transaction_items: Option<S<i64>>,
    /// The GSI `mix.index_query` reads (default: the table's first).
    pub index: Option<S<String>>,
    #[serde(default)]
    pub failover: BTreeMap<S<String>, S<String>>,
}

/// A region name or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Regions {
    One(String),
    Many(Vec<String>),
}

impl Regions {
    pub fn names(&self) -> Vec<&str> {
        match self {
            Regions::One(name) => vec![name.as_str()],
            Regions::Many(names) => names.iter().map(String::as_str).collect(),
        }
    }
}

/// Declares a flat struct of optional spanned fields, and `present()` listing the names
/// of the fields that were written (the kind checks use it).
macro_rules! flat {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            pub kind: S<String>,
            $(pub $field: Option<S<$ty>>,)*
        }
        impl $name {
            pub fn present(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
                let mut out = Vec::new();
                $(if let Some(v) = &self.$field { out.push((stringify!($field), v.span())); })*
                out
            }
        }
    };
}

flat! {
    pub struct Fault {
        id: String,
        at: String,
        duration: String,
        sides: Vec<Vec<String>>,
        mode: String,
        from: Regions,
        to: Regions,
        target: String,
        between: Vec<String>,
        extra_latency: String,
        loss: f64,
        az: String,
        region: String,
        clients_failover_to: String,
        offset: String,
        drift_ppm: f64,
        multiplier: f64,
        ramp: String,
        table: String,
        read_units: i64,
        write_units: i64,
        billing_mode: String,
    }
}

flat! {
    pub struct Assert {
        after: String,
        within: String,
        allow: String,
        op: String,
        region: String,
        quantile: f64,
        max: toml::Value,
        min: f64,
        during: String,
        exclude_faults: bool,
        staleness: String,
        from: String,
        to: String,
        bound: String,
        consumer: String,
    }
}
