//! Portal routes over the import register: bundles people forwarded here from other
//! controllers, each verified against the trust list before it was stored.

use crate::http::problem_responses::problems;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::portal_auth::PortalClient;
use super::subject_routes::page_limit;
use crate::clock::rfc3339;
use crate::http::{ApiError, ApiQuery};
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::is_valid_id;
use crate::store::import_store::Import;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportPage {
    /// At most this many imports, newest first (1 to 1000, default 100).
    pub limit: Option<u32>,
    /// Only imports older than this import id: the `next_before` of the previous page.
    pub before: Option<String>,
}

/// One forwarded bundle as recorded in the import register.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportEntry {
    pub import_id: String,
    /// The controller that signed the bundle, as listed in the trust list.
    pub issuer: String,
    /// The bundle's id (`jti`) at its issuer.
    pub bundle_id: String,
    /// The issuer's reference for the person (the bundle's `sub`).
    pub issuer_subject: String,
    /// Our reference for the person, when the wallet forwarded over a connection bound to
    /// an account; otherwise the portal matches the import to a customer itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_ref: Option<String>,
    /// `access` or `portability`.
    pub purpose: String,
    pub categories: Vec<String>,
    /// SHA-256 of the compact JWS, lowercase hex.
    pub bundle_sha256: String,
    /// RFC 3339: when the issuer signed it.
    pub issued_at: String,
    /// RFC 3339: when it arrived here.
    pub received_at: String,
}

impl From<&Import> for ImportEntry {
    fn from(i: &Import) -> Self {
        Self {
            import_id: i.id.clone(),
            issuer: i.issuer.clone(),
            bundle_id: i.bundle_id.clone(),
            issuer_subject: i.issuer_subject.clone(),
            subject_ref: i.subject_ref.clone(),
            purpose: i.purpose.clone(),
            categories: i.categories.clone(),
            bundle_sha256: i.bundle_sha256.clone(),
            issued_at: rfc3339(i.issued_at),
            received_at: rfc3339(i.received_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportList {
    pub imports: Vec<ImportEntry>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// One import with the bundle, exactly as its issuer signed it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportDetail {
    #[serde(flatten)]
    pub entry: ImportEntry,
    /// The compact JWS (`typ` `gdpr-bundle+jwt`); verify it with any JOSE library against
    /// the issuer's keys in the trust list.
    pub bundle: String,
}

problems!(ListImportsProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, StoreUnavailable);

/// The import register: bundles people forwarded here, newest first.
#[utoipa::path(
    get, path = "/v1/imports", tag = "portal",
    security(("portal_token" = [])),
    params(ImportPage),
    responses(
        (status = 200, body = ImportList),
        ListImportsProblems
    )
)]
pub(crate) async fn list_imports(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    ApiQuery(page): ApiQuery<ImportPage>,
) -> Result<Json<ImportList>, ApiError> {
    let limit = page_limit(page.limit)?;
    if page.before.as_deref().is_some_and(|id| !is_valid_id(id)) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "before must be an import id"));
    }
    let imports = state.gateway.imports(&client.caller(), limit, page.before.as_deref()).await?;
    let full = imports.len() == limit as usize;
    let next_before = if full { imports.last().map(|i| i.id.clone()) } else { None };
    Ok(Json(ImportList { imports: imports.iter().map(ImportEntry::from).collect(), next_before }))
}

problems!(GetImportProblems: MissingBearerToken, InvalidBearerToken, ImportNotFound, StoreUnavailable);

/// One import, with its bundle.
#[utoipa::path(
    get, path = "/v1/imports/{import_id}", tag = "portal",
    security(("portal_token" = [])),
    params(("import_id" = String, Path, description = "The import's id")),
    responses(
        (status = 200, body = ImportDetail),
        GetImportProblems
    )
)]
pub(crate) async fn get_import(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    Path(id): Path<String>,
) -> Result<Json<ImportDetail>, ApiError> {
    let not_found = || ApiError::bare(ErrorCode::ImportNotFound);
    if !is_valid_id(&id) {
        return Err(not_found());
    }
    let import = state.gateway.import(&client.caller(), &id).await?.ok_or_else(not_found)?;
    Ok(Json(ImportDetail { entry: ImportEntry::from(&import), bundle: import.bundle }))
}
