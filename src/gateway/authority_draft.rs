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
#[schema(example = draft_example)]
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
    /// Whether the procedure's answers so far call for notifying the people too (art. 34).
    pub people_to_be_notified: bool,
    /// Why the notification comes after 72 hours, once recorded.
    pub delay_reason: Option<String>,
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

/// The OpenAPI document's example: kept beside the type, as this layer may not import the
/// API's examples; a test checks it against the schema.
fn draft_example() -> serde_json::Value {
    serde_json::json!({
        "breach_id": "0b7e4c2a-5f1d-4a8e-9c36-7d2e1f4b8a05",
        "controller_name": "Zonnestroom B.V.",
        "controller_id": "https://zonnestroom.example",
        "contact": "privacy@zonnestroom.example",
        "aware_at": "2026-11-28T08:30:00Z",
        "deadline_at": "2026-12-01T08:30:00Z",
        "late": false,
        "nature": "A fault in the customer portal's usage report let signed-in customers download other households' meter readings and addresses for about three hours.",
        "categories": [
            { "id": "contact", "name": "Contact details", "special_category": false, "data_subjects": ["customers"] },
            {
                "id": "meter_readings",
                "name": "Meter readings",
                "special_category": false,
                "data_subjects": ["customers", "members of their household"]
            }
        ],
        "approximate_subjects": 1240,
        "approximate_records": 52000,
        "likely_consequences": "Others could see when a household uses energy, which shows when its members are at home or away.",
        "measures": "The report was taken offline at 11:20. The downloads in the access log were traced and their recipients asked to delete the files; the fault is fixed and covered by a test.",
        "outcome": "notify_authority_and_people",
        "answers": {
            "personal_data": true,
            "role": "controller",
            "damaged": false,
            "lost": false,
            "unlawful_processing_excluded": false,
            "sensitive_data": false,
            "serious_consequences": true,
            "high_risk_to_people": true
        },
        "people_to_be_notified": true,
        "missing": []
    })
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
        let late = breach.authority.as_ref().map_or(self.clock.now(), |a| a.at) > breach.deadline_at();
        if late && breach.authority.as_ref().is_none_or(|a| a.delay_reason.is_none()) {
            missing
                .push("the reasons for the delay, as the 72 hours have passed (delay_reason, art. 33(1))".to_owned());
        }
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
            late,
            nature: f.nature.clone(),
            categories,
            approximate_subjects: f.approximate_subjects,
            approximate_records: f.approximate_records,
            likely_consequences: f.likely_consequences.clone(),
            measures: f.measures.clone(),
            outcome: breach.decision.outcome,
            answers: breach.answers.clone(),
            people_to_be_notified: breach.decision.outcome == BreachOutcome::NotifyAuthorityAndPeople,
            delay_reason: breach.authority.as_ref().and_then(|a| a.delay_reason.clone()),
            missing,
        }
    }
}
