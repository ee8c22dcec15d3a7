//! Live runs: the dashboard only observes (same trace with it attached), interactive
//! actions are recorded at their simulated time and replay to the same trace hash, and the
//! binary's dashboard works in a real terminal (tmux).

mod common;

use dynasim::live::{LiveLink, ScheduledAction};
use dynasim::{EventKind, RunOptions, Scenario, run};
use dynasim_tui::{Command, DashboardState, FaultAction, Feed, LogKind, Speed, Update};
use std::process::Command as Process;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

const SCENARIO: &str = "scenarios/partition/us-eu-split-heal.toml";

fn scenario() -> Scenario {
    Scenario::from_file(common::root().join(SCENARIO)).expect("shipped scenario loads")
}

fn options(until_us: u64) -> RunOptions {
    RunOptions {
        seed: 3,
        until_us: Some(until_us),
        ..Default::default()
    }
}

/// Run with a dashboard link whose "UI" (another thread) does `ui` with the updates.
fn run_with_ui(
    until_us: u64,
    ui: impl FnOnce(std::sync::mpsc::Receiver<Update>, std::sync::mpsc::Sender<Command>)
    + Send
    + 'static,
) -> dynasim::RunOutput {
    run_file_with_ui(&scenario(), 3, until_us, &[], ui)
}

/// `initial` commands are queued before the run starts, so the first tick takes them
/// (`Pause(true)` there makes the run wait for the UI, with no race).
fn run_file_with_ui(
    scenario: &Scenario,
    seed: u64,
    until_us: u64,
    initial: &[Command],
    ui: impl FnOnce(std::sync::mpsc::Receiver<Update>, std::sync::mpsc::Sender<Command>)
    + Send
    + 'static,
) -> dynasim::RunOutput {
    let (updates_tx, updates_rx) = channel();
    let (commands_tx, commands_rx) = channel();
    for command in initial {
        commands_tx.send(*command).expect("the receiver is here");
    }
    let ui = std::thread::spawn(move || ui(updates_rx, commands_tx));
    let output = run(
        scenario,
        &RunOptions {
            live: Some(LiveLink::new(updates_tx, commands_rx, Speed::Max)),
            seed,
            ..options(until_us)
        },
    )
    .expect("run");
    ui.join().expect("ui thread");
    output
}

#[test]
fn the_dashboard_only_observes() {
    let headless = run(&scenario(), &options(8_000_000)).expect("run");
    let mut snapshots = 0;
    let watched = run_with_ui(8_000_000, move |updates, _commands| {
        for update in updates {
            if let Update::Snapshot(s) = update {
                assert!(s.now_us <= 8_000_000 + 60_000_000);
                snapshots += 1;
            }
        }
        assert!(snapshots > 0, "the dashboard got snapshots");
    });
    assert_eq!(watched.trace_hash, headless.trace_hash);
}

/// Feed every update of a run through the dashboard's own [`Feed`]; the final state.
fn dashboard_after(file: &str, seed: u64, until_us: u64) -> (DashboardState, dynasim::RunOutput) {
    let scenario = Scenario::from_file(common::root().join(file)).expect("shipped scenario loads");
    let setup = dynasim::live::setup(&scenario, seed, Speed::Max);
    let (done_tx, done_rx) = channel();
    let output = run_file_with_ui(&scenario, seed, until_us, &[], move |updates, _commands| {
        let mut feed = Feed::new(setup);
        let mut state = feed.initial_state();
        for update in updates {
            feed.apply(&mut state, update);
        }
        feed.refresh(&mut state);
        done_tx.send(state).expect("test thread waits");
    });
    (
        done_rx.recv().expect("the ui thread sent its state"),
        output,
    )
}

/// Issue 11: the dashboard shows each trigger's counters and lag, as the run has them.
#[test]
fn consumers_panel_follows_the_run() {
    let (state, output) =
        dashboard_after("scenarios/streams/triggers-per-region.toml", 1, 20_000_000);
    assert_eq!(
        state.consumers.len(),
        output.consumers.len(),
        "one row per consumer and region"
    );
    let invocations: u64 = state.consumers.iter().map(|c| c.invocations).sum();
    let final_invocations: u64 = output.consumers.iter().map(|c| c.invocations).sum();
    assert!(invocations > 0, "the triggers ran");
    assert!(
        invocations <= final_invocations,
        "live counts ({invocations}) never exceed the final ones ({final_invocations})"
    );
}

