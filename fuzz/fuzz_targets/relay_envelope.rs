#![no_main]
//! Fuzz target `relay_envelope`: the input goes to `gdpr_gateway::fuzzing::relay_envelope`, which must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gdpr_gateway::fuzzing::relay_envelope(data));
