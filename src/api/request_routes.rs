//! Portal routes for rights requests: file one for the logged-in customer, list theirs.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;
use super::portal_auth::PortalClient;
use super::subject_routes::{SubjectPath, page_limit};
use super::views::{FileRequest, RequestList, RequestPage, RequestView};
use crate::clock::rfc3339;
use crate::gateway::{Gateway, NewRequest, RequestError};
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiJson, ApiQuery};
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::is_valid_id;
use crate::store::request_store::RightsRequest;

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Store(store) => store.into(),
            e => Self::new(e.error_code(), e.to_string()),
        }
    }
}

impl RequestView {
    pub(crate) fn of(r: RightsRequest, gateway: &Gateway) -> Self {
        let deadlines = &gateway.request_rules().deadlines;
        let remedies = gateway.remedies(&r);
        Self {
            due_at: deadlines.end_of_text(r.due_on),
            due_on: r.due_on.to_string(),
            received_at: rfc3339(r.received_at),
            id: r.id,
            number: r.number,
            kind: r.kind,
            subject_ref: r.subject_ref,
            state: r.state,
            phase: r.phase,
            categories: r.categories,
            details: r.details,
            proposed: r.proposed,
            channel: r.channel,
            identification: r.identification,
            intermediary: r.intermediary,
            contact: gateway.contact().to_owned(),
            outcome: r.outcome,
            remedies,
        }
    }
}

problems!(FileRequestProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, CategoryNotFound, FieldNotRectifiable, ProposedValueInvalid, RequestLimitReached, StoreUnavailable);

/// Files a rights request for the portal's logged-in customer and acknowledges it at once:
/// the answer carries the request number, the due date (one month, art. 12(3) GDPR) and
/// whom to contact. The portal vouches for the customer; the register records it so.
#[utoipa::path(
    post, path = "/v1/subjects/{subject_ref}/requests", tag = "portal",
    security(("portal_token" = [])),
    params(("subject_ref" = String, Path, pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")),
    request_body = FileRequest,
    responses(
        (status = 201, body = RequestView),
        FileRequestProblems
    )
)]
pub(crate) async fn file_request(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    SubjectPath(subject): SubjectPath,
    ApiJson(body): ApiJson<FileRequest>,
) -> Result<(StatusCode, Json<RequestView>), ApiError> {
    if body.categories.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "categories, when given, names at least one"));
    }
    let new = NewRequest {
        kind: body.kind,
        categories: body.categories.unwrap_or_default(),
        details: body.details,
        proposed: body.proposed.map(serde_json::Value::Object),
    };
    let filed = state.gateway.file_request(&client.caller(), &subject, new).await?;
    Ok((StatusCode::CREATED, Json(RequestView::of(filed.request, &state.gateway))))
}

problems!(ListRequestsProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, StoreUnavailable);

/// A customer's rights requests, newest first, with where each stands and when it is due.
#[utoipa::path(
    get, path = "/v1/subjects/{subject_ref}/requests", tag = "portal",
    security(("portal_token" = [])),
    params(("subject_ref" = String, Path, pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"), RequestPage),
    responses(
        (status = 200, body = RequestList),
        ListRequestsProblems
    )
)]
pub(crate) async fn list_subject_requests(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    SubjectPath(subject): SubjectPath,
    ApiQuery(page): ApiQuery<RequestPage>,
) -> Result<Json<RequestList>, ApiError> {
    let limit = page_limit(page.limit)?;
    if page.before.as_deref().is_some_and(|id| !is_valid_id(id)) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "before must be a request id"));
    }
    let requests = state.gateway.requests_of(&client.caller(), &subject, limit, page.before.as_deref()).await?;
    let next_before = (requests.len() == limit as usize).then(|| requests.last().map(|r| r.id.clone())).flatten();
    let requests = requests.into_iter().map(|r| RequestView::of(r, &state.gateway)).collect();
    Ok(Json(RequestList { requests, next_before }))
}
