//! Replicator unit tests: LWW rule (GT-12), idempotent apply, resend after loss,
//! tombstones, back-pressure, and a randomized lossy-network convergence check.

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type R = Replicator<u32, String>;
const US: RegionId = RegionId(0);
const EU: RegionId = RegionId(1);
const AP: RegionId = RegionId(2);

fn three() -> Vec<R> {
    three_with(ReplicatorConfig::default())
}

fn three_with(config: ReplicatorConfig) -> Vec<R> {
    let all = [US, EU, AP];
    all.iter()
        .map(|r| {
            let peers: Vec<RegionId> = all.iter().copied().filter(|p| p != r).collect();
            R::new(*r, &peers, config.clone())
        })
        .collect()
}

/// GT-09 on: eight partition streams, each adding up to 50 ms.
fn streams_config() -> ReplicatorConfig {
    ReplicatorConfig {
        partition_streams: 8,
        stream_skew_us_max: 50_000,
        ..ReplicatorConfig::default()
    }
}

/// Deliver every pending message instantly until quiet; returns applies per region.
fn drain(rs: &mut [R], now: u64) -> Vec<Vec<Apply<u32, String>>> {
    let mut applied = vec![Vec::new(); rs.len()];
    for _round in 0..100 {
        let mut inflight = Vec::new();
        for r in rs.iter_mut() {
            inflight.extend(r.poll(now));
        }
        let mut any_batch = false;
        while let Some((to, msg)) = inflight.pop() {
            any_batch |= matches!(msg, Message::Batch { .. });
            let (apps, ack) = rs[to.0 as usize].on_message(msg, now);
            applied[to.0 as usize].extend(apps);
            if let Some(ack) = ack {
                // An ack is useful to every peer (cumulative vector clock).
                for r in rs.iter_mut() {
                    if r.local() != to {
                        r.on_message(ack.clone(), now);
                    }
                }
            }
        }
        if !any_batch {
            break;
        }
    }
    applied
}

#[test]
fn gt12_concurrent_writes_resolve_to_larger_stamp_everywhere() {
    let mut rs = three();
    let a = rs[0].record_local(7, Some("us".into()), 1_000, 1_000);
    let b = rs[1].record_local(7, Some("eu".into()), 1_005, 1_000);
    assert!(b.stamp > a.stamp);
    drain(&mut rs, 2_000);
    for r in &rs {
        assert_eq!(r.version(&7).unwrap().stamp, b.stamp, "{}", r.local());
    }
    assert_eq!(
        rs[0].counters().lww_overwrites,
        1,
        "us saw its value overwritten by a concurrent write"
    );
}

#[test]
fn gt12_equal_times_break_ties_by_region() {
    let mut rs = three();
    let a = rs[0].record_local(1, Some("us".into()), 500, 0);
    let c = rs[2].record_local(1, Some("ap".into()), 500, 0);
    assert!(c.stamp > a.stamp);
    drain(&mut rs, 1);
    assert!(rs.iter().all(|r| r.version(&1).unwrap().stamp == c.stamp));
}

#[test]
fn sd02_clock_behind_makes_causally_later_write_lose_at_once() {
    let mut rs = three();
    let first = rs[0].record_local(3, Some("v1".into()), 10_000_000, 10_000_000);
    drain(&mut rs, 10_100_000);
    // EU's clock is 500 ms behind: its causally later write carries a smaller stamp.
    let later = rs[1].record_local(3, Some("v2".into()), 9_600_000, 10_100_000);
    assert_eq!(later.superseded_by, Some(first.stamp));
    assert!(
        later.context_before[US.0 as usize] >= first.stamp.seq,
        "EU had seen the first write"
    );
    drain(&mut rs, 10_200_000);
    assert!(
        rs.iter()
            .all(|r| r.version(&3).unwrap().stamp == first.stamp)
    );
}

