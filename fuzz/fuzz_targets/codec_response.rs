#![no_main]
//! `codec_response`: see `wireforms_fuzzing::codec_response` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::codec_response(data));
