//! Rights requests carried out at the sources and proven with signed receipts, over real
//! HTTP on the demo (its file sources in a temporary data dir; SQLite, or PostgreSQL when
//! CI sets the URL): a rectification corrects the record, an erasure erases everything but
//! what a legal obligation holds, tasks are settled by hand, a refusal refuses what was
//! not done, and every ended request has one receipt that verifies with the JWKS alone.

use std::time::Duration;

use gdpr_gateway::bundle::{OutcomeResult, ReceiptClaims, verify_receipt};
use gdpr_gateway::jose::Jwks;
use gdpr_gateway::protocol::rights::{ActionStatus, StaffRole};
use gdpr_gateway::views::RequestDetail;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{StaffClient, TestGateway};

/// Files `body` for `subject` and takes it to the execution phase: a handler prepares it,
/// the approver approves it.
async fn to_execution(gw: &TestGateway, subject: &str, body: Value) -> (String, RequestDetail) {
    let id = gw.portal_client().file_request(subject, &body).await.unwrap().id;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));
    handler.advance(&id).await.unwrap();
    handler.meet(&id, &["scope_determined", "legal_holds_checked"]).await;
    handler.advance(&id).await.unwrap();
    let execution = approver.advance(&id).await.unwrap();
    assert_eq!(execution.request.phase, "execution");
    (id, execution)
}

/// The receipt as staff download it, verified against the published JWKS only.
async fn receipt(gw: &TestGateway, staff: &StaffClient, id: &str) -> (String, ReceiptClaims) {
    let response = staff.request(reqwest::Method::GET, &format!("/v1/requests/{id}/receipt")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/jwt");
    let token = response.text().await.unwrap();
    let jwks: Jwks = gw.get("/.well-known/jwks.json").send().await.unwrap().json().await.unwrap();
    let verified = verify_receipt(token.as_bytes(), &jwks).unwrap();
    (token, verified.claims)
}

fn records(gw: &TestGateway, subject: &str, category: &str) -> Option<Vec<Value>> {
    let path = gw.dir.join("demo-data").join(subject).join(format!("{category}.jsonl"));
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
}

/// `sha256:` of the record's JSON with keys sorted, computed apart from the gateway.
fn digest(record: &Value) -> String {
    fn sorted(value: &Value) -> String {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let members: Vec<String> =
                    keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), sorted(&map[*k]))).collect();
                format!("{{{}}}", members.join(","))
            }
            Value::Array(items) => format!("[{}]", items.iter().map(sorted).collect::<Vec<_>>().join(",")),
            other => other.to_string(),
        }
    }
    format!("sha256:{}", hex::encode(Sha256::digest(sorted(record).as_bytes())))
}

