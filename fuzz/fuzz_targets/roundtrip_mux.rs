#![no_main]
//! `roundtrip_mux`: see `wireforms_fuzzing::roundtrip_mux` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::roundtrip_mux(data));
