//! Staff routes that move a rights request on: record a criterion, advance (or approve)
//! it to the next phase, extend its deadline, refuse it. Each answers the request as it
//! now stands, with its history.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use super::AppState;
use super::register_routes::detail;
use super::staff_auth::StaffMember;
use super::views::{AdvanceRequest, ExtendRequest, RecordCriterion, ReferRequest, RefuseRequest, RequestDetail};
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiJson};
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::is_valid_id;

/// A request id from the path, or the 404 an unknown one gets.
pub(super) fn request_id(id: &str) -> Result<&str, ApiError> {
    if is_valid_id(id) { Ok(id) } else { Err(ApiError::bare(ErrorCode::RequestNotFound)) }
}

problems!(RecordCriterionProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, CriterionNotInPhase, RequestClosed, RequestChanged, StoreUnavailable);

/// Records that a criterion of the request's current phase is met (identity verified,
/// scope determined, legal holds checked, …), with how. Handlers, approvers and admins.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/criteria", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body = RecordCriterion,
    responses((status = 200, body = RequestDetail), RecordCriterionProblems)
)]
pub(crate) async fn record_criterion(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordCriterion>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = request_id(&id)?;
    state.gateway.record_criterion(&member.caller(), id, &body.criterion, body.note.as_deref()).await?;
    Ok(Json(detail(&state, &member.caller(), id).await?))
}

problems!(AdvanceRequestProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, CriteriaUnmet, RequestClosed, RequestChanged, StoreUnavailable);

/// Moves the request to its next phase once the mandatory criteria of this one are met
/// (409 `criteria_unmet` names the others); a phase with an approver role is left only by
/// that role, and for erasure, rectification and restriction not by whoever prepared the
/// request (four eyes). From the last phase the request is closed.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/advance", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body = AdvanceRequest,
    responses((status = 200, body = RequestDetail), AdvanceRequestProblems)
)]
pub(crate) async fn advance_request(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AdvanceRequest>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = request_id(&id)?;
    state.gateway.advance_request(&member.caller(), id, body.note.as_deref()).await?;
    Ok(Json(detail(&state, &member.caller(), id).await?))
}

problems!(ExtendRequestProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, RequestClosed, ExtensionNotAllowed, RequestChanged, StoreUnavailable);

/// Extends the deadline once by one or two months, with the reason the person is told,
/// while the first month runs (art. 12(3)).
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/extension", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body = ExtendRequest,
    responses((status = 200, body = RequestDetail), ExtendRequestProblems)
)]
pub(crate) async fn extend_request(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ExtendRequest>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = request_id(&id)?;
    state.gateway.extend_request(&member.caller(), id, body.months, &body.reason).await?;
    Ok(Json(detail(&state, &member.caller(), id).await?))
}

problems!(RefuseRequestProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, RequestClosed, RequestChanged, StoreUnavailable);

/// Refuses the request with its reason; the answer names the supervisory authority and the
/// judicial remedy the person has (art. 12(4)). Approvers and admins.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/refusal", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body = RefuseRequest,
    responses((status = 200, body = RequestDetail), RefuseRequestProblems)
)]
pub(crate) async fn refuse_request(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RefuseRequest>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = request_id(&id)?;
    state.gateway.refuse_request(&member.caller(), id, &body.reason).await?;
    Ok(Json(detail(&state, &member.caller(), id).await?))
}

problems!(ReferRequestProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, ControllerNotListed, RequestClosed, RequestChanged, StoreUnavailable);

/// Refers the person to another organisation of the trust framework that holds data the
/// request concerns, with its name and privacy contact from the trust list (bijlage 2,
/// step 4b); with `close`, the request concerned only their data and closes as referred
/// (step 4a). Handlers, approvers and admins.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/referral", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body = ReferRequest,
    responses((status = 200, body = RequestDetail), ReferRequestProblems)
)]
pub(crate) async fn refer_request(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReferRequest>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = request_id(&id)?;
    let gateway = &state.gateway;
    gateway.refer_request(&member.caller(), id, &body.controller_id, body.about.as_deref(), body.close).await?;
    Ok(Json(detail(&state, &member.caller(), id).await?))
}