#[tokio::test]
async fn a_rectification_corrects_the_record_at_its_source_and_the_receipt_proves_it() {
    let gw = TestGateway::demo().await;
    let handler = gw.staff_client(StaffRole::Handler);
    let proposed = json!({"contact": {"address.street": "Kerkstraat 2", "address.city": "Utrecht"}});
    let (id, execution) =
        to_execution(&gw, "alice", json!({"type": "rectification", "categories": ["contact"], "proposed": proposed}))
            .await;
    assert_eq!(execution.operations.len(), 1);
    assert_eq!(execution.operations[0].argument.as_ref().unwrap()["patch"]["address"]["street"], "Kerkstraat 2");

    let done = handler.carried_out(&id).await;
    let operation = &done.operations[0];
    assert_eq!((operation.status, operation.updated_by.as_str()), (ActionStatus::Done, "gateway"));
    let contact = records(&gw, "alice", "contact").unwrap();
    assert_eq!(contact.len(), 1);
    assert_eq!(contact[0]["address"], json!({"street": "Kerkstraat 2", "postcode": "1015 CJ", "city": "Utrecht"}));
    assert_eq!(contact[0]["name"], "Alice de Vries", "fields not proposed are kept");
    assert!(done.workflow.criteria.iter().any(|c| c.id == "carried_out" && c.met), "the gateway meets carried_out");

    // The receipt does not exist before the request ends.
    let early = handler.request(reqwest::Method::GET, &format!("/v1/requests/{id}/receipt")).send().await.unwrap();
    assert_eq!(early.status(), 404);
    let closed = handler.step(&id, "advance", json!({"note": "address corrected"})).await.unwrap();
    assert_eq!(closed.request.state.as_str(), "closed");

    let (token, claims) = receipt(&gw, &handler, &id).await;
    assert_eq!((claims.jti.as_str(), claims.sub.as_str()), (id.as_str(), "alice"));
    let receipt = &claims.receipt;
    assert_eq!(receipt.request_number, closed.request.number);
    assert_eq!(receipt.detail.as_deref(), Some("address corrected"));
    assert!(receipt.received_at <= receipt.completed_at && receipt.completed_at == claims.iat);
    assert_eq!(receipt.outcomes.len(), 1);
    let outcome = &receipt.outcomes[0];
    assert_eq!((outcome.category.as_str(), outcome.operation.as_str()), ("contact", "rectify"));
    assert_eq!(outcome.result, OutcomeResult::Done);
    assert_eq!(outcome.evidence.records, Some(1));
    assert_eq!(
        outcome.evidence.record_digests,
        [digest(&contact[0])],
        "the digest of the record as the source holds it"
    );

    // The portal reads the same receipt for its customer, and nobody else's.
    let portal = gw.portal_get(&format!("/v1/subjects/alice/requests/{id}/receipt")).send().await.unwrap();
    assert_eq!(portal.status(), 200);
    assert_eq!(portal.text().await.unwrap(), token);
    let other = gw.portal_get(&format!("/v1/subjects/bob/requests/{id}/receipt")).send().await.unwrap();
    assert_eq!(other.status(), 404);
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn an_erasure_erases_every_category_but_those_a_legal_obligation_holds() {
    let gw = TestGateway::demo().await;
    let handler = gw.staff_client(StaffRole::Handler);
    let (id, execution) = to_execution(&gw, "bob", json!({"type": "erasure"})).await;
    let planned: Vec<(&str, ActionStatus)> =
        execution.operations.iter().map(|o| (o.category.as_str(), o.status)).collect();
    assert_eq!(planned.len(), 6, "one operation per category of the inventory: {planned:?}");
    let payments = execution.operations.iter().find(|o| o.category == "payments").unwrap();
    assert_eq!(payments.status, ActionStatus::Refused, "a legal obligation holds the invoices");
    assert!(payments.note.as_deref().unwrap().contains("17(3)(b)"), "{:?}", payments.note);

    let done = handler.carried_out(&id).await;
    for operation in done.operations.iter().filter(|o| o.category != "payments") {
        assert_eq!(operation.status, ActionStatus::Done, "{operation:?}");
    }
    for category in ["contact", "contracts", "meter_readings"] {
        assert_eq!(records(&gw, "bob", category), None, "{category} erased at its source");
    }
    assert_eq!(records(&gw, "bob", "payments").map(|r| r.len()), Some(1), "held under the legal obligation");
    assert!(records(&gw, "alice", "contact").is_some(), "another person's data is untouched");

    handler.step(&id, "advance", json!({"note": "erased except invoices"})).await.unwrap();
    let (_, claims) = receipt(&gw, &handler, &id).await;
    let by_category = |c: &str| claims.receipt.outcomes.iter().find(|o| o.category == c).unwrap().clone();
    assert_eq!(by_category("contact").evidence.records, Some(1));
    assert_eq!(by_category("medical_priority").evidence.records, Some(0), "nothing held, nothing erased");
    let held = by_category("payments");
    assert_eq!(held.result, OutcomeResult::Refused);
    assert!(held.note.unwrap().contains("legal obligation"));
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn tasks_are_settled_by_hand_and_a_request_closes_only_when_all_are_settled() {
    let gw = TestGateway::demo().await;
    let [handler, approver, auditor] =
        [StaffRole::Handler, StaffRole::Approver, StaffRole::Auditor].map(|r| gw.staff_client(r));
    // A human review is always a person's task.
    let (id, execution) = to_execution(&gw, "alice", json!({"type": "human_review"})).await;
    let review = &execution.operations[0];
    assert_eq!((review.category.as_str(), review.status), ("*", ActionStatus::Task));
    handler.meet(&id, &["carried_out"]).await;
    let pending = handler.advance(&id).await.unwrap_err();
    assert_eq!(pending.error_code.as_str(), "operations_pending");
    assert!(pending.detail.unwrap().contains("review"));

    let settle = |staff: &StaffClient, seq: u32, body: Value| {
        let request = staff.request(reqwest::Method::POST, &format!("/v1/requests/{id}/operations/{seq}")).json(&body);
        async move { request.send().await.unwrap() }
    };
    let done = json!({"result": "done", "note": "reviewed by J. de Boer: the credit decision stands"});
    assert_eq!(settle(&auditor, 1, done.clone()).await.status(), 403);
    assert_eq!(settle(&handler, 9, done.clone()).await.status(), 404);
    assert_eq!(settle(&handler, 1, json!({"result": "done", "note": "  "})).await.status(), 400);
    assert_eq!(settle(&handler, 1, done.clone()).await.status(), 200);
    let again = settle(&handler, 1, done).await;
    assert_eq!(again.status(), 409);
    assert_eq!(again.json::<Value>().await.unwrap()["error_code"], "operation_not_a_task");
    let closed = handler.advance(&id).await.unwrap();
    assert!(closed.history.iter().any(|h| h.action == "operation 1 settled"));
    let (_, claims) = receipt(&gw, &approver, &id).await;
    assert_eq!(claims.receipt.outcomes[0].result, OutcomeResult::Manual);
    assert!(claims.receipt.outcomes[0].note.as_deref().unwrap().contains("J. de Boer"));

    // An objection to processing on a contract is refused with the ground; one on
    // legitimate interests is carried out.
    let (id, execution) =
        to_execution(&gw, "alice", json!({"type": "objection", "categories": ["contact", "service_notes"]})).await;
    let contact = execution.operations.iter().find(|o| o.category == "contact").unwrap();
    assert_eq!(contact.status, ActionStatus::Refused);
    assert!(contact.note.as_deref().unwrap().contains("art. 21(1)"));
    let notes = handler.carried_out(&id).await;
    let objected = notes.operations.iter().find(|o| o.category == "service_notes").unwrap();
    assert_eq!(
        (objected.status, objected.argument.clone().unwrap()["purpose"].is_string()),
        (ActionStatus::Done, true)
    );
    handler.advance(&id).await.unwrap();
    let (_, claims) = receipt(&gw, &approver, &id).await;
    let purposes: Vec<(&str, Option<&str>)> =
        claims.receipt.outcomes.iter().map(|o| (o.category.as_str(), o.purpose.as_deref())).collect();
    assert_eq!(
        purposes,
        [
            ("contact", Some("Performing your energy contract")),
            ("contact", Some("Sending invoices and service messages")),
            ("service_notes", Some("Helping you consistently when you contact us again")),
        ],
        "one outcome per purpose objected to"
    );
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn a_refusal_is_receipted_and_what_was_not_done_is_refused_with_it() {
    let gw = TestGateway::demo().await;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));
    let (id, _) = to_execution(&gw, "alice", json!({"type": "human_review"})).await;
    let refused =
        approver.step(&id, "refusal", json!({"reason": "no automated decision was taken about you"})).await.unwrap();
    assert_eq!(refused.operations[0].status, ActionStatus::Refused);
    assert_eq!(refused.operations[0].note.as_deref(), Some("no automated decision was taken about you"));
    let (_, claims) = receipt(&gw, &handler, &id).await;
    assert_eq!(claims.receipt.state.as_str(), "refused");
    assert_eq!(claims.receipt.outcomes[0].result, OutcomeResult::Refused);
    // Not acknowledged by any wallet (alice has none): flagged once after seven days, with a
    // history line, so staff send it another way.
    gw.clock.advance(6 * 86_400);
    assert_eq!(gw.gateway.flag_unacknowledged_receipts().await.unwrap(), 0);
    gw.clock.advance(86_400 + 1);
    assert_eq!(gw.gateway.flag_unacknowledged_receipts().await.unwrap(), 1);
    assert_eq!(gw.gateway.flag_unacknowledged_receipts().await.unwrap(), 0, "flagged once");
    let flagged = handler.rights_request(&id).await.unwrap();
    assert!(flagged.receipt.as_ref().unwrap().flagged_at.is_some());
    assert!(flagged.receipt.unwrap().acknowledged_at.is_none());
    assert_eq!(flagged.history.last().unwrap().action, "receipt unacknowledged");
    // A request refused at intake has a receipt too, with no operations.
    let early = gw.portal_client().file_request("bob", &json!({"type": "access"})).await.unwrap().id;
    approver.step(&early, "refusal", json!({"reason": "manifestly unfounded"})).await.unwrap();
    let (_, claims) = receipt(&gw, &handler, &early).await;
    assert!(claims.receipt.outcomes.is_empty());
    assert_eq!(claims.receipt.detail.as_deref(), Some("manifestly unfounded"));
    gw.stop().await.unwrap();
}

/// A category used for direct marketing, beside the demo's.
const NEWSLETTER: &str = r#"
[[categories]]
id = "newsletter"
name = "Newsletter"
purposes = ["Sending you offers by e-mail"]
legal_basis = "legitimate_interests"
retention = "P1Y"
source = "crm"
portable = false
direct_marketing = true
"#;

#[tokio::test]
async fn information_and_an_objection_to_direct_marketing_need_no_staff() {
    let gw = TestGateway::demo_with(NEWSLETTER).await;
    let auditor = gw.staff_client(StaffRole::Auditor);
    let portal = gw.portal_client();

    let information = portal.file_request("alice", &json!({"type": "information"})).await.unwrap();
    assert_eq!(information.state.as_str(), "closed", "answered at once");
    let (_, claims) = receipt(&gw, &auditor, &information.id).await;
    assert_eq!(claims.receipt.kind.as_str(), "information");
    assert!(claims.receipt.outcomes.is_empty());
    // The answer is in the signed receipt: the notice as published, every category.
    let answer = claims.receipt.information.as_ref().expect("the signed answer");
    assert_eq!(&**answer, gw.gateway.notice());
    // Asked about one category, the answer names that one only, with its facts.
    let narrow =
        portal.file_request("alice", &json!({"type": "information", "categories": ["contact"]})).await.unwrap();
    let (_, claims) = receipt(&gw, &auditor, &narrow.id).await;
    let answer = claims.receipt.information.expect("the signed answer");
    let ids: Vec<&str> = answer.categories.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["contact"]);
    assert!(!answer.categories[0].purposes.is_empty() && !answer.categories[0].retention.is_empty());
    assert_eq!(answer.controller, gw.gateway.notice().controller);

    let objection =
        portal.file_request("alice", &json!({"type": "objection", "categories": ["newsletter"]})).await.unwrap();
    let mut detail = auditor.rights_request(&objection.id).await.unwrap();
    for _ in 0..200 {
        if detail.request.state.as_str() == "closed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        detail = auditor.rights_request(&objection.id).await.unwrap();
    }
    assert_eq!(detail.request.state.as_str(), "closed", "closed without staff: {:?}", detail.history);
    assert!(detail.history.iter().all(|h| !h.actor.starts_with("staff:")));
    assert!(!detail.history.iter().any(|h| h.action == "approved"), "absolute: no approval (art. 21(3))");
    let objections = gw.dir.join("demo-data/alice/newsletter.objections.json");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(objections).unwrap()).unwrap();
    assert_eq!(recorded, json!(["Sending you offers by e-mail"]));
    let (_, claims) = receipt(&gw, &auditor, &objection.id).await;
    assert_eq!(claims.receipt.outcomes.len(), 1);
    assert_eq!(claims.receipt.outcomes[0].result, OutcomeResult::Done);

    // An objection that also names other categories goes through the phases as usual.
    let mixed = portal
        .file_request("alice", &json!({"type": "objection", "categories": ["newsletter", "service_notes"]}))
        .await
        .unwrap();
    assert_eq!((mixed.state.as_str(), mixed.phase.as_str()), ("open", "intake"));
    gw.stop().await.unwrap();
}

