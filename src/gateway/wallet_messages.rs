//! Requests wallets send (`docs/protocol.md` § Messages): each is opened with our key,
//! checked against the connection's wallet key, refused if its id was seen before, and
//! answered over the same connection.

use std::sync::Arc;

use super::export_package::PackageError;
use super::exports::{ExportError, ExportRequest, PreparedExport};
use super::imports;
use super::pairing::PairingError;
use super::rights_requests::Intake;
use super::{Caller, Gateway, NewRequest, RequestError};
use crate::bundle::MAX_JWT_BYTES;
use crate::jose::{Jwks, OkpPublicJwk};
use crate::protocol::blob::{BlobError, BlobRef, CHUNK_BYTES};
use crate::protocol::message::{self, Body, BundleForm, MAX_AGE_SECS};
use crate::protocol::relay_wire::{ConnectionOrigin, ConnectionState, MailboxItem};
use crate::protocol::rights::{RequestChannel, RequestKind};
use crate::protocol::{ErrorCode, SubjectRef};
use crate::relay_client::blob_transfer::{self, TransferError};
use crate::relay_client::{RelayError, is_transient};
use crate::store::pairing_store::Connection;
use crate::store::{ExportRecord, StoreError};

/// Why a wallet message must be handled again later: the store or the relay failed, or
/// something of ours did. Refusals the wallet can act on are answers, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("relay: {0}")]
    Relay(#[from] RelayError),
    #[error("{0}")]
    Internal(String),
}

impl From<PairingError> for MessageError {
    fn from(e: PairingError) -> Self {
        match e {
            PairingError::Store(e) => Self::Store(e),
            PairingError::Relay(e) => Self::Relay(e),
            // Sending a message fails only as above; the rest are refusals to a portal.
            other @ (PairingError::NotFound
            | PairingError::StatusTokenRefused
            | PairingError::NotScanned
            | PairingError::Closed(_)
            | PairingError::WrongCode { .. }
            | PairingError::MalformedCode
            | PairingError::Internal(_)) => Self::Internal(other.to_string()),
        }
    }
}

/// Handles one envelope from a wallet. Envelopes that cannot be trusted (unknown or revoked
/// connection, bad signature, replay) are dropped with a log line: answering would tell an
/// impostor something. Errors are only those worth a retry (store, relay).
///
/// On a connection bound to an account, a wallet may ask for that account's data, the
/// catalogue, file a rights request, or offer an import. On a connection a wallet opened without a token, it is
/// nobody we know: it may only offer an import.
pub(super) async fn on_envelope(gateway: &Arc<Gateway>, item: &MailboxItem) -> Result<(), MessageError> {
    let Some(envelope) = &item.body else { return Ok(()) };
    let Some(sender) = sender(gateway, &item.connection_id).await? else {
        tracing::info!(connection = %item.connection_id, "dropping a message on a connection bound to no one");
        return Ok(());
    };
    let keys: Vec<_> = gateway.keyring.encryption_keys().collect();
    let signer = Jwks { keys: vec![sender.signing_jwk.clone()] };
    let opened = message::open(envelope.as_bytes(), &keys, &signer, &item.connection_id, gateway.clock.now());
    let message = match opened {
        Ok(message) => message,
        Err(e) => {
            tracing::warn!(connection = %item.connection_id, "dropping a message that does not open: {e}");
            return Ok(());
        }
    };
    if !gateway.pairings.spend_message_id(&item.connection_id, &message.jti, message.iat + MAX_AGE_SECS).await? {
        tracing::warn!(connection = %item.connection_id, jti = %message.jti, "dropping a replayed message");
        return Ok(());
    }
    let handled = answer(gateway, item, &sender, message.body).await;
    if handled.is_err() {
        // Worth a retry: the item comes again, and must not then count as a replay.
        gateway.pairings.unspend_message_id(&item.connection_id, &message.jti).await?;
    }
    handled
}

