//! The person's whole story over real HTTP: two gateways and a relay on 127.0.0.1 (the
//! framework `gdpr-gateway demo` runs), the core wallet the SDK wraps, and the portals.
//! Download at one organisation, forward to the other, import there; and every way that
//! must fail, failing.

use std::path::Path;
use std::sync::Arc;

use gdpr_gateway::bundle::{self, Purpose};
use gdpr_gateway::clock::Clock;
use gdpr_gateway::jose::{EncryptionKeyPair, SigningKeyPair};
use gdpr_gateway::protocol::message::{self, Body, Message};
use gdpr_gateway::protocol::relay_wire::OpenConnection;
use gdpr_gateway::relay_client::RelayClient;
use gdpr_gateway::wallet::WalletError;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::two_organisations::{WAIT, pair, portal};
use crate::common::{TwoOrganisations, assert_problem};

/// A wallet that skips every check the SDK makes: it opens a connection to a controller
/// and sends whatever a test gives it, as a broken or hostile wallet would.
struct UncheckedWallet {
    client: RelayClient,
    encryption: EncryptionKeyPair,
    opened: gdpr_gateway::protocol::relay_wire::Connected,
}

impl UncheckedWallet {
    async fn open(orgs: &TwoOrganisations, controller_id: &str) -> Self {
        let key = Arc::new(SigningKeyPair::generate());
        let client = RelayClient::new(&orgs.framework.relay_url, key, Arc::new(orgs.clock.clone())).unwrap();
        let encryption = EncryptionKeyPair::generate();
        let request =
            OpenConnection { controller_id: controller_id.to_owned(), encryption_jwk: encryption.public_jwk().clone() };
        let opened = client.open_connection(&request).await.unwrap();
        Self { client, encryption, opened }
    }

    /// Sends `body` and returns the controller's answer, opened and verified.
    async fn ask(&self, orgs: &TwoOrganisations, body: Body) -> Body {
        let id = &self.opened.connection_id;
        let sealed = message::seal(
            self.client.key(),
            &self.opened.controller.encryption_jwks.keys[0],
            &Message::new(id, orgs.clock.now(), body),
        )
        .unwrap();
        self.client.post(id, &sealed).await.unwrap();
        loop {
            if let Some(item) = self.client.messages(id, WAIT).await.unwrap().into_iter().next() {
                let envelope = item.body.unwrap();
                let keys = &self.opened.controller.jwks;
                return message::open(envelope.as_bytes(), &[&self.encryption], keys, id, orgs.clock.now())
                    .unwrap()
                    .body;
            }
        }
    }
}

/// Every byte the relay wrote to disk, deleted rows included (SQLite leaves them in free
/// pages): what it ever held in the clear would be here.
fn relay_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir.join("relay")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(path).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_bundle_downloaded_at_one_organisation_is_forwarded_and_imported_at_another() {
    let orgs = TwoOrganisations::start().await;
    let (a, b) = (orgs.a(), orgs.b());
    let wallet = orgs.wallet("wallet");
    let alice = pair(a, &wallet, "alice").await;

    let catalogue = wallet.catalogue(alice.clone(), WAIT).await.unwrap();
    assert_eq!(catalogue.controller_id, a.gateway.notice().controller.id);
    assert_eq!(catalogue.categories.len(), a.gateway.notice().categories.len());
    assert!(catalogue.categories.iter().any(|c| c.id == "medical_priority" && c.special_category));

    let bundle = wallet.request_export(alice.clone(), Purpose::Portability, None, WAIT).await.unwrap();
    assert_eq!((bundle.issuer.as_str(), bundle.subject.as_str()), (a.gateway.notice().controller.id.as_str(), "alice"));

    let b_id = b.gateway.notice().controller.id.clone();
    let receipt = wallet.forward(bundle.token.clone(), b_id.clone(), WAIT).await.unwrap();
    assert_eq!(receipt.controller_id, b_id);
    let listed = portal(b).imports().await.unwrap().imports;
    assert_eq!(listed.len(), 1);
    let entry = &listed[0];
    assert_eq!(entry.import_id, receipt.import_id);
    assert_eq!(entry.issuer, bundle.issuer);
    assert_eq!(entry.issuer_subject, "alice");
    assert_eq!(entry.bundle_id, bundle.bundle_id);
    assert_eq!(entry.subject_ref, None, "B knows no account for a wallet it never paired with");
    let detail = portal(b).import(&receipt.import_id).await.unwrap();
    assert_eq!(detail.bundle, bundle.token, "stored byte for byte, signature intact");
    // Whoever holds the import can check it with the issuer's published keys alone.
    assert!(bundle::verify_jwt(bundle.token.as_bytes(), &a.gateway.keyring().jwks()).is_ok());

    // The same bundle again names the first import; nothing is stored twice.
    let again = wallet.forward(bundle.token.clone(), b_id.clone(), WAIT).await.unwrap();
    assert_eq!(again.import_id, receipt.import_id);
    assert_eq!(portal(b).imports().await.unwrap().imports.len(), 1);

    // The relay carried all of it and can read none of it.
    let relay = relay_bytes(orgs.dir.path());
    let payload = bundle.token.split('.').nth(1).unwrap();
    for plain in [b"alice@example.org".as_slice(), b"Keizersgracht", &payload.as_bytes()[..64]] {
        assert!(!contains(&relay, plain), "the relay holds {:?} in the clear", String::from_utf8_lossy(plain));
    }
    orgs.stop().await;
}

