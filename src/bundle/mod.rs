//! Signed data bundles (format v1, `docs/bundle-format.md`) and receipts
//! (`docs/receipt-format.md`): the model, signing, and the one verifier of each that the
//! CLI, the HTTP API and the wallet SDK share. No server dependencies; building a bundle
//! from connectors is the gateway's job.

// The package's CSV and HTML files are written only by the server's export.
mod breach_notice;
#[cfg(feature = "server")]
pub(crate) mod csv;
#[cfg(feature = "server")]
pub(crate) mod index_html;
#[cfg(feature = "server")]
mod index_table;
#[cfg(feature = "server")]
pub(crate) mod index_wording;
pub mod package;
mod receipt;
mod record_digest;
mod summary;
mod verify;
mod zip_failures;

use serde::{Deserialize, Serialize};

use crate::clock::UnixSeconds;
use crate::jose::{SigningKeyPair, jws};
pub use crate::protocol::Purpose;
use crate::protocol::notice::{Controller, NoticeCategory, Right};

pub use breach_notice::{
    BREACH_NOTICE_TYP, BreachNotice, BreachNoticeClaims, MAX_BREACH_NOTICE_BYTES, sign_breach_notice,
    verify_breach_notice,
};
pub use receipt::{
    CategoryOutcome, Evidence, MAX_RECEIPT_BYTES, OutcomeResult, RECEIPT_TYP, Receipt, ReceiptClaims, VerifiedReceipt,
    sign_receipt, verify_receipt,
};
pub use record_digest::record_digest;
pub use summary::Summary;
pub use verify::{
    BundleError, CategorySummary, SignedKind, VerifiedBundle, VerifiedSummary, signed_kind, verify_jwt,
    verify_jwt_summary,
};

/// `typ` of every bundle JWS.
pub const TYP: &str = "gdpr-bundle+jwt";
/// Media type of the compact JWS form.
pub const JWT_MEDIA_TYPE: &str = "application/jwt";
/// The format version this code writes and reads.
pub const VERSION: u32 = 1;
/// Largest compact JWS bundle a verifier reads; larger data travels as a zip package.
pub const MAX_JWT_BYTES: usize = 64 * 1024 * 1024;

/// The JWT claims of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Controller id (an https URL).
    pub iss: String,
    /// The controller's reference for the data subject.
    pub sub: String,
    pub iat: UnixSeconds,
    /// Bundle id.
    pub jti: String,
    pub bundle: Bundle,
}

/// The data and the art. 15 information.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub version: u32,
    pub purpose: Purpose,
    pub categories: Vec<CategoryData>,
    pub art15: Art15,
}

/// One category: what it is, why and how long it is held, and its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryData {
    #[serde(flatten)]
    pub info: NoticeCategory,
    pub records: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// What art. 15 requires beyond the per-category information: who the controller is,
/// whom to ask and complain to, and the data subject's rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Art15 {
    pub controller: Controller,
    pub rights: Vec<Right>,
}

/// Signs `claims` with header `{"alg":"EdDSA","kid":…,"typ":"gdpr-bundle+jwt"}`.
pub fn sign_jwt(claims: &Claims, key: &SigningKeyPair) -> Result<String, serde_json::Error> {
    let payload = serde_json::to_vec(claims)?;
    Ok(jws::sign(key, TYP, &payload))
}
