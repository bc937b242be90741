//! The staff's register of rights requests over real HTTP on the demo: every role reads it
//! with the token the demo wrote (0600); filters, pages, one request's history, the CSV;
//! portal and staff tokens never open each other's routes.

use std::os::unix::fs::PermissionsExt;

use gdpr_gateway::config::builtin_demo as demo;
use gdpr_gateway::protocol::rights::StaffRole;
use serde_json::json;

use crate::common::{T0, TestGateway, assert_problem};

#[tokio::test]
async fn every_staff_role_reads_the_register_with_filters_history_and_csv() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    let access = portal.file_request("alice", &json!({"type": "access"})).await.unwrap();
    gw.clock.set(T0 + 3600);
    let erasure =
        portal.file_request("bob", &json!({"type": "erasure", "categories": ["service_notes"]})).await.unwrap();
    gw.clock.set(T0 + 40 * 86_400);
    let late = portal.file_request("alice", &json!({"type": "objection", "details": "no, \"thanks\""})).await.unwrap();

    for &role in demo::STAFF_ROLES {
        let file = gw.dir.join(demo::staff_token_file(role));
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "{file:?}");
        let staff = gw.staff_client(role);
        let all = staff.register("").await.unwrap();
        let numbers: Vec<&str> = all.requests.iter().map(|r| r.number.as_str()).collect();
        assert_eq!(numbers, [&late.number, &erasure.number, &access.number], "{role:?}: newest first");
    }
    let auditor = gw.staff_client(StaffRole::Auditor);
    let ids = |list: gdpr_gateway::views::RequestList| list.requests.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(auditor.register("?type=erasure").await.unwrap()), [erasure.id.as_str()]);
    assert_eq!(ids(auditor.register("?state=closed").await.unwrap()), Vec::<String>::new());
    // Overdue on the later day: the first two were due before it, the last is not.
    let overdue = auditor.register(&format!("?state=open&due_before={}", late.received_at[..10].to_owned())).await;
    assert_eq!(ids(overdue.unwrap()), [erasure.id.as_str(), access.id.as_str()]);
    let first = auditor.register("?limit=2").await.unwrap();
    let rest = auditor.register(&format!("?limit=2&before={}", first.next_before.unwrap())).await.unwrap();
    assert_eq!(ids(rest), [access.id.as_str()]);

    let detail = auditor.rights_request(&erasure.id).await.unwrap();
    assert_eq!(detail.request, erasure, "the register shows what the acknowledgement said");
    let lines: Vec<(&str, &str)> = detail.history.iter().map(|h| (h.actor.as_str(), h.action.as_str())).collect();
    assert_eq!(
        lines,
        [
            ("portal:demo-portal", "received"),
            ("gateway", "criterion_met:identity_verified"),
            ("gateway", "acknowledged")
        ]
    );
    assert!(detail.history[2].detail.as_deref().unwrap().contains(&erasure.due_on));

    let csv = auditor.register_csv("?type=objection").await;
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with("number,type,state,phase,channel,subject_ref,"), "{csv}");
    assert!(rows[1].starts_with(&format!("{},objection,open,intake,portal,alice,", late.number)), "{csv}");
    assert_eq!(auditor.register_csv("").await.matches("\r\n").count(), 4);
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn staff_and_portal_tokens_open_only_their_own_routes() {
    let gw = TestGateway::demo().await;
    let filed = gw.portal_client().file_request("alice", &json!({"type": "access"})).await.unwrap();
    let handler = gw.staff_client(StaffRole::Handler);

    assert_problem(gw.get("/v1/requests").send().await.unwrap(), 401, "missing_bearer_token").await;
    assert_problem(gw.portal_get("/v1/requests").send().await.unwrap(), 401, "invalid_bearer_token").await;
    assert_problem(
        gw.portal_get(&format!("/v1/requests/{}", filed.id)).send().await.unwrap(),
        401,
        "invalid_bearer_token",
    )
    .await;
    let staff_on_portal = handler.request(reqwest::Method::GET, "/v1/subjects/alice/requests").send().await.unwrap();
    assert_problem(staff_on_portal, 401, "invalid_bearer_token").await;
    let staff_filing =
        handler.request(reqwest::Method::POST, "/v1/subjects/alice/requests").json(&json!({"type": "access"}));
    assert_problem(staff_filing.send().await.unwrap(), 401, "invalid_bearer_token").await;

    for id in ["0123456789abcdef0123456789abcdef", "not-an-id"] {
        let missing = handler.request(reqwest::Method::GET, &format!("/v1/requests/{id}")).send().await.unwrap();
        assert_problem(missing, 404, "request_not_found").await;
    }
    for query in ["?due_before=2026-02-30", "?type=forgetting", "?state=lost", "?limit=0", "?before=x"] {
        let bad = handler.request(reqwest::Method::GET, &format!("/v1/requests{query}")).send().await.unwrap();
        assert_problem(bad, 400, "invalid_parameter").await;
    }
    gw.stop().await.unwrap();
}
