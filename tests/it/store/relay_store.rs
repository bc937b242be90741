//! The relay's tables on every backend: connect tokens redeemed once under contention,
//! expiry, proof ids spent once and swept.

use gdpr_gateway::jose::SigningKeyPair;
use gdpr_gateway::store::relay_store::{NewConnection, RedeemRefused, RelayStore};

use super::each_backend;

#[tokio::test]
async fn behaves_alike_on_every_backend() {
    for (db, backend) in each_backend().await {
        redemption_race(RelayStore::new(db.clone())).await;
        backend.finish(db).await;
    }
}

/// Fifty redemptions of one token racing in the store itself: exactly one wins.
async fn redemption_race(store: RelayStore) {
    store.register_token("ab".repeat(32).as_str(), "https://c.example", 100, 200).await.unwrap();
    let signing = SigningKeyPair::generate().public_jwk().clone();
    let encryption = gdpr_gateway::jose::EncryptionKeyPair::generate().public_jwk().clone();
    let tasks = (0..50).map(|i| {
        let (store, signing, encryption) = (store.clone(), signing.clone(), encryption.clone());
        tokio::spawn(async move {
            let (id, notice) = (format!("c{i}"), format!("n{i}"));
            let token = "ab".repeat(32);
            let new = NewConnection {
                id: &id,
                token_sha256: &token,
                wallet_signing_jwk: &signing,
                wallet_encryption_jwk: &encryption,
                notice_id: &notice,
                now: 150,
                notice_expires_at: 1000,
            };
            loop {
                // SQLite may report a busy database under this contention; PostgreSQL never.
                match store.redeem(&new).await {
                    Ok(outcome) => return outcome,
                    Err(e) if e.to_string().contains("locked") => tokio::task::yield_now().await,
                    Err(e) => panic!("{e}"),
                }
            }
        })
    });
    let outcomes = futures_util::future::join_all(tasks).await;
    let wins = outcomes.iter().filter(|o| matches!(o, Ok(Ok(_)))).count();
    let used = outcomes.iter().filter(|o| matches!(o, Ok(Err(RedeemRefused::Used)))).count();
    assert_eq!((wins, used), (1, 49));
    let expired = NewConnection {
        id: "late",
        token_sha256: &"cd".repeat(32),
        wallet_signing_jwk: &signing,
        wallet_encryption_jwk: &encryption,
        notice_id: "late-notice",
        now: 150,
        notice_expires_at: 1000,
    };
    assert_eq!(store.redeem(&expired).await.unwrap(), Err(RedeemRefused::Unknown));
    store.register_token(&"cd".repeat(32), "https://c.example", 100, 150).await.unwrap();
    assert_eq!(store.redeem(&expired).await.unwrap(), Err(RedeemRefused::Expired));
    assert!(store.spend_proof("k", "j", 300).await.unwrap());
    assert!(!store.spend_proof("k", "j", 300).await.unwrap());
    assert!(store.sweep(400, 0, gdpr_gateway::relay::ABANDONED_UPLOAD_SECS).await.unwrap() >= 1);
    assert!(store.spend_proof("k", "j", 500).await.unwrap(), "swept ids may be spent again once no clock accepts them");
}
