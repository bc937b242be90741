//! Portal routes over the import register: bundles people forwarded here from other
//! controllers, each verified against the trust list before it was stored.

use crate::http::problem_responses::problems;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use super::AppState;
use super::portal_auth::PortalClient;
use super::subject_routes::page_limit;
use super::views::{ImportDetail, ImportEntry, ImportList, ImportPage};
use crate::clock::rfc3339;
use crate::http::{ApiError, ApiQuery};
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::is_valid_id;
use crate::store::import_store::Import;

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