/// Issue 11: provisioned capacity and the auto scaling actions reach the dashboard.
#[test]
fn capacity_and_scaling_marks_follow_the_run() {
    let (state, output) =
        dashboard_after("scenarios/capacity/spike-autoscaling.toml", 1, 300_000_000);
    assert!(!state.capacity.is_empty(), "capacity rows");
    assert!(
        state
            .capacity
            .iter()
            .all(|c| !c.on_demand && c.provisioned_write_units > 0.0)
    );
    let scaling_events = output
        .events
        .iter()
        .filter(|e| e.kind == EventKind::AutoScaling)
        .count();
    assert!(
        scaling_events > 0,
        "the spike scaled the table out by 300 s"
    );
    assert_eq!(
        state.scaling_us.len(),
        scaling_events,
        "one timeline mark per action"
    );
    assert!(state.events.iter().any(|e| e.kind == LogKind::Scaling));
}

#[test]
fn a_keyboard_action_is_recorded_and_replays_to_the_same_trace() {
    // The "UI" cuts us-east-1 from eu-west-1 at 3 s and heals at 5 s. The run starts
    // paused and the UI steps it to each moment, so an unthrottled run cannot finish
    // before a busy machine schedules the UI thread.
    let paused = [Command::Pause(true)];
    let live = run_file_with_ui(&scenario(), 3, 8_000_000, &paused, |updates, commands| {
        let mut step = 0;
        for update in updates {
            let Update::Snapshot(s) = update else {
                continue;
            };
            if !s.paused {
                continue;
            }
            let send = |c: Command| commands.send(c).expect("sim listens");
            if step == 0 {
                send(Command::Step(3_000_000));
                step = 1;
            } else if step == 1 && s.now_us >= 3_000_000 {
                send(Command::Inject(FaultAction::Cut { a: 0, b: 1 }));
                send(Command::Step(2_000_000));
                step = 2;
            } else if step == 2 && s.now_us >= 5_000_000 {
                send(Command::Inject(FaultAction::Heal { a: 0, b: 1 }));
                send(Command::Pause(false));
                step = 3;
            }
        }
        assert_eq!(step, 3, "the UI went through every step");
    });
    let actions: Vec<ScheduledAction> = live
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Action)
        .map(|e| ScheduledAction {
            at_us: e.at_us,
            action: e.detail.clone(),
        })
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(actions[0].action, "cut us-east-1 eu-west-1");
    assert_eq!(actions[1].action, "heal us-east-1 eu-west-1");
    assert!(actions[0].at_us >= 3_000_000);
    assert!(
        live.events
            .iter()
            .any(|e| e.kind == EventKind::Fault
                && e.detail.starts_with("cut us-east-1 <-> eu-west-1")),
        "the cut took effect"
    );
    let headless = run(&scenario(), &options(8_000_000)).expect("run");
    assert_ne!(
        live.trace_hash, headless.trace_hash,
        "the action changed the run"
    );
    let replayed = run(
        &scenario(),
        &RunOptions {
            actions,
            ..options(8_000_000)
        },
    )
    .expect("replay");
    assert_eq!(replayed.trace_hash, live.trace_hash);
}

#[test]
fn pause_and_step_change_when_ticks_run_not_what_they_do() {
    let headless = run(&scenario(), &options(4_000_000)).expect("run");
    // The run starts paused (the first tick takes the queued commands), so an
    // unthrottled run cannot finish before a busy machine schedules the UI thread: the UI
    // steps it through the first simulated second, then resumes it at 50x.
    let initial = [Command::Pause(true), Command::Speed(Speed::Times(50.0))];
    let watched = run_file_with_ui(&scenario(), 3, 4_000_000, &initial, |updates, commands| {
        let mut steps = 0;
        let mut resumed = false;
        for update in updates {
            let Update::Snapshot(s) = update else {
                continue;
            };
            if !s.paused || resumed {
                continue;
            }
            // A paused run sends one snapshot and waits for a command.
            if s.now_us < 1_000_000 {
                commands
                    .send(Command::Step(dynasim_tui::app::STEP_US))
                    .expect("a paused run listens");
                steps += 1;
            } else {
                commands
                    .send(Command::Pause(false))
                    .expect("a paused run listens");
                resumed = true;
            }
        }
        assert!(
            steps >= 10,
            "stepped through the first second: {steps} steps"
        );
        assert!(resumed, "resumed after stepping");
    });
    assert_eq!(watched.trace_hash, headless.trace_hash);
}

