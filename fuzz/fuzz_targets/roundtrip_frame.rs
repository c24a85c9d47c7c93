#![no_main]
//! `roundtrip_frame`: see `wireforms::fuzzing::roundtrip_frame` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::roundtrip_frame(data));
