//! Moving a rights request through its phases (seed 001, "Fasering"; bijlage 2, steps
//! 4-8): staff record the criteria each phase asks for, a request leaves a phase only once
//! its mandatory criteria are met and, where the phase names one, by its approver; erasure,
//! rectification and restriction need an approver who did not prepare them (four eyes).
//! A request may be extended once, within its first month, with a reason; a refusal carries
//! its reason and the person's remedies (art. 12(4)). Every step appends to the history.

use super::request_actions::GATEWAY_ACTOR;
use super::request_notices::{Audience, Happened};
use super::rights_requests::{IDENTIFICATION_PENDING, IDENTITY_VERIFIED, criterion_met};
use super::{Caller, Gateway, RequestError};
use crate::calendar::{FIRST_PERIOD_MONTHS, MAX_EXTENSION_MONTHS};
use crate::config::{CLOSED_PHASE, PhaseConfig};
use crate::protocol::rights::{ActionStatus, RequestKind, RequestState, RequestUpdate, StaffRole};
use crate::store::action_store::Action;
use crate::store::request_store::{RequestChange, RequestEvent, RightsRequest};

/// Longest reason or note staff may give, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// The phases requests go through, and which types need four eyes.
#[derive(Debug, Clone)]
pub struct PhasePlan {
    pub phases: Vec<PhaseConfig>,
    pub four_eyes: Vec<RequestKind>,
}

/// A criterion of the phase a request is in, and whether it is met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriterionStatus {
    pub id: String,
    pub mandatory: bool,
    pub met: bool,
}

/// Where a request stands in its workflow, for the people moving it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowStatus {
    pub criteria: Vec<CriterionStatus>,
    /// The phase it moves to next; `closed` from the last one, `None` once ended.
    pub next_phase: Option<String>,
    /// The role that must move it on, when the phase names one.
    pub approver_role: Option<StaffRole>,
}

impl PhasePlan {
    fn phases_for(&self, kind: RequestKind) -> impl Iterator<Item = &PhaseConfig> {
        self.phases.iter().filter(move |p| p.types.is_empty() || p.types.contains(&kind))
    }

    fn phase(&self, kind: RequestKind, id: &str) -> Option<&PhaseConfig> {
        self.phases_for(kind).find(|p| p.id == id)
    }

    fn next_after(&self, kind: RequestKind, id: &str) -> String {
        let mut phases = self.phases_for(kind).skip_while(|p| p.id != id);
        phases.next();
        phases.next().map_or_else(|| CLOSED_PHASE.to_owned(), |p| p.id.clone())
    }

    /// The criteria of the request's phase, met or not, and where it goes next.
    pub fn status(&self, request: &RightsRequest, history: &[RequestEvent]) -> WorkflowStatus {
        let Some(phase) = self.phase(request.kind, &request.phase).filter(|_| request.state == RequestState::Open)
        else {
            return WorkflowStatus { criteria: Vec::new(), next_phase: None, approver_role: None };
        };
        let criteria = phase
            .criteria
            .iter()
            .map(|c| CriterionStatus { id: c.id.clone(), mandatory: c.mandatory, met: is_met(history, &c.id) })
            .collect();
        WorkflowStatus {
            criteria,
            next_phase: Some(self.next_after(request.kind, &phase.id)),
            approver_role: phase.approver_role,
        }
    }
}

/// Met once, in any phase: identity established at intake stays established.
fn is_met(history: &[RequestEvent], criterion: &str) -> bool {
    let action = criterion_met(criterion);
    history.iter().any(|e| e.action == action)
}

