//! Blob routes (`docs/protocol.md` § Blobs): one side of a connection uploads ciphertext
//! too large for a message, the other side fetches and deletes it. Both directions stream
//! in chunks of [`BLOB_STORAGE_CHUNK_BYTES`], so the relay holds one chunk per transfer
//! whatever the size, and it never learns the key.

use crate::http::problem_responses::problems;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::connect_routes::{require_open, side_of};
use super::proof::Caller;
use super::{BLOB_STORAGE_CHUNK_BYTES, BLOB_UPLOAD_TIMEOUT, MAX_WALLET_BLOB_BYTES, RelayState, Side};
use crate::http::ApiError;
use crate::protocol::blob::MEDIA_TYPE;
use crate::protocol::relay_wire::{ConnectionOrigin, StoredBlob, is_valid_id};
use crate::protocol::{ErrorCode, Problem};
use crate::store::relay_store::BlobInfo;

/// The blob routes; uploads read their body under the relay's own blob cap.
pub(super) fn router() -> OpenApiRouter<Arc<RelayState>> {
    OpenApiRouter::new()
        .routes(routes!(upload_blob))
        .routes(routes!(download_blob, delete_blob))
        .layer(axum::extract::DefaultBodyLimit::disable())
}

problems!(UploadBlobProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, ConnectionRevoked, UnsupportedMediaType);

/// Stores a blob for the other side of the connection; the body is the ciphertext.
#[utoipa::path(
    post, path = "/v1/connections/{connection_id}/blobs", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, body = StoredBlob),
        (status = 413, description = "payload_too_large: over 64 MiB from a wallet, 2 GiB from a controller", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "invalid_parameter: no Content-Length; malformed_body: the body broke off or differs from Content-Length", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "mailbox_full: too many blobs on this connection, or the relay's blob storage is full", body = Problem, content_type = "application/problem+json"),
        UploadBlobProblems
    )
)]
pub(super) async fn upload_blob(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<StoredBlob>), ApiError> {
    let (connection, side) = side_of(&state, &caller, &id).await?;
    require_open(&connection)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type != MEDIA_TYPE {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType, format!("a blob is {MEDIA_TYPE}")));
    }
    // The declared length is what the blob may claim of the relay's storage quota, so it
    // is required up front and the body may not exceed it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidParameter, "a blob upload needs Content-Length"))?;
    let limits = &state.limits;
    let (cap, total, ttl) = match side {
        Side::Wallet => (
            limits.max_blob_bytes.min(MAX_WALLET_BLOB_BYTES),
            limits.max_total_wallet_blob_bytes,
            limits.wallet_blob_ttl_secs,
        ),
        Side::Controller => (limits.max_blob_bytes, limits.max_total_blob_bytes, limits.blob_ttl_secs),
    };
    if declared > cap {
        return Err(too_large(cap));
    }
    let now = state.clock.now();
    let blob_id = super::new_id();
    let expires_at = now + ttl;
    // A connection a wallet opened to forward one bundle needs one blob.
    let max_blobs = if connection.origin == ConnectionOrigin::Wallet { 1 } else { state.limits.max_blobs };
    let caps = (max_blobs, total);
    if !state.store.create_blob(&blob_id, &id, side.other(), declared, caps, now, expires_at).await? {
        let detail = format!(
            "the connection holds {max_blobs} blobs, or the relay's blob storage is full; fetch or delete blobs, or retry later"
        );
        return Err(ApiError::new(ErrorCode::MailboxFull, detail));
    }
    let stored = tokio::time::timeout(BLOB_UPLOAD_TIMEOUT, store_chunks(&state, &blob_id, body, declared)).await;
    let stored = stored.unwrap_or_else(|_| {
        Err(ApiError::new(ErrorCode::MalformedBody, format!("the upload took longer than {BLOB_UPLOAD_TIMEOUT:?}")))
    });
    match stored {
        Ok((size, _)) if size != declared => {
            let _ = state.store.delete_blob(&blob_id).await;
            Err(ApiError::new(ErrorCode::MalformedBody, format!("{size} bytes arrived, {declared} were declared")))
        }
        Ok((size, sha256)) => {
            state.store.complete_blob(&blob_id, size, &sha256).await?;
            Ok((StatusCode::CREATED, Json(StoredBlob { blob_id, size, sha256 })))
        }
        Err(e) => {
            // Nothing half-stored stays behind.
            if let Err(cleanup) = state.store.delete_blob(&blob_id).await {
                tracing::warn!(blob = %blob_id, "relay: deleting a failed upload failed: {cleanup}");
            }
            Err(e)
        }
    }
}

