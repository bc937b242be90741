#![no_main]
//! Fuzz target `strict_json`: the input goes to `gdpr_gateway::fuzzing::strict_json`, which must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gdpr_gateway::fuzzing::strict_json(data));
