//! The notification to the supervisory authority (art. 33(3); 003 bijlage 3, step 5),
//! drafted from the breach record and the inventory, with what the record still lacks.

use serde::Serialize;
use utoipa::ToSchema;

use super::Gateway;
use super::breach_procedure::{BreachAnswers, BreachOutcome};
use super::breaches::Breach;
use crate::clock::rfc3339;

/// What the notification says.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorityNotificationDraft {
    pub breach_id: String,
    pub controller_name: String,
    pub controller_id: String,
    /// (b) where more information can be had: the DPO or the contact given.
    pub contact: String,
    pub aware_at: String,
    /// 72 hours after awareness.
    pub deadline_at: String,
    /// True when the deadline has passed: the notification must give the reasons.
    pub late: bool,
    /// (a) the nature of the breach.
    pub nature: String,
    /// (a) the categories of data concerned, with whom they are about.
    pub categories: Vec<DraftCategory>,
    /// (a) approximate numbers.
    pub approximate_subjects: Option<u64>,
    pub approximate_records: Option<u64>,
    /// (c) the likely consequences.
    pub likely_consequences: Option<String>,
    /// (d) the measures taken or proposed.
    pub measures: Option<String>,
    /// The procedure's outcome and the answers it follows from.
    pub outcome: BreachOutcome,
    pub answers: BreachAnswers,
    /// Whether the people are (to be) notified too (art. 34).
    pub people_notified: bool,
    /// What art. 33(3) asks for and the record does not hold yet.
    pub missing: Vec<String>,
}

/// A category of data concerned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DraftCategory {
    pub id: String,
    pub name: String,
    pub special_category: bool,
    /// Categories of data subjects, from the inventory.
    pub data_subjects: Vec<String>,
}

impl Gateway {
    /// Drafts the authority's notification of `breach` as the record stands now.
    pub fn authority_draft(&self, breach: &Breach) -> AuthorityNotificationDraft {
        let f = &breach.facts;
        let categories: Vec<DraftCategory> = f
            .categories
            .iter()
            .filter_map(|id| self.inventory.category(id))
            .map(|c| DraftCategory {
                id: c.id.clone(),
                name: c.name.clone(),
                special_category: c.special_category,
                data_subjects: c.data_subjects.clone(),
            })
            .collect();
        let mut missing = Vec::new();
        for (absent, what) in [
            (categories.is_empty(), "the categories of data concerned (facts.categories)"),
            (f.approximate_subjects.is_none(), "the approximate number of people (facts.approximate_subjects)"),
            (f.approximate_records.is_none(), "the approximate number of records (facts.approximate_records)"),
            (f.likely_consequences.is_none(), "the likely consequences (facts.likely_consequences)"),
            (f.measures.is_none(), "the measures taken or proposed (facts.measures)"),
        ] {
            if absent {
                missing.push(what.to_owned());
            }
        }
        AuthorityNotificationDraft {
            breach_id: breach.id.clone(),
            controller_name: self.notice.controller.name.clone(),
            controller_id: self.notice.controller.id.clone(),
            contact: f.contact.clone().unwrap_or_else(|| self.contact().to_owned()),
            aware_at: rfc3339(breach.aware_at),
            deadline_at: rfc3339(breach.deadline_at()),
            late: breach.authority.as_ref().map_or(self.clock.now(), |a| a.at) > breach.deadline_at(),
            nature: f.nature.clone(),
            categories,
            approximate_subjects: f.approximate_subjects,
            approximate_records: f.approximate_records,
            likely_consequences: f.likely_consequences.clone(),
            measures: f.measures.clone(),
            outcome: breach.decision.outcome,
            answers: breach.answers.clone(),
            people_notified: breach.decision.outcome == BreachOutcome::NotifyAuthorityAndPeople,
            missing,
        }
    }
}
