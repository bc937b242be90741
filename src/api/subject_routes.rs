//! Portal routes about one data subject.

use crate::http::problem_responses::problems;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;

use super::AppState;
use super::portal_auth::PortalClient;
use super::views::{ExportEntry, ExportList, Page};
use crate::clock::rfc3339;
use crate::http::{ApiError, ApiQuery};
use crate::protocol::ErrorCode;
use crate::protocol::subject::SubjectRef;
use crate::store::{ExportRecord, MAX_PAGE};

/// Rows a listing returns when the client does not say.
pub(crate) const DEFAULT_PAGE: u32 = 100;

/// The `{subject_ref}` path segment, validated.
pub(crate) struct SubjectPath(pub SubjectRef);

impl FromRequestParts<Arc<AppState>> for SubjectPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self(SubjectRef::parse(&raw)?))
    }
}

impl From<ExportRecord> for ExportEntry {
    fn from(e: ExportRecord) -> Self {
        Self {
            id: e.id,
            client_id: e.client_id,
            purpose: e.purpose,
            format: e.format,
            categories: e.categories,
            kid: e.kid,
            created_at: rfc3339(e.created_at),
        }
    }
}

problems!(ListExportsProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, StoreUnavailable);

/// The export register for one subject: every bundle of their data that left, newest
/// first. Shows what left and when, never the contents.
#[utoipa::path(
    get, path = "/v1/subjects/{subject_ref}/exports", tag = "portal",
    security(("portal_token" = [])),
    params(("subject_ref" = String, Path, description = "The organisation's reference for the data subject", pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"), Page),
    responses(
        (status = 200, body = ExportList),
        ListExportsProblems
    )
)]
pub(crate) async fn list_exports(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    SubjectPath(subject): SubjectPath,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<ExportList>, ApiError> {
    let limit = page_limit(page.limit)?;
    let exports = state.gateway.exports_of(&client.caller(), &subject, limit).await?;
    Ok(Json(ExportList { exports: exports.into_iter().map(ExportEntry::from).collect() }))
}

/// A listing's `limit`: [`DEFAULT_PAGE`] when absent, else 1 to [`MAX_PAGE`].
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, format!("limit must be 1 to {MAX_PAGE}")));
    }
    Ok(limit)
}