#[tokio::test]
async fn forwards_that_cannot_be_trusted_are_refused_and_nothing_is_stored() {
    let orgs = TwoOrganisations::start().await;
    let (a, b) = (orgs.a(), orgs.b());
    let wallet = orgs.wallet("wallet");
    let alice = pair(a, &wallet, "alice").await;
    let bundle = wallet.request_export(alice.clone(), Purpose::Access, None, WAIT).await.unwrap();
    let b_id = b.gateway.notice().controller.id.clone();

    // An organisation outside the trust list: the relay has no such controller.
    let unknown = wallet.forward(bundle.token.clone(), "https://nobody.example".into(), WAIT).await.unwrap_err();
    assert_eq!(unknown, WalletError::UnknownController("https://nobody.example".into()));

    // Tampered: the wallet knows the issuer's keys and refuses before sending.
    let mut tampered = bundle.token.clone().into_bytes();
    let at = bundle.token.find('.').unwrap() + 20;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let refused = wallet.forward(tampered.clone(), b_id.clone(), WAIT).await.unwrap_err();
    assert!(matches!(refused, WalletError::BadBundle(_)), "{refused:?}");

    // Tampered, sent by a wallet that does not check: B refuses it with the reason.
    let unchecked = UncheckedWallet::open(&orgs, &b_id).await;
    let answer = unchecked.ask(&orgs, Body::ImportOffer { request_id: "t1".into(), bundle: tampered }).await;
    match answer {
        Body::RequestRefused { request_id, error_code, .. } => {
            assert_eq!((request_id.as_str(), error_code.as_str()), ("t1", "signature_invalid"));
        }
        other => panic!("a tampered bundle was not refused: {other:?}"),
    }

    // Signed by a key no organisation of the trust list holds, claiming A as issuer.
    let forger = SigningKeyPair::generate();
    let mut claims = bundle::verify_jwt(bundle.token.as_bytes(), &a.gateway.keyring().jwks()).unwrap().claims;
    claims.jti = "forged".into();
    let forged = bundle::sign_jwt(&claims, &forger).unwrap();
    match wallet.forward(forged, b_id.clone(), WAIT).await.unwrap_err() {
        WalletError::Refused { code, .. } => assert_eq!(code.as_str(), "issuer_not_trusted"),
        other => panic!("{other:?}"),
    }
    assert!(portal(b).imports().await.unwrap().imports.is_empty(), "nothing refused was stored");
    orgs.stop().await;
}

