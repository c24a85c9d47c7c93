#![no_main]
//! `codec_magic`: see `wireforms_fuzzing::codec_magic` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::codec_magic(data));
