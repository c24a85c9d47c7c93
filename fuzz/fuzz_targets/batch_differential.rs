#![no_main]
//! `batch_differential`: see `wireforms_fuzzing::batch` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::batch_differential(data));
