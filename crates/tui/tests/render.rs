//! Snapshot tests of the rendered dashboard (ratatui's TestBackend) for fixed states, at
//! the smallest supported size (80x24) and a roomy one (120x40).

use dynasim_tui::{
    AssertionRow, CapacityRow, Check, ConsumerRow, DashboardState, Lag, LatencyRow, LatencySeries,
    LogKind, LogLine, RegionRow, RunState, Speed, Stream, Window, render,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn draw(state: &DashboardState, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| render(state, frame))
        .expect("draw into the test backend");
    terminal.backend().to_string()
}

fn check(name: &str, state: &DashboardState) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), draw(state, w, h));
    }
}

fn region(name: &str, azs: [&str; 3], ops: f64) -> RegionRow {
    RegionRow {
        name: name.into(),
        azs: azs.iter().map(|a| (a.to_string(), true)).collect(),
        ops_per_s: ops,
        ..RegionRow::default()
    }
}

/// us-eu-split-heal 25 s in: US is cut off from EU and AP.
fn running() -> DashboardState {
    let mut s = DashboardState::new("us-eu-split-heal", 1, 75_000_000);
    s.now_us = 25_300_000;
    s.speed = Speed::Times(10.0);
    s.measured_x = Some(9.8);
    s.active_faults = vec!["split".into()];
    s.regions = vec![
        region("us-east-1", ["use1-az1", "use1-az2", "use1-az4"], 251.0),
        region("eu-west-1", ["euw1-az1", "euw1-az2", "euw1-az3"], 149.0),
        region("ap-south-1", ["aps1-az1", "aps1-az2", "aps1-az3"], 98.0),
    ];
    s.regions[0].cut_off_from = vec!["eu-west-1".into(), "ap-south-1".into()];
    s.regions[1].cut_off_from = vec!["us-east-1".into()];
    s.regions[2].cut_off_from = vec!["us-east-1".into()];
    s.regions[2].dax_hit_ratio = Some(0.83);
    s.regions[1].clock_offset_us = -500_000;
    for (r, name) in ["us-east-1", "eu-west-1", "ap-south-1"].iter().enumerate() {
        for (o, op) in ["get", "put"].iter().enumerate() {
            let base = 2_000 + 300 * (r as u64) + 1_500 * o as u64;
            s.latency.push(LatencyRow {
                region: name.to_string(),
                op: op.to_string(),
                count: 1_200 - 400 * o as u64,
                p50_us: base,
                p99_us: base * 4,
                p999_us: base * 9,
            });
        }
        s.latency_series.push(LatencySeries {
            region: name.to_string(),
            p99_us: (0..25)
                .map(|t| 6_000 + (t * 997 + r as u64 * 131) % 4_000)
                .collect(),
        });
    }
    s.lag = vec![
        vec![Lag::None, Lag::Cut, Lag::Cut],
        vec![Lag::Cut, Lag::None, Lag::P99(71_000)],
        vec![Lag::Cut, Lag::P99(68_000), Lag::None],
    ];
    s.streams = vec![
        Stream {
            from: "us-east-1".into(),
            to: "eu-west-1".into(),
            backlog: 1_830,
        },
        Stream {
            from: "eu-west-1".into(),
            to: "ap-south-1".into(),
            backlog: 0,
        },
    ];
    s.lww_overwrites = 41;
    s.applied_out_of_order = 17;
    s.agreement = Some((2_301, 2_433));
    s.assertions = vec![
        AssertionRow {
            name: "converged within 10s after split".into(),
            check: Check::WaitingForHeal,
            detail: "heals at 40.0s".into(),
        },
        AssertionRow {
            name: "no lost acked writes".into(),
            check: Check::AtEnd,
            detail: String::new(),
        },
        AssertionRow {
            name: "latency get p99 <= 12ms (each)".into(),
            check: Check::Passing,
            detail: "9.1ms (max 12ms)".into(),
        },
        AssertionRow {
            name: "replication lag p99 <= 1500ms".into(),
            check: Check::Passing,
            detail: "88ms (max 1.50s)".into(),
        },
    ];
    s.phases = vec![
        Window {
            label: "steady".into(),
            start_us: 0,
            end_us: Some(60_000_000),
        },
        Window {
            label: "drain".into(),
            start_us: 60_000_000,
            end_us: Some(75_000_000),
        },
    ];
    s.faults = vec![Window {
        label: "split".into(),
        start_us: 20_000_000,
        end_us: Some(40_000_000),
    }];
    s.events = vec![
        LogLine {
            at_us: 20_000_000,
            kind: LogKind::Fault,
            text: "cut us-east-1 <-> eu-west-1 (drop)".into(),
        },
        LogLine {
            at_us: 20_000_000,
            kind: LogKind::Fault,
            text: "cut us-east-1 <-> ap-south-1 (drop)".into(),
        },
        LogLine {
            at_us: 22_400_000,
            kind: LogKind::Throttle,
            text: "throttling burst in eu-west-1: 31/s".into(),
        },
    ];
    s
}

