//! The person's rights requests (art. 15-22 GDPR) from the wallet's side: filing one over a
//! bound connection, and keeping the latest status the organisation sent for each, so the
//! person sees every request's number, deadline and outcome without asking.

use crate::clock::Timestamp;
use serde_json::{Map, Value};

use sha2::{Digest, Sha256};

use super::receipts::{self, ReceiptOutcome};
use super::stored::{Stored, StoredRequest};
use super::{EventKind, MAX_ENTRY_BYTES, Wallet, WalletError, WalletEvent};
use crate::protocol::message::Body;
use crate::protocol::rights::{Remedies, RequestKind, RequestState, RequestStatus, RequestUpdate};

/// Most requests remembered per connection; the oldest closed ones go first. Fewer when
/// their receipts would not fit in a key store entry ([`MAX_ENTRY_BYTES`], less room for
/// the connection's keys).
pub const MAX_TRACKED_REQUESTS: usize = 200;
/// Room in a key store entry the keys and the organisation's entry may take.
const ENTRY_HEADROOM: u64 = 8 * 1024;

/// What the person asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestForm {
    pub kind: RequestKind,
    /// The categories concerned (ids from the catalogue); all when empty.
    pub categories: Vec<String>,
    pub details: Option<String>,
    /// For a rectification, JSON: `{"<category>": {"<dotted field path>": <correct value>,
    /// "<id field>": "<record id>"}}`; [`RequestForm::rectification`] builds it.
    pub proposed_json: Option<String>,
}

impl RequestForm {
    /// A rectification (art. 16) of one record of `category`, as a downloaded bundle holds
    /// it: `changes` are dotted field paths (`address.street`) with their correct values,
    /// and the record is named by its `id_field` (`id` unless the organisation's catalogue
    /// says otherwise). Which fields may be corrected is the organisation's to say: it
    /// refuses others with `field_not_rectifiable`, and values its schema of the category
    /// rules out with `proposed_value_invalid`.
    pub fn rectification(
        category: &str,
        record: &Map<String, Value>,
        id_field: &str,
        changes: &[(String, Value)],
    ) -> Result<Self, WalletError> {
        let invalid = |m: String| Err(WalletError::InvalidInput(m));
        if category.trim().is_empty() || id_field.trim().is_empty() {
            return invalid("a rectification names a category and the record's id field".into());
        }
        let id = match record.get(id_field) {
            Some(Value::String(id)) if !id.trim().is_empty() => Value::String(id.clone()),
            Some(Value::Number(n)) => Value::Number(n.clone()),
            _ => return invalid(format!("the record has no id {id_field:?}, so it cannot be named for correction")),
        };
        if changes.is_empty() {
            return invalid("a rectification corrects at least one field".into());
        }
        let mut fields = Map::new();
        fields.insert(id_field.to_owned(), id);
        for (path, value) in changes {
            if path.is_empty() || path.split('.').any(str::is_empty) {
                return invalid(format!("{path:?} is not a dotted field path"));
            }
            if path == id_field || path.strip_prefix(id_field).is_some_and(|rest| rest.starts_with('.')) {
                return invalid(format!("{path:?} is the record's id, which names it and never changes"));
            }
            if value.is_null() {
                return invalid(format!(
                    "{path:?}: a correction gives the right value; to remove data, ask for erasure"
                ));
            }
            if fields.insert(path.clone(), value.clone()).is_some() {
                return invalid(format!("{path:?} is corrected twice"));
            }
        }
        let mut proposed = Map::new();
        proposed.insert(category.to_owned(), Value::Object(fields));
        Ok(Self {
            kind: RequestKind::Rectification,
            categories: vec![category.to_owned()],
            details: None,
            proposed_json: Some(Value::Object(proposed).to_string()),
        })
    }

    /// [`RequestForm::rectification`] from JSON text, as the bindings pass it: `record_json`
    /// one record (an object), `changes_json` an object of dotted paths to correct values.
    pub fn rectification_json(
        category: &str,
        record_json: &str,
        id_field: &str,
        changes_json: &str,
    ) -> Result<Self, WalletError> {
        let object = |text: &str, what: &str| match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(WalletError::InvalidInput(format!("{what} is not a JSON object"))),
            Err(e) => Err(WalletError::InvalidInput(format!("{what} is not JSON: {e}"))),
        };
        let record = object(record_json, "the record")?;
        let changes: Vec<(String, Value)> = object(changes_json, "the changes")?.into_iter().collect();
        Self::rectification(category, &record, id_field, &changes)
    }
}

