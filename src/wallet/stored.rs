//! The wallet's stored connections: what the key store keeps per connection (keys, the
//! organisation's trust-list entry, state, account), and reading it back.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ConnectionState, MAX_ENTRY_BYTES, Wallet, WalletError};
use crate::jose::{OkpPublicJwk, PrivateOkpJwk, SigningKeyPair};
use crate::protocol::rights::RequestStatus;
use crate::protocol::trust_list::Entry;
use crate::relay_client::RelayClient;

/// What the key store holds for one connection.
#[derive(Serialize, Deserialize)]
pub(super) struct Stored {
    pub(super) connection_id: String,
    pub(super) relay: String,
    pub(super) controller: Entry,
    pub(super) signing: PrivateOkpJwk,
    pub(super) encryption: PrivateOkpJwk,
    pub(super) state: ConnectionState,
    pub(super) created_at: u64,
    /// The organisation's reference for the person's account, told on confirmation: the
    /// `sub` every bundle on this connection must carry.
    #[serde(default)]
    pub(super) subject: Option<String>,
    /// The trust list operator's key, pinned by the connect URI's `op`: controller entries
    /// the relay hands over on this relay are checked against the list it signs.
    #[serde(default)]
    pub(super) operator: Option<OkpPublicJwk>,
    /// The person's rights requests with this organisation, as last told of each.
    #[serde(default)]
    pub(super) requests: Vec<StoredRequest>,
    /// Signed breach notices from the organisation that verified, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) breach_notices: Vec<String>,
}

/// A rights request as the organisation last told of it, with what the wallet made of its
/// receipt. Stored as the status's own members plus the wallet's, so entries written
/// before receipts existed (a bare status) read back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredRequest {
    #[serde(flatten)]
    pub(super) status: RequestStatus,
    /// The status's receipt verified against the organisation's pinned keys and is about
    /// this request, this organisation and this account.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) receipt_verified: bool,
    /// The organisation was told it arrived (`receipt.ack`); sent once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) receipt_acknowledged: bool,
    /// Why the receipt did not verify; it is kept, never acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) receipt_problem: Option<String>,
}

impl Wallet {
    /// A connection the organisation confirmed; anything else is refused here, before the
    /// relay sees a request.
    pub(super) fn connected(&self, connection_id: &str) -> Result<Stored, WalletError> {
        let stored = self.load(connection_id)?;
        match stored.state {
            ConnectionState::Connected => Ok(stored),
            ConnectionState::Revoked => Err(WalletError::Revoked),
            ConnectionState::Pending => Err(WalletError::NotConfirmed),
        }
    }

    /// Every connection the store holds that reads back; an unreadable entry is skipped
    /// here (listing it names the error).
    pub(super) fn all_stored(&self) -> Result<Vec<Stored>, WalletError> {
        Ok(self.store.names()?.iter().filter_map(|name| self.load(name).ok()).collect())
    }

    pub(super) fn ended(&self, stored: Stored, error: WalletError) -> WalletError {
        let _saving = super::inbox::lock(&self.saving);
        // Read again under the lock: what was tracked since `stored` was read stays.
        let mut current = self.load(&stored.connection_id).unwrap_or(stored);
        current.state = ConnectionState::Revoked;
        self.save(&current).err().unwrap_or(error)
    }

    /// Reads a stored connection, changes it and writes it back, with no other change to
    /// it in between.
    pub(super) fn update(&self, connection_id: &str, change: impl FnOnce(&mut Stored)) -> Result<(), WalletError> {
        let _saving = super::inbox::lock(&self.saving);
        let mut stored = self.load(connection_id)?;
        change(&mut stored);
        self.save(&stored)
    }

    pub(super) fn client(&self, stored: &Stored) -> Result<RelayClient, WalletError> {
        Ok(RelayClient::new(&stored.relay, Arc::new(self.signing(stored)?), self.clock.clone())?)
    }

    pub(super) fn signing(&self, stored: &Stored) -> Result<SigningKeyPair, WalletError> {
        SigningKeyPair::from_jwk(&stored.signing).map_err(|e| WalletError::Storage(e.to_string()))
    }

    pub(super) fn load(&self, connection_id: &str) -> Result<Stored, WalletError> {
        let bytes = self
            .store
            .load(connection_id.to_owned())?
            .ok_or_else(|| WalletError::UnknownConnection(connection_id.to_owned()))?;
        serde_json::from_slice(&bytes).map_err(|e| WalletError::Storage(format!("{connection_id}: {e}")))
    }

    pub(super) fn save(&self, stored: &Stored) -> Result<(), WalletError> {
        let bytes = serde_json::to_vec(stored).map_err(|e| WalletError::Storage(e.to_string()))?;
        // An entry over the cap would never read back: refuse it here, the old one stays.
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            let (id, size) = (&stored.connection_id, bytes.len());
            return Err(WalletError::Storage(format!("{id}: {size} bytes is more than an entry holds")));
        }
        self.store.save(stored.connection_id.clone(), bytes)
    }
}
