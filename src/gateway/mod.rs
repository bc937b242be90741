//! The gateway's own capabilities, independent of HTTP: exports now; pairing, forwards,
//! rights requests and retention as they arrive.

pub mod exports;
pub mod index_html;
pub mod package;