#[test]
fn running_dashboard() {
    check("running", &running());
}

#[test]
fn paused_with_help() {
    let mut s = running();
    s.run = RunState::Paused;
    s.help = true;
    check("paused_help", &s);
}

#[test]
fn failing_assertion() {
    let mut s = running();
    s.now_us = 55_000_000;
    s.active_faults.clear();
    for r in &mut s.regions {
        r.cut_off_from.clear();
    }
    s.lag = vec![
        vec![Lag::None, Lag::P99(19_800_000), Lag::P99(20_100_000)],
        vec![Lag::P99(45_000), Lag::None, Lag::P99(71_000)],
        vec![Lag::P99(99_000), Lag::P99(68_000), Lag::None],
    ];
    s.assertions[0].check = Check::Failing;
    s.assertions[0].detail = "backlog 912 after 10.0s".into();
    s.assertions[3].check = Check::Failing;
    s.assertions[3].detail = "20.1s (max 1.50s)".into();
    s.events.push(LogLine {
        at_us: 40_000_000,
        kind: LogKind::Heal,
        text: "heal us-east-1 <-> eu-west-1".into(),
    });
    check("failing", &s);
}

#[test]
fn region_down_with_expanded_regions() {
    let mut s = running();
    s.regions[1].down = true;
    s.regions[1].ops_per_s = 0.0;
    s.regions[2].azs[1].1 = false;
    s.active_faults
        .push("region eu-west-1 down (interactive)".into());
    s.events.push(LogLine {
        at_us: 25_100_000,
        kind: LogKind::Action,
        text: "region-down eu-west-1".into(),
    });
    check("region_down", &s);
    s.expanded = true;
    s.focus = dynasim_tui::Panel::Regions;
    insta::assert_snapshot!("region_down_expanded_80x24", draw(&s, 80, 24));
}

#[test]
fn finished_with_verdict_and_tiny_terminal_does_not_panic() {
    let mut s = running();
    s.run = RunState::Finished;
    s.verdict = Some("PASS".into());
    s.assertions[1].check = Check::Passing;
    insta::assert_snapshot!("finished_80x24", draw(&s, 80, 24));
    // Smaller than supported: degraded, but no panic.
    for (w, h) in [(20, 5), (1, 1), (40, 12)] {
        draw(&s, w, h);
    }
}

/// Issue 11: a trigger per region and an auto-scaled table. The consumers panel shows
/// each trigger's counters and iterator age, the capacity of each provisioned replica,
/// and the scaling actions are marked on the timeline.
#[test]
fn consumers_and_capacity_panel() {
    let mut s = running();
    for (r, region) in ["us-east-1", "eu-west-1"].iter().enumerate() {
        s.consumers.push(ConsumerRow {
            name: "audit".into(),
            region: region.to_string(),
            invocations: 1_234 + r as u64,
            failed_invocations: 3,
            duplicates: 17,
            to_failure_destination: 0,
            backlog: 40,
            iterator_age_us: if r == 0 { 850_000 } else { 75_000_000 },
        });
        s.capacity.push(CapacityRow {
            table: "orders".into(),
            region: region.to_string(),
            on_demand: false,
            provisioned_read_units: 400.0,
            provisioned_write_units: 100.0,
            consumed_read_per_s: 120.0,
            consumed_write_per_s: 104.0,
        });
    }
    s.scaling_us = vec![12_000_000, 48_000_000];
    s.events.push(LogLine {
        at_us: 12_000_000,
        kind: LogKind::Scaling,
        text: "orders@us-east-1 write scale out 100 -> 149 units".into(),
    });
    check("consumers_capacity", &s);
    assert!(draw(&s, 120, 40).contains("audit@us-east 1234    3  17   0 850ms"));
    s.focus = s.next_focus(); // Regions -> Latency
    s.focus = s.next_focus(); // -> Replication
    assert_eq!(s.next_focus(), dynasim_tui::Panel::Streams);
    s.focus = dynasim_tui::Panel::Streams;
    s.expanded = true;
    insta::assert_snapshot!("consumers_capacity_expanded_80x24", draw(&s, 80, 24));
}

#[test]
fn tab_skips_the_consumers_panel_when_there_is_nothing_to_show() {
    let mut s = running();
    s.focus = dynasim_tui::Panel::Replication;
    assert_eq!(s.next_focus(), dynasim_tui::Panel::Assertions);
}
