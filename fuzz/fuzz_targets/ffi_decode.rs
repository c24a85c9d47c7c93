#![no_main]
//! `ffi_decode`: see `wireforms_fuzzing::ffi` and fuzz/README.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wireforms_fuzzing::ffi_decode(data));
