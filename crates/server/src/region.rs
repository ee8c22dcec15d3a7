//! One served region: a DynamoDB [`Engine`] plus one [`Replicator`] per table, wired
//! the way `dynasim_region::Region` wires them (every engine change is stamped by the
//! replicator; a local write that loses LWW at once puts the stored image back; applied
//! remote writes go into the engine through `apply_replicated`). The LWW rule itself lives
//! only in the replicator.

use crate::faults::Throttle;
use dynasim_core::{RegionId, SimTime};
use dynasim_engine::{Engine, EngineConfig, EngineError, ErrorKind, Item, ItemChange};
use dynasim_region::TableKey;
use dynasim_replication::{Apply, Message, Replicator, ReplicatorConfig};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) type Msg = Message<TableKey, Arc<Item>>;

/// Replication lag seen by a destination, per origin region.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LagStats {
    pub last_ms: f64,
    pub max_ms: f64,
    pub applied: u64,
    pub discarded: u64,
}

/// One table replica in this region.
pub(crate) struct Replica {
    pub(crate) replicator: Replicator<TableKey, Arc<Item>>,
    /// The other regions holding replicas of this table (empty: a single-region table).
    pub(crate) peers: Vec<RegionId>,
    /// Lag of applied remote writes, by origin region.
    pub(crate) lag: BTreeMap<RegionId, LagStats>,
}

pub(crate) struct ServeRegion {
    pub(crate) id: RegionId,
    pub(crate) name: String,
    pub(crate) engine: Engine,
    pub(crate) replicas: BTreeMap<String, Replica>,
    pub(crate) replication: ReplicatorConfig,
    /// Added to the wall clock that stamps this region's writes (ctl skew).
    pub(crate) skew_us: i64,
    pub(crate) azs_up: [bool; 3],
    /// Per-table request-rate limits set through the control API.
    pub(crate) throttles: BTreeMap<String, Throttle>,
    pub(crate) counters: RegionCounters,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct RegionCounters {
    pub requests: u64,
    pub errors: u64,
    pub local_writes: u64,
    pub remote_applied: u64,
    pub remote_discarded: u64,
    pub lww_superseded_local: u64,
}

impl ServeRegion {
    pub(crate) fn new(
        id: RegionId,
        name: &str,
        epoch_unix_secs: u64,
        replication: ReplicatorConfig,
        gsi_propagation_us: u64,
    ) -> ServeRegion {
        let config = EngineConfig {
            region_name: name.to_string(),
            epoch_unix_secs,
            gsi_propagation_us,
            ..EngineConfig::default()
        };
        ServeRegion {
            id,
            name: name.to_string(),
            engine: Engine::new(config),
            replicas: BTreeMap::new(),
            replication,
            skew_us: 0,
            azs_up: [true; 3],
            throttles: BTreeMap::new(),
            counters: RegionCounters::default(),
        }
    }

    /// Starts replication state for a table just created here.
    pub(crate) fn add_replica(&mut self, table: &str, peers: &[RegionId]) {
        let replicator = Replicator::new(self.id, peers, self.replication.clone());
        self.replicas.insert(
            table.to_string(),
            Replica {
                replicator,
                peers: peers.to_vec(),
                lag: BTreeMap::new(),
            },
        );
    }

    /// Quorum needs 2 of 3 AZs (RC-12): without it writes and strong reads fail.
    pub(crate) fn has_quorum(&self) -> bool {
        self.azs_up.iter().filter(|u| **u).count() >= 2
    }

    /// Back-pressure: a full change log refuses new local writes.
    pub(crate) fn check_room(&self) -> Result<(), EngineError> {
        if self.replicas.values().all(|r| r.replicator.has_room()) {
            return Ok(());
        }
        Err(EngineError::new(
            ErrorKind::ThrottlingException,
            "Replication to a peer region is too far behind; retry later",
        ))
    }

    /// Stamps local engine changes and logs them for replication (GT-12).
    pub(crate) fn record_changes(&mut self, changes: Vec<ItemChange>, now_us: u64, wall_us: u64) {
        for change in changes {
            self.record_change(change, now_us, wall_us);
        }
    }

    /// Stamps one local engine change and logs it for replication (GT-12).
    pub(crate) fn record_change(&mut self, change: ItemChange, now_us: u64, wall_us: u64) {
        let Some(replica) = self.replicas.get_mut(&change.table) else {
            return; // the table was deleted by the same request (cannot happen today)
        };
        // The change is ours: its key and image move into the replicator's log instead of
        // being copied (a copy of the key attributes is a map and two strings per write).
        let attrs = Arc::new(change.key_attrs);
        let key = TableKey {
            encoded: change.key,
            attrs: attrs.clone(),
        };
        let stamp_wall_us = wall_us.saturating_add_signed(self.skew_us);
        let local = replica
            .replicator
            .record_local(key, change.new_image, stamp_wall_us, now_us);
        self.counters.local_writes += 1;
        if local.superseded_by.is_some() {
            // LWW by timestamp: the stored version carries a larger stamp (a skewed clock),
            // so this acknowledged write loses at once; put the stored image back.
            self.counters.lww_superseded_local += 1;
            self.engine
                .apply_replicated_at(&change.table, &attrs, change.old_image, SimTime(now_us))
                .expect("restoring a stored image cannot fail");
        }
    }

