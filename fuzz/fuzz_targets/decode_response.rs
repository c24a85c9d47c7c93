#![no_main]
//! `decode_response`: see `wireforms_fuzzing::decode_response` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::decode_response(data));
