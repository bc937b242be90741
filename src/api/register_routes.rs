//! Staff routes: the register of rights requests, one request with its history, and the
//! register as CSV for the yearly report.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::staff_auth::StaffMember;
use super::subject_routes::page_limit;
use super::views::{
    CriterionView, HistoryEntry, OperationView, ReceiptView, RegisterPage, RegisterQuery, RequestDetail, RequestList,
    RequestView, WorkflowView,
};
use crate::bundle::csv::write_row;
use crate::calendar::Date;
use crate::clock::rfc3339;
use crate::gateway::RequestError;
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiQuery};
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::is_valid_id;
use crate::store::MAX_PAGE;
use crate::store::request_store::{RegisterFilter, RightsRequest};

/// Most requests one CSV export holds; narrow it with the filters beyond that.
pub(crate) const MAX_CSV_ROWS: usize = 100_000;

problems!(ListRequestsRegisterProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// The register of rights requests, newest first, for every staff role: filter by state,
/// type and due date (`state=open&due_before=<today>` lists the overdue ones).
#[utoipa::path(
    get, path = "/v1/requests", tag = "staff",
    security(("staff_token" = [])),
    params(RegisterPage),
    responses(
        (status = 200, body = RequestList),
        ListRequestsRegisterProblems
    )
)]
pub(crate) async fn list_requests(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiQuery(page): ApiQuery<RegisterPage>,
) -> Result<Json<RequestList>, ApiError> {
    let limit = page_limit(page.limit)?;
    if page.before.as_deref().is_some_and(|id| !is_valid_id(id)) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "before must be a request id"));
    }
    let query = RegisterQuery { state: page.state, kind: page.kind, due_before: page.due_before.clone() };
    let (filter, before) = (register_filter(&state, &query)?, page.before.as_deref());
    let requests = state.gateway.request_register(&member.caller(), &filter, limit, before).await?;
    let next_before = (requests.len() == limit as usize).then(|| requests.last().map(|r| r.id.clone())).flatten();
    Ok(Json(RequestList { requests: requests.into_iter().map(|r| view(&state, r)).collect(), next_before }))
}

problems!(GetRequestProblems: MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, RequestNotFound, StoreUnavailable);

/// One request with its whole history: who did what, when, in which phase.
#[utoipa::path(
    get, path = "/v1/requests/{request_id}", tag = "staff",
    security(("staff_token" = [])),
    params(("request_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, body = RequestDetail),
        GetRequestProblems
    )
)]
pub(crate) async fn get_request(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    Ok(Json(detail(&state, &member.caller(), &id).await?))
}

problems!(ExportRequestsCsvProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, PayloadTooLarge, StoreUnavailable);

/// The register as CSV (RFC 4180), with the same filters, newest first: for the yearly
/// report and for spreadsheets.
#[utoipa::path(
    get, path = "/v1/requests.csv", tag = "staff",
    security(("staff_token" = [])),
    params(RegisterQuery),
    responses(
        (status = 200, description = "one line per request, with a header line", content_type = "text/csv", body = String),
        ExportRequestsCsvProblems
    )
)]
pub(crate) async fn export_requests_csv(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiQuery(query): ApiQuery<RegisterQuery>,
) -> Result<Response, ApiError> {
    let filter = register_filter(&state, &query)?;
    let mut csv = String::from(
        "number,type,state,phase,channel,subject_ref,categories,identification,received_at,due_on,updated_at\r\n",
    );
    let (mut rows, mut before) = (0usize, None::<String>);
    loop {
        let page = state.gateway.request_register(&member.caller(), &filter, MAX_PAGE, before.as_deref()).await?;
        for r in &page {
            let fields = [
                r.number.clone(),
                r.kind.as_str().to_owned(),
                r.state.as_str().to_owned(),
                r.phase.clone(),
                r.channel.as_str().to_owned(),
                r.subject_ref.clone(),
                r.categories.join(";"),
                r.identification.clone(),
                rfc3339(r.received_at),
                r.due_on.to_string(),
                rfc3339(r.updated_at),
            ];
            write_row(fields.iter().map(String::as_str), &mut csv);
        }
        rows += page.len();
        if rows > MAX_CSV_ROWS {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("more than {MAX_CSV_ROWS} requests: narrow the export with state, type or due_before"),
            ));
        }
        if page.len() < MAX_PAGE as usize {
            break;
        }
        before = page.last().map(|r| r.id.clone());
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}

fn register_filter(state: &AppState, query: &RegisterQuery) -> Result<RegisterFilter, ApiError> {
    let due_before = match query.due_before.as_deref() {
        None => None,
        Some(text) => {
            let date = Date::parse(text)
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidParameter, "due_before must be a date, YYYY-MM-DD"))?;
            Some(state.gateway.request_rules().deadlines.start_of(date))
        }
    };
    Ok(RegisterFilter { subject_ref: None, state: query.state, kind: query.kind, due_before })
}

fn view(state: &AppState, request: RightsRequest) -> RequestView {
    RequestView::of(request, &state.gateway)
}

/// One request as staff see it: with its history and what it needs to move on.
pub(crate) async fn detail(
    state: &AppState,
    caller: &crate::gateway::Caller,
    id: &str,
) -> Result<RequestDetail, ApiError> {
    if !is_valid_id(id) {
        return Err(ApiError::bare(ErrorCode::RequestNotFound));
    }
    let (request, history) = state.gateway.request_with_history(caller, id).await?;
    let status = state.gateway.phase_plan().status(&request, &history);
    let workflow = WorkflowView {
        criteria: status
            .criteria
            .into_iter()
            .map(|c| CriterionView { id: c.id, mandatory: c.mandatory, met: c.met })
            .collect(),
        next_phase: status.next_phase,
        approver_role: status.approver_role,
    };
    let history = history
        .into_iter()
        .map(|e| HistoryEntry { at: rfc3339(e.at), actor: e.actor, phase: e.phase, action: e.action, detail: e.detail })
        .collect();
    let operations = state
        .gateway
        .request_actions(caller, id)
        .await?
        .into_iter()
        .map(|a| OperationView {
            seq: a.seq,
            category: a.category,
            operation: a.operation,
            argument: a.argument,
            status: a.status,
            note: a.note,
            evidence: (!a.evidence.is_empty()).then(|| serde_json::json!(a.evidence)),
            updated_at: rfc3339(a.updated_at),
            updated_by: a.updated_by,
        })
        .collect();
    let receipt = match state.gateway.request_receipt(caller, id).await {
        Ok(r) => Some(ReceiptView {
            signed_at: rfc3339(r.signed_at),
            acknowledged_at: r.acknowledged_at.map(rfc3339),
            flagged_at: r.flagged_at.map(rfc3339),
        }),
        Err(RequestError::NoReceipt(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(RequestDetail { request: view(state, request), history, workflow, operations, receipt })
}
