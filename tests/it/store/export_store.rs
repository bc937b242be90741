//! The export register on every backend.

use gdpr_gateway::store::{ExportRecord, ExportStore, StoreError};

use super::each_backend;

pub fn export(id: &str, subject: &str, created_at: u64) -> ExportRecord {
    ExportRecord {
        id: id.into(),
        client_id: "portal".into(),
        subject_ref: subject.into(),
        purpose: "portability".into(),
        format: "zip".into(),
        categories: vec!["contact".into(), "notes – ü".into()],
        kid: "kid-1".into(),
        created_at,
    }
}

/// The export register's behaviour on every backend.
#[tokio::test]
async fn behaves_alike_on_every_backend() {
    for (db, backend) in each_backend().await {
        db.ping().await.unwrap();
        suite(&ExportStore::new(db.clone())).await;
        backend.finish(db).await;
    }
}

async fn suite(store: &ExportStore) {
    assert!(store.of_subject("alice", 10).await.unwrap().is_empty());

    let first = export("e1", "alice", 100);
    store.record(&first, &[]).await.unwrap();
    store.record(&export("e2", "alice", 300), &[]).await.unwrap();
    store.record(&export("e3", "bob", 200), &[]).await.unwrap();
    store.record(&export("e4", "alice", 200), &[]).await.unwrap();

    let alice = store.of_subject("alice", 10).await.unwrap();
    assert_eq!(alice.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e2", "e4", "e1"]);
    assert_eq!(alice[2], first, "every field round-trips");
    assert_eq!(store.of_subject("alice", 2).await.unwrap().len(), 2);
    assert_eq!(store.of_subject("bob", 10).await.unwrap().len(), 1);
    assert!(store.of_subject("carol", 10).await.unwrap().is_empty());

    let duplicate = store.record(&export("e1", "bob", 999), &[]).await.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict(_)), "{duplicate:?}");
    let too_late = store.record(&export("e9", "bob", u64::MAX), &[]).await.unwrap_err();
    assert!(matches!(too_late, StoreError::Corrupt(_)), "{too_late:?}");

    assert_eq!(store.delete_before(200).await.unwrap(), 1);
    assert_eq!(store.delete_before(200).await.unwrap(), 0);
    let left = store.of_subject("alice", 10).await.unwrap();
    assert_eq!(left.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e2", "e4"]);
}
