//! The wallet as bindings see it: the core wallet (`gdpr_gateway::wallet`) behind a UniFFI
//! object, its records declared remote so they cross the FFI as they are.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gdpr_gateway::clock::Timestamp;
use gdpr_gateway::protocol::Purpose;
use gdpr_gateway::wallet as core;
pub use gdpr_gateway::wallet::{
    BreachNoticeView, Bundle, Catalogue, CatalogueCategory, ConnectionState, ConnectionSummary, CorrectedRecord,
    CorrectionProof, EventKind, ImportReceipt, Package, PendingConnection, ReceiptOutcome, Remedies, RequestForm,
    RequestKind, RequestState, RequestUpdate, TrackedRequest, WalletEvent,
};

use crate::keystore::Bridge;
use crate::{KeyStore, WalletError};

// Moments reach apps as the platform's instant: `java.time.Instant`, `Date`, `datetime`.
uniffi::custom_type!(Timestamp, SystemTime, {
    remote,
    lower: |at| UNIX_EPOCH + Duration::from_secs(at.0),
    try_lift: |at| Ok(Timestamp(at.duration_since(UNIX_EPOCH)?.as_secs())),
});

/// A timeout in whole seconds for the core, rounded up so that a short one still waits.
fn seconds(timeout: Duration) -> u64 {
    timeout.as_secs().saturating_add(u64::from(timeout.subsec_nanos() > 0))
}

#[uniffi::remote(Enum)]
pub enum ConnectionState {
    Pending,
    Connected,
    Revoked,
}

#[uniffi::remote(Enum)]
pub enum EventKind {
    Revoked,
    Refused,
    Unexpected,
    Unreachable,
    Request,
    Breach,
}

#[uniffi::remote(Record)]
pub struct BreachNoticeView {
    pub connection_id: String,
    pub controller_id: String,
    pub controller_name: String,
    pub breach_id: String,
    pub nature: String,
    pub categories: Vec<String>,
    pub likely_consequences: String,
    pub measures: String,
    pub contact: String,
    pub aware_at: Timestamp,
    pub notified_at: Timestamp,
    pub token: String,
}

#[uniffi::remote(Enum)]
pub enum RequestKind {
    Access,
    Rectification,
    Erasure,
    Restriction,
    Portability,
    Objection,
    HumanReview,
    Information,
}

#[uniffi::remote(Enum)]
pub enum RequestState {
    Open,
    Closed,
    Refused,
}

#[uniffi::remote(Enum)]
pub enum RequestUpdate {
    Acknowledged,
    Identified,
    Extended,
    Referred,
    Closed,
    Refused,
}

#[uniffi::remote(Record)]
pub struct Remedies {
    pub supervisory_authority: String,
    pub complaint_url: String,
    pub judicial_remedy: String,
}

#[uniffi::remote(Record)]
pub struct RequestForm {
    pub kind: RequestKind,
    pub categories: Vec<String>,
    pub details: Option<String>,
    pub proposed_json: Option<String>,
}

#[uniffi::remote(Record)]
pub struct TrackedRequest {
    pub connection_id: String,
    pub controller_name: String,
    pub number: String,
    pub kind: RequestKind,
    pub state: RequestState,
    pub update: RequestUpdate,
    pub updated_at: Timestamp,
    pub received_at: Timestamp,
    pub due_on: String,
    pub due_at: Timestamp,
    pub contact: String,
    pub detail: Option<String>,
    pub remedies: Option<Remedies>,
    pub receipt: Option<String>,
    pub receipt_verified: bool,
    pub receipt_acknowledged: bool,
    pub receipt_problem: Option<String>,
    pub outcomes: Vec<ReceiptOutcome>,
}

#[uniffi::remote(Record)]
pub struct ReceiptOutcome {
    pub category: String,
    pub operation: String,
    pub purpose: Option<String>,
    pub result: String,
    pub note: Option<String>,
    pub records: Option<i64>,
    pub confirmation: Option<String>,
    pub record_digests: Vec<String>,
    pub bundle_id: Option<String>,
}

#[uniffi::remote(Record)]
pub struct CorrectionProof {
    pub bundle: Bundle,
    pub records: Vec<CorrectedRecord>,
    pub confirmed: bool,
}

