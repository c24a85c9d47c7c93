#![no_main]
//! `decode_typed`: see `wireforms_fuzzing::decode_typed` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::decode_typed(data));
