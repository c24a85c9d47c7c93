#![no_main]
//! `codec_mux`: see `wireforms_fuzzing::codec_mux` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::codec_mux(data));
