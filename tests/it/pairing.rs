//! Pairing over real HTTP: the demo gateway with its embedded relay on 127.0.0.1:0, a
//! wallet built from the core's relay client, and the portal API.

use std::sync::Arc;

use futures_util::StreamExt;
use gdpr_gateway::clock::Clock;
use gdpr_gateway::jose::{EncryptionKeyPair, Jwks, SigningKeyPair, jwe};
use gdpr_gateway::protocol::message::{self, Body, Message};
use gdpr_gateway::protocol::relay_wire::{ConnectRequest, ConnectUri, Connected, ItemKind};
use gdpr_gateway::relay_client::{RelayClient, RelayError};
use gdpr_gateway::store::pairing_store::PairingState;
use gdpr_gateway::views::PairingView;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{T0, TestGateway, assert_problem};

/// A wallet with fresh keys for one connection.
pub struct Wallet {
    pub client: RelayClient,
    pub encryption: EncryptionKeyPair,
    pub connected: Connected,
}

impl Wallet {
    pub async fn connect(gw: &TestGateway, uri: &str) -> Result<Self, RelayError> {
        let uri = ConnectUri::parse(uri).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(gw.clock.clone());
        let client = RelayClient::new(&uri.relay, Arc::new(SigningKeyPair::generate()), clock)?;
        let encryption = EncryptionKeyPair::generate();
        let request = ConnectRequest { token: uri.token.encode(), encryption_jwk: encryption.public_jwk().clone() };
        let connected = client.connect(&request).await?;
        Ok(Self { client, encryption, connected })
    }

    pub fn id(&self) -> &str {
        &self.connected.connection_id
    }

    /// The next message from the controller, opened, verified and acknowledged.
    pub async fn next_message(&self, now: u64) -> Result<Message, RelayError> {
        loop {
            let items = self.client.messages(self.id(), 10).await?;
            if let Some(item) = items.into_iter().next() {
                assert_eq!(item.kind, ItemKind::Envelope);
                let keys: &Jwks = &self.connected.controller.jwks;
                let opened =
                    message::open(item.body.unwrap().as_bytes(), &[&self.encryption], keys, self.id(), now).unwrap();
                self.client.ack(self.id(), &item.id).await?;
                return Ok(opened);
            }
        }
    }
}

pub async fn create_pairing(gw: &TestGateway, subject: &str) -> PairingView {
    gw.portal_client().create_pairing(subject).await
}

async fn status(gw: &TestGateway, id: &str) -> PairingView {
    gw.portal_client().pairing(id).await.unwrap()
}

/// The raw answer, for tests that look at refusals.
async fn confirm(gw: &TestGateway, id: &str, code: &str) -> reqwest::Response {
    let path = format!("/v1/pairings/{id}/confirm");
    gw.portal_client().request(Method::POST, &path).json(&json!({ "code": code })).send().await.unwrap()
}

async fn code_of(wallet: &Wallet, gw: &TestGateway) -> String {
    match wallet.next_message(gw.clock.now()).await.unwrap().body {
        Body::PairingCode { code, .. } => code,
        other => panic!("expected a code, got {other:?}"),
    }
}

