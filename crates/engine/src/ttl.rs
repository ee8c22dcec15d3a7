//! The TTL sweeper (TTL-03..TTL-06, TTL-08): deletes expired items when the caller's
//! time says so. Until the sweep runs, expired items are read and written normally.

use crate::engine::{Engine, ItemChange};
use crate::key::key_attributes;
use crate::value::AttributeValue;
use dynasim_core::SimTime;

/// Items whose TTL lies more than five years in the past are ignored (TTL-03).
pub const TTL_IGNORE_OLDER_THAN_SECS: i128 = 5 * 365 * 86_400;

/// The whole seconds of a TTL attribute, or `None` if it is not a number (TTL-03).
fn ttl_secs(value: &AttributeValue) -> Option<i128> {
    let AttributeValue::N(n) = value else {
        return None;
    };
    if let Some(i) = n.to_i128() {
        return Some(i);
    }
    let text = n.to_string();
    let whole = text.split('.').next()?;
    match whole.parse::<i128>() {
        Ok(i) => Some(i),
        // Beyond i128 (1E+40 and up): expires never, or expired too long ago.
        Err(_) => Some(if n.is_negative() {
            i128::MIN
        } else {
            i128::MAX
        }),
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Engine {
    /// Deletes every item whose TTL attribute (epoch seconds, TTL-03) is before `now`
    /// and whose deletion delay (`ttl_delete_delay_us` plus a per-key share of
    /// `ttl_delete_jitter_us`) has passed. Each deletion maintains indexes and is a
    /// stream REMOVE with the service userIdentity (TTL-05, TTL-06). Returns the
    /// changes, table by table in key order, for replication (TTL-07).
    pub fn sweep_ttl(&mut self, now: SimTime) -> Vec<ItemChange> {
        self.observe(now);
        let config = self.config().clone();
        let now_secs = i128::from(config.epoch_unix_secs) + i128::from(now.as_us() / 1_000_000);
        let now_us = i128::from(now.as_us());
        let mut expired = Vec::new();
        for table in self.tables.values() {
            let Some(ttl) = table.ttl.as_ref().filter(|t| t.enabled) else {
                continue;
            };
            for (key, item) in &table.items {
                let Some(secs) = item.get(&ttl.attribute_name).and_then(ttl_secs) else {
                    continue;
                };
                if secs >= now_secs || secs < now_secs - TTL_IGNORE_OLDER_THAN_SECS {
                    continue;
                }
                let jitter = fnv1a(key.as_bytes()) % (config.ttl_delete_jitter_us + 1);
                let expired_us = (secs - i128::from(config.epoch_unix_secs)) * 1_000_000;
                let due_us =
                    expired_us + i128::from(config.ttl_delete_delay_us) + i128::from(jitter);
                if now_us >= due_us {
                    expired.push((table.name.clone(), key.clone()));
                }
            }
        }
        let mut changes = Vec::with_capacity(expired.len());
        for (name, key) in expired {
            let table = self.tables.get_mut(&name).expect("table seen above");
            let key_attrs = key_attributes(
                &table.schema,
                table.items.get(&key).expect("item seen above"),
            );
            let old_image = table.store(&key, None, &config);
            let change = ItemChange {
                table: name,
                key,
                key_attrs,
                old_image,
                new_image: None,
            };
            self.record_change(&change, now, true);
            changes.push(change);
        }
        changes
    }
}
