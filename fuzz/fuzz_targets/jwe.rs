#![no_main]
//! Fuzz target `jwe`: the input goes to `gdpr_gateway::fuzzing::jwe`, which must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gdpr_gateway::fuzzing::jwe(data));
