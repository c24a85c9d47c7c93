#![no_main]
//! `decode_typed`: see `wireforms::fuzzing::decode_typed` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::decode_typed(data));