impl Gateway {
    /// Records that `criterion` of the request's current phase is met.
    pub async fn record_criterion(
        &self,
        caller: &Caller,
        id: &str,
        criterion: &str,
        note: Option<&str>,
    ) -> Result<(), RequestError> {
        let (request, history) = self.open_request(caller, id, &[StaffRole::Handler, StaffRole::Approver]).await?;
        check_note(note)?;
        let phase = self.phase_of(&request)?;
        if !phase.criteria.iter().any(|c| c.id == criterion) {
            let known: Vec<&str> = phase.criteria.iter().map(|c| c.id.as_str()).collect();
            return Err(RequestError::NotInPhase(format!(
                "phase {:?} has no criterion {criterion:?}; it has {known:?}",
                phase.id
            )));
        }
        if is_met(&history, criterion) {
            return Ok(());
        }
        // A written request's identity is established with how it was checked, which the
        // register keeps beside the request.
        if criterion == IDENTITY_VERIFIED && request.identification == IDENTIFICATION_PENDING {
            return Err(RequestError::Invalid(
                "record how identity was checked with POST /v1/requests/{id}/identification".into(),
            ));
        }
        let event = self.event(caller, &request.phase, &criterion_met(criterion), note.map(str::to_owned));
        self.apply(&request, unchanged(&request, self.clock.now()), &[event], &[]).await
    }

    /// Moves the request to its next phase, or closes it from the last one.
    pub async fn advance_request(&self, caller: &Caller, id: &str, note: Option<&str>) -> Result<(), RequestError> {
        let (request, history) = self.open_request(caller, id, &[StaffRole::Handler, StaffRole::Approver]).await?;
        check_note(note)?;
        let phase = self.phase_of(&request)?;
        let next = self.phase_plan.next_after(request.kind, &phase.id);
        let closing = next == CLOSED_PHASE;
        // What is still to be done at the sources says more than the criterion it blocks.
        let actions = if closing { self.actions.of_request(&request.id).await? } else { Vec::new() };
        let unsettled: Vec<String> = actions
            .iter()
            .filter(|a| !a.status.is_settled())
            .map(|a| format!("{} ({} {}, {})", a.seq, a.operation.as_str(), a.category, a.status.as_str()))
            .collect();
        if !unsettled.is_empty() {
            return Err(RequestError::OperationsPending(unsettled.join("; ")));
        }
        let unmet: Vec<&str> =
            phase.criteria.iter().filter(|c| c.mandatory && !is_met(&history, &c.id)).map(|c| c.id.as_str()).collect();
        if !unmet.is_empty() {
            return Err(RequestError::CriteriaUnmet(unmet.join(", ")));
        }
        let actor = caller.register_name();
        if let Some(role) = phase.approver_role {
            if !matches!(caller, Caller::Staff { role: r, .. } if *r == role || *r == StaffRole::Admin) {
                return Err(RequestError::NotPermitted(format!(
                    "phase {:?} is approved by the {} role",
                    phase.id,
                    role.as_str()
                )));
            }
            let prepared_it =
                history.iter().any(|e| e.actor == actor && e.phase != phase.id && e.actor.starts_with("staff:"));
            if self.phase_plan.four_eyes.contains(&request.kind) && prepared_it {
                return Err(RequestError::NotPermitted(format!(
                    "four eyes: {actor} prepared this {} request, so another member must approve it",
                    request.kind.as_str()
                )));
            }
        }
        let now = self.clock.now();
        let mut change = unchanged(&request, now);
        change.phase = &next;
        let outcome = note.map(str::to_owned).unwrap_or_else(|| "carried out".to_owned());
        let planned;
        let receipt;
        if closing {
            change.state = RequestState::Closed;
            change.outcome = Some(&outcome);
            let provided = self.provided_bundle(&request).await?;
            receipt = self.sign_request_receipt(&ended(&request, &change), &actions, provided.as_ref())?;
            change.receipt = Some(&receipt);
        } else if self.phase_plan.next_after(request.kind, &next) == CLOSED_PHASE {
            // The last phase carries the request out: its operations are planned now.
            planned = self.plan_actions(&request, now);
            change.actions = &planned;
        }
        let action = if phase.approver_role.is_some() { "approved" } else { "advanced" };
        let mut events = vec![self.event(caller, &phase.id, action, Some(format!("to {next}")))];
        let mut happened = vec![Happened::new("request.advanced", None, Some(format!("{} to {next}", phase.id)))];
        if closing {
            events.push(self.event(caller, CLOSED_PHASE, "closed", Some(outcome.clone())));
            let mut closed = Happened::new("request.closed", Some(RequestUpdate::Closed), Some(outcome.clone()));
            closed.receipt = change.receipt.map(str::to_owned);
            happened.push(closed);
        } else if let Some(role) = self.phase_plan.phase(request.kind, &next).and_then(|p| p.approver_role) {
            // The designated role is told a request waits for it.
            let mut waiting = Happened::new("request.approval_requested", None, Some(format!("phase {next}")));
            waiting.role = Some(role);
            happened.push(waiting);
        }
        self.apply(&request, change, &events, &happened).await
    }

