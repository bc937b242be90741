//! The wallet, platform-free: fresh keys per connection, pairing, and requests over the
//! relay. Every message from an organisation is opened with the connection's key, checked
//! against the organisation's keys from its trust-list entry, and dropped if its id was
//! seen before. `mobile-sdk` wraps it for Kotlin, Swift and Python; `gdpr-gateway demo`
//! and the CLI wallet use it as it is.

mod catalogue;
mod keystore;
mod wallet_error;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bundle::{self, BundleError, Purpose};
use crate::clock::{Clock, SystemClock};
use crate::jose::jwk::thumbprint;
use crate::jose::jws::JwsError;
use crate::jose::{Curve, OkpPublicJwk};
use crate::jose::{EncryptionKeyPair, Jwks, PrivateOkpJwk, SigningKeyPair};
use crate::protocol::message::{self, Body, BundleForm, Message};
use crate::protocol::relay_wire::{ConnectRequest, ConnectUri, ItemKind, MAX_WAIT_SECS, MailboxItem, OpenConnection};
use crate::protocol::trust_list::{Entry, TrustList};
use crate::protocol::{ErrorCode, RemoteErrorCode};
use crate::relay_client::RelayClient;
use crate::relay_client::blob_transfer::{self, TransferError};
use serde::{Deserialize, Serialize};

pub use catalogue::{Catalogue, CatalogueCategory};
pub use keystore::{FileKeyStore, KeyStore, MAX_ENTRY_BYTES};
pub use wallet_error::WalletError;

use catalogue::answer_to;

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

