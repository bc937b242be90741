//! Example bodies of the staff's oversight routes (breaches, legal holds and retention, the audit trail), kept apart from the portal's `examples` so neither file outgrows the other; a test reads each back into its type.

use serde_json::{Value, json};

/// The breach the examples follow: recorded, assessed, the authority and the people told.
const BREACH: &str = "0b7e4c2a-5f1d-4a8e-9c36-7d2e1f4b8a05";
/// A second, newer breach, still being assessed.
const NEW_BREACH: &str = "5c2e8f1a-3b7d-4c9e-a6f0-1d8b4e2a7c93";
const HOLD: &str = "e3a91c5f7b2d4f6a8c0e1b3d5f7a9c2e";
const LIFTED_HOLD: &str = "8d4f2a6c0e1b3d5f7a9c2e4b6d8f0a1c";
/// The erasure request of the portal's examples.
const REQUEST: &str = "7e1c3a5b9d2f4e6a8c0b1d3f5a7c9e2b";

fn breach_facts() -> Value {
    json!({
        "nature": "A fault in the customer portal's usage report let signed-in customers download other households' meter readings and addresses for about three hours.",
        "categories": ["contact", "meter_readings"],
        "approximate_subjects": 1240,
        "approximate_records": 52000,
        "likely_consequences": "Others could see when a household uses energy, which shows when its members are at home or away.",
        "measures": "The report was taken offline at 11:20. The downloads in the access log were traced and their recipients asked to delete the files; the fault is fixed and covered by a test."
    })
}

fn breach_answers() -> Value {
    json!({
        "personal_data": true,
        "role": "controller",
        "damaged": false,
        "lost": false,
        "unlawful_processing_excluded": false,
        "sensitive_data": false,
        "serious_consequences": true,
        "high_risk_to_people": true
    })
}

pub(crate) fn new_breach() -> Value {
    json!({
        "nature": "A fault in the customer portal's usage report let signed-in customers download other households' meter readings and addresses for about three hours.",
        "categories": ["contact", "meter_readings"],
        "approximate_subjects": 1240,
        "aware_at": "2026-11-28T08:30:00Z",
        "answers": { "personal_data": true, "role": "controller" }
    })
}

pub(crate) fn breach_change() -> Value {
    json!({ "facts": breach_facts(), "answers": breach_answers() })
}

pub(crate) fn authority_notified() -> Value {
    json!({ "version": 3, "reference": "AP-2026-118734", "notified_at": "2026-11-29T15:02:00Z" })
}

pub(crate) fn notify_people() -> Value {
    json!({ "version": 4, "subject_refs": ["alice", "bob", "C-1001"] })
}

pub(crate) fn people_notified() -> Value {
    json!({ "people": 3, "wallets": 2, "without_wallet": ["C-1001"], "version": 5 })
}

pub(crate) fn breach_view() -> Value {
    json!({
        "id": BREACH,
        "recorded_at": "2026-11-28T09:41:17Z",
        "recorded_by": "staff:hanna",
        "aware_at": "2026-11-28T08:30:00Z",
        "facts": breach_facts(),
        "answers": breach_answers(),
        "outcome": "notify_authority_and_people",
        "clock": { "deadline_at": "2026-12-01T08:30:00Z", "state": "notified", "notified_late": false },
        "authority_notification": { "notified_at": "2026-11-29T15:02:00Z", "reference": "AP-2026-118734" },
        "people_notified_at": "2026-11-29T16:45:10Z",
        "wallets_notified": 2,
        "version": 5
    })
}

pub(crate) fn breach_list() -> Value {
    let undecided = json!({
        "id": NEW_BREACH,
        "recorded_at": "2026-11-29T07:55:02Z",
        "recorded_by": "staff:pieter",
        "aware_at": "2026-11-29T07:30:00Z",
        "facts": {
            "nature": "A service engineer's laptop holding this week's installation planning was stolen from a van in Utrecht.",
            "categories": ["contact"],
            "approximate_subjects": 86
        },
        "answers": { "personal_data": true, "role": "controller", "damaged": false },
        "outcome": "undecided",
        "next_question": { "id": "lost", "text": "Step 3b: were data lost?" },
        "clock": { "deadline_at": "2026-12-02T07:30:00Z", "state": "warning24h" },
        "wallets_notified": 0,
        "version": 2
    });
    json!({ "breaches": [undecided, breach_view()], "next_before": BREACH })
}

