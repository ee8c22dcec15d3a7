//! The simulation's promises, one test each (issue: deterministic multi-region simulation).

mod common;

use dynasim::history::{OpKind, OpResult};
use dynasim::{FindingKind, Status, run_file};

fn run(rel: &str, seed: u64) -> dynasim::Outcome {
    run_file(common::root().join(rel), Some(seed)).expect("scenario runs")
}

#[test]
fn concurrent_writes_in_two_regions_resolve_to_the_larger_stamp_everywhere() {
    let o = run("scenarios/lww/concurrent-writers.toml", 7);
    o.assert_passed();
    assert_eq!(o.report.lww.count(FindingKind::WrongWinner), 0);
    // Every replica holds, for every key, the largest stamp any write carried.
    let mut best = std::collections::BTreeMap::new();
    for op in &o.run.history {
        if let Some(w) = &op.written {
            let e = best.entry(op.key).or_insert(w.stamp);
            *e = (*e).max(w.stamp);
        }
    }
    for replica in &o.run.replicas {
        for v in &replica.versions {
            assert_eq!(
                Some(&v.stamp),
                best.get(&v.key),
                "region {} key {:?}",
                replica.region,
                v.key
            );
        }
    }
}

#[test]
fn a_clock_500ms_behind_loses_causally_later_writes_as_skew_inversions_not_lost() {
    let o = run("scenarios/clock/skew-later-write-loses.toml", 1);
    o.assert_passed();
    assert!(
        o.report.lww.count(FindingKind::SkewInversion) > 0,
        "{:?}",
        o.report.lww.counts
    );
    assert_eq!(o.report.lww.count(FindingKind::Lost), 0);
    assert_eq!(o.report.lww.count(FindingKind::SkewInversionBeyondBound), 0);
}

#[test]
fn a_region_outage_loses_nothing_acknowledged_once_it_recovers() {
    let o = run("scenarios/region/region-outage-client-failover.toml", 42);
    o.assert_passed();
    let failed_over = o
        .run
        .history
        .iter()
        .filter(|op| op.session < 16 && op.region.0 == 1)
        .count();
    assert!(
        failed_over > 0,
        "us-east-1 clients were served by eu-west-1 during the outage"
    );
    assert!(
        o.run
            .events
            .iter()
            .any(|e| e.detail.contains("region us-east-1 down"))
    );
}

#[test]
fn mrsc_never_returns_a_stale_strong_read_and_an_isolated_region_cannot_write() {
    let o = run("scenarios/mrsc/region-partition.toml", 7);
    o.assert_passed();
    let lin = &o.report.reads.linearizability;
    assert!(lin.keys_decided > 0 && lin.keys_violating == 0, "{lin:?}");
    let isolated = |op: &&dynasim::history::OpRecord| {
        op.region.0 == 2
            && op.invoke_us >= 10_500_000
            && op.complete_us < 25_000_000
            && (op.kind.is_write() || op.strong)
    };
    let during: Vec<_> = o.run.history.iter().filter(isolated).collect();
    assert!(!during.is_empty());
    assert!(
        during.iter().all(|op| op.result != OpResult::Ok),
        "us-west-2 completed a write or strong read while isolated"
    );
    let conflicts = o
        .run
        .history
        .iter()
        .filter(|op| op.result == OpResult::Failed("ReplicatedWriteConflictException".into()));
    assert!(
        conflicts.count() > 0,
        "concurrent writes to one item from two regions conflict (GT-25)"
    );
}

#[test]
fn replication_messages_dropped_by_a_lossy_link_are_resent() {
    let o = run("scenarios/known-bad/ignore-vector-clock.toml", 1);
    o.assert_passed();
    let resent: u64 = o
        .run
        .replication_counters
        .iter()
        .map(|c| c.entries_resent)
        .sum();
    assert!(resent > 0, "the lossy link forced resends");
}

#[test]
fn a_multi_fault_run_is_identical_across_runs_for_several_seeds() {
    for seed in [1, 2, 3] {
        let a = run("scenarios/soak/swizzle-partitions.toml", seed);
        let b = run("scenarios/soak/swizzle-partitions.toml", seed);
        assert_eq!(a.run.trace_hash, b.run.trace_hash, "seed {seed}");
        assert_eq!(a.status(), Status::Pass);
    }
}

#[test]
fn az_outage_fails_over_leaders_after_the_lease() {
    let o = run("scenarios/az/az-outage-leader-failover.toml", 1);
    o.assert_passed();
    let elections: u64 = o
        .run
        .region_counters
        .iter()
        .map(|c| c.leader_elections)
        .sum();
    assert!(
        elections > 0,
        "partitions led from the failed AZ elected new leaders"
    );
    let writes_ok = o
        .run
        .history
        .iter()
        .filter(|op| op.kind == OpKind::Put && op.result == OpResult::Ok)
        .count();
    assert!(writes_ok > 0);
}