#[uniffi::remote(Record)]
pub struct CorrectedRecord {
    pub category: String,
    pub digest: String,
    pub shown: bool,
}

#[uniffi::remote(Record)]
pub struct WalletEvent {
    pub connection_id: String,
    pub kind: EventKind,
    pub detail: String,
}

#[uniffi::remote(Record)]
pub struct PendingConnection {
    pub connection_id: String,
    pub controller_id: String,
    pub controller_name: String,
    pub code: String,
}

#[uniffi::remote(Record)]
pub struct ConnectionSummary {
    pub connection_id: String,
    pub controller_id: String,
    pub controller_name: String,
    pub state: ConnectionState,
    pub created_at: Timestamp,
}

#[uniffi::remote(Record)]
pub struct Bundle {
    pub token: String,
    pub issuer: String,
    pub subject: String,
    pub bundle_id: String,
    pub categories: Vec<String>,
}

#[uniffi::remote(Record)]
pub struct Package {
    pub path: String,
    pub issuer: String,
    pub subject: String,
    pub bundle_id: String,
    pub categories: Vec<String>,
}

#[uniffi::remote(Record)]
pub struct ImportReceipt {
    pub import_id: String,
    pub controller_id: String,
    pub controller_name: String,
}

#[uniffi::remote(Record)]
pub struct Catalogue {
    pub controller_id: String,
    pub controller_name: String,
    pub dpo_contact: String,
    pub supervisory_authority: String,
    pub supervisory_authority_url: String,
    pub categories: Vec<CatalogueCategory>,
    pub rights: Vec<String>,
}

#[uniffi::remote(Record)]
pub struct CatalogueCategory {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub purposes: Vec<String>,
    pub legal_basis: String,
    pub retention: String,
    pub recipients: Vec<String>,
    pub source: String,
    pub portable: bool,
    pub special_category: bool,
}

/// Why the person asks for their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum ExportPurpose {
    /// Art. 15: everything held about them.
    Access,
    /// Art. 20: what they may take to another organisation.
    Portability,
}

impl From<ExportPurpose> for Purpose {
    fn from(p: ExportPurpose) -> Self {
        match p {
            ExportPurpose::Access => Purpose::Access,
            ExportPurpose::Portability => Purpose::Portability,
        }
    }
}

/// A rectification (art. 16) of one record of `category` from a downloaded bundle:
/// `record_json` is the record as the bundle holds it, `id_field` the category's record id
/// (`id` unless the organisation says otherwise), `changes_json` an object of dotted field
/// paths to their correct values (`{"address.street":"Kerkstraat 2"}`). File the form with
/// `Wallet.submit_request`.
#[uniffi::export]
pub fn rectification_form(
    category: String,
    record_json: String,
    id_field: String,
    changes_json: String,
) -> Result<RequestForm, WalletError> {
    Ok(RequestForm::rectification_json(&category, &record_json, &id_field, &changes_json)?)
}

#[derive(uniffi::Object)]
pub struct Wallet(core::Wallet);

impl Wallet {
    /// A wallet on an injected clock (tests).
    pub fn with_clock(store: Arc<dyn KeyStore>, clock: Arc<dyn gdpr_gateway::clock::Clock>) -> Self {
        Self(core::Wallet::with_clock(Arc::new(Bridge(store)), clock))
    }
}

