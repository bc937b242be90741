//! Rights requests in: every right through one model, filed for a person by the portal
//! (which vouches for its logged-in customer) or by the person's wallet, numbered, due per
//! art. 12(3) GDPR, acknowledged at once, with a history that is only ever appended to.

use serde_json::Value;

use super::request_notices::Happened;
use super::{Caller, Gateway};
use crate::calendar::{Date, DeadlineRules, FIRST_PERIOD_MONTHS};
use crate::protocol::ErrorCode;
use crate::protocol::rights::RequestUpdate;
use crate::protocol::subject::SubjectRef;
use crate::store::StoreError;
use crate::store::request_store::{
    DailyLimit, RegisterFilter, RequestChannel, RequestEvent, RequestKind, RequestState, RightsRequest,
};

/// Longest free text a request may carry, in characters.
pub const MAX_DETAILS_CHARS: usize = 4000;
/// Most categories one request may name.
pub const MAX_REQUEST_CATEGORIES: usize = 256;
/// Largest set of proposed values, as JSON text.
pub const MAX_PROPOSED_BYTES: usize = 64 * 1024;
/// Longest record id a rectification may name.
pub const MAX_RECORD_ID_CHARS: usize = 128;
/// The phase every request starts in.
pub const INTAKE_PHASE: &str = "intake";
/// The criterion met when the person's identity is established.
pub(crate) const IDENTITY_VERIFIED: &str = "identity_verified";

/// The history action recording that `criterion` was met.
pub(crate) fn criterion_met(criterion: &str) -> String {
    format!("criterion_met:{criterion}")
}

/// What a person asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub kind: RequestKind,
    /// The categories concerned; empty for all.
    pub categories: Vec<String>,
    pub details: Option<String>,
    /// For rectification: `{"<category>": {"<field path>": <new value>}}`.
    pub proposed: Option<Value>,
}

/// The register's rules, from the `[requests]` config.
#[derive(Debug, Clone)]
pub struct RequestRules {
    pub deadlines: DeadlineRules,
    pub max_per_subject_per_day: u32,
    /// Days before a deadline at which open requests are counted as due soon (`/metrics`).
    pub warning_days: Vec<u32>,
    /// Days a written request's document is kept after receipt.
    pub document_retention_days: u32,
    /// Largest document a written request may carry.
    pub max_document_bytes: u64,
    /// Days a receipt may go unacknowledged before it is flagged.
    pub receipt_ack_days: u32,
    /// How long a source system has for one operation; the outbox holds a claimed
    /// delivery for twice this.
    pub operation_timeout: std::time::Duration,
}

