//! The breach register and procedure over HTTP: the answers decide the outcome, the
//! 72-hour clock warns once per alarm across restarts of the sweep, the authority's
//! notification is drafted and recorded, and a person's wallet receives a signed notice
//! the SDK verifies and shows. On SQLite, and on PostgreSQL in the PG suite.

use std::time::Duration;

use gdpr_gateway::protocol::rights::StaffRole;
use gdpr_gateway::wallet::{EventKind, Wallet};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{StaffClient, T0, TestGateway, assert_problem};

/// A webhook endpoint nobody listens on: what it was sent shows in the delivery log.
const WITNESS: &str = r#"
[[webhooks]]
id = "dpo-desk"
url = "http://127.0.0.1:9/breaches"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["breach.*"]
"#;

async fn send(staff: &StaffClient, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let request = staff.request(method, path);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.unwrap()
}

async fn ok(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(code, status, "{body}");
    body
}

fn at(t: u64) -> String {
    gdpr_gateway::clock::rfc3339(t)
}

#[tokio::test]
async fn the_answers_decide_the_outcome_and_every_breach_stays_in_the_register() {
    let gw = TestGateway::demo().await;
    let handler = gw.staff_client(StaffRole::Handler);
    let auditor = gw.staff_client(StaffRole::Auditor);
    let new = json!({"nature": "A laptop with a customer export was stolen from a car", "categories": ["contact"],
                     "aware_at": at(T0 - 3600)});
    assert_problem(send(&auditor, Method::POST, "/v1/breaches", Some(new.clone())).await, 403, "role_not_permitted")
        .await;
    let breach = ok(send(&handler, Method::POST, "/v1/breaches", Some(new)).await, 201).await;
    let id = breach["id"].as_str().unwrap().to_owned();
    assert_eq!(breach["outcome"], "undecided");
    assert_eq!(breach["next_question"]["id"], "personal_data");
    assert!(breach["next_question"]["text"].as_str().unwrap().starts_with("Step 1"));
    assert_eq!(breach["clock"], json!({"deadline_at": at(T0 + 71 * 3600), "state": "running"}));
    assert_eq!(breach["recorded_by"], "staff:demo-handler");

    // The questions, one call at a time, as staff learn the answers.
    let path = format!("/v1/breaches/{id}");
    let steps = [
        (json!({"personal_data": true, "role": "controller"}), "undecided", Some("damaged")),
        (json!({"damaged": false, "lost": false}), "undecided", Some("unlawful_processing_excluded")),
        (json!({"unlawful_processing_excluded": false}), "undecided", Some("sensitive_data")),
        (json!({"sensitive_data": false, "serious_consequences": true}), "undecided", Some("high_risk_to_people")),
        (json!({"high_risk_to_people": true}), "notify_authority_and_people", None),
        // An answer can be changed: no high risk after all.
        (json!({"high_risk_to_people": false}), "notify_authority", None),
    ];
    for (answers, outcome, next) in steps {
        let body = ok(send(&handler, Method::PATCH, &path, Some(json!({ "answers": answers }))).await, 200).await;
        assert_eq!(body["outcome"], outcome, "{body}");
        assert_eq!(body["next_question"]["id"].as_str(), next);
    }
    let unknown = json!({"facts": {"nature": "x", "categories": ["horoscopes"]}});
    let refused =
        assert_problem(send(&handler, Method::PATCH, &path, Some(unknown)).await, 400, "invalid_parameter").await;
    assert!(refused["detail"].as_str().unwrap().contains("horoscopes"));
    assert_problem(send(&auditor, Method::PATCH, &path, Some(json!({}))).await, 403, "role_not_permitted").await;
    // Serde would read a struct from an array of its fields; bodies are objects only.
    for array in [json!([null, null]), json!({"answers": [true]})] {
        assert_problem(send(&handler, Method::PATCH, &path, Some(array)).await, 400, "malformed_body").await;
    }

    // Not personal data: not a breach, and still in the register (art. 33(5)).
    gw.clock.advance(60);
    let other = json!({"nature": "A test server with synthetic data was exposed", "answers": {"personal_data": false}});
    let other = ok(send(&handler, Method::POST, "/v1/breaches", Some(other)).await, 201).await;
    assert_eq!(
        (other["outcome"].as_str(), other["clock"]["state"].as_str()),
        (Some("not_a_breach"), Some("not_required"))
    );
    let list = ok(send(&auditor, Method::GET, "/v1/breaches?limit=1", None).await, 200).await;
    assert_eq!(list["breaches"][0]["id"], other["id"]);
    let before = list["next_before"].as_str().unwrap();
    let rest = ok(send(&auditor, Method::GET, &format!("/v1/breaches?before={before}"), None).await, 200).await;
    assert_eq!(rest["breaches"][0]["id"].as_str(), Some(id.as_str()));
    assert!(rest.get("next_before").is_none());
    assert_problem(send(&auditor, Method::GET, "/v1/breaches/not-a-breach-id", None).await, 404, "breach_not_found")
        .await;

    // The trail has each step.
    let trail = ok(send(&auditor, Method::GET, "/v1/audit?action=breach.assessed", None).await, 200).await;
    assert_eq!(trail["entries"].as_array().unwrap().len(), 6);
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn the_clock_warns_at_24_and_48_hours_goes_overdue_at_72_and_each_alarm_is_raised_once() {
    let gw = TestGateway::demo_with(WITNESS).await;
    let handler = gw.staff_client(StaffRole::Handler);
    let approver = gw.staff_client(StaffRole::Approver);
    // Undecided: the clock runs meanwhile.
    let breach =
        ok(send(&handler, Method::POST, "/v1/breaches", Some(json!({"nature": "Misdirected e-mail"}))).await, 201)
            .await;
    let id = breach["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/breaches/{id}");
    let mut alarms: Vec<(u64, String)> = Vec::new();
    for hours in [23, 24, 30, 48, 72, 73, 80] {
        gw.clock.set(T0 + hours * 3600);
        // The outbox worker looks too, every few seconds: whoever comes first raises it.
        assert!(gw.gateway.raise_breach_alarms().await.unwrap() <= 1);
        assert_eq!(gw.gateway.raise_breach_alarms().await.unwrap(), 0, "each alarm once");
        let state = ok(send(&handler, Method::GET, &path, None).await, 200).await["clock"]["state"].clone();
        alarms.push((hours, state.as_str().unwrap().to_owned()));
    }
    // Notified at the 72nd hour is on time; after it, overdue.
    let expected = [
        (23, "running"),
        (24, "warning24h"),
        (30, "warning24h"),
        (48, "warning48h"),
        (72, "warning48h"),
        (73, "overdue"),
        (80, "overdue"),
    ];
    assert_eq!(alarms, expected.map(|(h, s)| (h, s.to_owned())));

    // Late: only with the reasons for the delay (art. 33(1)), and only by an approver, once
    // the procedure calls for it.
    let answers = json!({"answers": {"personal_data": true, "role": "controller", "damaged": false, "lost": true,
                                     "sensitive_data": true, "high_risk_to_people": false}});
    let version = ok(send(&handler, Method::PATCH, &path, Some(answers)).await, 200).await["version"].clone();
    let notified = format!("{path}/authority-notification");
    let body = json!({"version": version, "reference": "AP-2026-12345"});
    assert_problem(send(&handler, Method::POST, &notified, Some(body.clone())).await, 403, "role_not_permitted").await;
    let missing =
        assert_problem(send(&approver, Method::POST, &notified, Some(body)).await, 422, "breach_facts_missing").await;
    assert!(missing["detail"].as_str().unwrap().contains("delay_reason"));
    let stale = json!({"version": 1, "reference": "AP-2026-12345", "delay_reason": "The report came late."});
    assert_problem(send(&approver, Method::POST, &notified, Some(stale)).await, 409, "breach_changed").await;
    let body = json!({"version": version, "reference": "AP-2026-12345",
                      "delay_reason": "The extent only became clear after the forensic report."});
    let done = ok(send(&approver, Method::POST, &notified, Some(body.clone())).await, 200).await;
    assert_eq!(done["clock"]["state"], "notified");
    assert_eq!(done["clock"]["notified_late"], true);
    assert_eq!(done["authority_notification"]["reference"], "AP-2026-12345");
    assert_problem(send(&approver, Method::POST, &notified, Some(body)).await, 409, "already_notified").await;

    // The desk was told of each: recorded, three alarms, the notification.
    let log = ok(send(&approver, Method::GET, "/v1/deliveries?target=webhook:dpo-desk", None).await, 200).await;
    let mut events: Vec<&str> =
        log["deliveries"].as_array().unwrap().iter().map(|d| d["event_type"].as_str().unwrap()).collect();
    events.sort_unstable();
    assert_eq!(
        events,
        [
            "breach.authority_notified",
            "breach.deadline_warning",
            "breach.deadline_warning",
            "breach.overdue",
            "breach.recorded"
        ]
    );
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn the_authority_draft_and_a_signed_notice_in_the_persons_wallet() {
    let gw = TestGateway::demo().await;
    let handler = gw.staff_client(StaffRole::Handler);
    let approver = gw.staff_client(StaffRole::Approver);
    let wallet = gw.wallet("alice");
    gw.pair(&wallet, "alice").await;
    let new = json!({"nature": "Our mailing house sent <b>invoices</b> to the wrong addresses", "categories": ["contact", "payments"],
                     "approximate_subjects": 120});
    let breach = ok(send(&handler, Method::POST, "/v1/breaches", Some(new)).await, 201).await;
    let path = format!("/v1/breaches/{}", breach["id"].as_str().unwrap());

    // Not a breach of ours yet: nobody is told.
    let people = format!("{path}/people-notification");
    let alice = json!({"version": 1, "subject_refs": ["alice", "bob"]});
    assert_problem(send(&approver, Method::POST, &people, Some(alice.clone())).await, 409, "breach_not_notifiable")
        .await;
    let answers = json!({"answers": {"personal_data": true, "role": "controller", "damaged": false, "lost": false,
                                     "unlawful_processing_excluded": false, "sensitive_data": true, "high_risk_to_people": true}});
    let assessed = ok(send(&handler, Method::PATCH, &path, Some(answers)).await, 200).await;
    assert_eq!(
        (assessed["outcome"].as_str(), assessed["version"].as_u64()),
        (Some("notify_authority_and_people"), Some(2))
    );

    // The draft says what art. 33(3) needs and what is still missing.
    let draft = ok(send(&handler, Method::GET, &format!("{path}/authority-notification"), None).await, 200).await;
    assert_eq!(draft["categories"][1]["name"], "Invoices and payments");
    assert_eq!(draft["contact"], "privacy@voorbeeld-energie.example");
    assert_eq!(draft["people_to_be_notified"], true);
    let missing: Vec<&str> = draft["missing"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert_eq!(missing.len(), 3, "{missing:?}");
    let page = gw.staff_client(StaffRole::Auditor).request(Method::GET, &format!("{path}/authority-notification"));
    let page = page.header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let page = page.text().await.unwrap();
    assert!(page.contains("&lt;b&gt;invoices&lt;/b&gt;") && page.contains("(d) Measures taken or proposed"));

    // The people's notice needs the version the approver reviewed, and the consequences
    // and the measures.
    assert_problem(send(&approver, Method::POST, &people, Some(alice.clone())).await, 409, "breach_changed").await;
    let alice = json!({"version": 2, "subject_refs": ["alice", "bob"]});
    assert_problem(send(&approver, Method::POST, &people, Some(alice.clone())).await, 422, "breach_facts_missing")
        .await;
    let escape = json!({"facts": {"nature": "Lost \u{1b}[31mletters", "categories": []}});
    assert_problem(send(&handler, Method::PATCH, &path, Some(escape)).await, 400, "invalid_parameter").await;
    let facts = json!({"facts": {"nature": "Our mailing house sent invoices to the wrong addresses", "categories": ["contact", "payments"],
                                 "likely_consequences": "Someone else may have read your name, address and amounts owed.",
                                 "measures": "The mailing house deleted the wrong letters; we check every print run now."}});
    assert_eq!(ok(send(&handler, Method::PATCH, &path, Some(facts)).await, 200).await["version"], 3);
    let alice = json!({"version": 3, "subject_refs": ["alice", "bob"]});
    assert_problem(send(&handler, Method::POST, &people, Some(alice.clone())).await, 403, "role_not_permitted").await;
    let told = ok(send(&approver, Method::POST, &people, Some(alice)).await, 200).await;
    assert_eq!(told, json!({"people": 2, "wallets": 1, "without_wallet": ["bob"], "version": 4}));

    // The wallet receives it, verifies it and shows it.
    let notices = breach_notices(&wallet).await;
    assert_eq!(notices.len(), 1);
    let notice = &notices[0];
    assert_eq!(notice.controller_name, "Voorbeeld Energie B.V. (demo)");
    assert_eq!(notice.categories, ["Contact details", "Invoices and payments"]);
    assert!(notice.measures.starts_with("The mailing house deleted"));
    assert_eq!(notice.contact, "privacy@voorbeeld-energie.example");
    let keys = gdpr_gateway::jose::Jwks { keys: vec![gw.gateway.keyring().active_signing().public_jwk().clone()] };
    let claims = gdpr_gateway::bundle::verify_breach_notice(notice.token.as_bytes(), &keys).unwrap();
    assert_eq!((claims.sub.as_str(), claims.iss.as_str()), ("alice", "https://demo.gdpr-gateway.example"));
    let viewed = ok(send(&handler, Method::GET, &path, None).await, 200).await;
    assert_eq!(viewed["wallets_notified"], 1);
    gw.stop().await.unwrap();
}

/// Reads the wallet's mailbox until a breach notice is shown.
async fn breach_notices(wallet: &Wallet) -> Vec<gdpr_gateway::wallet::BreachNoticeView> {
    for _ in 0..100 {
        let events = wallet.events().await.unwrap();
        if events.iter().any(|e| e.kind == EventKind::Breach) {
            return wallet.breach_notices().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no breach notice arrived");
}

/// Settled breaches never crowd out a running clock: a register full of ones that need no
/// notification still raises the alarm of a new one.
#[tokio::test]
async fn settled_breaches_do_not_crowd_out_a_running_clock() {
    use gdpr_gateway::gateway::{BreachAnswers, BreachFacts, Caller};
    let gw = TestGateway::demo().await;
    let handler = Caller::staff("demo-handler", StaffRole::Handler);
    let settled = BreachAnswers { personal_data: Some(false), ..BreachAnswers::default() };
    for i in 0..120 {
        let facts = BreachFacts { nature: format!("test server {i} exposed"), ..BreachFacts::default() };
        gw.gateway.record_breach(&handler, facts, settled.clone(), Some(T0 - 3600)).await.unwrap();
    }
    let facts = BreachFacts { nature: "A laptop was stolen".into(), ..BreachFacts::default() };
    let running = gw.gateway.record_breach(&handler, facts, BreachAnswers::default(), None).await.unwrap();
    gw.clock.advance(25 * 3600);
    gw.gateway.raise_breach_alarms().await.unwrap();
    let auditor = gw.staff_client(StaffRole::Auditor);
    let trail = ok(send(&auditor, Method::GET, "/v1/audit?action=breach.deadline_warning", None).await, 200).await;
    let objects: Vec<&Value> = trail["entries"].as_array().unwrap().iter().map(|e| &e["objects"][0]).collect();
    assert_eq!(objects, [&json!(format!("breach:{}", running.id))]);
    gw.stop().await.unwrap();
}
