//! Items as the engine keeps them. A stored item is one immutable copy behind an `Arc`:
//! reads, write results, stream records and replication hand out that `Arc` instead of
//! copying the attribute map, and an index that projects every attribute shares it with
//! the table. Its DynamoDB size is computed once, when it is stored, because Query and
//! Scan pages (QS-03) and capacity units (CA-02) need it on every read.

use crate::config::EngineConfig;
use crate::size::item_size;
use crate::value::Item;
use std::sync::Arc;

/// An item shared between the table, its indexes, outputs and stream records. It is
/// never changed in place: a write stores a new one.
pub type SharedItem = Arc<Item>;

/// A table item or index entry with its size cached.
#[derive(Clone, Debug)]
pub(crate) struct StoredItem {
    pub(crate) item: SharedItem,
    /// DynamoDB size (DM-27) under the engine's size model, which is fixed when the
    /// engine is created, so the cached figure cannot go stale.
    pub(crate) size_bytes: usize,
}

impl StoredItem {
    /// Sizes `item` once.
    pub(crate) fn new(item: SharedItem, config: &EngineConfig) -> StoredItem {
        let size_bytes = item_size(&item, config);
        StoredItem { item, size_bytes }
    }

    /// An item whose size the caller has already computed under the same `config`.
    pub(crate) fn with_size(item: SharedItem, size_bytes: usize) -> StoredItem {
        StoredItem { item, size_bytes }
    }
}
