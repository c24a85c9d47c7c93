#![no_main]
//! `decode_response`: see `wireforms::fuzzing::decode_response` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::decode_response(data));
