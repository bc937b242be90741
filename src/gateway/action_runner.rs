//! Carries out a request's pending operations at their sources, each as an outbox notice
//! (target `action:<request id>:<seq>`), so an operation survives restarts and is retried on
//! the outbox's schedule while the source is down or slow. Every attempt sends the same
//! idempotency key, so a retry after a crash is not a second operation. A source's refusal
//! (a 4xx, a record it does not hold) is not retried: it becomes a handler's task, as do
//! retries that ran out. Once every operation is settled the gateway meets the execution
//! phase's `carried_out` criterion, and a handler can close the request.

use serde_json::Value;

use super::Gateway;
use super::outbox_worker::Outcome;
use super::request_actions::GATEWAY_ACTOR;
use super::request_actions::needs_no_staff;
use super::request_notices::Happened;
use super::request_workflow::{gateway_event, unchanged};
use super::rights_requests::criterion_met;
use crate::bundle::{Evidence, record_digest};
use crate::connectors::{Connector, ConnectorError, Record, WriteDone};
use crate::inventory::Category;
use crate::protocol::rights::{ActionStatus, Operation, RequestState};
use crate::protocol::subject::SubjectRef;
use crate::store::action_store::{Action, Settlement};
use crate::store::outbox_store::Notice;
use crate::store::request_store::RightsRequest;

/// Notice target prefix of an operation to carry out.
pub(crate) const ACTION_TARGET: &str = "action:";
/// The criterion the gateway meets once every operation is settled.
pub const CARRIED_OUT: &str = "carried_out";
/// Longest confirmation id of a source kept as evidence.
const MAX_CONFIRMATION_CHARS: usize = 128;
/// Most records fetched to find the one a rectification concerns, when the person named
/// none.
const MAX_RECORDS_SCANNED: usize = 10_000;

/// Why an operation did not happen on this attempt.
enum NotDone {
    /// Worth another attempt later: the source is down, slow or failing.
    Transient(String),
    /// Not worth another attempt: a handler must look at it.
    Task(String),
}

impl From<ConnectorError> for NotDone {
    fn from(e: ConnectorError) -> Self {
        if e.is_transient() { Self::Transient(e.to_string()) } else { Self::Task(format!("the source refused: {e}")) }
    }
}

impl Gateway {
    /// The outbox notice that has `action` carried out.
    pub(super) fn action_notice(&self, action: &Action) -> Notice {
        Notice {
            id: format!("op_{}_{}", action.request_id, action.seq),
            target: format!("{ACTION_TARGET}{}:{}", action.request_id, action.seq),
            event_type: format!("operation.{}", action.operation.as_str()),
            payload: serde_json::json!({ "request_id": action.request_id, "seq": action.seq }).to_string(),
            created_at: action.updated_at,
        }
    }

    /// One attempt at the operation a notice names.
    pub(super) async fn carry_out(&self, target: &str) -> Outcome {
        let Some((request_id, seq)) = parse_target(target) else {
            return Outcome::Gone(format!("not an operation: {target:?}"));
        };
        let action = match self.actions.action(request_id, seq).await {
            Ok(Some(action)) => action,
            Ok(None) => return Outcome::Gone("no such operation".to_owned()),
            Err(e) => return Outcome::Failed(None, e.to_string()),
        };
        let request = match self.requests.by_id(request_id).await {
            Ok(Some(request)) => request,
            Ok(None) => return Outcome::Gone("no such request".to_owned()),
            Err(e) => return Outcome::Failed(None, e.to_string()),
        };
        if action.status != ActionStatus::Pending {
            // Settled by an attempt that may have died before it went on: go on now.
            if let Err(e) = self.after_settled(&request).await {
                return Outcome::Failed(None, e.to_string());
            }
            return Outcome::Delivered(None);
        }
        if request.state != RequestState::Open {
            let note = format!("not carried out: the request was {} first", request.state.as_str());
            return match self.settle_by_gateway(&action, ActionStatus::Refused, &note, &Evidence::default()).await {
                Ok(_) => Outcome::Delivered(None),
                Err(e) => Outcome::Failed(None, e.to_string()),
            };
        }
        let timeout = self.request_rules.operation_timeout;
        let attempt = tokio::time::timeout(timeout, self.run_operation(&request, &action)).await;
        let attempt = attempt
            .unwrap_or_else(|_| Err(NotDone::Transient(format!("the source did not finish within {timeout:?}"))));
        let (status, note, evidence, outcome) = match attempt {
            Ok(evidence) => (ActionStatus::Done, String::new(), evidence, Outcome::Delivered(None)),
            Err(NotDone::Transient(error)) => return Outcome::Failed(None, error),
            Err(NotDone::Task(why)) => (ActionStatus::Task, why.clone(), Evidence::default(), Outcome::Gone(why)),
        };
        match self.settle_by_gateway(&action, status, &note, &evidence).await {
            Ok(true) => {
                if let Err(e) = self.after_settled(&request).await {
                    tracing::warn!(request = %request.number, "recording that every operation is settled: {e}");
                }
                outcome
            }
            Ok(false) => Outcome::Delivered(None),
            Err(e) => Outcome::Failed(None, e.to_string()),
        }
    }

