#![no_main]
//! `roundtrip_request`: see `wireforms_fuzzing::roundtrip_request` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::roundtrip_request(data));