/// Reads SSE events (name, data) from a streaming response until the stream ends.
pub async fn events(response: reqwest::Response) -> Vec<(String, Value)> {
    let mut text = String::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
        if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
            out.push((event.to_owned(), serde_json::from_str(data).unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn full_pairing_binds_the_wallet_only_after_the_right_code() {
    let gw = TestGateway::demo().await;
    let pairing = create_pairing(&gw, "alice").await;
    let id = pairing.pairing_id.clone();
    assert_eq!((pairing.state, pairing.subject_ref.as_str()), (PairingState::Pending, "alice"));
    let uri = pairing.connect_uri.as_deref().unwrap();
    assert!(uri.starts_with(&format!("{}/relay/c/", gw.url)), "{uri}");
    let base = format!("{}/v1/pairings/{id}", gw.url);
    assert_eq!(pairing.qr_svg_url, format!("{base}/qr.svg"));
    assert_eq!(pairing.qr_png_url, format!("{base}/qr.png"));
    assert_eq!(pairing.events_url, format!("{base}/events"));
    let lifetime = gdpr_gateway::config::DEFAULT_PAIRING_LIFETIME_SECONDS;
    assert_eq!(pairing.expires_at, gdpr_gateway::clock::rfc3339(T0 + lifetime));
    assert_eq!(
        status(&gw, &id).await.connect_uri.as_deref(),
        Some(uri),
        "the portal can fetch the URI again while pending"
    );

    let svg = gw.portal(Method::GET, &format!("/v1/pairings/{id}/qr.svg")).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));
    let png = gw.portal(Method::GET, &format!("/v1/pairings/{id}/qr.png")).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));

    let stream = gw.portal(Method::GET, &format!("/v1/pairings/{id}/events")).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let events = tokio::spawn(events(stream));

    let wallet = Wallet::connect(&gw, uri).await.unwrap();
    assert_eq!(wallet.connected.controller.id, gw.gateway.notice().controller.id);
    let code = code_of(&wallet, &gw).await;
    assert_eq!(code.len(), 6);
    let scanned = status(&gw, &id).await;
    assert_eq!(scanned.state, PairingState::Scanned);
    assert_eq!(scanned.connect_uri, None, "the token is gone once scanned");
    let gone = gw.portal(Method::GET, &format!("/v1/pairings/{id}/qr.svg")).send().await.unwrap();
    assert_problem(gone, 409, "pairing_closed").await;
    let portal = gw.portal_client();
    assert_eq!(portal.connections("alice").await.unwrap().connections, [], "not bound before the code");

    let confirmed = portal.confirm(&id, &code).await.unwrap();
    assert_eq!(confirmed.state, PairingState::Connected);
    assert_eq!(
        wallet.next_message(gw.clock.now()).await.unwrap().body,
        Body::PairingConfirmed { subject: "alice".into() }
    );

    let seen: Vec<String> = events.await.unwrap().into_iter().map(|(name, _)| name).collect();
    assert_eq!(seen, ["pending", "scanned", "connected"]);

    let listed = portal.connections("alice").await.unwrap().connections;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].connection_id.as_str(), listed[0].state.as_str()), (wallet.id(), "active"));
    assert_eq!(listed[0].wallet_kid, wallet.client.key().kid());
    assert_eq!(portal.connections("bob").await.unwrap().connections, []);
    let again = confirm(&gw, &id, &code).await;
    assert_problem(again, 409, "pairing_closed").await;

    // Another subject cannot revoke it; the subject's portal can, and the wallet learns.
    let foreign =
        gw.portal(Method::DELETE, &format!("/v1/subjects/bob/connections/{}", wallet.id())).send().await.unwrap();
    assert_problem(foreign, 404, "connection_not_found").await;
    let revoked =
        gw.portal(Method::DELETE, &format!("/v1/subjects/alice/connections/{}", wallet.id())).send().await.unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(wallet.next_message(gw.clock.now()).await.unwrap().body, Body::ConnectionRevoked {});
    let after = wallet.client.messages(wallet.id(), 0).await.unwrap_err();
    assert_eq!(after.error_code().map(|c| c.as_str()), Some("connection_revoked"));
    let posted =
        wallet.client.post(wallet.id(), &jwe::encrypt(wallet.encryption.public_jwk(), "x", b"x").unwrap()).await;
    assert_eq!(posted.unwrap_err().error_code().map(|c| c.as_str()), Some("connection_revoked"));
    let twice =
        gw.portal(Method::DELETE, &format!("/v1/subjects/alice/connections/{}", wallet.id())).send().await.unwrap();
    assert_problem(twice, 410, "connection_revoked").await;
}

