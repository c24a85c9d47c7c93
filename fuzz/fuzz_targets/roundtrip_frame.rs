#![no_main]
//! `roundtrip_frame`: see `wireforms_fuzzing::roundtrip_frame` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::roundtrip_frame(data));