/// What the partner source saw: each erasure's category and idempotency key.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A source system whose erasures go differently per category: `loyalty` fails three
/// times, then succeeds; `chat_logs` refuses; `call_recordings` never answers.
async fn partner_source(seen: Seen) -> String {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let seen = seen.clone();
        async move {
            let category = request.uri().path().rsplit('/').next().unwrap_or_default().to_owned();
            let key = request.headers().get("idempotency-key").map(|v| v.to_str().unwrap().to_owned());
            let tries = {
                let mut seen = seen.lock().unwrap();
                seen.push((category.clone(), key.unwrap_or_default()));
                seen.iter().filter(|(c, _)| *c == category).count()
            };
            match category.as_str() {
                "loyalty" if tries <= 3 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                "loyalty" => axum::Json(json!({"records": 4, "confirmation": "ERA-1"})).into_response(),
                "chat_logs" => (StatusCode::UNPROCESSABLE_ENTITY, "retention hold in the chat system").into_response(),
                _ => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    StatusCode::OK.into_response()
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn partner_config(url: &str) -> String {
    let mut config = format!(
        "[[sources]]\nid = \"partner\"\ntype = \"http\"\nbase_url = \"{url}\"\ntimeout_seconds = 1\n\
         [sources.operations]\nerase = {{ method = \"DELETE\", path = \"/subjects/{{subject}}/{{category}}\" }}\n"
    );
    for id in ["loyalty", "chat_logs", "call_recordings"] {
        config.push_str(&format!(
            "[[categories]]\nid = \"{id}\"\nname = \"{id}\"\npurposes = [\"Service\"]\nlegal_basis = \"contract\"\n\
             retention = \"P1Y\"\nsource = \"partner\"\nportable = false\n"
        ));
    }
    config
}

#[tokio::test]
async fn a_failing_source_is_retried_a_refusing_one_and_a_silent_one_become_tasks() {
    let seen = Seen::default();
    let url = partner_source(seen.clone()).await;
    let gw = TestGateway::demo_with(&partner_config(&url)).await;
    let handler = gw.staff_client(StaffRole::Handler);
    let categories = ["loyalty", "chat_logs", "call_recordings"];
    let (id, _) = to_execution(&gw, "alice", json!({"type": "erasure", "categories": categories})).await;

    // The outbox retries on the injected clock: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    let mut detail = handler.rights_request(&id).await.unwrap();
    for _ in 0..60 {
        if detail.operations.iter().all(|o| o.status != ActionStatus::Pending) {
            break;
        }
        gw.clock.advance(10 * 3600);
        tokio::time::sleep(Duration::from_millis(400)).await;
        detail = handler.rights_request(&id).await.unwrap();
    }
    let by_category = |c: &str| detail.operations.iter().find(|o| o.category == c).unwrap().clone();
    let loyalty = by_category("loyalty");
    assert_eq!(loyalty.status, ActionStatus::Done, "{loyalty:?}");
    assert_eq!(loyalty.evidence.clone().unwrap(), json!({"records": 4, "confirmation": "ERA-1"}));
    let chat = by_category("chat_logs");
    assert_eq!(chat.status, ActionStatus::Task);
    assert!(chat.note.as_deref().unwrap().contains("422"), "{chat:?}");
    let silent = by_category("call_recordings");
    assert_eq!(silent.status, ActionStatus::Task);
    assert!(silent.note.as_deref().unwrap().contains("every retry"), "{silent:?}");

    let seen = seen.lock().unwrap().clone();
    let tries = |c: &str| seen.iter().filter(|(category, _)| category == c).map(|(_, k)| k.clone()).collect::<Vec<_>>();
    assert_eq!(tries("loyalty").len(), 4, "three failures, then done, never again");
    assert!(tries("loyalty").iter().all(|k| *k == format!("{id}:{}", loyalty.seq)), "one idempotency key");
    assert_eq!(tries("chat_logs").len(), 1, "a refusal is not retried");
    assert_eq!(tries("call_recordings").len(), 8, "the first attempt and seven retries");

    // The request waits for the handler, who settles both tasks.
    assert_eq!(handler.advance(&id).await.unwrap_err().error_code.as_str(), "operations_pending");
    // Refusing part of a request is the approver's call, as refusing all of it is.
    let refuse = json!({"result": "refused", "note": "kept under the chat system's retention hold"});
    let by_handler = handler.step(&id, &format!("operations/{}", chat.seq), refuse.clone()).await.unwrap_err();
    assert_eq!(by_handler.error_code.as_str(), "role_not_permitted");
    gw.staff_client(StaffRole::Approver).step(&id, &format!("operations/{}", chat.seq), refuse).await.unwrap();
    let by_hand = json!({"result": "done", "note": "erased in the recording system by its admin"});
    handler.step(&id, &format!("operations/{}", silent.seq), by_hand).await.unwrap();
    let closed = handler.carried_out(&id).await;
    assert!(closed.history.iter().any(|h| h.actor == "gateway" && h.action == "criterion_met:carried_out"));
    handler.advance(&id).await.unwrap();
    let (_, claims) = receipt(&gw, &handler, &id).await;
    let results: Vec<(&str, OutcomeResult)> =
        claims.receipt.outcomes.iter().map(|o| (o.category.as_str(), o.result)).collect();
    assert_eq!(
        results,
        [
            ("loyalty", OutcomeResult::Done),
            ("chat_logs", OutcomeResult::Refused),
            ("call_recordings", OutcomeResult::Manual)
        ]
    );
    assert_eq!(claims.receipt.outcomes[0].evidence.confirmation.as_deref(), Some("ERA-1"));
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn after_an_erasure_of_everything_the_gateway_forgets_the_person() {
    let gw = TestGateway::demo().await;
    let handler = gw.staff_client(StaffRole::Handler);
    let portal = gw.portal_client();
    // An earlier correction left the person's own words and new values in the register.
    let earlier = json!({"type": "rectification", "details": "I moved to Leiden in May",
                         "proposed": {"contact": {"id": "C-1002", "email": "bob.nieuw@example.org"}}});
    let (earlier, _) = to_execution(&gw, "bob", earlier).await;
    handler.carried_out(&earlier).await;
    handler.advance(&earlier).await.unwrap();

    let (id, _) = to_execution(&gw, "bob", json!({"type": "erasure"})).await;
    handler.carried_out(&id).await;
    handler.advance(&id).await.unwrap();
    let (token, _) = receipt(&gw, &handler, &id).await;
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(token.as_bytes())));

    // No wallet acknowledged the receipt: staff are told, and have as long again to send
    // it another way before the person is forgotten.
    gw.clock.advance(7 * 86_400 + 1);
    assert_eq!(gw.gateway.flag_unacknowledged_receipts().await.unwrap(), 2);
    assert_eq!(gw.gateway.forget_due().await.unwrap(), 0, "staff still have the receipt to send");
    assert_eq!(portal.requests("bob", "").await.unwrap().requests.len(), 2);
    gw.clock.advance(7 * 86_400 + 1);
    assert_eq!(gw.gateway.forget_due().await.unwrap(), 1);
    assert_eq!(gw.gateway.forget_due().await.unwrap(), 0, "forgotten once");

    let forgotten = handler.rights_request(&id).await.unwrap();
    let pseudonym = forgotten.request.subject_ref.clone();
    assert!(pseudonym.starts_with('~') && pseudonym.len() == 33, "{pseudonym}");
    // Keyed by the key directory's own pseudonym secret, not by a signing key: deleting
    // that file leaves the pseudonym linked to nobody.
    let secret = hex::decode(std::fs::read_to_string(gw.dir.join("keys/pseudonym.secret")).unwrap().trim()).unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&secret).unwrap();
    hmac::Mac::update(&mut mac, b"bob");
    let expected = hex::encode(&hmac::Mac::finalize(mac).into_bytes()[..16]);
    assert_eq!(pseudonym, format!("~{expected}"));
    let line = forgotten.history.iter().find(|h| h.action == "subject forgotten").unwrap();
    assert!(line.detail.as_deref().unwrap().contains("pseudonymised in 2 requests"), "{line:?}");
    let earlier = handler.rights_request(&earlier).await.unwrap();
    assert_eq!(earlier.request.subject_ref, pseudonym, "one pseudonym for all of the person's requests");
    assert_eq!((earlier.request.details.clone(), earlier.request.proposed.clone()), (None, None));
    assert!(earlier.operations[0].argument.is_none(), "the patch's values are gone too");
    assert!(portal.requests("bob", "").await.unwrap().requests.is_empty(), "no route finds them by name");
    // The receipt named them: it is gone, its digest is kept to recognise it by.
    let gone = handler.request(reqwest::Method::GET, &format!("/v1/requests/{id}/receipt")).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    assert!(gone.text().await.unwrap().contains(&digest));

    if std::env::var(crate::common::PG_ENV).is_err() {
        let mut bytes = std::fs::read(gw.dir.join("gateway.sqlite3")).unwrap();
        bytes.extend(std::fs::read(gw.dir.join("gateway.sqlite3-wal")).unwrap_or_default());
        // The receipt by its signature: every token this key signs starts with one header.
        let signature = &token[token.len() - 40..];
        for erased in ["bob.nieuw@example.org", "I moved to Leiden", "Oudegracht", "\"bob\"", signature] {
            assert!(!bytes.windows(erased.len()).any(|w| w == erased.as_bytes()), "{erased} is in the database file");
        }
    }
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn an_access_request_is_receipted_with_the_bundle_the_person_received() {
    let gw = TestGateway::demo().await;
    let handler = gw.staff_client(StaffRole::Handler);
    let (id, _) = to_execution(&gw, "alice", json!({"type": "access"})).await;
    // The person downloads their data from the portal while the request runs.
    let download = gw
        .portal(reqwest::Method::POST, "/v1/subjects/alice/exports")
        .json(&json!({"format": "jwt", "purpose": "access"}))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let bundle = download.text().await.unwrap();
    let jwks: Jwks = gw.get("/.well-known/jwks.json").send().await.unwrap().json().await.unwrap();
    let bundle = gdpr_gateway::bundle::verify_jwt(bundle.as_bytes(), &jwks).unwrap();
    handler.carried_out(&id).await;
    handler.step(&id, "advance", json!({"note": "the person downloaded their data"})).await.unwrap();

    let (_, claims) = receipt(&gw, &handler, &id).await;
    let provided: Vec<(&str, &str, Option<&str>)> = claims
        .receipt
        .outcomes
        .iter()
        .map(|o| (o.category.as_str(), o.operation.as_str(), o.evidence.bundle.as_deref()))
        .collect();
    let categories: Vec<String> = bundle.categories().into_iter().map(|c| c.id).collect();
    assert_eq!(provided.len(), categories.len(), "{provided:?}");
    for ((category, operation, jti), expected) in provided.iter().zip(&categories) {
        assert_eq!((*category, *operation, *jti), (expected.as_str(), "provide", Some(bundle.claims.jti.as_str())));
    }
    gw.stop().await.unwrap();
}
