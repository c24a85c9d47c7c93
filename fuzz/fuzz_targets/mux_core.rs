#![no_main]
//! `mux_core`: see `wireforms_fuzzing::mux_core` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::mux_core(data));
