//! Routes for carrying a request out and proving it: a handler settles an operation the
//! gateway could not do (`POST …/operations/{seq}`), and staff and the person's portal
//! download the signed receipt of an ended request as `application/jwt`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::portal_auth::PortalClient;
use super::register_routes::detail;
use super::staff_auth::StaffMember;
use super::views::{RequestDetail, SettleOperation, TaskOutcome};
use super::workflow_routes::request_id;
use crate::bundle::JWT_MEDIA_TYPE;
use crate::gateway::TaskResult;
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiJson};
use crate::protocol::ErrorCode;
use crate::protocol::subject::SubjectRef;
use crate::store::action_store::StoredReceipt;

problems!(SettleOperationProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, OperationNotFound, OperationNotATask, RequestClosed, RequestChanged, StoreUnavailable);

/// Settles a task: an operation the source cannot do, refused, or never answered. `done`
/// says it was carried out by hand, `refused` that it was not, on the ground given; the
/// note goes into the receipt. Handlers, approvers and admins.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/operations/{seq}", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$"), ("seq" = u32, Path, minimum = 1)),
    request_body = SettleOperation,
    responses((status = 200, body = RequestDetail), SettleOperationProblems)
)]
pub(crate) async fn settle_operation(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path((id, seq)): Path<(String, String)>,
    ApiJson(body): ApiJson<SettleOperation>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = request_id(&id)?;
    // Any text reaches here, so a bad number gets the API's own 404, not the router's.
    let seq: u32 = seq.parse().ok().filter(|n| *n > 0).ok_or_else(|| ApiError::bare(ErrorCode::OperationNotFound))?;
    let result = match body.result {
        TaskOutcome::Done => TaskResult::Done,
        TaskOutcome::Refused => TaskResult::Refused,
    };
    state.gateway.settle_task(&member.caller(), id, seq, result, &body.note).await?;
    Ok(Json(detail(&state, &member.caller(), id).await?))
}

problems!(GetReceiptProblems: MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, ReceiptNotFound, StoreUnavailable);

/// The signed receipt of an ended request (`typ gdpr-receipt+jwt`, `docs/receipt-format.md`).
/// Every staff role.
#[utoipa::path(
    get, path = "/v1/requests/{request_id}/receipt", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "the receipt, a compact JWS", content_type = "application/jwt", body = String),
        GetReceiptProblems
    )
)]
pub(crate) async fn get_receipt(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let receipt = state.gateway.request_receipt(&member.caller(), request_id(&id)?).await?;
    Ok(jwt(receipt))
}

problems!(GetSubjectReceiptProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, RequestNotFound, ReceiptNotFound, StoreUnavailable);

/// The signed receipt of one of the person's ended requests, for the portal to offer them.
#[utoipa::path(
    get, path = "/v1/subjects/{subject_ref}/requests/{request_id}/receipt", tag = "portal",
    security(("portal_token" = [])),
    params(
        ("subject_ref" = String, Path, pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"),
        ("request_id" = String, Path, pattern = "^[0-9a-f]{32}$"),
    ),
    responses(
        (status = 200, description = "the receipt, a compact JWS", content_type = "application/jwt", body = String),
        GetSubjectReceiptProblems
    )
)]
pub(crate) async fn get_subject_receipt(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    Path((subject, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let subject = SubjectRef::parse(&subject)?;
    let receipt = state.gateway.subject_request_receipt(&client.caller(), &subject, request_id(&id)?).await?;
    Ok(jwt(receipt))
}

fn jwt(receipt: StoredReceipt) -> Response {
    // The domain answers only receipts that still have their token.
    ([(header::CONTENT_TYPE, JWT_MEDIA_TYPE)], receipt.token.unwrap_or_default()).into_response()
}