/// What the key store holds for one connection.
#[derive(Serialize, Deserialize)]
struct Stored {
    connection_id: String,
    relay: String,
    controller: Entry,
    signing: PrivateOkpJwk,
    encryption: PrivateOkpJwk,
    state: ConnectionState,
    created_at: u64,
    /// The organisation's reference for the person's account, told on confirmation: the
    /// `sub` every bundle on this connection must carry.
    #[serde(default)]
    subject: Option<String>,
    /// The trust list operator's key, pinned by the connect URI's `op`: controller entries
    /// the relay hands over on this relay are checked against the list it signs.
    #[serde(default)]
    operator: Option<OkpPublicJwk>,
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
    pub created_at: u64,
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
    /// A message arrived that answers nothing the wallet is waiting for.
    Unexpected,
    /// The connection's mailbox could not be read (relay away, key store trouble).
    Unreachable,
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
        let mut stored = self.load(&connection_id)?;
        let deadline = Instant::now() + Duration::from_secs(timeout_secs);
        loop {
            match self.next_message(&stored, deadline).await? {
                Body::PairingConfirmed { subject } => {
                    stored.state = ConnectionState::Connected;
                    stored.subject = Some(subject);
                    return self.save(&stored);
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
                created_at: stored.created_at,
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
    /// messages nobody waited for.
    pub async fn events(&self) -> Result<Vec<WalletEvent>, WalletError> {
        for stored in self.all_stored()? {
            if stored.state == ConnectionState::Connected {
                self.drain(&stored).await;
            }
        }
        let mut log = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(log.drain(..).collect())
    }

    /// Reads what waits on one connection without waiting; trouble with it is an event,
    /// never a reason to skip the other connections.
    async fn drain(&self, stored: &Stored) {
        let connection_id = stored.connection_id.clone();
        let event = |kind, detail: String| WalletEvent { connection_id: connection_id.clone(), kind, detail };
        let read = async {
            let client = self.client(stored)?;
            let encryption =
                EncryptionKeyPair::from_jwk(&stored.encryption).map_err(|e| WalletError::Storage(e.to_string()))?;
            for item in client.messages(&stored.connection_id, 0).await? {
                client.ack(&stored.connection_id, &item.id).await?;
                match self.accept(stored, &encryption, item) {
                    Some(Body::ConnectionRevoked {}) => return Err(WalletError::Revoked),
                    Some(body) => self.park_or_log(stored, body),
                    None => {}
                }
            }
            Ok(())
        };
        match read.await {
            Ok(()) => {}
            // Told by the organisation, or by the relay once the last word was read.
            Err(WalletError::Revoked) => {
                let ended = self.load(&connection_id).map(|saved| self.ended(saved, WalletError::Revoked));
                match ended {
                    Ok(WalletError::Revoked) => {
                        self.log(event(EventKind::Revoked, "the organisation ended the connection".into()));
                    }
                    Ok(e) | Err(e) => self.log(event(EventKind::Unreachable, e.to_string())),
                }
            }
            Err(e) => self.log(event(EventKind::Unreachable, e.to_string())),
        }
    }

    /// Ends the connection at the relay; the organisation learns of it.
    pub async fn revoke(&self, connection_id: String) -> Result<(), WalletError> {
        let mut stored = self.load(&connection_id)?;
        match self.client(&stored)?.revoke(&connection_id).await {
            Ok(()) | Err(crate::relay_client::RelayError::Refused { status: 410, .. }) => {}
            Err(e) => return Err(e.into()),
        }
        stored.state = ConnectionState::Revoked;
        self.save(&stored)
    }
}

/// Deletes a file when dropped, unless disarmed.
struct RemoveOnDrop(Option<String>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Largest zip package a wallet downloads.
pub const MAX_PACKAGE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A zip package that verified, in the file it was downloaded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub path: String,
    pub issuer: String,
    pub subject: String,
    pub bundle_id: String,
    pub categories: Vec<String>,
}

/// A controller's receipt for a forwarded bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReceipt {
    /// The id under which the receiving organisation stored the bundle.
    pub import_id: String,
    pub controller_id: String,
    pub controller_name: String,
}

/// How a bundle arrived.
enum Delivered {
    Inline(String),
    Blob(crate::protocol::blob::BlobRef),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn new_request_id() -> String {
    use rand_core::{OsRng, RngCore};
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    hex::encode(id)
}

fn summary(token: String, verified: &bundle::VerifiedSummary) -> Bundle {
    Bundle {
        issuer: verified.iss.clone(),
        subject: verified.sub.clone(),
        bundle_id: verified.jti.clone(),
        categories: verified.categories.iter().map(|c| c.id.clone()).collect(),
        token,
    }
}

fn bundle_issued_by(token: &str, stored: &Stored) -> bool {
    bundle::verify_jwt_summary(token.as_bytes(), &stored.controller.jwks).is_ok_and(|v| v.iss == stored.controller.id)
}

impl Wallet {
    /// A connection the organisation confirmed; anything else is refused here, before the
    /// relay sees a request.
    fn connected(&self, connection_id: &str) -> Result<Stored, WalletError> {
        let stored = self.load(connection_id)?;
        match stored.state {
            ConnectionState::Connected => Ok(stored),
            ConnectionState::Revoked => Err(WalletError::Revoked),
            ConnectionState::Pending => Err(WalletError::NotConfirmed),
        }
    }

    /// Every connection the store holds that reads back; an unreadable entry is skipped
    /// here (listing it names the error).
    fn all_stored(&self) -> Result<Vec<Stored>, WalletError> {
        Ok(self.store.names()?.iter().filter_map(|name| self.load(name).ok()).collect())
    }

    /// When the bundle claims a signing key of an organisation this wallet knows, it must
    /// verify under it: a tampered bundle is refused before it leaves the phone.
    fn check_known_issuer(&self, token: &str, all: &[Stored]) -> Result<(), WalletError> {
        let keys = Jwks { keys: all.iter().flat_map(|s| s.controller.jwks.keys.iter().cloned()).collect() };
        match bundle::verify_jwt_summary(token.as_bytes(), &keys) {
            Ok(verified) => {
                let owner = all.iter().find(|s| s.controller.jwks.find(&verified.kid).is_some());
                match owner {
                    Some(owner) if owner.controller.id == verified.iss => Ok(()),
                    _ => Err(WalletError::BadBundle(format!("signed with a key that is not {:?}'s", verified.iss))),
                }
            }
            // An organisation this wallet has not met: the receiver checks it against the
            // trust list.
            Err(BundleError::Jws(JwsError::UnknownKid(_))) => Ok(()),
            Err(e) => Err(WalletError::BadBundle(e.to_string())),
        }
    }

    async fn download_into(
        &self,
        stored: &Stored,
        purpose: Purpose,
        categories: Option<Vec<String>>,
        file: &mut std::fs::File,
        path: &str,
        timeout_secs: u64,
    ) -> Result<Package, WalletError> {
        let request_id = new_request_id();
        let body =
            Body::ExportRequest { request_id: request_id.clone(), purpose, categories, format: Some(BundleForm::Zip) };
        self.send(stored, body).await?;
        let answer = self.answer(stored, &request_id, timeout_secs, |body| match body {
            Body::ExportPackageBlob { blob, .. } => Some(blob),
            _ => None,
        });
        let blob = answer.await?;
        let client = self.client(stored)?;
        let blob = &blob;
        let fetched = blob_transfer::fetch_into(&client, &stored.connection_id, blob, MAX_PACKAGE_BYTES, file).await;
        fetched.map_err(|e| match e {
            TransferError::Relay(e) => WalletError::from(e),
            TransferError::Write(e) => WalletError::Storage(format!("{path}: {e}")),
            other => WalletError::BadBundle(other.to_string()),
        })?;
        file.sync_all().map_err(|e| WalletError::Storage(format!("{path}: {e}")))?;
        let reader = std::fs::File::open(path).map_err(|e| WalletError::Storage(format!("{path}: {e}")))?;
        let verified =
            bundle::package::verify_package(std::io::BufReader::new(reader), &stored.controller.jwks, &mut |_| {})
                .map_err(|e| WalletError::BadBundle(e.to_string()))?;
        let claims = verified.claims;
        if claims.iss != stored.controller.id {
            return Err(WalletError::BadBundle(format!("issued by {:?}, not {:?}", claims.iss, stored.controller.id)));
        }
        if stored.subject.as_deref() != Some(claims.sub.as_str()) {
            return Err(WalletError::BadBundle(format!(
                "the package is about {:?}, not this connection's account",
                claims.sub
            )));
        }
        Ok(Package {
            path: path.to_owned(),
            issuer: claims.iss,
            subject: claims.sub,
            bundle_id: claims.jti,
            categories: claims.package.categories.into_iter().map(|c| c.id).collect(),
        })
    }

    /// Opens a single-use connection to a listed controller, kept in memory only.
    async fn open_to(
        &self,
        relay: &str,
        operator: Option<&OkpPublicJwk>,
        controller_id: &str,
    ) -> Result<Stored, WalletError> {
        let (signing, encryption) = (SigningKeyPair::generate(), EncryptionKeyPair::generate());
        let client = RelayClient::new(relay, Arc::new(signing.clone()), self.clock.clone())?;
        let request =
            OpenConnection { controller_id: controller_id.to_owned(), encryption_jwk: encryption.public_jwk().clone() };
        let connected = match client.open_connection(&request).await {
            Ok(connected) => connected,
            Err(e) if e.is(ErrorCode::ControllerNotListed) => {
                return Err(WalletError::UnknownController(controller_id.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        if connected.controller.id != controller_id {
            let _ = client.revoke(&connected.connection_id).await;
            return Err(WalletError::UnknownController(controller_id.to_owned()));
        }
        if let Some(key) = operator {
            if let Err(e) = self.check_entry(&client, key, &connected.controller).await {
                let _ = client.revoke(&connected.connection_id).await;
                return Err(e);
            }
        }
        Ok(Stored {
            connection_id: connected.connection_id,
            relay: relay.to_owned(),
            controller: connected.controller,
            signing: signing.to_jwk(),
            encryption: encryption.to_jwk(),
            state: ConnectionState::Connected,
            created_at: self.clock.now(),
            subject: None,
            operator: operator.cloned(),
        })
    }

    /// Finds the operator key the pin names among those the relay serves, and checks the
    /// controller entry against the list it signed; returns the key to keep.
    async fn check_entry_pinned(
        &self,
        client: &RelayClient,
        pin: &str,
        entry: &Entry,
    ) -> Result<OkpPublicJwk, WalletError> {
        let served = client.operator_jwks().await?;
        let key =
            served.keys.into_iter().find(|k| k.crv == Curve::Ed25519 && thumbprint(k.crv, &k.x) == pin).ok_or_else(
                || WalletError::UntrustedRelay("it serves no operator key with the pinned thumbprint".into()),
            )?;
        self.check_entry(client, &key, entry).await?;
        Ok(key)
    }

    /// The relay's controller entry must be the one the operator's signed trust list holds:
    /// otherwise the relay could hand out keys of its own and read what the wallet sends.
    async fn check_entry(
        &self,
        client: &RelayClient,
        operator: &OkpPublicJwk,
        entry: &Entry,
    ) -> Result<(), WalletError> {
        let token = client.trust_list().await?;
        let keys = Jwks { keys: vec![operator.clone()] };
        let list = TrustList::verify(token.trim().as_bytes(), &keys, self.clock.now())
            .map_err(|e| WalletError::UntrustedRelay(format!("its trust list does not verify: {e}")))?;
        match list.controller(&entry.id) {
            Ok(listed) if listed == entry => Ok(()),
            Ok(_) => Err(WalletError::UntrustedRelay(format!("its keys for {} are not the trust list's", entry.id))),
            Err(_) => Err(WalletError::UntrustedRelay(format!("{} is not in the signed trust list", entry.id))),
        }
    }

    /// Waits for the answer to `request_id`: what `pick` takes from it, or the refusal.
    async fn answer<T>(
        &self,
        stored: &Stored,
        request_id: &str,
        timeout_secs: u64,
        pick: impl Fn(Body) -> Option<T>,
    ) -> Result<T, WalletError> {
        lock(&self.waiting).insert(request_id.to_owned());
        let answer = self.wait_for(stored, request_id, timeout_secs, pick).await;
        lock(&self.waiting).remove(request_id);
        lock(&self.parked).remove(request_id);
        answer
    }

    async fn wait_for<T>(
        &self,
        stored: &Stored,
        request_id: &str,
        timeout_secs: u64,
        pick: impl Fn(Body) -> Option<T>,
    ) -> Result<T, WalletError> {
        let deadline = Instant::now() + Duration::from_secs(timeout_secs);
        loop {
            // Another reader of this mailbox (`events`, another call) parks answers it is
            // not waiting for; look there between short polls.
            let parked = lock(&self.parked).remove(request_id);
            let body = match parked {
                Some(body) => body,
                None => {
                    let poll = deadline.min(Instant::now() + PARKED_RECHECK);
                    match self.next_message(stored, poll).await {
                        Ok(body) => body,
                        Err(WalletError::Timeout) if Instant::now() < deadline => continue,
                        Err(e) => return Err(e),
                    }
                }
            };
            match &body {
                Body::RequestRefused { request_id: id, error_code, detail } if id == request_id => {
                    let code = RemoteErrorCode::parse(error_code);
                    return Err(WalletError::Refused { code, detail: detail.clone() });
                }
                Body::ConnectionRevoked {} => {
                    // A single-use connection was never saved; nothing to mark.
                    return Err(match self.load(&stored.connection_id) {
                        Ok(saved) => self.ended(saved, WalletError::Revoked),
                        Err(_) => WalletError::Revoked,
                    });
                }
                _ => {}
            }
            if answer_to(&body) == Some(request_id) {
                let kind = body.type_name();
                match pick(body) {
                    Some(found) => return Ok(found),
                    None => {
                        let detail = format!("{kind} is no answer to request {request_id}");
                        let connection_id = stored.connection_id.clone();
                        self.log(WalletEvent { connection_id, kind: EventKind::Unexpected, detail });
                    }
                }
            } else {
                self.park_or_log(stored, body);
            }
        }
    }

    /// Keeps an answer to a request another call waits for; logs anything else.
    fn park_or_log(&self, stored: &Stored, body: Body) {
        if let Some(request_id) = answer_to(&body).filter(|id| lock(&self.waiting).contains(*id)).map(str::to_owned) {
            let mut parked = lock(&self.parked);
            if parked.len() < MAX_PARKED {
                parked.insert(request_id, body);
                return;
            }
        }
        let detail = format!("{} arrived unasked", body.type_name());
        self.log(WalletEvent { connection_id: stored.connection_id.clone(), kind: EventKind::Unexpected, detail });
    }

    /// Offers a bundle for import, in the message or, when too large, as a blob.
    async fn offer(&self, stored: &Stored, request_id: String, bundle: String) -> Result<(), WalletError> {
        if message::bundle_fits(bundle.len()) {
            return self.send(stored, Body::ImportOffer { request_id, bundle }).await;
        }
        let blob = blob_transfer::send(&self.client(stored)?, &stored.connection_id, bundle.into_bytes()).await?;
        self.send(stored, Body::ImportOfferBlob { request_id, blob }).await
    }

    async fn send(&self, stored: &Stored, body: Body) -> Result<(), WalletError> {
        let signing = self.signing(stored)?;
        let to =
            stored.controller.encryption_jwks.keys.first().ok_or_else(|| {
                WalletError::Protocol("the organisation's trust-list entry has no encryption key".into())
            })?;
        let message = Message::new(&stored.connection_id, self.clock.now(), body);
        let sealed = message::seal(&signing, to, &message).map_err(|e| WalletError::Storage(e.to_string()))?;
        self.client(stored)?.post(&stored.connection_id, &sealed).await?;
        Ok(())
    }

    /// The next message from the organisation on this connection. Items that do not open,
    /// do not verify, or were seen before are acknowledged and skipped.
    async fn next_message(&self, stored: &Stored, deadline: Instant) -> Result<Body, WalletError> {
        let client = self.client(stored)?;
        let encryption =
            EncryptionKeyPair::from_jwk(&stored.encryption).map_err(|e| WalletError::Storage(e.to_string()))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WalletError::Timeout);
            }
            let wait = left.as_secs().clamp(1, MAX_WAIT_SECS);
            for item in client.messages(&stored.connection_id, wait).await? {
                client.ack(&stored.connection_id, &item.id).await?;
                if let Some(body) = self.accept(stored, &encryption, item) {
                    return Ok(body);
                }
            }
        }
    }

    /// Opens one mailbox item; what cannot be trusted is logged as a refusal and skipped.
    fn accept(&self, stored: &Stored, encryption: &EncryptionKeyPair, item: MailboxItem) -> Option<Body> {
        let refuse = |detail: String| {
            self.log(WalletEvent { connection_id: stored.connection_id.clone(), kind: EventKind::Refused, detail });
            None
        };
        let Some(envelope) = item.body.filter(|_| item.kind == ItemKind::Envelope) else {
            return refuse(format!("the relay delivered a {:?} item where a message belongs", item.kind.as_str()));
        };
        let now = self.clock.now();
        let opened =
            message::open(envelope.as_bytes(), &[encryption], &stored.controller.jwks, &stored.connection_id, now);
        match opened {
            Err(e) => refuse(format!("a message that cannot be trusted: {e}")),
            Ok(message) if !self.first_sight(&message.jti) => {
                refuse(format!("a message seen before was dropped (jti {:?}): a replay or a redelivery", message.jti))
            }
            Ok(message) => Some(message.body),
        }
    }

    fn log(&self, event: WalletEvent) {
        let mut log = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if log.len() >= MAX_EVENTS {
            log.pop_front();
        }
        log.push_back(event);
    }

    fn first_sight(&self, jti: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_SEEN_IDS {
            seen.clear();
        }
        seen.insert(jti.to_owned())
    }

    fn ended(&self, mut stored: Stored, error: WalletError) -> WalletError {
        stored.state = ConnectionState::Revoked;
        self.save(&stored).err().unwrap_or(error)
    }

    fn client(&self, stored: &Stored) -> Result<RelayClient, WalletError> {
        Ok(RelayClient::new(&stored.relay, Arc::new(self.signing(stored)?), self.clock.clone())?)
    }

    fn signing(&self, stored: &Stored) -> Result<SigningKeyPair, WalletError> {
        SigningKeyPair::from_jwk(&stored.signing).map_err(|e| WalletError::Storage(e.to_string()))
    }

    fn load(&self, connection_id: &str) -> Result<Stored, WalletError> {
        let bytes = self
            .store
            .load(connection_id.to_owned())?
            .ok_or_else(|| WalletError::UnknownConnection(connection_id.to_owned()))?;
        serde_json::from_slice(&bytes).map_err(|e| WalletError::Storage(format!("{connection_id}: {e}")))
    }

    fn save(&self, stored: &Stored) -> Result<(), WalletError> {
        let bytes = serde_json::to_vec(stored).map_err(|e| WalletError::Storage(e.to_string()))?;
        self.store.save(stored.connection_id.clone(), bytes)
    }
}
