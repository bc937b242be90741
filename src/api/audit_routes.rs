//! Staff routes: the audit trail, for auditors and administrators: a page at a time as
//! JSON, or everything the filters select as JSON Lines to keep or hand over.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::staff_auth::StaffMember;
use super::subject_routes::page_limit;
use crate::gateway::AuditError;
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiQuery};
use crate::protocol::ErrorCode;
use crate::protocol::subject::SubjectRef;
use crate::store::MAX_PAGE;
use crate::store::audit_chain::AuditEntry;
use crate::store::audit_store::AuditFilter;

/// Longest `action` or `actor` filter: longer than any the gateway writes (the pattern in
/// the OpenAPI document says the same).
const MAX_FILTER_CHARS: usize = 200;
/// Most entries one JSON Lines export holds; narrow it with the filters beyond that.
pub(crate) const MAX_JSONL_ENTRIES: usize = 100_000;

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::NotPermitted => Self::new(ErrorCode::RoleNotPermitted, e.to_string()),
            AuditError::Store(store) => store.into(),
        }
    }
}

/// Which entries: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action (`export.created`, `request.approved`, …).
    #[param(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,200}$")]
    pub action: Option<String>,
    /// Only this actor (`staff:hanna`, `connection:<id>`, `portal:<id>`, `gateway`).
    #[param(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,200}$")]
    pub actor: Option<String>,
    /// Only entries about this person: their reference, matched through its keyed hash.
    #[param(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")]
    pub subject_ref: Option<String>,
    /// Only entries at or after this time (Unix seconds).
    pub since: Option<u64>,
    /// Only entries at or before this time (Unix seconds).
    pub until: Option<u64>,
    /// At most this many entries, oldest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only entries after this number: the `next_after` of the previous page.
    pub after: Option<u64>,
}

/// Which entries a JSON Lines export holds: the filters of [`AuditQuery`], without paging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditExportQuery {
    /// Only this action.
    #[param(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,200}$")]
    pub action: Option<String>,
    /// Only this actor.
    #[param(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,200}$")]
    pub actor: Option<String>,
    /// Only entries about this person: their reference, matched through its keyed hash.
    #[param(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")]
    pub subject_ref: Option<String>,
    /// Only entries at or after this time (Unix seconds).
    pub since: Option<u64>,
    /// Only entries at or before this time (Unix seconds).
    pub until: Option<u64>,
    /// Only entries after this number.
    pub after: Option<u64>,
}

impl From<AuditExportQuery> for AuditQuery {
    fn from(q: AuditExportQuery) -> Self {
        Self {
            action: q.action,
            actor: q.actor,
            subject_ref: q.subject_ref,
            since: q.since,
            until: q.until,
            limit: None,
            after: q.after,
        }
    }
}

/// A page of the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::oversight_examples::audit_page)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The `after` of the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
}

problems!(ListAuditProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// The audit trail, oldest first: each entry with its number, time, actor, action, the
/// objects it concerns, the person as a keyed hash, and the hashes that chain it
/// (`docs/audit.md`). Auditors and administrators only.
#[utoipa::path(
    get, path = "/v1/audit", tag = "staff",
    security(("staff_token" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        ListAuditProblems
    )
)]
pub(crate) async fn list_audit(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = page_limit(query.limit)?;
    let filter = audit_filter(&state, &query)?;
    let entries = state.gateway.audit_page(&member.caller(), &filter, limit).await?;
    let next_after = (entries.len() == limit as usize).then(|| entries.last().map(|e| e.seq)).flatten();
    Ok(Json(AuditPage { entries, next_after }))
}

problems!(ExportAuditProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, PayloadTooLarge, StoreUnavailable);

/// Every entry the filters select as JSON Lines (one entry per line, as in
/// `GET /v1/audit`), oldest first: to keep beside the signed checkpoints, or to hand to
/// an auditor. Auditors and administrators only.
#[utoipa::path(
    get, path = "/v1/audit.jsonl", tag = "staff",
    security(("staff_token" = [])),
    params(AuditExportQuery),
    responses(
        (status = 200, description = "one entry per line", content_type = "application/x-ndjson", body = String, example = super::oversight_examples::audit_lines),
        ExportAuditProblems
    )
)]
pub(crate) async fn export_audit(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiQuery(query): ApiQuery<AuditExportQuery>,
) -> Result<Response, ApiError> {
    let mut filter = audit_filter(&state, &query.into())?;
    let (mut lines, mut count) = (String::new(), 0usize);
    loop {
        let page = state.gateway.audit_page(&member.caller(), &filter, MAX_PAGE).await?;
        for entry in &page {
            let line = serde_json::to_string(entry).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
            let _ = writeln!(lines, "{line}");
        }
        count += page.len();
        if count > MAX_JSONL_ENTRIES {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("more than {MAX_JSONL_ENTRIES} entries: narrow the export with since, until or after"),
            ));
        }
        match page.last() {
            Some(last) if page.len() == MAX_PAGE as usize => filter.after = Some(last.seq),
            _ => break,
        }
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], lines).into_response())
}

fn audit_filter(state: &AppState, query: &AuditQuery) -> Result<AuditFilter, ApiError> {
    let subject = match &query.subject_ref {
        Some(text) => {
            let subject = SubjectRef::parse(text)
                .map_err(|_| ApiError::new(ErrorCode::InvalidParameter, "subject_ref is not a subject reference"))?;
            state.gateway.subject_hash(subject.as_str())
        }
        None => None,
    };
    if query.subject_ref.is_some() && subject.is_none() {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "subjects cannot be looked up: no pseudonym secret"));
    }
    for (name, value) in [("action", &query.action), ("actor", &query.actor)] {
        if value
            .as_deref()
            .is_some_and(|v| v.is_empty() || v.chars().count() > MAX_FILTER_CHARS || v.chars().any(char::is_control))
        {
            let message = format!("{name} is 1 to {MAX_FILTER_CHARS} characters without control characters");
            return Err(ApiError::new(ErrorCode::InvalidParameter, message));
        }
    }
    let (since, until) = (query.since, query.until);
    for (name, value) in [("since", since), ("until", until), ("after", query.after)] {
        if value.is_some_and(|v| i64::try_from(v).is_err()) {
            return Err(ApiError::new(ErrorCode::InvalidParameter, format!("{name} is out of range")));
        }
    }
    Ok(AuditFilter {
        action: query.action.clone(),
        actor: query.actor.clone(),
        subject,
        since,
        until,
        after: query.after,
    })
}
