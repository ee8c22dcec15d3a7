//! The `dynasim` command line. Thin: parse arguments, call the library, map the verdict
//! to an exit code (0 pass, 1 assertion failed, 2 invalid input, 3 inconclusive,
//! 4 nondeterminism).

/// mimalloc instead of the system allocator: a simulation is mostly small allocations
/// and frees (item images, keys, replication messages, history records). Addresses
/// never reach behaviour or output, so the choice cannot change a run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dynasim::cli::main()
}