pub(crate) fn place_hold() -> Value {
    json!({
        "subject_ref": "alice",
        "reason": "Zonnestroom's claim over the unpaid invoices of 2025 is before the court (case C/00/000000, an example): keep everything of this customer until judgment."
    })
}

pub(crate) fn lift_hold() -> Value {
    json!({ "reason": "The Autoriteit Persoonsgegevens closed the complaint on 2026-11-20." })
}

pub(crate) fn legal_hold() -> Value {
    json!({
        "id": HOLD,
        "subject_ref": "alice",
        "reason": "Zonnestroom's claim over the unpaid invoices of 2025 is before the court (case C/00/000000, an example): keep everything of this customer until judgment.",
        "placed_by": "staff:hanna",
        "placed_at": "2026-11-30T09:20:05Z",
        "active": true
    })
}

pub(crate) fn legal_hold_list() -> Value {
    let lifted = json!({
        "id": LIFTED_HOLD,
        "request_id": REQUEST,
        "reason": "The customer complained to the Autoriteit Persoonsgegevens about this erasure (AP-2026-0412): keep the request's letter until the complaint is closed.",
        "placed_by": "staff:hanna",
        "placed_at": "2026-10-02T13:10:44Z",
        "active": false,
        "lifted_by": "staff:pieter",
        "lifted_reason": "The Autoriteit Persoonsgegevens closed the complaint on 2026-11-20.",
        "lifted_at": "2026-11-23T08:47:31Z"
    });
    json!({ "holds": [legal_hold(), lifted] })
}

pub(crate) fn upcoming_deletions() -> Value {
    let none = |kind: &str| json!({ "kind": kind, "count": 0, "rows": [] });
    json!({
        "through": "2026-12-14T10:00:00Z",
        "kinds": [
            { "kind": "exports", "count": 2, "rows": [
                { "id": "2c6e0a4f8b1d3e5a7c9f0b2d4e6a8c1e", "since": "2024-12-03T14:22:10Z", "deleted_at": "2026-12-04T00:00:00Z" },
                { "id": "f1a3c5e7092b4d6f8a0c1e3b5d7f9a2c", "since": "2024-12-11T08:05:37Z", "deleted_at": "2026-12-12T00:00:00Z" }
            ] },
            none("imports"),
            { "kind": "ended_pairings", "count": 1, "rows": [
                { "id": "a7c9e1b3d5f74a6c8e0b2d4f6a8c0e3b", "since": "2026-09-05T16:40:00Z", "deleted_at": "2026-12-05T00:00:00Z" }
            ] },
            none("revoked_connections"),
            none("request_documents")
        ]
    })
}

pub(crate) fn source_retention_report() -> Value {
    let none = json!({ "records": 0, "subjects": 0 });
    json!({
        "warn_before": "P14D",
        "categories": [
            {
                "source": "metering",
                "category": "meter_readings",
                "date_field": "date",
                "retention": "P2Y",
                "erase": true,
                "dated_before": "2024-11-30",
                "expired": { "records": 1460, "subjects": 3 },
                "held": { "records": 730, "subjects": 1 },
                "upcoming": { "records": 9800, "subjects": 700 },
                "erasable_through": "2026-11-16T00:00:00Z",
                "subjects": [
                    { "subject_ref": "alice", "records": 730, "oldest": "2022-11-30", "held": true },
                    { "subject_ref": "C-1001", "records": 365, "oldest": "2023-11-30", "held": false },
                    { "subject_ref": "bob", "records": 365, "oldest": "2023-11-30", "held": false }
                ]
            },
            {
                "source": "crm",
                "category": "service_notes",
                "date_field": "created",
                "retention": "P1Y",
                "erase": false,
                "dated_before": "2025-11-30",
                "expired": none,
                "held": none,
                "upcoming": none,
                "subjects": [],
                "error": "the source is unreachable: connection refused"
            }
        ]
    })
}