    /// Extends the deadline once, by one or two months, with the reason the person is told
    /// (art. 12(3)); only while the first month runs.
    pub async fn extend_request(
        &self,
        caller: &Caller,
        id: &str,
        months: u32,
        reason: &str,
    ) -> Result<(), RequestError> {
        let (request, history) = self.open_request(caller, id, &[StaffRole::Handler, StaffRole::Approver]).await?;
        if !(1..=MAX_EXTENSION_MONTHS).contains(&months) {
            return Err(RequestError::Invalid(format!("an extension is 1 to {MAX_EXTENSION_MONTHS} months")));
        }
        let reason = required_note(reason, "an extension needs the reason the person is told")?;
        if history.iter().any(|e| e.action == "extended") {
            return Err(RequestError::ExtensionRefused(
                "the request was extended before; art. 12(3) allows one extension".into(),
            ));
        }
        let now = self.clock.now();
        if now > request.due_at {
            return Err(RequestError::ExtensionRefused("the first month has passed; extend only while it runs".into()));
        }
        let rules = &self.request_rules.deadlines;
        let due_on = rules.due(request.received_on, FIRST_PERIOD_MONTHS + months);
        let mut change = unchanged(&request, now);
        change.due_on = due_on;
        change.due_at = rules.end_of(due_on);
        let event =
            self.event(caller, &request.phase, "extended", Some(format!("by {months} months to {due_on}: {reason}")));
        let happened = Happened::new("request.extended", Some(RequestUpdate::Extended), Some(reason.to_owned()));
        self.apply(&request, change, &[event], &[happened]).await
    }

    /// Refuses the request with its reason; the person is told where to complain (art. 12(4)).
    pub async fn refuse_request(&self, caller: &Caller, id: &str, reason: &str) -> Result<(), RequestError> {
        let (request, _) = self.open_request(caller, id, &[StaffRole::Approver]).await?;
        let reason = required_note(reason, "a refusal needs its reason (art. 12(4))")?;
        let mut change = unchanged(&request, self.clock.now());
        change.phase = CLOSED_PHASE;
        change.state = RequestState::Refused;
        change.outcome = Some(reason);
        let actions = self.settled_enough_to_end(&request.id).await?;
        let receipt = self.sign_request_receipt(&ended(&request, &change), &actions, None)?;
        change.receipt = Some(&receipt);
        change.unsettled = unsettled_count(&actions);
        let event = self.event(caller, &request.phase, "refused", Some(reason.to_owned()));
        let mut happened = Happened::new("request.refused", Some(RequestUpdate::Refused), Some(reason.to_owned()));
        happened.receipt = Some(receipt.clone());
        self.apply(&request, change, &[event], &[happened]).await
    }

    /// Carries out a request that needs no staff, just filed: an information request is
    /// answered and closed at once; an objection to direct marketing goes straight to its
    /// last phase with its operations planned, and closes once they are carried out.
    pub(super) async fn without_staff(&self, request: &RightsRequest) -> Result<(), RequestError> {
        if request.kind == RequestKind::Information {
            return self.close_by_gateway(request, "answered at once from the inventory (art. 13 and 14)").await;
        }
        let Some(last) = self.phase_plan.phases_for(request.kind).last().map(|p| p.id.clone()) else {
            return Ok(());
        };
        let now = self.clock.now();
        let planned = self.plan_actions(request, now);
        let mut change = unchanged(request, now);
        change.phase = &last;
        change.actions = &planned;
        let detail = format!("to {last}: an objection to direct marketing is absolute (art. 21(3)), no approval");
        let event = gateway_event(now, &request.phase, "advanced", Some(detail));
        self.apply(request, change, &[event], &[]).await?;
        if planned.iter().all(|a| a.status.is_settled()) {
            let moved = self.requests.by_id(&request.id).await?.ok_or(RequestError::NotFound)?;
            self.close_by_gateway(&moved, "carried out at once").await?;
        }
        Ok(())
    }

