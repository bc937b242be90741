#![no_main]
//! Fuzz target `zip_package`: the input goes to `gdpr_gateway::fuzzing::zip_package`, which must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gdpr_gateway::fuzzing::zip_package(data));
