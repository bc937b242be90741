//! Requests wallets send over their bound connection (`docs/protocol.md` § Messages): each
//! is opened with our key, checked against the connection's wallet key, refused if its id
//! was seen before, and answered over the same connection.

use crate::api::AppState;
use crate::gateway::exports::{self, ExportError, MAX_REQUESTED_CATEGORIES};
use crate::gateway::pairing::{self, PairingError};
use crate::jose::Jwks;
use crate::protocol::ErrorCode;
use crate::protocol::message::{self, Body, MAX_AGE_SECS};
use crate::protocol::relay::{MAX_ENVELOPE_BYTES, MailboxItem};
use crate::subject::SubjectRef;

/// Handles one envelope from a wallet. Envelopes that cannot be trusted (unknown or revoked
/// connection, bad signature, replay) are dropped with a log line: answering would tell an
/// impostor something. Errors are only those worth a retry (store, relay).
pub async fn on_envelope(state: &AppState, item: &MailboxItem) -> Result<(), PairingError> {
    let Some(envelope) = &item.body else { return Ok(()) };
    let connection = state.pairings.connection(&item.connection_id).await?.filter(|c| c.active);
    let Some(connection) = connection else {
        tracing::info!(connection = %item.connection_id, "dropping a message on a connection bound to no one");
        return Ok(());
    };
    let keys: Vec<_> = state.keyring.encryption_keys().collect();
    let sender = Jwks { keys: vec![connection.wallet_signing_jwk.clone()] };
    let opened = message::open(envelope.as_bytes(), &keys, &sender, &connection.id, state.clock.now());
    let message = match opened {
        Ok(message) => message,
        Err(e) => {
            tracing::warn!(connection = %connection.id, "dropping a message that does not open: {e}");
            return Ok(());
        }
    };
    if !state.pairings.spend_message_id(&connection.id, &message.jti, message.iat + MAX_AGE_SECS).await? {
        tracing::warn!(connection = %connection.id, jti = %message.jti, "dropping a replayed message");
        return Ok(());
    }
    let reply = match message.body {
        Body::ExportRequest { request_id, purpose, categories } => {
            export(state, &connection, request_id, purpose, categories).await?
        }
        other => {
            tracing::info!(connection = %connection.id, "no handler for {other:?}");
            return Ok(());
        }
    };
    pairing::send(state, &connection.id, &connection.wallet_encryption_jwk, reply).await
}

async fn export(
    state: &AppState,
    connection: &crate::gateway::pairing_store::Connection,
    request_id: String,
    purpose: crate::bundle::Purpose,
    categories: Option<Vec<String>>,
) -> Result<Body, PairingError> {
    let refuse = |code: ErrorCode, detail: String| Body::RequestRefused {
        request_id: request_id.clone(),
        error_code: code.as_str().to_owned(),
        detail,
    };
    if categories.as_ref().is_some_and(|c| c.len() > MAX_REQUESTED_CATEGORIES) {
        let detail = format!("name at most {MAX_REQUESTED_CATEGORIES} categories");
        return Ok(refuse(ErrorCode::InvalidParameter, detail));
    }
    let subject = SubjectRef::parse(&connection.subject_ref).map_err(|e| PairingError::Internal(e.to_string()))?;
    let client_id = format!("connection:{}", connection.id);
    let built = exports::signed_jwt(state, &subject, purpose, categories.as_deref(), &client_id).await;
    let (bundle, record) = match built {
        Ok(built) => built,
        Err(e) => {
            let code = match &e {
                ExportError::UnknownCategory(_) => ErrorCode::CategoryNotFound,
                ExportError::NotPortable(_) => ErrorCode::CategoryNotPortable,
                ExportError::NoCategories => ErrorCode::InvalidParameter,
                ExportError::SubjectNotFound => ErrorCode::SubjectNotFound,
                ExportError::TooLargeForJwt => ErrorCode::BundleTooLarge,
                _ => {
                    tracing::error!(connection = %connection.id, "export for a wallet failed: {e}");
                    return Ok(refuse(
                        ErrorCode::UpstreamUnavailable,
                        "a source system failed; try again later".into(),
                    ));
                }
            };
            return Ok(refuse(code, e.to_string()));
        }
    };
    // The envelope around it must fit a mailbox; larger bundles need the blob transfer.
    if bundle.len() * 16 / 9 + 4096 > MAX_ENVELOPE_BYTES {
        let detail = format!("the bundle is {} bytes, more than a message carries", bundle.len());
        return Ok(refuse(ErrorCode::BundleTooLarge, detail));
    }
    state.store.record_export(&record).await?;
    Ok(Body::ExportBundle { request_id, bundle })
}
