//! Staff routes of the breach register: record a suspected breach, answer the procedure's
//! questions, read the register, draft the authority's notification, record that it was
//! sent, and tell the people affected through their wallets.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::authority_draft_page;
use super::processing_register_routes::{Format, preferred};
use super::staff_auth::StaffMember;
use super::subject_routes::page_limit;
use crate::calendar::Date;
use crate::clock::rfc3339;
use crate::gateway::{
    AuthorityNotificationDraft, Breach, BreachAnswers, BreachError, BreachFacts, BreachOutcome, BreachQuestion,
    ClockState,
};
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiJson, ApiQuery, optional_object};
use crate::protocol::ErrorCode;

impl From<BreachError> for ApiError {
    fn from(e: BreachError) -> Self {
        let message = e.to_string();
        let code = match e {
            BreachError::Store(store) => return store.into(),
            BreachError::NotPermitted => ErrorCode::RoleNotPermitted,
            BreachError::NotFound(_) => ErrorCode::BreachNotFound,
            BreachError::Invalid(_) => ErrorCode::InvalidParameter,
            BreachError::NotNotifiable(_) => ErrorCode::BreachNotNotifiable,
            BreachError::AlreadyNotified => ErrorCode::AlreadyNotified,
            BreachError::FactsMissing(_) => ErrorCode::BreachFactsMissing,
            BreachError::Changed => ErrorCode::BreachChanged,
        };
        Self::new(code, message)
    }
}

/// A suspected breach, as recorded.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = super::oversight_examples::new_breach)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewBreach {
    #[serde(flatten)]
    pub facts: BreachFacts,
    /// When the organisation became aware of it (RFC 3339, UTC, `…Z`): the 72-hour clock
    /// starts here. Now when absent; at most a year back.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub aware_at: Option<String>,
    /// Answers already known; the rest can follow.
    #[serde(default, deserialize_with = "optional_object")]
    pub answers: Option<BreachAnswers>,
}

/// What changes: the facts given replace the record's; the answers given are taken over
/// the record's (an answer can be changed, not taken back).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = super::oversight_examples::breach_change)]
#[serde(deny_unknown_fields)]
pub(crate) struct BreachChange {
    #[serde(default, deserialize_with = "optional_object")]
    pub facts: Option<BreachFacts>,
    #[serde(default, deserialize_with = "optional_object")]
    pub answers: Option<BreachAnswers>,
}

/// That the supervisory authority was notified.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = super::oversight_examples::authority_notified)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthorityNotified {
    /// The breach's `version` as reviewed: refused with 409 `breach_changed` when the
    /// record changed since.
    pub version: u64,
    /// The authority's reference for the notification.
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub reference: String,
    /// When it was sent (RFC 3339, UTC); now when absent.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub notified_at: Option<String>,
    /// Why it came after 72 hours; required then (art. 33(1)).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub delay_reason: Option<String>,
}

/// The people to tell.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = super::oversight_examples::notify_people)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifyPeople {
    /// The breach's `version` as reviewed: the notice says what that version says, or the
    /// call is refused with 409 `breach_changed`.
    pub version: u64,
    /// Their subject references: every active wallet of each gets a signed notice.
    #[schema(value_type = Vec<SubjectRefText>, min_items = 1, max_items = 1000)]
    pub subject_refs: Vec<String>,
}

/// The organisation's reference for a person.
#[derive(ToSchema)]
#[schema(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")]
#[allow(dead_code)] // Only its schema is used: the field is read as a String.
pub(crate) struct SubjectRefText(String);

/// What a people notification reached.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = super::oversight_examples::people_notified)]
pub(crate) struct PeopleNotifiedView {
    pub people: usize,
    pub wallets: u64,
    /// People with no active wallet connection: tell them another way.
    pub without_wallet: Vec<String>,
    /// The breach's version now: pass it to notify more people.
    pub version: u64,
}

/// The question to answer next.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct QuestionView {
    pub id: BreachQuestion,
    pub text: String,
}

/// Where the 72-hour clock stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ClockView {
    pub deadline_at: String,
    pub state: ClockState,
    /// With a notification recorded: whether it came after the deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified_late: Option<bool>,
}

/// The authority's notification as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct AuthorityNotificationView {
    pub notified_at: String,
    pub reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_reason: Option<String>,
}

/// A breach in the register.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = super::oversight_examples::breach_view)]
pub(crate) struct BreachView {
    pub id: String,
    pub recorded_at: String,
    /// `staff:<id>`.
    pub recorded_by: String,
    pub aware_at: String,
    pub facts: BreachFacts,
    pub answers: BreachAnswers,
    pub outcome: BreachOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_question: Option<QuestionView>,
    pub clock: ClockView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_notification: Option<AuthorityNotificationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people_notified_at: Option<String>,
    pub wallets_notified: u64,
    /// Raised by every change; a notification names the version reviewed.
    pub version: u64,
}

