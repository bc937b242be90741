//! Checking the relay against the trust list operator pinned by the connect URI, and
//! opening single-use connections to forward a bundle, checked the same way.

use std::sync::Arc;

use super::stored::Stored;
use super::{ConnectionState, Wallet, WalletError};
use crate::jose::jwk::thumbprint;
use crate::jose::{Curve, EncryptionKeyPair, Jwks, OkpPublicJwk, SigningKeyPair};
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::OpenConnection;
use crate::protocol::trust_list::{Entry, TrustList};
use crate::relay_client::RelayClient;

impl Wallet {
    /// Opens a single-use connection to a listed controller, kept in memory only.
    pub(super) async fn open_to(
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
            requests: Vec::new(),
            breach_notices: Vec::new(),
        })
    }

    /// Finds the operator key the pin names among those the relay serves, and checks the
    /// controller entry against the list it signed; returns the key to keep.
    pub(super) async fn check_entry_pinned(
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
    pub(super) async fn check_entry(
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
}
