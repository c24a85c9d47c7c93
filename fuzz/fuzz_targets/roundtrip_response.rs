#![no_main]
//! `roundtrip_response`: see `wireforms_fuzzing::roundtrip_response` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::roundtrip_response(data));