/// The wallet's API, the same for Rust and, through UniFFI, for Kotlin, Swift and Python.
/// Async methods run on a tokio runtime UniFFI provides. See `gdpr_gateway::wallet` for
/// what each call checks.
#[uniffi::export(async_runtime = "tokio")]
impl Wallet {
    #[uniffi::constructor]
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self(core::Wallet::new(Arc::new(Bridge(store))))
    }

    /// Redeems the connect URI from a QR code and waits for the code to show the person.
    pub async fn connect(&self, uri: String) -> Result<PendingConnection, WalletError> {
        Ok(self.0.connect(uri).await?)
    }

    /// Waits up to `timeout` until the organisation confirms the code.
    pub async fn wait_connected(&self, connection_id: String, timeout: Duration) -> Result<(), WalletError> {
        Ok(self.0.wait_connected(connection_id, seconds(timeout)).await?)
    }

    /// Every connection this wallet holds.
    pub fn connections(&self) -> Result<Vec<ConnectionSummary>, WalletError> {
        Ok(self.0.connections()?)
    }

    /// What the organisation holds and why: categories with their art. 15 information.
    pub async fn catalogue(&self, connection_id: String, timeout: Duration) -> Result<Catalogue, WalletError> {
        Ok(self.0.catalogue(connection_id, seconds(timeout)).await?)
    }

    /// Downloads the person's data; returns the bundle once it verified.
    pub async fn request_export(
        &self,
        connection_id: String,
        purpose: ExportPurpose,
        categories: Option<Vec<String>>,
        timeout: Duration,
    ) -> Result<Bundle, WalletError> {
        Ok(self.0.request_export(connection_id, purpose.into(), categories, seconds(timeout)).await?)
    }

    /// Downloads the person's data as a zip package into the file `path` (which must not
    /// exist), for data too large for a compact JWS; returns once it verified there.
    pub async fn download_package(
        &self,
        connection_id: String,
        purpose: ExportPurpose,
        categories: Option<Vec<String>>,
        path: String,
        timeout: Duration,
    ) -> Result<Package, WalletError> {
        Ok(self.0.download_package(connection_id, purpose.into(), categories, path, seconds(timeout)).await?)
    }

    /// Verifies a bundle against the organisation's keys and the connection's account.
    pub fn verify(&self, connection_id: String, token: String) -> Result<Bundle, WalletError> {
        Ok(self.0.verify(connection_id, token)?)
    }

    /// Forwards a bundle to another organisation of the trust framework; returns its
    /// receipt once it verified and stored the bundle.
    pub async fn forward(
        &self,
        bundle: String,
        to_controller_id: String,
        timeout: Duration,
    ) -> Result<ImportReceipt, WalletError> {
        Ok(self.0.forward(bundle, to_controller_id, seconds(timeout)).await?)
    }

    /// Files a rights request (art. 15-22 GDPR) and returns its acknowledgement: number,
    /// due date and whom to contact.
    pub async fn submit_request(
        &self,
        connection_id: String,
        form: RequestForm,
        timeout: Duration,
    ) -> Result<TrackedRequest, WalletError> {
        Ok(self.0.submit_request(connection_id, form, seconds(timeout)).await?)
    }

    /// Downloads a fresh bundle of the categories the verified receipt of rectification
    /// `request_number` says were corrected, and checks that it shows each corrected record
    /// with the digest the receipt names: the correction seen, not taken on trust.
    pub async fn confirm_correction(
        &self,
        connection_id: String,
        request_number: String,
        timeout: Duration,
    ) -> Result<CorrectionProof, WalletError> {
        Ok(self.0.confirm_correction(connection_id, request_number, seconds(timeout)).await?)
    }

    /// The person's rights requests, newest first, as each organisation last told of them
    /// (call `events` first to read what arrived since); an ended one with its signed
    /// receipt, whether it verified and was acknowledged, and its outcomes per category.
    pub fn requests(&self) -> Result<Vec<TrackedRequest>, WalletError> {
        Ok(self.0.requests()?)
    }

    /// The personal data breaches the person's organisations reported to them (art. 34),
    /// each a signed notice that verified against the organisation's pinned keys, newest
    /// first: what happened, the likely consequences, the measures, whom to ask.
    pub fn breach_notices(&self) -> Result<Vec<BreachNoticeView>, WalletError> {
        Ok(self.0.breach_notices()?)
    }

    /// What happened outside the calls' own answers since the last call: revocations by
    /// the organisation (applied), items refused with the reason, messages nobody asked
    /// for, updates to the person's rights requests, and receipts that did not verify.
    /// Acknowledges each receipt that verified to its organisation, once.
    pub async fn events(&self) -> Result<Vec<WalletEvent>, WalletError> {
        Ok(self.0.events().await?)
    }

    /// Ends the connection; the organisation learns of it.
    pub async fn revoke(&self, connection_id: String) -> Result<(), WalletError> {
        Ok(self.0.revoke(connection_id).await?)
    }
}
