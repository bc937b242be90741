//! What carrying out a request takes (bijlage 2, steps 5-6): when a request enters its
//! last phase, one operation per category it concerns (and per purpose, for an objection)
//! is planned. What a source supports is carried out by the gateway through the outbox
//! (`action_runner`); what it does not, what it refused and what never answered becomes a
//! handler's task, marked done or refused with a note. Categories under a legal hold are
//! refused with their art. 17(3) ground at once. A request closes only once every
//! operation is settled.

use serde_json::{Map, Value, json};

use super::request_workflow::check_text;
use super::{Caller, Gateway, RequestError};
use crate::bundle::Evidence;
use crate::inventory::{Category, LegalBasis};
use crate::protocol::rights::{ActionStatus, Operation, RequestKind, StaffRole};
use crate::store::action_store::{Action, Settlement};
use crate::store::request_store::RightsRequest;

/// The category of an operation about the request as a whole (a human review).
pub const WHOLE_REQUEST: &str = "*";
/// Longest note on an operation, in characters.
pub const MAX_ACTION_NOTE_CHARS: usize = 2000;
/// How often a settled task's history line is tried against a request that keeps changing.
const SETTLE_LINE_TRIES: usize = 3;
/// Who the register names for what the gateway does by itself.
pub(crate) const GATEWAY_ACTOR: &str = "gateway";

/// An operation as planned: category, operation, argument, and whether it may be carried
/// out or is refused with a ground.
type Planned = (String, Operation, Option<Value>, Result<(), String>);

/// How a handler settles a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskResult {
    /// Carried out by hand, as the note says.
    Done,
    /// Not carried out, on the ground the note gives.
    Refused,
}

/// Whether `request` is carried out without staff: an information request is answered
/// from the inventory, and an objection to direct marketing only is absolute (art. 21(3)).
pub(super) fn needs_no_staff(inventory: &crate::inventory::Inventory, request: &RightsRequest) -> bool {
    match request.kind {
        RequestKind::Information => true,
        RequestKind::Objection => {
            !request.categories.is_empty()
                && request.categories.iter().all(|c| inventory.category(c).is_some_and(|c| c.direct_marketing))
        }
        _ => false,
    }
}

impl Gateway {
    /// The operations that carry out `request`, planned as it enters its last phase.
    pub(super) fn plan_actions(&self, request: &RightsRequest, now: u64) -> Vec<Action> {
        let mut planned: Vec<Planned> = Vec::new();
        let in_scope = |c: &&Category| request.categories.is_empty() || request.categories.contains(&c.id);
        match request.kind {
            RequestKind::Rectification => {
                let proposed = request.proposed.as_ref().and_then(Value::as_object).cloned().unwrap_or_default();
                for (id, fields) in proposed {
                    let Some(category) = self.inventory.category(&id) else { continue };
                    let fields = fields.as_object().cloned().unwrap_or_default();
                    let argument = rectify_argument(&category.id_field, &fields);
                    planned.push((id, Operation::Rectify, Some(argument), Ok(())));
                }
            }
            RequestKind::Erasure => {
                for category in self.inventory.categories().iter().filter(in_scope) {
                    let held = category.legal_hold().map_or(Ok(()), Err);
                    planned.push((category.id.clone(), Operation::Erase, None, held));
                }
            }
            RequestKind::Restriction => {
                for category in self.inventory.categories().iter().filter(in_scope) {
                    planned.push((category.id.clone(), Operation::Restrict, None, Ok(())));
                }
            }
            RequestKind::Objection => {
                for category in self.inventory.categories().iter().filter(in_scope) {
                    let ground = objection_ground(category);
                    for purpose in &category.purposes {
                        let argument = json!({ "purpose": purpose });
                        planned.push((category.id.clone(), Operation::Object, Some(argument), ground.clone()));
                    }
                }
            }
            RequestKind::HumanReview => {
                planned.push((WHOLE_REQUEST.to_owned(), Operation::Review, None, Ok(())));
            }
            RequestKind::Access | RequestKind::Portability | RequestKind::Information => {}
        }
        planned
            .into_iter()
            .enumerate()
            .map(|(i, (category, operation, argument, allowed))| {
                let (status, note) = match allowed {
                    Err(ground) => (ActionStatus::Refused, Some(ground)),
                    Ok(()) => match self.source_can(&category, operation) {
                        Ok(()) => (ActionStatus::Pending, None),
                        Err(why) => (ActionStatus::Task, Some(why)),
                    },
                };
                Action {
                    request_id: request.id.clone(),
                    seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    category,
                    operation,
                    argument,
                    status,
                    note,
                    evidence: Evidence::default(),
                    updated_at: now,
                    updated_by: GATEWAY_ACTOR.to_owned(),
                }
            })
            .collect()
    }

    /// Whether the source of `category` carries out `operation` itself; why not, if not.
    fn source_can(&self, category: &str, operation: Operation) -> Result<(), String> {
        let Some(source) = self.inventory.category(category).map(|c| c.source.as_str()) else {
            return Err("a person reviews the decision".to_owned());
        };
        let capabilities = self.connectors.source(source).map(|c| c.capabilities_for(category)).unwrap_or_default();
        let can = match operation {
            Operation::Rectify => capabilities.rectify,
            Operation::Erase => capabilities.erase,
            Operation::Restrict | Operation::LiftRestriction => capabilities.restrict,
            Operation::Object => capabilities.object,
            Operation::Review => false,
        };
        if can {
            Ok(())
        } else {
            Err(format!("source {source:?} cannot {} by itself: carry it out there by hand", operation.as_str()))
        }
    }

