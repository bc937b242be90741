//! `POST /v1/verify`: anyone can check a bundle this gateway signed.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, AppState};
use crate::bundle::{self, CategorySummary};
use crate::clock::rfc3339;
use crate::protocol::{ErrorCode, Problem};

/// Largest body `POST /v1/verify` reads.
pub const MAX_VERIFY_BODY_BYTES: usize = bundle::MAX_JWT_BYTES;

#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// Always `true`; failures are problem responses.
    pub valid: bool,
    pub issuer: String,
    pub kid: String,
    /// RFC 3339.
    pub issued_at: String,
    pub subject: String,
    pub bundle_id: String,
    pub categories: Vec<CategorySummary>,
}

/// Verifies a compact JWS bundle (`Content-Type: application/jwt`) against this
/// controller's keys, under the rules of `docs/bundle-format.md`.
#[utoipa::path(
    post, path = "/v1/verify", tag = "public",
    request_body(content = String, content_type = "application/jwt", description = "A compact JWS bundle"),
    responses(
        (status = 200, body = Verification),
        (status = 413, description = "payload_too_large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported_media_type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "malformed, duplicate_member, forbidden_header, alg_not_allowed, wrong_typ, unknown_kid, signature_invalid, invalid_claims", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn verify(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Verification>, ApiError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(bundle::JWT_MEDIA_TYPE) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("send the bundle as {}, not {content_type:?}", bundle::JWT_MEDIA_TYPE),
        ));
    }
    let verified = bundle::verify_jwt(&body, &state.keyring.jwks())?;
    Ok(Json(Verification {
        valid: true,
        issuer: verified.issuer().to_owned(),
        kid: verified.kid.clone(),
        issued_at: rfc3339(verified.issued_at()),
        subject: verified.subject().to_owned(),
        bundle_id: verified.claims.jti.clone(),
        categories: verified.categories(),
    }))
}
