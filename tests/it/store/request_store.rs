//! The rights-request register on every backend: numbers unique per year of receipt, even
//! when filed at once; every field round-trips; histories in order; pages by subject.

use gdpr_gateway::calendar::Date;
use gdpr_gateway::store::request_store::{
    DailyLimit, RegisterFilter, RequestChange, RequestChannel, RequestEvent, RequestKind, RequestState, RequestStore,
    RightsRequest,
};

use super::each_backend;

fn request(id: &str, subject: &str, received_on: &str, received_at: u64) -> RightsRequest {
    RightsRequest {
        id: id.into(),
        number: String::new(),
        kind: RequestKind::Rectification,
        subject_ref: subject.into(),
        channel: RequestChannel::Portal,
        filed_by: "portal:demo".into(),
        categories: vec!["contact".into(), "notes – ü".into()],
        details: Some("my street name is misspelt".into()),
        proposed: Some(serde_json::json!({"contact": {"street": "Kerkstraat"}})),
        state: RequestState::Open,
        phase: "intake".into(),
        identification: "portal session".into(),
        outcome: None,
        received_at,
        received_on: Date::parse(received_on).unwrap(),
        due_on: Date::parse(received_on).unwrap().add_months(1),
        due_at: received_at + 31 * 86_400,
        updated_at: received_at,
        intake_ref: None,
        intermediary: None,
    }
}

fn event(action: &str, at: u64) -> RequestEvent {
    RequestEvent { at, actor: "portal:demo".into(), phase: "intake".into(), action: action.into(), detail: None }
}

#[tokio::test]
async fn behaves_alike_on_every_backend() {
    for (db, backend) in each_backend().await {
        suite(&RequestStore::new(db.clone())).await;
        backend.finish(db).await;
    }
}

async fn suite(store: &RequestStore) {
    let first = RightsRequest {
        intake_ref: Some("wallet-request-1".into()),
        intermediary: Some("Praktijk De Linde, info@delinde.example".into()),
        ..request("r1", "alice", "2026-12-31", 1_798_675_200)
    };
    let history = [event("received", 1_798_675_200), event("acknowledged", 1_798_675_201)];
    let insert = |r: RightsRequest, history: Vec<RequestEvent>| async move {
        store.insert(&r, &history, None, |_| vec![], &[]).await.unwrap().unwrap()
    };
    assert_eq!(insert(first.clone(), history.to_vec()).await, "2026-000001");
    assert_eq!(insert(request("r2", "alice", "2026-12-31", 1_798_675_300), vec![]).await, "2026-000002");
    // A new year starts again at 1.
    assert_eq!(insert(request("r3", "bob", "2027-01-01", 1_798_761_600), vec![]).await, "2027-000001");
    // Over the daily limit nothing is stored and no number is spent.
    let limit = DailyLimit { since: 1_798_675_200, max: 2 };
    assert_eq!(
        store
            .insert(&request("r4", "alice", "2026-12-31", 1_798_675_400), &[], Some(limit), |_| vec![], &[])
            .await
            .unwrap(),
        None
    );
    assert!(store.by_id("r4").await.unwrap().is_none());

    let stored = store.by_id("r1").await.unwrap().unwrap();
    assert_eq!(stored, RightsRequest { number: "2026-000001".into(), ..first }, "every field round-trips");
    assert_eq!(store.history("r1").await.unwrap(), history);
    assert!(store.by_id("unknown").await.unwrap().is_none());

    let ids = |list: Vec<RightsRequest>| list.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let alice = RegisterFilter { subject_ref: Some("alice".into()), ..RegisterFilter::default() };
    assert_eq!(ids(store.list(&alice, 10, None).await.unwrap()), ["r2", "r1"]);
    assert_eq!(ids(store.list(&alice, 1, Some("r2")).await.unwrap()), ["r1"]);
    assert_eq!(ids(store.list(&RegisterFilter::default(), 10, None).await.unwrap()), ["r3", "r2", "r1"]);
    let access = RegisterFilter { kind: Some(RequestKind::Access), ..RegisterFilter::default() };
    assert!(store.list(&access, 10, None).await.unwrap().is_empty());
    // Every condition at once, each bound to its own placeholder.
    let due = RegisterFilter {
        subject_ref: Some("alice".into()),
        state: Some(RequestState::Open),
        kind: Some(RequestKind::Rectification),
        due_before: Some(1_798_675_200 + 31 * 86_400 + 50),
    };
    assert_eq!(ids(store.list(&due, 10, None).await.unwrap()), ["r1"]);
    assert_eq!(ids(store.list(&due, 10, Some("r2")).await.unwrap()), ["r1"]);
    let closed = RegisterFilter { state: Some(RequestState::Closed), ..due };
    assert!(store.list(&closed, 10, None).await.unwrap().is_empty());
    // A wallet's retry finds the request its id filed, and no other's.
    assert_eq!(store.by_intake("portal:demo", "wallet-request-1").await.unwrap().unwrap().id, "r1");
    assert!(store.by_intake("connection:other", "wallet-request-1").await.unwrap().is_none());

    // A step applies only to the request as it read it: phase and due date unchanged.
    let stored = store.by_id("r1").await.unwrap().unwrap();
    let extended_to = Date::parse("2027-03-01").unwrap();
    let step = RequestChange {
        id: "r1",
        expected_phase: "intake",
        expected_due_on: stored.due_on,
        expected_identification: "portal session",
        phase: "intake",
        state: RequestState::Open,
        identification: "portal session",
        outcome: None,
        due_on: extended_to,
        due_at: 1_803_000_000,
        at: 1_798_700_000,
        actions: &[],
        receipt: None,
        unsettled: 0,
    };
    assert!(store.change(&step, &[event("extended", 1_798_700_000)], &[], &[]).await.unwrap());
    assert!(
        !store.change(&step, &[event("extended", 1_798_700_001)], &[], &[]).await.unwrap(),
        "read before the extension"
    );
    let moved = RequestChange { expected_due_on: extended_to, expected_phase: "assessment", ..step.clone() };
    assert!(!store.change(&moved, &[], &[], &[]).await.unwrap(), "another phase");
    let identified = RequestChange { expected_due_on: extended_to, expected_identification: "pending", ..step.clone() };
    assert!(!store.change(&identified, &[], &[], &[]).await.unwrap(), "identified meanwhile");
    let history = store.history("r1").await.unwrap();
    assert_eq!(history.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["received", "acknowledged", "extended"]);
    assert_eq!(store.by_id("r1").await.unwrap().unwrap().due_on, extended_to);

    // Filed at the same moment, every request still gets its own number, and the daily
    // limit holds among them.
    let limit = DailyLimit { since: 1_780_272_000, max: 6 };
    let filed = (0..8).map(|i| {
        let store = store.clone();
        let carol = request(&format!("c{i}"), "carol", "2026-06-01", 1_780_272_000 + i);
        async move { store.insert(&carol, &[], Some(limit), |_| vec![], &[]).await }
    });
    let answers = futures_util::future::join_all(filed).await;
    let mut numbers: Vec<String> = answers.into_iter().filter_map(Result::unwrap).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 6, "{numbers:?}");
    assert!(
        store.insert(&request("r1", "alice", "2026-12-31", 1), &[], None, |_| vec![], &[]).await.is_err(),
        "an id is stored once"
    );
}
