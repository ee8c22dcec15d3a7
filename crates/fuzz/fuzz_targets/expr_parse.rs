//! Feeds arbitrary bytes to every expression parser and binder. The same entry
//! function runs over a hostile corpus in `crates/engine/tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dynasim_engine::fuzz::parse_any_expression(data);
});
