//! Region rules, one test each (reference RC-, CA-, DX-): quorum writes survive an AZ loss,
//! strong reads see acknowledged writes, eventual reads can be stale only through the
//! lagging follower, hot keys hit the partition limit, DAX serves stale data only when a
//! write bypassed it.

use dynasim_core::RegionId;
use dynasim_core::history::{OpKind, OpResult};
use dynasim_region::{
    CapacitySpec, ClientOp, DaxSpec, KeyTypeSpec, Region, RegionConfig, TableSpec,
};
use dynasim_replication::ReplicatorConfig;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn table(capacity: CapacitySpec, dax: Option<DaxSpec>) -> TableSpec {
    TableSpec {
        name: "items".into(),
        partition_key: "pk".into(),
        partition_key_type: KeyTypeSpec::S,
        sort_key: None,
        peers: vec![RegionId(1)],
        capacity,
        dax,
        mrsc: false,
        ttl: None,
        stream_view: None,
        origin_attribute: false,
        split_for_heat: true,
        gsis: Vec::new(),
    }
}

fn on_demand() -> CapacitySpec {
    CapacitySpec {
        on_demand: true,
        read_units: 0.0,
        write_units: 0.0,
        read_auto_scaling: None,
        write_auto_scaling: None,
    }
}

fn region(spec: TableSpec) -> Region {
    Region::new(
        RegionId(0),
        &[spec],
        RegionConfig::default(),
        ReplicatorConfig::default(),
    )
}

fn op(kind: OpKind, key: u64, value: u64, strong: bool) -> ClientOp {
    ClientOp {
        kind,
        table: 0,
        key,
        value,
        item_bytes: 200,
        strong,
        expire_after_us: None,
        items: 1,
        index: 0,
    }
}

#[test]
fn rc16_a_quorum_write_survives_the_loss_of_any_single_az() {
    for lost_az in 0..3u8 {
        let mut r = region(table(on_demand(), None));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for key in 0..30 {
            let w = r.execute(
                &op(OpKind::Put, key, 100 + key, false),
                1_000,
                1_000,
                &mut rng,
            );
            assert_eq!(w.result, OpResult::Ok);
        }
        r.set_az(lost_az, false, 2_000);
        // After the lease, every partition has a leader again and still holds every write.
        let after_lease = 2_000 + RegionConfig::default().lease_us + 1;
        for key in 0..30 {
            let read = r.execute(
                &op(OpKind::Get, key, 0, true),
                after_lease,
                after_lease,
                &mut rng,
            );
            assert_eq!(read.result, OpResult::Ok, "az {lost_az} key {key}");
            assert_eq!(
                read.read.and_then(|v| v.value),
                Some(100 + key),
                "az {lost_az} key {key}"
            );
        }
    }
}

#[test]
fn rc10_strong_reads_and_writes_wait_out_the_lease_of_a_failed_leader() {
    let mut r = region(table(on_demand(), None));
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for az in 0..3 {
        r.set_az(az, az != 0, 0);
    }
    // Some partitions were led from AZ 0: within the lease some writes must fail.
    let failures = (0..40)
        .filter(|key| {
            r.execute(&op(OpKind::Put, *key, 1, false), 10, 10, &mut rng)
                .result
                != OpResult::Ok
        })
        .count();
    assert!(
        failures > 0,
        "writes to partitions led from the failed AZ wait for the lease"
    );
    let after = RegionConfig::default().lease_us + 10;
    let later = (0..40).filter(|key| {
        r.execute(&op(OpKind::Put, *key, 1, false), after, after, &mut rng)
            .result
            != OpResult::Ok
    });
    assert_eq!(later.count(), 0, "new leaders serve after the lease");
    assert!(r.counters().leader_elections > 0);
}

#[test]
fn rc12_two_azs_down_stop_writes_but_eventual_reads_continue() {
    let mut r = region(table(on_demand(), None));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    r.execute(&op(OpKind::Put, 1, 7, false), 0, 0, &mut rng);
    r.set_az(0, false, 1_000);
    r.set_az(1, false, 1_000);
    let w = r.execute(
        &op(OpKind::Put, 1, 8, false),
        10_000_000,
        10_000_000,
        &mut rng,
    );
    assert_eq!(w.result, OpResult::Failed("InternalServerError".into()));
    let read = r.execute(
        &op(OpKind::Get, 1, 0, false),
        10_000_000,
        10_000_000,
        &mut rng,
    );
    assert_eq!(read.result, OpResult::Ok);
}