    /// The outbox gave up on an operation (its retries ran out): a handler takes it over.
    pub(super) async fn give_up_operation(&self, target: &str, error: &str) {
        let Some((request_id, seq)) = parse_target(target) else { return };
        let Ok(Some(action)) = self.actions.action(request_id, seq).await else { return };
        let note = format!("the source did not carry it out after every retry: {error}");
        if let Err(e) = self.settle_by_gateway(&action, ActionStatus::Task, &note, &Evidence::default()).await {
            tracing::warn!(request = %request_id, seq, "handing operation over to staff: {e}");
        }
    }

    async fn settle_by_gateway(
        &self,
        action: &Action,
        status: ActionStatus,
        note: &str,
        evidence: &Evidence,
    ) -> Result<bool, crate::store::StoreError> {
        let settlement = Settlement {
            status,
            note: (!note.is_empty()).then_some(note),
            evidence,
            at: self.clock.now(),
            by: GATEWAY_ACTOR,
        };
        self.actions.settle(&action.request_id, action.seq, &[ActionStatus::Pending], &settlement).await
    }

    async fn run_operation(&self, request: &RightsRequest, action: &Action) -> Result<Evidence, NotDone> {
        let category = self
            .inventory
            .category(&action.category)
            .ok_or_else(|| NotDone::Task(format!("category {:?} is no longer in the inventory", action.category)))?;
        let connector = self
            .connectors
            .source(&category.source)
            .ok_or_else(|| NotDone::Task(format!("source {:?} is no longer configured", category.source)))?;
        let subject = SubjectRef::parse(&request.subject_ref)
            .map_err(|_| NotDone::Task("the request's subject reference is not valid".to_owned()))?;
        let key = action.idempotency_key();
        let argument = action.argument.as_ref().and_then(Value::as_object);
        let text = |name: &str| argument.and_then(|a| a.get(name)).and_then(Value::as_str).map(str::to_owned);
        let done: WriteDone = match action.operation {
            Operation::Rectify => {
                let patch: Record =
                    argument.and_then(|a| a.get("patch")).and_then(Value::as_object).cloned().unwrap_or_default();
                let record_id = match text("record") {
                    Some(id) => id,
                    None => only_record_id(connector.as_ref(), &subject, category).await?,
                };
                let mut done =
                    connector.rectify(&subject, &category.id, &category.id_field, &record_id, &patch, &key).await?;
                if done.record.is_none() {
                    // The write is done; a read-back that fails only costs the digest.
                    done.record = find_record(connector.as_ref(), &subject, category, &record_id).await.ok().flatten();
                }
                done
            }
            Operation::Erase => nothing_held(connector.erase(&subject, &category.id, &key).await)?,
            Operation::Restrict => nothing_held(connector.restrict(&subject, &category.id, &key).await)?,
            Operation::LiftRestriction => nothing_held(connector.lift_restriction(&subject, &category.id, &key).await)?,
            Operation::Object => {
                let purpose = text("purpose").ok_or_else(|| NotDone::Task("the objection names no purpose".into()))?;
                nothing_held(connector.object(&subject, &category.id, &purpose, &key).await)?
            }
            Operation::Review => return Err(NotDone::Task("a person reviews the decision".to_owned())),
        };
        Ok(Evidence {
            records: done.records,
            // A source's id, for quoting back to it: short, printable, or left out.
            confirmation: done.confirmation.filter(|c| {
                !c.is_empty() && c.chars().count() <= MAX_CONFIRMATION_CHARS && !c.chars().any(char::is_control)
            }),
            record_digests: done.record.iter().map(record_digest).collect(),
            bundle: None,
        })
    }

