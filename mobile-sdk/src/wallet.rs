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
use crate::settled::settled;
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

/// Where a connection stands, as the wallet sees it.
#[uniffi::remote(Enum)]
pub enum ConnectionState {
    /// Redeemed; waiting for the person to type the code into the organisation's portal.
    Pending,
    /// The organisation confirmed the code: the connection is bound to the person's account.
    Connected,
    /// Ended by either side, or the pairing was cancelled: no more calls on it.
    Revoked,
}

/// What kind of thing a `WalletEvent` reports.
#[uniffi::remote(Enum)]
pub enum EventKind {
    /// The organisation ended the connection; the wallet marked it `Revoked`.
    Revoked,
    /// An item from the relay was refused: it did not open, did not verify, was for
    /// another connection, was too old, or was seen before. Nothing of it was kept.
    Refused,
    /// A message arrived that answers nothing the wallet is waiting for, or a request's
    /// receipt did not verify (kept unverified, never acknowledged).
    Unexpected,
    /// Something could not be done (relay away, key store trouble): the connection's
    /// mailbox could not be read, what arrived not stored, or a receipt not acknowledged yet.
    Unreachable,
    /// One of the person's rights requests moved on: acknowledged, extended, closed or
    /// refused. `Wallet.requests` has it, with the receipt of one that ended.
    Request,
    /// An organisation reports a personal data breach that touched the person's data;
    /// `Wallet.breach_notices` has its signed notice.
    Breach,
}

/// A personal data breach an organisation reported to the person (art. 34 GDPR): a signed
/// notice that verified against the organisation's pinned keys and is about this account.
#[uniffi::remote(Record)]
pub struct BreachNoticeView {
    /// The connection the notice arrived on.
    pub connection_id: String,
    /// The organisation that signed the notice: its id in the trust framework (an https URL).
    pub controller_id: String,
    /// The organisation's name, as the notice states it.
    pub controller_name: String,
    /// The organisation's id for the breach, the same in every person's notice of it.
    pub breach_id: String,
    /// What happened, in plain language.
    pub nature: String,
    /// The person's kinds of data involved, by name.
    pub categories: Vec<String>,
    /// What the breach may mean for the person.
    pub likely_consequences: String,
    /// What the organisation did or proposes, including what limits the harm, and what
    /// the person can do.
    pub measures: String,
    /// Whom to ask: the data protection officer or another contact point.
    pub contact: String,
    /// When the organisation became aware of the breach.
    pub aware_at: Timestamp,
    /// When the organisation signed this notice to the person.
    pub notified_at: Timestamp,
    /// The signed notice itself (a compact JWS, `typ` `gdpr-breach-notice+jwt`), to keep or
    /// show anyone.
    pub token: String,
}

/// The right a request invokes.
#[uniffi::remote(Enum)]
pub enum RequestKind {
    /// Art. 15: a copy of the data and what is done with it.
    Access,
    /// Art. 16: correct or complete data; the request carries the proposed values
    /// (`rectification_form` builds it).
    Rectification,
    /// Art. 17: erase the data.
    Erasure,
    /// Art. 18: keep the data but stop using it.
    Restriction,
    /// Art. 20: the data in a portable form, to take elsewhere.
    Portability,
    /// Art. 21: object to a processing.
    Objection,
    /// Art. 22(3): a person to review an automated decision.
    HumanReview,
    /// Art. 13/14: what is done with the data, and why.
    Information,
}

/// Whether a request still needs work.
#[uniffi::remote(Enum)]
pub enum RequestState {
    /// Received and being handled.
    Open,
    /// Carried out.
    Closed,
    /// Not carried out, with the reason given to the person.
    Refused,
}

/// What just happened to a request, as the person is told.
#[uniffi::remote(Enum)]
pub enum RequestUpdate {
    /// Received, numbered and due (art. 12(3)); the first word on every request.
    Acknowledged,
    /// The identity of whoever filed a written request was established.
    Identified,
    /// The deadline moved once, by up to two months, for the reason in `detail`;
    /// `due_on` and `due_at` hold the new one.
    Extended,
    /// (Part of) the request concerns data another organisation holds: ask them;
    /// `detail` says whom and how.
    Referred,
    /// Carried out.
    Closed,
    /// Not carried out, for the reason given; the remedies say where to turn.
    Refused,
}

