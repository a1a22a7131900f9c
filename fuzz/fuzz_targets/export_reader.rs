//! Fuzz target: `tsreplay::fuzzing::export_reader` (see that function for what it drives).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tsreplay::fuzzing::export_reader(data));
