//! gdpr-wallet: the individual's side of gdpr-gateway, for mobile apps. A thin UniFFI
//! layer (proc-macros, no UDL) over the platform-free wallet in the gateway's core
//! (`gdpr_gateway::wallet`): pair with an organisation by QR code, see what it holds,
//! download its signed data, check it, forward it to another organisation, and file and
//! follow rights requests (art. 15-22 GDPR) to their signed receipts. Key
//! material is generated in Rust and persisted through a [`KeyStore`] the app implements
//! (Keychain, Android Keystore). `mobile-sdk/bindings.sh` generates the Kotlin, Swift and
//! Python bindings.

#![forbid(unsafe_code)]

uniffi::setup_scaffolding!();

mod error;
mod keystore;
mod settled;
mod wallet;

pub use error::WalletError;
pub use keystore::{FileKeyStore, KeyStore};
pub use wallet::{
    BreachNoticeView, Bundle, Catalogue, CatalogueCategory, ConnectionState, ConnectionSummary, CorrectedRecord,
    CorrectionProof, EventKind, ExportPurpose, ImportReceipt, Package, PendingConnection, ReceiptOutcome, Remedies,
    RequestForm, RequestKind, RequestState, RequestUpdate, TrackedRequest, Wallet, WalletEvent, rectification_form,
};