impl BreachView {
    fn of(b: Breach, now: u64) -> Self {
        let deadline = b.deadline_at();
        Self {
            clock: ClockView {
                deadline_at: rfc3339(deadline),
                state: b.clock(now),
                notified_late: b.authority.as_ref().map(|a| a.at > deadline),
            },
            next_question: b.decision.next_question.map(|q| QuestionView { id: q, text: q.text().to_owned() }),
            outcome: b.decision.outcome,
            authority_notification: b.authority.map(|a| AuthorityNotificationView {
                notified_at: rfc3339(a.at),
                reference: a.reference,
                delay_reason: a.delay_reason,
            }),
            id: b.id,
            recorded_at: rfc3339(b.recorded_at),
            recorded_by: b.recorded_by,
            aware_at: rfc3339(b.aware_at),
            facts: b.facts,
            answers: b.answers,
            people_notified_at: b.people_notified_at.map(rfc3339),
            wallets_notified: b.wallets_notified,
            version: b.version,
        }
    }
}

/// A page of the register, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = super::oversight_examples::breach_list)]
pub(crate) struct BreachList {
    pub breaches: Vec<BreachView>,
    /// Pass as `before` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// Which page.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BreachQuery {
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only breaches recorded before this one: the `next_before` of the previous page.
    #[param(pattern = "^[0-9a-f-]{36}$")]
    pub before: Option<String>,
}

fn instant(name: &str, text: Option<&str>) -> Result<Option<u64>, ApiError> {
    text.map(|t| {
        Date::parse_instant(t).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidParameter, format!("{name} must be like 2026-11-22T10:00:00Z"))
        })
    })
    .transpose()
}

fn breach_id(id: &str) -> Result<&str, ApiError> {
    let ok = id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if ok { Ok(id) } else { Err(ApiError::bare(ErrorCode::BreachNotFound)) }
}

problems!(RecordBreachProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// Records a suspected breach (any role but auditor): its facts, when the organisation
/// became aware of it, and the answers known so far. Every breach stays in the register.
#[utoipa::path(
    post, path = "/v1/breaches", tag = "breaches",
    security(("staff_token" = [])),
    request_body = NewBreach,
    responses((status = 201, body = BreachView), RecordBreachProblems)
)]
pub(crate) async fn record_breach(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiJson(body): ApiJson<NewBreach>,
) -> Result<(StatusCode, Json<BreachView>), ApiError> {
    let aware_at = instant("aware_at", body.aware_at.as_deref())?;
    let answers = body.answers.unwrap_or_default();
    let breach = state.gateway.record_breach(&member.caller(), body.facts, answers, aware_at).await?;
    Ok((StatusCode::CREATED, Json(BreachView::of(breach, state.gateway.clock().now()))))
}

problems!(ListBreachesProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, StoreUnavailable);

/// The breach register (art. 33(5)), newest first: every staff role.
#[utoipa::path(
    get, path = "/v1/breaches", tag = "breaches",
    security(("staff_token" = [])),
    params(BreachQuery),
    responses((status = 200, body = BreachList), ListBreachesProblems)
)]
pub(crate) async fn list_breaches(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    ApiQuery(query): ApiQuery<BreachQuery>,
) -> Result<Json<BreachList>, ApiError> {
    let limit = page_limit(query.limit)?;
    if let Some(before) = &query.before {
        breach_id(before).map_err(|_| ApiError::new(ErrorCode::InvalidParameter, "before must be a breach id"))?;
    }
    let page = state.gateway.breaches(&member.caller(), limit, query.before.as_deref()).await?;
    let next_before = (page.len() == limit as usize).then(|| page.last().map(|b| b.id.clone())).flatten();
    let now = state.gateway.clock().now();
    Ok(Json(BreachList { breaches: page.into_iter().map(|b| BreachView::of(b, now)).collect(), next_before }))
}

problems!(GetBreachProblems: MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, BreachNotFound, StoreUnavailable);

/// One breach: its facts, answers, the procedure's outcome and next question, the clock.
#[utoipa::path(
    get, path = "/v1/breaches/{breach_id}", tag = "breaches",
    security(("staff_token" = [])),
    params(("breach_id" = String, Path, pattern = "^[0-9a-f-]{36}$")),
    responses((status = 200, body = BreachView), GetBreachProblems)
)]
pub(crate) async fn get_breach(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
) -> Result<Json<BreachView>, ApiError> {
    let breach = state.gateway.breach(&member.caller(), breach_id(&id)?).await?;
    Ok(Json(BreachView::of(breach, state.gateway.clock().now())))
}