/// What a refused person may do next (art. 12(4) GDPR).
#[uniffi::remote(Record)]
pub struct Remedies {
    /// The supervisory authority to lodge a complaint with (art. 77), by name.
    pub supervisory_authority: String,
    /// Where to lodge that complaint: the authority's web address.
    pub complaint_url: String,
    /// The right to an effective judicial remedy (art. 79), in words a person can act on.
    pub judicial_remedy: String,
}

/// A rights request to file with `Wallet.submit_request`; `rectification_form` builds one
/// for a correction.
#[uniffi::remote(Record)]
pub struct RequestForm {
    /// The right invoked.
    pub kind: RequestKind,
    /// The categories concerned, by `CatalogueCategory.id`; all when empty.
    pub categories: Vec<String>,
    /// The person's own words about the request, for the organisation; `None` for none.
    pub details: Option<String>,
    /// For a rectification, JSON: `{"<category>": {"<dotted field path>": <correct value>,
    /// "<id field>": "<record id>"}}`, as `rectification_form` builds it; else `None`.
    pub proposed_json: Option<String>,
}

/// A rights request as the organisation last told of it (filed by this wallet or, for
/// the same account, otherwise), with its signed receipt once it ended.
#[uniffi::remote(Record)]
pub struct TrackedRequest {
    /// The connection it was filed or told of on.
    pub connection_id: String,
    /// The organisation's name, from the trust list.
    pub controller_name: String,
    /// The organisation's number for it (`2026-000123`): quote it to the organisation.
    pub number: String,
    /// The right invoked.
    pub kind: RequestKind,
    /// Whether it still needs work.
    pub state: RequestState,
    /// What happened last: acknowledged, extended, closed, refused, …
    pub update: RequestUpdate,
    /// When that last update happened.
    pub updated_at: Timestamp,
    /// When the organisation received the request.
    pub received_at: Timestamp,
    /// The last day the organisation has to answer, a date in its own time zone
    /// (`2026-12-22`): the deadline to show.
    pub due_on: String,
    /// When the deadline passes: the last second of `due_on` in the organisation's zone.
    pub due_at: Timestamp,
    /// Whom to contact about the request: the data protection officer.
    pub contact: String,
    /// The reason for an extension or refusal, what was done, or whom to ask for a referral.
    pub detail: Option<String>,
    /// Where to turn after a refusal; `None` otherwise.
    pub remedies: Option<Remedies>,
    /// Once the request ended: the organisation's signed receipt (a compact JWS, `typ`
    /// `gdpr-receipt+jwt`), byte for byte as it arrived, to keep or show to others.
    pub receipt: Option<String>,
    /// The receipt verified against the organisation's pinned keys and is about this
    /// request and this account.
    pub receipt_verified: bool,
    /// The organisation was told the verified receipt arrived (sent once, by `Wallet.events`).
    pub receipt_acknowledged: bool,
    /// Why the receipt did not verify (it is kept, never acknowledged); else `None`.
    pub receipt_problem: Option<String>,
    /// What the verified receipt says was done, per category; empty without one.
    pub outcomes: Vec<ReceiptOutcome>,
}

/// One category's outcome, as a verified receipt states it.
#[uniffi::remote(Record)]
pub struct ReceiptOutcome {
    /// The category's id (`CatalogueCategory.id`), or `*` for the request as a whole.
    pub category: String,
    /// `rectify`, `erase`, `restrict`, `lift_restriction`, `object` or `review`; a later
    /// organisation may name others.
    pub operation: String,
    /// For an objection: the purpose objected to (one outcome per purpose).
    pub purpose: Option<String>,
    /// `done` (carried out at the source), `refused` (for the ground in `note`) or
    /// `manual` (done by a member of staff, who said how in `note`).
    pub result: String,
    /// The ground of a refusal, or how staff did it by hand; may be `None` for `done`.
    pub note: Option<String>,
    /// How many records the source reported as affected; `None` when it did not say.
    pub records: Option<i64>,
    /// The source's own id for the operation, to quote to it.
    pub confirmation: Option<String>,
    /// `sha256:<hex>` of each corrected record as the source holds it now (its JSON with
    /// keys sorted, no whitespace): `Wallet.confirm_correction` compares them with a download.
    pub record_digests: Vec<String>,
    /// The id (`Bundle.bundle_id`) of a signed bundle that shows the result, if named.
    pub bundle_id: Option<String>,
}