    /// A request's operations, for every staff role.
    pub async fn request_actions(&self, caller: &Caller, id: &str) -> Result<Vec<Action>, RequestError> {
        self.request_with_history(caller, id).await?;
        Ok(self.actions.of_request(id).await?)
    }

    /// A handler settles task `seq` of request `id`: done by hand, or refused, as `note`
    /// says; the history records it.
    pub async fn settle_task(
        &self,
        caller: &Caller,
        id: &str,
        seq: u32,
        result: TaskResult,
        note: &str,
    ) -> Result<(), RequestError> {
        // Refusing part of a request is a refusal: the approver's call, as for the whole.
        let roles: &[StaffRole] = match result {
            TaskResult::Done => &[StaffRole::Handler, StaffRole::Approver],
            TaskResult::Refused => &[StaffRole::Approver],
        };
        let (request, _) = self.open_request(caller, id, roles).await?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > MAX_ACTION_NOTE_CHARS {
            return Err(RequestError::Invalid(format!(
                "say what was done, or why not, in 1 to {MAX_ACTION_NOTE_CHARS} characters"
            )));
        }
        check_text(note, "a note")?;
        let action = self.actions.action(id, seq).await?.ok_or(RequestError::NoOperation(seq))?;
        if action.status != ActionStatus::Task {
            return Err(RequestError::NotATask(format!(
                "operation {seq} is {}; only a task is settled by hand",
                action.status.as_str()
            )));
        }
        let status = match result {
            TaskResult::Done => ActionStatus::Manual,
            TaskResult::Refused => ActionStatus::Refused,
        };
        let by = caller.register_name();
        let at = self.clock.now();
        let settlement = Settlement { status, note: Some(note), evidence: &Evidence::default(), at, by: &by };
        if !self.actions.settle(id, seq, &[ActionStatus::Task], &settlement).await? {
            return Err(RequestError::Conflict(format!("operation {seq} changed meanwhile; read it again")));
        }
        let detail = format!("{} {} {}: {note}", action.operation.as_str(), action.category, status.as_str());
        // The operation is settled; its history line follows, read afresh should another
        // member's step (an extension) have changed the request meanwhile.
        let mut request = request;
        for _ in 0..SETTLE_LINE_TRIES {
            let event = self.event(caller, &request.phase, &format!("operation {seq} settled"), Some(detail.clone()));
            let change = super::request_workflow::unchanged(&request, at);
            match self.apply(&request, change, &[event], &[]).await {
                Ok(()) => break,
                Err(RequestError::Conflict(_)) => {
                    request = self.requests.by_id(id).await?.ok_or(RequestError::NotFound)?;
                }
                Err(e) => return Err(e),
            }
        }
        self.after_settled(&request).await
    }
}

/// A rectification's argument: which record (by the category's id field, if the person
/// named it) and the JSON Merge Patch (RFC 7396) the dotted field paths make.
fn rectify_argument(id_field: &str, fields: &Map<String, Value>) -> Value {
    let mut patch = Map::new();
    for (path, value) in fields.iter().filter(|(path, _)| *path != id_field) {
        let segments: Vec<&str> = path.split('.').collect();
        insert_path(&mut patch, &segments, value.clone());
    }
    let record = fields.get(id_field).map(|id| match id {
        Value::String(s) => Value::String(s.clone()),
        other => Value::String(other.to_string()),
    });
    json!({ "record": record, "patch": patch })
}

fn insert_path(node: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            node.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = node.entry((*first).to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

/// Whether art. 21 lets the person object to processing `category`: always to direct
/// marketing (21(2)), otherwise to processing on public task or legitimate interests
/// (21(1)); other bases have their own remedies.
fn objection_ground(category: &Category) -> Result<(), String> {
    if category.direct_marketing {
        return Ok(());
    }
    match category.legal_basis {
        LegalBasis::PublicTask | LegalBasis::LegitimateInterests => Ok(()),
        LegalBasis::Consent => Err(format!(
            "art. 21(1) GDPR covers processing on art. 6(1)(e) or (f); {} is processed on your consent, which you \
             may withdraw instead (art. 7(3))",
            category.name
        )),
        basis => Err(format!(
            "art. 21(1) GDPR covers processing on art. 6(1)(e) or (f); {} is processed on {} ({})",
            category.name,
            basis.describe(),
            basis.article()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_make_a_merge_patch_and_the_id_names_the_record() {
        let fields = json!({"id": 7, "address.street": "Kerkstraat 2", "address.city": "Utrecht", "email": null});
        let argument = rectify_argument("id", fields.as_object().unwrap());
        assert_eq!(
            argument,
            json!({"record": "7", "patch": {"address": {"street": "Kerkstraat 2", "city": "Utrecht"}, "email": null}})
        );
        let unnamed = rectify_argument("id", json!({"phone": "1"}).as_object().unwrap());
        assert_eq!(unnamed, json!({"record": null, "patch": {"phone": "1"}}));
    }
}