/// Regression: number and binary keys used to be invisible to the history (every
/// replicated apply of such a table was dropped from the record and judged LOST).
#[test]
fn number_and_binary_keys_replicate_and_are_checked() {
    let text =
        std::fs::read_to_string(common::root().join("scenarios/partition/us-eu-split-heal.toml"))
            .expect("read")
            .replace(
                r#"{ name = "customer_id", type = "S" }"#,
                r#"{ name = "customer_id", type = "N" }"#,
            )
            .replace(
                r#"{ name = "order_id",    type = "S" }"#,
                r#"{ name = "order_id",    type = "B" }"#,
            );
    let scenario = dynasim::Scenario::from_str(&text, "n-and-b-keys").expect("valid");
    let outcome = dynasim::run_scenario(
        scenario,
        "n-and-b-keys",
        &dynasim::RunOptions {
            seed: 3,
            ..Default::default()
        },
    )
    .expect("runs");
    outcome.assert_passed();
    assert!(!outcome.run.applies.is_empty());
    assert!(outcome.run.replicas.iter().all(|r| !r.versions.is_empty()));
}

#[test]
fn ttl_deletes_replicate_and_every_replica_ends_with_expired_items_gone() {
    let o = run("scenarios/ttl/expiry-replicates.toml", 7);
    o.assert_passed();
    let ttl: Vec<_> = o
        .run
        .history
        .iter()
        .filter(|op| op.kind == OpKind::TtlDelete)
        .collect();
    // TTL-08: each region's sweeper, at its own point of the jitter window, deletes some.
    for region in 0..3u16 {
        assert!(
            ttl.iter().any(|op| op.region.0 == region),
            "region {region} swept nothing"
        );
    }
    assert!(
        ttl.iter()
            .all(|op| op.result == OpResult::Ok && !op.is_client())
    );
    // TTL-07: the deletes replicate; a replica that had not swept the item yet applies them.
    let ttl_stamps: std::collections::BTreeSet<_> = ttl
        .iter()
        .map(|op| op.written.as_ref().expect("a delete").stamp)
        .collect();
    let applied = o
        .run
        .applies
        .iter()
        .filter(|a| ttl_stamps.contains(&a.stamp) && a.lost_to.is_none())
        .count();
    assert!(
        applied > ttl.len() / 2,
        "{applied} of {} applied",
        ttl.len()
    );
    // The last write (at 40 s) expired by 50 s and was swept by 55 s: nothing is live at
    // the end in any replica (tombstones seen everywhere may already be collected).
    assert_eq!(o.run.replicas.len(), 3);
    for replica in &o.run.replicas {
        for v in &replica.versions {
            assert!(
                v.deleted,
                "region {} key {:?} still live",
                replica.region, v.key
            );
        }
    }
    // Client statistics leave the service's own writes out.
    let client_ops = o.run.history.iter().filter(|op| op.is_client()).count();
    assert_eq!(client_ops + ttl.len(), o.run.history.len());
}

#[test]
fn auto_scaling_lags_a_spike_by_minutes_throttling_meanwhile_then_scales_in() {
    use dynasim::EventKind;
    let o = run("scenarios/capacity/spike-autoscaling.toml", 1);
    o.assert_passed();
    let scaling: Vec<_> = o
        .run
        .events
        .iter()
        .filter(|e| e.kind == EventKind::AutoScaling && e.detail.contains("us-east-1 items: write"))
        .collect();
    let first_out_us = scaling.first().expect("a scale-out").at_us;
    // CA-16: two minutes above target before the first step (the spike starts at 60 s).
    assert!(first_out_us >= 180_000_000, "{scaling:?}");
    let throttled_before = o
        .run
        .history
        .iter()
        .filter(|op| {
            op.invoke_us >= 60_000_000
                && op.invoke_us < first_out_us
                && op.result == OpResult::Failed("ProvisionedThroughputExceededException".into())
        })
        .count();
    assert!(throttled_before > 1_000, "{throttled_before}");
    // Capacity climbs step by step while the spike lasts, and comes down after it.
    let provisioned: Vec<f64> = o
        .run
        .capacity
        .iter()
        .filter(|s| s.region.0 == 0)
        .map(|s| s.provisioned_write_units)
        .collect();
    let peak = provisioned.iter().copied().fold(0.0, f64::max);
    assert!(peak >= 50.0, "{provisioned:?}");
    assert!(scaling.len() >= 3, "{scaling:?}");
    assert_eq!(
        *provisioned.last().unwrap(),
        20.0,
        "scaled back in to the minimum"
    );
}

