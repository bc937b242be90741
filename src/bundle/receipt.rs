//! Signed receipts (`docs/receipt-format.md`): what the organisation did about a rights
//! request, per category, with the evidence it can honestly show. Signed once, when the
//! request ends, with the key that signs bundles; verified by the same strict rules.

use serde::{Deserialize, Serialize};

use crate::clock::UnixSeconds;
use crate::jose::{SigningKeyPair, jws};
use crate::protocol::rights::{RequestKind, RequestState};

/// `typ` of every receipt JWS.
pub const RECEIPT_TYP: &str = "gdpr-receipt+jwt";
/// Largest receipt a verifier reads: a receipt names categories and digests, never data.
pub const MAX_RECEIPT_BYTES: usize = 256 * 1024;

/// The JWT claims of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptClaims {
    /// Controller id (an https URL).
    pub iss: String,
    /// The controller's reference for the data subject.
    pub sub: String,
    /// The request id.
    pub jti: String,
    pub iat: UnixSeconds,
    pub receipt: Receipt,
}

/// What was asked, when, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// `2026-000123`, as the person was told on filing.
    pub request_number: String,
    #[serde(rename = "type")]
    pub kind: RequestKind,
    /// `closed` (carried out) or `refused`.
    pub state: RequestState,
    pub received_at: UnixSeconds,
    pub due_at: UnixSeconds,
    pub completed_at: UnixSeconds,
    /// What was done per category, in inventory order; empty for requests about no data
    /// (information, a refusal of the whole request).
    pub outcomes: Vec<CategoryOutcome>,
    /// The closing note or the reason of a refusal, as the person was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One category's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryOutcome {
    pub category: String,
    /// `rectify`, `erase`, `restrict`, `lift_restriction`, `object`, `review`, `answer`.
    pub operation: String,
    pub result: OutcomeResult,
    /// Why it was refused (a refusal ground, e.g. the art. 17(3) exception), or what a
    /// member of staff did by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Evidence::is_empty")]
    pub evidence: Evidence,
}

/// How a category's operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    /// Carried out at the source by the gateway.
    Done,
    /// Not carried out, for the ground in `note`.
    Refused,
    /// Carried out by a member of staff, who described it in `note`.
    Manual,
}

/// What can be shown of an operation without showing the data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Records the source reported as affected (erased, restricted, corrected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// The source's own id for the operation, to quote to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    /// `sha256:<hex>` of each corrected record as the source holds it now (its JSON with
    /// keys sorted, no whitespace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub record_digests: Vec<String>,
    /// The `jti` of a signed bundle that shows the result (the corrected category, the
    /// copy asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Signs `claims` with header `{"alg":"EdDSA","kid":…,"typ":"gdpr-receipt+jwt"}`.
pub fn sign_receipt(claims: &ReceiptClaims, key: &SigningKeyPair) -> Result<String, serde_json::Error> {
    let payload = serde_json::to_vec(claims)?;
    Ok(jws::sign(key, RECEIPT_TYP, &payload))
}
