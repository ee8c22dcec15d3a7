//! Replication in real time: every region's replicators are polled on a short interval,
//! and each message travels as a tokio task that sleeps for the link's one-way delay
//! (plus jitter) before it is delivered. A cut link or a region that is down drops the
//! message at send or at delivery; the replicators' acks and resends do the rest, exactly
//! as in the simulation.

use crate::region::Msg;
use crate::world::World;
use dynasim_core::{RegionId, SimTime};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// How often replicators are polled (real time).
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How often expired TTL items are swept (real time).
const TTL_SWEEP_US: u64 = 1_000_000;

/// Runs until `shutdown` turns true.
pub(crate) async fn run_replication(world: Arc<World>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut swept_at_us = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now_us = world.clock.now_us();
        let sweep = now_us >= swept_at_us + TTL_SWEEP_US;
        if sweep {
            swept_at_us = now_us;
        }
        for r in 0..world.regions.len() {
            let outgoing = {
                let mut region = world.region(r);
                if sweep {
                    // GT-17: TTL deletes are local writes of the sweeping region and replicate.
                    let changes = region.engine.sweep_ttl(SimTime(now_us));
                    let wall_us = world.clock.wall_us();
                    if !changes.is_empty() {
                        let record = crate::wal::Record::Sweep {
                            now: now_us,
                            wall: wall_us,
                        };
                        let _ = world.log(&record, false);
                    }
                    region.record_changes(changes, now_us, wall_us);
                }
                region.poll(now_us)
            };
            let from = RegionId(r as u16);
            for (table, to, message) in outgoing {
                send(&world, from, to, table, message);
            }
        }
    }
}

fn blocked(world: &World, from: RegionId, to: RegionId) -> bool {
    let cuts = world.cuts.lock().unwrap_or_else(|e| e.into_inner());
    cuts.is_cut(from, to)
}

fn send(world: &Arc<World>, from: RegionId, to: RegionId, table: String, message: Msg) {
    if blocked(world, from, to) {
        return;
    }
    let link = world.links[usize::from(from.0)][usize::from(to.0)];
    let jitter = if link.jitter_us == 0 {
        0
    } else {
        next_random() % (link.jitter_us + 1)
    };
    let delay = Duration::from_micros(link.one_way_us + jitter);
    let world = world.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        deliver(&world, from, to, table, message);
    });
}

fn deliver(world: &Arc<World>, from: RegionId, to: RegionId, table: String, message: Msg) {
    if blocked(world, from, to) {
        return; // cut while in flight
    }
    let mut region = world.region(usize::from(to.0));
    let now_us = world.clock.now_us();
    if world.logging() {
        world.log_batch(usize::from(to.0), from, &table, &message, now_us);
    }
    let ack = region.on_message(&table, from, message, now_us);
    drop(region);
    if let Some(ack) = ack {
        send(world, to, from, table, ack);
    }
}

/// Jitter only needs spread, not reproducibility (serve mode runs in real time).
fn next_random() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut z = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
