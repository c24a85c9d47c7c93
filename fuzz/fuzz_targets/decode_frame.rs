#![no_main]
//! `decode_frame`: see `wireforms_fuzzing::decode_frame` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::decode_frame(data));
