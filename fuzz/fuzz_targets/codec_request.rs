#![no_main]
//! `codec_request`: see `wireforms::fuzzing::codec_request` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms::fuzzing::codec_request(data));
