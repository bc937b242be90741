//! `POST /v1/verify`: anyone can check a bundle or a receipt this gateway signed.

use crate::http::problem_responses::problems;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::views::{ReceiptVerification, Verification, VerifyAnswer};
use crate::bundle::{self, SignedKind, Summary, package};
use crate::clock::rfc3339;
use crate::http::ApiError;
use crate::protocol::ErrorCode;

/// Largest zip package `POST /v1/verify` accepts; larger ones can be checked offline with
/// `gdpr-gateway verify`.
pub const MAX_VERIFY_ZIP_BYTES: usize = 256 * 1024 * 1024;
const MIB: u64 = 1024 * 1024;
/// Memory that compact JWS verifications may hold at once, in MiB: a body, its decoded
/// payload and the parse cost about twice its size ([`JWT_VERIFY_COST_FACTOR`]). Zip
/// packages are spooled to disk and verified as a stream, so they need no share.
pub(crate) const VERIFY_MEMORY_BUDGET_MIB: usize = 256;
const JWT_VERIFY_COST_FACTOR: u64 = 2;
/// Longest a verification waits for its share of the budget before 429.
const VERIFY_QUEUE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

problems!(VerifyBundleProblems: PayloadTooLarge, UnsupportedMediaType, RateLimited, Malformed, DuplicateMember, ForbiddenHeader, AlgNotAllowed, WrongTyp, UnknownKid, SignatureInvalid, InvalidClaims, DigestMismatch, PackageTruncated, NotAPackage, KeyNotInUse);

/// Verifies a bundle or a receipt against this controller's keys: a compact JWS
/// (`Content-Type: application/jwt`), a bundle (`typ` `gdpr-bundle+jwt`,
/// `docs/bundle-format.md`) or a receipt (`gdpr-receipt+jwt`, at most 256 KiB,
/// `docs/receipt-format.md`) as its header's `typ` says; or a bundle's zip package
/// (`application/zip`). The answer's `kind` says which verified.
#[utoipa::path(
    post, path = "/v1/verify", tag = "public",
    request_body(content(
        (String = "application/jwt"),
        (Vec<u8> = "application/zip")
    ), description = "A compact JWS (bundle or receipt) or a bundle's zip package"),
    responses(
        (status = 200, body = VerifyAnswer),
        VerifyBundleProblems
    )
)]
pub(crate) async fn verify_bundle(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Json<VerifyAnswer>, ApiError> {
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body = request.into_body();
    let summary = if essence == bundle::JWT_MEDIA_TYPE {
        // Held in memory while it is checked: admitted only within the memory budget.
        let _memory = admit_jwt(&state, declared).await?;
        let bytes =
            axum::body::to_bytes(body, bundle::MAX_JWT_BYTES).await.map_err(|_| too_large(bundle::MAX_JWT_BYTES))?;
        let keys = state.gateway.keyring().jwks();
        match bundle::signed_kind(&bytes)? {
            SignedKind::Bundle => Summary::from(&bundle::verify_jwt_summary(&bytes, &keys)?),
            // Capped at `MAX_RECEIPT_BYTES` by its verifier (`payload_too_large`).
            SignedKind::Receipt => {
                let receipt = bundle::verify_receipt(&bytes, &keys)?;
                return Ok(Json(VerifyAnswer::Receipt(ReceiptVerification::from(receipt))));
            }
        }
    } else if essence == package::MEDIA_TYPE {
        let file = spool(&state, body).await?;
        let keys = state.gateway.keyring().jwks();
        let verified = tokio::task::spawn_blocking(move || package::verify_package(file, &keys, &mut |_| {}))
            .await
            .map_err(|e| ApiError::internal(ErrorCode::Internal, &e))??;
        Summary::from(&verified)
    } else {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("send {} or {}, not {content_type:?}", bundle::JWT_MEDIA_TYPE, package::MEDIA_TYPE),
        ));
    };
    Ok(Json(VerifyAnswer::Bundle(Verification {
        valid: true,
        issuer: summary.issuer,
        kid: summary.kid,
        issued_at: rfc3339(summary.issued_at),
        subject: summary.subject,
        bundle_id: summary.bundle_id,
        categories: summary.categories,
    })))
}

/// A share of the verification memory budget for a compact JWS of `declared` bytes (the
/// largest allowed when the client does not say), waited for up to
/// [`VERIFY_QUEUE_TIMEOUT`]; a budget spent for that long answers 429.
async fn admit_jwt(state: &AppState, declared: Option<u64>) -> Result<OwnedSemaphorePermit, ApiError> {
    let max = bundle::MAX_JWT_BYTES as u64;
    let size = declared.unwrap_or(max);
    if size > max {
        return Err(too_large(bundle::MAX_JWT_BYTES));
    }
    let cost = u32::try_from(size.div_ceil(MIB) * JWT_VERIFY_COST_FACTOR).unwrap_or(u32::MAX).max(1);
    let waited = tokio::time::timeout(VERIFY_QUEUE_TIMEOUT, state.verify_budget.clone().acquire_many_owned(cost));
    match waited.await {
        Ok(Ok(permit)) => Ok(permit),
        // The semaphore is never closed; a closed one would be as busy as a full one.
        Ok(Err(_)) | Err(_) => Err(ApiError::new(ErrorCode::RateLimited, "too many large verifications at once")
            .retry_after(VERIFY_QUEUE_TIMEOUT.as_secs())),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("the body is larger than {limit} bytes"))
}

/// Streams the body into an unlinked temporary file in the data dir, refusing more than
/// [`MAX_VERIFY_ZIP_BYTES`].
async fn spool(state: &AppState, body: Body) -> Result<std::fs::File, ApiError> {
    let internal = |e: std::io::Error| ApiError::internal(ErrorCode::Internal, &e);
    let file = tempfile::tempfile_in(state.gateway.spool_dir()).map_err(internal)?;
    let mut out = tokio::fs::File::from_std(file);
    let mut stream = body.into_data_stream();
    let mut written = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::new(ErrorCode::MalformedBody, e.to_string()))?;
        written += chunk.len();
        if written > MAX_VERIFY_ZIP_BYTES {
            return Err(too_large(MAX_VERIFY_ZIP_BYTES));
        }
        out.write_all(&chunk).await.map_err(internal)?;
    }
    out.flush().await.map_err(internal)?;
    let mut file = out.into_std().await;
    std::io::Seek::rewind(&mut file).map_err(internal)?;
    Ok(file)
}
