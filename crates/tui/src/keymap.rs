//! The keymap is a table: the help overlay (`?`) and the footer are generated from it, and
//! [`action_for`] looks keys up in it, so what is shown is what works.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Abort,
    Pause,
    Step,
    Faster,
    Slower,
    DefaultSpeed,
    Focus,
    Expand,
    Help,
    NextRegion,
    NextPeer,
    CutLink,
    HealLink,
    AzDown,
    AzUp,
    RegionDown,
    RegionUp,
    Spike,
    SpikeEnd,
}

/// A key as the table spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Tab,
    Esc,
}

impl Key {
    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::Tab => "Tab".into(),
            Key::Esc => "Esc".into(),
        }
    }
}

pub struct Binding {
    pub key: Key,
    pub action: Action,
    pub description: &'static str,
    /// Shown in the footer (the help overlay shows every binding).
    pub footer: Option<&'static str>,
}

const fn bind(
    key: Key,
    action: Action,
    description: &'static str,
    footer: Option<&'static str>,
) -> Binding {
    Binding {
        key,
        action,
        description,
        footer,
    }
}

/// Every key the dashboard knows, in the order the help overlay lists them.
pub const KEYMAP: &[Binding] = &[
    bind(
        Key::Char('q'),
        Action::Quit,
        "quit: finish the run, write the report, print the summary",
        Some("quit"),
    ),
    bind(
        Key::Ctrl('c'),
        Action::Abort,
        "abort: restore the terminal, no report",
        None,
    ),
    bind(
        Key::Char(' '),
        Action::Pause,
        "pause / resume the simulation",
        Some("pause"),
    ),
    bind(
        Key::Char('.'),
        Action::Step,
        "step 100 ms of simulated time while paused",
        Some("step"),
    ),
    bind(
        Key::Char('+'),
        Action::Faster,
        "faster (x real time; past 100x: unthrottled)",
        Some("speed"),
    ),
    bind(Key::Char('-'), Action::Slower, "slower", None),
    bind(
        Key::Char('='),
        Action::DefaultSpeed,
        "default speed (the --speed given, else unthrottled)",
        None,
    ),
    bind(
        Key::Tab,
        Action::Focus,
        "focus the next panel",
        Some("focus"),
    ),
    bind(
        Key::Char('e'),
        Action::Expand,
        "expand / shrink the focused panel",
        Some("expand"),
    ),
    bind(Key::Char('?'), Action::Help, "this help", Some("help")),
    bind(Key::Esc, Action::Help, "close the help", None),
    bind(
        Key::Char('r'),
        Action::NextRegion,
        "select the next region (marked >)",
        None,
    ),
    bind(
        Key::Char('p'),
        Action::NextPeer,
        "select the next peer region (marked *)",
        None,
    ),
    bind(
        Key::Char('c'),
        Action::CutLink,
        "cut the link region <-> peer (a partition)",
        None,
    ),
    bind(
        Key::Char('h'),
        Action::HealLink,
        "heal the link region <-> peer",
        None,
    ),
    bind(
        Key::Char('a'),
        Action::AzDown,
        "take an AZ of the region down",
        None,
    ),
    bind(
        Key::Char('A'),
        Action::AzUp,
        "bring an AZ of the region back",
        None,
    ),
    bind(
        Key::Char('d'),
        Action::RegionDown,
        "take the region down",
        None,
    ),
    bind(
        Key::Char('D'),
        Action::RegionUp,
        "bring the region back",
        None,
    ),
    bind(
        Key::Char('s'),
        Action::Spike,
        "spike the region's traffic (x5)",
        None,
    ),
    bind(
        Key::Char('S'),
        Action::SpikeEnd,
        "end the region's traffic spike",
        None,
    ),
];

/// The action bound to a key press, if any.
pub fn action_for(event: KeyEvent) -> Option<Action> {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    let key = match event.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Tab => Key::Tab,
        KeyCode::Esc => Key::Esc,
        _ => return None,
    };
    KEYMAP.iter().find(|b| b.key == key).map(|b| b.action)
}

/// The help overlay's lines: `key  description`.
pub fn help_lines() -> Vec<(String, &'static str)> {
    KEYMAP
        .iter()
        .map(|b| (b.key.label(), b.description))
        .collect()
}

/// The footer: `q quit  space pause ...`.
pub fn footer() -> String {
    KEYMAP
        .iter()
        .filter_map(|b| b.footer.map(|f| format!("{} {f}", b.key.label())))
        .collect::<Vec<_>>()
        .join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_key_is_bound_once() {
        for (i, a) in KEYMAP.iter().enumerate() {
            for b in &KEYMAP[i + 1..] {
                assert_ne!(a.key, b.key, "{:?} bound twice", a.key);
            }
        }
    }

    #[test]
    fn the_issue_keys_do_what_it_says() {
        let cases = [
            (KeyCode::Char('q'), Action::Quit),
            (KeyCode::Char(' '), Action::Pause),
            (KeyCode::Char('.'), Action::Step),
            (KeyCode::Char('+'), Action::Faster),
            (KeyCode::Char('-'), Action::Slower),
            (KeyCode::Char('='), Action::DefaultSpeed),
            (KeyCode::Tab, Action::Focus),
            (KeyCode::Char('e'), Action::Expand),
            (KeyCode::Char('?'), Action::Help),
        ];
        for (code, action) in cases {
            assert_eq!(action_for(press(code)), Some(action), "{code:?}");
        }
    }

    #[test]
    fn shift_letters_are_distinct_and_ctrl_c_aborts() {
        assert_eq!(action_for(press(KeyCode::Char('a'))), Some(Action::AzDown));
        assert_eq!(action_for(press(KeyCode::Char('A'))), Some(Action::AzUp));
        assert_eq!(
            action_for(KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT)),
            Some(Action::AzUp)
        );
        assert_eq!(
            action_for(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Abort)
        );
        assert_eq!(action_for(press(KeyCode::Char('c'))), Some(Action::CutLink));
        assert_eq!(action_for(press(KeyCode::Char('x'))), None);
        assert_eq!(action_for(press(KeyCode::F(1))), None);
    }

    #[test]
    fn help_and_footer_come_from_the_table() {
        let help = help_lines();
        assert_eq!(help.len(), KEYMAP.len());
        assert!(help.iter().any(|(k, _)| k == "space"));
        assert!(help.iter().any(|(k, _)| k == "Ctrl-C"));
        let footer = footer();
        assert!(footer.starts_with("q quit  space pause"), "{footer}");
        assert!(footer.contains("? help"), "{footer}");
    }
}