/// Streams the body into chunks, hashing as it goes; returns the size and SHA-256.
async fn store_chunks(state: &RelayState, blob_id: &str, body: Body, limit: u64) -> Result<(u64, String), ApiError> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::with_capacity(BLOB_STORAGE_CHUNK_BYTES);
    let (mut hash, mut size, mut seq) = (Sha256::new(), 0u64, 0u32);
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|e| ApiError::new(ErrorCode::MalformedBody, format!("the upload broke off: {e}")))?;
        size += frame.len() as u64;
        if size > limit {
            return Err(too_large(limit));
        }
        hash.update(&frame);
        let mut rest = &frame[..];
        while !rest.is_empty() {
            let take = (BLOB_STORAGE_CHUNK_BYTES - buffer.len()).min(rest.len());
            buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if buffer.len() == BLOB_STORAGE_CHUNK_BYTES {
                state.store.put_blob_chunk(blob_id, seq, &buffer).await?;
                buffer.clear();
                seq += 1;
            }
        }
    }
    if !buffer.is_empty() {
        state.store.put_blob_chunk(blob_id, seq, &buffer).await?;
    }
    Ok((size, hex::encode(hash.finalize())))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("a blob is at most {limit} bytes"))
}

problems!(DownloadBlobProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, NotFound);

/// The blob, streamed; only for the side it was stored for.
#[utoipa::path(
    get, path = "/v1/connections/{connection_id}/blobs/{blob_id}", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$"), ("blob_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "the ciphertext", content_type = "application/octet-stream", body = Vec<u8>),
        DownloadBlobProblems
    )
)]
pub(super) async fn download_blob(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path((id, blob_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (_, side) = side_of(&state, &caller, &id).await?;
    let blob = blob_of(&state, &id, &blob_id).await?;
    let Some((size, _)) = blob.complete.filter(|_| blob.recipient == side) else { return Err(no_such_blob()) };
    let chunks = futures_util::stream::unfold((state, blob_id, 0u32), |(state, blob_id, seq)| async move {
        match state.store.blob_chunk(&blob_id, seq).await {
            Ok(Some(data)) => Some((Ok::<_, std::io::Error>(data), (state, blob_id, seq + 1))),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), (state, blob_id, u32::MAX))),
        }
    });
    // After an error the stream must end: a chunk index past any blob reads as none.
    let body = Body::from_stream(chunks);
    Ok(([(header::CONTENT_TYPE, MEDIA_TYPE.to_owned()), (header::CONTENT_LENGTH, size.to_string())], body)
        .into_response())
}

problems!(DeleteBlobProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, NotFound);

/// Deletes a blob once fetched; either side may.
#[utoipa::path(
    delete, path = "/v1/connections/{connection_id}/blobs/{blob_id}", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$"), ("blob_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 204, description = "deleted"),
        DeleteBlobProblems
    )
)]
pub(super) async fn delete_blob(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path((id, blob_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    side_of(&state, &caller, &id).await?;
    blob_of(&state, &id, &blob_id).await?;
    state.store.delete_blob(&blob_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The unexpired blob `blob_id` of connection `id`; 404 for anything else.
async fn blob_of(state: &RelayState, id: &str, blob_id: &str) -> Result<BlobInfo, ApiError> {
    if !is_valid_id(blob_id) {
        return Err(no_such_blob());
    }
    state.store.blob(id, blob_id, state.clock.now()).await?.ok_or_else(no_such_blob)
}

fn no_such_blob() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such blob")
}
