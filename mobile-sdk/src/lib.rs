//! gdpr-wallet: the individual's side of gdpr-gateway. A wallet app embeds it to pair with
//! an organisation by QR code, see what it holds, download its signed data, check it, and
//! forward it to another organisation. Platform-free Rust over the gateway's core
//! (protocol, JOSE, relay client); key material is generated here and persisted through a
//! [`KeyStore`] the app implements (Keychain, Android Keystore).
//! The same API reaches Kotlin, Swift and Python through UniFFI (proc-macros, no UDL):
//! `mobile-sdk/bindings.sh` generates the bindings.

#![forbid(unsafe_code)]

uniffi::setup_scaffolding!();

mod catalogue;
mod error;
mod keystore;
mod wallet;

pub use catalogue::{Catalogue, CatalogueCategory};
pub use error::WalletError;
pub use keystore::{FileKeyStore, KeyStore};
pub use wallet::{Bundle, ConnectionState, ConnectionSummary, ExportPurpose, ImportReceipt, PendingConnection, Wallet};