#[test]
fn duplicate_batches_are_applied_once() {
    let mut us = R::new(US, &[EU], ReplicatorConfig::default());
    let mut eu = R::new(EU, &[US], ReplicatorConfig::default());
    us.record_local(1, Some("x".into()), 10, 10);
    let msgs = us.poll(10);
    let batch = msgs
        .into_iter()
        .find(|(_, m)| matches!(m, Message::Batch { .. }))
        .unwrap()
        .1;
    let (first, _) = eu.on_message(batch.clone(), 11);
    let (second, _) = eu.on_message(batch, 12);
    assert_eq!(first.len(), 1);
    assert!(second.is_empty());
    assert_eq!(eu.counters().duplicates_ignored, 1);
}

#[test]
fn lost_batch_is_resent_from_last_ack() {
    let config = ReplicatorConfig {
        resend_after_us: 1_000,
        batch_items_max: 1,
        ..Default::default()
    };
    let mut us = R::new(US, &[EU], config.clone());
    let mut eu = R::new(EU, &[US], config);
    us.record_local(1, Some("a".into()), 10, 10);
    us.record_local(2, Some("b".into()), 11, 11);
    let sent = us.poll(20);
    let batches: Vec<_> = sent
        .into_iter()
        .filter(|(_, m)| matches!(m, Message::Batch { .. }))
        .collect();
    assert_eq!(batches.len(), 2);
    // The first batch is lost; the second arrives and waits in the reorder buffer.
    let (apps, ack) = eu.on_message(batches[1].1.clone(), 30);
    assert!(apps.is_empty());
    us.on_message(ack.unwrap(), 31);
    // After the resend timeout both are sent again, in order.
    let resent: Vec<_> = us
        .poll(2_000)
        .into_iter()
        .filter(|(_, m)| matches!(m, Message::Batch { .. }))
        .collect();
    assert_eq!(resent.len(), 2);
    for (_, m) in resent {
        let (_, ack) = eu.on_message(m, 2_010);
        us.on_message(ack.unwrap(), 2_020);
    }
    assert!(eu.version(&1).is_some() && eu.version(&2).is_some());
    assert_eq!(us.backlog(EU), 0);
    assert_eq!(
        eu.counters().duplicates_ignored,
        1,
        "the parked entry was applied once"
    );
    assert_eq!(us.counters().entries_resent, 2);
}

#[test]
fn tombstone_blocks_older_write_then_is_collected() {
    let mut rs = three();
    rs[0].record_local(5, Some("v".into()), 100, 100);
    drain(&mut rs, 200);
    let del = rs[1].record_local(5, None, 300, 300);
    // An older write from AP (clock behind) still in flight must not resurrect.
    let old = rs[2].record_local(5, Some("zombie".into()), 250, 300);
    assert!(old.stamp < del.stamp);
    drain(&mut rs, 400);
    for r in &rs {
        let v = r.version(&5);
        assert!(v.is_none_or(|v| v.deleted), "{} resurrected", r.local());
    }
    // Periodic acks let every replica learn that all have seen the delete.
    for t in 1..5 {
        drain(&mut rs, 400 + t * 300_000);
    }
    assert!(
        rs.iter().all(|r| r.tombstone_count() == 0),
        "tombstones collected"
    );
}

#[test]
fn forget_tombstones_bug_resurrects() {
    let config = ReplicatorConfig {
        bug: Some(KnownBug::ForgetTombstones),
        ..Default::default()
    };
    let mut us = R::new(US, &[EU], config.clone());
    let mut eu = R::new(EU, &[US], config);
    let _old = eu.record_local(9, Some("old".into()), 100, 100);
    us.record_local(9, None, 200, 200);
    let batch = eu
        .poll(300)
        .into_iter()
        .find(|(_, m)| matches!(m, Message::Batch { .. }))
        .unwrap()
        .1;
    let (apps, _) = us.on_message(batch, 300);
    assert!(
        matches!(apps[0], Apply::Applied { .. }),
        "the older write comes back"
    );
}

