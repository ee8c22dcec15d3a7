//! The worked example of the guide, field by field: references resolved, units converted.

use dynasim_core::RegionId;
use dynasim_scenario::*;

fn example() -> Scenario {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/good/us-eu-split-heal.toml"
    );
    Scenario::from_file(path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn example_resolves() {
    let s = example();
    assert_eq!(s.meta.name, "us-eu-split-heal");
    assert_eq!(s.meta.seeds, vec![1, 7, 42]);
    assert_eq!(s.sim.duration_us, 300_000_000);
    assert_eq!(s.sim.tick_us, 1_000);
    assert_eq!(s.sim.epoch_unix_us, 1_735_689_600_000_000);
    assert_eq!(s.regions.len(), 3);
    assert_eq!(s.regions[1].id, RegionId(1));
    assert_eq!(
        s.network.same_az,
        LinkSpec {
            one_way_us: 200,
            jitter_us: 50,
            loss: 0.0
        }
    );
    assert_eq!(s.network.links.len(), 6);
    assert_eq!(
        s.link(RegionId(1), RegionId(0)).map(|l| l.one_way_us),
        Some(38_000)
    );
    assert_eq!(s.replication.queue_items_max, 200_000);
    assert_eq!(
        s.replication.retry_backoff,
        Backoff {
            initial_us: 50_000,
            max_us: 2_000_000
        }
    );
    let t = &s.tables[0];
    assert_eq!(t.replicas, vec![RegionId(0), RegionId(1), RegionId(2)]);
    assert_eq!(t.consistency, Consistency::Mrec);
    assert_eq!(t.capacity.write_units, Some(2_000));
}

#[test]
fn example_phases_are_back_to_back() {
    let s = example();
    let starts: Vec<u64> = s.phases.iter().map(|p| p.start_us).collect();
    assert_eq!(starts, vec![0, 30_000_000, 240_000_000]);
    assert_eq!(
        s.phases[0].rate,
        Rate::Ramp {
            from: 0.0,
            to: 2000.0
        }
    );
    assert_eq!(s.phases[0].keys.dist, KeyDist::Zipf { exponent: 1.1 });
    assert_eq!(
        s.phases[0].item_size,
        ItemSize::Uniform {
            min_bytes: 200,
            max_bytes: 4096
        }
    );
    assert_eq!(
        s.phases[1].keys.dist,
        KeyDist::HotKey {
            hot_keys: 10,
            hot_fraction: 0.3
        }
    );
    assert_eq!(
        s.phases[2].mix,
        Mix {
            get: 100,
            ..Mix::default()
        }
    );
    assert_eq!(
        s.phases[0].clients,
        vec![(RegionId(0), 0.5), (RegionId(1), 0.3), (RegionId(2), 0.2)]
    );
}

#[test]
fn example_fault_windows() {
    let s = example();
    let split = s.fault_index("split").expect("split");
    assert_eq!(s.faults[split].start_us, 60_000_000);
    assert_eq!(
        s.faults[split].end_us,
        Some(105_000_000),
        "ended by the heal"
    );
    assert_eq!(s.faults[split].healed_by, Some(1));
    assert_eq!(s.faults[1].kind, FaultKind::Heal { target: split });
    let az = &s.faults[s.fault_index("az-loss").expect("az-loss")];
    assert_eq!(
        az.kind,
        FaultKind::AzOutage {
            az: AzRef {
                region: RegionId(1),
                az: 1
            }
        }
    );
    assert_eq!(az.end_us, Some(150_000_000));
    let clock = &s.faults[s.fault_index("ap-clock").expect("ap-clock")];
    assert_eq!(
        clock.kind,
        FaultKind::ClockSkew {
            region: RegionId(2),
            offset_us: 350_000,
            drift_ppm: 50.0
        }
    );
    let throttle = &s.faults[s.fault_index("us-throttle").expect("us-throttle")];
    assert_eq!(throttle.end_us, None, "lasts to the end of the run");
    assert!(matches!(
        throttle.kind,
        FaultKind::CapacityChange {
            write_units: Some(500),
            read_units: None,
            ..
        }
    ));
}

#[test]
fn example_assertions() {
    let s = example();
    assert_eq!(s.asserts.len(), 7);
    assert_eq!(
        s.asserts[0],
        Assertion::Converged {
            after: Some(0),
            within_us: 10_000_000
        }
    );
    assert_eq!(
        s.asserts[3],
        Assertion::Latency {
            op: Op::Get,
            region: RegionScope::Each,
            quantile: 0.99,
            max_us: 12_000,
            window: Window {
                during: Some(1),
                exclude_faults: true
            },
        }
    );
}

#[test]
fn errors_are_collected_and_located() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/good/us-eu-split-heal.toml"
    ))
    .expect("readable")
    .replace("target = \"split\"", "target = \"spilt\"")
    .replace("az       = \"euw1-az2\"", "az       = \"euw1-az9\"");
    let err = Scenario::from_str(&text, "scenarios/x.toml").expect_err("two errors");
    let d = err.diagnostics();
    assert_eq!(d.len(), 2, "{err}");
    assert_eq!(d[0].path, "fault[1].target");
    assert_eq!((d[0].line, d[0].column), (100, 10));
    assert!(d[0].to_string().starts_with("scenarios/x.toml:100:10: fault[1].target: heal names unknown fault \"spilt\"; known faults: \"split\", \"az-loss\""), "{}", d[0]);
    assert_eq!(d[1].path, "fault[2].az");
}