/// What a fresh bundle shows of a rectification's receipt.
#[uniffi::remote(Record)]
pub struct CorrectionProof {
    /// The fresh bundle of the corrected categories, verified like any download.
    pub bundle: Bundle,
    /// Every corrected record the receipt names, and whether the bundle shows it.
    pub records: Vec<CorrectedRecord>,
    /// True when the bundle shows every record the receipt says was corrected.
    pub confirmed: bool,
}

/// One record a rectification's receipt says was corrected.
#[uniffi::remote(Record)]
pub struct CorrectedRecord {
    /// The category's id.
    pub category: String,
    /// `sha256:<hex>` of the corrected record, as the receipt states it.
    pub digest: String,
    /// Whether the fresh bundle holds a record of the category with this digest. `false`
    /// when the record changed again since, or the correction is not what was signed.
    pub shown: bool,
}

/// Something that happened on a connection outside a call's own answer, from
/// `Wallet.events`.
#[uniffi::remote(Record)]
pub struct WalletEvent {
    /// The connection it happened on.
    pub connection_id: String,
    /// What kind of event: branch on this.
    pub kind: EventKind,
    /// What happened, as an English sentence to show or log; not meant to be parsed.
    pub detail: String,
}

/// A connection that waits for the person to type `code` into the organisation's portal;
/// pass `connection_id` to `Wallet.wait_connected`.
#[uniffi::remote(Record)]
pub struct PendingConnection {
    /// The connection's id (32 lowercase hex characters): name it in every call about it.
    pub connection_id: String,
    /// The organisation's id in the trust framework (an https URL), from the trust list.
    pub controller_id: String,
    /// The organisation's name, from the trust list: show it, so the person knows with
    /// whom they pair.
    pub controller_name: String,
    /// The confirmation code: show it to the person, who types it into the portal.
    pub code: String,
}

/// A connection as listed to the person.
#[uniffi::remote(Record)]
pub struct ConnectionSummary {
    /// The connection's id (32 lowercase hex characters): name it in every call about it.
    pub connection_id: String,
    /// The organisation's id in the trust framework (an https URL).
    pub controller_id: String,
    /// The organisation's name, from the trust list.
    pub controller_name: String,
    /// Where the connection stands.
    pub state: ConnectionState,
    /// When the wallet redeemed the connect URI.
    pub created_at: Timestamp,
}

/// A signed bundle of the person's data that verified against the organisation's keys
/// and is about the connection's account.
#[uniffi::remote(Record)]
pub struct Bundle {
    /// The compact JWS, byte for byte as signed, its payload holding the data: save it,
    /// or pass it to `Wallet.verify` or `Wallet.forward`, as it is.
    pub token: String,
    /// The organisation that signed it: its id in the trust framework (an https URL).
    pub issuer: String,
    /// The organisation's reference for the person's account (`sub`), the one the
    /// connection is bound to.
    pub subject: String,
    /// The bundle's unique id (`jti`), as receipts name it.
    pub bundle_id: String,
    /// The ids of the categories it holds.
    pub categories: Vec<String>,
}

/// A zip package of the person's data that verified, in the file it was downloaded to.
#[uniffi::remote(Record)]
pub struct Package {
    /// The file it is in: the `path` given to `Wallet.download_package`.
    pub path: String,
    /// The organisation that signed it: its id in the trust framework (an https URL).
    pub issuer: String,
    /// The organisation's reference for the person's account (`sub`), the one the
    /// connection is bound to.
    pub subject: String,
    /// The package's unique id (`jti`), as receipts name it.
    pub bundle_id: String,
    /// The ids of the categories it holds.
    pub categories: Vec<String>,
}

