//! Modelling choices for points the reference marks **unconfirmed** (SD-04).

/// Engine options. Defaults follow the reference's suggestions:
///
/// - `number_size`: [`NumberSizeModel::Aligned`] (DM-27, dynalite's refinement).
/// - `string_size_unit`: [`StringSizeUnit::Utf8Bytes`] for `size(S)` (EX-19).
/// - `update_arithmetic_chain`: `false`, one `+`/`-` per SET action (UX-02).
/// - `nested_add_delete`: `true`, ADD/DELETE accept nested paths (UX-08).
/// - `reject_unused_attribute_definitions`: `true` (CP-03).
/// - `expression_cache_entries_max`: 4096 parsed expressions per kind.
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
        }
    }
}

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
