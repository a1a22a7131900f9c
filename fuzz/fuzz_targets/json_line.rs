//! Fuzz target: `tsreplay::fuzzing::json_line` (see that function for what it drives).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tsreplay::fuzzing::json_line(data));
