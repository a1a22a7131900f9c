//! Fuzz target: `tsreplay::fuzzing::evtx_file` (see that function for what it drives).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tsreplay::fuzzing::evtx_file(data));