/// A request as the organisation last told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedRequest {
    pub connection_id: String,
    pub controller_name: String,
    /// `2026-000123`: quote it to the organisation.
    pub number: String,
    pub kind: RequestKind,
    pub state: RequestState,
    /// What happened last: acknowledged, extended, closed, refused, …
    pub update: RequestUpdate,
    pub updated_at: Timestamp,
    pub received_at: Timestamp,
    /// The last day the organisation has to answer (its own calendar date).
    pub due_on: String,
    pub due_at: Timestamp,
    /// Whom to contact about the request.
    pub contact: String,
    /// The reason for an extension or refusal, or what was done.
    pub detail: Option<String>,
    /// Where to turn after a refusal.
    pub remedies: Option<Remedies>,
    /// Once the request ended: the organisation's signed receipt (a compact JWS, `typ`
    /// `gdpr-receipt+jwt`), byte for byte as it arrived, to keep or show to others.
    pub receipt: Option<String>,
    /// The receipt verified against the organisation's pinned keys and is about this
    /// request and this account.
    pub receipt_verified: bool,
    /// The organisation was told the verified receipt arrived (`receipt.ack`, sent by
    /// [`Wallet::events`]).
    pub receipt_acknowledged: bool,
    /// Why the receipt did not verify (it is kept, never acknowledged).
    pub receipt_problem: Option<String>,
    /// What the verified receipt says was done, per category; empty without one.
    pub outcomes: Vec<ReceiptOutcome>,
}

impl TrackedRequest {
    fn of(stored: &Stored, request: &StoredRequest) -> Self {
        let status = &request.status;
        Self {
            connection_id: stored.connection_id.clone(),
            controller_name: stored.controller.name.clone(),
            number: status.number.clone(),
            kind: status.kind,
            state: status.state,
            update: status.update,
            updated_at: Timestamp(status.at),
            received_at: Timestamp(status.received_at),
            due_on: status.due_on.clone(),
            due_at: Timestamp(status.due_at),
            contact: status.contact.clone(),
            detail: status.detail.clone(),
            remedies: status.remedies.clone(),
            receipt: status.receipt.clone(),
            receipt_verified: request.receipt_verified,
            receipt_acknowledged: request.receipt_acknowledged,
            receipt_problem: request.receipt_problem.clone(),
            outcomes: receipts::outcomes(stored, request),
        }
    }
}

impl Wallet {
    /// Files a rights request with the organisation and returns its acknowledgement: the
    /// number, the due date and whom to contact. The request's id is derived from the form,
    /// the connection and the (UTC) day, so the same form sent again that day (after a
    /// timeout, say) is acknowledged as the request it filed, never filed twice.
    pub async fn submit_request(
        &self,
        connection_id: String,
        form: RequestForm,
        timeout_secs: u64,
    ) -> Result<TrackedRequest, WalletError> {
        let stored = self.connected(&connection_id)?;
        let proposed = form
            .proposed_json
            .as_deref()
            .map(serde_json::from_str::<Value>)
            .transpose()
            .map_err(|e| WalletError::InvalidInput(format!("proposed values are not JSON: {e}")))?;
        let request_id = submission_id(&connection_id, &form, self.clock.now());
        let categories = (!form.categories.is_empty()).then_some(form.categories);
        let body = Body::RequestSubmit {
            request_id: request_id.clone(),
            kind: form.kind.as_str().to_owned(),
            categories,
            details: form.details,
            proposed,
        };
        self.send(&stored, body).await?;
        let status = self.answer(&stored, &request_id, timeout_secs, |body| match body {
            Body::RequestStatus { status, .. } => Some(status),
            _ => None,
        });
        let status = status.await?;
        let receipt = self.receipt_of(&stored, &status);
        let answered = StoredRequest::checked(*status, receipt);
        self.track(&stored.connection_id, answered.clone())?;
        Ok(TrackedRequest::of(&stored, &answered))
    }

    /// Every request the wallet filed or was told of, newest first, as last told. Call
    /// [`Wallet::events`] first to read what the organisations sent since.
    pub fn requests(&self) -> Result<Vec<TrackedRequest>, WalletError> {
        let mut all: Vec<TrackedRequest> = self
            .all_stored()?
            .iter()
            .flat_map(|stored| stored.requests.iter().map(move |request| TrackedRequest::of(stored, request)))
            .collect();
        all.sort_by(|a, b| (b.received_at, &b.number).cmp(&(a.received_at, &a.number)));
        Ok(all)
    }