#[test]
fn full_log_is_back_pressure() {
    let config = ReplicatorConfig {
        queue_items_max: 3,
        batch_items_max: 1,
        window_items_max: 1,
        ..Default::default()
    };
    let mut us = R::new(US, &[EU], config);
    for k in 0..3 {
        assert!(us.has_room());
        us.record_local(k, Some("x".into()), k as u64, 0);
    }
    assert!(!us.has_room());
    assert_eq!(us.backlog(EU), 3);
}

#[test]
fn a_table_without_peers_never_fills_its_log() {
    let config = ReplicatorConfig {
        queue_items_max: 3,
        ..Default::default()
    };
    let mut alone = R::new(US, &[], config);
    for k in 0..10 {
        assert!(alone.has_room(), "write {k}");
        alone.record_local(k, Some("x".into()), k as u64, 0);
    }
    assert!(alone.poll(1_000_000).is_empty());
}

/// Random delays, drops and duplicates; after the network heals, every replica agrees
/// and the winner of each key is the write with the largest stamp.
#[test]
fn lossy_network_converges_to_max_stamp() {
    lossy_network_converges(ReplicatorConfig::default(), false);
}

/// GT-09: the same with partition streams holding entries, and receivers restarting
/// (dropping what their streams held) while the network is lossy.
#[test]
fn gt09_lossy_network_with_partition_streams_and_restarts_converges() {
    lossy_network_converges(streams_config(), true);
}

fn lossy_network_converges(config: ReplicatorConfig, restarts: bool) {
    for seed in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut rs = three_with(config.clone());
        let mut best: BTreeMap<u32, Stamp> = BTreeMap::new();
        let mut pending: Vec<(u64, RegionId, Message<u32, String>)> = Vec::new();
        let mut now = 0u64;
        for step in 0..3_000u64 {
            now += 1_000;
            if step < 2_000 && rng.random_bool(0.3) {
                let r = rng.random_range(0..3usize);
                let key = rng.random_range(0..20u32);
                let image = if rng.random_bool(0.2) {
                    None
                } else {
                    Some(format!("{seed}-{step}"))
                };
                let skew = rng.random_range(0..50_000u64);
                if rs[r].has_room() {
                    let w = rs[r].record_local(key, image, now + skew, now);
                    let e = best.entry(key).or_insert(w.stamp);
                    *e = (*e).max(w.stamp);
                }
            }
            if restarts && step < 2_000 && rng.random_bool(0.002) {
                rs[rng.random_range(0..3usize)].restart(now);
            }
            for r in rs.iter_mut() {
                r.release(now);
                for (to, m) in r.poll(now) {
                    let lossy = step < 2_000;
                    if lossy && rng.random_bool(0.2) {
                        continue;
                    }
                    let delay = rng.random_range(1_000..40_000u64);
                    pending.push((now + delay, to, m.clone()));
                    if lossy && rng.random_bool(0.05) {
                        pending.push((now + delay * 2, to, m));
                    }
                }
            }
            pending.sort_by_key(|(at, ..)| *at);
            let due = pending.iter().take_while(|(at, ..)| *at <= now).count();
            let batch: Vec<_> = pending.drain(..due).collect();
            for (_, to, m) in batch {
                let from = match &m {
                    Message::Batch { origin, .. } => *origin,
                    Message::Ack { from, .. } => *from,
                };
                let (_, ack) = rs[to.0 as usize].on_message(m, now);
                if let Some(ack) = ack {
                    pending.push((now + 5_000, from, ack));
                }
            }
        }
        for r in &rs {
            assert_eq!(r.held_entries(), 0, "seed {seed}: streams drained");
        }
        for (key, stamp) in &best {
            for r in &rs {
                let v = r.version(key);
                let got = v.map(|v| v.stamp);
                assert!(
                    got.is_none_or(|g| g == *stamp),
                    "seed {seed} key {key} at {}: {got:?} != {stamp}",
                    r.local()
                );
                if got.is_none() {
                    // Only a collected tombstone may be missing.
                    assert!(rs.iter().all(|o| o.version(key).is_none_or(|v| v.deleted)));
                }
            }
        }
    }
}