#[test]
fn triggers_in_every_region_process_each_write_once_only_with_the_origin_filter() {
    // UC-03 / GT-16: every region's stream carries every write.
    let path = common::root().join("scenarios/streams/triggers-per-region.toml");
    let scenario = dynasim::Scenario::from_file(&path).expect("loads");
    let options = dynasim::RunOptions {
        seed: 7,
        ..Default::default()
    };
    let filtered = dynasim::run_scenario(scenario.clone(), "triggers", &options).unwrap();
    filtered.assert_passed();
    let audit = |o: &dynasim::Outcome| {
        o.report
            .verdicts
            .iter()
            .find(|v| v.assertion == "consumer audit exactly once")
            .expect("the assertion ran")
            .clone()
    };
    assert_eq!(audit(&filtered).status, Status::Pass);
    // The view consumer failed some invocations: records were delivered again, and the
    // views still equal their tables.
    let view: Vec<_> = filtered
        .run
        .consumers
        .iter()
        .filter(|c| c.consumer == 1)
        .collect();
    assert!(
        view.iter()
            .all(|c| c.failed_invocations > 0 && c.duplicates > 0)
    );
    assert!(view.iter().all(|c| c.view_mismatches == Some(0)));

    // The same triggers without the filter: each write is processed in all three regions.
    let mut broken = scenario;
    broken.consumers[0].filter_origin_region = false;
    let unfiltered = dynasim::run_scenario(broken, "triggers-unfiltered", &options).unwrap();
    let verdict = audit(&unfiltered);
    assert_eq!(verdict.status, Status::Fail, "{verdict:?}");
    assert!(
        verdict
            .evidence
            .iter()
            .any(|e| e.contains("processed 3 times")),
        "{verdict:?}"
    );
}

#[test]
fn without_auto_scaling_the_same_spike_throttles_beyond_the_bound() {
    // Issue check: switch the behaviour off and the scenario's throttle bound fails.
    let path = common::root().join("scenarios/capacity/spike-autoscaling.toml");
    let mut scenario = dynasim::Scenario::from_file(&path).expect("loads");
    for table in &mut scenario.tables {
        table.capacity.auto_scaling = None;
    }
    let options = dynasim::RunOptions {
        seed: 1,
        ..Default::default()
    };
    let o = dynasim::run_scenario(scenario, "spike-no-autoscaling", &options).unwrap();
    let verdict = o
        .report
        .verdicts
        .iter()
        .find(|v| v.assertion.starts_with("throttle ratio"))
        .expect("the assertion ran");
    assert_eq!(verdict.status, Status::Fail, "{verdict:?}");
    assert!(
        !o.run
            .events
            .iter()
            .any(|e| e.kind == dynasim::EventKind::AutoScaling)
    );
}

#[test]
fn ca06_an_underprovisioned_gsi_throttles_the_table_until_the_index_scales_out() {
    use dynasim::EventKind;
    let o = run("scenarios/capacity/gsi-backpressure.toml", 1);
    o.assert_passed();
    for (r, c) in o.run.region_counters.iter().enumerate() {
        assert!(c.index_throttles > 1_000, "region {r}: {c:?}");
        assert_eq!(
            c.index_throttles, c.throttles,
            "the table never ran out; every throttle was the index's back-pressure"
        );
    }
    let scale_outs: Vec<_> = o
        .run
        .events
        .iter()
        .filter(|e| e.kind == EventKind::AutoScaling)
        .collect();
    assert!(
        scale_outs
            .iter()
            .all(|e| e.detail.contains("orders.by_status: write")),
        "only the index scales: {scale_outs:?}"
    );
    let first_us = scale_outs.first().expect("the index scaled out").at_us;
    assert!(first_us >= 120_000_000, "two minutes above target first");
    // The throttling is the lag before the scale-out: it ends once the index has capacity.
    let throttled = |from_us: u64, to_us: u64| {
        o.run
            .history
            .iter()
            .filter(|op| {
                (from_us..to_us).contains(&op.invoke_us)
                    && op.result
                        == OpResult::Failed("ProvisionedThroughputExceededException".into())
            })
            .count()
    };
    assert!(throttled(60_000_000, first_us) > 1_000);
    assert_eq!(throttled(360_000_000, 480_000_000), 0);
    // The index has its own capacity series beside the table's.
    let index_samples = o
        .run
        .capacity
        .iter()
        .filter(|s| s.index.as_deref() == Some("by_status"))
        .count();
    assert_eq!(index_samples, 2 * 48, "one sample per region every 10 s");
}

