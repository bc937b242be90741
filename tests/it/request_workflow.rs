//! Rights requests through their phases over real HTTP on the demo (SQLite, or PostgreSQL
//! when CI sets the URL): every type from intake to closed; criteria that must be met;
//! roles and four eyes that cannot be bypassed; one extension within the first month;
//! refusals with their remedies.

use gdpr_gateway::protocol::rights::StaffRole;
use gdpr_gateway::views::RequestView;
use serde_json::{Value, json};

use crate::common::{StaffClient, TestGateway};

const EIGHT_TYPES: [&str; 8] =
    ["access", "rectification", "erasure", "restriction", "portability", "objection", "human_review", "information"];

fn body_for(kind: &str) -> Value {
    match kind {
        "rectification" => json!({"type": kind, "proposed": {"contact": {"email": "new@example.org"}}}),
        _ => json!({"type": kind}),
    }
}

/// The error code of a refused step.
async fn refused(staff: &StaffClient, id: &str, step: &str, body: Value) -> String {
    staff.step(id, step, body).await.expect_err("the step should be refused").error_code.as_str().to_owned()
}

async fn file(gw: &TestGateway, subject: &str, kind: &str) -> RequestView {
    gw.portal_client().file_request(subject, &body_for(kind)).await.unwrap()
}

