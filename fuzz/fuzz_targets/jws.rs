#![no_main]
//! Fuzz target `jws`: the input goes to `gdpr_gateway::fuzzing::jws`, which must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gdpr_gateway::fuzzing::jws(data));
