//! The relay's rules over real HTTP (embedded in the demo gateway under `/relay`), and its
//! storage read raw: proofs, ownership, envelope checks, and no plaintext at rest.

use std::sync::Arc;

use gdpr_gateway::clock::Clock;
use gdpr_gateway::jose::{Jwks, SigningKeyPair, b64, dpop, jwe};
use gdpr_gateway::protocol::relay_wire::{MAX_ENVELOPE_BYTES, RegisterToken};
use gdpr_gateway::protocol::trust_list::TrustList;
use gdpr_gateway::relay_client::RelayClient;
use gdpr_gateway::store::Db;
use reqwest::Method;

use crate::common::{T0, TestGateway, assert_problem};
use crate::pairing::{Wallet, create_pairing};

fn relay_url(gw: &TestGateway) -> String {
    format!("{}/relay", gw.url)
}

/// A raw request to the relay with a proof the caller controls.
async fn with_proof(gw: &TestGateway, method: Method, path: &str, proof: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, format!("{}{path}", relay_url(gw)))
        .header(dpop::HEADER, proof)
        .send()
        .await
        .unwrap()
}

async fn paired_wallet(gw: &TestGateway) -> Wallet {
    let pairing = create_pairing(gw, "alice").await;
    let wallet = Wallet::connect(gw, pairing.connect_uri.as_deref().unwrap()).await.unwrap();
    wallet.next_message(gw.clock.now()).await.unwrap();
    wallet
}

#[tokio::test]
async fn proofs_must_be_fresh_unused_and_for_this_request() {
    let gw = TestGateway::demo().await;
    let key = SigningKeyPair::generate();
    let url = format!("{}/v1/inbox", relay_url(&gw));

    let missing = reqwest::Client::new().get(&url).send().await.unwrap();
    let body = assert_problem(missing, 401, "invalid_proof").await;
    assert!(body["detail"].as_str().unwrap().contains("DPoP"));

    // A key no trust list names is authenticated, but is no controller.
    let proof = dpop::sign(&key, "GET", &url, T0);
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", &proof).await, 403, "not_a_controller").await;
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", &proof).await, 401, "proof_replayed").await;

    let stale = dpop::sign(&key, "GET", &url, T0 - 61);
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", &stale).await, 401, "stale_proof").await;
    let future = dpop::sign(&key, "GET", &url, T0 + 61);
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", &future).await, 401, "stale_proof").await;
    let skewed = dpop::sign(&key, "GET", &url, T0 - 59);
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", &skewed).await, 403, "not_a_controller").await;

    let wrong_htu = dpop::sign(&key, "GET", "https://elsewhere.example/relay/v1/inbox", T0);
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", &wrong_htu).await, 401, "invalid_proof").await;
    let wrong_method = dpop::sign(&key, "POST", &url, T0);
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", &wrong_method).await, 401, "invalid_proof").await;
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", "not.a.proof").await, 401, "invalid_proof").await;
    let huge = "a".repeat(dpop::MAX_PROOF_BYTES + 1);
    assert_problem(with_proof(&gw, Method::GET, "/v1/inbox", &huge).await, 401, "invalid_proof").await;

    // A wallet key cannot register tokens: only listed controllers can.
    let client = RelayClient::new(&relay_url(&gw), Arc::new(key), Arc::new(gw.clock.clone())).unwrap();
    let register = RegisterToken { token_sha256: "ab".repeat(32), expires_at: T0 + 60 };
    assert_eq!(
        client.register_token(&register).await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("not_a_controller")
    );
}

