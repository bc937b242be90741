//! Requests that came in writing (bijlage 2, steps 1-2) over real HTTP: registered by a
//! handler and due from the day they arrived, the document archived once under its
//! archive name and capped, identity pending until a handler records how it was checked,
//! an intermediary recorded, and the roles that may do each.

use gdpr_gateway::protocol::rights::StaffRole;
use gdpr_gateway::views::{DocumentView, RequestView};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

use crate::common::{StaffClient, TestGateway, assert_problem};

const LETTER: &[u8] = b"%PDF-1.4\n% a scanned letter asking to erase my data\n%%EOF\n";

async fn register(staff: &StaffClient, body: Value) -> reqwest::Response {
    staff.request(Method::POST, "/v1/requests").json(&body).send().await.unwrap()
}

async fn put_document(staff: &StaffClient, id: &str, media_type: &str, body: Vec<u8>) -> reqwest::Response {
    let path = format!("/v1/requests/{id}/document");
    staff.request(Method::PUT, &path).header("content-type", media_type).body(body).send().await.unwrap()
}

#[tokio::test]
async fn a_letter_is_registered_archived_identified_and_carried_on() {
    let gw = TestGateway::demo().await;
    let [handler, approver, auditor] =
        [StaffRole::Handler, StaffRole::Approver, StaffRole::Auditor].map(|r| gw.staff_client(r));
    let letter = json!({
        "subject_ref": "bob",
        "type": "erasure",
        "details": "Please erase everything you hold about me.",
        // Friday 20 November 2026; the test clock stands at Sunday the 22nd.
        "received_on": "2026-11-20",
        "intermediary": "Fysiotherapie De Linde, info@delinde.example",
    });
    let response = register(&handler, letter.clone()).await;
    assert_eq!(response.status(), 201);
    let filed: RequestView = response.json().await.unwrap();
    assert_eq!((filed.channel.as_str(), filed.identification.as_str()), ("letter", "pending"));
    // Due a month after it arrived: 20 December is a Sunday, so Monday the 21st.
    assert_eq!(filed.due_on, "2026-12-21");
    assert_eq!(filed.intermediary.as_deref(), Some("Fysiotherapie De Linde, info@delinde.example"));

    // Only handlers (and admins) register; a portal token is no staff token.
    assert_problem(register(&auditor, letter.clone()).await, 403, "role_not_permitted").await;
    let as_portal = gw.portal(Method::POST, "/v1/requests").json(&letter).send().await.unwrap();
    assert_problem(as_portal, 401, "invalid_bearer_token").await;
    for (received_on, why) in [("2026-11-23", "after today"), ("2026-10-21", "days ago"), ("2026-02-30", "date")] {
        let body = json!({"subject_ref": "bob", "type": "access", "received_on": received_on});
        let problem = assert_problem(register(&handler, body).await, 400, "invalid_parameter").await;
        assert!(problem["detail"].as_str().unwrap().contains(why), "{problem}");
    }

    // The document: archived once under its archive name, read back by every role.
    let archived = put_document(&handler, &filed.id, "application/pdf", LETTER.to_vec()).await;
    assert_eq!(archived.status(), 201);
    let archived: DocumentView = archived.json().await.unwrap();
    assert_eq!(archived.file_name, format!("20261120_{}_erasure.pdf", filed.number));
    assert_eq!(archived.sha256, hex::encode(sha2::Sha256::digest(LETTER)));
    assert_eq!(archived.size, LETTER.len() as u64);
    let again = put_document(&handler, &filed.id, "application/pdf", b"%PDF another".to_vec()).await;
    assert_problem(again, 409, "document_attached").await;
    let read = auditor.request(Method::GET, &format!("/v1/requests/{}/document", filed.id)).send().await.unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["content-type"], "application/pdf");
    let disposition = read.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains(&archived.file_name), "{disposition}");
    assert_eq!(read.bytes().await.unwrap().as_ref(), LETTER);
    assert_problem(
        put_document(&auditor, &filed.id, "application/pdf", LETTER.to_vec()).await,
        403,
        "role_not_permitted",
    )
    .await;

    // Identity pending blocks the way on until a handler records how it was checked.
    let unmet = handler.advance(&filed.id).await.unwrap_err();
    assert_eq!(unmet.error_code.as_str(), "criteria_unmet");
    assert!(unmet.detail.unwrap().contains("identity_verified"));
    let shortcut = json!({"criterion": "identity_verified"});
    let refused = handler.step(&filed.id, "criteria", shortcut).await.unwrap_err();
    assert_eq!(refused.error_code.as_str(), "invalid_parameter");
    assert!(refused.detail.unwrap().contains("/identification"));
    let method = json!({"method": "copy of passport checked against the letter's signature"});
    assert_eq!(
        auditor.step(&filed.id, "identification", method.clone()).await.unwrap_err().error_code.as_str(),
        "role_not_permitted"
    );
    let identified = handler.step(&filed.id, "identification", method.clone()).await.unwrap();
    assert_eq!(identified.request.identification, "copy of passport checked against the letter's signature");
    assert!(identified.workflow.criteria.iter().all(|c| c.met));
    assert_eq!(
        approver.step(&filed.id, "identification", method).await.unwrap_err().error_code.as_str(),
        "already_identified"
    );
    assert_eq!(handler.advance(&filed.id).await.unwrap().request.phase, "assessment");
    let actions: Vec<String> = identified.history.iter().map(|h| h.action.clone()).collect();
    assert_eq!(actions, ["received", "acknowledged", "document_archived", "criterion_met:identity_verified"]);
    assert!(identified.history[2].detail.as_deref().unwrap().contains(&archived.sha256));
    assert!(identified.history[1].detail.as_deref().unwrap().contains("intermediary Fysiotherapie De Linde"));

    // The document goes when its retention (two years by default) ends.
    gw.clock.advance(731 * 24 * 3600);
    gw.gateway.sweep_retention().await.unwrap();
    let gone = auditor.request(Method::GET, &format!("/v1/requests/{}/document", filed.id)).send().await.unwrap();
    assert_problem(gone, 404, "document_not_found").await;
    let again = put_document(&handler, &filed.id, "application/pdf", LETTER.to_vec()).await;
    assert_problem(again, 409, "document_attached").await;
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn documents_are_capped_typed_and_only_for_written_requests() {
    let gw = TestGateway::demo().await;
    let handler = gw.staff_client(StaffRole::Handler);
    let filed: RequestView =
        register(&handler, json!({"subject_ref": "alice", "type": "access"})).await.json().await.unwrap();
    assert_eq!(filed.due_on, "2026-12-22", "received today when no date is given");

    let gif = put_document(&handler, &filed.id, "image/gif", b"GIF89a".to_vec()).await;
    assert_problem(gif, 415, "unsupported_media_type").await;
    let cap = gdpr_gateway::config::DEFAULT_MAX_DOCUMENT_BYTES as usize;
    let huge = put_document(&handler, &filed.id, "application/pdf", vec![b'x'; cap + 1]).await;
    assert_problem(huge, 413, "payload_too_large").await;
    let empty = put_document(&handler, &filed.id, "application/pdf", Vec::new()).await;
    assert_problem(empty, 400, "invalid_parameter").await;
    let fits = put_document(&handler, &filed.id, "text/plain; charset=utf-8", vec![b'x'; cap]).await;
    assert_eq!(fits.status(), 201);

    let portal = gw.portal_client().file_request("alice", &json!({"type": "access"})).await.unwrap();
    let not_written = put_document(&handler, &portal.id, "application/pdf", LETTER.to_vec()).await;
    assert_problem(not_written, 400, "invalid_parameter").await;
    let none = handler.request(Method::GET, &format!("/v1/requests/{}/document", portal.id)).send().await.unwrap();
    assert_problem(none, 404, "document_not_found").await;
    let unknown = put_document(&handler, "0123456789abcdef0123456789abcdef", "application/pdf", LETTER.to_vec()).await;
    assert_problem(unknown, 404, "request_not_found").await;
    gw.stop().await.unwrap();
}
