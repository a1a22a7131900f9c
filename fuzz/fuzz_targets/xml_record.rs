//! Fuzz target: `tsreplay::fuzzing::xml_record` (see that function for what it drives).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tsreplay::fuzzing::xml_record(data));