problems!(AssessBreachProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, BreachNotFound, BreachChanged, StoreUnavailable);

/// Answers the procedure's questions and corrects the facts (any role but auditor); the
/// outcome follows from the answers.
#[utoipa::path(
    patch, path = "/v1/breaches/{breach_id}", tag = "breaches",
    security(("staff_token" = [])),
    params(("breach_id" = String, Path, pattern = "^[0-9a-f-]{36}$")),
    request_body = BreachChange,
    responses((status = 200, body = BreachView), AssessBreachProblems)
)]
pub(crate) async fn assess_breach(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BreachChange>,
) -> Result<Json<BreachView>, ApiError> {
    let (caller, id) = (member.caller(), breach_id(&id)?);
    let breach = state.gateway.assess_breach(&caller, id, body.facts, body.answers).await?;
    Ok(Json(BreachView::of(breach, state.gateway.clock().now())))
}

problems!(AuthorityNotificationProblems: MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, BreachNotFound, StoreUnavailable);

/// The content of the notification to the supervisory authority (art. 33(3)), drafted
/// from the record: JSON, or with `Accept: text/html` a page to print or save as PDF.
#[utoipa::path(
    get, path = "/v1/breaches/{breach_id}/authority-notification", tag = "breaches",
    security(("staff_token" = [])),
    params(("breach_id" = String, Path, pattern = "^[0-9a-f-]{36}$")),
    responses(
        (status = 200, description = "the draft", content(
            (AuthorityNotificationDraft = "application/json"),
            (String = "text/html"),
        )),
        AuthorityNotificationProblems
    )
)]
pub(crate) async fn get_authority_notification(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let breach = state.gateway.breach(&member.caller(), breach_id(&id)?).await?;
    let draft = state.gateway.authority_draft(&breach);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if matches!(preferred(accept), Format::Html) {
        return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], authority_draft_page::render(&draft))
            .into_response());
    }
    Ok(Json(draft).into_response())
}

problems!(RecordAuthorityNotifiedProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, BreachNotFound, BreachNotNotifiable, AlreadyNotified, BreachChanged, BreachFactsMissing, StoreUnavailable);

/// Records that the authority was notified (approvers and admins), which stops the clock;
/// after 72 hours only with the reasons for the delay.
#[utoipa::path(
    post, path = "/v1/breaches/{breach_id}/authority-notification", tag = "breaches",
    security(("staff_token" = [])),
    params(("breach_id" = String, Path, pattern = "^[0-9a-f-]{36}$")),
    request_body = AuthorityNotified,
    responses((status = 200, body = BreachView), RecordAuthorityNotifiedProblems)
)]
pub(crate) async fn record_authority_notified(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AuthorityNotified>,
) -> Result<Json<BreachView>, ApiError> {
    let at = instant("notified_at", body.notified_at.as_deref())?;
    let (caller, id) = (member.caller(), breach_id(&id)?);
    let (reference, reason) = (body.reference, body.delay_reason);
    let breach = state.gateway.record_authority_notified(&caller, id, body.version, reference, at, reason).await?;
    Ok(Json(BreachView::of(breach, state.gateway.clock().now())))
}

problems!(NotifyPeopleProblems: MalformedBody, UnsupportedMediaType, PayloadTooLarge, InvalidParameter, MissingBearerToken, InvalidBearerToken, IdentityProviderUnavailable, RoleNotPermitted, BreachNotFound, BreachNotNotifiable, BreachChanged, BreachFactsMissing, StoreUnavailable);

/// Tells the people affected (approvers and admins; art. 34): each active wallet of each
/// person named gets a signed breach notice over the relay. Names those without a wallet,
/// to be told another way. Can be called again for more people.
#[utoipa::path(
    post, path = "/v1/breaches/{breach_id}/people-notification", tag = "breaches",
    security(("staff_token" = [])),
    params(("breach_id" = String, Path, pattern = "^[0-9a-f-]{36}$")),
    request_body = NotifyPeople,
    responses((status = 200, body = PeopleNotifiedView), NotifyPeopleProblems)
)]
pub(crate) async fn notify_people(
    State(state): State<Arc<AppState>>,
    member: StaffMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NotifyPeople>,
) -> Result<Json<PeopleNotifiedView>, ApiError> {
    let (caller, id) = (member.caller(), breach_id(&id)?);
    let done = state.gateway.notify_people(&caller, id, body.version, &body.subject_refs).await?;
    Ok(Json(PeopleNotifiedView {
        people: done.subjects,
        wallets: done.wallets,
        without_wallet: done.without_wallet,
        version: done.version,
    }))
}
