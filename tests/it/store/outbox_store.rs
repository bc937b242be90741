//! The outbox on every backend: notices claimed once per lease, by one claimer even when
//! several claim at once; attempts logged; retried when due, abandoned when told; the
//! delivery log paged newest first; settled notices deleted after their retention.

use gdpr_gateway::store::outbox_store::{Attempt, Notice, OutboxStore};

use super::each_backend;

fn notice(id: &str, target: &str, at: u64) -> Notice {
    Notice {
        id: id.into(),
        target: target.into(),
        event_type: "request.acknowledged".into(),
        payload: format!("{{\"n\":\"{id}\"}}"),
        created_at: at,
    }
}

fn attempt(at: u64, status: Option<u16>, error: Option<&str>) -> Attempt {
    Attempt { at, status, error: error.map(str::to_owned) }
}

#[tokio::test]
async fn behaves_alike_on_every_backend() {
    for (db, backend) in each_backend().await {
        suite(&OutboxStore::new(db.clone())).await;
        backend.finish(db).await;
    }
}

async fn suite(store: &OutboxStore) {
    let t = 1_800_000_000;
    store
        .insert(&[notice("n1", "webhook:a", t), notice("n2", "webhook:a", t + 1), notice("n3", "wallet:c", t + 2)])
        .await
        .unwrap();
    let claimed = store.claim(t + 2, t + 122, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| (c.notice.id.as_str(), c.attempts)).collect::<Vec<_>>(),
        [("n1", 1), ("n2", 1), ("n3", 1)]
    );
    assert_eq!(claimed[0].notice, notice("n1", "webhook:a", t), "every field round-trips");
    assert!(store.claim(t + 3, t + 123, 10).await.unwrap().is_empty(), "claimed notices wait out their lease");

    assert!(store.record("n1", 1, &attempt(t + 3, Some(204), None), true, None).await.unwrap());
    assert!(store.record("n2", 1, &attempt(t + 3, Some(503), Some("down")), false, Some(t + 8)).await.unwrap());
    let gone = attempt(t + 3, None, Some("the connection was revoked"));
    assert!(store.record("n3", 1, &gone, false, None).await.unwrap());
    assert!(!store.record("n1", 1, &attempt(t + 4, Some(500), None), false, None).await.unwrap(), "settled once");
    assert!(store.claim(t + 7, t + 127, 10).await.unwrap().is_empty(), "not due yet");
    let retried = store.claim(t + 8, t + 128, 10).await.unwrap();
    assert_eq!(retried.iter().map(|c| (c.notice.id.as_str(), c.attempts)).collect::<Vec<_>>(), [("n2", 2)]);
    // A claimer that died mid-attempt: its lease runs out and the notice comes again.
    let again = store.claim(t + 128, t + 248, 10).await.unwrap();
    assert_eq!(again.iter().map(|c| (c.notice.id.as_str(), c.attempts)).collect::<Vec<_>>(), [("n2", 3)]);
    // The claimer of attempt 2 comes back after its lease: it changes nothing.
    assert!(!store.record("n2", 2, &attempt(t + 129, Some(503), None), false, Some(t + 500)).await.unwrap());
    assert!(store.record("n2", 3, &attempt(t + 130, Some(200), None), true, None).await.unwrap());

    let log = store.deliveries(None, 10, None).await.unwrap();
    assert_eq!(log.iter().map(|d| d.notice.id.as_str()).collect::<Vec<_>>(), ["n3", "n2", "n1"]);
    assert_eq!((log[2].delivered_at, log[2].abandoned_at), (Some(t + 3), None));
    assert_eq!((log[0].delivered_at, log[0].abandoned_at), (None, Some(t + 3)));
    assert_eq!(log[0].last_error.as_deref(), Some("the connection was revoked"));
    assert_eq!(log[1].attempts, 3);
    let to_a = store.deliveries(Some("webhook:a"), 1, None).await.unwrap();
    assert_eq!(to_a.iter().map(|d| d.notice.id.as_str()).collect::<Vec<_>>(), ["n2"]);
    let next = store.deliveries(Some("webhook:a"), 1, Some("n2")).await.unwrap();
    assert_eq!(next.iter().map(|d| d.notice.id.as_str()).collect::<Vec<_>>(), ["n1"]);
    // The lost attempt 2 left no line; attempts 1 and 3 did.
    assert_eq!(
        store.attempts("n2").await.unwrap(),
        [attempt(t + 3, Some(503), Some("down")), attempt(t + 130, Some(200), None)]
    );

    // Claimers at the same instant share the work without overlap.
    let many: Vec<Notice> = (0..20).map(|i| notice(&format!("m{i:02}"), "webhook:b", t + 200)).collect();
    store.insert(&many).await.unwrap();
    let claims = (0..4).map(|_| {
        let store = store.clone();
        async move { store.claim(t + 200, t + 320, 8).await.unwrap() }
    });
    let mut ids: Vec<String> =
        futures_util::future::join_all(claims).await.into_iter().flatten().map(|c| c.notice.id).collect();
    ids.sort();
    let total = ids.len();
    ids.dedup();
    assert_eq!((total, ids.len()), (20, 20), "each notice claimed exactly once");

    // Settled notices go after their retention; pending ones stay.
    assert_eq!(store.delete_settled(t + 131).await.unwrap(), 3);
    assert!(store.attempts("n2").await.unwrap().is_empty());
    assert_eq!(store.deliveries(None, 100, None).await.unwrap().len(), 20);
}
