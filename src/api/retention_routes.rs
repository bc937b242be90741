//! Staff routes of retention: what is deleted soon, and legal holds that stop deletion for
//! a person or a request.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::staff_auth::StaffMember;
use super::subject_routes::page_limit;
use crate::clock::rfc3339;
use crate::gateway::{HoldError, SourceRetention, Tally, Upcoming};
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiJson, ApiQuery};
use crate::inventory::IsoDuration;
use crate::protocol::ErrorCode;
use crate::store::retention_store::LegalHold;

impl From<HoldError> for ApiError {
    fn from(e: HoldError) -> Self {
        let message = e.to_string();
        let code = match e {
            HoldError::Store(store) => return store.into(),
            HoldError::NotPermitted => ErrorCode::RoleNotPermitted,
            HoldError::NotFound(_) => ErrorCode::LegalHoldNotFound,
            HoldError::Invalid(_) => ErrorCode::InvalidParameter,
            HoldError::Lifted => ErrorCode::LegalHoldLifted,
        };
        Self::new(code, message)
    }
}

/// How far ahead.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UpcomingQuery {
    /// An ISO 8601 duration (`P30D`); the configured warning period when absent.
    #[param(pattern = "^P[0-9YMWDTHS]{1,63}$")]
    pub within: Option<String>,
}

/// One row that goes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ExpiringView {
    pub id: String,
    /// When its retention started counting.
    pub since: String,
    /// When the sweep deletes it.
    pub deleted_at: String,
}

/// One kind's rows that go.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct UpcomingKind {
    /// `exports`, `imports`, `ended_pairings`, `revoked_connections`, `request_documents`.
    pub kind: String,
    pub count: usize,
    /// The first 100, soonest first.
    pub rows: Vec<ExpiringView>,
}

/// What retention deletes within the period, per kind; nothing under a legal hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = super::oversight_examples::upcoming_deletions)]
pub(crate) struct UpcomingDeletions {
    pub through: String,
    pub kinds: Vec<UpcomingKind>,
}

impl UpcomingKind {
    fn of(u: Upcoming) -> Self {
        let rows = u
            .rows
            .into_iter()
            .map(|(row, at)| ExpiringView { id: row.id, since: rfc3339(row.since), deleted_at: rfc3339(at) })
            .collect();
        Self { kind: u.kind.as_str().to_owned(), count: u.count, rows }
    }
}

problems!(UpcomingProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// What retention deletes within `within` (default: the warning period), per kind:
/// the export and import registers, ended pairings, revoked connections and request
/// documents. Anything of a person or request under a legal hold stays and is not listed.
#[utoipa::path(
    get, path = "/v1/retention/upcoming", tag = "staff",
    security(("staff_token" = [])),
    params(UpcomingQuery),
    responses((status = 200, body = UpcomingDeletions), UpcomingProblems)
)]
pub(crate) async fn list_upcoming_deletions(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiQuery(query): ApiQuery<UpcomingQuery>,
) -> Result<Json<UpcomingDeletions>, ApiError> {
    let within = match query.within.as_deref() {
        Some(text) => {
            IsoDuration::parse(text).map_err(|e| ApiError::new(ErrorCode::InvalidParameter, e.to_string()))?
        }
        None => state.gateway.retention_warning_period(),
    };
    let through = rfc3339(within.after(state.gateway.clock().now()));
    let kinds = state
        .gateway
        .upcoming_deletions(&member.caller(), within)
        .await?
        .ok_or_else(|| ApiError::bare(ErrorCode::RoleNotPermitted))?;
    Ok(Json(UpcomingDeletions { through, kinds: kinds.into_iter().map(UpcomingKind::of).collect() }))
}

/// Records and the people they are about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct TallyView {
    pub records: u64,
    pub subjects: u64,
}

impl From<Tally> for TallyView {
    fn from(t: Tally) -> Self {
        Self { records: t.records, subjects: t.subjects }
    }
}

/// One person's records past retention.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct SubjectPastRetentionView {
    pub subject_ref: String,
    pub records: u64,
    /// The earliest record date, as the source writes it.
    pub oldest: Option<String>,
    /// Kept for a legal hold.
    pub held: bool,
}

/// What one category's source holds past its retention.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct SourceRetentionView {
    pub source: String,
    pub category: String,
    /// The record field retention counts from.
    pub date_field: String,
    /// ISO 8601 duration.
    pub retention: String,
    /// Whether the gateway erases these records itself after the warning period.
    pub erase: bool,
    /// Records dated before this (`YYYY-MM-DD`, or an instant for periods under a day)
    /// are past retention; absent when none can be yet.
    pub dated_before: Option<String>,
    pub expired: TallyView,
    /// Of the expired, kept for a legal hold.
    pub held: TallyView,
    /// Past retention within the warning period.
    pub upcoming: TallyView,
    /// When erasing: records due through this instant were announced a warning period
    /// ago or more and go at the next sweep; absent when none were yet.
    pub erasable_through: Option<String>,
    /// The first 100 people with records past retention, most records first.
    pub subjects: Vec<SubjectPastRetentionView>,
    /// Why the source could not be asked (unreachable, or it cannot list by date).
    pub error: Option<String>,
}

/// Retention at the sources, per category whose records carry a date.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = super::oversight_examples::source_retention_report)]
pub(crate) struct SourceRetentionReport {
    /// The warning period, ISO 8601.
    pub warn_before: String,
    pub categories: Vec<SourceRetentionView>,
}

