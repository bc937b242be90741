//! Integration tests: one binary, the real server on 127.0.0.1:0, real SQLite and
//! PostgreSQL, real HTTP.

// A panic in a test helper is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod architecture;
mod audit_trail;
mod breaches;
mod bundles;
mod cli;
mod common;
mod config;
mod connect_page;
mod connectors;
mod cors;
mod crash_recovery;
mod forward;
mod fuzz_corpora;
mod http_api;
mod http_source_retention;
mod josekit_crosscheck;
mod key_discovery;
mod long_term_verification;
mod openapi;
mod openapi_oversight_examples;
mod package_page;
mod pairing;
mod pairing_status_token;
mod processing_register;
mod proposed_values;
mod public_url;
mod receipts_verify;
mod relay;
mod request_execution;
mod request_register;
mod request_workflow;
mod retention;
mod rights_requests;
mod running_binary;
mod server;
mod source_retention;
mod sql_source;
mod staff_oidc;
mod store;
mod trust_framework;
mod vectors;
mod wallet_requests;
mod webhooks;
mod written_requests;
