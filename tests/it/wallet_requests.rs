//! Rights requests from the wallet over the real relay (SQLite, or PostgreSQL when CI sets
//! the URL): every type filed with the SDK's wallet is acknowledged with its number, due
//! date and contact, carried to closed by staff, and every change is told to the wallet;
//! bad requests are refused by code; replays and retries file nothing twice; a revoked
//! connection files nothing; a request for another organisation's data is referred to it;
//! a rectification built from a downloaded bundle is carried out at the source and its
//! signed receipt verified in the wallet and acknowledged to the register.

use std::time::Duration;

use gdpr_gateway::bundle::{self, Purpose};
use gdpr_gateway::clock::Clock;
use gdpr_gateway::protocol::message::Body;
use gdpr_gateway::protocol::rights::{RequestKind, RequestState, RequestUpdate, StaffRole};
use gdpr_gateway::wallet::{EventKind, RequestForm, TrackedRequest, Wallet, WalletError, WalletEvent};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::two_organisations::{self, TwoOrganisations};
use crate::common::{StaffClient, TestGateway};
use crate::pairing::bound_wallet;

const WAIT: u64 = 10;
/// How many times to read the wallet's mailbox for notices still on their way.
const READS: usize = 100;

fn form(kind: RequestKind) -> RequestForm {
    let proposed_json =
        (kind == RequestKind::Rectification).then(|| r#"{"contact":{"email":"new@example.org"}}"#.into());
    RequestForm { kind, categories: Vec::new(), details: Some(format!("my {} request", kind.as_str())), proposed_json }
}

/// Reads the wallet's events until `count` request updates satisfy `wanted`.
async fn told(wallet: &Wallet, count: usize, wanted: impl Fn(&WalletEvent) -> bool) -> Vec<WalletEvent> {
    let mut seen = Vec::new();
    for _ in 0..READS {
        seen.extend(wallet.events().await.unwrap().into_iter().filter(|e| e.kind == EventKind::Request));
        if seen.iter().filter(|e| wanted(e)).count() >= count {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the wallet was told only {seen:?}");
}

fn refused_code(result: Result<TrackedRequest, WalletError>) -> String {
    match result {
        Err(WalletError::Refused { code, .. }) => code.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Carries a request through the default phases to closed.
async fn carry_out(handler: &StaffClient, approver: &StaffClient, id: &str) {
    handler.advance(id).await.unwrap();
    handler.meet(id, &["scope_determined", "legal_holds_checked"]).await;
    handler.advance(id).await.unwrap();
    approver.advance(id).await.unwrap();
    handler.carried_out(id).await;
    handler.step(id, "advance", json!({"note": "done as asked"})).await.unwrap();
}

#[tokio::test]
async fn every_type_from_the_wallet_is_acknowledged_carried_out_and_told() {
    let gw = TestGateway::demo().await;
    let wallet = gw.wallet("alice");
    let connection = gw.pair(&wallet, "alice").await;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));

    let mut numbers = Vec::new();
    for kind in RequestKind::ALL {
        let ack = wallet.submit_request(connection.clone(), form(*kind), WAIT).await.unwrap();
        assert_eq!((ack.kind, ack.state, ack.update), (*kind, RequestState::Open, RequestUpdate::Acknowledged));
        // Received on 22 November 2026 (the test clock's start), due a month later.
        assert_eq!(ack.due_on, "2026-12-22");
        assert_eq!(ack.contact, "privacy@voorbeeld-energie.example");
        assert_eq!(ack.controller_name, gw.gateway.notice().controller.name);
        assert!(ack.number.starts_with("2026-") && ack.number.len() == 11, "{}", ack.number);
        numbers.push(ack.number);
    }
    let register = handler.register("?limit=20").await.unwrap();
    assert_eq!(register.requests.len(), 8);
    for request in &register.requests {
        assert!(numbers.contains(&request.number));
        assert_eq!((request.subject_ref.as_str(), request.channel.as_str()), ("alice", "wallet"));
        assert_eq!(request.identification, "wallet connection");
        let proposed = request.proposed.as_ref().map(|p| p["contact"]["email"].clone());
        assert_eq!(proposed.is_some(), request.kind == RequestKind::Rectification);
        // An information request is answered at once, from the inventory: closed right
        // after its acknowledgement went out, which the wallet may read first.
        if request.kind == RequestKind::Information {
            let mut state = request.state;
            for _ in 0..100 {
                if state == RequestState::Closed {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                state = handler.rights_request(&request.id).await.unwrap().request.state;
            }
            assert_eq!(state, RequestState::Closed);
        } else {
            carry_out(&handler, &approver, &request.id).await;
        }
    }

    let events = told(&wallet, 8, |e| e.detail.contains("closed")).await;
    assert!(events.iter().all(|e| e.connection_id == connection));
    let tracked = wallet.requests().unwrap();
    assert_eq!(tracked.len(), 8);
    for request in &tracked {
        assert_eq!((request.state, request.update), (RequestState::Closed, RequestUpdate::Closed), "{request:?}");
        let outcome = match request.kind {
            RequestKind::Information => "answered at once from the inventory (art. 13 and 14)",
            _ => "done as asked",
        };
        assert_eq!(request.detail.as_deref(), Some(outcome));
        assert!(request.remedies.is_none());
        // Every ended request comes with its signed receipt, verified in the wallet; an
        // objection's names each purpose objected to.
        assert!(request.receipt.is_some() && request.receipt_verified, "{request:?}");
        if request.kind == RequestKind::Objection {
            let contact = request.outcomes.iter().filter(|o| o.category == "contact");
            assert!(contact.clone().count() == 2 && contact.clone().all(|o| o.purpose.is_some()), "{request:?}");
        }
    }
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn extensions_refusals_and_portal_requests_reach_the_wallet() {
    let gw = TestGateway::demo().await;
    let wallet = gw.wallet("bob");
    let connection = gw.pair(&wallet, "bob").await;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));

    let erasure = wallet.submit_request(connection.clone(), form(RequestKind::Erasure), WAIT).await.unwrap();
    // The same form again that day (an app retrying after a timeout): the same request.
    let again = wallet.submit_request(connection.clone(), form(RequestKind::Erasure), WAIT).await.unwrap();
    assert_eq!(again.number, erasure.number);
    let register = handler.register("").await.unwrap();
    assert_eq!(register.requests.len(), 1, "filed once");
    let id = register.requests[0].id.clone();
    let reason = "the erasure touches three archives";
    handler.step(&id, "extension", json!({"months": 2, "reason": reason})).await.unwrap();
    told(&wallet, 1, |e| e.detail.contains("extended")).await;
    let extended = &wallet.requests().unwrap()[0];
    assert_eq!((extended.number.as_str(), extended.update), (erasure.number.as_str(), RequestUpdate::Extended));
    assert_eq!((extended.due_on.as_str(), extended.detail.as_deref()), ("2027-02-22", Some(reason)));

    gw.clock.advance(3600);
    approver.step(&id, "refusal", json!({"reason": "a legal hold applies (art. 17(3)(e))"})).await.unwrap();
    told(&wallet, 1, |e| e.detail.contains("refused")).await;
    let refused = &wallet.requests().unwrap()[0];
    assert_eq!((refused.state, refused.update), (RequestState::Refused, RequestUpdate::Refused));
    let remedies = refused.remedies.as_ref().expect("a refusal names the remedies");
    assert_eq!(remedies.supervisory_authority, "Autoriteit Persoonsgegevens");
    assert!(remedies.judicial_remedy.contains("art. 79"));
    assert!(refused.receipt_verified, "a refusal is receipted too: {refused:?}");

    // Filed by the portal, the request is still the person's to follow in their wallet.
    gw.clock.advance(60);
    let filed = gw.portal_client().file_request("bob", &json!({"type": "objection"})).await.unwrap();
    told(&wallet, 1, |e| e.detail.contains(&filed.number)).await;
    let tracked = wallet.requests().unwrap();
    assert_eq!(tracked.len(), 2);
    assert_eq!((tracked[0].number.as_str(), tracked[0].kind), (filed.number.as_str(), RequestKind::Objection));
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn bad_requests_are_refused_by_code_and_a_revoked_connection_files_nothing() {
    let gw = TestGateway::demo().await;
    let wallet = gw.wallet("carol");
    let connection = gw.pair(&wallet, "carol").await;
    let submit = |form: RequestForm| wallet.submit_request(connection.clone(), form, WAIT);

    let unknown = RequestForm { categories: vec!["nope".into()], ..form(RequestKind::Access) };
    assert_eq!(refused_code(submit(unknown).await), "category_not_found");
    let locked = RequestForm {
        proposed_json: Some(r#"{"contact":{"customer_number":"1"}}"#.into()),
        ..form(RequestKind::Rectification)
    };
    assert_eq!(refused_code(submit(locked).await), "field_not_rectifiable");
    // The demo's contact schema: a Dutch postcode is four digits and two capitals.
    let misfit = RequestForm {
        proposed_json: Some(r#"{"contact":{"address.postcode":"not a postcode"}}"#.into()),
        ..form(RequestKind::Rectification)
    };
    assert_eq!(refused_code(submit(misfit).await), "proposed_value_invalid");
    let without = RequestForm { proposed_json: None, ..form(RequestKind::Rectification) };
    assert_eq!(refused_code(submit(without).await), "invalid_parameter");
    let odd = RequestForm { proposed_json: Some("{not json".into()), ..form(RequestKind::Rectification) };
    assert!(matches!(submit(odd).await, Err(WalletError::InvalidInput(_))));
    let control = RequestForm { details: Some("a\u{7}b".into()), ..form(RequestKind::Access) };
    assert_eq!(refused_code(submit(control).await), "invalid_parameter");
    let staff = gw.staff_client(StaffRole::Auditor);
    assert!(staff.register("").await.unwrap().requests.is_empty(), "nothing refused was stored");

    // The daily limit counts every channel.
    for _ in 0..10 {
        gw.portal_client().file_request("carol", &json!({"type": "information"})).await.unwrap();
    }
    assert_eq!(refused_code(submit(form(RequestKind::Access)).await), "request_limit_reached");

    let path = format!("/v1/subjects/carol/connections/{connection}");
    assert_eq!(gw.portal(reqwest::Method::DELETE, &path).send().await.unwrap().status(), 204);
    assert_eq!(submit(form(RequestKind::Access)).await.unwrap_err(), WalletError::Revoked);
    assert_eq!(staff.register("").await.unwrap().requests.len(), 10);
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn a_replayed_or_retried_submission_files_one_request() {
    let gw = TestGateway::demo().await;
    let wallet = bound_wallet(&gw, "dave").await;
    let submit = |request_id: &str| Body::RequestSubmit {
        request_id: request_id.into(),
        kind: "restriction".into(),
        categories: Some(vec!["contact".into()]),
        details: None,
        proposed: None,
    };
    wallet.send(&gw, submit(&"x".repeat(65))).await;
    match wallet.next_message(gw.clock.now()).await.unwrap().body {
        Body::RequestRefused { error_code, .. } => assert_eq!(error_code, "invalid_parameter"),
        other => panic!("an over-long request id was not refused: {other:?}"),
    }
    let Body::RequestSubmit { categories, .. } = submit("w0") else { unreachable!() };
    let unknown = Body::RequestSubmit {
        request_id: "w0".into(),
        kind: "forget_me_not".into(),
        categories,
        details: None,
        proposed: None,
    };
    wallet.send(&gw, unknown).await;
    match wallet.next_message(gw.clock.now()).await.unwrap().body {
        Body::RequestRefused { request_id, error_code, detail } => {
            assert_eq!((request_id.as_str(), error_code.as_str()), ("w0", "invalid_parameter"));
            assert!(detail.contains("unknown request type"), "{detail}");
        }
        other => panic!("an unknown type was not refused: {other:?}"),
    }
    let acknowledged = |body: Body| match body {
        Body::RequestStatus { request_id, status } => (request_id, status.number, status.update),
        other => panic!("expected an acknowledgement, got {other:?}"),
    };
    let sealed = wallet.send(&gw, submit("w1")).await;
    let (request_id, number, update) = acknowledged(wallet.next_message(gw.clock.now()).await.unwrap().body);
    assert_eq!((request_id.as_deref(), update), (Some("w1"), RequestUpdate::Acknowledged));

    // The same envelope again is a replay: dropped without an answer.
    wallet.client.post(wallet.id(), &sealed).await.unwrap();
    // The same request id in a new message is a retry: the same request, acknowledged again.
    wallet.send(&gw, submit("w1")).await;
    let (again, same, _) = acknowledged(wallet.next_message(gw.clock.now()).await.unwrap().body);
    assert_eq!((again.as_deref(), same.as_str()), (Some("w1"), number.as_str()));
    wallet.send(&gw, Body::CatalogueRequest { request_id: "c1".into() }).await;
    assert!(matches!(wallet.next_message(gw.clock.now()).await.unwrap().body, Body::Catalogue { .. }));

    let register = gw.staff_client(StaffRole::Auditor).register("").await.unwrap();
    assert_eq!(register.requests.len(), 1, "one request, whatever came twice");
    assert_eq!(register.requests[0].categories, ["contact"]);
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_for_another_organisations_data_is_referred_with_its_contact() {
    let orgs = TwoOrganisations::start().await;
    let (a, b) = (orgs.a(), orgs.b());
    let wallet = orgs.wallet("erin");
    let connection = two_organisations::pair(a, &wallet, "alice").await;
    let token = |role: StaffRole| {
        let file = orgs.dir.path().join("a").join(gdpr_gateway::config::builtin_demo::staff_token_file(role));
        std::fs::read_to_string(file).unwrap().trim().to_owned()
    };
    let handler = StaffClient::new(&a.url, &token(StaffRole::Handler));
    let auditor = StaffClient::new(&a.url, &token(StaffRole::Auditor));
    let approver = StaffClient::new(&a.url, &token(StaffRole::Approver));

    // Step 4b: part of it is the other organisation's; the request goes on here.
    let part = wallet.submit_request(connection.clone(), form(RequestKind::Access), WAIT).await.unwrap();
    let id = |number: &str| {
        let number = number.to_owned();
        let handler = handler.clone();
        async move { handler.register("").await.unwrap().requests.into_iter().find(|r| r.number == number).unwrap().id }
    };
    let part_id = id(&part.number).await;
    let b_id = b.gateway.notice().controller.id.clone();
    let refer = |about: &str, close: bool| json!({"controller_id": b_id, "about": about, "close": close});
    assert_eq!(
        auditor.step(&part_id, "referral", refer("x", false)).await.unwrap_err().error_code.as_str(),
        "role_not_permitted"
    );
    let referred = handler.step(&part_id, "referral", refer("your supply contract", false)).await.unwrap();
    assert_eq!(referred.request.state, RequestState::Open);
    told(&wallet, 1, |e| e.detail.contains("referred")).await;
    let tracked = wallet.requests().unwrap();
    let detail = tracked[0].detail.clone().unwrap();
    let (b_name, b_contact) = (&b.gateway.notice().controller.name, &b.gateway.notice().controller.dpo_contact);
    assert!(detail.contains(b_name.as_str()) && detail.contains(b_contact.as_str()), "{detail}");
    assert!(detail.contains("your supply contract"), "{detail}");
    assert_eq!(tracked[0].update, RequestUpdate::Referred);

    // Step 4a: all of it is theirs; the request closes as referred, an approver's call.
    let whole = wallet.submit_request(connection.clone(), form(RequestKind::Erasure), WAIT).await.unwrap();
    let whole_id = id(&whole.number).await;
    assert_eq!(
        handler.step(&whole_id, "referral", refer("all of it", true)).await.unwrap_err().error_code.as_str(),
        "role_not_permitted"
    );
    let closed = approver.step(&whole_id, "referral", refer("all of it", true)).await.unwrap();
    assert_eq!((closed.request.state, closed.request.phase.as_str()), (RequestState::Closed, "closed"));
    assert!(closed.request.outcome.unwrap().contains(b_name.as_str()));
    told(&wallet, 1, |e| e.detail.contains(&whole.number) && e.detail.contains("closed")).await;

    let nobody = json!({"controller_id": "https://nobody.example"});
    assert_eq!(
        handler.step(&part_id, "referral", nobody).await.unwrap_err().error_code.as_str(),
        "controller_not_listed"
    );
    let long = json!({"controller_id": format!("https://{}.example", "x".repeat(2048))});
    assert_eq!(handler.step(&part_id, "referral", long).await.unwrap_err().error_code.as_str(), "invalid_parameter");
    let itself = json!({"controller_id": a.gateway.notice().controller.id});
    assert_eq!(handler.step(&part_id, "referral", itself).await.unwrap_err().error_code.as_str(), "invalid_parameter");
    orgs.stop().await;
}

/// `sha256:<hex>` of a record's JSON with its keys sorted at every depth, no whitespace: how
/// a receipt's record digests are written (`docs/receipt-format.md`).
fn record_digest(record: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    format!("sha256:{}", hex::encode(Sha256::digest(sorted(record).to_string().as_bytes())))
}

/// Alice's contact records, from a bundle her wallet downloaded and verified.
async fn downloaded_contacts(gw: &TestGateway, wallet: &Wallet, connection: &str) -> Vec<Value> {
    let categories = Some(vec!["contact".to_owned()]);
    let downloaded = wallet.request_export(connection.to_owned(), Purpose::Access, categories, WAIT).await.unwrap();
    let claims = bundle::verify_jwt(downloaded.token.as_bytes(), &gw.gateway.keyring().jwks()).unwrap().claims;
    let contact = claims.bundle.categories.into_iter().find(|c| c.info.id == "contact").unwrap();
    contact.records.into_iter().map(Value::Object).collect()
}

#[tokio::test]
async fn a_rectification_from_a_downloaded_bundle_ends_with_a_verified_acknowledged_receipt() {
    let gw = TestGateway::demo().await;
    let wallet = gw.wallet("alice");
    let connection = gw.pair(&wallet, "alice").await;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));

    let contacts = downloaded_contacts(&gw, &wallet, &connection).await;
    let record = contacts[0].as_object().unwrap();
    assert_eq!(record["id"], "C-1001");
    let street = [("address.street".to_owned(), json!("Kerkstraat 2"))];
    let form = RequestForm::rectification("contact", record, "id", &street).unwrap();
    let proposed: Value = serde_json::from_str(form.proposed_json.as_deref().unwrap()).unwrap();
    assert_eq!(proposed, json!({"contact": {"id": "C-1001", "address.street": "Kerkstraat 2"}}));
    let filed = wallet.submit_request(connection.clone(), form, WAIT).await.unwrap();
    assert_eq!((filed.kind, filed.update), (RequestKind::Rectification, RequestUpdate::Acknowledged));
    assert!(filed.receipt.is_none() && !filed.receipt_verified && filed.outcomes.is_empty());

    let id = handler.register("").await.unwrap().requests[0].id.clone();
    carry_out(&handler, &approver, &id).await;
    let events = told(&wallet, 1, |e| e.detail.contains(&filed.number) && e.detail.contains("closed")).await;
    assert!(events.iter().any(|e| e.detail.contains("receipt verified")), "{events:?}");

    let tracked = wallet.requests().unwrap();
    let closed = &tracked[0];
    assert_eq!((closed.number.as_str(), closed.state), (filed.number.as_str(), RequestState::Closed));
    let token = closed.receipt.clone().expect("the closing status carries the receipt");
    assert!(closed.receipt_verified && closed.receipt_problem.is_none(), "{closed:?}");
    let outcomes: Vec<_> = closed
        .outcomes
        .iter()
        .map(|o| (o.category.as_str(), o.operation.as_str(), o.result.as_str(), o.record_digests.len()))
        .collect();
    assert_eq!(outcomes, [("contact", "rectify", "done", 1)]);
    // The receipt is the register's, byte for byte.
    let staff_receipt = handler.request(reqwest::Method::GET, &format!("/v1/requests/{id}/receipt")).send().await;
    let staff_receipt = staff_receipt.unwrap().text().await.unwrap();
    assert!(staff_receipt.contains(&token), "{staff_receipt}");

    // The source holds the corrected address, and the receipt's digest names that record.
    let contacts = downloaded_contacts(&gw, &wallet, &connection).await;
    assert_eq!(contacts[0]["address"]["street"], "Kerkstraat 2");
    assert_eq!(closed.outcomes[0].record_digests[0], record_digest(&contacts[0]));

    // `events` sent the acknowledgement right after reading the receipt; the register
    // records it in the request's history, as the connection's act.
    let mut acknowledged = Vec::new();
    for _ in 0..READS {
        let history = handler.rights_request(&id).await.unwrap().history;
        acknowledged = history.into_iter().filter(|h| h.action == "receipt acknowledged").collect();
        if !acknowledged.is_empty() {
            break;
        }
        wallet.events().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(acknowledged.len(), 1, "the register was never told");
    assert_eq!(acknowledged[0].actor, format!("connection:{connection}"));
    assert!(wallet.requests().unwrap()[0].receipt_acknowledged);
    let detail = handler.rights_request(&id).await.unwrap();
    assert!(detail.receipt.unwrap().acknowledged_at.is_some());

    // Read again, the wallet sends nothing more: one acknowledgement per receipt.
    for _ in 0..3 {
        wallet.events().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let history = handler.rights_request(&id).await.unwrap().history;
    assert_eq!(history.iter().filter(|h| h.action == "receipt acknowledged").count(), 1);
    gw.stop().await.unwrap();
}