#[tokio::test]
async fn every_type_goes_from_intake_to_closed_through_the_phases() {
    let gw = TestGateway::demo().await;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));
    for kind in EIGHT_TYPES {
        let id = file(&gw, "alice", kind).await.id;
        if kind == "information" {
            // Answered at once from the inventory: no staff, no phases.
            let answered = handler.rights_request(&id).await.unwrap();
            assert_eq!((answered.request.state.as_str(), answered.request.phase.as_str()), ("closed", "closed"));
            assert_eq!(
                answered.history.last().map(|h| (h.actor.as_str(), h.action.as_str())),
                Some(("gateway", "closed"))
            );
            continue;
        }
        let intake = handler.rights_request(&id).await.unwrap();
        assert_eq!(
            intake.workflow.criteria.iter().map(|c| (c.id.as_str(), c.met)).collect::<Vec<_>>(),
            [("identity_verified", true)]
        );
        assert_eq!(handler.advance(&id).await.unwrap().request.phase, "assessment");
        handler.meet(&id, &["scope_determined", "legal_holds_checked"]).await;
        let approval = handler.advance(&id).await.unwrap();
        assert_eq!(
            (approval.request.phase.as_str(), approval.workflow.approver_role),
            ("approval", Some(StaffRole::Approver))
        );
        assert_eq!(approver.advance(&id).await.unwrap().request.phase, "execution", "{kind}");
        handler.carried_out(&id).await;
        let closed = handler.step(&id, "advance", json!({"note": "done as asked"})).await.unwrap();
        assert_eq!((closed.request.state.as_str(), closed.request.phase.as_str()), ("closed", "closed"), "{kind}");
        assert_eq!(closed.request.outcome.as_deref(), Some("done as asked"));
        assert!(closed.workflow.next_phase.is_none() && closed.request.remedies.is_none());
        let actions: Vec<&str> = closed.history.iter().map(|h| h.action.as_str()).collect();
        assert_eq!(actions.first(), Some(&"received"));
        assert_eq!(actions.iter().filter(|a| **a == "approved").count(), 1);
        assert_eq!(actions.last(), Some(&"closed"));
        assert_eq!(refused(&handler, &id, "advance", json!({})).await, "request_closed");
    }
    let closed = gw.staff_client(StaffRole::Auditor).register("?state=closed").await.unwrap();
    assert_eq!(closed.requests.len(), 8);
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn unmet_criteria_roles_and_four_eyes_hold() {
    let gw = TestGateway::demo().await;
    let [handler, approver, auditor, admin] =
        [StaffRole::Handler, StaffRole::Approver, StaffRole::Auditor, StaffRole::Admin].map(|r| gw.staff_client(r));
    let erasure = file(&gw, "bob", "erasure").await.id;
    handler.advance(&erasure).await.unwrap();

    let unmet = handler.advance(&erasure).await.unwrap_err();
    assert_eq!(unmet.error_code.as_str(), "criteria_unmet");
    let detail = unmet.detail.unwrap();
    assert!(detail.contains("scope_determined") && detail.contains("legal_holds_checked"), "{detail}");
    assert_eq!(
        refused(&handler, &erasure, "criteria", json!({"criterion": "carried_out"})).await,
        "criterion_not_in_phase"
    );
    assert_eq!(
        refused(&auditor, &erasure, "criteria", json!({"criterion": "scope_determined"})).await,
        "role_not_permitted"
    );
    assert_eq!(refused(&auditor, &erasure, "advance", json!({})).await, "role_not_permitted");

    // The approver prepares this erasure, so neither they nor the handler may approve it.
    approver.meet(&erasure, &["scope_determined", "legal_holds_checked"]).await;
    approver.advance(&erasure).await.unwrap();
    assert_eq!(refused(&handler, &erasure, "advance", json!({})).await, "role_not_permitted");
    let four_eyes = approver.advance(&erasure).await.unwrap_err();
    assert_eq!(four_eyes.error_code.as_str(), "role_not_permitted");
    assert!(four_eyes.detail.unwrap().contains("four eyes"));
    assert_eq!(admin.advance(&erasure).await.unwrap().request.phase, "execution", "a second pair of eyes approves");

    // Four eyes bind erasure, rectification and restriction only: an access request its
    // approver prepared, the approver may approve.
    let access = file(&gw, "bob", "access").await.id;
    approver.advance(&access).await.unwrap();
    approver.meet(&access, &["scope_determined", "legal_holds_checked"]).await;
    approver.advance(&access).await.unwrap();
    assert_eq!(approver.advance(&access).await.unwrap().request.phase, "execution");

    let unknown = "0123456789abcdef0123456789abcdef";
    assert_eq!(refused(&handler, unknown, "advance", json!({})).await, "request_not_found");
    assert_eq!(refused(&handler, &access, "advance", json!({"note": "x".repeat(2001)})).await, "invalid_parameter");
    assert_eq!(refused(&handler, &access, "advance", json!({"note": "a\u{0}b"})).await, "invalid_parameter");
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn one_extension_within_the_first_month_and_refusals_with_remedies() {
    let gw = TestGateway::demo().await;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));
    // Received on 22 November 2026 (the test clock's start): due 22 December, three months
    // on 22 February 2027, a Monday.
    let request = file(&gw, "alice", "access").await;
    assert_eq!(request.due_on, "2026-12-22");
    assert_eq!(
        refused(&handler, &request.id, "extension", json!({"months": 3, "reason": "busy"})).await,
        "invalid_parameter"
    );
    assert_eq!(
        refused(&handler, &request.id, "extension", json!({"months": 2, "reason": "  "})).await,
        "invalid_parameter"
    );
    let reason = "Your data is spread over three archives that must be searched by hand.";
    let extended = handler.step(&request.id, "extension", json!({"months": 2, "reason": reason})).await.unwrap();
    assert_eq!(
        (extended.request.due_on.as_str(), extended.request.due_at.as_str()),
        ("2027-02-22", "2027-02-22T23:59:59+01:00")
    );
    assert!(extended.history.last().unwrap().detail.as_deref().unwrap().ends_with(reason));
    let again = json!({"months": 1, "reason": "still busy"});
    assert_eq!(refused(&handler, &request.id, "extension", again.clone()).await, "extension_not_allowed");

    let late = file(&gw, "alice", "portability").await;
    gw.clock.advance(31 * 86_400);
    assert_eq!(
        refused(&handler, &late.id, "extension", again).await,
        "extension_not_allowed",
        "the first month has passed"
    );

    let ground = "We are bound to keep these invoices for seven years (tax law).";
    assert_eq!(refused(&handler, &late.id, "refusal", json!({"reason": ground})).await, "role_not_permitted");
    let refusal = approver.step(&late.id, "refusal", json!({"reason": ground})).await.unwrap();
    assert_eq!((refusal.request.state.as_str(), refusal.request.outcome.as_deref()), ("refused", Some(ground)));
    let remedies = refusal.request.remedies.unwrap();
    assert_eq!(remedies.supervisory_authority, "Autoriteit Persoonsgegevens");
    assert!(remedies.complaint_url.starts_with("https://autoriteitpersoonsgegevens.nl/"));
    assert!(remedies.judicial_remedy.contains("art. 79"));
    assert_eq!(refused(&approver, &late.id, "refusal", json!({"reason": ground})).await, "request_closed");
    // The portal sees the refusal, its reason and the remedies too.
    let portal_view = gw.portal_client().requests("alice", "").await.unwrap();
    let seen = portal_view.requests.iter().find(|r| r.id == late.id).unwrap();
    assert_eq!(seen.state.as_str(), "refused");
    assert!(seen.remedies.is_some());
    gw.stop().await.unwrap();
}