#[tokio::test]
async fn a_wallet_reaches_only_its_own_connection() {
    let gw = TestGateway::demo().await;
    let (alice, other) = (paired_wallet(&gw).await, paired_wallet(&gw).await);
    for result in [
        other.client.messages(alice.id(), 0).await.map(|_| ()),
        other.client.connection(alice.id()).await.map(|_| ()),
        other.client.revoke(alice.id()).await,
        other.client.ack(alice.id(), "x").await,
        other.client.post(alice.id(), &envelope(&alice)).await.map(|_| ()),
    ] {
        assert_eq!(result.unwrap_err().error_code().map(|c| c.as_str()), Some("connection_not_found"));
    }
    assert_eq!(
        alice.client.ack(alice.id(), "nope").await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("message_not_found")
    );
    assert_eq!(alice.client.connection(alice.id()).await.unwrap().connection_id, alice.id());
    // A wallet key is no controller: the inbox is not its.
    assert_eq!(alice.client.inbox(0).await.unwrap_err().error_code().map(|c| c.as_str()), Some("not_a_controller"));
}

fn envelope(wallet: &Wallet) -> String {
    let controller_key = &wallet.connected.controller.encryption_jwks.keys[0];
    jwe::encrypt(controller_key, "gdpr-msg+jwt", b"opaque to the relay").unwrap()
}

#[tokio::test]
async fn mailboxes_take_only_capped_jwe_envelopes() {
    let gw = TestGateway::demo().await;
    let wallet = paired_wallet(&gw).await;
    let path = format!("/v1/connections/{}/messages", wallet.id());
    let url = format!("{}{path}", relay_url(&gw));
    let post = |body: Vec<u8>, media_type: &'static str| {
        let proof = dpop::sign(wallet.client.key(), "POST", &url, gw.clock.now());
        reqwest::Client::new()
            .post(&url)
            .header(dpop::HEADER, proof)
            .header("content-type", media_type)
            .body(body)
            .send()
    };
    assert_problem(post(b"{\"hello\":1}".to_vec(), "application/jose").await.unwrap(), 422, "invalid_envelope").await;
    let jws = gdpr_gateway::jose::jws::sign(wallet.client.key(), "x", b"{}");
    assert_problem(post(jws.into_bytes(), "application/jose").await.unwrap(), 422, "invalid_envelope").await;
    let zip = format!(
        "{}..{}.{}.{}",
        b64::encode(
            r#"{"alg":"ECDH-ES","enc":"A256GCM","zip":"DEF","epk":{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#
        ),
        b64::encode([0u8; 12]),
        b64::encode(b"x"),
        b64::encode([0u8; 16])
    );
    assert_problem(post(zip.into_bytes(), "application/jose").await.unwrap(), 422, "invalid_envelope").await;
    assert_problem(post(envelope(&wallet).into_bytes(), "text/plain").await.unwrap(), 415, "unsupported_media_type")
        .await;
    let oversized = vec![b'A'; MAX_ENVELOPE_BYTES + 10];
    assert_problem(post(oversized, "application/jose").await.unwrap(), 413, "payload_too_large").await;
    let posted = wallet.client.post(wallet.id(), &envelope(&wallet)).await.unwrap();
    assert!(posted.expires_at > gw.clock.now());
    let too_long = format!("{path}?wait=31");
    let proof = dpop::sign(wallet.client.key(), "GET", &url, gw.clock.now());
    assert_problem(with_proof(&gw, Method::GET, &too_long, &proof).await, 400, "invalid_parameter").await;
}

/// Every envelope body the relay holds.
const BODIES: &str = "SELECT body FROM relay_messages";
/// Every text column of the relay's tables, one string per row.
const EVERYTHING: &str = "SELECT controller_id || token_sha256 FROM relay_connect_tokens
     UNION ALL SELECT id || controller_id || token_sha256 || wallet_signing_jwk || wallet_encryption_jwk FROM relay_connections
     UNION ALL SELECT id || connection_id || controller_id || coalesce(body, '') FROM relay_messages
     UNION ALL SELECT jkt || jti FROM relay_proof_ids";