#[test]
fn rc07_a_strong_read_after_an_acknowledged_write_sees_it() {
    let mut r = region(table(on_demand(), None));
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for i in 0..200u64 {
        let t = i * 10;
        r.execute(&op(OpKind::Put, 5, i, false), t, t, &mut rng);
        let read = r.execute(&op(OpKind::Get, 5, 0, true), t + 1, t + 1, &mut rng);
        assert_eq!(read.read.and_then(|v| v.value), Some(i));
    }
}

#[test]
fn rc14_eventual_reads_are_stale_only_within_the_follower_lag() {
    let mut r = region(table(on_demand(), None));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let lag_us = RegionConfig::default().latency.follower_lag_mean_us as u64;
    let (mut stale_soon, mut stale_late, mut reads) = (0, 0, 0);
    for i in 1..=2_000u64 {
        let t = i * 1_000_000; // a new key-version each simulated second
        r.execute(&op(OpKind::Put, 9, i, false), t, t, &mut rng);
        let soon = r.execute(&op(OpKind::Get, 9, 0, false), t + 1, t + 1, &mut rng);
        let late = r.execute(
            &op(OpKind::Get, 9, 0, false),
            t + 20 * lag_us,
            t + 20 * lag_us,
            &mut rng,
        );
        reads += 1;
        stale_soon += u32::from(soon.read.and_then(|v| v.value) != Some(i));
        stale_late += u32::from(late.read.and_then(|v| v.value) != Some(i));
    }
    // Right after the write only the lagging third replica is behind: about 1 read in 3.
    let ratio = f64::from(stale_soon) / f64::from(reads);
    assert!(
        (0.25..0.42).contains(&ratio),
        "stale ratio right after a write: {ratio}"
    );
    assert_eq!(
        stale_late, 0,
        "after 20x the mean lag every replica has the write"
    );
}

#[test]
fn ca08_a_hot_key_is_throttled_at_the_partition_limit_with_table_capacity_left() {
    let capacity = CapacitySpec {
        on_demand: false,
        read_units: 40_000.0,
        write_units: 40_000.0,
        read_auto_scaling: None,
        write_auto_scaling: None,
    };
    let mut r = region(table(capacity, None));
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut ok = 0;
    // 2,000 writes of one key within one second: the partition serves about 1,000 WCU
    // (plus its one second of burst), the table could serve 40,000.
    for i in 0..2_000u64 {
        let t = 10_000_000 + i * 500;
        if r.execute(&op(OpKind::Put, 1, i, false), t, t, &mut rng)
            .result
            == OpResult::Ok
        {
            ok += 1;
        }
    }
    assert!((900..=2_100).contains(&ok), "served {ok}");
    assert!(ok < 2_000, "the hot key is throttled");
    assert!(r.counters().throttles > 0);
}