    /// Closes a request the gateway carried out by itself, with its receipt, once every
    /// operation is settled; does nothing while some are not.
    pub(super) async fn close_by_gateway(&self, request: &RightsRequest, outcome: &str) -> Result<(), RequestError> {
        let actions = self.actions.of_request(&request.id).await?;
        if !actions.iter().all(|a| a.status.is_settled()) {
            return Ok(());
        }
        let now = self.clock.now();
        let mut change = unchanged(request, now);
        change.phase = CLOSED_PHASE;
        change.state = RequestState::Closed;
        change.outcome = Some(outcome);
        let receipt = self.sign_request_receipt(&ended(request, &change), &actions, None)?;
        change.receipt = Some(&receipt);
        let event = gateway_event(now, CLOSED_PHASE, "closed", Some(outcome.to_owned()));
        let mut happened = Happened::new("request.closed", Some(RequestUpdate::Closed), Some(outcome.to_owned()));
        happened.receipt = Some(receipt.clone());
        self.apply(request, change, &[event], &[happened]).await
    }

    /// The operations of a request that is to end other than by being carried out (a
    /// refusal, a referral): tasks are refused with it, but an operation running at its
    /// source must finish first, or the receipt could call refused what the source did.
    pub(super) async fn settled_enough_to_end(&self, id: &str) -> Result<Vec<Action>, RequestError> {
        let actions = self.actions.of_request(id).await?;
        let running: Vec<String> = actions
            .iter()
            .filter(|a| a.status == ActionStatus::Pending)
            .map(|a| format!("{} ({} {}) is running at its source", a.seq, a.operation.as_str(), a.category))
            .collect();
        if !running.is_empty() {
            return Err(RequestError::OperationsPending(running.join("; ")));
        }
        Ok(actions)
    }

    /// The phase plan, for views that show what a request still needs.
    pub fn phase_plan(&self) -> &PhasePlan {
        &self.phase_plan
    }

    /// The request with its history, if `caller` is staff in one of `roles` (admins may do
    /// everything) and the request is still open.
    pub(super) async fn open_request(
        &self,
        caller: &Caller,
        id: &str,
        roles: &[StaffRole],
    ) -> Result<(RightsRequest, Vec<RequestEvent>), RequestError> {
        let allowed = matches!(caller, Caller::Staff { role, .. } if *role == StaffRole::Admin || roles.contains(role));
        if !allowed {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            return Err(RequestError::NotPermitted(format!("this needs the role {} or admin", names.join(" or "))));
        }
        let (request, history) = self.request_with_history(caller, id).await?;
        if request.state != RequestState::Open {
            return Err(RequestError::Ended(request.state.as_str().to_owned()));
        }
        Ok((request, history))
    }

    fn phase_of(&self, request: &RightsRequest) -> Result<&PhaseConfig, RequestError> {
        // A phase removed from the config since: the request cannot move until it is back.
        self.phase_plan.phase(request.kind, &request.phase).ok_or_else(|| {
            RequestError::Invalid(format!(
                "phase {:?} is no longer configured for {} requests",
                request.phase,
                request.kind.as_str()
            ))
        })
    }

    pub(super) fn event(&self, caller: &Caller, phase: &str, action: &str, detail: Option<String>) -> RequestEvent {
        RequestEvent {
            at: self.clock.now(),
            actor: caller.register_name(),
            phase: phase.to_owned(),
            action: action.to_owned(),
            detail,
        }
    }

