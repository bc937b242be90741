#![no_main]
//! Fuzz target `config`: the input goes to `gdpr_gateway::fuzzing::config`, which must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gdpr_gateway::fuzzing::config(data));
