//! Pairing a wallet with a subject's account: a QR code carries a connect token; when a
//! wallet redeems it at the relay, the wallet is sent a 6-digit code over the encrypted
//! channel; the person types it into the logged-in portal; only a right code binds the
//! connection to `subject_ref`. Three wrong codes, the deadline, or the portal end it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Caller, Gateway};
use crate::http::wakeup::Woken;
use crate::jose::jwe;
use crate::protocol::message::{self, Body, Message};
use crate::protocol::relay_wire::{
    ConnectToken, ConnectUri, ConnectionInfo, ConnectionOrigin, RegisterToken, is_valid_id,
};
use crate::protocol::{ErrorCode, SubjectRef};
use crate::relay_client::RelayError;
use crate::store::StoreError;
use crate::store::audit_chain::NewAuditEntry;
use crate::store::pairing_store::{Connection, Pairing, PairingState};

/// Wrong codes before a pairing is cancelled.
pub const MAX_CODE_ATTEMPTS: u32 = 3;
/// Digits in a confirmation code.
pub const CODE_DIGITS: usize = 6;
/// Overdue pairings ended per pass of the inbox poller.
const EXPIRY_BATCH: u32 = 100;
/// `cty` of a connect token sealed to our own key.
const SEALED_TOKEN_CTY: &str = "gdpr-connect-token";
/// How long a status token outlives its pairing's deadline, so a page can still read how
/// the pairing ended.
pub const STATUS_TOKEN_GRACE_SECS: u64 = 300;
/// Random bytes in a status token.
const STATUS_TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PairingError {
    #[error("no such pairing")]
    NotFound,
    /// A status token that does not open the pairing asked for (wrong, another's, lapsed).
    #[error("the status token does not open this pairing")]
    StatusTokenRefused,
    #[error("the wallet has not scanned the code yet")]
    NotScanned,
    #[error("the pairing has ended: {0}")]
    Closed(&'static str),
    #[error("wrong code; {attempts_left} attempts left")]
    WrongCode { attempts_left: u32 },
    #[error("the code must be {CODE_DIGITS} digits")]
    MalformedCode,
    #[error("relay: {0}")]
    Relay(#[from] RelayError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// A new pairing with its connect URI (the token is in it; shown once, then only as QR)
/// and its status token (shown once; the gateway keeps its SHA-256).
pub struct Created {
    pub pairing: Pairing,
    pub connect_uri: String,
    pub status_token: String,
}

impl Gateway {
    /// Creates a pairing for `caller` and registers its token's digest at the relay.
    pub async fn create_pairing(&self, caller: &Caller, subject: &SubjectRef) -> Result<Created, PairingError> {
        if !caller.changes_pairings() {
            return Err(PairingError::NotFound);
        }
        let (client_id, subject_ref) = (caller.register_name(), subject.as_str());
        let now = self.clock.now();
        let token = ConnectToken::generate();
        let expires_at = now + self.pairing_lifetime_secs;
        self.relay.register_token(&RegisterToken { token_sha256: token.sha256_hex(), expires_at }).await?;
        let sealed =
            jwe::encrypt(self.keyring.active_encryption().public_jwk(), SEALED_TOKEN_CTY, token.encode().as_bytes())
                .map_err(|e| PairingError::Internal(e.to_string()))?;
        let mut status = [0u8; STATUS_TOKEN_BYTES];
        OsRng.fill_bytes(&mut status);
        let status_token = crate::jose::b64::encode(status);
        let pairing = Pairing {
            id: uuid::Uuid::new_v4().simple().to_string(),
            client_id,
            subject_ref: subject_ref.to_owned(),
            token_sha256: token.sha256_hex(),
            sealed_token: Some(sealed),
            status_sha256: Some(crate::config::TokenDigest::of(&status_token).to_hex()),
            state: PairingState::Pending,
            code_sha256: None,
            failed_attempts: 0,
            connection_id: None,
            wallet_signing_jwk: None,
            wallet_encryption_jwk: None,
            created_at: now,
            expires_at,
            updated_at: now,
        };
        let entry =
            self.audit_entry(caller, "pairing.created", vec![pairing_object(&pairing.id)], Some(subject_ref), None);
        self.pairings.insert(&pairing, &[entry]).await?;
        let connect_uri =
            ConnectUri { relay: self.relay.base().to_owned(), token, operator: self.operator_pin() }.to_link();
        Ok(Created { pairing, connect_uri, status_token })
    }

    /// The caller's pairing, after ending it as `expired` if its time is up. Another portal
    /// client's pairing is `NotFound`, as if it did not exist, and so is one whose status
    /// token has lapsed.
    pub async fn pairing(&self, caller: &Caller, id: &str) -> Result<Pairing, PairingError> {
        // Ownership first: another client's call must not even end the pairing.
        let viewer = matches!(caller, Caller::PairingViewer { .. });
        // A status token is a credential: whatever it fails to open, it is refused as one.
        let refused = if viewer { PairingError::StatusTokenRefused } else { PairingError::NotFound };
        let pairing = match self.row(id).await {
            Err(PairingError::NotFound) => return Err(refused),
            other => other?,
        };
        let lapsed = viewer && self.clock.now() >= pairing.expires_at.saturating_add(STATUS_TOKEN_GRACE_SECS);
        if !caller.reads_pairing(&pairing) || lapsed {
            return Err(refused);
        }
        self.expire_if_due(pairing).await
    }

    /// The pairing whoever made it, after ending it as `expired` if its time is up.
    async fn load(&self, id: &str) -> Result<Pairing, PairingError> {
        let pairing = self.row(id).await?;
        self.expire_if_due(pairing).await
    }

    async fn row(&self, id: &str) -> Result<Pairing, PairingError> {
        if !is_valid_id(id) {
            return Err(PairingError::NotFound);
        }
        self.pairings.by_id(id).await?.ok_or(PairingError::NotFound)
    }

    /// Ends `pairing` as `expired` when its time is up, and returns it as it is now.
    async fn expire_if_due(&self, pairing: Pairing) -> Result<Pairing, PairingError> {
        let id = pairing.id.clone();
        if !pairing.state.is_final() && self.clock.now() >= pairing.expires_at {
            let objects = vec![pairing_object(&id)];
            let entry = self.audit_entry_by("gateway", "pairing.expired", objects, Some(&pairing.subject_ref), None);
            self.close(&pairing, PairingState::Expired, "the pairing expired", entry).await?;
            return self.pairings.by_id(&id).await?.ok_or(PairingError::NotFound);
        }
        Ok(pairing)
    }

    /// The caller's pairing now and after each change, ending after a final state. Between
    /// changes it waits on the pairing's wake-up or its expiry; on a shared database it
    /// also re-reads on a timer (`Db::recheck_interval`), since other instances cannot wake it.
    pub async fn pairing_changes(
        self: &Arc<Self>,
        caller: &Caller,
        id: &str,
    ) -> Result<BoxStream<'static, Pairing>, PairingError> {
        self.pairing(caller, id).await?;
        let subscription = self.pairing_hub.subscribe(id.to_owned());
        let cursor = Some((self.clone(), id.to_owned(), subscription, None));
        let changes = futures_util::stream::unfold(cursor, |cursor| async move {
            let (gateway, id, subscription, last) = cursor?;
            loop {
                let armed = subscription.armed();
                let pairing = match gateway.load(&id).await {
                    Ok(pairing) => pairing,
                    Err(e) => {
                        tracing::warn!(pairing = %id, "pairing changes: {e}");
                        return None;
                    }
                };
                if last != Some(pairing.state) {
                    drop(armed);
                    let state = pairing.state;
                    let next = (!state.is_final()).then_some((gateway, id, subscription, Some(state)));
                    return Some((pairing, next));
                }
                let until_expiry = Duration::from_secs(pairing.expires_at.saturating_sub(gateway.clock.now()).max(1));
                let recheck = gateway.db.recheck_interval();
                if armed.wait(until_expiry, recheck).await == Woken::Closing {
                    return None;
                }
            }
        });
        Ok(changes.boxed())
    }

    /// The connect URI of the caller's pairing, while its QR code may still be shown.
    pub async fn pairing_connect_uri(&self, caller: &Caller, id: &str) -> Result<String, PairingError> {
        let pairing = self.pairing(caller, id).await?;
        self.connect_uri(&pairing).await
    }

    /// The connect URI of a pairing whose QR code may still be shown; callers have checked
    /// the pairing is theirs.
    pub(crate) async fn connect_uri(&self, pairing: &Pairing) -> Result<String, PairingError> {
        let sealed = match (&pairing.state, &pairing.sealed_token) {
            (PairingState::Pending, Some(sealed)) => sealed,
            (PairingState::Scanned, _) => return Err(PairingError::Closed("the code was scanned already")),
            _ => return Err(PairingError::Closed(pairing.state.as_str())),
        };
        let keys: Vec<_> = self.keyring.encryption_keys().collect();
        let opened = jwe::decrypt(sealed.as_bytes(), &keys, 4096).map_err(|e| PairingError::Internal(e.to_string()))?;
        let text = std::str::from_utf8(&opened.plaintext).map_err(|e| PairingError::Internal(e.to_string()))?;
        let token = ConnectToken::parse(text).map_err(|e| PairingError::Internal(e.to_string()))?;
        Ok(ConnectUri { relay: self.relay.base().to_owned(), token, operator: self.operator_pin() }.to_link())
    }

    /// The trust list operator's key pin for connect URIs, when this gateway knows the operator.
    fn operator_pin(&self) -> Option<String> {
        self.trust.as_ref().and_then(|trust| trust.operator_pin())
    }

    /// The relay says a wallet redeemed one of our tokens: send it the code, or end the
    /// connection if its pairing is gone.
    pub(crate) async fn on_connected(&self, connection: &ConnectionInfo) -> Result<(), PairingError> {
        if connection.origin == ConnectionOrigin::Wallet {
            // Opened by a wallet to forward something; its messages say what it wants.
            return Ok(());
        }
        let Some(pairing) = self.pairings.by_token(&connection.token_sha256).await? else {
            tracing::warn!(connection = %connection.connection_id, "a wallet redeemed a token of no pairing; revoking");
            return self.revoke_at_relay(&connection.connection_id).await;
        };
        let code = new_code();
        let digest = code_digest(&pairing.id, &code);
        let now = self.clock.now();
        let (signing, encryption) = (&connection.wallet_signing_jwk, &connection.wallet_encryption_jwk);
        let sent_before = pairing.connection_id.as_deref() == Some(connection.connection_id.as_str());
        let stored = if sent_before {
            // Delivered again: the earlier code may never have reached the wallet (the post
            // failed, or we stopped in between). A fresh code replaces it.
            self.pairings.replace_code(&pairing.id, &connection.connection_id, &digest, now).await?
        } else {
            self.pairings
                .mark_scanned(&pairing.id, &connection.connection_id, &digest, signing, encryption, now)
                .await?
        };
        if !stored {
            if sent_before {
                return Ok(()); // Ended meanwhile; closing it revoked the connection.
            }
            tracing::info!(pairing = %pairing.id, "a wallet redeemed the token of an ended pairing; revoking");
            return self.revoke_at_relay(&connection.connection_id).await;
        }
        self.pairing_hub.notify(&pairing.id);
        let body = Body::PairingCode { code, expires_at: pairing.expires_at };
        self.send(&connection.connection_id, &connection.wallet_encryption_jwk, body).await
    }

    /// The relay says the wallet revoked a connection: end it here too, and end a pairing
    /// still waiting for its code.
    pub(crate) async fn on_revoked(&self, connection_id: &str) -> Result<(), PairingError> {
        let now = self.clock.now();
        let actor = Caller::wallet(connection_id).audit_name();
        let subject = self.pairings.connection(connection_id).await?.map(|c| c.subject_ref);
        let objects = vec![format!("connection:{connection_id}")];
        let entry = self.audit_entry_by(&actor, "connection.revoked", objects, subject.as_deref(), None);
        if self.pairings.revoke_connection(connection_id, now, &[entry]).await? {
            tracing::info!(connection = %connection_id, "the wallet revoked its connection");
        }
        if let Some(pairing) = self.pairings.by_connection(connection_id).await? {
            let objects = vec![pairing_object(&pairing.id)];
            let entry = self.audit_entry_by(&actor, "pairing.cancelled", objects, Some(&pairing.subject_ref), None);
            if self.pairings.close(&pairing.id, PairingState::Cancelled, now, &[entry]).await? {
                self.pairing_hub.notify(&pairing.id);
            }
        }
        Ok(())
    }

    /// Checks the code the person typed into the caller's portal.
    pub async fn confirm_pairing(&self, caller: &Caller, id: &str, code: &str) -> Result<Pairing, PairingError> {
        if !caller.changes_pairings() {
            return Err(PairingError::NotFound);
        }
        let pairing = self.pairing(caller, id).await?;
        if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PairingError::MalformedCode);
        }
        match pairing.state {
            PairingState::Scanned => {}
            PairingState::Pending => return Err(PairingError::NotScanned),
            other => return Err(PairingError::Closed(other.as_str())),
        }
        let (Some(expected), Some(connection_id), Some(signing), Some(encryption)) =
            (&pairing.code_sha256, &pairing.connection_id, &pairing.wallet_signing_jwk, &pairing.wallet_encryption_jwk)
        else {
            return Err(PairingError::Internal(format!("scanned pairing {id} lacks its connection")));
        };
        let now = self.clock.now();
        // The attempt is spent before the comparison, so concurrent guesses cannot test more
        // than MAX_CODE_ATTEMPTS codes between them.
        let Some(used) = self.pairings.take_attempt(id, MAX_CODE_ATTEMPTS, now).await? else {
            let again = self.load(id).await?;
            return Err(PairingError::Closed(again.state.as_str()));
        };
        let right: bool = code_digest(id, code).as_bytes().ct_eq(expected.as_bytes()).into();
        if !right {
            let attempts_left = MAX_CODE_ATTEMPTS.saturating_sub(used);
            self.pairing_hub.notify(&pairing.id);
            if attempts_left == 0 {
                let objects = vec![pairing_object(&pairing.id)];
                let detail = Some("three wrong confirmation codes".to_owned());
                let entry = self.audit_entry(caller, "pairing.cancelled", objects, Some(&pairing.subject_ref), detail);
                self.close(&pairing, PairingState::Cancelled, "three wrong confirmation codes", entry).await?;
            }
            return Err(PairingError::WrongCode { attempts_left });
        }
        let connection = Connection {
            id: connection_id.clone(),
            subject_ref: pairing.subject_ref.clone(),
            pairing_id: pairing.id.clone(),
            wallet_signing_jwk: signing.clone(),
            wallet_encryption_jwk: encryption.clone(),
            active: true,
            created_at: now,
            revoked_at: None,
        };
        let objects = vec![pairing_object(&pairing.id), format!("connection:{connection_id}")];
        let entry = self.audit_entry(caller, "pairing.confirmed", objects, Some(&pairing.subject_ref), None);
        if !self.pairings.bind(&pairing, &connection, now, &[entry]).await? {
            let again = self.load(id).await?;
            return Err(PairingError::Closed(again.state.as_str()));
        }
        self.pairing_hub.notify(&pairing.id);
        if let Err(e) =
            self.send(connection_id, encryption, Body::PairingConfirmed { subject: pairing.subject_ref.clone() }).await
        {
            tracing::warn!(pairing = %pairing.id, "connected, but telling the wallet failed: {e}");
        }
        self.load(id).await
    }

    /// The portal cancels its pairing; a wallet that scanned it is told and disconnected.
    pub async fn cancel_pairing(&self, caller: &Caller, id: &str) -> Result<Pairing, PairingError> {
        if !caller.changes_pairings() {
            return Err(PairingError::NotFound);
        }
        let pairing = self.pairing(caller, id).await?;
        if pairing.state.is_final() {
            return Err(PairingError::Closed(pairing.state.as_str()));
        }
        let entry =
            self.audit_entry(caller, "pairing.cancelled", vec![pairing_object(id)], Some(&pairing.subject_ref), None);
        if !self.close(&pairing, PairingState::Cancelled, "the portal cancelled the pairing", entry).await? {
            let again = self.load(id).await?;
            return Err(PairingError::Closed(again.state.as_str()));
        }
        self.load(id).await
    }

    /// Ends overdue pairings; the inbox poller calls this between polls.
    pub(crate) async fn expire_overdue(&self) -> Result<usize, PairingError> {
        let ids = self.pairings.overdue(self.clock.now(), EXPIRY_BATCH).await?;
        for id in &ids {
            self.load(id).await?;
        }
        Ok(ids.len())
    }

    /// The subject's wallet connections, newest first.
    pub async fn connections_of(
        &self,
        caller: &Caller,
        subject: &SubjectRef,
        limit: u32,
    ) -> Result<Vec<Connection>, PairingError> {
        if !caller.acts_for_organisation() {
            return Ok(Vec::new());
        }
        Ok(self.pairings.connections_of(subject.as_str(), limit).await?)
    }

    /// Revokes a subject's connection: the wallet is told (signed), then the relay ends it.
    pub async fn revoke_connection(&self, caller: &Caller, subject: &SubjectRef, id: &str) -> Result<(), PairingError> {
        let subject_ref = subject.as_str();
        if !caller.acts_for_organisation() || !is_valid_id(id) {
            return Err(PairingError::NotFound);
        }
        let connection = self.pairings.connection(id).await?.filter(|c| c.subject_ref == subject_ref);
        let connection = connection.ok_or(PairingError::NotFound)?;
        let entry =
            self.audit_entry(caller, "connection.revoked", vec![format!("connection:{id}")], Some(subject_ref), None);
        if !self.pairings.revoke_connection(id, self.clock.now(), &[entry]).await? {
            return Err(PairingError::Closed("revoked"));
        }
        if let Err(e) = self.send(id, &connection.wallet_encryption_jwk, Body::ConnectionRevoked {}).await {
            tracing::warn!(connection = %id, "could not tell the wallet of the revocation: {e}");
        }
        self.revoke_at_relay(id).await
    }

    /// Ends `pairing` as `to`, with the trail's `entry`; false when it had ended meanwhile.
    async fn close(
        &self,
        pairing: &Pairing,
        to: PairingState,
        reason: &str,
        entry: NewAuditEntry,
    ) -> Result<bool, PairingError> {
        if !self.pairings.close(&pairing.id, to, self.clock.now(), &[entry]).await? {
            return Ok(false);
        }
        self.pairing_hub.notify(&pairing.id);
        if let (Some(connection_id), Some(encryption)) = (&pairing.connection_id, &pairing.wallet_encryption_jwk) {
            self.tell_and_revoke(connection_id, encryption, reason).await;
        }
        Ok(true)
    }

    /// Best effort: the pairing has ended whatever the relay says.
    async fn tell_and_revoke(&self, connection_id: &str, encryption: &crate::jose::OkpPublicJwk, reason: &str) {
        let body = Body::PairingCancelled { reason: reason.to_owned() };
        if let Err(e) = self.send(connection_id, encryption, body).await {
            tracing::warn!(connection = %connection_id, "could not tell the wallet the pairing ended: {e}");
        }
        if let Err(e) = self.revoke_at_relay(connection_id).await {
            tracing::warn!(connection = %connection_id, "could not revoke the connection at the relay: {e}");
        }
    }

    async fn revoke_at_relay(&self, connection_id: &str) -> Result<(), PairingError> {
        match self.relay.revoke(connection_id).await {
            Err(e) if e.is(ErrorCode::ConnectionRevoked) => Ok(()),
            other => Ok(other?),
        }
    }

    /// Signs `body` with the controller's key and posts it, sealed, to the wallet.
    pub(crate) async fn send(
        &self,
        connection_id: &str,
        to: &crate::jose::OkpPublicJwk,
        body: Body,
    ) -> Result<(), PairingError> {
        let message = Message::new(connection_id, self.clock.now(), body);
        let sealed = message::seal(self.keyring.active_signing(), to, &message)
            .map_err(|e| PairingError::Internal(e.to_string()))?;
        self.relay.post(connection_id, &sealed).await?;
        Ok(())
    }
}

/// A uniformly random code of [`CODE_DIGITS`] digits (rejection sampling, no modulo bias).
fn new_code() -> String {
    const SPAN: u32 = 1_000_000;
    let limit = u32::MAX - u32::MAX % SPAN;
    loop {
        let n = OsRng.next_u32();
        if n < limit {
            return format!("{:06}", n % SPAN);
        }
    }
}

/// What is stored of a code: SHA-256 over the pairing id and the code, hex.
fn code_digest(pairing_id: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{pairing_id}:{code}").as_bytes()))
}

/// How the audit trail names a pairing.
fn pairing_object(id: &str) -> String {
    format!("pairing:{id}")
}
