//! The wallet, platform-free: fresh keys per connection, pairing, and requests over the
//! relay. Every message from an organisation is opened with the connection's key, checked
//! against the organisation's keys from its trust-list entry, and dropped if its id was
//! seen before. `mobile-sdk` wraps it for Kotlin, Swift and Python; `gdpr-gateway demo`
//! and the CLI wallet use it as it is.

mod breach_notices;
mod catalogue;
mod corrections;
mod downloads;
mod inbox;
mod keystore;
mod pinning;
mod receipts;
mod request_tracking;
mod stored;
mod wallet_error;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bundle::{self, Purpose};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::jose::{EncryptionKeyPair, SigningKeyPair};
use crate::protocol::message::Body;
use crate::protocol::relay_wire::{ConnectRequest, ConnectUri};
use crate::relay_client::RelayClient;
use crate::relay_client::blob_transfer::{self, TransferError};
use serde::{Deserialize, Serialize};

pub use crate::protocol::rights::{Remedies, RequestKind, RequestState, RequestUpdate};
pub use breach_notices::{BreachNoticeView, MAX_BREACH_NOTICES};
pub use catalogue::{Catalogue, CatalogueCategory};
pub use corrections::{CorrectedRecord, CorrectionProof};
pub use downloads::{MAX_PACKAGE_BYTES, Package};
pub use keystore::{FileKeyStore, KeyStore, MAX_ENTRY_BYTES};
pub use receipts::ReceiptOutcome;
pub use request_tracking::{MAX_TRACKED_REQUESTS, RequestForm, TrackedRequest};

use downloads::{Delivered, RemoveOnDrop, bundle_issued_by, summary};
use inbox::new_request_id;
use stored::Stored;
pub use wallet_error::WalletError;

/// How long [`Wallet::connect`] waits for the confirmation code.
pub const CODE_WAIT: Duration = Duration::from_secs(60);
/// Most message ids remembered per wallet for the replay check.
pub const MAX_SEEN_IDS: usize = 10_000;
/// Most events kept until [`Wallet::events`] collects them; older ones are dropped.
pub const MAX_EVENTS: usize = 1000;
/// Most answers kept for requests another call waits for.
pub const MAX_PARKED: usize = 100;
/// How often a waiting call looks for its answer among those another reader parked.
pub const PARKED_RECHECK: Duration = Duration::from_secs(2);

/// Where a connection is, as the wallet sees it. Exhaustive, like [`WalletError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Redeemed; waiting for the person to type the code into the portal.
    Pending,
    /// The organisation confirmed: the connection is bound to the person's account.
    Connected,
    /// Ended by either side.
    Revoked,
}

/// A connection that waits for the person to type `code` into the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingConnection {
    pub connection_id: String,
    pub controller_id: String,
    pub controller_name: String,
    /// Show this to the person.
    pub code: String,
}

/// A connection as listed to the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSummary {
    pub connection_id: String,
    pub controller_id: String,
    pub controller_name: String,
    pub state: ConnectionState,
    pub created_at: Timestamp,
}

/// A signed bundle that verified against its issuer's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The compact JWS, byte for byte as signed: forward or save it as it is.
    pub token: String,
    pub issuer: String,
    /// The issuer's reference for the person (`sub`).
    pub subject: String,
    pub bundle_id: String,
    pub categories: Vec<String>,
}

pub struct Wallet {
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    seen: Mutex<HashSet<String>>,
    events: Mutex<VecDeque<WalletEvent>>,
    /// Answers read by one call for a request another call waits for, by request id.
    parked: Mutex<HashMap<String, Body>>,
    /// Requests some call is waiting for the answer to.
    waiting: Mutex<HashSet<String>>,
    /// Held while a stored connection is read, changed and written back.
    saving: Mutex<()>,
}

/// Something that happened on a connection outside a call's own answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletEvent {
    pub connection_id: String,
    pub kind: EventKind,
    pub detail: String,
}