#[test]
fn without_index_auto_scaling_the_back_pressure_breaks_the_throttle_bound() {
    // Issue 11 check: switch the index's auto scaling off and the bound fails.
    let path = common::root().join("scenarios/capacity/gsi-backpressure.toml");
    let mut scenario = dynasim::Scenario::from_file(&path).expect("loads");
    for gsi in scenario.tables.iter_mut().flat_map(|t| t.gsis.iter_mut()) {
        gsi.auto_scaling = None;
    }
    let options = dynasim::RunOptions {
        seed: 1,
        ..Default::default()
    };
    let o = dynasim::run_scenario(scenario, "gsi-no-autoscaling", &options).unwrap();
    let verdict = o
        .report
        .verdicts
        .iter()
        .find(|v| v.assertion.starts_with("throttle ratio"))
        .expect("the assertion ran");
    assert_eq!(verdict.status, Status::Fail, "{verdict:?}");
}

#[test]
fn gsi_keys_the_workload_cannot_fill_are_refused_with_the_field() {
    let path = common::root().join("scenarios/capacity/gsi-backpressure.toml");
    let scenario = dynasim::Scenario::from_file(&path).expect("loads");
    assert_eq!(dynasim::check_supported(&scenario), Ok(()));
    let mut pad = scenario.clone();
    pad.tables[0].gsis[0].partition_key.name = "pad".into();
    let e = dynasim::check_supported(&pad).unwrap_err();
    assert!(
        e.starts_with("table[0].gsi[0].partition_key: \"pad\" is an attribute the workload writes"),
        "{e}"
    );
    let mut retyped = scenario.clone();
    retyped.tables[0].gsis[0].partition_key.name = "pk".into();
    retyped.tables[0].gsis[0].partition_key.ty = dynasim_scenario::KeyType::N;
    let e = dynasim::check_supported(&retyped).unwrap_err();
    assert!(
        e.starts_with("table[0].gsi[0].partition_key: \"pk\" is declared as N here and as S"),
        "{e}"
    );
    let mut named = scenario;
    named.tables[0].gsis[0].name = "x".into();
    let e = dynasim::check_supported(&named).unwrap_err();
    assert!(e.starts_with("table[0].gsi[0].name: "), "{e}");
}

#[test]
fn cp16_a_fifth_capacity_decrease_within_the_hour_is_refused_and_recorded() {
    let path = common::root().join("scenarios/capacity/spike-provisioned.toml");
    let mut text = std::fs::read_to_string(&path).expect("shipped scenario");
    // Five decreases a minute apart on top of the shipped scenario.
    for (i, units) in [55, 50, 45, 40, 35].iter().enumerate() {
        text.push_str(&format!(
            "\n[[fault]]\nat = \"{}s\"\nkind = \"capacity_change\"\ntable = \"items\"\nwrite_units = {units}\nread_units = 60\n",
            10 + 5 * i
        ));
    }
    let scenario = dynasim::Scenario::from_str(&text, "decreases.toml").expect("loads");
    let options = dynasim::RunOptions {
        seed: 1,
        until_us: Some(60_000_000),
        ..Default::default()
    };
    let o = dynasim::run_scenario(scenario, "decreases.toml", &options).unwrap();
    let refused: Vec<_> = o
        .run
        .events
        .iter()
        .filter(|e| e.detail.starts_with("capacity change of items refused in"))
        .collect();
    assert!(!refused.is_empty(), "the fifth decrease is refused");
    assert!(
        refused.iter().all(|e| e.at_us == 30_000_000
            && e.detail
                .contains("LimitExceededException: Subscriber limit exceeded")),
        "{refused:?}"
    );
}

#[test]
fn tx11_transactions_are_atomic_in_their_region_and_replicate_item_by_item() {
    let o = run("scenarios/transactions/groups-across-regions.toml", 1);
    o.assert_passed();
    let t = o
        .report
        .transactions
        .as_ref()
        .expect("the run has transactions");
    assert!(t.transactions > 1_000 && t.transact_gets > 1_000, "{t:?}");
    assert_eq!(t.torn_reads, 0, "{t:?}");
    // Each transaction is one client op: one id, one region, one result and latency,
    // recorded once per item of its aligned 3-key group.
    let mut by_id: std::collections::BTreeMap<u64, Vec<&dynasim::history::OpRecord>> =
        Default::default();
    for op in &o.run.history {
        if matches!(op.kind, OpKind::Transaction | OpKind::TransactGet) {
            by_id.entry(op.id).or_default().push(op);
        }
    }
    for (id, parts) in &by_id {
        let first = parts[0];
        assert_eq!(first.key.key % 3, 0, "op {id}: groups are aligned");
        assert_eq!(parts.len(), 3, "op {id}");
        for (i, part) in parts.iter().enumerate() {
            let txn = part.txn.expect("transaction records carry their part");
            assert_eq!((txn.index as usize, txn.items), (i, 3), "op {id}");
            assert_eq!(part.key.key, first.key.key + i as u64, "op {id}");
            assert_eq!(
                (&part.result, part.region, part.complete_us),
                (&first.result, first.region, first.complete_us),
                "op {id}"
            );
            assert_eq!(
                part.is_client(),
                i == 0,
                "counted once in client statistics"
            );
        }
        if first.kind == OpKind::Transaction && first.result == OpResult::Ok {
            // Every item committed with the transaction's value, each on its own stamp.
            let stamps: Vec<_> = parts
                .iter()
                .map(|p| p.written.as_ref().expect("committed items are stamped"))
                .inspect(|w| assert_eq!(w.value, Some(*id)))
                .map(|w| w.stamp)
                .collect();
            assert!(
                stamps.windows(2).all(|p| p[0] < p[1]),
                "op {id}: {stamps:?}"
            );
        }
    }
}

