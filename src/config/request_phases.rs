//! The phases every rights request goes through (`[[requests.phases]]`), each with the
//! criteria a handler must meet before it moves on and, where the organisation wants one,
//! the role that must approve the move (seed 001, "Fasering"). Without configuration:
//! intake → assessment → approval → execution → closed.

use serde::Deserialize;

use crate::protocol::rights::{RequestKind, StaffRole};

/// Most phases a plan may have.
const MAX_PHASES: usize = 20;
/// Most criteria one phase may have.
const MAX_CRITERIA: usize = 20;
/// Longest phase or criterion id.
const MAX_ID_LEN: usize = 64;
/// Where every request ends; no phase may take its name.
pub const CLOSED_PHASE: &str = "closed";

/// One phase of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseConfig {
    /// `intake`, `assessment`, …: lowercase letters, digits and `_`.
    pub id: String,
    /// What must (or may) be established in this phase.
    #[serde(default)]
    pub criteria: Vec<CriterionConfig>,
    /// The role that must move a request out of this phase; it is notified when one waits.
    #[serde(default)]
    pub approver_role: Option<StaffRole>,
    /// The request types that go through this phase; all when empty.
    #[serde(default)]
    pub types: Vec<RequestKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionConfig {
    pub id: String,
    /// A mandatory criterion must be met before the request leaves the phase.
    #[serde(default = "yes")]
    pub mandatory: bool,
}

fn yes() -> bool {
    true
}

fn phase(id: &str, criteria: &[(&str, bool)], approver_role: Option<StaffRole>) -> PhaseConfig {
    PhaseConfig {
        id: id.to_owned(),
        criteria: criteria.iter().map(|&(id, mandatory)| CriterionConfig { id: id.to_owned(), mandatory }).collect(),
        approver_role,
        types: Vec::new(),
    }
}

/// The plan without configuration, after bijlage 2: identify the person, determine the
/// scope (which sources, what another controller holds, legal holds), have the privacy
/// officer approve, carry it out.
pub fn default_phases() -> Vec<PhaseConfig> {
    vec![
        phase("intake", &[("identity_verified", true)], None),
        phase(
            "assessment",
            &[("scope_determined", true), ("legal_holds_checked", true), ("other_controllers_named", false)],
            None,
        ),
        phase("approval", &[], Some(StaffRole::Approver)),
        phase("execution", &[("carried_out", true)], None),
    ]
}

/// The first key out of range, with what it must be.
pub(super) fn check(phases: &[PhaseConfig]) -> Result<(), (String, String)> {
    let valid_id = |id: &str| {
        !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if phases.is_empty() || phases.len() > MAX_PHASES {
        return Err(("requests.phases".to_owned(), format!("1 to {MAX_PHASES} phases")));
    }
    for (i, p) in phases.iter().enumerate() {
        let key = |field: &str| format!("requests.phases[{i}].{field}");
        if !valid_id(&p.id) || p.id == CLOSED_PHASE {
            return Err((
                key("id"),
                format!("lowercase letters, digits and '_', at most {MAX_ID_LEN}, not {CLOSED_PHASE:?}"),
            ));
        }
        if phases[..i].iter().any(|o| o.id == p.id) {
            return Err((key("id"), format!("duplicate phase {:?}", p.id)));
        }
        if p.criteria.len() > MAX_CRITERIA {
            return Err((key("criteria"), format!("at most {MAX_CRITERIA}")));
        }
        for (j, c) in p.criteria.iter().enumerate() {
            if !valid_id(&c.id) || p.criteria[..j].iter().any(|o| o.id == c.id) {
                return Err((
                    format!("requests.phases[{i}].criteria[{j}].id"),
                    "a unique id of lowercase letters, digits and '_'".to_owned(),
                ));
            }
        }
        if p.approver_role == Some(StaffRole::Auditor) {
            return Err((key("approver_role"), "an auditor changes nothing".to_owned()));
        }
    }
    if !phases[0].types.is_empty() {
        return Err(("requests.phases[0].types".to_owned(), "every request starts in the first phase".to_owned()));
    }
    Ok(())
}