#[test]
fn cli_action_is_written_to_run_json_and_replays() {
    let dir = common::root()
        .join("target")
        .join(format!("live-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Process::new(env!("CARGO_BIN_EXE_dynasim"))
        .args([
            "run",
            SCENARIO,
            "--no-tui",
            "--action",
            "12s region-down ap-south-1",
            "--action",
            "15s region-up ap-south-1",
            "--out",
            &dir.display().to_string(),
        ])
        .current_dir(common::root())
        .output()
        .expect("binary runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::read_to_string(dir.join("run.json")).expect("run.json");
    let meta: serde_json::Value = serde_json::from_str(&meta).expect("json");
    assert_eq!(meta["actions"][0]["action"], "region-down ap-south-1");
    assert_eq!(meta["actions"][0]["at_us"], 12_000_000);
    let replay = Process::new(env!("CARGO_BIN_EXE_dynasim"))
        .args(["replay", &dir.display().to_string()])
        .current_dir(common::root())
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(replay.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("identical"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_actions_are_refused_with_the_expected_forms() {
    let out = Process::new(env!("CARGO_BIN_EXE_dynasim"))
        .args([
            "run",
            SCENARIO,
            "--no-tui",
            "--action",
            "3s cut mars-1 eu-west-1",
        ])
        .current_dir(common::root())
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no region \"mars-1\""));
}

/// A tmux session on a private server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Process::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "dash"]).stdout)
            .into_owned()
    }

    /// Poll the pane until it shows `text` (bounded; no fixed sleeps).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the pane never showed {text:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn dashboard_in_tmux_pauses_changes_speed_and_quits_with_a_report() {
    if Process::new("tmux").arg("-V").output().is_err() {
        println!("SKIPPED dashboard_in_tmux...: tmux is not installed (.ci/run installs it)");
        return;
    }
    let dir = common::root()
        .join("target")
        .join(format!("tui-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tmux = Tmux {
        socket: format!("dynasim-test-{}", std::process::id()),
    };
    let command = format!(
        "cd {} && {} run {SCENARIO} --tui --speed 5 --out {}; echo EXIT=$?; sleep 600",
        common::root().display(),
        env!("CARGO_BIN_EXE_dynasim"),
        dir.display()
    );
    let started = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "dash",
        "-x",
        "120",
        "-y",
        "40",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");
    let screen = tmux.wait_for("RUNNING");
    assert!(screen.contains("us-eu-split-heal"), "{screen}");
    assert!(
        screen.contains("Regions") && screen.contains("Latency"),
        "{screen}"
    );
    assert!(screen.contains("speed 5x"), "{screen}");
    tmux.cmd(&["send-keys", "-t", "dash", "Space"]);
    tmux.wait_for("PAUSED");
    tmux.cmd(&["send-keys", "-t", "dash", "+"]);
    tmux.wait_for("speed 10x");
    tmux.cmd(&["send-keys", "-t", "dash", "?"]);
    tmux.wait_for("step 100 ms of simulated time");
    tmux.cmd(&["send-keys", "-t", "dash", "q"]);
    let screen = tmux.wait_for("EXIT=");
    assert!(
        screen.contains("us-eu-split-heal seed 1:"),
        "summary printed:\n{screen}"
    );
    assert!(screen.contains("EXIT=0"), "{screen}");
    for file in ["summary.json", "run.json", "events.jsonl"] {
        assert!(dir.join(file).exists(), "{file} written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Not a check: prints how long the simulation takes headless (on the main thread and on
/// a thread of its own) and with a dashboard link whose UI only drains the snapshots.
/// `cargo test --release -p dynasim --test live -- --ignored --nocapture speed`
#[test]
#[ignore]
fn speed_with_and_without_the_dashboard_link() {
    let time = |f: &dyn Fn()| {
        let started = Instant::now(); // real time: the measurement itself
        f();
        started.elapsed().as_secs_f64()
    };
    let full = scenario().sim.duration_us;
    for round in 0..5 {
        let main = time(&|| {
            run(&scenario(), &options(full)).expect("run");
        });
        let thread = time(&|| {
            std::thread::spawn(move || run(&scenario(), &options(full)).expect("run"))
                .join()
                .expect("thread");
        });
        let linked = time(&|| {
            std::thread::spawn(move || {
                run_with_ui(full, |updates, _| updates.iter().for_each(drop))
            })
            .join()
            .expect("thread");
        });
        println!(
            "round {round}: headless main {main:.2}s, headless thread {thread:.2}s, linked {linked:.2}s"
        );
    }
}