    /// Writes a step with its history lines and the notices of what `happened`.
    pub(crate) async fn apply(
        &self,
        request: &RightsRequest,
        change: RequestChange<'_>,
        events: &[RequestEvent],
        happened: &[Happened],
    ) -> Result<(), RequestError> {
        let mut notices = if happened.is_empty() {
            Vec::new()
        } else {
            let after = ended(request, &change);
            // The person's wallets are looked up only when something is theirs to know.
            let audience = if happened.iter().any(|h| h.update.is_some()) {
                self.audience(&request.subject_ref, None).await?
            } else {
                Audience::default()
            };
            self.request_notices(&after, &audience, happened)
        };
        notices
            .extend(change.actions.iter().filter(|a| a.status == ActionStatus::Pending).map(|a| self.action_notice(a)));
        let audit = self.request_audit(request, events, change.receipt);
        if self.requests.change(&change, events, &notices, &audit).await? {
            if !notices.is_empty() {
                self.outbox_wake.notify_one();
            }
            Ok(())
        } else {
            Err(RequestError::Conflict(format!("request {} changed meanwhile; read it again", request.number)))
        }
    }
}

/// How many of `actions` are not settled.
pub(super) fn unsettled_count(actions: &[Action]) -> u64 {
    actions.iter().filter(|a| !a.status.is_settled()).count() as u64
}

/// A history line the gateway writes by itself.
pub(super) fn gateway_event(at: u64, phase: &str, action: &str, detail: Option<String>) -> RequestEvent {
    RequestEvent { at, actor: GATEWAY_ACTOR.to_owned(), phase: phase.to_owned(), action: action.to_owned(), detail }
}

/// The request as `change` leaves it.
pub(super) fn ended(request: &RightsRequest, change: &RequestChange<'_>) -> RightsRequest {
    let mut after = request.clone();
    after.phase = change.phase.to_owned();
    after.state = change.state;
    after.identification = change.identification.to_owned();
    after.outcome = change.outcome.map(str::to_owned);
    after.due_on = change.due_on;
    after.due_at = change.due_at;
    after.updated_at = change.at;
    after
}

pub(crate) fn unchanged(request: &RightsRequest, at: u64) -> RequestChange<'_> {
    RequestChange {
        id: &request.id,
        expected_phase: &request.phase,
        expected_due_on: request.due_on,
        expected_identification: &request.identification,
        phase: &request.phase,
        state: request.state,
        identification: &request.identification,
        outcome: request.outcome.as_deref(),
        due_on: request.due_on,
        due_at: request.due_at,
        at,
        actions: &[],
        receipt: None,
        unsettled: 0,
    }
}

fn check_note(note: Option<&str>) -> Result<(), RequestError> {
    let Some(note) = note else { return Ok(()) };
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(RequestError::Invalid(format!("a note is at most {MAX_NOTE_CHARS} characters")));
    }
    check_text(note, "a note")
}

/// Free text holds no control characters but line breaks and tabs (PostgreSQL refuses NUL
/// in text, and none belong in a register).
pub(crate) fn check_text(text: &str, what: &str) -> Result<(), RequestError> {
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(RequestError::Invalid(format!("{what} holds a control character")));
    }
    Ok(())
}

fn required_note<'a>(text: &'a str, what: &str) -> Result<&'a str, RequestError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(RequestError::Invalid(what.to_owned()));
    }
    check_note(Some(text))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_phases;
    use crate::gateway::rights_requests::IDENTITY_VERIFIED;

    #[test]
    fn phases_follow_the_plan_and_skip_those_for_other_types() {
        let mut phases = default_phases();
        phases[2].types = vec![RequestKind::Erasure];
        let plan = PhasePlan { phases, four_eyes: vec![] };
        assert_eq!(plan.next_after(RequestKind::Erasure, "assessment"), "approval");
        assert_eq!(plan.next_after(RequestKind::Access, "assessment"), "execution");
        assert_eq!(plan.next_after(RequestKind::Access, "execution"), CLOSED_PHASE);
        assert!(plan.phase(RequestKind::Access, "approval").is_none());
        assert_eq!(IDENTITY_VERIFIED, default_phases()[0].criteria[0].id);
    }
}
