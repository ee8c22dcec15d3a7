//! The `dynasim` command line. Thin: parse arguments, call the library, map the verdict
//! to an exit code (0 pass, 1 assertion failed, 2 invalid input, 3 inconclusive,
//! 4 nondeterminism).

fn main() -> std::process::ExitCode {
    dynasim::cli::main()
}
