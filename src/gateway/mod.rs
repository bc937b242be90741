//! The gateway's domain, apart from HTTP: pairing wallets, exports, imports of forwarded
//! bundles and the messages wallets send. HTTP handlers, the inbox poller, the CLI and the
//! demo all call [`Gateway`], naming a [`Caller`]; the domain enforces who may see what.
//! Nothing here knows axum, the API or the server's composition.

mod action_runner;
mod audit_trail;
mod authority_draft;
mod breach_procedure;
mod breaches;
mod caller;
mod export_package;
mod exports;
mod imports;
pub(crate) mod inbox_poller;
pub(crate) mod outbox_worker;
mod pairing;
pub(crate) mod qr;
mod request_actions;
mod request_notices;
mod request_receipts;
mod request_referrals;
mod request_register;
mod request_workflow;
mod retention;
mod rights_requests;
mod source_retention;
mod subject_erasure;
mod wallet_messages;
mod written_requests;

use std::path::PathBuf;
use std::sync::Arc;

pub use action_runner::CARRIED_OUT;
pub use audit_trail::{
    AuditError, AuditRules, CHECKPOINT_TYP, CheckpointClaims, CheckpointHead, MAX_CHECKPOINT_BYTES,
    MAX_SIGN_IN_FAILURES_PER_MINUTE, verify_checkpoint,
};
pub use authority_draft::{AuthorityNotificationDraft, DraftCategory};
pub use breach_procedure::{
    AUTHORITY_DEADLINE_SECS, BreachAnswers, BreachOutcome, BreachQuestion, BreachRole, CLOCK_WARNINGS_SECS, ClockState,
    Decision,
};
pub use breaches::{
    Breach, BreachError, BreachFacts, MAX_APPROXIMATE_COUNT, MAX_BREACH_CATEGORIES, MAX_BREACH_TEXT_CHARS,
    MAX_SUBJECTS_PER_NOTIFICATION, PeopleNotified,
};
pub use caller::Caller;
pub use export_package::PackageError;
pub use exports::{ExportError, ExportRequest, MAX_JWT_RECORDS_BYTES, MAX_REQUESTED_CATEGORIES, PreparedExport};
pub use outbox_worker::{
    CLAIM_BATCH, OUTBOX_POLL, RETRY_AFTER_SECS, SETTLED_NOTICE_RETENTION_SECS, WEBHOOK_TIMEOUT,
    sign as webhook_signature,
};
pub use pairing::{CODE_DIGITS, Created, MAX_CODE_ATTEMPTS, PairingError, STATUS_TOKEN_GRACE_SECS};
pub use request_actions::{MAX_ACTION_NOTE_CHARS, TaskResult, WHOLE_REQUEST};
pub use request_notices::MAX_WALLETS_TOLD;
pub use request_referrals::MAX_CONTROLLER_ID_CHARS;
pub use request_register::RequestGauges;
pub use request_workflow::{CriterionStatus, MAX_NOTE_CHARS, PhasePlan, WorkflowStatus};
pub use retention::{HoldError, MAX_HOLD_REASON_CHARS, MAX_UPCOMING_LISTED, RETENTION_BATCH, Upcoming};
pub use rights_requests::{
    Filed, IDENTIFICATION_PENDING, INTAKE_PHASE, MAX_DETAILS_CHARS, MAX_PROPOSED_BYTES, MAX_RECORD_ID_CHARS,
    MAX_REQUEST_CATEGORIES, NewRequest, RequestError, RequestRules,
};
pub use source_retention::{
    MAX_SOURCE_SUBJECTS_LISTED, SourceRetention, SubjectPastRetention, Tally, check_source_retention,
};
pub use wallet_messages::MessageError;
pub use written_requests::{
    DOCUMENT_MEDIA_TYPES, Document, MAX_RECEIPT_AGE_DAYS, MAX_WRITTEN_TEXT_CHARS, WrittenRequest,
};

use crate::clock::Clock;
use crate::config::{RetentionConfig, WebhookEndpoint};
use crate::connectors::Connectors;
use crate::http::wakeup::Hub;
use crate::inventory::processing_register::ProcessingRegister;
use crate::inventory::{Category, Inventory, NoticeCategory, PrivacyNotice};
use crate::keys::Keyring;
use crate::relay_client::RelayClient;
use crate::store::action_store::ActionStore;
use crate::store::audit_store::AuditStore;
use crate::store::breach_store::BreachStore;
use crate::store::document_store::DocumentStore;
use crate::store::erasure_store::ErasureStore;
use crate::store::export_store::ExportStore;
use crate::store::import_store::ImportStore;
use crate::store::outbox_store::OutboxStore;
use crate::store::pairing_store::PairingStore;
use crate::store::request_store::RequestStore;
use crate::store::retention_store::RetentionStore;
use crate::store::{Db, StoreError};
use crate::trust::Trust;

