#![no_main]
//! `mux_session`: see `wireforms_fuzzing::mux_session` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::mux_session(data));