#[test]
fn a_transaction_beyond_4_mb_is_refused_when_the_scenario_loads() {
    let path = common::root().join("scenarios/transactions/groups-across-regions.toml");
    let text = std::fs::read_to_string(&path)
        .expect("shipped")
        .replace("transaction_items = 3", "transaction_items = 20")
        .replace(
            "item_size         = { dist = \"uniform\", min = \"200B\", max = \"1KiB\" }",
            "item_size         = { dist = \"fixed\", size = \"300KiB\" }",
        );
    let scenario = dynasim::Scenario::from_str(&text, "big.toml").expect("valid shape");
    let err = dynasim::run(&scenario, &Default::default()).expect_err("refused");
    assert!(
        err.contains("transaction_items = 20") && err.contains("(TX-01)"),
        "{err}"
    );
}

#[test]
fn ca11_split_for_heat_separates_hot_items_and_ends_the_throttling() {
    let o = run("scenarios/capacity/split-for-heat.toml", 1);
    o.assert_passed();
    let splits: Vec<&str> = o
        .run
        .events
        .iter()
        .filter(|e| e.kind == dynasim::EventKind::PartitionSplit)
        .map(|e| e.detail.as_str())
        .collect();
    assert!(
        !splits.is_empty() && splits.iter().all(|d| d.contains("(heat: ")),
        "{splits:?}"
    );
    // Splits come after the partition has been hot for the policy's 5 minutes.
    assert!(
        o.run
            .events
            .iter()
            .filter(|e| e.kind == dynasim::EventKind::PartitionSplit)
            .all(|e| e.at_us >= 300_000_000)
    );
    assert_eq!(
        o.run.region_counters[0].partition_splits,
        splits.len() as u64
    );
    // Without the split the same hot items keep throttling.
    let path = common::root().join("scenarios/capacity/split-for-heat.toml");
    let text = std::fs::read_to_string(&path).expect("shipped").replace(
        "capacity      = { mode = \"provisioned\", read_units = 100, write_units = 3_900 }",
        "capacity      = { mode = \"provisioned\", read_units = 100, write_units = 3_900 }\nsplit_for_heat = false",
    );
    let scenario = dynasim::Scenario::from_str(&text, "no-split.toml").expect("valid");
    let off = dynasim::run_scenario(scenario, "no-split", &Default::default()).expect("runs");
    let verdict = off
        .report
        .verdict("throttle ratio all during split")
        .expect("the verdict exists");
    assert_eq!(verdict.status, Status::Fail, "{verdict:?}");
    // ER-03: the throttles name the partition (key range) limit, not the table's.
    let reasons = &off.run.region_counters[0].throttles_by_reason;
    assert!(
        reasons
            .keys()
            .any(|r| r.ends_with("KeyRangeThroughputExceeded")),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.values().sum::<u64>(),
        off.run.region_counters[0].throttles
    );
    assert!(
        !off.run
            .events
            .iter()
            .any(|e| e.kind == dynasim::EventKind::PartitionSplit)
    );
}

#[test]
fn rc08_index_queries_lag_the_table_by_the_propagation_delay_and_no_more() {
    let o = run("scenarios/indexes/gsi-propagation.toml", 1);
    o.assert_passed();
    let i = o
        .report
        .indexes
        .as_ref()
        .expect("the run made index queries");
    assert!(i.index_reads > 5_000, "{i:?}");
    // RC-08: the lag is observable, about the configured 50 ms mean, and bounded.
    assert!(i.stale_reads > 100, "{i:?}");
    assert!(
        i.staleness_ms_p50 > 1.0 && i.staleness_ms_p99 < 2_500.0,
        "{i:?}"
    );
    assert_eq!((i.beyond_bound, i.garbage), (0, 0), "{i:?}");
    let stale_in_regions = o
        .run
        .region_counters
        .iter()
        .filter(|c| c.stale_index_reads > 0)
        .count();
    assert_eq!(stale_in_regions, 3, "every region's index lags its table");
    for c in &o.run.region_counters {
        // Exponential delays: the median is ln 2 of the mean (50 ms for the GSI, 10 ms
        // for the third AZ replica).
        assert!((30_000..40_000).contains(&c.index_lag_us_p50), "{c:?}");
        assert!((6_000..8_000).contains(&c.replica_lag_us_p50), "{c:?}");
        assert!(c.index_lag_us_p99 > c.index_lag_us_p50, "{c:?}");
    }
    for op in o
        .run
        .history
        .iter()
        .filter(|op| op.kind == OpKind::IndexQuery)
    {
        assert!(!op.strong, "QS-08: index reads are eventually consistent");
        assert!(op.written.is_none());
    }
}