#[test]
fn dx_stale_after_a_bypassing_write_until_ttl_fresh_after_write_through() {
    let dax = DaxSpec {
        item_ttl_us: 2_000_000,
        query_ttl_us: 2_000_000,
        size_bytes: 1 << 20,
    };
    let mut r = region(table(on_demand(), Some(dax)));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Write through the region (write-through DAX), read: fresh and cached.
    r.execute(&op(OpKind::Put, 3, 1, false), 0, 0, &mut rng);
    let first = r.execute(&op(OpKind::Get, 3, 0, false), 10, 10, &mut rng);
    assert_eq!(first.read.and_then(|v| v.value), Some(1));
    assert!(first.dax_hit, "write-through populated the cache");
    // A replicated write bypasses DAX (GT-18): a peer's write with a larger stamp.
    let mut peer = Region::new(
        RegionId(1),
        &[TableSpec {
            peers: vec![RegionId(0)],
            ..table(on_demand(), None)
        }],
        RegionConfig::default(),
        ReplicatorConfig::default(),
    );
    peer.execute(&op(OpKind::Put, 3, 2, false), 100, 100, &mut rng);
    for out in peer.poll_replication(200) {
        r.on_replication(0, out.message, 300, &mut rng);
    }
    assert_eq!(
        r.value_of(0, 3).value,
        Some(2),
        "the table has the replicated write"
    );
    let cached = r.execute(&op(OpKind::Get, 3, 0, false), 1_000, 1_000, &mut rng);
    assert_eq!(
        cached.read.and_then(|v| v.value),
        Some(1),
        "DAX serves the stale item until its TTL"
    );
    let expired = r.execute(
        &op(OpKind::Get, 3, 0, false),
        2_500_000,
        2_500_000,
        &mut rng,
    );
    assert_eq!(
        expired.read.and_then(|v| v.value),
        Some(2),
        "fresh after the TTL"
    );
    // Strong reads pass through DAX.
    r.execute(
        &op(OpKind::Put, 3, 3, false),
        3_000_000,
        3_000_000,
        &mut rng,
    );
    let strong = r.execute(&op(OpKind::Get, 3, 0, true), 3_000_001, 3_000_001, &mut rng);
    assert_eq!(strong.read.and_then(|v| v.value), Some(3));
}

#[test]
fn ttl_sweep_deletes_by_the_region_clock_and_replicates_the_delete() {
    // TTL-03/04: expired items stay readable until the sweeper runs; TTL-07: the delete is
    // a stamped local write that the replicator ships to the peer; TTL-08: by the clock.
    let spec = TableSpec {
        ttl: Some(dynasim_region::TtlSpec {
            attribute: "expires_at".into(),
            delete_delay_us: 0,
            delete_jitter_us: 0,
        }),
        ..table(on_demand(), None)
    };
    let mut r = region(spec);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let epoch_us = 1_767_225_600_000_000u64;
    let mut put = op(OpKind::Put, 4, 77, false);
    put.expire_after_us = Some(5_000_000);
    let written = r.execute(&put, 0, epoch_us, &mut rng).written.unwrap();
    let strong_get = op(OpKind::Get, 4, 0, true);

    assert!(
        r.sweep_ttl(3_000_000, epoch_us + 3_000_000, &mut rng)
            .is_empty()
    );
    // Expired at 5 s by true time, but this region's clock runs 2 s slow.
    assert!(
        r.sweep_ttl(6_000_000, epoch_us + 4_000_000, &mut rng)
            .is_empty()
    );
    let read = r.execute(&strong_get, 6_000_000, epoch_us + 4_000_000, &mut rng);
    assert_eq!(read.read.unwrap().value, Some(77), "TTL-04: still readable");

    let deleted = r.sweep_ttl(7_000_000, epoch_us + 6_000_000, &mut rng);
    assert_eq!(deleted.len(), 1);
    assert_eq!((deleted[0].table, deleted[0].key), (0, 4));
    assert_eq!(deleted[0].written.value, None);
    assert!(deleted[0].written.stamp > written.stamp);
    assert_eq!(
        deleted[0].written.context,
        vec![written.stamp.seq],
        "the delete has seen the put it removes"
    );
    let read = r.execute(&strong_get, 7_000_000, epoch_us + 6_000_000, &mut rng);
    assert_eq!(read.read.unwrap().value, None);
    assert!(
        r.sweep_ttl(8_000_000, epoch_us + 7_000_000, &mut rng)
            .is_empty()
    );
    let outgoing = r.poll_replication(8_000_000);
    assert!(
        outgoing.iter().any(|o| o.to == RegionId(1)),
        "the put and the TTL delete are shipped to the peer"
    );

    // Without an expiry request nothing expires.
    let plain = op(OpKind::Put, 5, 78, false);
    r.execute(&plain, 9_000_000, epoch_us + 9_000_000, &mut rng);
    assert!(
        r.sweep_ttl(99_000_000, epoch_us + 99_000_000, &mut rng)
            .is_empty()
    );
}

