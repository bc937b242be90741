//! A pairing's status token, as a customer's browser uses it: it reads that one pairing
//! (state, QR code, events) without the portal token, does nothing else, and lapses five
//! minutes after the pairing's deadline.

use gdpr_gateway::clock::Clock;
use gdpr_gateway::config::DEFAULT_PAIRING_LIFETIME_SECONDS;
use gdpr_gateway::gateway::STATUS_TOKEN_GRACE_SECS;
use gdpr_gateway::protocol::message::Body;
use gdpr_gateway::store::pairing_store::PairingState;
use gdpr_gateway::views::PairingView;
use reqwest::Method;
use serde_json::json;

use crate::common::{TestGateway, assert_problem};
use crate::pairing::{Wallet, create_pairing, events};

#[tokio::test]
async fn a_status_token_reads_its_own_pairing_and_nothing_else() {
    let gw = TestGateway::demo().await;
    let pairing = create_pairing(&gw, "alice").await;
    let others = create_pairing(&gw, "bob").await;
    let token = pairing.status_token.clone().expect("a new pairing carries its status token");
    assert_eq!(token.len(), 43, "32 random bytes, base64url");
    assert_ne!(others.status_token.as_deref(), Some(token.as_str()));
    let id = pairing.pairing_id.clone();
    // A browser: no Authorization header, only the token in the URL.
    let browser = reqwest::Client::new();
    let get = |path: String| browser.get(format!("{}{path}", gw.url)).send();
    let with = |path: &str| format!("{path}?status_token={token}");

    let answer = get(with(&format!("/v1/pairings/{id}"))).await.unwrap();
    assert_eq!(answer.headers()["cache-control"], "no-store", "it may carry the connect link");
    let read: PairingView = answer.json().await.unwrap();
    assert_eq!((read.state, read.subject_ref.as_str()), (PairingState::Pending, "alice"));
    assert_eq!(read.status_token, None, "the token is shown once, at creation");
    assert_eq!(read.connect_uri, pairing.connect_uri);
    let svg = get(with(&format!("/v1/pairings/{id}/qr.svg"))).await.unwrap();
    assert_eq!((svg.status().as_u16(), svg.headers()["content-type"].to_str().unwrap()), (200, "image/svg+xml"));
    let png = get(with(&format!("/v1/pairings/{id}/qr.png"))).await.unwrap();
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let stream = get(with(&format!("/v1/pairings/{id}/events"))).await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let followed = tokio::spawn(events(stream));

    // Not another pairing, not with another token, not without one.
    let foreign = get(with(&format!("/v1/pairings/{}", others.pairing_id))).await.unwrap();
    assert_problem(foreign, 401, "invalid_bearer_token").await;
    let foreign_qr = get(with(&format!("/v1/pairings/{}/qr.svg", others.pairing_id))).await.unwrap();
    assert_problem(foreign_qr, 401, "invalid_bearer_token").await;
    let wrong = get(format!("/v1/pairings/{id}?status_token={}", others.status_token.unwrap())).await.unwrap();
    assert_problem(wrong, 401, "invalid_bearer_token").await;
    let nowhere = get(with("/v1/pairings/00000000000000000000000000000000")).await.unwrap();
    assert_problem(nowhere, 401, "invalid_bearer_token").await;
    let huge = get(format!("/v1/pairings/{id}?status_token={}", "x".repeat(200))).await.unwrap();
    assert_problem(huge, 401, "invalid_bearer_token").await;
    assert_problem(get(format!("/v1/pairings/{id}")).await.unwrap(), 401, "missing_bearer_token").await;

    // It cannot act: confirm, cancel, start pairings, list or revoke connections.
    let url = |path: &str| format!("{}{}", gw.url, with(path));
    for (method, path, body) in [
        (Method::POST, format!("/v1/pairings/{id}/confirm"), Some(json!({ "code": "123456" }))),
        (Method::DELETE, format!("/v1/pairings/{id}"), None),
        (Method::POST, "/v1/pairings".to_owned(), Some(json!({ "subject_ref": "alice" }))),
        (Method::GET, "/v1/subjects/alice/connections".to_owned(), None),
        (Method::POST, "/v1/subjects/alice/exports".to_owned(), Some(json!({ "purpose": "access" }))),
    ] {
        let mut request = browser.request(method.clone(), url(&path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let refused = request.send().await.unwrap();
        assert_problem(refused, 401, "missing_bearer_token").await;
    }

    // The page follows the pairing to its end while the portal confirms the code.
    let wallet = Wallet::connect(&gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap();
    let Body::PairingCode { code, .. } = wallet.next_message(gw.clock.now()).await.unwrap().body else {
        panic!("expected the code");
    };
    let scanned: PairingView = get(with(&format!("/v1/pairings/{id}"))).await.unwrap().json().await.unwrap();
    assert_eq!(scanned.state, PairingState::Scanned);
    gw.portal_client().confirm(&id, &code).await.unwrap();
    let seen: Vec<String> = followed.await.unwrap().into_iter().map(|(name, _)| name).collect();
    assert_eq!(seen, ["pending", "scanned", "connected"]);
    let ended: PairingView = get(with(&format!("/v1/pairings/{id}"))).await.unwrap().json().await.unwrap();
    assert_eq!(ended.state, PairingState::Connected);
    // The connect URI is gone, so is the QR code.
    let closed = get(with(&format!("/v1/pairings/{id}/qr.svg"))).await.unwrap();
    assert_problem(closed, 409, "pairing_closed").await;
}

/// The token lapses five minutes after the pairing's deadline: the page can still read
/// that the pairing expired, and then nothing.
#[tokio::test]
async fn a_status_token_lapses_after_the_pairing_expires() {
    let gw = TestGateway::demo().await;
    let pairing = create_pairing(&gw, "alice").await;
    let token = pairing.status_token.unwrap();
    let path = format!("{}/v1/pairings/{}?status_token={token}", gw.url, pairing.pairing_id);
    let read = || async { reqwest::get(&path).await.unwrap() };

    gw.clock.advance(DEFAULT_PAIRING_LIFETIME_SECONDS + STATUS_TOKEN_GRACE_SECS - 1);
    let last: PairingView = read().await.json().await.unwrap();
    assert_eq!(last.state, PairingState::Expired);
    gw.clock.advance(1);
    assert_problem(read().await, 401, "invalid_bearer_token").await;
    // The portal still reads it.
    let portal = gw.portal_client().pairing(&pairing.pairing_id).await.unwrap();
    assert_eq!(portal.state, PairingState::Expired);
}
