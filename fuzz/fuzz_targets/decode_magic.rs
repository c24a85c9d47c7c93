#![no_main]
//! `decode_magic`: see `wireforms::fuzzing::decode_magic` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::decode_magic(data));
