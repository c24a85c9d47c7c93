#![no_main]
//! `reqres_client`: see `wireforms_fuzzing::reqres_client` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::reqres_client(data));