/// A filed request with what its acknowledgement tells the person.
#[derive(Debug, Clone)]
pub struct Filed {
    pub request: RightsRequest,
    /// Whom to contact about it: the organisation's data protection officer.
    pub contact: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    #[error("{0}")]
    Invalid(String),
    #[error("no category {0:?} in the inventory")]
    UnknownCategory(String),
    #[error("{category}.{field} cannot be rectified")]
    NotRectifiable { category: String, field: String },
    #[error("the value proposed for {category}.{field} does not fit the category's schema: {reason}")]
    ProposedValueInvalid { category: String, field: String, reason: String },
    #[error("at most {0} requests a day may be filed for one person")]
    LimitReached(u32),
    #[error("no such request")]
    NotFound,
    #[error("{0}")]
    NotPermitted(String),
    #[error("unmet: {0}")]
    CriteriaUnmet(String),
    #[error("{0}")]
    NotInPhase(String),
    #[error("the request is {0}")]
    Ended(String),
    #[error("{0}")]
    ExtensionRefused(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    UnsupportedDocument(String),
    #[error("a document is at most {0} bytes")]
    DocumentTooLarge(u64),
    #[error("the request's document is archived already and is never replaced")]
    DocumentAttached,
    #[error("the request has no document: it did not come in writing, or its retention ended")]
    NoDocument,
    #[error("identity was established before: {0}")]
    AlreadyIdentified(String),
    #[error("{0}")]
    NotListed(String),
    #[error("{0}")]
    NoReceipt(String),
    #[error("operations not yet settled: {0}")]
    OperationsPending(String),
    #[error("the request has no operation {0}")]
    NoOperation(u32),
    #[error("{0}")]
    NotATask(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RequestError {
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidParameter,
            Self::UnknownCategory(_) => ErrorCode::CategoryNotFound,
            Self::NotRectifiable { .. } => ErrorCode::FieldNotRectifiable,
            Self::ProposedValueInvalid { .. } => ErrorCode::ProposedValueInvalid,
            Self::LimitReached(_) => ErrorCode::RequestLimitReached,
            Self::NotFound => ErrorCode::RequestNotFound,
            Self::NotPermitted(_) => ErrorCode::RoleNotPermitted,
            Self::CriteriaUnmet(_) => ErrorCode::CriteriaUnmet,
            Self::NotInPhase(_) => ErrorCode::CriterionNotInPhase,
            Self::Ended(_) => ErrorCode::RequestClosed,
            Self::ExtensionRefused(_) => ErrorCode::ExtensionNotAllowed,
            Self::Conflict(_) => ErrorCode::RequestChanged,
            Self::UnsupportedDocument(_) => ErrorCode::UnsupportedMediaType,
            Self::DocumentTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::DocumentAttached => ErrorCode::DocumentAttached,
            Self::NoDocument => ErrorCode::DocumentNotFound,
            Self::AlreadyIdentified(_) => ErrorCode::AlreadyIdentified,
            Self::NotListed(_) => ErrorCode::ControllerNotListed,
            Self::NoReceipt(_) => ErrorCode::ReceiptNotFound,
            Self::OperationsPending(_) => ErrorCode::OperationsPending,
            Self::NoOperation(_) => ErrorCode::OperationNotFound,
            Self::NotATask(_) => ErrorCode::OperationNotATask,
            Self::Store(_) => ErrorCode::StoreUnavailable,
        }
    }
}

/// How a request came in, as its register entry records it.
#[derive(Debug, Clone)]
pub(crate) struct Intake {
    pub channel: RequestChannel,
    pub filed_by: String,
    /// How identity was established, or `None` while it is pending (a letter).
    pub identification: Option<String>,
    /// The wallet's own id for its request.
    pub intake_ref: Option<String>,
    pub intermediary: Option<String>,
    /// The day it was received, when earlier than today (a letter registered later).
    pub received_on: Option<Date>,
    /// The wallet connection that filed it, told of the acknowledgement with its own id.
    pub reply_to: Option<String>,
}

/// Identification of a written request until a handler records how it was checked.
pub const IDENTIFICATION_PENDING: &str = "pending";

impl Gateway {
    /// Files a request for `subject` and acknowledges it: a number, a due date and the
    /// contact, in the register at once. The portal files for its logged-in customer, a
    /// wallet for the account its connection is bound to.
    pub async fn file_request(
        &self,
        caller: &Caller,
        subject: &SubjectRef,
        new: NewRequest,
    ) -> Result<Filed, RequestError> {
        let intake = match caller {
            Caller::Portal { client_id } => Intake {
                channel: RequestChannel::Portal,
                filed_by: format!("portal:{client_id}"),
                identification: Some("portal session".to_owned()),
                intake_ref: None,
                intermediary: None,
                received_on: None,
                reply_to: None,
            },
            Caller::Wallet { connection_id } => Intake {
                channel: RequestChannel::Wallet,
                filed_by: caller.register_name(),
                identification: Some("wallet connection".to_owned()),
                intake_ref: None,
                intermediary: None,
                received_on: None,
                reply_to: Some(connection_id.clone()),
            },
            Caller::Staff { .. } | Caller::System | Caller::PairingViewer { .. } => {
                return Err(RequestError::NotPermitted("requests are filed by the person's portal or wallet".into()));
            }
        };
        self.file(subject, new, intake).await
    }