#[test]
fn rc08_a_synchronous_index_is_never_behind_its_table() {
    let path = common::root().join("scenarios/indexes/gsi-propagation.toml");
    let text = std::fs::read_to_string(&path).expect("shipped scenario");
    let text = text.replace("propagation_delay = \"50ms\"", "propagation_delay = \"0s\"");
    let scenario = dynasim::Scenario::from_str(&text, "<sync index>").expect("valid");
    let o = dynasim::run_scenario(
        scenario,
        "<sync index>",
        &dynasim::RunOptions {
            seed: 1,
            ..Default::default()
        },
    )
    .expect("runs");
    o.assert_passed();
    let i = o
        .report
        .indexes
        .as_ref()
        .expect("the run made index queries");
    assert!(i.index_reads > 5_000, "{i:?}");
    assert_eq!(i.stale_reads, 0, "{i:?}");
}

/// Issue 4's metrics "per region and per table": two tables in one region, a cached
/// on-demand one and a starved provisioned one. Each table's counters are its own, and
/// the region's are their sums.
#[test]
fn per_table_counters_break_down_the_region_counters() {
    let toml = r#"
schema = 1
[meta]
name = "two-tables"
seeds = [1]
[sim]
duration = "20s"
epoch = "2025-01-01T00:00:00Z"
[[region]]
name = "us-east-1"
azs = ["use1-az1", "use1-az2", "use1-az4"]
[[region]]
name = "eu-west-1"
azs = ["euw1-az1", "euw1-az2", "euw1-az3"]
[[table]]
name = "cached"
partition_key = { name = "pk", type = "S" }
replicas = ["us-east-1", "eu-west-1"]
capacity = { mode = "on_demand" }
dax = { item_ttl = "2s", query_ttl = "2s", size = "64MiB" }
[[table]]
name = "starved"
partition_key = { name = "pk", type = "S" }
replicas = ["us-east-1", "eu-west-1"]
capacity = { mode = "provisioned", read_units = 1, write_units = 1 }
[[phase]]
name = "reads"
duration = "10s"
rate = { constant = 200 }
clients = { us-east-1 = 1.0 }
mix = { get = 90, put = 10 }
keys = { table = "cached", count = 100, dist = "uniform" }
item_size = { dist = "fixed", size = "200B" }
[[phase]]
name = "writes"
duration = "10s"
rate = { constant = 100 }
clients = { us-east-1 = 1.0 }
mix = { put = 100 }
keys = { table = "starved", count = 100, dist = "uniform" }
item_size = { dist = "fixed", size = "200B" }
"#;
    let scenario = dynasim::Scenario::from_str(toml, "two-tables.toml").expect("valid scenario");
    let options = dynasim::RunOptions {
        seed: 1,
        ..Default::default()
    };
    let o = dynasim::run_scenario(scenario, "two-tables.toml", &options).expect("runs");
    let tables = &o.run.table_counters;
    assert_eq!(tables.len(), 4, "two tables in two regions");
    let find = |region: u16, name: &str| {
        tables
            .iter()
            .find(|c| c.region.0 == region && c.table_name == name)
            .unwrap_or_else(|| panic!("no counters for {name} in region {region}"))
    };
    let (cached, starved) = (find(0, "cached"), find(0, "starved"));
    // The cache and the reads belong to the cached table only.
    assert!(
        cached.dax_hits > 0 && cached.ops["get/ok"] > 1_500,
        "{cached:?}"
    );
    assert_eq!(
        (starved.dax_hits, starved.dax_misses),
        (0, 0),
        "{starved:?}"
    );
    assert!(!starved.ops.contains_key("get/ok"), "{starved:?}");
    // The 1 WCU table throttles its 100 puts/s once its 300 s of burst is spent; the
    // on-demand one never does.
    assert!(starved.ops["put/failed"] > 200, "{starved:?}");
    assert!(
        starved
            .throttles_by_reason
            .contains_key("TableWriteProvisionedThroughputExceeded"),
        "{starved:?}"
    );
    assert!(cached.throttles_by_reason.is_empty(), "{cached:?}");
    // Replicated writes consume the receiver's units: eu-west-1 serves no client but
    // pays for what us-east-1's successful puts wrote.
    let eu_starved = find(1, "starved");
    assert!(eu_starved.ops.is_empty(), "{eu_starved:?}");
    assert!(eu_starved.consumed_write_units > 0.0, "{eu_starved:?}");
    // The region's counters are the sums of its tables'.
    for (r, region) in o.run.region_counters.iter().enumerate() {
        let mine: Vec<_> = tables.iter().filter(|c| c.region.0 as usize == r).collect();
        let ops = |suffix: &str| -> u64 {
            mine.iter()
                .flat_map(|c| c.ops.iter())
                .filter(|(k, _)| k.ends_with(suffix))
                .map(|(_, n)| n)
                .sum()
        };
        assert_eq!(ops("/ok"), region.ops_ok, "region {r}");
        assert_eq!(ops("/failed"), region.ops_failed, "region {r}");
        let sum = |f: fn(&dynasim::history::TableReplicaCounters) -> u64| -> u64 {
            mine.iter().map(|c| f(c)).sum()
        };
        assert_eq!(sum(|c| c.dax_hits), region.dax_hits, "region {r}");
        assert_eq!(sum(|c| c.dax_misses), region.dax_misses, "region {r}");
        assert_eq!(
            sum(|c| c.throttles_by_reason.values().sum()),
            region.throttles,
            "region {r}"
        );
        assert_eq!(sum(|c| c.leader_elections), region.leader_elections);
        assert_eq!(sum(|c| c.partition_splits), region.partition_splits);
        assert_eq!(sum(|c| c.stale_replica_reads), region.stale_replica_reads);
    }
}

