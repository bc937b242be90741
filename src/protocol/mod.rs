//! Wire types shared by the gateway, the relay and wallets; no server dependencies.

pub mod blob;
pub mod gdpr;
pub mod key_history;
pub mod message;
pub mod notice;
pub mod problem;
pub mod purpose;
pub mod relay_wire;
pub mod rights;
pub mod subject;
pub mod trust_list;
#[cfg(feature = "server")]
pub(crate) mod wire_examples;

pub use problem::{ErrorCode, Problem, RemoteErrorCode};
pub use purpose::Purpose;
pub use subject::SubjectRef;
