#![no_main]
//! `decode_request`: see `wireforms_fuzzing::decode_request` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::decode_request(data));
