#![no_main]
//! `roundtrip_mux`: see `wireforms::fuzzing::roundtrip_mux` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::roundtrip_mux(data));
