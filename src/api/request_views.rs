//! The bodies of the rights-request routes (portal filing, the staff register and
//! workflow, written requests, the delivery log); `views` re-exports them with the rest.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use crate::protocol::rights::Remedies;
use crate::protocol::rights::{ActionStatus, Operation, StaffRole};
use crate::store::request_store::{RequestChannel, RequestKind, RequestState};

/// `POST /v1/subjects/{subject_ref}/requests`: a rights request the portal files for its
/// logged-in customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::file_request)]
pub struct FileRequest {
    #[serde(rename = "type")]
    pub kind: RequestKind,
    /// Category ids the request concerns; all when absent.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 256)]
    pub categories: Option<Vec<String>>,
    /// The person's own words (at most 4000 characters).
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub details: Option<String>,
    /// Rectification only: `{"<category>": {"<field path>": <correct value>}}`, for the
    /// fields the inventory lists as `rectifiable`.
    #[serde(default)]
    pub proposed: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A rights request and its acknowledgement: number, due date, contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::request_view)]
pub struct RequestView {
    pub id: String,
    /// Human-readable and unique within the organisation: `2026-000123`.
    pub number: String,
    #[serde(rename = "type")]
    pub kind: RequestKind,
    /// The person it is for, as the organisation knows them.
    pub subject_ref: String,
    pub state: RequestState,
    /// The workflow phase it is in (`intake` first).
    pub phase: String,
    /// Category ids; empty means all.
    pub categories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed: Option<serde_json::Value>,
    /// How it came in: `wallet`, `portal` or `letter`.
    pub channel: RequestChannel,
    /// How the person's identity was established, or `pending`.
    pub identification: String,
    /// Who filed a written request for the person, and how to reach them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intermediary: Option<String>,
    /// RFC 3339.
    pub received_at: String,
    /// The day it must be answered by (art. 12(3) GDPR), in the organisation's calendar.
    pub due_on: String,
    /// The last second of `due_on`, RFC 3339 with the organisation's offset.
    pub due_at: String,
    /// Whom to contact about the request: the data protection officer.
    pub contact: String,
    /// Once ended: why it was refused, or what was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// With a refusal: where the person may complain and seek a remedy (art. 12(4)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedies: Option<Remedies>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::request_list)]
pub struct RequestList {
    pub requests: Vec<RequestView>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestPage {
    /// At most this many requests, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only requests older than this request id: the `next_before` of the previous page.
    #[param(pattern = "^[0-9a-f]{32}$")]
    pub before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegisterPage {
    /// Only requests in this state.
    pub state: Option<RequestState>,
    /// Only requests of this type.
    #[serde(rename = "type")]
    pub kind: Option<RequestKind>,
    /// Only requests due before this day (`YYYY-MM-DD`, the organisation's calendar):
    /// with today's date and `state=open`, the overdue ones.
    #[param(format = Date)]
    pub due_before: Option<String>,
    /// At most this many requests, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only requests older than this request id: the `next_before` of the previous page.
    #[param(pattern = "^[0-9a-f]{32}$")]
    pub before: Option<String>,
}

/// The register's filters without paging: what `GET /v1/requests.csv` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegisterQuery {
    /// Only requests in this state.
    pub state: Option<RequestState>,
    /// Only requests of this type.
    #[serde(rename = "type")]
    pub kind: Option<RequestKind>,
    /// Only requests due before this day (`YYYY-MM-DD`, the organisation's calendar).
    #[param(format = Date)]
    pub due_before: Option<String>,
}

/// One line of a request's history: who did what, when, in which phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    /// RFC 3339.
    pub at: String,
    /// `portal:<client>`, `connection:<id>`, `staff:<id>` or `gateway`.
    pub actor: String,
    pub phase: String,
    /// `received`, `acknowledged`, …
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A request with its whole history, oldest line first, and what it needs to move on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::request_detail)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestView,
    pub history: Vec<HistoryEntry>,
    pub workflow: WorkflowView,
    /// What carrying it out takes, per category: planned when it enters its last phase.
    pub operations: Vec<OperationView>,
    /// Once ended: its signed receipt's delivery (`GET …/receipt` for the token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ReceiptView>,
}

/// Where an ended request's receipt stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptView {
    pub signed_at: String,
    /// When a wallet of the person said it received and verified it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    /// When staff were told no wallet acknowledged it in time: send it another way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged_at: Option<String>,
}

/// One operation of a request at the source of one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperationView {
    /// Its number within the request, for `POST …/operations/{seq}`.
    pub seq: u32,
    /// The category, or `*` for the request as a whole (a human review).
    pub category: String,
    pub operation: Operation,
    /// The record and merge patch of a rectification, the purpose of an objection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<serde_json::Value>,
    pub status: ActionStatus,
    /// A refusal's ground, a handler's account, or why it waits for a handler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the source reported: records affected, its confirmation id, digests of
    /// corrected records.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<serde_json::Value>,
    pub updated_at: String,
    pub updated_by: String,
}

/// How a handler settled a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    /// Carried out by hand, as the note says.
    Done,
    /// Not carried out, on the ground the note gives.
    Refused,
}

