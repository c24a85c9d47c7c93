#![no_main]
//! `codec_request`: see `wireforms_fuzzing::codec_request` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::codec_request(data));