#[test]
fn check_catches_rust_built_mistakes() {
    let mut s = example();
    assert_eq!(s.check(), Ok(()));
    s.phases[1].start_us += 1;
    s.faults[0].healed_by = None;
    s.tables[0].replicas.push(RegionId(9));
    let problems = s.check().expect_err("problems");
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems.iter().any(|p| p.starts_with("phases[1].start_us")));
    assert!(problems.iter().any(|p| p.starts_with("tables[0].replicas")));
    assert!(problems.iter().any(|p| p.starts_with("faults[1].kind")));
}

#[test]
fn epoch_may_be_a_toml_datetime_with_an_offset() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/good/us-eu-split-heal.toml"
    ))
    .expect("readable")
    .replace(
        "epoch    = \"2025-01-01T00:00:00Z\"",
        "epoch    = 2025-01-01T02:00:00.5+02:00",
    );
    let s = Scenario::from_str(&text, "x.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.sim.epoch_unix_us, 1_735_689_600_500_000);
    let local = text.replace("2025-01-01T02:00:00.5+02:00", "2025-01-01T02:00:00");
    let err = Scenario::from_str(&local, "x.toml").expect_err("no offset");
    assert!(
        err.to_string()
            .contains("x.toml:17:12: sim.epoch: expected an RFC 3339 date-time with offset"),
        "{err}"
    );
}

#[test]
fn every_kind_resolves() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/good/every-kind.toml");
    let s = Scenario::from_file(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.sim.tick_us, 1_000);
    assert_eq!(s.tables[0].witness, Some(RegionId(2)));
    assert_eq!(
        s.tables[1].dax,
        Some(Dax {
            item_ttl_us: 30_000_000,
            query_ttl_us: 0,
            size_bytes: 64 << 20
        })
    );
    // Asymmetric links: each direction as declared; unlisted pairs from the built-in table.
    assert_eq!(
        s.link(RegionId(0), RegionId(2)).map(|l| l.one_way_us),
        Some(32_000)
    );
    assert_eq!(
        s.link(RegionId(2), RegionId(0)).map(|l| l.one_way_us),
        Some(30_000)
    );
    assert_eq!(
        s.link(RegionId(0), RegionId(1)).map(|l| l.one_way_us),
        Some(6_500)
    );
    assert_eq!(
        s.link(RegionId(0), RegionId(3)).map(|l| l.one_way_us),
        Some(DEFAULT_INTER_REGION_ONE_WAY_US)
    );
    assert_eq!(s.phases[0].item_size, ItemSize::Fixed { bytes: 1024 });
    assert_eq!(s.phases[0].failover, vec![(RegionId(0), RegionId(1))]);
    assert_eq!(s.faults.len(), 9);
    assert_eq!(s.faults[2].end_us, Some(150_000_000));
    assert_eq!(
        s.faults[4].end_us,
        Some(180_000_000),
        "a clock jump is instantaneous"
    );
    assert_eq!(s.faults[5].end_us, None);
    assert_eq!(
        s.faults[0].kind,
        FaultKind::OneWayPartition {
            from: vec![RegionId(2)],
            to: vec![RegionId(0), RegionId(1)],
            mode: PartitionMode::Hold
        }
    );
    assert_eq!(s.asserts.len(), 10);
    assert_eq!(
        s.asserts[1],
        Assertion::Converged {
            after: None,
            within_us: 60_000_000
        }
    );
    assert_eq!(s.asserts[9], Assertion::LwwLosses { max: 1_000 });
}

#[test]
fn scenario_serializes_for_reports() {
    let text = toml::to_string(&example().faults[0]).expect("serializable");
    assert!(text.contains("start_us = 60000000"), "{text}");
}
