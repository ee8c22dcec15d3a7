//! Modelling choices for points the reference marks **unconfirmed** (SD-04).

/// Engine options. Defaults follow the reference's suggestions:
///
/// - `number_size`: [`NumberSizeModel::Aligned`] (DM-27, dynalite's refinement).
/// - `string_size_unit`: [`StringSizeUnit::Utf8Bytes`] for `size(S)` (EX-19).
/// - `update_arithmetic_chain`: `false`, one `+`/`-` per SET action (UX-02).
/// - `nested_add_delete`: `true`, ADD/DELETE accept nested paths (UX-08).
/// - `reject_unused_attribute_definitions`: `true` (CP-03).
/// - `expression_cache_entries_max`: 4096 parsed expressions per kind.
/// - `require_provisioned_throughput`: `false`. DynamoDB rejects a PROVISIONED table
///   without ProvisionedThroughput (CP-04); off by default so callers that only name a
///   billing mode keep working. Turn it on for full fidelity.
/// - `gsi_per_table_max` 20 (CP-06), `lsi_per_table_max` 5 (CP-05),
///   `projected_attributes_max` 100 (CP-07), `item_collection_bytes_max` 10 GB (CA-13).
/// - `epoch_unix_secs`: 1 767 225 600 (2026-01-01T00:00:00Z) is `SimTime::ZERO`; TTL
///   attributes (epoch seconds) and stream timestamps are read against it.
/// - `ttl_delete_delay_us` 0 and `ttl_delete_jitter_us` 0: an expired item is deleted by
///   the first sweep at least `delay + hash(key) % (jitter + 1)` after it expired
///   (TTL-04, TTL-08: DynamoDB takes up to 48 h; the distribution is **unconfirmed**).
///   A table can override both ([`crate::Engine::set_ttl_sweep`]).
/// - `ttl_jitter_salt` 0: mixed into the per-key jitter so that replicas of one table in
///   different regions (different salts) sweep a key at different times.
/// - `ttl_change_interval_us`: 1 h between TTL enable/disable changes (TTL-01).
/// - `stream_retention_us` 24 h (ST-01), `stream_shard_rollover_us` 4 h (ST-06,
///   **unconfirmed**), `stream_iterator_ttl_us` 15 min (ST-08).
/// - `transaction_token_ttl_us`: 10 min of ClientRequestToken idempotency (TX-04).
/// - `region_name` "us-east-1" and `account_id` "000000000000", for ARNs.
/// - `gsi_propagation_us` 0: GSIs are updated with the base write, as DynamoDB Local
///   does. Above 0, each GSI receives a base change that long after it (RC-08:
///   asynchronous, "a fraction of a second"; the figure is **unconfirmed**), so a Query
///   or Scan of a GSI can miss a write the table already shows; LSIs stay synchronous.
///   `gsi_backlog_max` (2^20 changes per table) bounds what is held back: past it the
///   oldest changes reach the GSIs early.
///
/// DM-15 ("1" and "1.0" in one NS are duplicates) is not an option: numbers are kept
/// normalised, so the other reading cannot be represented in a set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub number_size: NumberSizeModel,
    pub string_size_unit: StringSizeUnit,
    pub update_arithmetic_chain: bool,
    pub nested_add_delete: bool,
    pub reject_unused_attribute_definitions: bool,
    pub expression_cache_entries_max: usize,
    pub require_provisioned_throughput: bool,
    pub gsi_per_table_max: usize,
    pub lsi_per_table_max: usize,
    pub projected_attributes_max: usize,
    pub item_collection_bytes_max: u64,
    pub epoch_unix_secs: u64,
    pub ttl_delete_delay_us: u64,
    pub ttl_delete_jitter_us: u64,
    pub ttl_jitter_salt: u64,
    pub ttl_change_interval_us: u64,
    pub stream_retention_us: u64,
    pub stream_shard_rollover_us: u64,
    pub stream_iterator_ttl_us: u64,
    pub transaction_token_ttl_us: u64,
    pub region_name: String,
    pub account_id: String,
    pub gsi_propagation_us: u64,
    pub gsi_backlog_max: usize,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            number_size: NumberSizeModel::Aligned,
            string_size_unit: StringSizeUnit::Utf8Bytes,
            update_arithmetic_chain: false,
            nested_add_delete: true,
            reject_unused_attribute_definitions: true,
            expression_cache_entries_max: 4096,
            require_provisioned_throughput: false,
            gsi_per_table_max: 20,
            lsi_per_table_max: 5,
            projected_attributes_max: 100,
            item_collection_bytes_max: 10 * 1024 * 1024 * 1024,
            epoch_unix_secs: 1_767_225_600,
            ttl_delete_delay_us: 0,
            ttl_delete_jitter_us: 0,
            ttl_jitter_salt: 0,
            ttl_change_interval_us: HOUR_US,
            stream_retention_us: 24 * HOUR_US,
            stream_shard_rollover_us: 4 * HOUR_US,
            stream_iterator_ttl_us: 15 * 60 * 1_000_000,
            transaction_token_ttl_us: 10 * 60 * 1_000_000,
            region_name: "us-east-1".to_string(),
            account_id: "000000000000".to_string(),
            gsi_propagation_us: 0,
            gsi_backlog_max: 1 << 20,
        }
    }
}

const HOUR_US: u64 = 3600 * 1_000_000;

/// How a number's stored size is counted (DM-27).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberSizeModel {
    /// 1 + ceil(digits / 2) (+1 if negative): the developer guide's rule of thumb.
    Simple,
    /// Base-100 pairs aligned on the exponent's parity: one more byte when the digits
    /// straddle a pair boundary (dynalite's refinement).
    Aligned,
}

/// What `size()` of a string counts (EX-19).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringSizeUnit {
    Utf8Bytes,
    /// Unicode scalar values.
    Chars,
}
