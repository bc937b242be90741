//! The person's rights requests (art. 15-22 GDPR) from the wallet's side: filing one over a
//! bound connection, and keeping the latest status the organisation sent for each, so the
//! person sees every request's number, deadline and outcome without asking.

use serde_json::Value;

use sha2::{Digest, Sha256};

use super::stored::Stored;
use super::{EventKind, Wallet, WalletError, WalletEvent};
use crate::protocol::message::Body;
use crate::protocol::rights::{Remedies, RequestKind, RequestState, RequestStatus, RequestUpdate};

/// Most requests remembered per connection; the oldest closed ones go first.
pub const MAX_TRACKED_REQUESTS: usize = 200;

/// What the person asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestForm {
    pub kind: RequestKind,
    /// The categories concerned (ids from the catalogue); all when empty.
    pub categories: Vec<String>,
    pub details: Option<String>,
    /// For a rectification, JSON: `{"<category>": {"<field>": <correct value>}}`.
    pub proposed_json: Option<String>,
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
    pub updated_at: u64,
    pub received_at: u64,
    /// The last day the organisation has to answer (its own calendar date).
    pub due_on: String,
    pub due_at: u64,
    /// Whom to contact about the request.
    pub contact: String,
    /// The reason for an extension or refusal, or what was done.
    pub detail: Option<String>,
    /// Where to turn after a refusal.
    pub remedies: Option<Remedies>,
}

impl TrackedRequest {
    fn of(stored: &Stored, status: &RequestStatus) -> Self {
        Self {
            connection_id: stored.connection_id.clone(),
            controller_name: stored.controller.name.clone(),
            number: status.number.clone(),
            kind: status.kind,
            state: status.state,
            update: status.update,
            updated_at: status.at,
            received_at: status.received_at,
            due_on: status.due_on.clone(),
            due_at: status.due_at,
            contact: status.contact.clone(),
            detail: status.detail.clone(),
            remedies: status.remedies.clone(),
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
        self.track(&stored.connection_id, &status)?;
        Ok(TrackedRequest::of(&stored, &status))
    }

    /// Every request the wallet filed or was told of, newest first, as last told. Call
    /// [`Wallet::events`] first to read what the organisations sent since.
    pub fn requests(&self) -> Result<Vec<TrackedRequest>, WalletError> {
        let mut all: Vec<TrackedRequest> = self
            .all_stored()?
            .iter()
            .flat_map(|stored| stored.requests.iter().map(move |status| TrackedRequest::of(stored, status)))
            .collect();
        all.sort_by(|a, b| (b.received_at, &b.number).cmp(&(a.received_at, &a.number)));
        Ok(all)
    }

    /// Keeps a status the organisation sent unasked, and tells the person.
    pub(super) fn status_arrived(&self, stored: &Stored, status: &RequestStatus) {
        let detail = match &status.detail {
            Some(detail) => format!("request {} {}: {detail}", status.number, status.update.as_str()),
            None => format!("request {} {}", status.number, status.update.as_str()),
        };
        let event = match self.track(&stored.connection_id, status) {
            Ok(()) => WalletEvent { connection_id: stored.connection_id.clone(), kind: EventKind::Request, detail },
            Err(e) => WalletEvent {
                connection_id: stored.connection_id.clone(),
                kind: EventKind::Unreachable,
                detail: e.to_string(),
            },
        };
        self.log(event);
    }

    /// Stores `status` unless a later one for the same request is already kept: notices
    /// may arrive twice or out of order.
    fn track(&self, connection_id: &str, status: &RequestStatus) -> Result<(), WalletError> {
        let order = |s: &RequestStatus| (s.at, RequestUpdate::ALL.iter().position(|u| *u == s.update));
        self.update(connection_id, |stored| {
            match stored.requests.iter_mut().find(|r| r.number == status.number) {
                Some(kept) if order(kept) > order(status) => return,
                Some(kept) => *kept = status.clone(),
                None => stored.requests.push(status.clone()),
            }
            if stored.requests.len() > MAX_TRACKED_REQUESTS {
                let drop_first = stored.requests.iter().position(|r| r.state != RequestState::Open).unwrap_or(0);
                stored.requests.remove(drop_first);
            }
        })
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