/// The receiving organisation's receipt for a forwarded bundle.
#[uniffi::remote(Record)]
pub struct ImportReceipt {
    /// The id under which the receiving organisation stored the bundle.
    pub import_id: String,
    /// The receiving organisation's id in the trust framework (an https URL).
    pub controller_id: String,
    /// The receiving organisation's name, from the trust list.
    pub controller_name: String,
}

/// The organisation's answer to "what do you hold about me, and why?": its privacy notice.
#[uniffi::remote(Record)]
pub struct Catalogue {
    /// The organisation's id in the trust framework (an https URL).
    pub controller_id: String,
    /// The organisation's name, as its notice states it.
    pub controller_name: String,
    /// How to reach its data protection officer.
    pub dpo_contact: String,
    /// Where to complain (art. 77): the supervisory authority's name.
    pub supervisory_authority: String,
    /// The supervisory authority's web address.
    pub supervisory_authority_url: String,
    /// Each category of data it holds about people, with its art. 15 information.
    pub categories: Vec<CatalogueCategory>,
    /// The person's rights, each in words with its article in parentheses.
    pub rights: Vec<String>,
}

/// One category of data and the art. 15 information about it.
#[uniffi::remote(Record)]
pub struct CatalogueCategory {
    /// The category's id: name it in `RequestForm.categories` and in downloads.
    pub id: String,
    /// Its name, to show.
    pub name: String,
    /// What it holds, in plain words, when the organisation says.
    pub description: Option<String>,
    /// What the organisation uses it for.
    pub purposes: Vec<String>,
    /// The legal basis in plain words, with its article.
    pub legal_basis: String,
    /// How long it is kept, in plain words.
    pub retention: String,
    /// Who receives the data besides the organisation.
    pub recipients: Vec<String>,
    /// Where the data comes from.
    pub source: String,
    /// Whether it may be taken to another organisation (art. 20).
    pub portable: bool,
    /// Special category data (art. 9), such as health.
    pub special_category: bool,
}

/// Why the person asks for their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum ExportPurpose {
    /// Art. 15: everything held about them.
    Access,
    /// Art. 20: only what they may take to another organisation (categories marked
    /// `portable`).
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

