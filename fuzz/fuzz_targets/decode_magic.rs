#![no_main]
//! `decode_magic`: see `wireforms_fuzzing::decode_magic` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::decode_magic(data));