async fn answer(gateway: &Arc<Gateway>, item: &MailboxItem, sender: &Sender, body: Body) -> Result<(), MessageError> {
    let subject = sender.bound.as_ref().map(|c| c.subject_ref.as_str());
    let mut record = None;
    let reply = match (body, &sender.bound) {
        (Body::ImportOffer { request_id, bundle }, _) => {
            imports::receive(gateway, &item.connection_id, subject, request_id, bundle).await?
        }
        (Body::ImportOfferBlob { request_id, blob }, _) => {
            receive_blob(gateway, &item.connection_id, subject, request_id, &blob).await?
        }
        (Body::ExportRequest { request_id, purpose, categories, format }, Some(connection)) => {
            let request = ExportRequest { purpose, categories, form: format.unwrap_or(BundleForm::Jwt) };
            let (reply, made) = export(gateway, connection, request_id, request).await?;
            record = made;
            reply
        }
        (Body::CatalogueRequest { request_id }, Some(_)) => {
            Body::Catalogue { request_id, notice: Box::new(gateway.notice.clone()) }
        }
        (Body::RequestSubmit { request_id, kind, categories, details, proposed }, Some(connection)) => {
            let submitted = Submitted { kind, categories: categories.unwrap_or_default(), details, proposed };
            match submit_request(gateway, connection, request_id, submitted).await? {
                Some(refusal) => refusal,
                // Acknowledged through the outbox, which commits with the request.
                None => return Ok(()),
            }
        }
        (Body::ReceiptAck { receipt_id }, Some(connection)) => {
            gateway.receipt_acknowledged(connection, &receipt_id).await?;
            return Ok(());
        }
        (other, _) => {
            // The type only: a body may hold personal data or a blob key.
            tracing::info!(connection = %item.connection_id, "no handler for {} on this connection", other.type_name());
            return Ok(());
        }
    };
    let blob_id = match &reply {
        Body::ExportBundleBlob { blob, .. } | Body::ExportPackageBlob { blob, .. } => Some(blob.blob_id.clone()),
        _ => None,
    };
    if let Err(e) = gateway.send(&item.connection_id, &sender.encryption_jwk, reply).await {
        // The retry makes the bundle again; this blob would only wait out its expiry.
        if let Some(blob_id) = blob_id {
            let _ = gateway.relay.delete_blob(&item.connection_id, &blob_id).await;
        }
        return Err(e.into());
    }
    // Recorded once the answer is on its way, so a retry does not record it twice.
    if let Some(record) = record {
        gateway.record_export(&record).await?;
    }
    Ok(())
}

/// Who is at the wallet end of a connection.
struct Sender {
    signing_jwk: OkpPublicJwk,
    encryption_jwk: OkpPublicJwk,
    /// The account binding, for connections that came from a pairing.
    bound: Option<Connection>,
}