#[test]
fn reordered_batches_are_applied_in_sequence_without_resend() {
    let config = ReplicatorConfig {
        batch_items_max: 1,
        ..Default::default()
    };
    let mut us = R::new(US, &[EU], config.clone());
    let mut eu = R::new(EU, &[US], config);
    for k in 0..3 {
        us.record_local(k, Some(format!("v{k}")), 10 + u64::from(k), 10);
    }
    let mut batches: Vec<_> = us
        .poll(20)
        .into_iter()
        .filter(|(_, m)| matches!(m, Message::Batch { .. }))
        .collect();
    batches.reverse(); // arrive 3, 2, 1
    let mut order = Vec::new();
    for (_, m) in batches {
        let (apps, _) = eu.on_message(m, 30);
        order.extend(apps.into_iter().map(|a| match a {
            Apply::Applied { key, .. } => key,
            Apply::Discarded { key, .. } => key,
        }));
    }
    assert_eq!(order, vec![0, 1, 2], "per-origin order preserved");
    assert_eq!(eu.seen().get(&US), 3);
}

#[test]
fn gt19_joining_replica_receives_writes_after_its_snapshot() {
    let mut rs: Vec<R> = [US, EU]
        .iter()
        .map(|r| {
            R::new(
                *r,
                &[if *r == US { EU } else { US }],
                ReplicatorConfig::default(),
            )
        })
        .collect();
    rs[0].record_local(1, Some("a".into()), 10, 10);
    rs[1].record_local(2, Some("b".into()), 11, 11);
    drain(&mut rs, 20);
    // AP joins: its snapshot holds everything logged so far, so streams start at the heads.
    let mut ap = R::new(AP, &[US, EU], ReplicatorConfig::default());
    for r in rs.iter_mut() {
        ap.mark_seen(r.local(), r.head_seq());
        r.add_peer(AP, 20);
    }
    rs.push(ap);
    rs[0].record_local(3, Some("c".into()), 30, 30);
    let applied = drain(&mut rs, 40);
    assert_eq!(
        applied[2].len(),
        1,
        "only the write after the snapshot is sent"
    );
    assert!(matches!(&applied[2][0], Apply::Applied { key: 3, .. }));
    // Leaving: no more sends to AP, and the log is no longer held for it.
    rs[0].remove_peer(AP);
    rs[0].record_local(4, Some("d".into()), 50, 50);
    let applied = drain(&mut rs, 60);
    assert!(applied[2].is_empty());
    assert_eq!(rs[0].backlog(AP), 0);
}

/// Ship `us`'s log to `eu` in one batch at `at_us`; returns what applied at once.
fn deliver_log(us: &mut R, eu: &mut R, at_us: u64) -> (Vec<Apply<u32, String>>, SeenClock) {
    let mut applied = Vec::new();
    let mut acked = SeenClock::default();
    for (_, m) in us.poll(at_us) {
        if let Message::Batch { .. } = m {
            let (apps, ack) = eu.on_message(m, at_us);
            applied.extend(apps);
            if let Some(Message::Ack { seen, .. }) = ack {
                acked = seen;
            }
        }
    }
    (applied, acked)
}

fn applied_key_seq(apply: &Apply<u32, String>) -> (u32, u64) {
    match apply {
        Apply::Applied { key, stamp, .. } => (*key, stamp.seq),
        Apply::Discarded { key, stamp, .. } => (*key, stamp.seq),
    }
}