#[test]
fn ca16_auto_scaling_raises_write_capacity_minutes_after_throttling_starts() {
    // 100 WCU provisioned, 600 writes/s of 1 KB: the 300 s burst (30,000 units) drains in
    // a minute, writes are throttled, and since throttled writes consume nothing the
    // controller only ever sees 100% of what it provisioned: it scales out by 1/0.7
    // every two minutes until the load fits under the 70% target.
    let minute_us = 60_000_000u64;
    let capacity = CapacitySpec {
        on_demand: false,
        read_units: 100.0,
        write_units: 100.0,
        read_auto_scaling: None,
        write_auto_scaling: Some(dynasim_region::autoscale::AutoScalingSpec {
            target_percent: 70.0,
            min_units: 100.0,
            max_units: 2_000.0,
            scale_out_after_us: 2 * minute_us,
            scale_in_after_us: 15 * minute_us,
        }),
    };
    // No peers: an unacknowledged replication log would push back on its own.
    let mut r = region(TableSpec {
        peers: Vec::new(),
        ..table(capacity, None)
    });
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let mut throttled_by_minute = vec![0u32; 20];
    let mut actions = Vec::new();
    for i in 0..(20 * 60 * 600u64) {
        let now_us = i * 1_000_000 / 600;
        let mut put = op(OpKind::Put, i % 5_000, i, false);
        put.item_bytes = 1_000;
        let served = r.execute(&put, now_us, now_us, &mut rng);
        if served.throttle.is_some() {
            throttled_by_minute[(now_us / minute_us) as usize] += 1;
        } else {
            assert_eq!(served.result, OpResult::Ok, "op {i}");
        }
        actions.extend(r.auto_scale(now_us));
    }
    assert!(
        throttled_by_minute[0] < 3_000,
        "burst credit absorbs most of the first minute: {throttled_by_minute:?}"
    );
    assert!(
        throttled_by_minute[1..4].iter().all(|t| *t > 10_000),
        "{throttled_by_minute:?}"
    );
    assert!(actions.len() >= 4, "{actions:?}");
    assert_eq!(actions[0].action.to_units, 143.0, "{actions:?}");
    assert!(actions.iter().all(|e| e.index.is_none()
        && e.dimension == dynasim_region::CapacityDimension::Write
        && e.action.to_units > e.action.from_units));
    let last = r.capacity_use(0);
    assert!(last.provisioned_write_units >= 600.0 / 0.7, "{last:?}");
    assert_eq!(throttled_by_minute[19], 0, "{throttled_by_minute:?}");
}

fn provisioned(read_units: f64, write_units: f64) -> CapacitySpec {
    CapacitySpec {
        on_demand: false,
        read_units,
        write_units,
        read_auto_scaling: None,
        write_auto_scaling: None,
    }
}

fn status_index(write_units: f64, auto_scaling: bool) -> dynasim_region::gsi::GsiSpec {
    dynasim_region::gsi::GsiSpec {
        name: "by_status".into(),
        partition_key: ("status".into(), KeyTypeSpec::S),
        sort_key: Some(("updated".into(), KeyTypeSpec::N)),
        keys_only: false,
        read_units: 10.0,
        write_units,
        read_auto_scaling: None,
        write_auto_scaling: auto_scaling.then_some(dynasim_region::autoscale::AutoScalingSpec {
            target_percent: 70.0,
            min_units: write_units,
            max_units: 4_000.0,
            scale_out_after_us: 120_000_000,
            scale_in_after_us: 900_000_000,
        }),
        partition_values: 10,
        propagation_mean_us: 50_000,
    }
}

/// Puts of 1 KB items at `per_s` for `minutes`; throttles by minute and by reason.
fn drive_puts(
    r: &mut Region,
    per_s: u64,
    minutes: u64,
) -> (Vec<u32>, Vec<dynasim_region::ScalingEvent>) {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut throttled_by_minute = vec![0u32; minutes as usize];
    let mut scaled = Vec::new();
    for i in 0..(minutes * 60 * per_s) {
        let now_us = i * 1_000_000 / per_s;
        let mut put = op(OpKind::Put, i % 5_000, i + 1, false);
        put.item_bytes = 1_000;
        let served = r.execute(&put, now_us, now_us, &mut rng);
        match served.throttle {
            Some(reason) => {
                assert_eq!(
                    reason,
                    dynasim_region::capacity::ThrottleReason::IndexWriteProvisionedThroughputExceeded,
                    "the table has capacity to spare: only the index throttles"
                );
                throttled_by_minute[(now_us / 60_000_000) as usize] += 1;
            }
            None => assert_eq!(served.result, OpResult::Ok, "op {i}"),
        }
        if i % per_s == 0 {
            scaled.extend(r.auto_scale(now_us));
        }
    }
    (throttled_by_minute, scaled)
}