    /// Replication messages due now, per table, after applying what the partition
    /// streams release (GT-09: received writes wait there up to the stream skew).
    pub(crate) fn poll(&mut self, now_us: u64) -> Vec<(String, RegionId, Msg)> {
        self.release_held(now_us);
        let mut out = Vec::new();
        for (table, replica) in self.replicas.iter_mut() {
            if replica.peers.is_empty() {
                continue;
            }
            for (to, message) in replica.replicator.poll(now_us) {
                out.push((table.clone(), to, message));
            }
        }
        out
    }

    fn release_held(&mut self, now_us: u64) {
        let mut released = Vec::new();
        for (table, replica) in self.replicas.iter_mut() {
            for apply in replica.replicator.release(now_us) {
                released.push((table.clone(), apply));
            }
        }
        for (table, apply) in released {
            let from = apply_origin(&apply);
            self.install(&table, from, apply, now_us);
        }
    }

    /// Applies a message from `from`; returns the ack to send back, if any.
    pub(crate) fn on_message(
        &mut self,
        table: &str,
        from: RegionId,
        message: Msg,
        now_us: u64,
    ) -> Option<Msg> {
        let replica = self.replicas.get_mut(table)?;
        if !replica.peers.contains(&from) {
            return None; // not (or no longer) a replica of this table
        }
        let (applies, ack) = replica.replicator.on_message(message, now_us);
        for apply in applies {
            self.install(table, from, apply, now_us);
        }
        ack
    }

    fn install(
        &mut self,
        table: &str,
        from: RegionId,
        apply: Apply<TableKey, Arc<Item>>,
        now_us: u64,
    ) {
        let replica = self.replicas.get_mut(table).expect("replica exists");
        let lag = replica.lag.entry(from).or_default();
        match apply {
            Apply::Applied {
                key,
                image,
                written_at_us,
                ..
            } => {
                let lag_ms = now_us.saturating_sub(written_at_us) as f64 / 1e3;
                lag.last_ms = lag_ms;
                lag.max_ms = lag.max_ms.max(lag_ms);
                lag.applied += 1;
                self.counters.remote_applied += 1;
                self.engine
                    .apply_replicated_at(table, &key.attrs, image, SimTime(now_us))
                    .expect("replicated images were validated at their origin");
            }
            Apply::Discarded { .. } => {
                lag.discarded += 1;
                self.counters.remote_discarded += 1;
            }
        }
    }

    /// Applies a snapshot version from another replica (backfill of a new replica).
    pub(crate) fn backfill(
        &mut self,
        table: &str,
        key: TableKey,
        image: Option<Arc<Item>>,
        version: &dynasim_replication::Version,
        now_us: u64,
    ) {
        let replica = self.replicas.get_mut(table).expect("replica exists");
        let apply = replica.replicator.apply_synchronous(
            key,
            image,
            version.stamp,
            version.context,
            now_us,
        );
        if let Apply::Applied { key, image, .. } = apply {
            self.engine
                .apply_replicated_at(table, &key.attrs, image, SimTime(now_us))
                .expect("backfilled images were validated at their origin");
        }
    }
}

/// The region whose write an apply carries (its stamp's origin).
fn apply_origin(apply: &Apply<TableKey, Arc<Item>>) -> RegionId {
    match apply {
        Apply::Applied { stamp, .. } | Apply::Discarded { stamp, .. } => stamp.region,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynasim_engine::{CreateTableInput, PutItemInput};
    use serde_json::json;

    fn region(id: u16, name: &str, config: &ReplicatorConfig) -> ServeRegion {
        let mut r = ServeRegion::new(RegionId(id), name, 0, config.clone(), 0);
        let input: CreateTableInput = serde_json::from_value(json!({
            "TableName": "items",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        }))
        .expect("valid CreateTable");
        r.engine
            .create_table(input, SimTime(0))
            .expect("table created");
        r.add_replica("items", &[RegionId(1 - id)]);
        r
    }

    /// GT-09 in serve mode: received writes wait in their partition streams, are not
    /// acknowledged meanwhile, and the region's poll applies them once released.
    #[test]
    fn gt09_poll_applies_what_the_partition_streams_held() {
        let config = ReplicatorConfig {
            partition_streams: 8,
            stream_skew_us_max: 50_000,
            ..ReplicatorConfig::default()
        };
        let mut us = region(0, "us-east-1", &config);
        let mut eu = region(1, "eu-west-1", &config);
        for i in 0..64 {
            let input: PutItemInput = serde_json::from_value(json!({
                "TableName": "items",
                "Item": {"pk": {"S": format!("k{i}")}}
            }))
            .expect("valid PutItem");
            let outcome = us.engine.put_item(input, SimTime(1_000)).expect("put");
            us.record_change(outcome.change, 1_000, 1_000);
        }
        let mut acked = 0;
        for (table, _, message) in us.poll(2_000) {
            if let Some(Msg::Ack { seen, .. }) = eu.on_message(&table, RegionId(0), message, 2_000)
            {
                acked = seen.get(&RegionId(0));
            }
        }
        let held = eu.replicas["items"].replicator.held_entries();
        assert!(held > 0, "some partition stream delays its writes");
        assert_eq!(eu_items(&eu) + held, 64);
        assert!(
            (acked as usize) < 64 && acked as usize <= eu_items(&eu),
            "only applied writes are acknowledged ({acked})"
        );
        eu.poll(100_000);
        assert_eq!(eu.replicas["items"].replicator.held_entries(), 0);
        assert_eq!(eu_items(&eu), 64, "every write applied once released");
        assert!(
            eu.replicas["items"]
                .replicator
                .counters()
                .applied_out_of_order
                > 0
        );
    }

    fn eu_items(r: &ServeRegion) -> usize {
        r.engine.table("items").map_or(0, |t| t.len())
    }
}
