//! Scenario files as data: every file in tests/good/ loads, every file in tests/bad/
//! fails with the message its first line names (`# expect: <substring>`).

use dynasim_scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests directory exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// The short name used in messages, so expectations do not depend on the checkout path.
fn display_name(path: &Path) -> String {
    format!(
        "bad/{}",
        path.file_name().expect("file name").to_string_lossy()
    )
}

#[test]
fn good_files_load() {
    let good = files("good");
    assert!(!good.is_empty());
    for path in good {
        if let Err(e) = Scenario::from_file(&path) {
            panic!("{} should load:\n{e}", path.display());
        }
    }
}

#[test]
fn bad_files_fail_with_their_expected_messages() {
    let bad = files("bad");
    assert!(bad.len() >= 25, "the corpus has {} files", bad.len());
    let mut failures = Vec::new();
    for path in &bad {
        let text = std::fs::read_to_string(path).expect("readable");
        let expectations: Vec<&str> = text
            .lines()
            .take_while(|line| line.starts_with('#'))
            .filter_map(|line| line.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expectations.is_empty(),
            "{} has no `# expect:` line",
            path.display()
        );
        let name = display_name(path);
        match Scenario::from_str(&text, &name) {
            Ok(_) => failures.push(format!("{name}: loaded, expected an error")),
            Err(ScenarioError::Io { .. }) => unreachable!("from_str does no I/O"),
            Err(e) => {
                let message = e.to_string();
                for expected in &expectations {
                    if !message.contains(expected) {
                        failures.push(format!("{name}: expected {expected:?} in:\n{message}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