/// Everything the domain needs, built once by `serve` and shared by every caller.
pub struct Gateway {
    keyring: Keyring,
    connectors: Connectors,
    inventory: Inventory,
    notice: PrivacyNotice,
    register: ProcessingRegister,
    /// The relay client, acting with the controller's active signing key.
    relay: RelayClient,
    /// The trust list forwarded bundles are verified against; `None` when the relay is
    /// external and no operator JWKS is pinned, so imports are refused.
    trust: Option<Arc<Trust>>,
    db: Db,
    exports: ExportStore,
    pairings: PairingStore,
    imports: ImportStore,
    requests: RequestStore,
    actions: ActionStore,
    erasures: ErasureStore,
    audits: AuditStore,
    breaches: BreachStore,
    retention: RetentionConfig,
    retention_store: RetentionStore,
    audit_rules: AuditRules,
    /// Refused staff tokens this minute, for the trail's limit.
    sign_in_failures: std::sync::Mutex<audit_trail::FailureWindow>,
    request_rules: RequestRules,
    phase_plan: PhasePlan,
    outbox: OutboxStore,
    documents: DocumentStore,
    /// Wakes the outbox worker when this instance wrote notices.
    outbox_wake: tokio::sync::Notify,
    webhooks: Vec<WebhookEndpoint>,
    /// For webhook endpoints: no redirects (a receiver cannot send us elsewhere), a deadline.
    webhook_client: reqwest::Client,
    /// Wakes pairing event streams when a pairing changes.
    pairing_hub: Arc<Hub<String>>,
    pairing_lifetime_secs: u64,
    clock: Arc<dyn Clock>,
    /// Where temporary spool files go: beside the keys, never in a shared /tmp.
    spool_dir: PathBuf,
}

/// What [`Gateway::new`] is built from.
pub struct GatewayParts {
    pub keyring: Keyring,
    pub connectors: Connectors,
    pub inventory: Inventory,
    pub notice: PrivacyNotice,
    pub register: ProcessingRegister,
    pub relay: RelayClient,
    pub trust: Option<Arc<Trust>>,
    pub db: Db,
    pub pairing_lifetime_secs: u64,
    pub request_rules: RequestRules,
    pub phase_plan: PhasePlan,
    pub audit_rules: AuditRules,
    pub retention: RetentionConfig,
    pub webhooks: Vec<WebhookEndpoint>,
    /// Built by [`webhook_client`]: no redirects, a deadline.
    pub webhook_client: reqwest::Client,
    pub clock: Arc<dyn Clock>,
    pub spool_dir: PathBuf,
}

/// The client webhooks are sent with: it follows no redirect (a receiver cannot send the
/// gateway elsewhere) and gives up after [`WEBHOOK_TIMEOUT`].
pub fn webhook_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(WEBHOOK_TIMEOUT)
        .build()
        .map_err(|e| format!("the webhook client: {e}"))
}

impl Gateway {
    pub fn new(parts: GatewayParts) -> Self {
        let db = parts.db;
        Self {
            keyring: parts.keyring,
            connectors: parts.connectors,
            inventory: parts.inventory,
            notice: parts.notice,
            register: parts.register,
            relay: parts.relay,
            trust: parts.trust,
            exports: ExportStore::new(db.clone()),
            pairings: PairingStore::new(db.clone()),
            imports: ImportStore::new(db.clone()),
            requests: RequestStore::new(db.clone()),
            actions: ActionStore::new(db.clone()),
            erasures: ErasureStore::new(db.clone()),
            audits: AuditStore::new(db.clone()),
            breaches: BreachStore::new(db.clone()),
            retention: parts.retention,
            retention_store: RetentionStore::new(db.clone()),
            audit_rules: parts.audit_rules,
            sign_in_failures: std::sync::Mutex::default(),
            request_rules: parts.request_rules,
            phase_plan: parts.phase_plan,
            outbox: OutboxStore::new(db.clone()),
            documents: DocumentStore::new(db.clone()),
            outbox_wake: tokio::sync::Notify::new(),
            webhooks: parts.webhooks,
            webhook_client: parts.webhook_client,
            db,
            pairing_hub: Arc::default(),
            pairing_lifetime_secs: parts.pairing_lifetime_secs,
            clock: parts.clock,
            spool_dir: parts.spool_dir,
        }
    }

    /// The controller's keys: signing keys for the JWKS, encryption keys for discovery.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The privacy notice generated from the inventory, as published and bundled.
    pub fn notice(&self) -> &PrivacyNotice {
        &self.notice
    }

    /// The art. 30 register generated from the inventory: staff only (any role).
    pub fn processing_register(&self, caller: &Caller) -> Option<&ProcessingRegister> {
        caller.reads_register().then_some(&self.register)
    }

    /// The relay client, acting as this controller.
    pub fn relay(&self) -> &RelayClient {
        &self.relay
    }

    /// The database, for readiness checks and for tests that look at raw rows.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Where temporary files go: inside the data dir, never a shared /tmp.
    pub fn spool_dir(&self) -> &std::path::Path {
        &self.spool_dir
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Succeeds when the database answers a query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    /// The sources that cannot be reached now, with why.
    pub async fn unreachable_sources(&self) -> Vec<(String, crate::connectors::ConnectorError)> {
        self.connectors.unreachable().await
    }

    /// Ends every pairing event stream, for shutdown.
    pub fn close_event_streams(&self) {
        self.pairing_hub.close();
    }

    /// The art. 15 information of `category`, as published in the privacy notice.
    fn notice_category(&self, category: &Category) -> NoticeCategory {
        self.notice
            .categories
            .iter()
            .find(|c| c.id == category.id)
            .cloned()
            // The notice is built from this same inventory, so every category is in it.
            .unwrap_or_else(|| {
                NoticeCategory::new(category, &category.source, self.inventory.recipient_names(category))
            })
    }
}