#[tokio::test]
async fn the_relay_stores_no_plaintext_and_no_subject() {
    let gw = TestGateway::demo().await;
    let wallet = paired_wallet(&gw).await;
    // Leave messages in the mailboxes. The gateway's inbox poller takes the wallet's soon
    // after they arrive, so post until one is seen at rest.
    let mut bodies: Vec<Option<String>> = Vec::new();
    let mut everything: Vec<String> = Vec::new();
    for _ in 0..20 {
        wallet.client.post(wallet.id(), &envelope(&wallet)).await.unwrap();
        (bodies, everything) = match &gw.gateway.db() {
            Db::Sqlite(pool) => (
                sqlx::query_scalar(BODIES).fetch_all(pool).await.unwrap(),
                sqlx::query_scalar(EVERYTHING).fetch_all(pool).await.unwrap(),
            ),
            Db::Postgres(pool) => (
                sqlx::query_scalar(BODIES).fetch_all(pool).await.unwrap(),
                sqlx::query_scalar(EVERYTHING).fetch_all(pool).await.unwrap(),
            ),
            _ => unreachable!("two backends"),
        };
        if !bodies.is_empty() {
            break;
        }
    }
    assert!(!bodies.is_empty());
    for body in bodies.into_iter().flatten() {
        jwe::check_shape(body.as_bytes(), MAX_ENVELOPE_BYTES).unwrap();
        let ciphertext = b64::decode(body.split('.').nth(3).unwrap()).unwrap();
        let text = String::from_utf8_lossy(&ciphertext);
        assert!(!text.contains("opaque") && !text.contains("pairing"), "plaintext at rest: {text}");
    }
    assert!(everything.iter().all(|row| !row.contains("alice")), "the relay learnt the subject_ref");
}

#[tokio::test]
async fn the_trust_list_names_this_gateway_and_verifies_under_the_operator_key() {
    let gw = TestGateway::demo().await;
    let token = gw.get("/relay/v1/trust-list").send().await.unwrap();
    assert_eq!(token.headers()["content-type"], "application/jwt");
    let token = token.text().await.unwrap();
    let operator = gdpr_gateway::serve::operator_key(&gw.dir.join(gdpr_gateway::serve::OPERATOR_KEY_FILE)).unwrap();
    let pinned = Jwks { keys: vec![operator.public_jwk().clone()] };
    let list = TrustList::verify(token.as_bytes(), &pinned, gw.clock.now()).unwrap();
    let entry = list.controller(&gw.gateway.notice().controller.id).unwrap();
    assert_eq!(entry.jwks, gw.gateway.keyring().jwks());
    assert_eq!(entry.encryption_jwks, gw.gateway.keyring().encryption_jwks());
    let page = gw.get(&format!("/relay/c/{}", "A".repeat(43))).send().await.unwrap();
    assert_eq!(page.status(), 404, "a token never registered");
    assert!(!page.text().await.unwrap().contains("gdpr-wallet://connect?relay="));
    let bad = gw.get("/relay/c/short").send().await.unwrap();
    assert_problem(bad, 400, "invalid_parameter").await;
}

/// The SSE form of a mailbox: each item once, in order, while unacknowledged; `revoked` at
/// the end; and a client that goes away leaves nothing waiting behind.
#[tokio::test]
async fn the_event_stream_delivers_items_then_revocation_and_lets_go() {
    use futures_util::StreamExt;
    let gw = TestGateway::demo().await;
    let wallet = paired_wallet(&gw).await;
    let controller_key = Arc::new(gw.gateway.keyring().active_signing().clone());
    let controller = RelayClient::new(&relay_url(&gw), controller_key, Arc::new(gw.clock.clone())).unwrap();
    let sealed = |text: &str| jwe::encrypt(wallet.encryption.public_jwk(), "gdpr-msg+jwt", text.as_bytes()).unwrap();
    let first = controller.post(wallet.id(), &sealed("one")).await.unwrap();

    let path = format!("/v1/connections/{}/messages/stream", wallet.id());
    let url = format!("{}{path}", relay_url(&gw));
    let proof = dpop::sign(wallet.client.key(), "GET", &url, gw.clock.now());
    let response = with_proof(&gw, Method::GET, &path, &proof).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut next_event = async || loop {
        if let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if block.contains("event:") {
                return block;
            }
            continue;
        }
        let chunk = body.next().await.expect("stream ended").unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    };
    let one = next_event().await;
    assert!(one.contains("event: message") && one.contains(&first.id), "{one}");
    let second = controller.post(wallet.id(), &sealed("two")).await.unwrap();
    let two = next_event().await;
    assert!(two.contains(&second.id) && !two.contains(&first.id), "{two}");
    for id in [&first.id, &second.id] {
        wallet.client.ack(wallet.id(), id).await.unwrap();
    }
    controller.revoke(wallet.id()).await.unwrap();
    assert!(next_event().await.contains("event: revoked"));
    drop(body);

    // A stream whose client reads nothing and then leaves: its wait is released.
    let other = paired_wallet(&gw).await;
    let path = format!("/v1/connections/{}/messages/stream", other.id());
    let proof = dpop::sign(other.client.key(), "GET", &format!("{}{path}", relay_url(&gw)), gw.clock.now());
    let silent = with_proof(&gw, Method::GET, &path, &proof).await;
    assert_eq!(silent.status(), 200);
    drop(silent);
    for _ in 0..100 {
        // At most the gateway's own inbox long-poll may wait.
        if gw.relay.hub.keys_waited_on() <= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gw.relay.hub.keys_waited_on() <= 1, "a departed client left a waiter behind");
}

