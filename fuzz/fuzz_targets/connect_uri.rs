#![no_main]
//! Fuzz target `connect_uri`: the input goes to `gdpr_gateway::fuzzing::connect_uri`, which must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gdpr_gateway::fuzzing::connect_uri(data));
