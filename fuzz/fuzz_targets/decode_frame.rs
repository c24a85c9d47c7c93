#![no_main]
//! `decode_frame`: see `wireforms::fuzzing::decode_frame` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::decode_frame(data));
