//! The outbox's delivery log for staff: every webhook and wallet notice, whether it was
//! delivered, and each attempt with the receiver's answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::staff_auth::StaffMember;
use super::views::{AttemptView, DeliveryList, DeliveryPage, DeliveryState, DeliveryView};
use crate::clock::rfc3339;
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiQuery};
use crate::protocol::ErrorCode;

/// Most notices one page of the delivery log holds, each with its attempts.
pub(crate) const MAX_DELIVERY_PAGE: u32 = 100;
const DEFAULT_DELIVERY_PAGE: u32 = 50;
/// Longest `target` filter: `webhook:` or `wallet:` and an id.
pub(crate) const MAX_TARGET_CHARS: usize = 200;

problems!(ListDeliveriesProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// The delivery log, newest first: each notice (webhook or wallet message) with its state
/// and every attempt. Every staff role.
#[utoipa::path(
    get, path = "/v1/deliveries", tag = "staff",
    security(("staff_token" = [])),
    params(DeliveryPage),
    responses((status = 200, body = DeliveryList), ListDeliveriesProblems)
)]
pub(crate) async fn list_deliveries(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiQuery(page): ApiQuery<DeliveryPage>,
) -> Result<Json<DeliveryList>, ApiError> {
    let limit = page.limit.unwrap_or(DEFAULT_DELIVERY_PAGE);
    if !(1..=MAX_DELIVERY_PAGE).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, format!("limit is 1 to {MAX_DELIVERY_PAGE}")));
    }
    let valid_before = |id: &str| {
        id.strip_prefix("msg_").is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if page.before.as_deref().is_some_and(|id| !valid_before(id)) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "before must be a notice id (msg_…)"));
    }
    let target = page.target.as_deref();
    if target.is_some_and(|t| t.chars().count() > MAX_TARGET_CHARS) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("target is at most {MAX_TARGET_CHARS} characters"),
        ));
    }
    let log = state.gateway.deliveries(&member.caller(), target, limit, page.before.as_deref()).await?;
    let next_before = (log.len() == limit as usize).then(|| log.last().map(|(d, _)| d.notice.id.clone())).flatten();
    let deliveries = log
        .into_iter()
        .map(|(d, attempts)| {
            let state = match (d.delivered_at, d.abandoned_at) {
                (Some(_), _) => DeliveryState::Delivered,
                (None, Some(_)) => DeliveryState::Abandoned,
                (None, None) => DeliveryState::Pending,
            };
            DeliveryView {
                next_attempt_at: (state == DeliveryState::Pending).then(|| rfc3339(d.next_at)),
                id: d.notice.id,
                target: d.notice.target,
                event_type: d.notice.event_type,
                state,
                created_at: rfc3339(d.notice.created_at),
                attempts: attempts
                    .into_iter()
                    .map(|a| AttemptView { at: rfc3339(a.at), status: a.status, error: a.error })
                    .collect(),
            }
        })
        .collect();
    Ok(Json(DeliveryList { deliveries, next_before }))
}