    /// Keeps a status the organisation sent unasked, and tells the person.
    pub(super) fn status_arrived(&self, stored: &Stored, status: &RequestStatus) {
        let mut detail = match &status.detail {
            Some(detail) => format!("request {} {}: {detail}", status.number, status.update.as_str()),
            None => format!("request {} {}", status.number, status.update.as_str()),
        };
        let receipt = self.receipt_of(stored, status);
        if matches!(receipt, Some(Ok(()))) {
            detail.push_str(" (its signed receipt verified)");
        }
        let event = match self.track(&stored.connection_id, StoredRequest::checked(status.clone(), receipt)) {
            Ok(()) => WalletEvent { connection_id: stored.connection_id.clone(), kind: EventKind::Request, detail },
            Err(e) => WalletEvent {
                connection_id: stored.connection_id.clone(),
                kind: EventKind::Unreachable,
                detail: e.to_string(),
            },
        };
        self.log(event);
    }

    /// Checks the receipt a status carries; one that does not verify is an event, with
    /// the reason. `None` without a receipt.
    fn receipt_of(&self, stored: &Stored, status: &RequestStatus) -> Option<Result<(), String>> {
        let checked = receipts::check(stored, status)?;
        Some(checked.map(|_| ()).map_err(|problem| {
            let detail = format!(
                "the receipt of request {} does not verify, so it is kept unverified and not acknowledged: {problem}",
                status.number
            );
            self.log(WalletEvent { connection_id: stored.connection_id.clone(), kind: EventKind::Unexpected, detail });
            problem
        }))
    }

    /// Stores `status`, with what its receipt check found, unless a later one for the same
    /// request is already kept: notices may arrive twice or out of order. A receipt that
    /// came stays when a status without one follows, and stays acknowledged when the same
    /// one comes again.
    fn track(&self, connection_id: &str, mut fresh: StoredRequest) -> Result<(), WalletError> {
        let order = |s: &RequestStatus| (s.at, RequestUpdate::ALL.iter().position(|u| *u == s.update));
        self.update(connection_id, |stored| {
            match stored.requests.iter_mut().find(|r| r.status.number == fresh.status.number) {
                Some(kept) if order(&kept.status) > order(&fresh.status) => return,
                Some(kept) => {
                    if fresh.status.receipt.is_none() && kept.status.receipt.is_some() {
                        fresh.status.receipt = kept.status.receipt.take();
                        fresh.receipt_verified = kept.receipt_verified;
                        fresh.receipt_problem = kept.receipt_problem.take();
                    }
                    fresh.receipt_acknowledged =
                        kept.receipt_acknowledged && kept.status.receipt == fresh.status.receipt;
                    *kept = fresh;
                }
                None => stored.requests.push(fresh),
            }
            while stored.requests.len() > 1
                && (stored.requests.len() > MAX_TRACKED_REQUESTS || too_large_to_keep(stored))
            {
                stored.requests.remove(least_needed(&stored.requests));
            }
        })
    }
}

/// Whether the entry would leave too little room for the connection's keys.
fn too_large_to_keep(stored: &Stored) -> bool {
    serde_json::to_vec(stored).map_or(true, |bytes| bytes.len() as u64 > MAX_ENTRY_BYTES - ENTRY_HEADROOM)
}

/// The request to forget first: the oldest ended one whose receipt needs nothing more,
/// else the oldest ended one, else the oldest.
fn least_needed(requests: &[StoredRequest]) -> usize {
    let ended = |r: &&StoredRequest| r.status.state != RequestState::Open;
    let settled = |r: &&StoredRequest| !r.receipt_verified || r.receipt_acknowledged;
    requests
        .iter()
        .position(|r| ended(&r) && settled(&r))
        .or_else(|| requests.iter().position(|r| ended(&r)))
        .unwrap_or(0)
}

impl StoredRequest {
    /// A status with what the check of its receipt found (`None`: it carries none).
    fn checked(status: RequestStatus, receipt: Option<Result<(), String>>) -> Self {
        let (receipt_verified, receipt_problem) = match receipt {
            Some(Ok(())) => (true, None),
            Some(Err(problem)) => (false, Some(problem)),
            None => (false, None),
        };
        Self { status, receipt_verified, receipt_acknowledged: false, receipt_problem }
    }
}