/// The wallet of an active bound connection, or of an open connection a wallet opened to
/// us (asked of the relay, which knows its keys); `None` for anything else.
async fn sender(gateway: &Gateway, connection_id: &str) -> Result<Option<Sender>, MessageError> {
    if let Some(connection) = gateway.pairings.connection(connection_id).await? {
        if !connection.active {
            return Ok(None);
        }
        return Ok(Some(Sender {
            signing_jwk: connection.wallet_signing_jwk.clone(),
            encryption_jwk: connection.wallet_encryption_jwk.clone(),
            bound: Some(connection),
        }));
    }
    let info = match gateway.relay.connection(connection_id).await {
        Ok(info) => info,
        Err(e) if !is_transient(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let opened_by_wallet = info.origin == ConnectionOrigin::Wallet && info.state == ConnectionState::Open;
    Ok(opened_by_wallet.then_some(Sender {
        signing_jwk: info.wallet_signing_jwk,
        encryption_jwk: info.wallet_encryption_jwk,
        bound: None,
    }))
}

/// Builds the bound subject's bundle and answers with it (inline or as a blob), or with
/// the reason it was not made.
async fn export(
    gateway: &Arc<Gateway>,
    connection: &Connection,
    request_id: String,
    request: ExportRequest,
) -> Result<(Body, Option<ExportRecord>), MessageError> {
    let subject = SubjectRef::parse(&connection.subject_ref).map_err(|e| MessageError::Internal(e.to_string()))?;
    let caller = Caller::wallet(&connection.id);
    let prepared = match gateway.prepare_export(&caller, subject, &request).await {
        Ok(prepared) => Ok(prepared),
        Err(e) => Err(Unmade::Export(e)),
    };
    let built = match (prepared, request.form) {
        (Err(unmade), _) => Err(unmade),
        (Ok(prepared), BundleForm::Jwt) => jwt(gateway, &connection.id, prepared, &request_id).await?,
        (Ok(prepared), BundleForm::Zip) => package(gateway, &connection.id, prepared, &request_id).await?,
    };
    match built {
        Ok((reply, record)) => Ok((reply, Some(record))),
        Err(Unmade::Undeliverable(reply)) => Ok((reply, None)),
        Err(Unmade::Export(e)) => match e.error_code() {
            Some(code) => Ok((refused(request_id, code, e.to_string()), None)),
            None => {
                tracing::error!(connection = %connection.id, "export for a wallet failed: {e}");
                let detail = "a source system failed; try again later".to_owned();
                Ok((refused(request_id, e.failure_code(), detail), None))
            }
        },
    }
}

/// A bundle and its register entry, or why it could not be made; errors outside are
/// worth a retry.
type Built = Result<(Body, ExportRecord), Unmade>;

/// Why no bundle went out.
enum Unmade {
    /// The export itself was refused (unknown category, unknown subject, …).
    Export(ExportError),
    /// Made, but it cannot be delivered: the refusal to send instead.
    Undeliverable(Body),
}

impl From<ExportError> for Unmade {
    fn from(e: ExportError) -> Self {
        Self::Export(e)
    }
}

/// The compact JWS: in the message when its envelope fits a mailbox, else as a blob.
async fn jwt(
    gateway: &Gateway,
    connection_id: &str,
    prepared: PreparedExport,
    request_id: &str,
) -> Result<Built, MessageError> {
    let (bundle, record) = match gateway.signed_jwt(prepared).await {
        Ok(built) => built,
        Err(e) => return Ok(Err(e.into())),
    };
    let request_id = request_id.to_owned();
    let reply = if message::bundle_fits(bundle.len()) {
        Body::ExportBundle { request_id, bundle }
    } else {
        match blob_transfer::send(&gateway.relay, connection_id, bundle.into_bytes()).await {
            Ok(blob) => Body::ExportBundleBlob { request_id, blob },
            Err(e) => return upload_refused(e, request_id),
        }
    };
    Ok(Ok((reply, record)))
}

/// The zip package, written to an unlinked file in the data dir and streamed from there
/// into a blob: memory stays at a chunk whatever the size.
async fn package(
    gateway: &Arc<Gateway>,
    connection_id: &str,
    prepared: PreparedExport,
    request_id: &str,
) -> Result<Built, MessageError> {
    let internal = |e: &dyn std::fmt::Display| MessageError::Internal(e.to_string());
    let record = prepared.record.clone();
    let spool = tempfile::tempfile_in(&gateway.spool_dir).map_err(|e| internal(&e))?;
    let mut file = match gateway.write_package(prepared, std::io::BufWriter::new(spool)).await {
        Ok(out) => out.into_inner().map_err(|e| internal(&e.into_error()))?,
        Err(PackageError::Export(e)) => return Ok(Err(e.into())),
        Err(e @ PackageError::TooManyColumns(_)) => {
            let reply = refused(request_id.to_owned(), ErrorCode::BundleTooLarge, e.to_string());
            return Ok(Err(Unmade::Undeliverable(reply)));
        }
        Err(e) => return Err(internal(&e)),
    };
    let len = file.metadata().map_err(|e| internal(&e))?.len();
    std::io::Seek::rewind(&mut file).map_err(|e| internal(&e))?;
    match blob_transfer::send_chunks(&gateway.relay, connection_id, len, file_chunks(file)).await {
        Ok(blob) => Ok(Ok((Body::ExportPackageBlob { request_id: request_id.to_owned(), blob }, record))),
        Err(e) => upload_refused(e, request_id.to_owned()),
    }
}

/// A blob the relay would not take: worth a retry when the relay or network is in
/// trouble, else the wallet learns why (too large for the relay, say) and no retry follows.
fn upload_refused(e: RelayError, request_id: String) -> Result<Built, MessageError> {
    if is_transient(&e) {
        return Err(e.into());
    }
    let code = if e.is(ErrorCode::PayloadTooLarge) { ErrorCode::BundleTooLarge } else { ErrorCode::RelayUnavailable };
    let detail = format!("the relay would not store the bundle: {e}");
    Ok(Err(Unmade::Undeliverable(refused(request_id, code, detail))))
}

/// A file read in pieces of [`CHUNK_BYTES`] (the last shorter), on the blocking pool.
fn file_chunks(file: std::fs::File) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + Sync {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buf = vec![0u8; CHUNK_BYTES];
            let mut filled = 0;
            while filled < CHUNK_BYTES {
                match file.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), None),
                }
            }
            buf.truncate(filled);
            (Ok(buf), Some(file))
        })
        .await;
        match read {
            Ok((Ok(buf), _)) if buf.is_empty() => None,
            Ok((chunk, file)) => Some((chunk, file)),
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    })
}