/// The person's wallet: their connections with organisations, each with its own keys,
/// kept in the app's `KeyStore`. Calls that wait for an organisation take a `timeout`:
/// after it they fail with `WalletError.Timeout`, and the wallet stays usable.
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
    /// A wallet whose connections live in `store`. Make one per store and share it: its
    /// calls may run at once, from any thread.
    #[uniffi::constructor]
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self(core::Wallet::new(Arc::new(Bridge(store))))
    }

    /// Redeems `uri`, the connect URI from the organisation's QR code, with fresh keys and
    /// waits up to a minute for the code to show the person. The connection is kept,
    /// `Pending`, until `wait_connected` sees the organisation confirm it.
    pub async fn connect(&self, uri: String) -> Result<PendingConnection, WalletError> {
        Ok(settled(self.0.connect(uri)).await?)
    }

    /// Waits up to `timeout` until the organisation confirms the code; the connection is
    /// then `Connected`. After `WalletError.Timeout` it stays pending: call again. Fails with
    /// `WalletError.PairingCancelled` when the organisation cancels the pairing.
    pub async fn wait_connected(&self, connection_id: String, timeout: Duration) -> Result<(), WalletError> {
        Ok(settled(self.0.wait_connected(connection_id, seconds(timeout))).await?)
    }

    /// Every connection this wallet holds, in any state.
    pub fn connections(&self) -> Result<Vec<ConnectionSummary>, WalletError> {
        Ok(self.0.connections()?)
    }

    /// What the organisation holds and why: categories with their art. 15 information.
    /// Waits up to `timeout` for its answer through the relay.
    pub async fn catalogue(&self, connection_id: String, timeout: Duration) -> Result<Catalogue, WalletError> {
        Ok(settled(self.0.catalogue(connection_id, seconds(timeout))).await?)
    }

    /// Downloads the person's data; returns the bundle once it verified against the
    /// organisation's keys and the connection's account. `categories`: ids from the
    /// catalogue, `None` for all. Waits up to `timeout` for the answer through the relay.
    pub async fn request_export(
        &self,
        connection_id: String,
        purpose: ExportPurpose,
        categories: Option<Vec<String>>,
        timeout: Duration,
    ) -> Result<Bundle, WalletError> {
        Ok(settled(self.0.request_export(connection_id, purpose.into(), categories, seconds(timeout))).await?)
    }

    /// Downloads the person's data as a zip package into the file `path` (which must not
    /// exist), for data too large for a compact JWS; returns once it verified there. A file
    /// that does not verify, or whose call fails or is cancelled, is deleted. `categories`:
    /// ids, `None` for all. `timeout` bounds the wait for the answer, not the download.
    pub async fn download_package(
        &self,
        connection_id: String,
        purpose: ExportPurpose,
        categories: Option<Vec<String>>,
        path: String,
        timeout: Duration,
    ) -> Result<Package, WalletError> {
        Ok(settled(self.0.download_package(connection_id, purpose.into(), categories, path, seconds(timeout))).await?)
    }

    /// Verifies `token`, a bundle's compact JWS (`Bundle.token`), against the keys of the
    /// organisation behind `connection_id` and the connection's account, offline. Fails
    /// with `WalletError.BadBundle` when it does not verify.
    pub fn verify(&self, connection_id: String, token: String) -> Result<Bundle, WalletError> {
        Ok(self.0.verify(connection_id, token)?)
    }

    /// Verifies a zip package in the file `path` (a download kept earlier, or one received
    /// elsewhere): the organisation's keys, every file's digest, and the connection's
    /// account. Fails with `WalletError.BadBundle` when it does not verify.
    pub fn verify_package(&self, connection_id: String, path: String) -> Result<Package, WalletError> {
        Ok(self.0.verify_package(connection_id, path)?)
    }

    /// Forwards `bundle` (a compact JWS, `Bundle.token`, as signed) to the organisation
    /// whose trust-framework id is `to_controller_id`; returns its receipt once it verified
    /// and stored the bundle. Uses the wallet's connection to it if there is one, else a
    /// single-use one. Waits up to `timeout` for its answer through the relay.
    pub async fn forward(
        &self,
        bundle: String,
        to_controller_id: String,
        timeout: Duration,
    ) -> Result<ImportReceipt, WalletError> {
        Ok(settled(self.0.forward(bundle, to_controller_id, seconds(timeout))).await?)
    }

    /// Files a rights request (art. 15-22 GDPR) and returns its acknowledgement: number,
    /// due date and whom to contact. Waits up to `timeout` for it through the relay; the
    /// same form sent again the same (UTC) day is the same request, so a retry is safe.
    pub async fn submit_request(
        &self,
        connection_id: String,
        form: RequestForm,
        timeout: Duration,
    ) -> Result<TrackedRequest, WalletError> {
        Ok(settled(self.0.submit_request(connection_id, form, seconds(timeout))).await?)
    }

    /// Downloads a fresh bundle of the categories the verified receipt of rectification
    /// `request_number` says were corrected, and checks that it shows each corrected record
    /// with the digest the receipt names: the correction seen, not taken on trust.
    /// `request_number` is the `TrackedRequest.number` of a rectification whose receipt
    /// verified (else `WalletError.InvalidInput`). Waits up to `timeout` for the bundle.
    pub async fn confirm_correction(
        &self,
        connection_id: String,
        request_number: String,
        timeout: Duration,
    ) -> Result<CorrectionProof, WalletError> {
        Ok(settled(self.0.confirm_correction(connection_id, request_number, seconds(timeout))).await?)
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
    /// Acknowledges each receipt that verified to its organisation, once. Nothing of this
    /// happens unless it is called: call it regularly (on start, on resume).
    pub async fn events(&self) -> Result<Vec<WalletEvent>, WalletError> {
        Ok(settled(self.0.events()).await?)
    }

    /// Ends the connection and marks it `Revoked`; the organisation learns of it. The
    /// connection stays listed.
    pub async fn revoke(&self, connection_id: String) -> Result<(), WalletError> {
        Ok(settled(self.0.revoke(connection_id)).await?)
    }
}
