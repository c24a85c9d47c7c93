#![no_main]
//! `codec_typed`: see `wireforms_fuzzing::codec_typed` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::codec_typed(data));
