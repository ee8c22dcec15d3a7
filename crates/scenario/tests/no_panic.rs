//! No input makes the loader panic: arbitrary strings, and mutations of a valid file
//! (which get past the TOML parser and exercise the validator).

use dynasim_scenario::Scenario;
use proptest::prelude::*;

const GOOD: [&str; 2] = [
    include_str!("good/us-eu-split-heal.toml"),
    include_str!("good/every-kind.toml"),
];

/// Values that stress the validator: out-of-range, wrong-unit, empty, huge, negative.
const NASTY: &[&str] = &[
    "\"\"",
    "0",
    "-1",
    "1e309",
    "\"0s\"",
    "\"-5s\"",
    "\"99999999999h\"",
    "\"1.5us\"",
    "\"+\"",
    "\"µs\"",
    "[]",
    "[[]]",
    "{}",
    "\"split\"",
    "\"ap-down\"",
    "\"euw1-az2\"",
    "\"us-east-1\"",
    "9223372036854775807",
    "-9223372036854775808",
    "nan",
    "inf",
    "true",
    "\"é\"",
    "0.0",
];

fn mutate(text: &str, edits: &[(usize, usize)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for &(line, choice) in edits {
        let index = line % lines.len();
        let current = lines[index].clone();
        lines[index] = match choice % 4 {
            0 => String::new(),
            1 => match current.split_once('=') {
                Some((key, _)) => format!("{key}= {}", NASTY[choice / 4 % NASTY.len()]),
                None => current,
            },
            2 => current.chars().rev().collect(),
            _ => format!("{current}{current}"),
        };
    }
    lines.join("\n")
}

proptest! {
    // PROPTEST_CASES=100000 for a longer hunt.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        let _ = Scenario::from_str(&text, "fuzz.toml");
    }

    #[test]
    fn toml_like_text_never_panics(text in "(schema = 1\n|\\[meta\\]\n|\\[\\[fault\\]\\]\n|kind = \"heal\"\n|at = \"[0-9]{1,3}s\"\n|[a-z_]{1,8} = [0-9\"a-z\\[\\]]{0,6}\n)*") {
        let _ = Scenario::from_str(&text, "fuzz.toml");
    }

    #[test]
    fn mutated_good_files_never_panic(which in 0usize..2, edits in prop::collection::vec((0usize..400, 0usize..1000), 1..6)) {
        let text = mutate(GOOD[which], &edits);
        if let Err(e) = Scenario::from_str(&text, "fuzz.toml") {
            // Every diagnostic is located inside the text.
            for d in e.diagnostics() {
                prop_assert!(d.line >= 1 && d.line <= text.lines().count().max(1) + 1, "{d}");
                prop_assert!(d.column >= 1);
            }
        }
    }
}
