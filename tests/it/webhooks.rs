//! Webhooks over real HTTP: request events signed per Standard Webhooks (checked here with
//! HMAC computed independently of the gateway's signer), delivered from the durable outbox
//! at least once; a receiver down for over an hour loses nothing, and the delivery log
//! shows every attempt; the approver role is told when a request waits for it; a witness
//! receives the audit trail's signed checkpoints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use gdpr_gateway::clock::Clock;
use gdpr_gateway::protocol::rights::StaffRole;
use gdpr_gateway::views::{DeliveryList, DeliveryState};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{StaffClient, TestGateway, assert_problem};

/// How many times to look (50 ms apart) for what the outbox delivers: up to 10 s, since
/// the worker looks once a second and CI machines are busy.
const POLLS: usize = 200;
const KEY: &[u8; 32] = b"a 32-byte secret for a receiver!";

/// What the receiver was sent, and whether it answers.
#[derive(Default)]
struct Receiver {
    up: bool,
    calls: Vec<(HeaderMap, String)>,
}

async fn receiver(state: Arc<Mutex<Receiver>>) -> String {
    // Any path: a test receiver, not part of the gateway's API.
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
        let state = state.clone();
        async move {
            let mut state = state.lock().unwrap();
            state.calls.push((headers, body));
            if state.up { StatusCode::NO_CONTENT } else { StatusCode::SERVICE_UNAVAILABLE }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn config(url: &str, events: &str) -> String {
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(KEY));
    config_with(url, events, &secret)
}

fn config_with(url: &str, events: &str, secret: &str) -> String {
    format!("[[webhooks]]\nid = \"staff-tools\"\nurl = \"{url}\"\nsecret = \"{secret}\"\nevents = {events}\n")
}

/// The signature a receiver expects, computed here with the `hmac` crate directly.
fn expected_signature(headers: &HeaderMap, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY).unwrap();
    let signed = format!(
        "{}.{}.{body}",
        headers["webhook-id"].to_str().unwrap(),
        headers["webhook-timestamp"].to_str().unwrap()
    );
    mac.update(signed.as_bytes());
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

async fn deliveries(staff: &StaffClient) -> DeliveryList {
    let response = staff.request(Method::GET, "/v1/deliveries?target=webhook:staff-tools").send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Waits until the delivery log's newest notice has `attempts` attempts.
async fn attempted(staff: &StaffClient, attempts: usize) -> DeliveryList {
    for _ in 0..POLLS {
        let log = deliveries(staff).await;
        if log.deliveries.first().is_some_and(|d| d.attempts.len() >= attempts) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no attempt {attempts}: {:?}", deliveries(staff).await);
}

#[tokio::test]
async fn a_receiver_down_for_over_an_hour_loses_nothing() {
    let state = Arc::new(Mutex::new(Receiver::default()));
    let url = receiver(state.clone()).await;
    let gw = TestGateway::demo_with(&config(&url, r#"["request.acknowledged"]"#)).await;
    let auditor = gw.staff_client(StaffRole::Auditor);
    let filed = gw.portal_client().file_request("alice", &json!({"type": "access"})).await.unwrap();

    // Down: the attempts 5 s, 5 min and 30 min apart fail, each in the log.
    let log = attempted(&auditor, 1).await;
    let first = &log.deliveries[0];
    assert_eq!((first.event_type.as_str(), first.state), ("request.acknowledged", DeliveryState::Pending));
    assert_eq!(first.attempts[0].status, Some(503));
    for (pause, attempts) in [(5, 2), (300, 3), (1800, 4)] {
        gw.clock.advance(pause);
        attempted(&auditor, attempts).await;
    }
    // Up again, two hours later: the next attempt delivers.
    state.lock().unwrap().up = true;
    gw.clock.advance(2 * 3600);
    let log = attempted(&auditor, 5).await;
    let delivered = &log.deliveries[0];
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(delivered.attempts.iter().map(|a| a.status).collect::<Vec<_>>(), [503, 503, 503, 503, 204].map(Some));

    let calls = std::mem::take(&mut state.lock().unwrap().calls);
    assert_eq!(calls.len(), 5);
    for (headers, body) in &calls {
        assert_eq!(headers["webhook-id"], delivered.id.as_str(), "the same id on every attempt");
        assert_eq!(headers["webhook-signature"].to_str().unwrap(), expected_signature(headers, body));
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body, &calls[0].1, "the same body on every attempt");
    }
    let (last_headers, body) = calls.last().unwrap();
    assert_eq!(last_headers["webhook-timestamp"], gw.clock.now().to_string().as_str());
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["type"], "request.acknowledged");
    assert_eq!(event["data"]["number"], filed.number.as_str());
    assert_eq!(event["data"]["subject_ref"], "alice");
    assert!(event["data"].get("details").is_none(), "the person's words stay in the register");
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn the_approver_role_is_told_when_a_request_waits_for_it() {
    let state = Arc::new(Mutex::new(Receiver { up: true, calls: Vec::new() }));
    let url = receiver(state.clone()).await;
    let gw = TestGateway::demo_with(&config(&url, r#"["request.*"]"#)).await;
    let handler = gw.staff_client(StaffRole::Handler);
    let filed = gw.portal_client().file_request("bob", &json!({"type": "erasure"})).await.unwrap();
    handler.advance(&filed.id).await.unwrap();
    handler.meet(&filed.id, &["scope_determined", "legal_holds_checked"]).await;
    handler.advance(&filed.id).await.unwrap();

    let mut events = Vec::new();
    for _ in 0..POLLS {
        events = state.lock().unwrap().calls.iter().map(|(_, b)| serde_json::from_str::<Value>(b).unwrap()).collect();
        if events.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    types.sort_unstable();
    assert_eq!(types, ["request.acknowledged", "request.advanced", "request.advanced", "request.approval_requested"]);
    let waiting = events.iter().find(|e| e["type"] == "request.approval_requested").unwrap();
    assert_eq!(
        (waiting["data"]["role"].as_str(), waiting["data"]["phase"].as_str()),
        (Some("approver"), Some("approval"))
    );

    // A letter filed by an intermediary: the staff tools learn whom to tell (step 1).
    let letter =
        json!({"subject_ref": "bob", "type": "access", "intermediary": "Praktijk De Linde, info@delinde.example"});
    let filed = handler.request(Method::POST, "/v1/requests").json(&letter).send().await.unwrap();
    assert_eq!(filed.status(), 201);
    let mut intermediary = None;
    for _ in 0..POLLS {
        intermediary = state.lock().unwrap().calls.iter().find_map(|(_, body)| {
            let event: Value = serde_json::from_str(body).unwrap();
            event["data"]["intermediary"].as_str().map(str::to_owned)
        });
        if intermediary.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(intermediary.as_deref(), Some("Praktijk De Linde, info@delinde.example"));

    // The delivery log is for staff, checked like the register.
    let page = gw.portal(Method::GET, "/v1/deliveries").send().await.unwrap();
    assert_problem(page, 401, "invalid_bearer_token").await;
    let bad = handler.request(Method::GET, "/v1/deliveries?limit=101").send().await.unwrap();
    assert_problem(bad, 400, "invalid_parameter").await;
    gw.stop().await.unwrap();
}

#[test]
fn webhook_config_is_checked() {
    let url = "https://hooks.example/x";
    let cases = [
        (config(url, r#"["request.nope"]"#), "webhooks[0].events"),
        (config("ftp://hooks.example", "[]"), "webhooks[0].url"),
        (config(url, "[]").replace("whsec_", "sec_"), "webhooks[0].secret"),
        (config_with(url, "[]", "whsec_c2hvcnQ="), "webhooks[0].secret"),
        (config_with(url, "[]", "whsec_not base64!"), "webhooks[0].secret"),
        (format!("{0}{0}", config(url, "[]")), "webhooks[1].id"),
    ];
    for (extra, key) in cases {
        let text = format!("{}\n{extra}", gdpr_gateway::config::builtin_demo::CONFIG);
        let overrides = gdpr_gateway::config::Overrides::default();
        let error =
            gdpr_gateway::config::from_text(gdpr_gateway::config::Origin::BuiltInDemo, &text, Vec::new(), overrides)
                .unwrap_err()
                .to_string();
        assert!(error.contains(key), "{key}: {error}");
    }
}

/// A witness subscribed to `audit.checkpoint` receives every checkpoint the gateway signs,
/// signed per Standard Webhooks, and no request event.
#[tokio::test]
async fn a_witness_receives_each_signed_checkpoint_and_nothing_else() {
    let state = Arc::new(Mutex::new(Receiver { up: true, calls: Vec::new() }));
    let url = receiver(state.clone()).await;
    let gw = TestGateway::demo_with(&config(&url, r#"["audit.checkpoint"]"#)).await;
    gw.portal_client().file_request("alice", &json!({"type": "access"})).await.unwrap();
    gw.clock.advance(3600);
    // The outbox worker looks for due checkpoints too; when it signed this one first, the
    // witness is sent that one.
    let signed_here = gw.gateway.checkpoint_audit().await.unwrap().map(|c| c.token);
    let mut events: Vec<(HeaderMap, String, Value)> = Vec::new();
    for _ in 0..POLLS {
        events = state
            .lock()
            .unwrap()
            .calls
            .iter()
            .map(|(h, b)| (h.clone(), b.clone(), serde_json::from_str(b).unwrap()))
            .collect();
        // Beyond entry 1 (the start): over the request's entries.
        let wanted = |e: &Value| match signed_here.as_deref() {
            Some(token) => e["data"]["checkpoint"] == token,
            None => e["data"]["seq"].as_u64() >= Some(2),
        };
        if events.iter().any(|(_, _, e)| wanted(e)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The worker may have signed one at start too; every call is a checkpoint.
    assert!(events.iter().all(|(_, _, e)| e["type"] == "audit.checkpoint"), "{events:?}");
    let (headers, body, event) = match &signed_here {
        Some(token) => events.iter().find(|(_, _, e)| e["data"]["checkpoint"] == token.as_str()),
        None => events.iter().max_by_key(|(_, _, e)| e["data"]["seq"].as_u64()),
    }
    .expect("delivered");
    assert_eq!(headers["webhook-signature"].to_str().unwrap(), expected_signature(headers, body));
    let token = event["data"]["checkpoint"].as_str().unwrap();
    let jwks: gdpr_gateway::jose::Jwks = gw.get("/.well-known/jwks.json").send().await.unwrap().json().await.unwrap();
    let claims = gdpr_gateway::gateway::verify_checkpoint(token.as_bytes(), &jwks).unwrap();
    assert_eq!(
        (event["data"]["seq"].as_u64(), event["data"]["hash"].as_str()),
        (Some(claims.audit.seq), Some(claims.audit.hash.as_str()))
    );
    assert!(claims.audit.seq >= 2, "the request's entries are under it");
    gw.stop().await.unwrap();
}