/// A forwarded bundle sent as a blob: fetched, checked and opened, then imported.
async fn receive_blob(
    gateway: &Gateway,
    connection_id: &str,
    subject: Option<&str>,
    request_id: String,
    blob: &BlobRef,
) -> Result<Body, MessageError> {
    match blob_transfer::fetch(&gateway.relay, connection_id, blob, MAX_JWT_BYTES as u64).await {
        Ok(plaintext) => match String::from_utf8(plaintext) {
            Ok(token) => Ok(imports::receive(gateway, connection_id, subject, request_id, token).await?),
            Err(_) => Ok(refused(request_id, ErrorCode::Malformed, "the blob is not a compact JWS".into())),
        },
        Err(TransferError::Relay(e)) if is_transient(&e) => Err(e.into()),
        Err(TransferError::Relay(e)) => Ok(refused(request_id, ErrorCode::RelayUnavailable, e.to_string())),
        Err(TransferError::Write(e)) => Err(MessageError::Internal(e)),
        Err(TransferError::Blob(e)) => {
            let code = match e {
                BlobError::TooLarge(_) => ErrorCode::BundleTooLarge,
                BlobError::Malformed(_) => ErrorCode::Malformed,
                BlobError::Corrupt | BlobError::WrongSize { .. } | BlobError::HashMismatch => ErrorCode::DigestMismatch,
            };
            Ok(refused(request_id, code, e.to_string()))
        }
    }
}

/// A `request.submit` as it came, its type not yet known to be one.
struct Submitted {
    kind: String,
    categories: Vec<String>,
    details: Option<String>,
    proposed: Option<serde_json::Value>,
}

/// Files a wallet's rights request for its connection's account; `None` once filed (or
/// found filed before under the same id, when the wallet sent it again), else the refusal.
async fn submit_request(
    gateway: &Gateway,
    connection: &Connection,
    request_id: String,
    submitted: Submitted,
) -> Result<Option<Body>, MessageError> {
    let invalid = |detail: String| {
        let echo: String = request_id.chars().take(message::MAX_REQUEST_ID_CHARS).collect();
        Ok(Some(refused(echo, ErrorCode::InvalidParameter, detail)))
    };
    if !message::is_valid_request_id(&request_id) {
        return invalid(format!("request_id is 1 to {} letters, digits, '_' or '-'", message::MAX_REQUEST_ID_CHARS));
    }
    let Some(kind) = RequestKind::parse(&submitted.kind) else {
        let known: Vec<&str> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
        return invalid(format!("unknown request type; one of {known:?}"));
    };
    let Submitted { categories, details, proposed, .. } = submitted;
    let new = NewRequest { kind, categories, details, proposed };
    let caller = Caller::wallet(&connection.id);
    let filed_by = caller.register_name();
    if let Some(filed) = gateway.requests.by_intake(&filed_by, &request_id).await? {
        gateway.acknowledge_again(&filed, &connection.id, &request_id).await?;
        return Ok(None);
    }
    let subject = SubjectRef::parse(&connection.subject_ref).map_err(|e| MessageError::Internal(e.to_string()))?;
    let intake = Intake {
        channel: RequestChannel::Wallet,
        filed_by: filed_by.clone(),
        identification: Some("wallet connection".to_owned()),
        intake_ref: Some(request_id.clone()),
        intermediary: None,
        received_on: None,
        reply_to: Some(connection.id.clone()),
    };
    match gateway.file(&subject, new, intake).await {
        Ok(_) => Ok(None),
        // The same id, filed by a delivery of it running at the same time: acknowledge that.
        Err(RequestError::Store(StoreError::Conflict(_))) => {
            match gateway.requests.by_intake(&filed_by, &request_id).await? {
                Some(filed) => {
                    gateway.acknowledge_again(&filed, &connection.id, &request_id).await?;
                    Ok(None)
                }
                None => Err(MessageError::Internal("a request conflicted with one that is not there".into())),
            }
        }
        Err(RequestError::Store(e)) => Err(e.into()),
        Err(e) => Ok(Some(refused(request_id, e.error_code(), e.to_string()))),
    }
}

fn refused(request_id: String, code: ErrorCode, detail: String) -> Body {
    Body::RequestRefused { request_id, error_code: code.as_str().to_owned(), detail }
}