#[tokio::test]
async fn connect_is_rate_limited_per_token_and_per_address() {
    use gdpr_gateway::protocol::relay_wire::{ConnectRequest, ConnectToken};
    use gdpr_gateway::relay::{CONNECT_PER_IP, CONNECT_PER_TOKEN};
    let gw = TestGateway::demo().await;
    let clock: Arc<dyn Clock> = Arc::new(gw.clock.clone());
    let attempt = |token: String| {
        let client = RelayClient::new(&relay_url(&gw), Arc::new(SigningKeyPair::generate()), clock.clone()).unwrap();
        let encryption_jwk = gdpr_gateway::jose::EncryptionKeyPair::generate().public_jwk().clone();
        async move { client.connect(&ConnectRequest { token, encryption_jwk }).await.map(|_| ()) }
    };
    // One token: the first attempt wins, the next ones lose, and past the limit they are refused.
    let token = ConnectToken::generate().encode();
    for _ in 0..CONNECT_PER_TOKEN {
        assert_eq!(
            attempt(token.clone()).await.unwrap_err().error_code().map(|c| c.as_str()),
            Some("connect_token_unknown")
        );
    }
    assert_eq!(attempt(token).await.unwrap_err().error_code().map(|c| c.as_str()), Some("rate_limited"));
    // One address: every attempt counts, whatever the token.
    for _ in CONNECT_PER_TOKEN + 1..CONNECT_PER_IP {
        let code = attempt(ConnectToken::generate().encode()).await.unwrap_err();
        assert_eq!(code.error_code().map(|c| c.as_str()), Some("connect_token_unknown"));
    }
    let url = format!("{}/v1/connect", relay_url(&gw));
    let proof = dpop::sign(&SigningKeyPair::generate(), "POST", &url, gw.clock.now());
    let response = reqwest::Client::new().post(&url).header(dpop::HEADER, proof).body("{}").send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(response, 429, "rate_limited").await;
    // The window turns.
    gw.clock.advance(60);
    assert_eq!(
        attempt(ConnectToken::generate().encode()).await.unwrap_err().error_code().map(|c| c.as_str()),
        Some("connect_token_unknown")
    );
}

/// Only controllers register connect tokens, and a stranger learns that whatever it sends:
/// its malformed body is not looked at first.
#[tokio::test]
async fn a_stranger_registering_a_token_is_refused_before_its_body_is_read() {
    let gw = TestGateway::demo().await;
    let url = format!("{}/v1/connect-tokens", relay_url(&gw));
    for (body, media_type) in [("{\"token_sha256\":", "application/json"), ("{}", "text/plain")] {
        let proof = dpop::sign(&SigningKeyPair::generate(), "POST", &url, gw.clock.now());
        let response = reqwest::Client::new()
            .post(&url)
            .header(dpop::HEADER, proof)
            .header("content-type", media_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "not_a_controller").await;
    }
}
