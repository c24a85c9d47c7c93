#![no_main]
//! `roundtrip_request`: see `wireforms::fuzzing::roundtrip_request` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::roundtrip_request(data));
