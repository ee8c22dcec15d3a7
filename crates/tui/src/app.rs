//! What a key press does: changes to the view stay in the [`DashboardState`]; changes to
//! the run become a [`Command`] for the simulation thread.

use crate::keymap::Action;
use crate::state::{DashboardState, RunState, Speed};

/// A fault injected from the keyboard. Regions and AZs are indices (region ids, AZ 0..3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultAction {
    Cut { a: u16, b: u16 },
    Heal { a: u16, b: u16 },
    AzDown { region: u16, az: u8 },
    AzUp { region: u16, az: u8 },
    RegionDown { region: u16 },
    RegionUp { region: u16 },
    Spike { region: u16, multiplier: f64 },
    SpikeEnd { region: u16 },
}

/// A request to the simulation thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    /// Run the rest unthrottled and unpaused, without snapshots.
    Quit,
    Pause(bool),
    /// Advance this much simulated time, then pause again.
    Step(u64),
    Speed(Speed),
    Inject(FaultAction),
}

/// Simulated time one `.` advances while paused.
pub const STEP_US: u64 = 100_000;
/// Traffic multiplier of a keyboard spike.
pub const SPIKE_MULTIPLIER: f64 = 5.0;

/// What the terminal loop should do after a key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    Continue,
    Send(Command),
    /// Leave the dashboard (after sending `Quit` if the run is still going).
    Quit,
    Abort,
}

