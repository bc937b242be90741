//! Pairings, connections and spent message ids on every backend: every state change
//! happens once, from the state it is allowed from, and never after the deadline.

use gdpr_gateway::jose::{EncryptionKeyPair, OkpPublicJwk, SigningKeyPair};
use gdpr_gateway::store::pairing_store::{Connection, Pairing, PairingState, PairingStore};

use super::each_backend;

fn pairing(id: &str, subject: &str, expires_at: u64) -> Pairing {
    Pairing {
        id: id.into(),
        client_id: "portal-a".into(),
        subject_ref: subject.into(),
        token_sha256: format!("{id:0>64}"),
        sealed_token: Some("sealed".into()),
        status_sha256: Some(format!("{id:f>64}")),
        state: PairingState::Pending,
        code_sha256: None,
        failed_attempts: 0,
        connection_id: None,
        wallet_signing_jwk: None,
        wallet_encryption_jwk: None,
        created_at: 100,
        expires_at,
        updated_at: 100,
    }
}

fn keys() -> (OkpPublicJwk, OkpPublicJwk) {
    (SigningKeyPair::generate().public_jwk().clone(), EncryptionKeyPair::generate().public_jwk().clone())
}

#[tokio::test]
async fn behaves_alike_on_every_backend() {
    for (db, backend) in each_backend().await {
        suite(&PairingStore::new(db.clone())).await;
        backend.finish(db).await;
    }
}

async fn suite(store: &PairingStore) {
    let (signing, encryption) = keys();
    let p = pairing("p1", "alice", 1000);
    store.insert(&p, &[]).await.unwrap();
    assert_eq!(store.by_id("p1").await.unwrap().as_ref(), Some(&p), "every field round-trips");
    assert_eq!(store.by_token(&p.token_sha256).await.unwrap().map(|p| p.id), Some("p1".into()));
    assert!(store.by_id("nope").await.unwrap().is_none());

    // pending → scanned once, and never after the deadline.
    assert!(store.mark_scanned("p1", "c1", "code-1", &signing, &encryption, 200).await.unwrap());
    assert!(!store.mark_scanned("p1", "c2", "code-2", &signing, &encryption, 201).await.unwrap());
    store.insert(&pairing("late", "alice", 300), &[]).await.unwrap();
    assert!(!store.mark_scanned("late", "c9", "code", &signing, &encryption, 300).await.unwrap());
    let scanned = store.by_connection("c1").await.unwrap().unwrap();
    assert_eq!((scanned.state, scanned.code_sha256.as_deref()), (PairingState::Scanned, Some("code-1")));
    assert_eq!(scanned.wallet_signing_jwk.as_ref(), Some(&signing));

    // A fresh code only for the connection that scanned.
    assert!(store.replace_code("p1", "c1", "code-1b", 210).await.unwrap());
    assert!(!store.replace_code("p1", "other", "code-x", 210).await.unwrap());

    // Attempts are spent before comparing, at most three.
    for used in 1..=3 {
        assert_eq!(store.take_attempt("p1", 3, 220).await.unwrap(), Some(used));
    }
    assert_eq!(store.take_attempt("p1", 3, 220).await.unwrap(), None);

    // scanned → connected with its connection row, once.
    store.insert(&pairing("p2", "alice", 1000), &[]).await.unwrap();
    assert!(store.mark_scanned("p2", "c2", "code", &signing, &encryption, 230).await.unwrap());
    let scanned = store.by_id("p2").await.unwrap().unwrap();
    let connection = Connection {
        id: "c2".into(),
        subject_ref: "alice".into(),
        pairing_id: "p2".into(),
        wallet_signing_jwk: signing.clone(),
        wallet_encryption_jwk: encryption.clone(),
        active: true,
        created_at: 240,
        revoked_at: None,
    };
    assert!(store.bind(&scanned, &connection, 240, &[]).await.unwrap());
    assert!(!store.bind(&scanned, &connection, 241, &[]).await.unwrap(), "bound once");
    let bound = store.by_id("p2").await.unwrap().unwrap();
    assert_eq!((bound.state, bound.sealed_token, bound.code_sha256), (PairingState::Connected, None, None));
    assert_eq!(store.connection("c2").await.unwrap().as_ref(), Some(&connection));
    assert_eq!(store.connections_of("alice", 10).await.unwrap(), vec![connection.clone()]);
    assert!(store.connections_of("bob", 10).await.unwrap().is_empty());

    // Revoked once; ended pairings close no more; overdue lists open pairings only.
    assert!(store.revoke_connection("c2", 250, &[]).await.unwrap());
    assert!(!store.revoke_connection("c2", 251, &[]).await.unwrap());
    let revoked = store.connection("c2").await.unwrap().unwrap();
    assert_eq!((revoked.active, revoked.revoked_at), (false, Some(250)));
    assert!(!store.close("p2", PairingState::Cancelled, 260, &[]).await.unwrap(), "a connected pairing stays");
    let mut overdue = store.overdue(1000, 10).await.unwrap();
    overdue.sort();
    assert_eq!(overdue, ["late", "p1"]);
    assert!(store.close("p1", PairingState::Expired, 1000, &[]).await.unwrap());
    assert!(!store.close("p1", PairingState::Cancelled, 1001, &[]).await.unwrap());
    assert_eq!(store.overdue(1000, 10).await.unwrap(), ["late"]);

    // A message id is acted on once, unless its handling failed.
    assert!(store.spend_message_id("c2", "m1", 900).await.unwrap());
    assert!(!store.spend_message_id("c2", "m1", 900).await.unwrap());
    assert!(store.spend_message_id("c3", "m1", 900).await.unwrap(), "ids are per connection");
    store.unspend_message_id("c2", "m1").await.unwrap();
    assert!(store.spend_message_id("c2", "m1", 900).await.unwrap());
}
