//! `gdpr-gateway demo`: two organisations, a relay and a wallet in one process
//! (`framework`, also the end-to-end test harness) and the story told over them (`story`).
//! The organisations run the built-in demo configuration (`config::builtin_demo`).

pub mod framework;
pub mod story;