/// Apply a key's action to the view; say what the run must be told.
pub fn handle(state: &mut DashboardState, action: Action, default_speed: Speed) -> Outcome {
    let live = matches!(state.run, RunState::Running | RunState::Paused);
    let n = state.regions.len();
    let region = state.selected as u16;
    let send_if_live = |command| {
        if live {
            Outcome::Send(command)
        } else {
            Outcome::Continue
        }
    };
    match action {
        Action::Quit => Outcome::Quit,
        Action::Abort => Outcome::Abort,
        Action::Help => {
            state.help = !state.help;
            Outcome::Continue
        }
        Action::Focus => {
            state.focus = state.next_focus();
            Outcome::Continue
        }
        Action::Expand => {
            state.expanded = !state.expanded;
            Outcome::Continue
        }
        Action::NextRegion if n > 0 => {
            state.selected = (state.selected + 1) % n;
            if state.peer == state.selected {
                state.peer = (state.peer + 1) % n;
            }
            Outcome::Continue
        }
        Action::NextPeer if n > 1 => {
            state.peer = (state.peer + 1) % n;
            if state.peer == state.selected {
                state.peer = (state.peer + 1) % n;
            }
            Outcome::Continue
        }
        Action::NextRegion | Action::NextPeer => Outcome::Continue,
        Action::Pause if live => {
            let pause = state.run == RunState::Running;
            state.run = if pause {
                RunState::Paused
            } else {
                RunState::Running
            };
            Outcome::Send(Command::Pause(pause))
        }
        Action::Step if state.run == RunState::Paused => Outcome::Send(Command::Step(STEP_US)),
        Action::Pause | Action::Step => Outcome::Continue,
        Action::Faster | Action::Slower | Action::DefaultSpeed => {
            state.speed = match action {
                Action::Faster => state.speed.faster(),
                Action::Slower => state.speed.slower(),
                _ => default_speed,
            };
            send_if_live(Command::Speed(state.speed))
        }
        Action::CutLink | Action::HealLink if n > 1 && state.peer != state.selected => {
            let (a, b) = (region, state.peer as u16);
            send_if_live(Command::Inject(if action == Action::CutLink {
                FaultAction::Cut { a, b }
            } else {
                FaultAction::Heal { a, b }
            }))
        }
        Action::CutLink | Action::HealLink => Outcome::Continue,
        Action::AzDown | Action::AzUp => {
            let want_up = action == Action::AzDown;
            let az = state
                .regions
                .get(state.selected)
                .and_then(|r| r.azs.iter().position(|(_, up)| *up == want_up));
            match az {
                Some(az) if want_up => send_if_live(Command::Inject(FaultAction::AzDown {
                    region,
                    az: az as u8,
                })),
                Some(az) => send_if_live(Command::Inject(FaultAction::AzUp {
                    region,
                    az: az as u8,
                })),
                None => Outcome::Continue,
            }
        }
        Action::RegionDown => send_if_live(Command::Inject(FaultAction::RegionDown { region })),
        Action::RegionUp => send_if_live(Command::Inject(FaultAction::RegionUp { region })),
        Action::Spike => send_if_live(Command::Inject(FaultAction::Spike {
            region,
            multiplier: SPIKE_MULTIPLIER,
        })),
        Action::SpikeEnd => send_if_live(Command::Inject(FaultAction::SpikeEnd { region })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Panel, RegionRow};

    fn state() -> DashboardState {
        let mut s = DashboardState::new("t", 1, 10_000_000);
        for name in ["a", "b", "c"] {
            s.regions.push(RegionRow {
                name: name.into(),
                azs: vec![("x".into(), true), ("y".into(), true), ("z".into(), true)],
                ..RegionRow::default()
            });
        }
        s
    }

    #[test]
    fn pause_toggles_and_step_needs_a_pause() {
        let mut s = state();
        assert_eq!(
            handle(&mut s, Action::Step, Speed::Max),
            Outcome::Continue,
            "no step while running"
        );
        assert_eq!(
            handle(&mut s, Action::Pause, Speed::Max),
            Outcome::Send(Command::Pause(true))
        );
        assert_eq!(s.run, RunState::Paused);
        assert_eq!(
            handle(&mut s, Action::Step, Speed::Max),
            Outcome::Send(Command::Step(STEP_US))
        );
        assert_eq!(
            handle(&mut s, Action::Pause, Speed::Max),
            Outcome::Send(Command::Pause(false))
        );
        assert_eq!(s.run, RunState::Running);
    }

    #[test]
    fn speed_walks_the_ladder_and_resets() {
        let mut s = state();
        s.speed = Speed::Times(1.0);
        handle(&mut s, Action::Faster, Speed::Max);
        assert_eq!(s.speed, Speed::Times(2.0));
        handle(&mut s, Action::Slower, Speed::Max);
        handle(&mut s, Action::Slower, Speed::Max);
        assert_eq!(s.speed, Speed::Times(0.5));
        assert_eq!(
            handle(&mut s, Action::DefaultSpeed, Speed::Max),
            Outcome::Send(Command::Speed(Speed::Max))
        );
        assert_eq!(Speed::Max.slower(), Speed::Times(100.0));
        assert_eq!(Speed::Times(100.0).faster(), Speed::Max);
        assert_eq!(Speed::Times(0.1).slower(), Speed::Times(0.1));
    }

    #[test]
    fn faults_act_on_the_selection() {
        let mut s = state();
        handle(&mut s, Action::NextRegion, Speed::Max);
        assert_eq!((s.selected, s.peer), (1, 2), "peer skips the selection");
        assert_eq!(
            handle(&mut s, Action::CutLink, Speed::Max),
            Outcome::Send(Command::Inject(FaultAction::Cut { a: 1, b: 2 }))
        );
        assert_eq!(
            handle(&mut s, Action::AzDown, Speed::Max),
            Outcome::Send(Command::Inject(FaultAction::AzDown { region: 1, az: 0 }))
        );
        assert_eq!(
            handle(&mut s, Action::AzUp, Speed::Max),
            Outcome::Continue,
            "every AZ is up"
        );
        s.regions[1].azs[2].1 = false;
        assert_eq!(
            handle(&mut s, Action::AzUp, Speed::Max),
            Outcome::Send(Command::Inject(FaultAction::AzUp { region: 1, az: 2 }))
        );
        s.run = RunState::Finished;
        assert_eq!(
            handle(&mut s, Action::RegionDown, Speed::Max),
            Outcome::Continue,
            "nothing to inject into a finished run"
        );
    }

    #[test]
    fn view_keys_change_only_the_view() {
        let mut s = state();
        assert_eq!(handle(&mut s, Action::Focus, Speed::Max), Outcome::Continue);
        assert_eq!(s.focus, Panel::Latency);
        handle(&mut s, Action::Expand, Speed::Max);
        handle(&mut s, Action::Help, Speed::Max);
        assert!(s.expanded && s.help);
        assert_eq!(handle(&mut s, Action::Quit, Speed::Max), Outcome::Quit);
    }
}
