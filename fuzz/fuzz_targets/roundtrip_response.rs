#![no_main]
//! `roundtrip_response`: see `wireforms::fuzzing::roundtrip_response` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::roundtrip_response(data));
