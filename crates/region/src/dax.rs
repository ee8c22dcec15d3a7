//! A DAX-like cache (reference section 9, DX-). A region keeps two of these per table:
//! the item cache and the query cache (DX-05), each with its own TTL and LRU budget; the
//! query cache is never written through, so writes never refresh it. In the item cache,
//! eventually consistent GetItem is
//! served from the cache until the entry's TTL; writes through the region refresh it
//! (write-through); replicated writes, TTL deletes and direct writes bypass it, so it can
//! serve stale values until TTL (GT-18). Misses are cached too (negative caching). LRU
//! eviction by an approximate byte budget.

use dynasim_core::history::ReadValue;
use dynasim_engine::ItemKey;
use std::collections::BTreeMap;

/// Bytes an entry is charged against the size budget (key, value id, stamp, overhead).
const ENTRY_BYTES: u64 = 128;

#[derive(Clone, Debug)]
struct Entry {
    value: ReadValue,
    expires_us: u64,
    used: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct DaxCache {
    ttl_us: u64,
    entries_max: usize,
    entries: BTreeMap<ItemKey, Entry>,
    /// Use counter -> key, for LRU eviction.
    lru: BTreeMap<u64, ItemKey>,
    clock: u64,
}

impl DaxCache {
    pub(crate) fn new(ttl_us: u64, size_bytes: u64) -> Self {
        let entries_max = (size_bytes / ENTRY_BYTES).max(1) as usize;
        DaxCache {
            ttl_us,
            entries_max,
            entries: BTreeMap::new(),
            lru: BTreeMap::new(),
            clock: 0,
        }
    }

    pub(crate) fn get(&mut self, key: &ItemKey, now_us: u64) -> Option<ReadValue> {
        let entry = self.entries.get_mut(key)?;
        if entry.expires_us <= now_us {
            let used = entry.used;
            self.entries.remove(key);
            self.lru.remove(&used);
            return None;
        }
        self.clock += 1;
        self.lru.remove(&entry.used);
        entry.used = self.clock;
        self.lru.insert(self.clock, key.clone());
        Some(entry.value.clone())
    }

    pub(crate) fn put(&mut self, key: ItemKey, value: ReadValue, now_us: u64) {
        self.clock += 1;
        if let Some(old) = self.entries.get(&key) {
            self.lru.remove(&old.used);
        }
        self.lru.insert(self.clock, key.clone());
        self.entries.insert(
            key,
            Entry {
                value,
                expires_us: now_us + self.ttl_us,
                used: self.clock,
            },
        );
        while self.entries.len() > self.entries_max {
            let (_, oldest) = self.lru.pop_first().expect("lru tracks every entry");
            self.entries.remove(&oldest);
        }
        debug_assert_eq!(self.entries.len(), self.lru.len());
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.lru.clear();
    }
}