/// What kind of event. Exhaustive, like [`WalletError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The organisation ended the connection.
    Revoked,
    /// An item from the relay was refused: it did not open, did not verify, was for
    /// another connection, was too old, or was seen before. Nothing of it was kept.
    Refused,
    /// A message arrived that answers nothing the wallet is waiting for, or a request's
    /// receipt did not verify (kept unverified, never acknowledged).
    Unexpected,
    /// The connection's mailbox could not be read (relay away, key store trouble).
    Unreachable,
    /// One of the person's rights requests moved on: acknowledged, extended, closed or
    /// refused. [`Wallet::requests`] has it, with the receipt of one that ended.
    Request,
    /// An organisation reports a personal data breach that touched the person's data;
    /// [`Wallet::breach_notices`] has its signed notice.
    Breach,
}

impl Wallet {
    /// A wallet on an injected clock (tests).
    pub fn with_clock(store: Arc<dyn KeyStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            seen: Mutex::new(HashSet::new()),
            events: Mutex::new(VecDeque::new()),
            parked: Mutex::new(HashMap::new()),
            waiting: Mutex::new(HashSet::new()),
            saving: Mutex::new(()),
        }
    }
}

/// The wallet's API; `mobile-sdk` exposes the same calls through UniFFI.
impl Wallet {
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    /// Redeems the connect URI from a QR code with fresh keys and waits for the code the
    /// person must type into the portal.
    pub async fn connect(&self, uri: String) -> Result<PendingConnection, WalletError> {
        let uri = ConnectUri::parse(&uri).map_err(|e| WalletError::InvalidUri(e.to_string()))?;
        let (signing, encryption) = (SigningKeyPair::generate(), EncryptionKeyPair::generate());
        let client = RelayClient::new(&uri.relay, Arc::new(signing.clone()), self.clock.clone())?;
        let request = ConnectRequest { token: uri.token.encode(), encryption_jwk: encryption.public_jwk().clone() };
        let connected = client.connect(&request).await?;
        let operator = match &uri.operator {
            None => None,
            Some(pin) => {
                let checked = self.check_entry_pinned(&client, pin, &connected.controller).await;
                match checked {
                    Ok(key) => Some(key),
                    Err(e) => {
                        // A relay that lied gets no connection to keep.
                        let _ = client.revoke(&connected.connection_id).await;
                        return Err(e);
                    }
                }
            }
        };
        let stored = Stored {
            connection_id: connected.connection_id.clone(),
            relay: uri.relay.clone(),
            controller: connected.controller,
            signing: signing.to_jwk(),
            encryption: encryption.to_jwk(),
            state: ConnectionState::Pending,
            created_at: self.clock.now(),
            subject: None,
            operator,
            requests: Vec::new(),
            breach_notices: Vec::new(),
        };
        self.save(&stored)?;
        let deadline = Instant::now() + CODE_WAIT;
        loop {
            match self.next_message(&stored, deadline).await? {
                Body::PairingCode { code, .. } => {
                    return Ok(PendingConnection {
                        connection_id: stored.connection_id.clone(),
                        controller_id: stored.controller.id.clone(),
                        controller_name: stored.controller.name.clone(),
                        code,
                    });
                }
                Body::PairingCancelled { reason } => {
                    return Err(self.ended(stored, WalletError::PairingCancelled(reason)));
                }
                _ => {}
            }
        }
    }

    /// Waits up to `timeout_secs` until the organisation confirms the code (or the pairing
    /// ends).
    pub async fn wait_connected(&self, connection_id: String, timeout_secs: u64) -> Result<(), WalletError> {
        let stored = self.load(&connection_id)?;
        let deadline = Instant::now() + Duration::from_secs(timeout_secs);
        loop {
            match self.next_message(&stored, deadline).await? {
                Body::PairingConfirmed { subject } => {
                    return self.update(&connection_id, |stored| {
                        stored.state = ConnectionState::Connected;
                        stored.subject = Some(subject);
                    });
                }
                Body::PairingCancelled { reason } => {
                    return Err(self.ended(stored, WalletError::PairingCancelled(reason)));
                }
                Body::ConnectionRevoked {} => return Err(self.ended(stored, WalletError::Revoked)),
                _ => {}
            }
        }
    }

    /// Every connection this wallet holds.
    pub fn connections(&self) -> Result<Vec<ConnectionSummary>, WalletError> {
        let mut out = Vec::new();
        for name in self.store.names()? {
            let stored = self.load(&name)?;
            out.push(ConnectionSummary {
                connection_id: stored.connection_id,
                controller_id: stored.controller.id,
                controller_name: stored.controller.name,
                state: stored.state,
                created_at: Timestamp(stored.created_at),
            });
        }
        Ok(out)
    }

