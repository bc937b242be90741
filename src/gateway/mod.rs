//! The gateway's own capabilities, independent of HTTP: exports, pairing and imports of
//! forwarded bundles now; rights requests and retention as they arrive.

pub mod exports;
pub mod import_store;
pub mod imports;
pub mod index_html;
pub mod package;
pub mod pairing;
pub mod pairing_store;
pub mod relay_link;
pub mod self_service;
