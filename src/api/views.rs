//! The bodies the gateway's API takes and answers with, in one place: the handlers build
//! them, the OpenAPI document describes them, and clients (the testkit's portal client
//! among them) read them back.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::bundle::{CategorySummary, Receipt, ReceiptClaims, VerifiedReceipt};
use crate::jose::Jwks;
use crate::protocol::Purpose;
use crate::protocol::notice::PrivacyNotice;
use crate::store::pairing_store::PairingState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::create_pairing)]
pub struct CreatePairing {
    /// The organisation's reference for the logged-in customer.
    #[schema(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")]
    pub subject_ref: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::confirm_code)]
pub struct ConfirmCode {
    /// The 6 digits the wallet shows.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// A pairing as the portal sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::pairing_view)]
pub struct PairingView {
    pub pairing_id: String,
    pub subject_ref: String,
    pub state: PairingState,
    /// What the QR code encodes; present while the pairing is `pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_uri: Option<String>,
    pub qr_svg_url: String,
    pub qr_png_url: String,
    pub events_url: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Codes that may still be tried.
    pub attempts_left: u32,
    /// Set once a wallet has scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// In the answer to `POST /v1/pairings` only: a token for the customer's browser to
    /// read this one pairing (its state, QR code and events, sent as `?status_token=`)
    /// until five minutes after `expires_at`, without the portal token. The gateway keeps
    /// only its SHA-256. Give it to that customer's page alone: it shows the pairing as
    /// here, `subject_ref` included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_token: Option<String>,
}

/// A wallet connection of the subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConnectionView {
    pub connection_id: String,
    /// `active` or `revoked`.
    pub state: String,
    /// The wallet's key thumbprint for this connection: how the organisation knows it.
    pub wallet_kid: String,
    /// RFC 3339.
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::connection_list)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// At most this many entries, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// One Server-Sent Event of `GET /v1/pairings/{pairing_id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::pairing_event)]
pub struct PairingEvent {
    /// The pairing's new state.
    pub event: PairingState,
    /// The pairing as JSON text: a `PairingView` without `connect_uri`.
    pub data: String,
}

/// One download of a subject's data, as recorded in the export register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportEntry {
    /// The bundle id (`jti`).
    pub id: String,
    pub client_id: String,
    /// `access` or `portability`.
    pub purpose: String,
    /// `jwt` or `zip`.
    pub format: String,
    pub categories: Vec<String>,
    /// The key that signed the bundle.
    pub kid: String,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::export_list)]
pub struct ExportList {
    pub exports: Vec<ExportEntry>,
}

/// The bundle's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A compact JWS (`application/jwt`).
    Jwt,
    /// A BagIt zip package with `signature.jwt` (`application/zip`).
    Zip,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::export_request)]
pub struct ExportRequest {
    pub format: Format,
    pub purpose: Purpose,
    /// Category ids; all the purpose allows when absent.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 256)]
    pub categories: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportPage {
    /// At most this many imports, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only imports older than this import id: the `next_before` of the previous page.
    #[param(pattern = "^[0-9a-f]{32}$")]
    pub before: Option<String>,
}

/// One forwarded bundle as recorded in the import register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportEntry {
    pub import_id: String,
    /// The controller that signed the bundle, as listed in the trust list.
    pub issuer: String,
    /// The bundle's id (`jti`) at its issuer.
    pub bundle_id: String,
    /// The issuer's reference for the person (the bundle's `sub`).
    pub issuer_subject: String,
    /// Our reference for the person, when the wallet forwarded over a connection bound to
    /// an account; otherwise the portal matches the import to a customer itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_ref: Option<String>,
    /// `access` or `portability`.
    pub purpose: String,
    pub categories: Vec<String>,
    /// SHA-256 of the compact JWS, lowercase hex.
    pub bundle_sha256: String,
    /// RFC 3339: when the issuer signed it.
    pub issued_at: String,
    /// RFC 3339: when it arrived here.
    pub received_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::import_list)]
pub struct ImportList {
    pub imports: Vec<ImportEntry>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// One import with the bundle, exactly as its issuer signed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::import_detail)]
pub struct ImportDetail {
    #[serde(flatten)]
    pub entry: ImportEntry,
    /// The compact JWS (`typ` `gdpr-bundle+jwt`); verify it with any JOSE library against
    /// the issuer's keys in the trust list.
    pub bundle: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::health)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// Where this gateway's APIs are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Endpoints {
    /// Base URL of the integrator API (`/v1`).
    pub gateway: String,
    pub jwks_uri: String,
    /// The trust framework relay this controller uses, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
}

/// The discovery document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::discovery)]
pub struct Discovery {
    /// Controller id (an https URL).
    pub id: String,
    pub name: String,
    pub endpoints: Endpoints,
    /// X25519 keys wallets encrypt messages to, active key first.
    pub encryption_jwks: Jwks,
    pub privacy_notice: PrivacyNotice,
}

/// What `POST /v1/verify` answers for what verified, told apart by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(example = super::examples::verify_answer)]
pub enum VerifyAnswer {
    /// A bundle, compact or packaged (`docs/bundle-format.md`).
    Bundle(Verification),
    /// A receipt (`docs/receipt-format.md`).
    Receipt(ReceiptVerification),
}

/// A bundle that verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Verification {
    /// Always `true`; failures are problem responses.
    pub valid: bool,
    pub issuer: String,
    pub kid: String,
    /// RFC 3339.
    pub issued_at: String,
    pub subject: String,
    pub bundle_id: String,
    pub categories: Vec<CategorySummary>,
}

/// A receipt that verified: its claims as signed, `receipt` whole (times in Unix seconds),
/// as `gdpr-gateway verify --json` prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptVerification {
    /// Always `true`; failures are problem responses.
    pub valid: bool,
    /// The key that signed it.
    pub kid: String,
    /// Controller id (an https URL).
    pub iss: String,
    /// The controller's reference for the data subject.
    pub sub: String,
    /// The request id.
    pub jti: String,
    /// When it was signed, in Unix seconds.
    pub iat: u64,
    pub receipt: Receipt,
}

impl From<VerifiedReceipt> for ReceiptVerification {
    fn from(v: VerifiedReceipt) -> Self {
        let ReceiptClaims { iss, sub, jti, iat, receipt } = v.claims;
        Self { valid: true, kid: v.kid, iss, sub, jti, iat, receipt }
    }
}

pub use super::audit_routes::{AuditExportQuery, AuditPage, AuditQuery};
pub use super::request_views::*;