    /// Asks the organisation for the person's data and returns the bundle once it verified
    /// against the organisation's keys.
    pub async fn request_export(
        &self,
        connection_id: String,
        purpose: Purpose,
        categories: Option<Vec<String>>,
        timeout_secs: u64,
    ) -> Result<Bundle, WalletError> {
        let stored = self.connected(&connection_id)?;
        let request_id = new_request_id();
        let body = Body::ExportRequest { request_id: request_id.clone(), purpose, categories, format: None };
        self.send(&stored, body).await?;
        let answer = self.answer(&stored, &request_id, timeout_secs, |body| match body {
            Body::ExportBundle { bundle, .. } => Some(Delivered::Inline(bundle)),
            Body::ExportBundleBlob { blob, .. } => Some(Delivered::Blob(blob)),
            _ => None,
        });
        let token = match answer.await? {
            Delivered::Inline(token) => token,
            Delivered::Blob(blob) => {
                let client = self.client(&stored)?;
                let plaintext = blob_transfer::fetch(&client, &connection_id, &blob, bundle::MAX_JWT_BYTES as u64)
                    .await
                    .map_err(|e| match e {
                        TransferError::Relay(e) => WalletError::from(e),
                        other => WalletError::BadBundle(other.to_string()),
                    })?;
                String::from_utf8(plaintext).map_err(|_| WalletError::BadBundle("the blob is not a JWS".into()))?
            }
        };
        self.verify(connection_id, token)
    }

    /// Downloads the person's data as the zip package (JSON, CSV and a readable page per
    /// category, with a detached signature) into the file `path`, for data too large for a
    /// compact JWS. The package streams to the file and is verified there against the
    /// organisation's keys and the connection's account; a file that fails is deleted.
    pub async fn download_package(
        &self,
        connection_id: String,
        purpose: Purpose,
        categories: Option<Vec<String>>,
        path: String,
        timeout_secs: u64,
    ) -> Result<Package, WalletError> {
        let stored = self.connected(&connection_id)?;
        // Claimed before asking, so a path in use costs the organisation nothing.
        let storage = |e: std::io::Error| WalletError::Storage(format!("{path}: {e}"));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(storage)?;
        // Removed unless it verified, also when the caller gives up on this future.
        let mut unverified = RemoveOnDrop(Some(path.clone()));
        let package = self.download_into(&stored, purpose, categories, &mut file, &path, timeout_secs).await?;
        unverified.0 = None;
        Ok(package)
    }

    /// Verifies a bundle against the keys of the organisation behind `connection_id`, and
    /// that it is about the account the connection is bound to.
    pub fn verify(&self, connection_id: String, token: String) -> Result<Bundle, WalletError> {
        let stored = self.load(&connection_id)?;
        let verified = bundle::verify_jwt_summary(token.as_bytes(), &stored.controller.jwks)
            .map_err(|e| WalletError::BadBundle(e.to_string()))?;
        let claims = &verified;
        if claims.iss != stored.controller.id {
            return Err(WalletError::BadBundle(format!("issued by {:?}, not {:?}", claims.iss, stored.controller.id)));
        }
        match &stored.subject {
            Some(subject) if *subject == claims.sub => {}
            Some(subject) => {
                return Err(WalletError::BadBundle(format!(
                    "the bundle is about {:?}, not this connection's account {subject:?}",
                    claims.sub
                )));
            }
            None => {
                return Err(WalletError::BadBundle("this connection is bound to no account yet".into()));
            }
        }
        Ok(summary(token, &verified))
    }

    /// Verifies a zip package in the file `path`, as [`Wallet::verify`] does a compact
    /// bundle: the organisation's keys and the connection's account.
    pub fn verify_package(&self, connection_id: String, path: String) -> Result<Package, WalletError> {
        let stored = self.load(&connection_id)?;
        self.package_at(&stored, &path)
    }