    /// Stores a request with its first history lines and acknowledgement notices.
    pub(crate) async fn file(
        &self,
        subject: &SubjectRef,
        new: NewRequest,
        intake: Intake,
    ) -> Result<Filed, RequestError> {
        self.check_request(&new)?;
        let now = self.clock.now();
        let rules = &self.request_rules;
        let today = rules.deadlines.date_of(now);
        let received_on = intake.received_on.unwrap_or(today);
        let due_on = rules.deadlines.due(received_on, FIRST_PERIOD_MONTHS);
        let mut request = RightsRequest {
            id: uuid::Uuid::new_v4().simple().to_string(),
            number: String::new(),
            kind: new.kind,
            subject_ref: subject.as_str().to_owned(),
            channel: intake.channel,
            filed_by: intake.filed_by.clone(),
            categories: new.categories,
            details: new.details,
            proposed: new.proposed,
            state: RequestState::Open,
            phase: INTAKE_PHASE.to_owned(),
            identification: intake.identification.clone().unwrap_or_else(|| IDENTIFICATION_PENDING.to_owned()),
            outcome: None,
            received_at: now,
            received_on,
            due_on,
            due_at: rules.deadlines.end_of(due_on),
            updated_at: now,
            intake_ref: intake.intake_ref.clone(),
            intermediary: intake.intermediary.clone(),
        };
        let event = |actor: &str, action: &str, detail: Option<String>| RequestEvent {
            at: now,
            actor: actor.to_owned(),
            phase: INTAKE_PHASE.to_owned(),
            action: action.to_owned(),
            detail,
        };
        let mut history = vec![event(
            &intake.filed_by,
            "received",
            Some(format!("{} request via {} on {received_on}", new.kind.as_str(), intake.channel.as_str())),
        )];
        // The portal vouches for its logged-in customer, a wallet holds its bound
        // connection: either way identity is established as the request comes in.
        if let Some(how) = &intake.identification {
            history.push(event("gateway", &criterion_met(IDENTITY_VERIFIED), Some(how.clone())));
        }
        let told = match &intake.intermediary {
            Some(intermediary) => format!("; intermediary {intermediary} told"),
            None => String::new(),
        };
        history.push(event(
            "gateway",
            "acknowledged",
            Some(format!("due on {due_on}; contact {}{told}", self.contact())),
        ));
        let limit =
            DailyLimit { since: rules.deadlines.start_of(today), max: u64::from(rules.max_per_subject_per_day) };
        let audience =
            self.audience(subject.as_str(), intake.reply_to.as_deref().zip(intake.intake_ref.as_deref())).await?;
        let acknowledged = [Happened::new("request.acknowledged", Some(RequestUpdate::Acknowledged), None)];
        let notices = |number: &str| {
            let mut numbered = request.clone();
            numbered.number = number.to_owned();
            self.request_notices(&numbered, &audience, &acknowledged)
        };
        // The number is given in the transaction; the trail names the request by its id.
        let audit = self.request_audit(&request, &history, None);
        let number = self.requests.insert(&request, &history, Some(limit), notices, &audit).await?;
        request.number = number.ok_or(RequestError::LimitReached(rules.max_per_subject_per_day))?;
        self.outbox_wake.notify_one();
        // A letter whose sender is not yet identified waits for a handler like any other.
        let identified = request.identification != IDENTIFICATION_PENDING;
        if identified && super::request_actions::needs_no_staff(&self.inventory, &request) {
            // Filed either way; what needs no staff is done at once, or by staff should
            // this fail.
            if let Err(e) = self.without_staff(&request).await {
                tracing::warn!(request = %request.number, "carrying out without staff: {e}");
            }
            if let Some(now) = self.requests.by_id(&request.id).await? {
                request = now;
            }
        }
        Ok(Filed { request, contact: self.contact().to_owned() })
    }

