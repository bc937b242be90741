//! Requests that concern data another organisation holds (bijlage 2, step 4a/4b): the
//! person is told whom to ask, with that organisation's name and privacy contact from the
//! trust list; a request only about their data is closed as referred, by an approver.

use super::request_notices::Happened;
use super::request_workflow::{ended, unchanged, unsettled_count};
use super::written_requests::check_short_text;
use super::{Caller, Gateway, RequestError};
use crate::config::CLOSED_PHASE;
use crate::protocol::rights::{RequestState, RequestUpdate, StaffRole};

/// Longest controller id looked up: a URL, as in the trust list.
pub const MAX_CONTROLLER_ID_CHARS: usize = 2048;

impl Gateway {
    /// Refers the person to `controller_id` of the trust list for `about` (step 4b: part of
    /// the request; `close` for step 4a: all of it, so the request closes as referred).
    pub async fn refer_request(
        &self,
        caller: &Caller,
        id: &str,
        controller_id: &str,
        about: Option<&str>,
        close: bool,
    ) -> Result<(), RequestError> {
        // Closing skips the phases' criteria and approvals: like a refusal, an approver's call.
        let roles: &[StaffRole] =
            if close { &[StaffRole::Approver] } else { &[StaffRole::Handler, StaffRole::Approver] };
        let (request, _) = self.open_request(caller, id, roles).await?;
        if let Some(about) = about {
            check_short_text(about, "about")?;
        }
        if controller_id.chars().count() > MAX_CONTROLLER_ID_CHARS {
            return Err(RequestError::Invalid(format!(
                "controller_id is at most {MAX_CONTROLLER_ID_CHARS} characters"
            )));
        }
        if controller_id == self.notice.controller.id {
            return Err(RequestError::Invalid("refer to another organisation, not this one".into()));
        }
        let trust = self.trust.as_ref().ok_or_else(|| {
            RequestError::NotListed("this gateway has no trust list to look organisations up in".into())
        })?;
        let list = trust.fresh().await.map_err(RequestError::NotListed)?;
        let other = list
            .list
            .controllers
            .iter()
            .find(|c| c.id == controller_id)
            .ok_or_else(|| RequestError::NotListed(format!("{controller_id:?} is not in the trust list")))?;
        let contact = other.privacy_contact.as_deref().unwrap_or(other.id.as_str());
        let what = about.map(|a| format!(" about {a}")).unwrap_or_default();
        let told = format!("{} holds data this request concerns; ask them ({contact}){what}", other.name);
        let now = self.clock.now();
        let mut change = unchanged(&request, now);
        let outcome = format!("referred to {} ({})", other.name, other.id);
        let mut events = vec![self.event(caller, &request.phase, "referred", Some(told.clone()))];
        let mut happened = vec![Happened::new("request.referred", Some(RequestUpdate::Referred), Some(told))];
        let receipt;
        if close {
            change.phase = CLOSED_PHASE;
            change.state = RequestState::Closed;
            change.outcome = Some(&outcome);
            let actions = self.settled_enough_to_end(&request.id).await?;
            receipt = self.sign_request_receipt(&ended(&request, &change), &actions, None)?;
            change.receipt = Some(&receipt);
            change.unsettled = unsettled_count(&actions);
            events.push(self.event(caller, CLOSED_PHASE, "closed", Some(outcome.clone())));
            let mut closed = Happened::new("request.closed", Some(RequestUpdate::Closed), Some(outcome.clone()));
            closed.receipt = Some(receipt.clone());
            happened.push(closed);
        }
        self.apply(&request, change, &events, &happened).await
    }
}