/// `POST /v1/requests/{request_id}/operations/{seq}`: a task settled by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::settle_operation)]
pub struct SettleOperation {
    pub result: TaskOutcome,
    /// What was done where, or the ground of the refusal, as the receipt will say (1 to
    /// 2000 characters).
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
}

/// The criteria of the phase a request is in, and where it goes next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowView {
    pub criteria: Vec<CriterionView>,
    /// The next phase (`closed` from the last); absent once the request ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_phase: Option<String>,
    /// The role that must move it on, when its phase names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver_role: Option<StaffRole>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CriterionView {
    pub id: String,
    pub mandatory: bool,
    pub met: bool,
}

/// `POST /v1/requests/{request_id}/criteria`: a criterion of the current phase is met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::record_criterion)]
pub struct RecordCriterion {
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub criterion: String,
    /// How it was established (at most 2000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// `POST /v1/requests/{request_id}/advance`: on to the next phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::advance_request)]
pub struct AdvanceRequest {
    /// Recorded with the step; from the last phase, what was done (at most 2000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// `POST /v1/requests/{request_id}/extension`: once, within the first month (art. 12(3)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::extend_request)]
pub struct ExtendRequest {
    #[schema(minimum = 1, maximum = 2)]
    #[serde(deserialize_with = "whole_number")]
    pub months: u32,
    /// Why, as the person is told (1 to 2000 characters).
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

/// `POST /v1/requests/{request_id}/refusal`: not carried out, with the reason (art. 12(4)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::refuse_request)]
pub struct RefuseRequest {
    /// Why, as the person is told (1 to 2000 characters).
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

/// `POST /v1/requests/{request_id}/referral`: (part of) the request concerns data another
/// organisation of the trust framework holds (bijlage 2, step 4a/4b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::refer_request)]
pub struct ReferRequest {
    /// The other organisation's id in the trust list.
    #[schema(min_length = 1, max_length = 2048)]
    pub controller_id: String,
    /// What to ask them about, as the person is told.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub about: Option<String>,
    /// True when the request concerns only their data: it closes as referred.
    #[serde(default)]
    pub close: bool,
}

/// A JSON number that is a whole number, also when written `2.0` (JSON Schema counts it
/// an integer, serde does not).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let number = serde_json::Number::deserialize(d)?;
    if let Some(n) = number.as_u64() {
        return u32::try_from(n).map_err(|_| serde::de::Error::custom("too large"));
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => Ok(f as u32),
        _ => Err(serde::de::Error::custom("expected a whole number")),
    }
}

/// A request that came in writing (a letter, an e-mail, a phone call confirmed in
/// writing), as a handler registers it; attach the document with `PUT …/document`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::register_written_request)]
pub struct RegisterWrittenRequest {
    /// The person it is for, as the organisation knows them.
    #[schema(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")]
    pub subject_ref: String,
    #[serde(rename = "type")]
    pub kind: RequestKind,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 256)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub details: Option<String>,
    #[serde(default)]
    pub proposed: Option<serde_json::Map<String, serde_json::Value>>,
    /// `YYYY-MM-DD`, the day it arrived (at most 31 days ago); today when absent. The
    /// deadline runs from it.
    #[serde(default)]
    #[schema(format = Date)]
    pub received_on: Option<String>,
    /// Who filed it for the person (a practice, a lawyer) and how to reach them; they are
    /// told the request was taken up.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub intermediary: Option<String>,
}

/// Bytes as they are: a document, not JSON.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BinaryBody(pub Vec<u8>);

/// A written request's archived document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::document_view)]
pub struct DocumentView {
    pub media_type: String,
    pub size: u64,
    /// Hex SHA-256 of the document, as recorded in the history.
    pub sha256: String,
    /// The archive name (bijlage 2, step 2): `YYYYMMDD_<number>_<type>.<ext>`.
    pub file_name: String,
}

/// How the identity of a written request's sender was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = super::examples::record_identification)]
pub struct RecordIdentification {
    /// E.g. "passport shown at the desk", "answer from the registered e-mail address".
    #[schema(min_length = 1, max_length = 500)]
    pub method: String,
}

/// Where the delivery of one notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet; tried again at `next_at`.
    Pending,
    Delivered,
    /// Retries ran out or the target is gone.
    Abandoned,
}

/// One notice of the outbox (a webhook or a wallet message) and its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` receivers see.
    pub id: String,
    /// `webhook:<endpoint id>` or `wallet:<connection id>`.
    pub target: String,
    pub event_type: String,
    pub state: DeliveryState,
    /// RFC 3339.
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    pub attempts: Vec<AttemptView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    /// RFC 3339.
    pub at: String,
    /// The receiver's HTTP status, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::examples::delivery_list)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryPage {
    /// Only notices to this target (`webhook:<id>` or `wallet:<connection id>`).
    #[param(max_length = 200)]
    pub target: Option<String>,
    /// At most this many notices, newest first (1 to 100, default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Only notices older than this one: the `next_before` of the previous page.
    #[param(pattern = "^msg_[0-9a-f]{32}$")]
    pub before: Option<String>,
}