/// The id of a submission: the same for the same form on the same connection and UTC day.
fn submission_id(connection_id: &str, form: &RequestForm, now: u64) -> String {
    let mut hash = Sha256::new();
    let day = (now / 86_400).to_string();
    let proposed = form.proposed_json.as_deref().unwrap_or_default();
    let details = form.details.as_deref().unwrap_or_default();
    for part in [connection_id, form.kind.as_str(), &form.categories.join(","), details, proposed, &day] {
        // Length-prefixed, so no two different forms hash alike by shifting a boundary.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(&hash.finalize()[..16])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::{Value, json};

    use super::{RequestForm, WalletError};
    use crate::protocol::rights::RequestKind;

    fn contact() -> serde_json::Map<String, Value> {
        let record = json!({"id": "C-1001", "name": "Alice de Vries", "address": {"street": "Keizersgracht 1"}});
        record.as_object().unwrap().clone()
    }

    fn change(path: &str, value: Value) -> (String, Value) {
        (path.to_owned(), value)
    }

    #[test]
    fn a_rectification_names_the_record_and_the_fields_it_corrects() {
        let form =
            RequestForm::rectification("contact", &contact(), "id", &[change("address.street", json!("Kerkstraat 2"))])
                .unwrap();
        assert_eq!((form.kind, form.categories.as_slice()), (RequestKind::Rectification, &["contact".to_owned()][..]));
        let proposed: Value = serde_json::from_str(form.proposed_json.as_deref().unwrap()).unwrap();
        assert_eq!(proposed, json!({"contact": {"id": "C-1001", "address.street": "Kerkstraat 2"}}));
        // A numeric id is named as it is; from JSON text, as the bindings pass it, the same.
        let numbered = json!({"nr": 7}).as_object().unwrap().clone();
        let form = RequestForm::rectification("meters", &numbered, "nr", &[change("label", json!("home"))]).unwrap();
        assert_eq!(form.proposed_json.as_deref(), Some(r#"{"meters":{"nr":7,"label":"home"}}"#));
        let from_json = RequestForm::rectification_json(
            "contact",
            &Value::Object(contact()).to_string(),
            "id",
            r#"{"address.street":"Kerkstraat 2"}"#,
        )
        .unwrap();
        let direct =
            RequestForm::rectification("contact", &contact(), "id", &[change("address.street", json!("Kerkstraat 2"))]);
        assert_eq!(from_json, direct.unwrap());
    }

    #[test]
    fn a_rectification_that_cannot_name_its_record_or_changes_its_id_is_refused() {
        let street = [change("address.street", json!("Kerkstraat 2"))];
        let without_id = json!({"name": "Alice"}).as_object().unwrap().clone();
        let blank_id = json!({"id": " "}).as_object().unwrap().clone();
        let cases: Vec<(&str, Result<RequestForm, WalletError>)> = vec![
            ("no id", RequestForm::rectification("contact", &without_id, "id", &street)),
            ("blank id", RequestForm::rectification("contact", &blank_id, "id", &street)),
            ("id changed", RequestForm::rectification("contact", &contact(), "id", &[change("id", json!("C-2"))])),
            ("id member", RequestForm::rectification("contact", &contact(), "id", &[change("id.x", json!(1))])),
            ("nothing", RequestForm::rectification("contact", &contact(), "id", &[])),
            ("no category", RequestForm::rectification(" ", &contact(), "id", &street)),
            ("bad path", RequestForm::rectification("contact", &contact(), "id", &[change("address.", json!(1))])),
            ("null", RequestForm::rectification("contact", &contact(), "id", &[change("email", Value::Null)])),
            ("twice", RequestForm::rectification("contact", &contact(), "id", &[street[0].clone(), street[0].clone()])),
            ("record not JSON", RequestForm::rectification_json("contact", "{", "id", "{}")),
            ("changes a list", RequestForm::rectification_json("contact", r#"{"id":"C-1"}"#, "id", "[]")),
        ];
        for (case, result) in cases {
            assert!(matches!(result, Err(WalletError::InvalidInput(_))), "{case}: {result:?}");
        }
        // A field whose name merely starts like the id field is an ordinary field.
        assert!(RequestForm::rectification("contact", &contact(), "id", &[change("identity", json!("x"))]).is_ok());
    }
}
