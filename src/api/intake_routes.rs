//! Staff routes for requests that came in writing: register one, archive its document
//! (and read it back), record how the sender's identity was checked.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::register_routes::detail;
use super::staff_auth::StaffMember;
use super::views::{
    BinaryBody, DocumentView, RecordIdentification, RegisterWrittenRequest, RequestDetail, RequestView,
};
use super::workflow_routes::request_id;
use crate::calendar::Date;
use crate::gateway::{NewRequest, WrittenRequest};
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiJson};
use crate::protocol::rights::StaffRole;
use crate::protocol::{ErrorCode, SubjectRef};

problems!(RegisterWrittenRequestProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, CategoryNotFound, FieldNotRectifiable, ProposedValueInvalid, RequestLimitReached, StoreUnavailable);

/// Registers a request that came in writing (a letter, an e-mail, a phone call confirmed
/// in writing): numbered and due from the day it arrived, identity `pending` until a
/// handler records how it was checked. Handlers and admins.
#[utoipa::path(
    post, path = "/v1/requests", tag = "staff",
    security(("staff_token" = [])),
    request_body = RegisterWrittenRequest,
    responses((status = 201, body = RequestView), RegisterWrittenRequestProblems)
)]
pub(crate) async fn register_written_request(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiJson(body): ApiJson<RegisterWrittenRequest>,
) -> Result<(StatusCode, Json<RequestView>), ApiError> {
    let invalid = |m: &str| ApiError::new(ErrorCode::InvalidParameter, m);
    let subject = SubjectRef::parse(&body.subject_ref).map_err(|e| invalid(&format!("subject_ref: {e}")))?;
    if body.categories.as_ref().is_some_and(Vec::is_empty) {
        return Err(invalid("categories, when given, names at least one"));
    }
    let received_on = match &body.received_on {
        Some(text) => Some(Date::parse(text).ok_or_else(|| invalid("received_on is a date, YYYY-MM-DD"))?),
        None => None,
    };
    let written = WrittenRequest {
        subject,
        request: NewRequest {
            kind: body.kind,
            categories: body.categories.unwrap_or_default(),
            details: body.details,
            proposed: body.proposed.map(serde_json::Value::Object),
        },
        received_on,
        intermediary: body.intermediary,
    };
    let filed = state.gateway.register_written_request(&member.caller(), written).await?;
    Ok((StatusCode::CREATED, Json(RequestView::of(filed.request, &state.gateway))))
}

problems!(AttachDocumentProblems: MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, InvalidParameter, UnsupportedMediaType, PayloadTooLarge, DocumentAttached, StoreUnavailable);

/// Archives the written request itself (bijlage 2, step 2): the body is the document as
/// it is (PDF, PNG, JPEG, TIFF, an `.eml` e-mail or plain text), its `Content-Type` says
/// which; at most `[requests] max_document_bytes` (10 MiB). Stored once, never replaced,
/// deleted when its retention ends. Handlers and admins.
#[utoipa::path(
    put, path = "/v1/requests/{request_id}/document", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body(content(
        (BinaryBody = "application/pdf"), (BinaryBody = "image/png"), (BinaryBody = "image/jpeg"),
        (BinaryBody = "image/tiff"), (BinaryBody = "message/rfc822"), (BinaryBody = "text/plain")
    ), description = "the document as it is"),
    responses((status = 201, body = DocumentView), AttachDocumentProblems)
)]
pub(crate) async fn attach_document(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DocumentView>), ApiError> {
    let id = request_id(&id)?;
    // Who may attach, and how much, is settled before a byte of the body is read.
    if !matches!(member.role, StaffRole::Handler | StaffRole::Admin) {
        return Err(ApiError::new(ErrorCode::RoleNotPermitted, "this needs the role handler or admin"));
    }
    let max = state.gateway.request_rules().max_document_bytes;
    let too_large = || ApiError::new(ErrorCode::PayloadTooLarge, format!("a document is at most {max} bytes"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let content = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let media_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let document = state.gateway.attach_document(&member.caller(), id, media_type, Vec::from(content)).await?;
    let view = DocumentView {
        media_type: document.media_type,
        size: document.content.len() as u64,
        sha256: document.sha256,
        file_name: document.file_name,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

problems!(GetDocumentProblems: MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, DocumentNotFound, StoreUnavailable);

/// The archived document of a written request, as it was stored, under its archive name.
/// Every staff role.
#[utoipa::path(
    get, path = "/v1/requests/{request_id}/document", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "the document, with its media type", content_type = "application/octet-stream", body = BinaryBody),
        GetDocumentProblems
    )
)]
pub(crate) async fn get_document(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let document = state.gateway.document(&member.caller(), request_id(&id)?).await?;
    let disposition = format!("attachment; filename=\"{}\"", document.file_name);
    let headers = [
        (header::CONTENT_TYPE, document.media_type),
        (header::CONTENT_DISPOSITION, disposition),
        (header::HeaderName::from_static("x-content-type-options"), "nosniff".to_owned()),
    ];
    Ok((headers, document.content).into_response())
}

problems!(RecordIdentificationProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, RequestClosed, AlreadyIdentified, RequestChanged, StoreUnavailable);

/// Records how the identity of a written request's sender was checked; meets the
/// `identity_verified` criterion. Handlers, approvers and admins.
#[utoipa::path(
    post, path = "/v1/requests/{request_id}/identification", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body = RecordIdentification,
    responses((status = 200, body = RequestDetail), RecordIdentificationProblems)
)]
pub(crate) async fn record_identification(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordIdentification>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = request_id(&id)?;
    state.gateway.record_identification(&member.caller(), id, &body.method).await?;
    Ok(Json(detail(&state, &member.caller(), id).await?))
}
