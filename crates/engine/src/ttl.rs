//! The TTL sweeper (TTL-03..TTL-06, TTL-08): deletes expired items when the caller's
//! time says so. Until the sweep runs, expired items are read and written normally.

use crate::engine::{Engine, ItemChange};
use crate::error::EngineError;
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

/// FNV-1a of the salt (when there is one) and the key: where in the jitter window a key
/// falls, differently per salted replica.
fn key_hash(salt: u64, key: &[u8]) -> u64 {
    let salt_bytes = salt.to_le_bytes();
    let salt_part: &[u8] = if salt == 0 { &[] } else { &salt_bytes };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt_part.iter().chain(key) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Engine {
    /// Overrides the TTL sweep delay and jitter of one table (TTL-08); TTL must be
    /// enabled on it. The settings last until TTL is next enabled or disabled.
    pub fn set_ttl_sweep(
        &mut self,
        table_name: &str,
        delete_delay_us: u64,
        delete_jitter_us: u64,
    ) -> Result<(), EngineError> {
        let table = self
            .tables
            .get_mut(table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let ttl = table
            .ttl
            .as_mut()
            .filter(|t| t.enabled)
            .ok_or_else(|| EngineError::validation("TimeToLive is not enabled"))?;
        ttl.delete_delay_us = Some(delete_delay_us);
        ttl.delete_jitter_us = Some(delete_jitter_us);
        Ok(())
    }

    /// Deletes every item whose TTL attribute (epoch seconds, TTL-03) is before `now`
    /// and whose deletion delay (`ttl_delete_delay_us` plus a per-key share of
    /// `ttl_delete_jitter_us`) has passed. Each deletion maintains indexes and is a
    /// stream REMOVE with the service userIdentity (TTL-05, TTL-06). Returns the
    /// changes, table by table in key order, for replication (TTL-07).
    pub fn sweep_ttl(&mut self, now: SimTime) -> Vec<ItemChange> {
        let clock_unix_us =
            i128::from(self.config().epoch_unix_secs) * 1_000_000 + i128::from(now.as_us());
        self.sweep_ttl_by_clock(now, clock_unix_us)
    }

    /// [`Engine::sweep_ttl`] with the sweeper reading its own wall clock
    /// (`clock_unix_us`, microseconds since the Unix epoch) to decide what has expired,
    /// while `now` (true time) stamps the changes. A region whose clock runs ahead
    /// expires items early: the skew reaches TTL exactly as it reaches LWW stamps.
    pub fn sweep_ttl_by_clock(&mut self, now: SimTime, clock_unix_us: i128) -> Vec<ItemChange> {
        self.observe(now);
        let config = self.config().clone();
        let epoch_us = i128::from(config.epoch_unix_secs) * 1_000_000;
        let now_secs = clock_unix_us.div_euclid(1_000_000);
        let now_us = clock_unix_us - epoch_us;
        let mut expired = Vec::new();
        for table in self.tables.values() {
            let Some(ttl) = table.ttl.as_ref().filter(|t| t.enabled) else {
                continue;
            };
            for (key, item) in table.iter() {
                let Some(secs) = item.get(&ttl.attribute_name).and_then(ttl_secs) else {
                    continue;
                };
                if secs >= now_secs || secs < now_secs - TTL_IGNORE_OLDER_THAN_SECS {
                    continue;
                }
                let delay_us = ttl.delete_delay_us.unwrap_or(config.ttl_delete_delay_us);
                let jitter_max_us = ttl.delete_jitter_us.unwrap_or(config.ttl_delete_jitter_us);
                let jitter = key_hash(config.ttl_jitter_salt, key.as_bytes()) % (jitter_max_us + 1);
                let expired_us = (secs - i128::from(config.epoch_unix_secs)) * 1_000_000;
                let due_us = expired_us + i128::from(delay_us) + i128::from(jitter);
                if now_us >= due_us {
                    expired.push((table.name.clone(), key.clone()));
                }
            }
        }
        let mut changes = Vec::with_capacity(expired.len());
        for (name, key) in expired {
            let table = self.tables.get_mut(&name).expect("table seen above");
            let key_attrs =
                key_attributes(&table.schema, table.get(&key).expect("item seen above"));
            let old_image = table.store(&key, None, &config, now.0);
            let change = ItemChange {
                table: name,
                key,
                key_attrs,
                old_image: old_image.map(|o| o.item),
                new_image: None,
            };
            self.record_change(&change, now, true);
            changes.push(change);
        }
        changes
    }
}
