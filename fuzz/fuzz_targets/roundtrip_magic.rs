#![no_main]
//! `roundtrip_magic`: see `wireforms_fuzzing::roundtrip_magic` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::roundtrip_magic(data));