    /// Once every operation of `request` is settled, meets its phase's `carried_out`
    /// criterion (when the phase has one) and tells the staff tools it can be closed.
    pub(super) async fn after_settled(&self, request: &RightsRequest) -> Result<(), super::RequestError> {
        let actions = self.actions.of_request(&request.id).await?;
        if !actions.iter().all(|a| a.status.is_settled()) {
            return Ok(());
        }
        let Some(request) = self.requests.by_id(&request.id).await? else { return Ok(()) };
        if request.state != RequestState::Open {
            return Ok(());
        }
        if needs_no_staff(&self.inventory, &request) {
            return self.close_by_gateway(&request, "carried out at once").await;
        }
        let history = self.requests.history(&request.id).await?;
        let action = criterion_met(CARRIED_OUT);
        let in_phase = self.phase_plan.status(&request, &history).criteria.iter().any(|c| c.id == CARRIED_OUT);
        if !in_phase || history.iter().any(|e| e.action == action) {
            return Ok(());
        }
        let now = self.clock.now();
        let event = gateway_event(
            now,
            &request.phase,
            &action,
            Some(format!("every operation settled: {}", summary(&actions))),
        );
        let happened = Happened::new("request.carried_out", None, Some(summary(&actions)));
        self.apply(&request, unchanged(&request, now), &[event], &[happened]).await
    }
}

/// `3 done, 1 refused`: how a request's operations settled.
fn summary(actions: &[Action]) -> String {
    let mut counts: Vec<(ActionStatus, usize)> = Vec::new();
    for action in actions {
        match counts.iter_mut().find(|(s, _)| *s == action.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((action.status, 1)),
        }
    }
    counts.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect::<Vec<_>>().join(", ")
}

/// A source that does not know the person holds nothing to erase, restrict or stop: that
/// is done, with no record affected.
fn nothing_held(result: Result<WriteDone, ConnectorError>) -> Result<WriteDone, ConnectorError> {
    match result {
        Err(ConnectorError::SubjectNotFound) => Ok(WriteDone { records: Some(0), ..WriteDone::default() }),
        other => other,
    }
}

fn parse_target(target: &str) -> Option<(&str, u32)> {
    let (request_id, seq) = target.rsplit_once(':')?;
    Some((request_id, seq.parse().ok()?))
}

/// The id of the subject's one record of `category`, for a rectification that named none.
async fn only_record_id(
    connector: &dyn Connector,
    subject: &SubjectRef,
    category: &Category,
) -> Result<String, NotDone> {
    // Two records are enough to know there is more than one; none is kept beyond that.
    let (first, count) = scan(connector, subject, category, |_| true, 2).await?;
    match (first, count) {
        (None, _) => Err(NotDone::Task(format!("the source holds no record of {} for this person", category.id))),
        (Some(record), 1) => record_id(&record, &category.id_field).ok_or_else(|| {
            NotDone::Task(format!("the record has no id field {:?}: correct it by hand", category.id_field))
        }),
        (Some(_), _) => Err(NotDone::Task(format!(
            "the source holds several records of {}; the request must name one by {:?}",
            category.id, category.id_field
        ))),
    }
}

async fn find_record(
    connector: &dyn Connector,
    subject: &SubjectRef,
    category: &Category,
    id: &str,
) -> Result<Option<Record>, NotDone> {
    let wanted = |r: &Record| record_id(r, &category.id_field).as_deref() == Some(id);
    Ok(scan(connector, subject, category, wanted, 1).await?.0)
}

/// Streams the subject's records of `category`, keeping only the first that is `wanted`
/// and counting the wanted ones up to `enough`; at most [`MAX_RECORDS_SCANNED`] are read.
async fn scan(
    connector: &dyn Connector,
    subject: &SubjectRef,
    category: &Category,
    wanted: impl Fn(&Record) -> bool,
    enough: usize,
) -> Result<(Option<Record>, usize), NotDone> {
    use futures_util::StreamExt as _;
    let mut stream = match connector.fetch(subject, &category.id).await {
        Ok(stream) => stream,
        Err(ConnectorError::SubjectNotFound) => return Ok((None, 0)),
        Err(e) => return Err(e.into()),
    };
    let (mut first, mut count, mut read) = (None, 0, 0usize);
    while let Some(record) = stream.next().await {
        let record = record?;
        read += 1;
        if read > MAX_RECORDS_SCANNED {
            return Err(NotDone::Task(format!("more than {MAX_RECORDS_SCANNED} records of {}", category.id)));
        }
        if wanted(&record) {
            count += 1;
            first.get_or_insert(record);
            if count >= enough {
                break;
            }
        }
    }
    Ok((first, count))
}

/// A record's id as text: a string as it is, a number as written.
fn record_id(record: &Record, id_field: &str) -> Option<String> {
    match record.get(id_field)? {
        Value::String(id) => Some(id.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_the_request_and_the_operation() {
        assert_eq!(parse_target("6f0c:12"), Some(("6f0c", 12)));
        assert_eq!(parse_target("6f0c"), None);
    }
}
