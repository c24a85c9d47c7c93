#![no_main]
//! `codec_frame`: see `wireforms_fuzzing::codec_frame` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::codec_frame(data));
