#![no_main]
//! `decode_request`: see `wireforms::fuzzing::decode_request` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::decode_request(data));