#[test]
fn gt09_partition_streams_reorder_across_items_never_within_one() {
    let config = ReplicatorConfig {
        batch_items_max: 1_000,
        window_items_max: 2_000,
        ..streams_config()
    };
    let mut us = R::new(US, &[EU], config.clone());
    let mut eu = R::new(EU, &[US], config);
    // 64 items written twice each, in one source order.
    for round in 0..2u64 {
        for key in 0..64u32 {
            let t = 1_000 + round * 100 + u64::from(key);
            us.record_local(key, Some(format!("{round}")), t, t);
        }
    }
    let (mut order, acked) = deliver_log(&mut us, &mut eu, 10_000);
    // Held entries are not acknowledged: the ack covers only an applied prefix.
    assert!(eu.held_entries() > 0, "some stream delays its entries");
    let applied_prefix = acked.get(&US);
    assert!(applied_prefix < us.head_seq());
    assert!(
        order
            .iter()
            .filter(|a| applied_key_seq(a).1 <= applied_prefix)
            .count()
            == applied_prefix as usize,
        "everything acknowledged was applied"
    );
    for t in (10_000..=70_000).step_by(1_000) {
        order.extend(eu.release(t));
    }
    assert_eq!(eu.held_entries(), 0);
    assert_eq!(order.len(), 128, "every entry applied once");
    assert_eq!(
        eu.seen().get(&US),
        us.head_seq(),
        "all applied, all acknowledgeable"
    );
    let seqs: Vec<u64> = order.iter().map(|a| applied_key_seq(a).1).collect();
    assert!(
        seqs.windows(2).any(|w| w[0] > w[1]),
        "GT-09: the remote order differs from the source order across items"
    );
    assert!(eu.counters().applied_out_of_order > 0);
    for key in 0..64u32 {
        let per_key: Vec<u64> = order
            .iter()
            .map(applied_key_seq)
            .filter(|(k, _)| *k == key)
            .map(|(_, seq)| seq)
            .collect();
        assert!(
            per_key.windows(2).all(|w| w[0] < w[1]),
            "item {key}: {per_key:?}"
        );
        assert_eq!(eu.version(&key).unwrap().stamp.seq, per_key[1]);
    }
}

#[test]
fn gt09_one_partition_stream_applies_in_source_order_at_once() {
    let config = ReplicatorConfig {
        partition_streams: 1,
        stream_skew_us_max: 50_000,
        ..ReplicatorConfig::default()
    };
    let mut us = R::new(US, &[EU], config.clone());
    let mut eu = R::new(EU, &[US], config);
    for key in 0..20u32 {
        us.record_local(key, Some("x".into()), 1_000 + u64::from(key), 1_000);
    }
    let (order, acked) = deliver_log(&mut us, &mut eu, 5_000);
    let seqs: Vec<u64> = order.iter().map(|a| applied_key_seq(a).1).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<u64>>());
    assert_eq!(acked.get(&US), 20);
    assert_eq!(eu.held_entries(), 0);
}

#[test]
fn gt09_restart_drops_held_entries_and_the_origin_resends_them() {
    let config = ReplicatorConfig {
        resend_after_us: 100_000,
        ..streams_config()
    };
    let mut us = R::new(US, &[EU], config.clone());
    let mut eu = R::new(EU, &[US], config);
    for key in 0..50u32 {
        us.record_local(key, Some("x".into()), 1_000 + u64::from(key), 1_000);
    }
    let (first, acked) = deliver_log(&mut us, &mut eu, 10_000);
    us.on_message(
        Message::Ack {
            from: EU,
            seen: acked.clone(),
            head_seq: 0,
        },
        10_000,
    );
    let held = eu.held_entries();
    assert!(held > 0);
    assert_eq!(first.len() + held, 50);
    eu.restart(11_000);
    assert_eq!(eu.held_entries(), 0, "held entries are in-flight work");
    assert!(eu.release(1_000_000).is_empty());
    // The origin never had them acknowledged: it resends after its timeout.
    assert_eq!(us.backlog(EU), 50 - acked.get(&US));
    let (mut again, _) = deliver_log(&mut us, &mut eu, 200_000);
    again.extend(eu.release(300_000));
    let mut keys: Vec<u32> = first
        .iter()
        .chain(again.iter())
        .map(|a| applied_key_seq(a).0)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        (0..50).collect::<Vec<u32>>(),
        "each write applied exactly once"
    );
    assert_eq!(eu.seen().get(&US), 50);
}

