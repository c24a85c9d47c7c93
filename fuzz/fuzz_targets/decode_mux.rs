#![no_main]
//! `decode_mux`: see `wireforms_fuzzing::decode_mux` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::decode_mux(data));
