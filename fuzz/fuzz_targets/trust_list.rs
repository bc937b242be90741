#![no_main]
//! Fuzz target `trust_list`: the input goes to `gdpr_gateway::fuzzing::trust_list`, which must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gdpr_gateway::fuzzing::trust_list(data));