/// Remote applies that came before an earlier write of the same origin (across items),
/// and those that came before an earlier write to the same item, in history order.
fn origin_order_inversions(o: &dynasim::Outcome) -> (usize, usize) {
    use std::collections::BTreeMap;
    let mut newest_by_pair: BTreeMap<(u16, u16), u64> = BTreeMap::new();
    let mut newest_by_item: BTreeMap<(u16, u16, dynasim::history::KeyRef), u64> = BTreeMap::new();
    let (mut across, mut within) = (0, 0);
    for a in &o.run.applies {
        let pair = (a.region.0, a.stamp.region.0);
        let newest = newest_by_pair.entry(pair).or_default();
        if a.stamp.seq < *newest {
            across += 1;
        }
        *newest = (*newest).max(a.stamp.seq);
        let item = newest_by_item.entry((pair.0, pair.1, a.key)).or_default();
        if a.stamp.seq < *item {
            within += 1;
        }
        *item = (*item).max(a.stamp.seq);
    }
    (across, within)
}

/// GT-09 and GT-15: each source partition replicates on its own, so another region can
/// apply a transaction's later item before an earlier one, while one item's writes keep
/// their source order; nothing is lost and every verdict holds. With one partition
/// stream per region pair the remote order is the source order.
#[test]
fn gt09_partition_streams_reorder_remote_applies_across_items_never_within_one() {
    let path = common::root().join("scenarios/transactions/groups-across-regions.toml");
    let scenario = dynasim::Scenario::from_file(&path).expect("scenario loads");
    assert!(scenario.replication.partition_streams > 1, "on by default");
    let run = |scenario: dynasim::Scenario| {
        let options = dynasim::RunOptions {
            seed: 3,
            ..Default::default()
        };
        dynasim::run_scenario(scenario, "groups-across-regions", &options).expect("runs")
    };
    let streams = run(scenario.clone());
    streams.assert_passed();
    let (across, within) = origin_order_inversions(&streams);
    assert!(
        across > 100,
        "GT-09: {across} applies overtook an earlier write"
    );
    assert_eq!(within, 0, "one item's writes stay in order");
    let counted: u64 = streams
        .run
        .replication_counters
        .iter()
        .map(|c| c.applied_out_of_order)
        .sum();
    assert!(counted > 0, "the replicators count the overtaking applies");
    assert_eq!(streams.report.lww.count(FindingKind::Lost), 0);

    let mut one_stream = scenario;
    one_stream.replication.partition_streams = 1;
    let ordered = run(one_stream);
    ordered.assert_passed();
    assert_eq!(origin_order_inversions(&ordered), (0, 0));
    assert!(
        ordered
            .run
            .replication_counters
            .iter()
            .all(|c| c.applied_out_of_order == 0)
    );
}