#[test]
fn ca06_an_underprovisioned_gsi_throttles_base_table_writes() {
    // 400 puts/s of 1 KB into a table with 1,000 WCU whose GSI has 100 WCU. Every put
    // after the first of a key moves the index entry (its sort key is the write's value):
    // a delete plus a put in the index, so the index needs ~800 WCU.
    let spec = TableSpec {
        peers: Vec::new(),
        gsis: vec![status_index(100.0, false)],
        ..table(provisioned(1_000.0, 1_000.0), None)
    };
    let mut r = region(spec);
    let (throttled, scaled) = drive_puts(&mut r, 400, 5);
    assert!(scaled.is_empty());
    assert!(
        throttled[2..].iter().all(|t| *t > 10_000),
        "once the index's burst is spent most writes throttle: {throttled:?}"
    );
    assert_eq!(
        r.counters().index_throttles,
        r.counters().throttles,
        "every throttle came from the index"
    );
    let table = r.capacity_use(0);
    let index = &r.gsi_capacity_use(0)[0];
    assert!(
        index.consumed_write_units > table.consumed_write_units,
        "index writes (delete + put per move) outweigh the table's: {index:?} vs {table:?}"
    );
}

#[test]
fn ca16_gsi_auto_scaling_relieves_the_back_pressure() {
    let spec = TableSpec {
        peers: Vec::new(),
        gsis: vec![status_index(200.0, true)],
        ..table(provisioned(1_000.0, 1_000.0), None)
    };
    let mut r = region(spec);
    let (throttled, scaled) = drive_puts(&mut r, 400, 16);
    assert!(!scaled.is_empty(), "the index scaled out");
    assert!(
        scaled
            .iter()
            .all(|e| e.index == Some(0) && e.dimension == dynasim_region::CapacityDimension::Write),
        "only the index's writes scale: {scaled:?}"
    );
    assert!(
        r.gsi_capacity_use(0)[0].provisioned_write_units >= 800.0,
        "{:?}",
        r.gsi_capacity_use(0)
    );
    assert!(
        throttled[2] > 0,
        "throttled before the scale-out: {throttled:?}"
    );
    assert_eq!(throttled[15], 0, "no throttles once scaled: {throttled:?}");
}

