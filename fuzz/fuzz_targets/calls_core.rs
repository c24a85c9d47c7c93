#![no_main]
//! `calls_core`: see `wireforms_fuzzing::calls_core` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::calls_core(data));
