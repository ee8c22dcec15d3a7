//! The terminal loop: raw mode and the alternate screen, keys in, frames out (at most
//! [`FRAMES_PER_S_MAX`] per second, only when something changed). The terminal is restored
//! when the loop ends, on a panic (a hook installed here) and on Ctrl-C (a key in raw mode).

use crate::app::{self, Command, Outcome};
use crate::feed::{Feed, Update};
use crate::keymap;
use crate::render::render;
use crate::state::{DashboardState, RunState, Speed};
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

pub const FRAMES_PER_S_MAX: u64 = 30;
/// How often (real time) the windowed percentiles are recomputed while running.
const REFRESH_EVERY: Duration = Duration::from_millis(250);

/// Whether the terminal is in dashboard mode (the panic hook restores it only then).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// How the dashboard ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `q`: the run goes on to its end (told with [`Command::Quit`]); write the report.
    Quit,
    /// Ctrl-C: stop without a report.
    Abort,
    /// The simulation thread went away before finishing (it panicked).
    Disconnected,
}

/// Run the dashboard until the user quits. `updates` come from the simulation thread;
/// `commands` go back to it. Blocks the calling (main) thread.
pub fn run(
    mut feed: Feed,
    updates: Receiver<Update>,
    commands: Sender<Command>,
    default_speed: Speed,
) -> io::Result<(Exit, DashboardState)> {
    install_panic_hook();
    let mut state = feed.initial_state();
    enter()?;
    let guard = Restore;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let frame_every = Duration::from_millis(1000 / FRAMES_PER_S_MAX);
    // real time: frame pacing only; the simulation never sees it.
    let mut last_frame = Instant::now() - frame_every;
    let mut last_refresh = last_frame;
    let mut dirty = true;
    let mut connected = true;
    let exit = loop {
        // Take every update waiting, then draw at most one frame.
        while connected {
            match updates.try_recv() {
                Ok(update) => {
                    feed.apply(&mut state, update);
                    dirty = true;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => connected = false,
            }
        }
        if !connected && state.run != RunState::Finished {
            // The simulation thread ended without finishing (it panicked): leave now so
            // its message lands on a restored terminal.
            break Exit::Disconnected;
        }
        // Unthrottled runs move too fast to read: fewer frames leave the CPU to the run.
        let every = if state.speed == Speed::Max && state.run == RunState::Running {
            frame_every * 3
        } else {
            frame_every
        };
        if dirty && last_frame.elapsed() >= every {
            // The windowed percentiles merge many histograms: a few times per second is
            // enough for a 10 s window, and keeps this thread off the simulation's core.
            if state.run != RunState::Running || last_refresh.elapsed() >= REFRESH_EVERY {
                feed.refresh(&mut state);
                last_refresh = Instant::now();
            }
            terminal.draw(|frame| render(&state, frame))?;
            last_frame = Instant::now();
            dirty = false;
        }
        let wait = frame_every.saturating_sub(last_frame.elapsed());
        if !event::poll(wait.max(Duration::from_millis(1)))? {
            continue;
        }
        match event::read()? {
            Event::Key(key) if key.kind != KeyEventKind::Release => {
                let Some(action) = keymap::action_for(key) else {
                    continue;
                };
                dirty = true;
                match app::handle(&mut state, action, default_speed) {
                    Outcome::Continue => {}
                    Outcome::Send(command) => {
                        // A finished run has dropped its receiver: nothing to tell.
                        let _ = commands.send(command);
                    }
                    Outcome::Quit => {
                        if state.run == RunState::Finished || !connected {
                            break if connected {
                                Exit::Quit
                            } else {
                                Exit::Disconnected
                            };
                        }
                        let _ = commands.send(Command::Quit);
                        state.run = RunState::Finishing;
                        terminal.draw(|frame| render(&state, frame))?;
                        break Exit::Quit;
                    }
                    Outcome::Abort => break Exit::Abort,
                }
            }
            Event::Resize(..) => dirty = true,
            _ => {}
        }
    };
    drop(terminal);
    drop(guard);
    Ok((exit, state))
}

fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)
}

/// Leave raw mode and the alternate screen (idempotent).
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
    }
}

/// Restores the terminal when dropped, so an early `?` return cannot leave it raw.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
