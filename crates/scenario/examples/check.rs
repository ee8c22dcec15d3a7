//! Validates scenario files and prints every problem: `cargo run --example check -- FILE...`.

fn main() -> std::process::ExitCode {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        match dynasim_scenario::Scenario::from_file(&path) {
            Ok(s) => println!(
                "{path}: ok ({} regions, {} phases, {} faults, {} assertions)",
                s.regions.len(),
                s.phases.len(),
                s.faults.len(),
                s.asserts.len()
            ),
            Err(e) => {
                failed = true;
                println!("{e}");
            }
        }
    }
    if failed {
        std::process::ExitCode::from(2)
    } else {
        std::process::ExitCode::SUCCESS
    }
}
