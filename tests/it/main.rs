//! Integration tests: one binary, the real server on 127.0.0.1:0, real SQLite and
//! PostgreSQL, real HTTP.

mod cli;
mod common;
mod config;
// mod connectors; (being written)
mod http_api;
mod openapi;
mod store;