/// A run cut short between two ticks (`until_us` not a whole number of 1 ms ticks) records
/// the ops still waiting for a retry as unknown at that time, and its history is still in
/// history order: the last window releases only what completes before the run's end.
#[test]
fn a_run_ending_between_ticks_keeps_its_history_in_order() {
    let path = common::root().join("scenarios/capacity/spike-provisioned.toml");
    let scenario = dynasim::Scenario::from_file(&path).expect("shipped scenario loads");
    // Late in the spike, once its burst capacity is spent: throttled ops wait for retries.
    let until_us = 100_000_500;
    let run = dynasim::run(
        &scenario,
        &dynasim::RunOptions {
            seed: 1,
            until_us: Some(until_us),
            ..Default::default()
        },
    )
    .expect("runs");
    let pending_at_end = run
        .history
        .iter()
        .filter(|op| op.complete_us == until_us && op.result == OpResult::Unknown)
        .count();
    assert!(pending_at_end > 0, "some ops wait for a retry at the end");
    assert!(run.history.is_sorted_by_key(|op| op.history_order()));
}

/// TTL-07: a TTL delete is stamped at the sweep's time, so a strongly consistent read the
/// same region serves later in simulated time must see it (the sweep at a window's start
/// runs before the window's client ops, which are served at that time or later).
#[test]
fn ttl07_a_strong_read_after_a_ttl_delete_in_its_region_sees_the_item_gone() {
    let text = r#"
schema = 1
[meta]
name        = "ttl-read-after-sweep"
description = "50 items expire after 1 s and are swept while strong reads hammer them"
[sim]
duration = "12s"
tick     = "1ms"
epoch    = "2025-01-01T00:00:00Z"
[[region]]
name = "us-east-1"
azs  = ["use1-az1", "use1-az2", "use1-az4"]
[[region]]
name = "eu-west-1"
azs  = ["euw1-az1", "euw1-az2", "euw1-az3"]
[[region]]
name = "ap-south-1"
azs  = ["aps1-az1", "aps1-az2", "aps1-az3"]
[[table]]
name              = "sessions"
partition_key     = { name = "session_id", type = "S" }
replicas          = ["us-east-1", "eu-west-1", "ap-south-1"]
capacity          = { mode = "on_demand" }
ttl               = "expires_at"
ttl_delete_delay  = "1s"
ttl_delete_jitter = "3s"
[[phase]]
name         = "writes"
duration     = "2s"
rate         = { constant = 500 }
clients      = { us-east-1 = 1 }
mix          = { put = 100 }
keys         = { table = "sessions", count = 50, dist = "uniform" }
item_size    = { dist = "fixed", size = "100B" }
expire_after = "1s"
[[phase]]
name     = "strong-reads"
duration = "10s"
rate     = { constant = 10000 }
clients  = { us-east-1 = 0.5, eu-west-1 = 0.5 }
mix      = { get = 100 }
keys     = { table = "sessions", count = 50, dist = "uniform" }
reads    = "strong"
[[assert]]
kind   = "converged"
within = "10s"
"#;
    let scenario = dynasim::Scenario::from_str(text, "ttl-read-after-sweep.toml").expect("valid");
    let outcome = dynasim::run_scenario(
        scenario,
        "ttl-read-after-sweep.toml",
        &dynasim::RunOptions {
            seed: 5,
            ..Default::default()
        },
    )
    .expect("runs");
    outcome.assert_passed();
    let history = &outcome.run.history;
    let deletes: Vec<_> = history
        .iter()
        .filter(|op| op.kind == OpKind::TtlDelete)
        .collect();
    assert!(
        deletes.len() >= 50,
        "every item is swept somewhere: {}",
        deletes.len()
    );
    // After the writes phase nothing writes but the sweepers, so once a region has swept
    // a key, every strong read of it there finds nothing.
    let (mut reads_after, mut reads_in_sweep_tick) = (0, 0);
    for delete in &deletes {
        for read in history.iter().filter(|op| {
            op.kind == OpKind::Get
                && op.strong
                && op.result == OpResult::Ok
                && op.region == delete.region
                && op.key == delete.key
                && op.invoke_us >= delete.invoke_us
        }) {
            reads_after += 1;
            // The sweep's own tick: the reads the old order served before the sweep.
            if read.invoke_us < delete.invoke_us + 1_000 {
                reads_in_sweep_tick += 1;
            }
            let seen = read.read.as_ref().and_then(|r| r.value);
            assert_eq!(
                seen, None,
                "read {} at {} us in region {} saw the item its TTL delete at {} us removed",
                read.id, read.invoke_us, delete.region.0, delete.invoke_us
            );
        }
    }
    assert!(
        reads_after > 10_000,
        "the reads overlap the sweeps: {reads_after}"
    );
    assert!(
        reads_in_sweep_tick > 0,
        "some strong reads land in a sweep's own tick, where the bug was"
    );
}
