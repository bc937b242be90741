//! What people and the organisation's tools are told when a rights request changes: the
//! person's wallets get a `request.status`, webhook endpoints the events they subscribe to.
//! Both are outbox notices, written in the transaction of the change, so a change is never
//! recorded without its notices nor told without being recorded.

use serde_json::json;

use super::Gateway;
use crate::clock::rfc3339;
use crate::config::AUDIT_CHECKPOINT_EVENT;
use crate::protocol::message::Body;
use crate::protocol::rights::{JUDICIAL_REMEDY, Remedies, RequestStatus, RequestUpdate, StaffRole};
use crate::store::StoreError;
use crate::store::audit_store::Checkpoint;
use crate::store::outbox_store::Notice;
use crate::store::request_store::{RequestState, RightsRequest};

/// Notice targets: a wallet connection, or a configured webhook endpoint.
pub(crate) const WALLET_TARGET: &str = "wallet:";
pub(crate) const WEBHOOK_TARGET: &str = "webhook:";
/// Most of one person's wallets told of a change.
pub const MAX_WALLETS_TOLD: u32 = 20;

/// One thing that happened to a request, as its notices report it.
#[derive(Debug, Clone)]
pub(crate) struct Happened {
    /// The webhook event type (one of `protocol::rights::REQUEST_EVENTS`).
    pub event: &'static str,
    /// What the person is told, if this is theirs to know.
    pub update: Option<RequestUpdate>,
    pub detail: Option<String>,
    /// The role that must act next (`request.approval_requested`).
    pub role: Option<StaffRole>,
    /// The signed receipt of a step that ends the request, for the person's wallets.
    pub receipt: Option<String>,
}

impl Happened {
    pub(crate) fn new(event: &'static str, update: Option<RequestUpdate>, detail: Option<String>) -> Self {
        Self { event, update, detail, role: None, receipt: None }
    }
}

/// Who hears of a request's changes: the person's active wallet connections, and, for the
/// wallet that filed it, the id its `request.submit` carried.
#[derive(Debug, Clone, Default)]
pub(crate) struct Audience {
    connections: Vec<String>,
    reply_to: Option<(String, String)>,
}

impl Gateway {
    /// What a refused person may do next (art. 12(4)); `None` unless refused.
    pub fn remedies(&self, request: &RightsRequest) -> Option<Remedies> {
        let authority = &self.notice.controller.supervisory_authority;
        (request.state == RequestState::Refused).then(|| Remedies {
            supervisory_authority: authority.name.clone(),
            complaint_url: authority.url.clone(),
            judicial_remedy: JUDICIAL_REMEDY.to_owned(),
        })
    }

    /// The request as its person's wallet is told of it.
    pub(crate) fn request_status(
        &self,
        request: &RightsRequest,
        update: RequestUpdate,
        detail: Option<String>,
    ) -> RequestStatus {
        RequestStatus {
            number: request.number.clone(),
            kind: request.kind,
            state: request.state,
            update,
            at: request.updated_at,
            received_at: request.received_at,
            due_on: request.due_on.to_string(),
            due_at: request.due_at,
            contact: self.contact().to_owned(),
            detail,
            remedies: self.remedies(request),
            receipt: None,
        }
    }

    /// The person's wallets that hear of changes to their requests; `reply_to` names the
    /// connection and request id of a wallet's own `request.submit`.
    pub(crate) async fn audience(
        &self,
        subject_ref: &str,
        reply_to: Option<(&str, &str)>,
    ) -> Result<Audience, StoreError> {
        let connections = self.pairings.connections_of(subject_ref, MAX_WALLETS_TOLD).await?;
        Ok(Audience {
            connections: connections.into_iter().filter(|c| c.active).map(|c| c.id).collect(),
            reply_to: reply_to.map(|(c, r)| (c.to_owned(), r.to_owned())),
        })
    }