impl From<SourceRetention> for SourceRetentionView {
    fn from(r: SourceRetention) -> Self {
        let subjects = r
            .subjects
            .into_iter()
            .map(|s| SubjectPastRetentionView {
                subject_ref: s.subject_ref,
                records: s.records,
                oldest: s.oldest,
                held: s.held,
            })
            .collect();
        Self {
            source: r.source,
            category: r.category,
            date_field: r.date_field,
            retention: r.retention.to_string(),
            erase: r.erase,
            dated_before: r.cutoff.map(|c| c.text()),
            expired: r.expired.into(),
            held: r.held.into(),
            upcoming: r.upcoming.into(),
            erasable_through: r.erasable_through.map(rfc3339),
            subjects,
            error: r.error,
        }
    }
}

problems!(SourceRetentionProblems: MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// What each source holds past its retention, for every category whose records carry a
/// date (`retention_date_field`): how many records and people, how many are held, what
/// comes within the warning period, and, where the gateway erases them itself
/// (`erase_when_expired`), through when they are due to go. A source that cannot be
/// asked is named with why; the report still answers.
#[utoipa::path(
    get, path = "/v1/retention/sources", tag = "staff",
    security(("staff_token" = [])),
    responses((status = 200, body = SourceRetentionReport), SourceRetentionProblems)
)]
pub(crate) async fn source_retention_report(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
) -> Result<Json<SourceRetentionReport>, ApiError> {
    let categories = state
        .gateway
        .source_retention(&member.caller())
        .await?
        .ok_or_else(|| ApiError::bare(ErrorCode::RoleNotPermitted))?;
    let warn_before = state.gateway.retention_warning_period().to_string();
    Ok(Json(SourceRetentionReport { warn_before, categories: categories.into_iter().map(Into::into).collect() }))
}

/// A hold to place: on a person or on one rights request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = super::oversight_examples::place_hold)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlaceHold {
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")]
    pub subject_ref: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub request_id: Option<String>,
    /// Why: the claim, investigation or authority's order that needs the records kept.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

/// Why a hold is lifted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = super::oversight_examples::lift_hold)]
#[serde(deny_unknown_fields)]
pub(crate) struct LiftHold {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

/// A legal hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = super::oversight_examples::legal_hold)]
pub(crate) struct LegalHoldView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: String,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifted_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifted_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifted_at: Option<String>,
}

impl LegalHoldView {
    fn of(h: LegalHold) -> Self {
        Self {
            active: h.lifted.is_none(),
            lifted_by: h.lifted.as_ref().map(|l| l.by.clone()),
            lifted_reason: h.lifted.as_ref().map(|l| l.reason.clone()),
            lifted_at: h.lifted.as_ref().map(|l| rfc3339(l.at)),
            id: h.id,
            subject_ref: h.subject_ref,
            request_id: h.request_id,
            reason: h.reason,
            placed_by: h.placed_by,
            placed_at: rfc3339(h.placed_at),
        }
    }
}

/// Legal holds, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = super::oversight_examples::legal_hold_list)]
pub(crate) struct LegalHoldList {
    pub holds: Vec<LegalHoldView>,
}

/// Which holds.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HoldQuery {
    /// Only the active ones.
    pub active: Option<bool>,
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

problems!(PlaceHoldProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// Places a legal hold on a person or a rights request (approvers and admins): nothing of
/// theirs is deleted by retention until it is lifted.
#[utoipa::path(
    post, path = "/v1/legal-holds", tag = "staff",
    security(("staff_token" = [])),
    request_body = PlaceHold,
    responses((status = 201, body = LegalHoldView), PlaceHoldProblems)
)]
pub(crate) async fn place_legal_hold(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiJson(body): ApiJson<PlaceHold>,
) -> Result<(StatusCode, Json<LegalHoldView>), ApiError> {
    let hold = state.gateway.place_legal_hold(&member.caller(), body.subject_ref, body.request_id, body.reason).await?;
    Ok((StatusCode::CREATED, Json(LegalHoldView::of(hold))))
}

problems!(ListHoldsProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// Legal holds, newest first, lifted ones with who lifted them and why (staff).
#[utoipa::path(
    get, path = "/v1/legal-holds", tag = "staff",
    security(("staff_token" = [])),
    params(HoldQuery),
    responses((status = 200, body = LegalHoldList), ListHoldsProblems)
)]
pub(crate) async fn list_legal_holds(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiQuery(query): ApiQuery<HoldQuery>,
) -> Result<Json<LegalHoldList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let holds = state.gateway.legal_holds(&member.caller(), query.active.unwrap_or(false), limit).await?;
    Ok(Json(LegalHoldList { holds: holds.into_iter().map(LegalHoldView::of).collect() }))
}

problems!(LiftHoldProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, LegalHoldNotFound, LegalHoldLifted, StoreUnavailable);

/// Lifts a legal hold, with the reason (approvers and admins); retention resumes on the
/// next sweep.
#[utoipa::path(
    post, path = "/v1/legal-holds/{hold_id}/lift", tag = "staff",
    security(("staff_token" = [])),
    params(("hold_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body = LiftHold,
    responses((status = 200, body = LegalHoldView), LiftHoldProblems)
)]
pub(crate) async fn lift_legal_hold(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LiftHold>,
) -> Result<Json<LegalHoldView>, ApiError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bare(ErrorCode::LegalHoldNotFound));
    }
    let hold = state.gateway.lift_legal_hold(&member.caller(), &id, body.reason).await?;
    Ok(Json(LegalHoldView::of(hold)))
}
