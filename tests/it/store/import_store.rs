//! The import register on every backend: one row per issuer and bundle id, listed newest
//! first in pages.

use gdpr_gateway::store::audit_chain::NewAuditEntry;
use gdpr_gateway::store::audit_store::AuditStore;
use gdpr_gateway::store::import_store::{Import, ImportStore};

use super::each_backend;

fn import(id: &str, bundle_id: &str, received_at: u64) -> Import {
    Import {
        id: id.into(),
        issuer: "https://a.example".into(),
        bundle_id: bundle_id.into(),
        issuer_subject: "C-1".into(),
        subject_ref: (id != "i3").then(|| "alice".to_owned()),
        connection_id: "conn".into(),
        purpose: "portability".into(),
        categories: vec!["contact".into(), "notes – ü".into()],
        bundle: format!("header.{bundle_id}.signature"),
        bundle_sha256: "ab".repeat(32),
        issued_at: 50,
        received_at,
    }
}

fn noted(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: 1,
        actor: "connection:conn".into(),
        action: action.into(),
        objects: Vec::new(),
        subject: None,
        detail: None,
    }
}

#[tokio::test]
async fn behaves_alike_on_every_backend() {
    for (db, backend) in each_backend().await {
        suite(&ImportStore::new(db.clone())).await;
        // The trail notes an import with it, and a bundle imported again not at all.
        let audits = AuditStore::new(db.clone());
        let before = audits.head().await.unwrap().0;
        let store = ImportStore::new(db.clone());
        store.insert(&import("i9", "b9", 900), &[noted("import.received")]).await.unwrap();
        store.insert(&import("i10", "b9", 901), &[noted("import.received")]).await.unwrap();
        assert_eq!(audits.head().await.unwrap().0, before + 1);
        backend.finish(db).await;
    }
}

async fn suite(store: &ImportStore) {
    assert!(store.list(10, None).await.unwrap().is_empty());
    let first = import("i1", "b1", 100);
    assert_eq!(store.insert(&first, &[]).await.unwrap(), "i1");
    assert_eq!(store.insert(&import("again", "b1", 150), &[]).await.unwrap(), "i1", "the same bundle is stored once");
    store.insert(&import("i2", "b2", 200), &[]).await.unwrap();
    store.insert(&import("i3", "b3", 300), &[]).await.unwrap();

    assert_eq!(store.by_id("i1").await.unwrap().as_ref(), Some(&first), "every field round-trips");
    assert!(store.by_id("again").await.unwrap().is_none());
    let all = store.list(10, None).await.unwrap();
    assert_eq!(all.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["i3", "i2", "i1"]);
    assert!(all.iter().all(|i| i.bundle.is_empty()), "listings leave the bundle out");
    assert_eq!(all[0].subject_ref, None);
    let page = store.list(2, None).await.unwrap();
    let next = store.list(2, Some(&page[1].id)).await.unwrap();
    assert_eq!(next.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["i1"]);
    assert!(store.list(2, Some("unknown")).await.unwrap().is_empty());
}