/// A context joins as `VClock::merge` would, and a join with an older clock changes
/// nothing.
#[test]
fn join_context_is_the_vclock_merge() {
    let mut clock = SeenClock::new();
    clock.apply(Dot::new(RegionId(0), 3));
    clock.apply(Dot::new(RegionId(1), 5));
    let mut context = Context::from(&clock);

    let mut older = SeenClock::new();
    older.apply(Dot::new(RegionId(1), 4));
    join_context(&mut context, &Context::from(&older));
    assert_eq!(context.to_clock(), clock, "nothing new: unchanged");

    let mut newer = SeenClock::new();
    newer.apply(Dot::new(RegionId(1), 7));
    newer.apply(Dot::new(RegionId(2), 1));
    join_context(&mut context, &Context::from(&newer));
    let mut merged = clock.clone();
    crdts::CvRDT::merge(&mut merged, newer.clone());
    assert_eq!(context.to_clock(), merged);

    let mut joined_clock = Context::from(&clock);
    joined_clock.join_clock(&newer);
    assert_eq!(
        joined_clock, context,
        "joining the clock or its context agree"
    );
    assert_eq!(context.get(&RegionId(1)), 7);
    assert_eq!(context.get(&RegionId(6)), 0);
    assert_eq!(
        context.get(&RegionId(40)),
        0,
        "an unknown region counts nothing"
    );
}

/// A context serialises as the `VClock` it stands for, and reads back; a serialised
/// clock naming a region beyond the limit is an error, not a panic.
#[test]
fn context_serialises_as_its_vclock() {
    let mut clock = SeenClock::new();
    clock.apply(Dot::new(AP, 9));
    clock.apply(Dot::new(US, 4));
    let context = Context::from(&clock);
    let json = serde_json::to_string(&context).expect("serialises");
    assert_eq!(json, serde_json::to_string(&clock).expect("serialises"));
    let back: Context = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, context);
    assert_eq!(format!("{context:?}"), "{0: 4, 2: 9}");

    let mut far = SeenClock::new();
    far.apply(Dot::new(
        RegionId(dynasim_core::limits::REGIONS_MAX as u16),
        1,
    ));
    let far = serde_json::to_string(&far).expect("serialises");
    let err = serde_json::from_str::<Context>(&far).expect_err("beyond the limit");
    assert!(
        err.to_string().contains("beyond the 7-region limit"),
        "{err}"
    );
}

/// The history's dense contexts: one entry per region up to the largest named, zeros
/// for regions not named, and back to the same context and clock.
#[test]
fn dense_context_round_trips_through_the_clock() {
    assert_eq!(Context::from(&SeenClock::new()).dense(), Vec::<u64>::new());
    assert_eq!(Context::from_dense(&[]).to_clock(), SeenClock::new());
    let mut clock = SeenClock::new();
    clock.apply(Dot::new(AP, 9));
    clock.apply(Dot::new(US, 4));
    let context = Context::from(&clock);
    let dense = context.dense();
    assert_eq!(dense, vec![4, 0, 9]);
    assert_eq!(Context::from_dense(&dense).to_clock(), clock);
    assert_eq!(Context::from_dense(&dense), context);
    assert_eq!(Context::new().dense(), Vec::<u64>::new());
    assert_eq!(
        Context::from_dense(&[0, 2]).with(AP, 5).dense(),
        vec![0, 2, 5]
    );
}

/// Region ids index a context's counters: one at or beyond the limit is refused where a
/// replicator is configured, not deep inside a later write.
#[test]
#[should_panic(expected = "below the 7-region limit")]
fn a_peer_beyond_the_region_limit_is_refused_at_construction() {
    let _ = R::new(US, &[RegionId(7)], ReplicatorConfig::default());
}

#[test]
#[should_panic(expected = "below the 7-region limit")]
fn a_peer_added_beyond_the_region_limit_is_refused() {
    let mut us = R::new(US, &[EU], ReplicatorConfig::default());
    us.add_peer(RegionId(9), 0);
}
