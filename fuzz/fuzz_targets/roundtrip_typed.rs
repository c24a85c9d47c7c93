#![no_main]
//! `roundtrip_typed`: see `wireforms::fuzzing::roundtrip_typed` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::roundtrip_typed(data));
