//! dynasim-checker integration tests: every checker passes a correct history and fails a
//! history broken on purpose (a checker that cannot fail is a defect).

mod builder;
mod convergence;
mod indexes;
mod lww;
mod perf;
mod random;
mod reads;
mod report;