    /// What the organisation holds about people and why: its categories with their
    /// art. 15 information (purposes, legal basis, retention, recipients, source).
    pub async fn catalogue(&self, connection_id: String, timeout_secs: u64) -> Result<Catalogue, WalletError> {
        let stored = self.connected(&connection_id)?;
        let request_id = new_request_id();
        self.send(&stored, Body::CatalogueRequest { request_id: request_id.clone() }).await?;
        let notice = self.answer(&stored, &request_id, timeout_secs, |body| match body {
            Body::Catalogue { notice, .. } => Some(notice),
            _ => None,
        });
        let notice = notice.await?;
        if notice.controller.id != stored.controller.id {
            let (theirs, ours) = (&notice.controller.id, &stored.controller.id);
            return Err(WalletError::Protocol(format!("the catalogue is {theirs:?}'s, not {ours:?}'s")));
        }
        Ok(Catalogue::from(*notice))
    }

    /// Forwards a bundle, as it was signed, to another organisation of the trust
    /// framework, and returns its receipt once that organisation verified and stored it.
    /// A bundle from an organisation this wallet knows is verified here first. Goes over
    /// a connection to `to_controller_id` when the wallet has one; otherwise over a
    /// connection opened for this forward alone, closed afterwards.
    pub async fn forward(
        &self,
        bundle: String,
        to_controller_id: String,
        timeout_secs: u64,
    ) -> Result<ImportReceipt, WalletError> {
        let all = self.all_stored()?;
        self.check_known_issuer(&bundle, &all)?;
        let bound = all.iter().find(|s| s.controller.id == to_controller_id && s.state == ConnectionState::Connected);
        let (stored, opened) = match bound {
            Some(stored) => (self.load(&stored.connection_id)?, false),
            None => {
                // Over the relay the bundle's issuer uses, else any this wallet knows.
                let issuer = all.iter().find(|s| bundle_issued_by(&bundle, s)).or_else(|| all.first());
                let via = issuer.ok_or_else(|| {
                    WalletError::UnknownController(format!("{to_controller_id}: this wallet knows no relay yet"))
                })?;
                (self.open_to(&via.relay, via.operator.as_ref(), &to_controller_id).await?, true)
            }
        };
        let request_id = new_request_id();
        let sent = self.offer(&stored, request_id.clone(), bundle).await;
        let answer = match sent {
            Ok(()) => {
                let wait = self.answer(&stored, &request_id, timeout_secs, |body| match body {
                    Body::ImportAccepted { import_id, .. } => Some(import_id),
                    _ => None,
                });
                wait.await
            }
            Err(e) => Err(e),
        };
        if opened {
            // Single use: close it whatever the outcome, without letting that hide it.
            if let Ok(client) = self.client(&stored) {
                let _ = client.revoke(&stored.connection_id).await;
            }
        }
        Ok(ImportReceipt {
            import_id: answer?,
            controller_id: stored.controller.id.clone(),
            controller_name: stored.controller.name.clone(),
        })
    }

    /// Reads what waits on every confirmed connection (a revocation by the organisation is
    /// applied at once) and returns, oldest first, everything that happened outside a
    /// call's own answer since the last call: revocations, items refused with the reason,
    /// messages nobody waited for, updates to rights requests. Then tells each
    /// organisation of the receipts that verified since (`receipt.ack`, once per receipt;
    /// one that could not be sent is sent on a later call).
    pub async fn events(&self) -> Result<Vec<WalletEvent>, WalletError> {
        for stored in self.all_stored()? {
            if stored.state == ConnectionState::Connected {
                self.drain(&stored).await;
                self.acknowledge_receipts(&stored.connection_id).await;
            }
        }
        let mut log = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(log.drain(..).collect())
    }

    /// Ends the connection at the relay; the organisation learns of it.
    pub async fn revoke(&self, connection_id: String) -> Result<(), WalletError> {
        let stored = self.load(&connection_id)?;
        match self.client(&stored)?.revoke(&connection_id).await {
            Ok(()) | Err(crate::relay_client::RelayError::Refused { status: 410, .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.update(&connection_id, |stored| stored.state = ConnectionState::Revoked)
    }
}

/// A controller's receipt for a forwarded bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReceipt {
    /// The id under which the receiving organisation stored the bundle.
    pub import_id: String,
    pub controller_id: String,
    pub controller_name: String,
}