/// A pairing is its portal client's: another client of the same organisation cannot read,
/// follow, draw, confirm or cancel it, and is told it does not exist.
#[tokio::test]
async fn another_portal_client_cannot_touch_a_pairing() {
    const OTHER_TOKEN: &str = "second-portal-token-0123456789abcdef";
    let digest = gdpr_gateway::config::TokenDigest::of(OTHER_TOKEN).to_hex();
    let gw =
        TestGateway::demo_with(&format!("[[portal_clients]]\nid = \"call-centre\"\ntoken_sha256 = \"{digest}\"\n"))
            .await;
    let pairing = create_pairing(&gw, "alice").await;
    let id = pairing.pairing_id.clone();
    let wallet = Wallet::connect(&gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap();
    let code = code_of(&wallet, &gw).await;

    let other = |method: Method, path: String| gw.portal_as(OTHER_TOKEN, method, &path);
    let base = format!("/v1/pairings/{id}");
    for (method, path) in [
        (Method::GET, base.clone()),
        (Method::GET, format!("{base}/qr.svg")),
        (Method::GET, format!("{base}/qr.png")),
        (Method::GET, format!("{base}/events")),
        (Method::DELETE, base.clone()),
    ] {
        let response = other(method.clone(), path.clone()).send().await.unwrap();
        assert_problem(response, 404, "pairing_not_found").await;
    }
    for attempt in [code.as_str(), "12"] {
        let confirm_other = other(Method::POST, format!("{base}/confirm")).json(&json!({ "code": attempt })).send();
        assert_problem(confirm_other.await.unwrap(), 404, "pairing_not_found").await;
    }
    // The other client's own pairings work, and the owner's pairing is untouched.
    let own = other(Method::POST, "/v1/pairings".into()).json(&json!({ "subject_ref": "bob" })).send().await.unwrap();
    assert_eq!(own.status(), 201);
    let mine = status(&gw, &id).await;
    assert_eq!((mine.state, mine.attempts_left), (PairingState::Scanned, 3));
    assert_eq!(confirm(&gw, &id, &code).await.status(), 200);
}

#[tokio::test]
async fn three_wrong_codes_cancel_the_pairing_and_disconnect_the_wallet() {
    let gw = TestGateway::demo().await;
    let pairing = create_pairing(&gw, "alice").await;
    let id = pairing.pairing_id.as_str();
    let early = confirm(&gw, id, "123456").await;
    assert_problem(early, 409, "pairing_not_scanned").await;
    let wallet = Wallet::connect(&gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap();
    let code = code_of(&wallet, &gw).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let malformed = confirm(&gw, id, "12345").await;
    assert_problem(malformed, 400, "invalid_parameter").await;
    for left in [2, 1, 0] {
        let body = assert_problem(confirm(&gw, id, wrong).await, 422, "wrong_code").await;
        assert!(body["detail"].as_str().unwrap().contains(&format!("{left} attempts left")), "{body}");
    }
    assert_eq!(status(&gw, id).await.state, PairingState::Cancelled);
    assert_problem(confirm(&gw, id, &code).await, 409, "pairing_closed").await;
    match wallet.next_message(gw.clock.now()).await.unwrap().body {
        Body::PairingCancelled { reason } => assert!(reason.contains("wrong"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        wallet.client.messages(wallet.id(), 0).await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("connection_revoked")
    );
    let listed: Value =
        gw.portal(Method::GET, "/v1/subjects/alice/connections").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["connections"], json!([]));
}

#[tokio::test]
async fn expired_and_cancelled_pairings_bind_nothing() {
    let gw = TestGateway::demo().await;
    let expiring = create_pairing(&gw, "alice").await;
    let cancelled = create_pairing(&gw, "alice").await;
    let cancelled_id = cancelled.pairing_id.as_str();
    assert_eq!(gw.portal_client().cancel(cancelled_id).await.unwrap().state, PairingState::Cancelled);
    let again = gw.portal(Method::DELETE, &format!("/v1/pairings/{cancelled_id}")).send().await.unwrap();
    assert_problem(again, 409, "pairing_closed").await;
    // The relay still holds the token, but the gateway ends whatever comes of it.
    let late = Wallet::connect(&gw, cancelled.connect_uri.as_deref().unwrap()).await.unwrap();
    let ended = late.client.messages(late.id(), 10).await;
    assert_eq!(ended.unwrap_err().error_code().map(|c| c.as_str()), Some("connection_revoked"));

    gw.clock.advance(gdpr_gateway::config::DEFAULT_PAIRING_LIFETIME_SECONDS);
    let id = expiring.pairing_id.as_str();
    assert_eq!(status(&gw, id).await.state, PairingState::Expired);
    let refused = Wallet::connect(&gw, expiring.connect_uri.as_deref().unwrap()).await.err().unwrap();
    assert_eq!(refused.error_code().map(|c| c.as_str()), Some("connect_token_expired"));
    let qr = gw.portal(Method::GET, &format!("/v1/pairings/{id}/qr.png")).send().await.unwrap();
    assert_problem(qr, 409, "pairing_closed").await;
    let events = events(gw.portal(Method::GET, &format!("/v1/pairings/{id}/events")).send().await.unwrap()).await;
    assert_eq!(events.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["expired"]);
    let missing = gw.portal(Method::GET, "/v1/pairings/nope").send().await.unwrap();
    assert_problem(missing, 404, "pairing_not_found").await;
}

#[tokio::test]
async fn a_token_is_redeemed_once_under_fifty_concurrent_wallets() {
    let gw = Arc::new(TestGateway::demo().await);
    let pairing = create_pairing(&gw, "alice").await;
    let uri = pairing.connect_uri.clone().unwrap();
    let attempts = (0..50).map(|_| {
        let (gw, uri) = (gw.clone(), uri.clone());
        tokio::spawn(async move {
            Wallet::connect(&gw, &uri).await.map(|_| ()).map_err(|e| e.error_code().map(|c| c.as_str().to_owned()))
        })
    });
    let results = futures_util::future::join_all(attempts).await;
    let wins = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    assert_eq!(wins, 1, "{results:?}");
    for result in &results {
        if let Ok(Err(code)) = result {
            assert!(matches!(code.as_deref(), Some("connect_token_used" | "rate_limited")), "{code:?}");
        }
    }
}

#[tokio::test]
async fn the_portal_api_needs_the_portal_token() {
    let gw = TestGateway::demo().await;
    let anonymous = gw.get("/v1/pairings/x").send().await.unwrap();
    assert_problem(anonymous, 401, "missing_bearer_token").await;
    let bad = gw.portal(Method::POST, "/v1/pairings").json(&json!({ "subject_ref": "" })).send().await.unwrap();
    assert_problem(bad, 400, "invalid_parameter").await;
    let extra =
        gw.portal(Method::POST, "/v1/pairings").json(&json!({ "subject_ref": "a", "x": 1 })).send().await.unwrap();
    assert_problem(extra, 400, "malformed_body").await;
}

/// Polls `path` until `field` of its JSON equals `expected`; the gateway learns of a
/// wallet's revocation through its relay inbox, moments later.
async fn eventually(gw: &TestGateway, path: &str, pointer: &str, expected: &str) -> Value {
    for _ in 0..100 {
        let body: Value = gw.portal(Method::GET, path).send().await.unwrap().json().await.unwrap();
        if body.pointer(pointer).and_then(Value::as_str) == Some(expected) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path}{pointer} never became {expected}");
}

#[tokio::test]
async fn a_wallet_that_revokes_is_disconnected_at_the_gateway_too() {
    let gw = TestGateway::demo().await;
    // Connected, then the wallet leaves.
    let pairing = create_pairing(&gw, "alice").await;
    let id = pairing.pairing_id.as_str();
    let wallet = Wallet::connect(&gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap();
    let code = code_of(&wallet, &gw).await;
    assert_eq!(confirm(&gw, id, &code).await.status(), 200);
    wallet.client.revoke(wallet.id()).await.unwrap();
    eventually(&gw, "/v1/subjects/alice/connections", "/connections/0/state", "revoked").await;
    assert_eq!(
        wallet.client.revoke(wallet.id()).await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("connection_revoked")
    );

    // Scanned, then the wallet leaves before the code is typed: the pairing ends.
    let pairing = create_pairing(&gw, "alice").await;
    let id = pairing.pairing_id.as_str();
    let wallet = Wallet::connect(&gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap();
    let code = code_of(&wallet, &gw).await;
    wallet.client.revoke(wallet.id()).await.unwrap();
    eventually(&gw, &format!("/v1/pairings/{id}"), "/state", "cancelled").await;
    assert_problem(confirm(&gw, id, &code).await, 409, "pairing_closed").await;
}

#[tokio::test]
async fn concurrent_guesses_test_at_most_three_codes() {
    let gw = Arc::new(TestGateway::demo().await);
    let pairing = create_pairing(&gw, "alice").await;
    let id = pairing.pairing_id.clone();
    let wallet = Wallet::connect(&gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap();
    let code: u32 = code_of(&wallet, &gw).await.parse().unwrap();
    let guesses = (1..=12).map(|i| {
        let (gw, id) = (gw.clone(), id.clone());
        let wrong = format!("{:06}", (code + i) % 1_000_000);
        tokio::spawn(async move {
            let response = confirm(&gw, &id, &wrong).await;
            response.json::<Value>().await.unwrap()["error_code"].as_str().unwrap().to_owned()
        })
    });
    let mut codes: Vec<String> =
        futures_util::future::join_all(guesses).await.into_iter().map(Result::unwrap).collect();
    codes.sort();
    let wrong = codes.iter().filter(|c| *c == "wrong_code").count();
    assert_eq!(wrong, 3, "{codes:?}");
    assert!(codes.iter().all(|c| c == "wrong_code" || c == "pairing_closed"), "{codes:?}");
    assert_eq!(status(&gw, &id).await.state, PairingState::Cancelled);
}

#[tokio::test]
async fn ids_that_cannot_exist_are_not_found_on_every_backend() {
    let gw = TestGateway::demo().await;
    for path in ["/v1/pairings/%00", "/v1/pairings/ABC", "/v1/pairings/%00/qr.svg"] {
        assert_problem(gw.portal(Method::GET, path).send().await.unwrap(), 404, "pairing_not_found").await;
    }
    let revoke = gw.portal(Method::DELETE, "/v1/subjects/alice/connections/%00").send().await.unwrap();
    assert_problem(revoke, 404, "connection_not_found").await;
    let wallet = {
        let pairing = create_pairing(&gw, "alice").await;
        Wallet::connect(&gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap()
    };
    assert_eq!(
        wallet.client.messages("%00", 0).await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("connection_not_found")
    );
    assert_eq!(
        wallet.client.ack(wallet.id(), "%00").await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("message_not_found")
    );
}

#[tokio::test]
async fn wallets_must_bring_fresh_usable_keys() {
    let gw = TestGateway::demo().await;
    let first = create_pairing(&gw, "alice").await;
    let wallet = Wallet::connect(&gw, first.connect_uri.as_deref().unwrap()).await.unwrap();
    // The same signing key on a second token: refused, and the token stays unspent.
    let second = create_pairing(&gw, "alice").await;
    let uri = ConnectUri::parse(second.connect_uri.as_deref().unwrap()).unwrap();
    let again = ConnectRequest {
        token: uri.token.encode(),
        encryption_jwk: EncryptionKeyPair::generate().public_jwk().clone(),
    };
    assert_eq!(
        wallet.client.connect(&again).await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("invalid_parameter")
    );
    let malformed =
        ConnectRequest { token: "short".into(), encryption_jwk: EncryptionKeyPair::generate().public_jwk().clone() };
    assert_eq!(
        wallet.client.connect(&malformed).await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("invalid_parameter")
    );
    // A low-order X25519 point: refused.
    let clock: Arc<dyn Clock> = Arc::new(gw.clock.clone());
    let fresh = RelayClient::new(&uri.relay, Arc::new(SigningKeyPair::generate()), clock).unwrap();
    let mut low_order = EncryptionKeyPair::generate().public_jwk().clone();
    low_order.x = gdpr_gateway::jose::b64::encode([0u8; 32]);
    low_order.kid = gdpr_gateway::jose::thumbprint(low_order.crv, &low_order.x);
    let bad = ConnectRequest { token: uri.token.encode(), encryption_jwk: low_order };
    assert_eq!(fresh.connect(&bad).await.unwrap_err().error_code().map(|c| c.as_str()), Some("invalid_parameter"));
    // A fresh signing key with the first connection's X25519 key: refused too, else two
    // organisations could link the wallet by its encryption key.
    let reused = ConnectRequest { token: uri.token.encode(), encryption_jwk: wallet.encryption.public_jwk().clone() };
    let refused = fresh.connect(&reused).await.unwrap_err();
    assert_eq!(refused.error_code().map(|c| c.as_str()), Some("invalid_parameter"), "{refused}");
    let good = ConnectRequest {
        token: uri.token.encode(),
        encryption_jwk: EncryptionKeyPair::generate().public_jwk().clone(),
    };
    fresh.connect(&good).await.unwrap();
}

/// A paired wallet and its connection, confirmed.
pub(crate) async fn bound_wallet(gw: &TestGateway, subject: &str) -> Wallet {
    let pairing = create_pairing(gw, subject).await;
    let wallet = Wallet::connect(gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap();
    let code = code_of(&wallet, gw).await;
    assert_eq!(confirm(gw, pairing.pairing_id.as_str(), &code).await.status(), 200);
    assert_eq!(
        wallet.next_message(gw.clock.now()).await.unwrap().body,
        Body::PairingConfirmed { subject: subject.into() }
    );
    wallet
}

impl Wallet {
    /// Seals `body` to the controller and posts it; returns the sealed envelope.
    pub(crate) async fn send(&self, gw: &TestGateway, body: Body) -> String {
        let message = Message::new(self.id(), gw.clock.now(), body);
        let to = &self.connected.controller.encryption_jwks.keys[0];
        let sealed = message::seal(self.client.key(), to, &message).unwrap();
        self.client.post(self.id(), &sealed).await.unwrap();
        sealed
    }
}

#[tokio::test]
async fn a_bound_wallet_downloads_its_own_signed_data_through_the_relay() {
    use gdpr_gateway::bundle::{self, Purpose};
    let gw = TestGateway::demo().await;
    let wallet = bound_wallet(&gw, "alice").await;
    let request = |id: &str, purpose, categories| Body::ExportRequest {
        request_id: id.into(),
        purpose,
        categories,
        format: None,
    };
    let sealed = wallet.send(&gw, request("r1", Purpose::Portability, None)).await;
    let Body::ExportBundle { request_id, bundle: token } = wallet.next_message(gw.clock.now()).await.unwrap().body
    else {
        panic!("expected a bundle");
    };
    assert_eq!(request_id, "r1");
    let verified = bundle::verify_jwt(token.as_bytes(), &wallet.connected.controller.jwks).unwrap();
    assert_eq!(verified.claims.sub, "alice");
    assert_eq!(verified.claims.iss, wallet.connected.controller.id);
    assert!(verified.claims.bundle.categories.iter().all(|c| c.info.portable), "portability: portable categories only");
    // Registered once the bundle is on its way, so just after the wallet has it.
    let mut register = Value::Null;
    for _ in 0..100 {
        register = gw.portal(Method::GET, "/v1/subjects/alice/exports").send().await.unwrap().json().await.unwrap();
        if register["exports"][0].is_object() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(register["exports"][0]["client_id"], format!("connection:{}", wallet.id()));

    // The same envelope again is a replay: dropped, no second answer.
    wallet.client.post(wallet.id(), &sealed).await.unwrap();
    wallet.send(&gw, request("r2", Purpose::Access, Some(vec!["nope".into()]))).await;
    match wallet.next_message(gw.clock.now()).await.unwrap().body {
        Body::RequestRefused { request_id, error_code, .. } => {
            assert_eq!((request_id.as_str(), error_code.as_str()), ("r2", "category_not_found"));
        }
        other => panic!("the replay was answered, or the refusal is missing: {other:?}"),
    }
    wallet.send(&gw, request("r3", Purpose::Portability, Some(vec!["service_notes".into()]))).await;
    match wallet.next_message(gw.clock.now()).await.unwrap().body {
        Body::RequestRefused { error_code, .. } => assert_eq!(error_code, "category_not_portable"),
        other => panic!("{other:?}"),
    }

    // Bob's wallet gets bob's data only; after revocation nothing more is served.
    let bob = bound_wallet(&gw, "bob").await;
    bob.send(&gw, request("b1", Purpose::Access, None)).await;
    let Body::ExportBundle { bundle: token, .. } = bob.next_message(gw.clock.now()).await.unwrap().body else {
        panic!()
    };
    assert_eq!(bundle::verify_jwt(token.as_bytes(), &bob.connected.controller.jwks).unwrap().claims.sub, "bob");
    let path = format!("/v1/subjects/bob/connections/{}", bob.id());
    assert_eq!(gw.portal(Method::DELETE, &path).send().await.unwrap().status(), 204);
    assert_eq!(bob.next_message(gw.clock.now()).await.unwrap().body, Body::ConnectionRevoked {});
    let message = Message::new(bob.id(), gw.clock.now(), request("b2", Purpose::Access, None));
    let sealed = message::seal(bob.client.key(), &bob.connected.controller.encryption_jwks.keys[0], &message).unwrap();
    assert_eq!(
        bob.client.post(bob.id(), &sealed).await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("connection_revoked")
    );
}