#[tokio::test]
async fn a_wallet_gets_only_its_own_account_and_nothing_once_revoked() {
    let orgs = TwoOrganisations::start().await;
    let a = orgs.a();
    let wallet = orgs.wallet("wallet");
    let alice = pair(a, &wallet, "alice").await;
    let bob = pair(a, &wallet, "bob").await;
    let bobs = wallet.request_export(bob.clone(), Purpose::Access, None, WAIT).await.unwrap();
    assert_eq!(bobs.subject, "bob");
    // Same issuer, same keys, another account: not a bundle of alice's connection.
    match wallet.verify(alice.clone(), bobs.token.clone()).unwrap_err() {
        WalletError::BadBundle(detail) => assert!(detail.contains("\"bob\""), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(wallet.verify(bob.clone(), bobs.token).unwrap().subject, "bob");

    wallet.revoke(alice.clone()).await.unwrap();
    assert_eq!(
        wallet.request_export(alice.clone(), Purpose::Access, None, WAIT).await.unwrap_err(),
        WalletError::Revoked
    );
    assert_eq!(wallet.catalogue(alice.clone(), WAIT).await.unwrap_err(), WalletError::Revoked);
    let state = |id: &str| wallet.connections().unwrap().into_iter().find(|c| c.connection_id == id).unwrap().state;
    assert_eq!(state(&alice), gdpr_gateway::wallet::ConnectionState::Revoked);
    assert_eq!(state(&bob), gdpr_gateway::wallet::ConnectionState::Connected);
    orgs.stop().await;
}

#[tokio::test]
async fn the_import_register_is_for_the_portal_only() {
    let orgs = TwoOrganisations::start().await;
    let b = orgs.b();
    let anonymous = reqwest::Client::new().get(format!("{}/v1/imports", b.url)).send().await.unwrap();
    assert_problem(anonymous, 401, "missing_bearer_token").await;
    assert_problem(
        portal(b).request(Method::GET, "/v1/imports?limit=0").send().await.unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
    assert_problem(
        portal(b).request(Method::GET, "/v1/imports?before=x").send().await.unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
    let missing = portal(b).request(Method::GET, &format!("/v1/imports/{}", "0".repeat(32))).send().await.unwrap();
    assert_problem(missing, 404, "import_not_found").await;
    assert_problem(portal(b).request(Method::GET, "/v1/imports/%00").send().await.unwrap(), 404, "import_not_found")
        .await;
    orgs.stop().await;
}

/// `gdpr-gateway demo` tells the story end to end and leaves a bundle that verifies.
#[tokio::test]
async fn the_demo_tells_the_whole_story() {
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("demo-out");
    let mut told = Vec::new();
    let outcome = gdpr_gateway::demo::story::run(&mut told, &work.path().join("work"), &out_dir).await.unwrap();
    let told = String::from_utf8(told).unwrap();
    for step in ["1. ", "4. ", "6. ", "8. ", "13. ", "Refused: the bundle does not verify", "gdpr-gateway verify"] {
        assert!(told.contains(step), "missing {step:?} in:\n{told}");
    }

    let token = std::fs::read_to_string(&outcome.bundle_path).unwrap();
    assert_eq!(outcome.imports["imports"][0]["import_id"], outcome.import_id.as_str());
    assert_eq!(outcome.imports["imports"][0]["bundle_id"], outcome.bundle_id.as_str());
    let list = std::fs::read(out_dir.join("trust-list.jwt")).unwrap();
    let operator: gdpr_gateway::jose::Jwks = serde_json::from_slice(
        &std::fs::read(out_dir.join(gdpr_gateway::demo::framework::OPERATOR_JWKS_FILE)).unwrap(),
    )
    .unwrap();
    let list =
        gdpr_gateway::protocol::trust_list::TrustList::verify(&list, &operator, gdpr_gateway::clock::SystemClock.now())
            .unwrap();
    let verified = bundle::verify_jwt(token.as_bytes(), &list.signing_keys()).unwrap();
    list.check_issuer(&verified.kid, &verified.claims.iss).unwrap();
    // The printed check runs as printed, judged as of the demo, so it outlives the list.
    let printed = told.lines().find(|l| l.trim_start().starts_with("gdpr-gateway verify")).unwrap();
    let args: Vec<&str> = printed.split_whitespace().skip(1).collect();
    assert!(args.contains(&"--at"), "{printed}");
    let out = tokio::task::spawn_blocking({
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        move || std::process::Command::new(env!("CARGO_BIN_EXE_gdpr-gateway")).args(args).output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{printed}: {}", String::from_utf8_lossy(&out.stderr));
    // The fresh bundle holds the corrected record the receipt names, with the new street.
    assert!(outcome.correction.confirmed, "{:?}", outcome.correction.records);
    let corrected = bundle::verify_jwt(outcome.correction.bundle.token.as_bytes(), &list.signing_keys()).unwrap();
    let streets: Vec<&serde_json::Value> = corrected.claims.bundle.categories[0]
        .records
        .iter()
        .filter_map(|r| r.get("address").and_then(|a| a.get("street")))
        .collect();
    assert_eq!(streets, [gdpr_gateway::demo::story::NEW_STREET]);
}

/// Organisation A with one portable category in a file source under `big-data`.
const BIG_CONFIG: &str = r#"
[controller]
id = "https://big.gdpr-gateway.example"
name = "Big Data B.V."
dpo_contact = "privacy@big.example"

[controller.supervisory_authority]
name = "Autoriteit Persoonsgegevens"
url = "https://autoriteitpersoonsgegevens.nl"

[[sources]]
id = "meters"
type = "file"
name = "Smart meter archive"
path = "big-data"

[[categories]]
id = "readings"
name = "Smart meter readings"
purposes = ["Billing"]
legal_basis = "contract"
retention = "P2Y"
source = "meters"
portable = true
"#;

/// Writes about `bytes` of readings for `subject` into A's file source.
/// Organisation A on [`BIG_CONFIG`], its file source's directory made before it starts.
async fn big_data_organisations() -> TwoOrganisations {
    TwoOrganisations::start_with_setup(BIG_CONFIG, |a| std::fs::create_dir_all(a.join("big-data")).unwrap()).await
}

fn write_readings(orgs: &TwoOrganisations, subject: &str, bytes: usize) -> usize {
    let dir = orgs.dir.path().join("a").join("big-data").join(subject);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::new();
    let mut n = 0;
    while text.len() < bytes {
        text.push_str(&format!("{{\"meter\":\"E-{subject}-7731\",\"at\":{n},\"kwh\":{}.{:03}}}\n", n % 97, n % 1000));
        n += 1;
    }
    std::fs::write(dir.join("readings.jsonl"), &text).unwrap();
    n
}

#[tokio::test]
async fn a_bundle_larger_than_a_message_travels_as_a_blob_both_ways() {
    let orgs = big_data_organisations().await;
    let (a, b) = (orgs.a(), orgs.b());
    let records = write_readings(&orgs, "carol", 1024 * 1024);
    let wallet = orgs.wallet("wallet");
    let carol = pair(a, &wallet, "carol").await;

    let bundle = wallet.request_export(carol.clone(), Purpose::Portability, None, WAIT).await.unwrap();
    assert!(!message::bundle_fits(bundle.token.len()), "{} bytes should not fit a message", bundle.token.len());
    let verified = bundle::verify_jwt(bundle.token.as_bytes(), &a.gateway.keyring().jwks()).unwrap();
    assert_eq!(verified.claims.bundle.categories[0].records.len(), records);

    let receipt = wallet.forward(bundle.token.clone(), b.gateway.notice().controller.id.clone(), WAIT).await.unwrap();
    let detail = portal(b).import(&receipt.import_id).await.unwrap();
    assert_eq!(detail.bundle, bundle.token);

    // Fetched blobs are deleted at once; the relay never held a readable byte of them.
    let pending: i64 = match orgs.framework.relay.store.db() {
        gdpr_gateway::store::Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM relay_blob_chunks").fetch_one(pool).await.unwrap()
        }
        gdpr_gateway::store::Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM relay_blob_chunks").fetch_one(pool).await.unwrap()
        }
        _ => unreachable!("two backends"),
    };
    assert_eq!(pending, 0);
    let relay = relay_bytes(orgs.dir.path());
    assert!(!contains(&relay, b"E-carol-7731"), "the relay holds a reading in the clear");
    orgs.stop().await;
}

#[tokio::test]
async fn a_blob_that_does_not_match_its_message_is_refused() {
    let orgs = big_data_organisations().await;
    let b = orgs.b();
    write_readings(&orgs, "carol", 512 * 1024);
    let wallet = orgs.wallet("wallet");
    let carol = pair(orgs.a(), &wallet, "carol").await;
    let bundle = wallet.request_export(carol, Purpose::Access, None, WAIT).await.unwrap();

    // A wallet that lies about the hash of the blob it uploaded.
    let unchecked = UncheckedWallet::open(&orgs, &b.gateway.notice().controller.id).await;
    let (client, connection) = (&unchecked.client, &unchecked.opened.connection_id);
    let mut blob =
        gdpr_gateway::relay_client::blob_transfer::send(client, connection, bundle.token.into_bytes()).await.unwrap();
    blob.sha256 = "0".repeat(64);
    let answer = unchecked.ask(&orgs, Body::ImportOfferBlob { request_id: "x".into(), blob }).await;
    match answer {
        Body::RequestRefused { error_code, detail, .. } => {
            assert_eq!(error_code, "digest_mismatch", "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(portal(b).imports().await.unwrap().imports.is_empty());

    // B deleted the blob it could not open, so the one blob a forwarding connection may
    // hold is free again; a second one is refused.
    let mine = gdpr_gateway::relay_client::blob_transfer::send(client, connection, b"hello".to_vec()).await.unwrap();
    let second =
        gdpr_gateway::relay_client::blob_transfer::send(client, connection, b"again".to_vec()).await.unwrap_err();
    assert_eq!(second.error_code().map(|c| c.as_str()), Some("mailbox_full"));
    // Only the side a blob is for may fetch it; anyone else learns nothing of it.
    let own = client.blob(connection, &mine.blob_id).await.unwrap_err();
    assert_eq!(own.error_code().map(|c| c.as_str()), Some("not_found"));
    let stranger =
        RelayClient::new(&orgs.framework.relay_url, Arc::new(SigningKeyPair::generate()), Arc::new(orgs.clock.clone()))
            .unwrap();
    let theirs = stranger.blob(connection, &mine.blob_id).await.unwrap_err();
    assert_eq!(theirs.error_code().map(|c| c.as_str()), Some("connection_not_found"));
    let url = format!("{}/v1/connections/{connection}/blobs", orgs.framework.relay_url);
    let upload = |content_type: &'static str, body: reqwest::Body| {
        reqwest::Client::new()
            .post(&url)
            .header("dpop", gdpr_gateway::jose::dpop::sign(client.key(), "POST", &url, orgs.clock.now()))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let wrong_type = upload("text/plain", "x".into()).await.unwrap();
    assert_problem(wrong_type, 415, "unsupported_media_type").await;
    // Without Content-Length a blob cannot be weighed against the storage quota.
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(vec![1u8; 10])]);
    let chunked = upload("application/octet-stream", reqwest::Body::wrap_stream(stream)).await.unwrap();
    assert_problem(chunked, 400, "invalid_parameter").await;
    orgs.stop().await;
}

#[tokio::test]
async fn large_data_comes_as_a_zip_package_streamed_to_a_file_and_verified_there() {
    let orgs = big_data_organisations().await;
    let a = orgs.a();
    let records = write_readings(&orgs, "carol", 2 * 1024 * 1024);
    let wallet = orgs.wallet("wallet");
    let carol = pair(a, &wallet, "carol").await;
    let path = orgs.dir.path().join("carol.zip");
    let package =
        wallet.download_package(carol.clone(), Purpose::Access, None, path.display().to_string(), WAIT).await.unwrap();
    assert_eq!(
        (package.subject.as_str(), package.categories.as_slice()),
        ("carol", ["readings".to_owned()].as_slice())
    );
    // Checked again here with the issuer's published keys alone, as any verifier would.
    let file = std::fs::File::open(&path).unwrap();
    let verified = bundle::package::verify_package(file, &a.gateway.keyring().jwks(), &mut |_| {}).unwrap();
    assert_eq!(verified.claims.package.categories[0].records, records);
    let register = portal(a).exports("carol").await.unwrap().exports;
    assert_eq!((register[0].format.as_str(), register[0].client_id.clone()), ("zip", format!("connection:{carol}")));
    // The file is the person's: the wallet never overwrites one.
    let again = wallet.download_package(carol, Purpose::Access, None, path.display().to_string(), WAIT).await;
    assert!(matches!(again, Err(WalletError::Storage(_))), "{again:?}");
    orgs.stop().await;
}

#[tokio::test]
async fn garbage_and_replays_are_refused_with_a_reason_and_revocations_arrive_as_events() {
    let orgs = TwoOrganisations::start().await;
    let a = orgs.a();
    let wallet = orgs.wallet("wallet");
    let alice = pair(a, &wallet, "alice").await;
    // The organisation's side of the relay, as a controller: whatever it posts reaches
    // the wallet's mailbox, so it stands in for a hostile or broken sender.
    let controller = &a.gateway.relay();
    let not_a_message = gdpr_gateway::jose::jwe::encrypt(
        &orgs.framework.relay.trust.current().unwrap().list.controllers[0].encryption_jwks.keys[0],
        "gdpr-msg+jwt",
        b"not a signed message",
    )
    .unwrap();
    controller.post(&alice, &not_a_message).await.unwrap();
    let wallet_key = {
        let info = controller.connection(&alice).await.unwrap();
        info.wallet_encryption_jwk
    };
    let stale = Message::new(&alice, orgs.clock.now() - 8 * 24 * 3600, Body::ConnectionRevoked {});
    controller.post(&alice, &message::seal(controller.key(), &wallet_key, &stale).unwrap()).await.unwrap();
    let unasked =
        Message::new(&alice, orgs.clock.now(), Body::ImportAccepted { request_id: "x".into(), import_id: "y".into() });
    let sealed = message::seal(controller.key(), &wallet_key, &unasked).unwrap();
    controller.post(&alice, &sealed).await.unwrap();
    controller.post(&alice, &sealed).await.unwrap();

    let events = wallet.events().await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.detail.split(':').next().unwrap().to_owned())).collect();
    use gdpr_gateway::wallet::EventKind::{Refused, Revoked, Unexpected};
    assert_eq!(kinds.len(), 4, "{events:?}");
    assert_eq!(kinds[0].0, Refused, "{events:?}");
    assert_eq!(kinds[1].0, Refused, "a message too old: {events:?}");
    assert_eq!(kinds[2].0, Unexpected, "{events:?}");
    assert!(events[3].kind == Refused && events[3].detail.starts_with("a message seen before"), "{events:?}");
    assert!(events.iter().all(|e| e.connection_id == alice));
    // Nothing of it changed the connection.
    assert_eq!(wallet.connections().unwrap()[0].state, gdpr_gateway::wallet::ConnectionState::Connected);

    // The organisation ends the connection: the wallet learns it from `events`.
    let revoked =
        portal(a).request(Method::DELETE, &format!("/v1/subjects/alice/connections/{alice}")).send().await.unwrap();
    assert_eq!(revoked.status(), 204);
    let events = wallet.events().await.unwrap();
    assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), vec![Revoked], "{events:?}");
    assert_eq!(wallet.connections().unwrap()[0].state, gdpr_gateway::wallet::ConnectionState::Revoked);
    orgs.stop().await;
}

#[tokio::test]
async fn an_app_polling_events_never_takes_the_answer_a_call_waits_for() {
    let orgs = TwoOrganisations::start().await;
    let wallet = orgs.wallet("wallet");
    let alice = pair(orgs.a(), &wallet, "alice").await;
    let export = wallet.request_export(alice.clone(), Purpose::Access, None, WAIT);
    let poll = async {
        let mut seen = Vec::new();
        for _ in 0..40 {
            seen.extend(wallet.events().await.unwrap());
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        seen
    };
    let (bundle, seen) = tokio::join!(export, poll);
    assert_eq!(bundle.unwrap().subject, "alice");
    assert!(seen.iter().all(|e| e.kind != gdpr_gateway::wallet::EventKind::Unexpected), "{seen:?}");
    orgs.stop().await;
}

#[tokio::test]
async fn the_wallet_checks_what_the_relay_says_against_the_operator_pinned_in_the_qr_code() {
    let orgs = TwoOrganisations::start().await;
    let a = orgs.a();
    let pin = orgs.framework.relay.trust.operator_pin().unwrap();
    let pairing: Value = portal(a)
        .request(Method::POST, "/v1/pairings")
        .json(&json!({ "subject_ref": "alice" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uri = pairing["connect_uri"].as_str().unwrap();
    assert!(uri.ends_with(&format!("?op={pin}")), "{uri}");
    // A QR code naming another operator: the relay's keys and list are not that one's.
    let other = gdpr_gateway::jose::b64::encode([7u8; 32]);
    let wallet = orgs.wallet("wallet");
    let refused = wallet.connect(uri.replace(&pin, &other)).await.unwrap_err();
    assert!(matches!(refused, WalletError::UntrustedRelay(_)), "{refused:?}");
    assert!(wallet.connections().unwrap().is_empty(), "nothing kept of a connection that failed the check");
    // The pairing's token was spent on that connection, which the wallet revoked at once.
    let status = portal(a).request(Method::GET, &format!("/v1/pairings/{}", pairing["pairing_id"].as_str().unwrap()));
    let status: Value = status.send().await.unwrap().json().await.unwrap();
    assert_ne!(status["state"], "connected");
    orgs.stop().await;
}