    /// A person's requests, newest first, for the organisation's portals; a page of at
    /// most `limit` after request `before`.
    pub async fn requests_of(
        &self,
        caller: &Caller,
        subject: &SubjectRef,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<RightsRequest>, RequestError> {
        if !caller.acts_for_organisation() {
            return Ok(Vec::new());
        }
        let filter = RegisterFilter { subject_ref: Some(subject.as_str().to_owned()), ..RegisterFilter::default() };
        Ok(self.requests.list(&filter, limit, before).await?)
    }

    /// Whom people contact about their requests: the data protection officer.
    pub fn contact(&self) -> &str {
        &self.notice.controller.dpo_contact
    }

    /// The register's rules, for views that show deadlines in the organisation's zone.
    pub fn request_rules(&self) -> &RequestRules {
        &self.request_rules
    }

    fn check_request(&self, new: &NewRequest) -> Result<(), RequestError> {
        if new.categories.len() > MAX_REQUEST_CATEGORIES {
            return Err(RequestError::Invalid(format!("at most {MAX_REQUEST_CATEGORIES} categories")));
        }
        for (i, id) in new.categories.iter().enumerate() {
            if self.inventory.category(id).is_none() {
                return Err(RequestError::UnknownCategory(id.clone()));
            }
            if new.categories[..i].contains(id) {
                return Err(RequestError::Invalid(format!("category {id:?} is named twice")));
            }
        }
        if let Some(details) = &new.details {
            if details.chars().count() > MAX_DETAILS_CHARS {
                return Err(RequestError::Invalid(format!("details are at most {MAX_DETAILS_CHARS} characters")));
            }
            super::request_workflow::check_text(details, "details")?;
        }
        match (&new.proposed, new.kind) {
            (None, RequestKind::Rectification) => {
                Err(RequestError::Invalid("a rectification proposes the correct values (`proposed`)".into()))
            }
            (None, _) => Ok(()),
            (Some(_), kind) if kind != RequestKind::Rectification => {
                Err(RequestError::Invalid("only a rectification proposes values".into()))
            }
            (Some(proposed), _) => self.check_proposed(proposed, &new.categories),
        }
    }

    /// Proposed values name known categories (among those the request names, if any) and
    /// only fields the inventory lets people correct, each value fitting the category's
    /// schema where it has one, and at most the record id field besides, to say which
    /// record.
    fn check_proposed(&self, proposed: &Value, named: &[String]) -> Result<(), RequestError> {
        if proposed.to_string().len() > MAX_PROPOSED_BYTES {
            return Err(RequestError::Invalid(format!("proposed values are at most {MAX_PROPOSED_BYTES} bytes")));
        }
        let by_category = proposed
            .as_object()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| RequestError::Invalid("`proposed` maps categories to {field: value} objects".into()))?;
        for (id, fields) in by_category {
            let category = self.inventory.category(id).ok_or_else(|| RequestError::UnknownCategory(id.clone()))?;
            if !named.is_empty() && !named.contains(id) {
                return Err(RequestError::Invalid(format!(
                    "proposed values for {id:?}, which the request does not name"
                )));
            }
            let fields = fields
                .as_object()
                .filter(|o| !o.is_empty())
                .ok_or_else(|| RequestError::Invalid(format!("`proposed.{id}` maps field paths to values")))?;
            for (field, value) in fields {
                // The id field names which record to correct; it is never changed.
                if *field == category.id_field {
                    let valid = match value {
                        Value::String(id) => (1..=MAX_RECORD_ID_CHARS).contains(&id.chars().count()),
                        Value::Number(_) => true,
                        _ => false,
                    };
                    if !valid {
                        return Err(RequestError::Invalid(format!(
                            "`proposed.{id}.{field}` names the record to correct: a number, or 1 to \
                             {MAX_RECORD_ID_CHARS} characters"
                        )));
                    }
                    continue;
                }
                if !category.rectifiable.contains(field) {
                    return Err(RequestError::NotRectifiable { category: id.clone(), field: field.clone() });
                }
                // Refused at filing, so staff never approve, nor a source receive, a value
                // the organisation's own description of its records rules out.
                self.inventory.check_proposed_value(id, field, value).map_err(|reason| {
                    RequestError::ProposedValueInvalid { category: id.clone(), field: field.clone(), reason }
                })?;
            }
            if fields.keys().all(|field| *field == category.id_field) {
                return Err(RequestError::Invalid(format!("`proposed.{id}` names a record but no field to correct")));
            }
        }
        Ok(())
    }
}
