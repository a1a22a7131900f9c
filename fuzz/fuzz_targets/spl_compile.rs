//! Fuzz target: `tsreplay::fuzzing::spl_compile` (see that function for what it drives).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tsreplay::fuzzing::spl_compile(data));
