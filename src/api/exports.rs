//! `POST /v1/subjects/{subject_ref}/exports`: the portal's download button.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::PortalClient;
use super::subjects::SubjectPath;
use super::{ApiError, AppState};
use crate::bundle::{self, Purpose};
use crate::gateway::exports;
use crate::protocol::{ErrorCode, Problem};
use crate::store::ExportRecord;

/// Most categories one request may name.
pub const MAX_REQUESTED_CATEGORIES: usize = 256;

/// The bundle's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A compact JWS (`application/jwt`).
    Jwt,
    /// A BagIt zip package with `signature.jwt` (`application/zip`).
    Zip,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub format: Format,
    pub purpose: Purpose,
    /// Category ids; all the purpose allows when absent.
    #[serde(default)]
    pub categories: Option<Vec<String>>,
}

/// Builds, signs and returns the subject's bundle, and records the export (who, when,
/// which categories, bundle id; never the contents).
#[utoipa::path(
    post, path = "/v1/subjects/{subject_ref}/exports", tag = "portal",
    security(("portal_token" = [])),
    params(("subject_ref" = String, Path, description = "The organisation's reference for the data subject")),
    request_body = ExportRequest,
    responses(
        (status = 200, description = "The signed bundle", content_type = "application/jwt", body = String),
        (status = 400, description = "invalid_parameter, malformed_body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing_bearer_token, invalid_bearer_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "subject_not_found, category_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported_media_type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "category_not_portable, bundle_too_large", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "upstream_unavailable", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn create_export(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    SubjectPath(subject): SubjectPath,
    body: Result<Json<ExportRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    if request.categories.as_ref().is_some_and(|c| c.len() > MAX_REQUESTED_CATEGORIES) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("name at most {MAX_REQUESTED_CATEGORIES} categories"),
        ));
    }
    if request.format == Format::Zip {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "the zip format is not available yet; use jwt"));
    }
    let categories = exports::select(state.inventory.categories(), request.purpose, request.categories.as_deref())?;
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = exports::build_claims(&state, &subject, request.purpose, &categories, jti.clone()).await?;
    let key = state.keyring.active_signing();
    let token = bundle::sign_jwt(&claims, key).map_err(|e| ApiError::internal(ErrorCode::Internal, &e))?;
    state
        .store
        .record_export(&ExportRecord {
            id: jti.clone(),
            client_id: client.id,
            subject_ref: subject.as_str().to_owned(),
            purpose: request.purpose.as_str().to_owned(),
            format: "jwt".to_owned(),
            categories: categories.iter().map(|c| c.id.clone()).collect(),
            kid: key.kid().to_owned(),
            created_at: claims.iat,
        })
        .await?;
    let disposition = format!("attachment; filename=\"gdpr-bundle-{jti}.jwt\"");
    Ok(([(CONTENT_TYPE, bundle::JWT_MEDIA_TYPE.to_owned()), (CONTENT_DISPOSITION, disposition)], token).into_response())
}