pub(crate) fn audit_page() -> Value {
    let breach = format!("breach:{BREACH}");
    json!({
        "entries": [
            {
                "seq": 4117,
                "at": 1_795_858_877_u64,
                "actor": "staff:hanna",
                "action": "breach.recorded",
                "objects": [breach],
                "detail": "outcome undecided; facts sha256:BpSqy2bWLnQqkujV8egr2dKoyhvoh0QgH75j0PUAdQI",
                "prev": "aac67e6564d6a0ffb29dd6579c2fabc1e02467db95cb2a472a36d7a576d75df8",
                "hash": "633e7a73aeef3bcfe4d5350de8d9a94f82ca7af71b7648596b3d3bd02679df5b"
            },
            {
                "seq": 4152,
                "at": 1_795_964_621_u64,
                "actor": "staff:hanna",
                "action": "breach.authority_notified",
                "objects": [breach],
                "detail": "reference \"AP-2026-118734\", notified at 2026-11-29T15:02:00Z",
                "prev": "b3658670d2a52e2c9af9900e5c34acaae4009113569447616ce7932ba67496d7",
                "hash": "30721ef89ba3b4e6dc585a653adcba569cb905325a0a11a813c127202dde4fcb"
            },
            {
                "seq": 4160,
                "at": 1_796_030_405_u64,
                "actor": "staff:hanna",
                "action": "legal_hold.placed",
                "objects": [format!("legal_hold:{HOLD}")],
                "subject": "~2bd806c97f0e00af1a1fc3328fa763a9",
                "prev": "98c94daf4e5bd960b6189641a0aa2a161304529a4057f77f0c9bdfb6b9c66d98",
                "hash": "1fb282fcda1d1dbaa5bd58c453760f84aff33a339bf70e926d09a7ebdd6c697b"
            }
        ],
        "next_after": 4160
    })
}

/// `GET /v1/audit.jsonl`: the same entries, one JSON object a line.
pub(crate) fn audit_lines() -> Value {
    let entries = audit_page()["entries"].as_array().cloned().unwrap_or_default();
    let lines: Vec<String> = entries.iter().map(Value::to_string).collect();
    Value::String(lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    //! The request bodies only deserialize, so they are read here, where their types are
    //! visible: each example must be a body the route accepts.

    use serde::de::DeserializeOwned;

    use super::super::breach_routes::{AuthorityNotified, BreachChange, NewBreach, NotifyPeople};
    use super::super::retention_routes::{LiftHold, PlaceHold};

    fn reads<T: DeserializeOwned>(example: serde_json::Value) -> T {
        serde_json::from_value(example).unwrap_or_else(|e| panic!("{}: {e}", std::any::type_name::<T>()))
    }

    #[test]
    fn request_examples_are_bodies_the_routes_read() {
        let new = reads::<NewBreach>(super::new_breach());
        assert!(new.facts.categories.len() == 2 && new.aware_at.is_some() && new.answers.is_some());
        let change = reads::<BreachChange>(super::breach_change());
        let answers = change.answers.expect("answers");
        assert_eq!(answers.decide().outcome, crate::gateway::BreachOutcome::NotifyAuthorityAndPeople);
        assert!(change.facts.is_some_and(|f| f.likely_consequences.is_some() && f.measures.is_some()));
        assert_eq!(reads::<AuthorityNotified>(super::authority_notified()).version, 3);
        assert_eq!(reads::<NotifyPeople>(super::notify_people()).subject_refs.len(), 3);
        assert!(reads::<PlaceHold>(super::place_hold()).subject_ref.is_some());
        assert!(!reads::<LiftHold>(super::lift_hold()).reason.is_empty());
    }
}