    /// Acknowledges a request a wallet sent again to that wallet alone: its first
    /// acknowledgement may be what it missed.
    pub(crate) async fn acknowledge_again(
        &self,
        request: &RightsRequest,
        connection_id: &str,
        request_id: &str,
    ) -> Result<(), StoreError> {
        let audience = Audience {
            connections: vec![connection_id.to_owned()],
            reply_to: Some((connection_id.to_owned(), request_id.to_owned())),
        };
        let acknowledged = [Happened::new("request.acknowledged", Some(RequestUpdate::Acknowledged), None)];
        let mut notices = self.request_notices(request, &audience, &acknowledged);
        notices.retain(|n| n.target.starts_with(WALLET_TARGET));
        self.outbox.insert(&notices).await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// The notices reporting `happened` (in order) of `request`, as it is after the change.
    pub(crate) fn request_notices(
        &self,
        request: &RightsRequest,
        audience: &Audience,
        happened: &[Happened],
    ) -> Vec<Notice> {
        let mut notices = Vec::new();
        let now = self.clock.now();
        for h in happened {
            if let Some(update) = h.update {
                let mut status = self.request_status(request, update, h.detail.clone());
                status.receipt.clone_from(&h.receipt);
                for connection in &audience.connections {
                    let request_id = audience
                        .reply_to
                        .as_ref()
                        .filter(|(c, _)| c == connection && update == RequestUpdate::Acknowledged)
                        .map(|(_, r)| r.clone());
                    let body = Body::RequestStatus { request_id, status: Box::new(status.clone()) };
                    let payload = serde_json::to_string(&body).unwrap_or_default();
                    notices.push(notice(format!("{WALLET_TARGET}{connection}"), h.event, payload, now));
                }
            }
            let mut data = json!({
                "id": request.id,
                "number": request.number,
                "type": request.kind,
                "subject_ref": request.subject_ref,
                "channel": request.channel,
                "state": request.state,
                "phase": request.phase,
                "due_on": request.due_on.to_string(),
                "due_at": self.request_rules.deadlines.end_of_text(request.due_on),
            });
            if let Some(detail) = &h.detail {
                data["detail"] = json!(detail);
            }
            // Step 1: whoever filed a letter for the person is told it was taken up.
            if let Some(intermediary) = &request.intermediary {
                data["intermediary"] = json!(intermediary);
            }
            if let Some(role) = h.role {
                data["role"] = json!(role);
            }
            notices.extend(self.webhook_notices(h.event, data));
        }
        notices
    }
}

impl Gateway {
    /// The `audit.checkpoint` webhooks telling witnesses of `checkpoint`: its number,
    /// hash and signed token.
    pub(crate) fn checkpoint_notices(&self, checkpoint: &Checkpoint) -> Vec<Notice> {
        let data = json!({ "seq": checkpoint.seq, "hash": checkpoint.hash, "checkpoint": checkpoint.token });
        self.webhook_notices(AUDIT_CHECKPOINT_EVENT, data)
    }

    /// `event` with its `data`, as Standard Webhooks payloads (`type`, `timestamp`,
    /// `data`) to every endpoint that subscribes to it.
    pub(super) fn webhook_notices(&self, event: &str, data: serde_json::Value) -> Vec<Notice> {
        let now = self.clock.now();
        let payload = json!({ "type": event, "timestamp": rfc3339(now), "data": data }).to_string();
        self.webhooks
            .iter()
            .filter(|e| e.wants(event))
            .map(|e| notice(format!("{WEBHOOK_TARGET}{}", e.id), event, payload.clone(), now))
            .collect()
    }
}

/// One notice to `target`, with an id of its own.
pub(super) fn notice(target: String, event: &str, payload: String, now: u64) -> Notice {
    Notice {
        // Standard Webhooks ids start `msg_`; the same id on every attempt lets receivers
        // drop a redelivery.
        id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
        target,
        event_type: event.to_owned(),
        payload,
        created_at: now,
    }
}