#[test]
fn gt07_replicated_writes_consume_the_receivers_index_capacity() {
    let spec = TableSpec {
        gsis: vec![status_index(100.0, false)],
        ..table(provisioned(1_000.0, 1_000.0), None)
    };
    let mut origin = region(spec.clone());
    let mut receiver = Region::new(
        RegionId(1),
        &[TableSpec {
            peers: vec![RegionId(0)],
            ..spec
        }],
        RegionConfig::default(),
        ReplicatorConfig::default(),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for i in 0..50u64 {
        let mut put = op(OpKind::Put, i, i + 1, false);
        put.item_bytes = 1_000;
        origin.execute(&put, i * 1_000, i * 1_000, &mut rng);
    }
    let mut now_us = 1_000_000;
    for _ in 0..20 {
        for out in origin.poll_replication(now_us) {
            let (_, ack) = receiver.on_replication(out.table, out.message, now_us, &mut rng);
            if let Some(ack) = ack {
                origin.on_replication(0, ack, now_us, &mut rng);
            }
        }
        now_us += 100_000;
    }
    let used = receiver.gsi_capacity_use(0)[0].consumed_write_units;
    assert_eq!(used, 50.0, "one index put per replicated new item");
}

#[test]
fn dx05_query_results_are_cached_apart_and_never_refreshed_by_writes() {
    // DX-05/DX-08: a write through DAX refreshes the item cache only; the query cache
    // keeps serving the result it stored until its own TTL (DX-06).
    let dax = DaxSpec {
        item_ttl_us: 60_000_000,
        query_ttl_us: 10_000_000,
        size_bytes: 1 << 20,
    };
    let mut r = region(table(on_demand(), Some(dax)));
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    r.execute(&op(OpKind::Put, 5, 1, false), 0, 0, &mut rng);
    let query = |r: &mut Region, at_us: u64, rng: &mut ChaCha8Rng| {
        let served = r.execute(&op(OpKind::Query, 5, 0, false), at_us, at_us, rng);
        (served.read.and_then(|v| v.value), served.dax_hit)
    };
    assert_eq!(
        query(&mut r, 10, &mut rng),
        (Some(1), false),
        "a miss fills the query cache"
    );
    assert_eq!(query(&mut r, 20, &mut rng), (Some(1), true));
    r.execute(&op(OpKind::Put, 5, 2, false), 1_000, 1_000, &mut rng);
    let get = r.execute(&op(OpKind::Get, 5, 0, false), 2_000, 2_000, &mut rng);
    assert_eq!(
        (get.read.and_then(|v| v.value), get.dax_hit),
        (Some(2), true),
        "write-through refreshed the item cache"
    );
    assert_eq!(
        query(&mut r, 3_000, &mut rng),
        (Some(1), true),
        "the query cache still serves the old result"
    );
    assert_eq!(
        query(&mut r, 10_000_011, &mut rng),
        (Some(2), false),
        "after the query TTL the result is read again"
    );
    let strong = r.execute(
        &op(OpKind::Query, 5, 0, true),
        10_000_100,
        10_000_100,
        &mut rng,
    );
    assert!(
        !strong.dax_hit,
        "strongly consistent queries pass through (DX-04)"
    );
}

fn transaction(kind: OpKind, first_key: u64, items: u16, value: u64) -> ClientOp {
    ClientOp {
        items,
        ..op(kind, first_key, value, false)
    }
}

#[test]
fn tx05_a_write_transaction_costs_twice_the_units_of_its_items() {
    let mut r = region(table(on_demand(), None));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let served = r.execute(
        &transaction(OpKind::Transaction, 0, 3, 7),
        1_000,
        1_000,
        &mut rng,
    );
    assert_eq!(served.result, OpResult::Ok);
    // Three 200-byte items: 1 WCU each as plain puts, 2 each in a transaction.
    assert_eq!(r.capacity_use(0).consumed_write_units, 6.0);
    let read = r.execute(
        &transaction(OpKind::TransactGet, 0, 3, 0),
        2_000,
        2_000,
        &mut rng,
    );
    assert_eq!(read.result, OpResult::Ok);
    // Each item read twice, strongly: 2 RCU per item of up to 4 KB.
    assert_eq!(r.capacity_use(0).consumed_read_units, 6.0);
}

#[test]
fn tx06_a_transactional_get_sees_all_of_a_committed_transaction_or_none() {
    let mut r = region(table(on_demand(), None));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for round in 0..50u64 {
        let now_us = 1_000 + round * 2_000;
        let value = 100 + round;
        let w = r.execute(
            &transaction(OpKind::Transaction, 10, 4, value),
            now_us,
            now_us,
            &mut rng,
        );
        assert_eq!(w.result, OpResult::Ok);
        assert_eq!(w.items.len(), 4);
        let keys: Vec<u64> = w.items.iter().map(|i| i.key).collect();
        assert_eq!(keys, vec![10, 11, 12, 13], "items in key order");
        // Read at once, while the third AZ of each item still lags (RC-14): a snapshot
        // from the leaders shows the whole transaction.
        let g = r.execute(
            &transaction(OpKind::TransactGet, 10, 4, 0),
            now_us + 1,
            now_us + 1,
            &mut rng,
        );
        let values: Vec<Option<u64>> = g
            .items
            .iter()
            .map(|i| i.read.as_ref().and_then(|v| v.value))
            .collect();
        assert_eq!(values, vec![Some(value); 4], "round {round}");
    }
}

#[test]
fn tx11_each_item_of_a_transaction_replicates_on_its_own_stamp() {
    let mut r = region(table(on_demand(), None));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let w = r.execute(
        &transaction(OpKind::Transaction, 0, 3, 9),
        1_000,
        1_000,
        &mut rng,
    );
    let stamps: Vec<_> = w
        .items
        .iter()
        .map(|i| {
            i.written
                .as_ref()
                .expect("a committed item is stamped")
                .stamp
        })
        .collect();
    assert!(stamps.windows(2).all(|p| p[0] < p[1]), "{stamps:?}");
    // Every item goes to the peer as its own replicated write.
    let sent: usize = r
        .poll_replication(1_000 + 1_000_000)
        .iter()
        .map(|o| match &o.message {
            dynasim_replication::Message::Batch { entries, .. } => entries.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(sent, 3);
}

fn index_read(key: u64) -> ClientOp {
    op(OpKind::IndexQuery, key, 0, false)
}

#[test]
fn rc08_an_index_query_shows_a_write_only_after_the_propagation_delay() {
    let spec = TableSpec {
        gsis: vec![status_index(1_000.0, false)],
        ..table(provisioned(1_000.0, 1_000.0), None)
    };
    let mean_us = spec.gsis[0].propagation_mean_us;
    let mut r = region(spec);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (mut stale_soon, mut stale_late, mut older_than_before) = (0u32, 0u32, 0u32);
    let writes = 500u64;
    for i in 1..=writes {
        let t = i * 1_000_000;
        r.execute(&op(OpKind::Put, 7, i, false), t, t, &mut rng);
        let table = r.execute(&op(OpKind::Get, 7, 0, true), t + 1, t + 1, &mut rng);
        assert_eq!(
            table.read.unwrap().value,
            Some(i),
            "the table has the write at once"
        );
        let soon = r.execute(&index_read(7), t + 1, t + 1, &mut rng);
        assert_eq!(soon.result, OpResult::Ok);
        let soon = soon.read.unwrap().value;
        stale_soon += u32::from(soon != Some(i));
        // Never older than the version before the write, never a value not yet written.
        let previous = (i > 1).then(|| i - 1);
        older_than_before += u32::from(soon != Some(i) && soon != previous);
        let late = r.execute(&index_read(7), t + 20 * mean_us, t + 20 * mean_us, &mut rng);
        stale_late += u32::from(late.read.unwrap().value != Some(i));
    }
    // Right after the write the index has it only if the sampled delay was under 1 us.
    assert!(
        stale_soon as u64 > writes * 9 / 10,
        "{stale_soon} of {writes} index reads right after a write were stale"
    );
    assert_eq!(
        older_than_before, 0,
        "the index lags by at most the writes in flight"
    );
    assert_eq!(
        stale_late, 0,
        "after 20x the mean delay the index has every write"
    );
    assert!(r.counters().stale_index_reads >= u64::from(stale_soon));
}

#[test]
fn rc08_index_updates_of_one_item_arrive_in_write_order() {
    let spec = TableSpec {
        gsis: vec![status_index(10_000.0, false)],
        ..table(provisioned(10_000.0, 10_000.0), None)
    };
    let mut r = region(spec);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // 200 writes 1 ms apart, far faster than the 50 ms mean delay: the index must walk
    // through them in order, never going back to an older version.
    let mut last_seen = 0u64;
    for i in 1..=200u64 {
        let t = i * 1_000;
        r.execute(&op(OpKind::Put, 3, i, false), t, t, &mut rng);
        let seen = r.execute(&index_read(3), t + 500, t + 500, &mut rng);
        let value = seen.read.unwrap().value.unwrap_or(0);
        assert!(
            value >= last_seen,
            "index went back from {last_seen} to {value}"
        );
        assert!(value <= i, "index showed {value} before it was written");
        last_seen = value;
    }
    assert!(r.index_updates_in_flight(0, 200_500) > 0);
    assert_eq!(r.index_updates_in_flight(0, 1_000_000_000), 0);
}

#[test]
fn cp06_index_queries_spend_the_index_read_capacity_not_the_tables() {
    let spec = TableSpec {
        gsis: vec![status_index(1_000.0, false)],
        ..table(provisioned(1_000.0, 1_000.0), None)
    };
    let mut r = region(spec);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for key in 0..100u64 {
        r.execute(&op(OpKind::Put, key, key + 1, false), key, key, &mut rng);
    }
    let table_reads_before = r.capacity_use(0).consumed_read_units;
    // The index has 10 RCU (300 s of burst): each query reads one 10-item index
    // partition of 200 B items at half a unit per 4 KB (QS-10): 0.5 RCU each.
    let mut throttled = 0;
    let now = 1_000_000_000;
    for i in 0..10_000u64 {
        let served = r.execute(&index_read(i % 100), now + i, now + i, &mut rng);
        if let Some(reason) = served.throttle {
            assert_eq!(
                reason,
                dynasim_region::capacity::ThrottleReason::IndexReadProvisionedThroughputExceeded
            );
            assert_eq!(
                served.result,
                OpResult::Failed("ProvisionedThroughputExceededException".into())
            );
            throttled += 1;
        }
    }
    assert_eq!(r.capacity_use(0).consumed_read_units, table_reads_before);
    let index = &r.gsi_capacity_use(0)[0];
    // 10 RCU x 300 s of burst = 3,000 units = 6,000 queries at 0.5 unit, then throttled.
    assert_eq!(index.consumed_read_units, 3_000.0);
    assert_eq!(throttled, 4_000);
}

#[test]
fn ca10_adaptive_capacity_lets_a_hot_partition_use_the_tables_unused_share() {
    // The documented example: 4 partitions sharing 400 WCU, one receiving 150 WCU/s.
    // An even split would give each partition 100 WCU; adaptive capacity raises the hot
    // one's share while the table's 400 and the partition's 1,000 are not exceeded, so
    // nothing throttles, for ten minutes, well past any burst credit.
    // A single-region table: no peer whose unacknowledged log would fill up.
    let mut r = region(TableSpec {
        peers: Vec::new(),
        ..table(provisioned(400.0, 400.0), None)
    });
    assert_eq!(r.partition_count(0), 4);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut put = op(OpKind::Put, 1, 0, false);
    put.item_bytes = 1_000; // 1 WCU each
    for i in 0..(600 * 150u64) {
        let t = 1_000_000 + i * 1_000_000 / 150;
        put.value = i + 1;
        let served = r.execute(&put, t, t, &mut rng);
        assert_eq!(served.result, OpResult::Ok, "write {i} at {t} us");
    }
    assert_eq!(r.counters().throttles, 0);
    // Past the table's own capacity (900 WCU/s: under the partition's 1,000) the same
    // partition throttles once the table's burst is spent, with the table's reason.
    for i in 0..(400 * 900u64) {
        let t = 700_000_000 + i * 1_000_000 / 900;
        put.value = 1_000_000 + i;
        r.execute(&put, t, t, &mut rng);
    }
    let reasons: Vec<_> = r.throttles_by_reason().collect();
    assert_eq!(
        reasons
            .iter()
            .map(|(reason, _)| *reason)
            .collect::<Vec<_>>(),
        [dynasim_region::capacity::ThrottleReason::TableWriteProvisionedThroughputExceeded],
        "{reasons:?}"
    );
}

#[test]
fn requests_queue_behind_a_busy_partition() {
    // 1 WCU writes: each keeps its partition's storage node busy for 1 ms (1,000 WCU/s).
    // Ten at once wait 0, 1, ..., 9 ms: 4.5 ms on average more than writes alone.
    let mut r = region(TableSpec {
        peers: Vec::new(),
        ..table(provisioned(40_000.0, 40_000.0), None)
    });
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (mut alone_us, mut burst_us) = (0u64, 0u64);
    let rounds = 200u64;
    for round in 0..rounds {
        let t = 1_000_000 + round * 100_000;
        let mut put = op(OpKind::Put, 1, round * 100 + 1, false);
        put.item_bytes = 1_000;
        alone_us += r.execute(&put, t, t, &mut rng).latency_us * 10;
        for i in 0..10 {
            put.value = round * 100 + 2 + i;
            burst_us += r.execute(&put, t + 50_000, t + 50_000, &mut rng).latency_us;
        }
    }
    let extra_ms = (burst_us as f64 - alone_us as f64) / (10 * rounds) as f64 / 1_000.0;
    assert!(
        (3.5..5.5).contains(&extra_ms),
        "queueing added {extra_ms} ms"
    );
}
